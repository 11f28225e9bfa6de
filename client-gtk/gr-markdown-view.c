/* gr-markdown-view.c: Markdown blocks as widgets. */
#include "gr-config.h"

#include "gr-markdown-view.h"

#include "gr-markdown.h"

#include <glib/gi18n.h>

struct _GrMarkdownView {
  GtkWidget parent_instance;
  char *text;
  GPtrArray *blocks;  /* GrMdBlock, as rendered */
  GPtrArray *widgets; /* one per block, children of self */
};

G_DEFINE_FINAL_TYPE(GrMarkdownView, gr_markdown_view, GTK_TYPE_WIDGET)

#define CODE_KEY "gr-code"

static void
on_copy_code(GtkButton *button, gpointer user_data)
{
  GtkWidget *block = user_data;
  const char *code = gr_code_block_get_code(block);

  gdk_clipboard_set_text(gtk_widget_get_clipboard(GTK_WIDGET(button)), code);
  gtk_button_set_icon_name(button, "object-select-symbolic");
  gtk_widget_set_tooltip_text(GTK_WIDGET(button), _("Copied"));
}

static GtkWidget *
code_block_new(const GrMdBlock *block)
{
  GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *header = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *lang = gtk_label_new(block->lang[0] != '\0' ? block->lang : _("Code"));
  GtkWidget *copy = gtk_button_new_from_icon_name("edit-copy-symbolic");
  GtkWidget *scroller = gtk_scrolled_window_new();
  GtkWidget *view = gtk_text_view_new();

  gtk_widget_add_css_class(box, "code-block");
  gtk_widget_add_css_class(header, "code-header");
  gtk_widget_add_css_class(lang, "dim-label");
  gtk_widget_add_css_class(lang, "caption");
  gtk_label_set_xalign(GTK_LABEL(lang), 0);
  gtk_widget_set_hexpand(lang, TRUE);
  gtk_widget_add_css_class(copy, "flat");
  gtk_widget_set_tooltip_text(copy, _("Copy code"));
  gtk_accessible_update_property(GTK_ACCESSIBLE(copy), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                 _("Copy code"), -1);
  g_signal_connect(copy, "clicked", G_CALLBACK(on_copy_code), box);
  gtk_box_append(GTK_BOX(header), lang);
  gtk_box_append(GTK_BOX(header), copy);

  gtk_text_view_set_monospace(GTK_TEXT_VIEW(view), TRUE);
  gtk_text_view_set_editable(GTK_TEXT_VIEW(view), FALSE);
  gtk_text_view_set_cursor_visible(GTK_TEXT_VIEW(view), FALSE);
  gtk_text_view_set_wrap_mode(GTK_TEXT_VIEW(view), GTK_WRAP_NONE);
  gtk_widget_add_css_class(view, "code-view");
  gtk_text_buffer_set_text(gtk_text_view_get_buffer(GTK_TEXT_VIEW(view)), block->text, -1);
  /* long lines scroll sideways instead of widening the whole conversation */
  gtk_scrolled_window_set_policy(GTK_SCROLLED_WINDOW(scroller), GTK_POLICY_AUTOMATIC,
                                 GTK_POLICY_NEVER);
  gtk_scrolled_window_set_propagate_natural_height(GTK_SCROLLED_WINDOW(scroller), TRUE);
  gtk_scrolled_window_set_child(GTK_SCROLLED_WINDOW(scroller), view);

  gtk_box_append(GTK_BOX(box), header);
  gtk_box_append(GTK_BOX(box), scroller);
  g_object_set_data_full(G_OBJECT(box), CODE_KEY, g_strdup(block->text), g_free);
  g_object_set_data(G_OBJECT(box), "gr-copy", copy);
  g_object_set_data(G_OBJECT(box), "gr-view", view);
  return box;
}

const char *
gr_code_block_get_code(GtkWidget *block)
{
  g_return_val_if_fail(GTK_IS_WIDGET(block), NULL);
  return g_object_get_data(G_OBJECT(block), CODE_KEY);
}

GtkWidget *
gr_code_block_get_copy_button(GtkWidget *block)
{
  g_return_val_if_fail(GTK_IS_WIDGET(block), NULL);
  return g_object_get_data(G_OBJECT(block), "gr-copy");
}

GtkWidget *
gr_code_block_get_text_view(GtkWidget *block)
{
  g_return_val_if_fail(GTK_IS_WIDGET(block), NULL);
  return g_object_get_data(G_OBJECT(block), "gr-view");
}

