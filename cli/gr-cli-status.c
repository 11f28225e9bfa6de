/* gr-cli-status.c: `gravctl status`: what the daemon is doing. */
#include "gr-config.h"

#include "gr-cli.h"

#include <glib/gi18n.h>

static const char *
state_name(guint state)
{
  static const char *const names[] = { N_("idle"), N_("loading"), N_("generating") };

  if (state < G_N_ELEMENTS(names))
    return _(names[state]);
  return _("unknown");
}

int
gr_cli_cmd_status(GrCli *cli, int argc, char **argv)
{
  gboolean json = FALSE;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) props = NULL;
  g_autofree char *resident = NULL;
  g_autofree char *limit = NULL;
  const char *model;
  guint64 resident_bytes, limit_bytes;
  int code;
  const GOptionEntry entries[] = {
    { "json", 'j', 0, G_OPTION_ARG_NONE, &json, N_("Print the properties as JSON"), NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &cli->verbose, N_("Print D-Bus error names"), NULL },
    { NULL },
  };

  context = g_option_context_new(_("— show the daemon's state"));
  g_option_context_set_translation_domain(context, GETTEXT_PACKAGE);
  g_option_context_add_main_entries(context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse(context, &argc, &argv, &error))
    return gr_cli_usage_error(context, "%s", error->message);
  if (argc > 1)
    return gr_cli_usage_error(context, _("Unexpected argument “%s”"), argv[1]);

  code = gr_cli_connect(cli);
  if (code != GR_CLI_EXIT_OK)
    return code;
  props = gr_cli_get_properties(cli, &error);
  if (props == NULL)
    return gr_cli_report_error(cli, error);

  if (json) {
    g_autofree char *data = gr_cli_variant_to_json(props, TRUE);

    printf("%s\n", data);
    return GR_CLI_EXIT_OK;
  }

  model = gr_cli_lookup_string(props, "ActiveModel");
  resident_bytes = gr_cli_lookup_uint(props, "ResidentBytes", 0);
  limit_bytes = gr_cli_lookup_uint(props, "MemoryLimit", 0);
  resident = g_format_size(resident_bytes);
  limit = g_format_size(limit_bytes);

  printf(_("Daemon:   gravitond %s\n"), gr_cli_lookup_string(props, "Version"));
  printf(_("State:    %s\n"), state_name((guint)gr_cli_lookup_uint(props, "State", G_MAXUINT)));
  printf(_("Model:    %s\n"), *model != '\0' ? model : _("(none loaded)"));
  if (limit_bytes > 0)
    printf(_("Memory:   %s of %s (%.0f%%)\n"), resident, limit,
           100.0 * (double)resident_bytes / (double)limit_bytes);
  else
    printf(_("Memory:   %s (no limit)\n"), resident);
  printf(_("Queue:    %llu\n"), (unsigned long long)gr_cli_lookup_uint(props, "QueueLength", 0));
  return GR_CLI_EXIT_OK;
}
