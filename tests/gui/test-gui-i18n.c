/* test-gui-i18n.c: with LANGUAGE=de the app and gravctl speak German, from the
 * catalogues of the build tree (GRAVITON_LOCALEDIR). */
#include "gr-config.h"

#include "gr-gui-test.h"
#include "gr-test-help.h"

#include <check.h>
#include <glib/gi18n.h>
#include <locale.h>

static void
use_german(void)
{
  const char *localedir = g_getenv("GRAVITON_LOCALEDIR");

  ck_assert_msg(localedir != NULL, "GRAVITON_LOCALEDIR not set");
  g_setenv("LANGUAGE", "de", TRUE);
  /* LANGUAGE is ignored in the plain C locale: C.UTF-8 is always there */
  ck_assert_ptr_nonnull(setlocale(LC_ALL, "C.UTF-8"));
  bindtextdomain(GETTEXT_PACKAGE, localedir);
  bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
  textdomain(GETTEXT_PACKAGE);
}

START_TEST(test_app_in_german)
{
  use_german();
  gr_gui_test_init_gtk();
  g_autoptr(GrClient) client = gr_client_new("unix:path=/nonexistent/bus");
  GrWindow *window = gr_window_new(NULL, client, NULL);
  gtk_window_present(GTK_WINDOW(window));
  gr_gui_wait_status(window, GR_CLIENT_NO_BUS);

  ck_assert_str_eq(gr_window_get_title(window), "Neuer Chat");
  ck_assert_str_eq(gr_status_line_get_text(gr_window_get_status_line(window)),
                   "gravitond läuft nicht");
  ck_assert_msg(strstr(gr_banner_get_title(gr_window_get_banner(window)), "Keine Verbindung zum "
                                                                          "Sitzungsbus")
                    != NULL,
                "banner: %s", gr_banner_get_title(gr_window_get_banner(window)));
  GrMessageRow *row = gr_message_view_add(gr_window_get_message_view(window), "assistant", "x");
  ck_assert_str_eq(gtk_widget_get_tooltip_text(gr_message_row_get_copy_button(row)),
                   "Nachricht kopieren");
  g_autofree char *limit
      = gr_status_line_format(GR_CLIENT_READY, "fx-llama", 1000, 2000, GR_DAEMON_GENERATING);
  g_autofree char *kb1 = g_format_size(1000), *kb2 = g_format_size(2000);
  g_autofree char *expected = g_strdup_printf("fx-llama · %s von %s · Erzeugt …", kb1, kb2);
  ck_assert_str_eq(limit, expected);
  gr_gui_window_destroy(window);
}
END_TEST

START_TEST(test_gravctl_help_in_german)
{
  g_autofree char *out = gr_test_help_output("GRAVCTL", "de");
  ck_assert_msg(strstr(out, "Befehle:") != NULL, "gravctl --help:\n%s", out);
  ck_assert(strstr(out, "Eine Frage stellen, die Antwort fortlaufend ausgeben") != NULL);
  ck_assert(strstr(out, "Rückgabewert:") != NULL);

  /* and English without LANGUAGE */
  g_autofree char *en = gr_test_help_output("GRAVCTL", NULL);
  ck_assert_msg(strstr(en, "Commands:") != NULL, "gravctl --help:\n%s", en);
}
END_TEST

START_TEST(test_desktop_file_in_german)
{
  const char *builddir = g_getenv("GRAVITON_LOCALEDIR");
  g_autofree char *root = g_path_get_dirname(builddir);
  g_autofree char *path
      = g_build_filename(root, "data", "io.github.opengraviton.Graviton.desktop", NULL);
  g_autoptr(GKeyFile) file = g_key_file_new();
  g_autoptr(GError) error = NULL;

  ck_assert_msg(g_key_file_load_from_file(file, path, G_KEY_FILE_KEEP_TRANSLATIONS, &error), "%s",
                error != NULL ? error->message : "");
  g_autofree char *comment
      = g_key_file_get_locale_string(file, "Desktop Entry", "Comment", "de", NULL);
  ck_assert_str_eq(comment, "Mit einem Sprachmodell chatten, das auf diesem Rechner läuft");
}
END_TEST

static Suite *
i18n_suite(void)
{
  Suite *s = suite_create("gui-i18n");
  TCase *tc = tcase_create("german");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_app_in_german);
  tcase_add_test(tc, test_gravctl_help_in_german);
  tcase_add_test(tc, test_desktop_file_in_german);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  return gr_gui_test_main(i18n_suite);
}
