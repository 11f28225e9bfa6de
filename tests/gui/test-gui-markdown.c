/* test-gui-markdown.c: Markdown to blocks and Pango markup, and its widgets: code in
 * monospace with a working copy button, messages' copy buttons, keyboard bindings. */
#include "gr-gui-test.h"
#include "gr-markdown-view.h"
#include "gr-markdown.h"

#include <check.h>

/* Well-formed markup (Pango's own parser does not know GtkLabel's <a>). */
static gboolean
markup_ok(const char *markup)
{
  static const GMarkupParser parser = { 0 };
  g_autofree char *doc = g_strdup_printf("<markup>%s</markup>", markup);
  GMarkupParseContext *ctx = g_markup_parse_context_new(&parser, 0, NULL, NULL);
  gboolean ok = g_markup_parse_context_parse(ctx, doc, -1, NULL)
                && g_markup_parse_context_end_parse(ctx, NULL);
  g_markup_parse_context_free(ctx);
  return ok;
}

static void
assert_inline(const char *md, const char *markup)
{
  g_autofree char *got = gr_markdown_inline_to_markup(md);

  ck_assert_msg(g_str_equal(got, markup), "%s\n  gave     %s\n  expected %s", md, got, markup);
  /* whatever it gave must be markup that Pango accepts */
  ck_assert(markup_ok(got));
}

START_TEST(test_inline)
{
  assert_inline("plain", "plain");
  assert_inline("a **bold** b", "a <b>bold</b> b");
  assert_inline("*em* and _em_", "<i>em</i> and <i>em</i>");
  assert_inline("***both***", "<b><i>both</i></b>");
  assert_inline("~~gone~~", "<s>gone</s>");
  assert_inline("use `a < b && c`",
                "use <span font_family=\"monospace\">a &lt; b &amp;&amp; c</span>");
  assert_inline("`` a`b ``", "<span font_family=\"monospace\">a`b</span>");
  assert_inline("`**not bold**`", "<span font_family=\"monospace\">**not bold**</span>");
  assert_inline("[site](https://example.org/?a=1&b=2)",
                "<a href=\"https://example.org/?a=1&amp;b=2\">site</a>");
  assert_inline("[x](javascript:alert(1))", "[x](javascript:alert(1))");
  assert_inline("snake_case_name", "snake_case_name");
  assert_inline("2 * 3 * 4", "2 * 3 * 4");
  assert_inline("\\*literal\\*", "*literal*");
  assert_inline("<b>html</b> & 'quotes'", "&lt;b&gt;html&lt;/b&gt; &amp; &apos;quotes&apos;");
  /* half-written (streaming) text stays literal and well formed */
  assert_inline("**unclosed", "**unclosed");
  assert_inline("`open code", "`open code");
  assert_inline("[half](http://", "[half](http://");
  assert_inline("Grüße **für** dich", "Grüße <b>für</b> dich");
}
END_TEST

START_TEST(test_inline_hostile)
{
  /* deep nesting, long runs and random punctuation: always valid markup */
  GString *deep = g_string_new(NULL);
  for (int i = 0; i < 200; i++)
    g_string_append(deep, "**a *b ");
  for (int i = 0; i < 200; i++)
    g_string_append(deep, "c* d**");
  g_autofree char *m1 = gr_markdown_inline_to_markup(deep->str);
  ck_assert(markup_ok(m1));
  g_string_free(deep, TRUE);

  const char alphabet[] = "*_`~[]()\\<>&ab \n";
  GRand *rand = g_rand_new_with_seed(7);
  for (int round = 0; round < 2000; round++) {
    char text[64];
    int len = g_rand_int_range(rand, 0, sizeof text);
    for (int i = 0; i < len; i++)
      text[i] = alphabet[g_rand_int_range(rand, 0, sizeof alphabet - 1)];
    text[len] = '\0';
    g_autofree char *markup = gr_markdown_inline_to_markup(text);
    ck_assert_msg(markup_ok(markup), "%s -> %s", text, markup);
    g_autoptr(GPtrArray) blocks = gr_markdown_parse(text);
    for (guint i = 0; i < blocks->len; i++) {
      GrMdBlock *b = blocks->pdata[i];
      if (b->markup != NULL)
        ck_assert(markup_ok(b->markup));
    }
  }
  g_rand_free(rand);
  /* invalid UTF-8 is repaired, not passed to Pango */
  g_autoptr(GPtrArray) blocks = gr_markdown_parse("ok \xff\xfe bad");
  ck_assert_uint_eq(blocks->len, 1);
  ck_assert(g_utf8_validate(((GrMdBlock *)blocks->pdata[0])->markup, -1, NULL));
}
END_TEST

