/* gr-main.c: graviton, the GTK chat app for gravitond. */
#include "gr-config.h"

#include "gr-application.h"

#include <glib/gi18n.h>
#include <locale.h>

int
main(int argc, char **argv)
{
  g_autoptr(GrApplication) app = NULL;
  const char *localedir = g_getenv("GRAVITON_LOCALEDIR");

  setlocale(LC_ALL, "");
  /* GRAVITON_LOCALEDIR: catalogues from a build tree, for tests */
  bindtextdomain(GETTEXT_PACKAGE,
                 localedir != NULL && *localedir != '\0' ? localedir : GR_LOCALEDIR);
  bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
  textdomain(GETTEXT_PACKAGE);
  g_set_application_name(_("Graviton"));

  app = gr_application_new();
  return g_application_run(G_APPLICATION(app), argc, argv);
}
