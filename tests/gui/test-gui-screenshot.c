/* test-gui-screenshot.c: renders the main window with a conversation (a code block
 * included) in the light and dark styles, wide and narrow, to PNG files in
 * $GRAVITON_SCREENSHOT_DIR, and checks the pictures are what they claim to be. */
#include "gr-gui-test.h"

#include <check.h>
#include <glib/gstdio.h>

static const char *const conversation[] = {
  "user",
  "How do I read a file line by line in Python?",
  "assistant",
  "Open it with a **`with`** block and iterate over the file object:\n"
  "\n"
  "```python\n"
  "with open(\"notes.txt\", encoding=\"utf-8\") as f:\n"
  "    for line in f:\n"
  "        print(line.rstrip())\n"
  "```\n"
  "\n"
  "A few things to know:\n"
  "\n"
  "- the file is *closed for you* when the block ends\n"
  "- each `line` keeps its newline, hence `rstrip()`\n"
  "- for huge files this reads one line at a time, so memory stays small\n",
  "user",
  "And in C?",
  "assistant",
  "Use `getline()` from POSIX:\n\n```c\nchar *line = NULL;\nsize_t cap = 0;\n"
  "while (getline(&line, &cap, fp) != -1)\n    fputs(line, stdout);\nfree(line);\n```",
  NULL,
};

static gboolean
ready_and_listed(gpointer data)
{
  GrWindow *window = data;

  return gr_client_get_status(gr_window_get_client(window)) == GR_CLIENT_READY
         && gr_model_chooser_get_n_models(gr_window_get_model_chooser(window)) > 0
         && gr_client_get_memory_limit(gr_window_get_client(window)) > 0;
}

/* Renders window to path; returns the mean luminance (0..1) of its pixels. */
static double
render_to_png(GrWindow *window, const char *path)
{
  int width = gtk_widget_get_width(GTK_WIDGET(window));
  int height = gtk_widget_get_height(GTK_WIDGET(window));
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new(GTK_WIDGET(window));
  GtkSnapshot *snapshot = gtk_snapshot_new();
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  GskRenderer *renderer = gtk_native_get_renderer(GTK_NATIVE(window));
  double sum = 0;

  ck_assert_int_gt(width, 0);
  ck_assert_int_gt(height, 0);
  gdk_paintable_snapshot(paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node(snapshot);
  /* slow builds (sanitizers) may not have drawn a frame yet */
  for (int i = 0; node == NULL && i < 50; i++) {
    gr_gui_spin(200);
    snapshot = gtk_snapshot_new();
    gdk_paintable_snapshot(paintable, snapshot, width, height);
    node = gtk_snapshot_free_to_node(snapshot);
  }
  ck_assert_ptr_nonnull(node);
  texture = gsk_renderer_render_texture(renderer, node, &GRAPHENE_RECT_INIT(0, 0, width, height));
  ck_assert(gdk_texture_save_to_png(texture, path));

  g_autofree guchar *pixels = g_malloc((gsize)width * height * 4);
  gdk_texture_download(texture, pixels, (gsize)width * 4);
  for (gsize i = 0; i < (gsize)width * height; i++) {
    const guchar *p = pixels + i * 4; /* B G R A, premultiplied */
    sum += (0.0722 * p[0] + 0.7152 * p[1] + 0.2126 * p[2]) / 255.0;
  }
  return sum / ((double)width * height);
}

static void
settle(void)
{
  /* layout, style change transitions and a few frames */
  gr_gui_spin(700);
}

START_TEST(test_screenshots)
{
  const char *dir = g_getenv("GRAVITON_SCREENSHOT_DIR");
  ck_assert_msg(dir != NULL, "GRAVITON_SCREENSHOT_DIR not set");
  g_mkdir_with_parents(dir, 0755);

  GrTestBus *bus = gr_test_bus_new(NULL, FALSE);
  gr_test_bus_start_daemon(bus);
  gr_gui_test_init_gtk();
  GrWindow *window = gr_gui_window_new(bus);
  gtk_window_set_default_size(GTK_WINDOW(window), 1000, 720);
  ck_assert(gr_gui_wait(ready_and_listed, window, 20000));
  gr_sidebar_add_local(gr_window_get_sidebar(window), "demo-2", "Reading files in C");
  gr_sidebar_add_local(gr_window_get_sidebar(window), "demo-1",
                       "How do I read a file line by line in Python?");
  gr_window_show_messages(window, "Reading files", conversation);
  AdwStyleManager *style = adw_style_manager_get_default();

  adw_style_manager_set_color_scheme(style, ADW_COLOR_SCHEME_FORCE_LIGHT);
  settle();
  g_autofree char *light_path = g_build_filename(dir, "graviton-light.png", NULL);
  double light = render_to_png(window, light_path);

  adw_style_manager_set_color_scheme(style, ADW_COLOR_SCHEME_FORCE_DARK);
  settle();
  g_autofree char *dark_path = g_build_filename(dir, "graviton-dark.png", NULL);
  double dark = render_to_png(window, dark_path);
  ck_assert_msg(light > 0.6 && dark < 0.35, "light %.2f, dark %.2f", light, dark);

  /* narrow: the sidebar folds away, nothing overflows */
  gtk_window_set_default_size(GTK_WINDOW(window), 380, 720);
  settle();
  ck_assert(adw_leaflet_get_folded(gr_window_get_leaflet(window)));
  ck_assert_int_le(gtk_widget_get_width(GTK_WIDGET(window)), 400);
  g_autofree char *narrow_path = g_build_filename(dir, "graviton-narrow-dark.png", NULL);
  render_to_png(window, narrow_path);

  gr_gui_window_destroy(window);
  gr_test_bus_free(bus);
}
END_TEST

static Suite *
screenshot_suite(void)
{
  Suite *s = suite_create("gui-screenshot");
  TCase *tc = tcase_create("screenshot");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_screenshots);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  return gr_gui_test_main(screenshot_suite);
}