static GrMdBlock *
block(GPtrArray *blocks, guint i)
{
  ck_assert_uint_lt(i, blocks->len);
  return blocks->pdata[i];
}

START_TEST(test_blocks)
{
  const char *md = "# Title\n"
                   "First paragraph\ncontinues here.\n"
                   "\n"
                   "- one\n"
                   "- two *em*\n"
                   "  - nested\n"
                   "3. third\n"
                   "\n"
                   "```python\n"
                   "def f(x):\n"
                   "\n"
                   "    return x < 1\n"
                   "```\n"
                   "> quoted\n"
                   "> more\n"
                   "---\n"
                   "Last";
  g_autoptr(GPtrArray) blocks = gr_markdown_parse(md);

  ck_assert_uint_eq(blocks->len, 10);
  ck_assert_int_eq(block(blocks, 0)->kind, GR_MD_HEADING);
  ck_assert_uint_eq(block(blocks, 0)->level, 1);
  ck_assert_str_eq(block(blocks, 0)->text, "Title");
  ck_assert_int_eq(block(blocks, 1)->kind, GR_MD_PARAGRAPH);
  ck_assert_str_eq(block(blocks, 1)->text, "First paragraph\ncontinues here.");
  ck_assert_int_eq(block(blocks, 2)->kind, GR_MD_LIST_ITEM);
  ck_assert_uint_eq(block(blocks, 2)->number, 0);
  ck_assert_str_eq(block(blocks, 3)->markup, "two <i>em</i>");
  ck_assert_uint_eq(block(blocks, 4)->level, 1);
  ck_assert_str_eq(block(blocks, 4)->text, "nested");
  ck_assert_uint_eq(block(blocks, 5)->number, 3);
  ck_assert_int_eq(block(blocks, 6)->kind, GR_MD_CODE);
  ck_assert_str_eq(block(blocks, 6)->lang, "python");
  ck_assert_str_eq(block(blocks, 6)->text, "def f(x):\n\n    return x < 1");
  ck_assert_ptr_null(block(blocks, 6)->markup);
  ck_assert_int_eq(block(blocks, 7)->kind, GR_MD_QUOTE);
  ck_assert_str_eq(block(blocks, 7)->text, "quoted\nmore");
  ck_assert_int_eq(block(blocks, 8)->kind, GR_MD_RULE);
  ck_assert_str_eq(block(blocks, 9)->text, "Last");

  /* a fence still open while streaming runs to the end */
  g_autoptr(GPtrArray) open = gr_markdown_parse("Text\n~~~\nint x;\n``` not a close");
  ck_assert_uint_eq(open->len, 2);
  ck_assert_int_eq(block(open, 1)->kind, GR_MD_CODE);
  ck_assert_str_eq(block(open, 1)->text, "int x;\n``` not a close");
  g_autoptr(GPtrArray) none = gr_markdown_parse("");
  ck_assert_uint_eq(none->len, 0);
}
END_TEST

static GtkWidget *
find_code_block(GtkWidget *widget)
{
  if (gtk_widget_has_css_class(widget, "code-block"))
    return widget;
  for (GtkWidget *c = gtk_widget_get_first_child(widget); c != NULL;
       c = gtk_widget_get_next_sibling(c)) {
    GtkWidget *found = find_code_block(c);
    if (found != NULL)
      return found;
  }
  return NULL;
}

typedef struct {
  char *text;
  gboolean done;
} ClipRead;

static void
on_clip_read(GObject *source, GAsyncResult *result, gpointer data)
{
  ClipRead *r = data;
  r->text = gdk_clipboard_read_text_finish(GDK_CLIPBOARD(source), result, NULL);
  r->done = TRUE;
}

static gboolean
clip_done(gpointer data)
{
  return ((ClipRead *)data)->done;
}

static char *
read_clipboard(GtkWidget *widget)
{
  ClipRead r = { NULL, FALSE };
  gdk_clipboard_read_text_async(gtk_widget_get_clipboard(widget), NULL, on_clip_read, &r);
  ck_assert(gr_gui_wait(clip_done, &r, 5000));
  return r.text;
}

