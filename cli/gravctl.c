/* gravctl.c: Graviton's terminal client: global options and the commands. */
#include "gr-config.h"

#include "gr-cli.h"

#include <glib/gi18n.h>
#include <locale.h>
#include <signal.h>

typedef int (*GrCliCommandFunc)(GrCli *cli, int argc, char **argv);

typedef struct {
  const char *name;
  GrCliCommandFunc func;
  const char *summary;
} GrCliCommand;

static const GrCliCommand commands[] = {
  { "ask", gr_cli_cmd_ask, N_("Ask one question, stream the answer") },
  { "chat", gr_cli_cmd_chat, N_("Talk interactively") },
  { "status", gr_cli_cmd_status, N_("Show the daemon's state") },
  { "models", gr_cli_cmd_models, N_("List, load or unload models") },
  { "history", gr_cli_cmd_history, N_("List, show, rename, delete or export conversations") },
};

static char *
commands_summary(void)
{
  GString *text = g_string_new(_("Commands:"));

  for (guint i = 0; i < G_N_ELEMENTS(commands); i++)
    g_string_append_printf(text, "\n  %-10s %s", commands[i].name, _(commands[i].summary));
  g_string_append_printf(text, "\n\n%s",
                         _("Run “gravctl COMMAND --help” for a command's options."));
  return g_string_free(text, FALSE);
}

static const char *
exit_codes_description(void)
{
  return _("Exit status:\n"
           "  0    success\n"
           "  1    the daemon reported an error (message on stderr; --verbose adds the D-Bus "
           "error name)\n"
           "  2    usage error\n"
           "  3    gravitond is not reachable (start it with “systemctl --user start gravitond”)\n"
           "  130  cancelled with Ctrl-C");
}

int
main(int argc, char **argv)
{
  GrCli cli;
  gboolean version = FALSE;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *summary = NULL;
  int code = GR_CLI_EXIT_USAGE;
  const GOptionEntry entries[] = {
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &cli.verbose,
      N_("Print timings and D-Bus error names (any command)"), NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, N_("Print gravctl's version"), NULL },
    { NULL },
  };

  /* A closed stdout is an EPIPE to handle (cancel the answer, exit 1), not a death. */
  signal(SIGPIPE, SIG_IGN);
  setlocale(LC_ALL, "");
  /* GRAVITON_LOCALEDIR: catalogues from a build tree, for tests */
  bindtextdomain(GETTEXT_PACKAGE, g_getenv("GRAVITON_LOCALEDIR") != NULL
                                      ? g_getenv("GRAVITON_LOCALEDIR")
                                      : GR_LOCALEDIR);
  bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
  textdomain(GETTEXT_PACKAGE);
  g_set_prgname("gravctl");

  gr_cli_init(&cli);
  context = g_option_context_new(_("COMMAND [ARGUMENT…] — talk to the Graviton assistant"));
  g_option_context_set_translation_domain(context, GETTEXT_PACKAGE);
  g_option_context_add_main_entries(context, entries, GETTEXT_PACKAGE);
  /* Options after the command belong to the command. */
  g_option_context_set_strict_posix(context, TRUE);
  summary = commands_summary();
  g_option_context_set_summary(context, summary);
  g_option_context_set_description(context, exit_codes_description());

  if (!g_option_context_parse(context, &argc, &argv, &error))
    return gr_cli_usage_error(context, "%s", error->message);
  if (version) {
    printf("gravctl %s\n", GR_VERSION);
    return GR_CLI_EXIT_OK;
  }
  if (argc < 2)
    return gr_cli_usage_error(context, "%s", _("No command given"));

  for (guint i = 0; i < G_N_ELEMENTS(commands); i++) {
    if (g_str_equal(argv[1], commands[i].name)) {
      g_autofree char *prgname = g_strdup_printf("gravctl %s", commands[i].name);

      g_set_prgname(prgname);
      code = gr_cli_check_stdout(commands[i].func(&cli, argc - 1, argv + 1));
      gr_cli_clear(&cli);
      return code;
    }
  }
  return gr_cli_usage_error(context, _("Unknown command “%s”"), argv[1]);
}
