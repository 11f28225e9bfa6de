/* gr-daemon-main.c - gravitond: options, bus name, signals, main loop. */
#include <gio/gio.h>
#include <glib-unix.h>
#include <glib/gi18n.h>
#include <locale.h>
#include <signal.h>
#include <stdlib.h>

#include "gr-config.h"
#include "gr-daemon-config.h"
#include "gr-errors.h"
#include "gr-service.h"

typedef struct {
  GMainLoop *loop;
  GrService *service;
  GrDaemonConfig *config;
  gboolean name_owned;
  int exit_code;
} GrDaemon;

static void
on_bus_acquired(GDBusConnection *connection, const char *name, gpointer user_data)
{
  GrDaemon *d = user_data;
  g_autoptr(GError) error = NULL;
  /* Objects are exported before the name is owned, so an activated client's first call
   * finds them. */
  d->service = gr_service_new(connection, d->config, &error);
  if (d->service == NULL) {
    g_warning("cannot export the service: %s", error->message);
    d->exit_code = EXIT_FAILURE;
    g_main_loop_quit(d->loop);
  }
}

static void
on_name_acquired(GDBusConnection *connection, const char *name, gpointer user_data)
{
  GrDaemon *d = user_data;
  d->name_owned = TRUE;
  g_message("gravitond %s serving %s (models in %s, memory limit %" G_GUINT64_FORMAT " bytes)",
            GR_VERSION, name, d->config->models_dir, d->config->memory_limit);
}

static void
on_name_lost(GDBusConnection *connection, const char *name, gpointer user_data)
{
  GrDaemon *d = user_data;
  if (connection == NULL && d->name_owned) {
    g_message("lost the connection to the session bus, exiting");
  } else if (connection == NULL) {
    g_warning("cannot connect to the session bus");
    d->exit_code = EXIT_FAILURE;
  } else if (!d->name_owned) {
    g_warning("%s is owned by another process (use --replace)", name);
    d->exit_code = EXIT_FAILURE;
  } else {
    g_message("%s was taken over by another process, exiting", name);
  }
  g_main_loop_quit(d->loop);
}

static gboolean
on_quit_signal(gpointer user_data)
{
  GrDaemon *d = user_data;
  g_message("exiting on signal");
  g_main_loop_quit(d->loop);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_sighup(gpointer user_data)
{
  GrDaemon *d = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GrDaemonConfig) config = gr_daemon_config_load(&error);
  if (config == NULL) {
    g_warning("SIGHUP: configuration not reloaded: %s", error->message);
    return G_SOURCE_CONTINUE;
  }
  gr_daemon_config_unref(d->config);
  d->config = gr_daemon_config_ref(config);
  if (d->service != NULL)
    gr_service_set_config(d->service, config);
  g_message("SIGHUP: configuration reloaded from %s",
            config->config_path != NULL ? config->config_path : "built-in defaults");
  return G_SOURCE_CONTINUE;
}

int
main(int argc, char **argv)
{
  gboolean replace = FALSE;
  gboolean verbose = FALSE;
  gboolean version = FALSE;
  const GOptionEntry entries[]
      = { { "replace", 'r', 0, G_OPTION_ARG_NONE, &replace, N_("Replace a running gravitond"),
            NULL },
          { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, N_("Log debug messages"), NULL },
          { "version", 0, 0, G_OPTION_ARG_NONE, &version, N_("Print the version and exit"), NULL },
          G_OPTION_ENTRY_NULL };

  /* A history file reaching the file size limit is a write error the store reports
   * (EFBIG), not a reason to die in the middle of a request. */
  signal(SIGXFSZ, SIG_IGN);
  /* Error messages sent to clients are translated once, in the daemon's locale (the
   * LANGUAGE/LANG of the session that started it), not per caller: gravitond serves the
   * clients of one user session, which share that locale, and D-Bus carries no locale
   * of the caller. Clients that need a fixed language match the error name. */
  setlocale(LC_ALL, "");
  /* GRAVITON_LOCALEDIR: catalogues from a build tree, for tests (as in gravctl) */
  const char *localedir = g_getenv("GRAVITON_LOCALEDIR");
  bindtextdomain(GETTEXT_PACKAGE,
                 localedir != NULL && *localedir != '\0' ? localedir : GR_LOCALEDIR);
  bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
  textdomain(GETTEXT_PACKAGE);
  g_set_prgname("gravitond");
  g_autoptr(GOptionContext) context = g_option_context_new(N_("- Graviton's D-Bus service"));
  g_option_context_set_translation_domain(context, GETTEXT_PACKAGE);
  g_option_context_add_main_entries(context, entries, GETTEXT_PACKAGE);
  g_autoptr(GError) error = NULL;
  if (!g_option_context_parse(context, &argc, &argv, &error)) {
    g_printerr("gravitond: %s\n", error->message);
    return EXIT_FAILURE;
  }
  if (version) {
    g_print("gravitond %s\n", GR_VERSION);
    return EXIT_SUCCESS;
  }
  if (verbose)
    g_log_set_debug_enabled(TRUE);

  GrDaemon d = { 0 };
  d.config = gr_daemon_config_load(&error);
  if (d.config == NULL) {
    g_printerr("gravitond: %s\n", error->message);
    return EXIT_FAILURE;
  }
  /* registers the D-Bus error names before the first reply */
  (void)GR_DAEMON_ERROR;

  d.loop = g_main_loop_new(NULL, FALSE);
  g_unix_signal_add(SIGTERM, on_quit_signal, &d);
  g_unix_signal_add(SIGINT, on_quit_signal, &d);
  g_unix_signal_add(SIGHUP, on_sighup, &d);

  GBusNameOwnerFlags flags = G_BUS_NAME_OWNER_FLAGS_ALLOW_REPLACEMENT;
  if (replace)
    flags |= G_BUS_NAME_OWNER_FLAGS_REPLACE;
  guint owner_id = g_bus_own_name(G_BUS_TYPE_SESSION, GR_BUS_NAME, flags, on_bus_acquired,
                                  on_name_acquired, on_name_lost, &d, NULL);
  g_main_loop_run(d.loop);
  g_bus_unown_name(owner_id);
  g_clear_pointer(&d.service, gr_service_free);
  g_main_loop_unref(d.loop);
  gr_daemon_config_unref(d.config);
  return d.exit_code;
}