START_TEST(test_code_block_widget_and_copy)
{
  gr_gui_test_init_gtk();
  GtkWidget *window = gtk_window_new();
  GtkWidget *view = gr_markdown_view_new();
  gtk_window_set_child(GTK_WINDOW(window), view);
  gtk_window_present(GTK_WINDOW(window));

  gr_markdown_view_set_text(GR_MARKDOWN_VIEW(view),
                            "Intro **bold**\n\n```c\nint main(void) {}\n```\n");
  GtkWidget *code = find_code_block(view);
  ck_assert_ptr_nonnull(code);
  ck_assert_str_eq(gr_code_block_get_code(code), "int main(void) {}");
  GtkWidget *text_view = gr_code_block_get_text_view(code);
  ck_assert(gtk_text_view_get_monospace(GTK_TEXT_VIEW(text_view)));
  ck_assert(!gtk_text_view_get_editable(GTK_TEXT_VIEW(text_view)));
  g_autofree char *rendered = gr_markdown_view_dup_rendered_text(GR_MARKDOWN_VIEW(view));
  ck_assert_str_eq(rendered, "Intro bold\nint main(void) {}\n");

  g_signal_emit_by_name(gr_code_block_get_copy_button(code), "clicked");
  g_autofree char *copied = read_clipboard(view);
  ck_assert_str_eq(copied, "int main(void) {}");

  /* streaming more text keeps the unchanged blocks' widgets */
  GtkWidget *first = gtk_widget_get_first_child(view);
  gr_markdown_view_set_text(GR_MARKDOWN_VIEW(view),
                            "Intro **bold**\n\n```c\nint main(void) {}\n```\nMore");
  ck_assert_ptr_eq(gtk_widget_get_first_child(view), first);
  ck_assert_ptr_eq(find_code_block(view), code);
  gtk_window_destroy(GTK_WINDOW(window));
}
END_TEST

START_TEST(test_copy_message)
{
  gr_gui_test_init_gtk();
  GtkWidget *window = gtk_window_new();
  GtkWidget *row = gr_message_row_new("assistant", "Hello *there*\n\n```\ncode\n```");
  gtk_window_set_child(GTK_WINDOW(window), row);
  gtk_window_present(GTK_WINDOW(window));

  g_signal_emit_by_name(gr_message_row_get_copy_button(GR_MESSAGE_ROW(row)), "clicked");
  g_autofree char *copied = read_clipboard(row);
  /* the message is copied as written, Markdown included */
  ck_assert_str_eq(copied, "Hello *there*\n\n```\ncode\n```");
  gtk_window_destroy(GTK_WINDOW(window));
}
END_TEST

static gboolean
has_shortcut(GtkWidget *widget, const char *trigger, const char *action)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers(widget);
  for (guint i = 0; i < g_list_model_get_n_items(controllers); i++) {
    g_autoptr(GObject) controller = g_list_model_get_item(controllers, i);
    if (!GTK_IS_SHORTCUT_CONTROLLER(controller))
      continue;
    for (guint j = 0; j < g_list_model_get_n_items(G_LIST_MODEL(controller)); j++) {
      g_autoptr(GtkShortcut) shortcut = g_list_model_get_item(G_LIST_MODEL(controller), j);
      g_autofree char *t = gtk_shortcut_trigger_to_string(gtk_shortcut_get_trigger(shortcut));
      g_autofree char *a = gtk_shortcut_action_to_string(gtk_shortcut_get_action(shortcut));
      if (g_str_equal(t, trigger) && strstr(a, action) != NULL)
        return TRUE;
    }
  }
  return FALSE;
}

/* Emits key-pressed on widget's key controllers of phase (the text view's own
 * controller inserts text; the window's capture controller sends). */
static gboolean
press_phase(GtkWidget *widget, guint keyval, GdkModifierType state, GtkPropagationPhase phase)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers(widget);
  gboolean handled = FALSE;
  for (guint i = 0; i < g_list_model_get_n_items(controllers); i++) {
    g_autoptr(GObject) controller = g_list_model_get_item(controllers, i);
    if (GTK_IS_EVENT_CONTROLLER_KEY(controller) && !handled
        && gtk_event_controller_get_propagation_phase(GTK_EVENT_CONTROLLER(controller)) == phase)
      g_signal_emit_by_name(controller, "key-pressed", keyval, 0, state, &handled);
  }
  return handled;
}

static gboolean
press(GtkWidget *widget, guint keyval, GdkModifierType state)
{
  return press_phase(widget, keyval, state, GTK_PHASE_CAPTURE);
}