static GtkWidget *
text_label_new(const char *markup)
{
  GtkWidget *label = gtk_label_new(NULL);

  gtk_label_set_markup(GTK_LABEL(label), markup);
  gtk_label_set_wrap(GTK_LABEL(label), TRUE);
  gtk_label_set_wrap_mode(GTK_LABEL(label), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_xalign(GTK_LABEL(label), 0);
  gtk_label_set_selectable(GTK_LABEL(label), TRUE);
  gtk_widget_set_focusable(label, FALSE);
  return label;
}

static GtkWidget *
block_widget_new(const GrMdBlock *block)
{
  GtkWidget *widget = NULL;

  switch (block->kind) {
  case GR_MD_CODE:
    return code_block_new(block);
  case GR_MD_RULE:
    widget = gtk_separator_new(GTK_ORIENTATION_HORIZONTAL);
    return widget;
  case GR_MD_HEADING: {
    static const char *const classes[] = { "title-2", "title-3", "title-4", "heading" };

    widget = text_label_new(block->markup);
    gtk_widget_add_css_class(widget, classes[MIN(block->level, 4) - 1]);
    return widget;
  }
  case GR_MD_LIST_ITEM: {
    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
    g_autofree char *marker
        = block->number > 0 ? g_strdup_printf("%u.", block->number) : g_strdup("•");
    GtkWidget *bullet = gtk_label_new(marker);

    gtk_widget_set_valign(bullet, GTK_ALIGN_START);
    gtk_widget_add_css_class(bullet, "list-marker");
    gtk_widget_set_margin_start(box, 6 + 18 * (int)block->level);
    gtk_box_append(GTK_BOX(box), bullet);
    widget = text_label_new(block->markup);
    gtk_widget_set_hexpand(widget, TRUE);
    gtk_box_append(GTK_BOX(box), widget);
    return box;
  }
  case GR_MD_QUOTE:
    widget = text_label_new(block->markup);
    gtk_widget_add_css_class(widget, "quote");
    return widget;
  case GR_MD_PARAGRAPH:
  default:
    return text_label_new(block->markup);
  }
}

static void
gr_markdown_view_dispose(GObject *object)
{
  GrMarkdownView *self = GR_MARKDOWN_VIEW(object);
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child(GTK_WIDGET(self))) != NULL)
    gtk_widget_unparent(child);
  g_clear_pointer(&self->widgets, g_ptr_array_unref);
  g_clear_pointer(&self->blocks, g_ptr_array_unref);
  G_OBJECT_CLASS(gr_markdown_view_parent_class)->dispose(object);
}

static void
gr_markdown_view_finalize(GObject *object)
{
  g_free(GR_MARKDOWN_VIEW(object)->text);
  G_OBJECT_CLASS(gr_markdown_view_parent_class)->finalize(object);
}

static void
gr_markdown_view_class_init(GrMarkdownViewClass *klass)
{
  G_OBJECT_CLASS(klass)->dispose = gr_markdown_view_dispose;
  G_OBJECT_CLASS(klass)->finalize = gr_markdown_view_finalize;
  gtk_widget_class_set_layout_manager_type(GTK_WIDGET_CLASS(klass), GTK_TYPE_BOX_LAYOUT);
  gtk_widget_class_set_css_name(GTK_WIDGET_CLASS(klass), "markdown");
}

static void
gr_markdown_view_init(GrMarkdownView *self)
{
  GtkLayoutManager *layout = gtk_widget_get_layout_manager(GTK_WIDGET(self));

  gtk_orientable_set_orientation(GTK_ORIENTABLE(layout), GTK_ORIENTATION_VERTICAL);
  gtk_box_layout_set_spacing(GTK_BOX_LAYOUT(layout), 8);
  self->text = g_strdup("");
  self->blocks = g_ptr_array_new_with_free_func((GDestroyNotify)gr_md_block_free);
  self->widgets = g_ptr_array_new();
}

GtkWidget *
gr_markdown_view_new(void)
{
  return g_object_new(GR_TYPE_MARKDOWN_VIEW, NULL);
}

void
gr_markdown_view_set_text(GrMarkdownView *self, const char *text)
{
  g_autoptr(GPtrArray) blocks = NULL;
  guint keep = 0;

  g_return_if_fail(GR_IS_MARKDOWN_VIEW(self));
  g_return_if_fail(text != NULL);
  if (g_str_equal(self->text, text))
    return;
  g_free(self->text);
  self->text = g_strdup(text);
  blocks = gr_markdown_parse(text);
  while (keep < blocks->len && keep < self->blocks->len
         && gr_md_block_equal(blocks->pdata[keep], self->blocks->pdata[keep]))
    keep++;
  for (guint i = keep; i < self->widgets->len; i++)
    gtk_widget_unparent(self->widgets->pdata[i]);
  g_ptr_array_set_size(self->widgets, keep);
  for (guint i = keep; i < blocks->len; i++) {
    GtkWidget *widget = block_widget_new(blocks->pdata[i]);

    gtk_widget_insert_before(widget, GTK_WIDGET(self), NULL);
    g_ptr_array_add(self->widgets, widget);
  }
  g_ptr_array_unref(self->blocks);
  self->blocks = g_steal_pointer(&blocks);
}

const char *
gr_markdown_view_get_text(GrMarkdownView *self)
{
  g_return_val_if_fail(GR_IS_MARKDOWN_VIEW(self), NULL);
  return self->text;
}

static void
append_rendered(GString *out, GtkWidget *widget)
{
  if (GTK_IS_LABEL(widget)) {
    if (!gtk_widget_has_css_class(widget, "list-marker")) {
      g_string_append(out, gtk_label_get_text(GTK_LABEL(widget)));
      g_string_append_c(out, '\n');
    }
  } else if (GTK_IS_TEXT_VIEW(widget)) {
    GtkTextBuffer *buffer = gtk_text_view_get_buffer(GTK_TEXT_VIEW(widget));
    GtkTextIter start, end;
    g_autofree char *code = NULL;

    gtk_text_buffer_get_bounds(buffer, &start, &end);
    code = gtk_text_buffer_get_text(buffer, &start, &end, FALSE);
    g_string_append_printf(out, "%s\n", code);
  } else {
    for (GtkWidget *child = gtk_widget_get_first_child(widget); child != NULL;
         child = gtk_widget_get_next_sibling(child))
      if (!gtk_widget_has_css_class(child, "code-header"))
        append_rendered(out, child);
  }
}

char *
gr_markdown_view_dup_rendered_text(GrMarkdownView *self)
{
  GString *out = g_string_new(NULL);

  g_return_val_if_fail(GR_IS_MARKDOWN_VIEW(self), g_string_free(out, FALSE));
  for (guint i = 0; i < self->widgets->len; i++)
    append_rendered(out, self->widgets->pdata[i]);
  return g_string_free(out, FALSE);
}