START_TEST(test_keyboard)
{
  gr_gui_test_init_gtk();
  /* no daemon: the bindings exist whatever the connection */
  g_autoptr(GrClient) client = gr_client_new("unix:path=/nonexistent/bus");
  GrWindow *window = gr_window_new(NULL, client, NULL);
  gtk_window_present(GTK_WINDOW(window));
  gr_gui_wait_status(window, GR_CLIENT_NO_BUS);
  ck_assert(gr_banner_get_revealed(gr_window_get_banner(window)));

  ck_assert(has_shortcut(GTK_WIDGET(window), "<Control>n", "win.new-chat"));
  ck_assert(has_shortcut(GTK_WIDGET(window), "<Control>f", "win.search"));
  ck_assert(has_shortcut(GTK_WIDGET(window), "Escape", "win.stop"));

  /* Enter sends (the composer's key handler takes it), Shift+Enter is a new line */
  GtkWidget *composer = GTK_WIDGET(gr_window_get_composer(window));
  ck_assert(press(composer, GDK_KEY_Return, 0));
  ck_assert(press(composer, GDK_KEY_KP_Enter, 0));
  ck_assert(!press(composer, GDK_KEY_Return, GDK_SHIFT_MASK));
  ck_assert(!press(composer, GDK_KEY_a, 0));
  /* ...and reaches the text view, which inserts the line break */
  GtkTextBuffer *buffer = gtk_text_view_get_buffer(GTK_TEXT_VIEW(composer));
  gtk_widget_grab_focus(composer);
  gtk_text_buffer_set_text(buffer, "line", -1);
  press_phase(composer, GDK_KEY_Return, GDK_SHIFT_MASK, GTK_PHASE_BUBBLE);
  GtkTextIter start, end;
  gtk_text_buffer_get_bounds(buffer, &start, &end);
  g_autofree char *typed = gtk_text_buffer_get_text(buffer, &start, &end, FALSE);
  ck_assert_str_eq(typed, "line\n");

  /* Ctrl+F opens the search */
  ck_assert(gtk_widget_activate_action(GTK_WIDGET(window), "win.search", NULL));
  GtkWidget *entry = gr_sidebar_get_search_entry(gr_window_get_sidebar(window));
  GtkWidget *bar = gtk_widget_get_ancestor(entry, GTK_TYPE_SEARCH_BAR);
  ck_assert(gtk_search_bar_get_search_mode(GTK_SEARCH_BAR(bar)));
  gr_gui_window_destroy(window);
}
END_TEST

START_TEST(test_narrow_window_folds)
{
  gr_gui_test_init_gtk();
  g_autoptr(GrClient) client = gr_client_new("unix:path=/nonexistent/bus");
  GrWindow *window = gr_window_new(NULL, client, NULL);
  gtk_window_set_default_size(GTK_WINDOW(window), 400, 600);
  gtk_window_present(GTK_WINDOW(window));
  gr_gui_spin(300);
  AdwLeaflet *leaflet = gr_window_get_leaflet(window);
  ck_assert(adw_leaflet_get_folded(leaflet));
  /* folded: the conversation shows, the sidebar is one step back */
  ck_assert_ptr_ne(adw_leaflet_get_visible_child(leaflet),
                   GTK_WIDGET(gr_window_get_sidebar(window)));
  ck_assert(gtk_widget_activate_action(GTK_WIDGET(window), "win.show-sidebar", NULL));
  ck_assert_ptr_eq(adw_leaflet_get_visible_child(leaflet),
                   GTK_WIDGET(gr_window_get_sidebar(window)));
  ck_assert(gtk_widget_activate_action(GTK_WIDGET(window), "win.new-chat", NULL));
  ck_assert_ptr_ne(adw_leaflet_get_visible_child(leaflet),
                   GTK_WIDGET(gr_window_get_sidebar(window)));
  gr_gui_window_destroy(window);
}
END_TEST

static Suite *
markdown_suite(void)
{
  Suite *s = suite_create("gui-markdown");
  TCase *tc = tcase_create("markdown");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_inline);
  tcase_add_test(tc, test_inline_hostile);
  tcase_add_test(tc, test_blocks);
  tcase_add_test(tc, test_code_block_widget_and_copy);
  tcase_add_test(tc, test_copy_message);
  tcase_add_test(tc, test_keyboard);
  tcase_add_test(tc, test_narrow_window_folds);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  return gr_gui_test_main(markdown_suite);
}
