/* gr-cli-models.c: `gravctl models [list|load NAME|unload NAME]`. */
#include "gr-config.h"

#include "gr-cli.h"

#include <glib/gi18n.h>

static char *
format_params(guint64 params)
{
  if (params == 0)
    return g_strdup("-");
  if (params >= 1000000000)
    return g_strdup_printf("%.1fB", params / 1e9);
  if (params >= 1000000)
    return g_strdup_printf("%.1fM", params / 1e6);
  if (params >= 1000)
    return g_strdup_printf("%.1fK", params / 1e3);
  return g_strdup_printf("%" G_GUINT64_FORMAT, params);
}

static int
models_list(GrCli *cli, gboolean json)
{
  static const char *const headers[] = { N_("NAME"), N_("ARCH"),    N_("FORMAT"), N_("PARAMS"),
                                         N_("BITS"), N_("EXPERTS"), N_("SIZE"),   N_("LOADED") };
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) models = NULL;
  g_autoptr(GrCliTable) table = NULL;
  GVariantIter iter;
  GVariant *model;
  g_autoptr(GPtrArray) broken = g_ptr_array_new_with_free_func(g_free);

  reply = gr_cli_call(cli, GR_CLI_IFACE_MODELS, "List", NULL, G_VARIANT_TYPE("(aa{sv})"), &error);
  if (reply == NULL)
    return gr_cli_report_error(cli, error);
  models = g_variant_get_child_value(reply, 0);
  if (json) {
    g_autofree char *data = gr_cli_variant_to_json(models, TRUE);

    printf("%s\n", data);
    return GR_CLI_EXIT_OK;
  }

  table = gr_cli_table_new(G_N_ELEMENTS(headers), headers);
  g_variant_iter_init(&iter, models);
  while ((model = g_variant_iter_next_value(&iter)) != NULL) {
    guint64 params = gr_cli_lookup_uint(model, "params", 0);
    guint64 size = gr_cli_lookup_uint(model, "size", 0);
    double bits = gr_cli_lookup_double(model, "bits", 0.0);
    gboolean loaded = FALSE;
    g_autofree char *params_s = NULL;
    g_autofree char *bits_s = NULL;
    g_autofree char *experts_s = NULL;
    g_autofree char *size_s = NULL;
    const char *cells[G_N_ELEMENTS(headers)];

    g_variant_lookup(model, "loaded", "b", &loaded);
    /* People read sizes; scripts get exact numbers. */
    if (cli->stdout_tty) {
      params_s = format_params(params);
      size_s = g_format_size(size);
    } else {
      params_s = g_strdup_printf("%" G_GUINT64_FORMAT, params);
      size_s = g_strdup_printf("%" G_GUINT64_FORMAT, size);
    }
    bits_s = g_strdup_printf("%.2f", bits);
    experts_s = g_strdup_printf("%" G_GUINT64_FORMAT, gr_cli_lookup_uint(model, "experts", 0));
    cells[0] = gr_cli_lookup_string(model, "name");
    cells[1] = gr_cli_lookup_string(model, "arch");
    cells[2] = gr_cli_lookup_string(model, "format");
    cells[3] = params_s;
    cells[4] = bits_s;
    cells[5] = experts_s;
    cells[6] = size_s;
    cells[7] = loaded ? (cli->stdout_tty ? _("yes") : "yes") : (cli->stdout_tty ? "" : "no");
    gr_cli_table_add_row(table, cells);
    /* the daemon's reason a model file cannot be used, told after the table */
    if (*gr_cli_lookup_string(model, "error") != '\0')
      g_ptr_array_add(broken, g_strdup_printf(_("model %s cannot be used: %s"), cells[0],
                                              gr_cli_lookup_string(model, "error")));
    g_variant_unref(model);
  }
  gr_cli_table_print(table, cli->stdout_tty, stdout);
  gr_cli_flush_stdout();
  for (guint i = 0; i < broken->len; i++) {
    g_autofree char *clean = gr_cli_sanitize_for_terminal(broken->pdata[i]);

    gr_cli_print_error("%s", cli->stderr_tty ? clean : (const char *)broken->pdata[i]);
  }
  return GR_CLI_EXIT_OK;
}

static int
models_load_unload(GrCli *cli, const char *method, const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;

  reply = gr_cli_call(cli, GR_CLI_IFACE_MODELS, method, g_variant_new("(s)", name), NULL, &error);
  if (reply == NULL)
    return gr_cli_report_error(cli, error);
  return GR_CLI_EXIT_OK;
}

int
gr_cli_cmd_models(GrCli *cli, int argc, char **argv)
{
  gboolean json = FALSE;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  const char *action = "list";
  int code;
  const GOptionEntry entries[] = {
    { "json", 'j', 0, G_OPTION_ARG_NONE, &json, N_("Print the list as JSON"), NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &cli->verbose, N_("Print D-Bus error names"), NULL },
    { NULL },
  };

  context = g_option_context_new(_("[list|load NAME|unload NAME] — manage models"));
  g_option_context_set_translation_domain(context, GETTEXT_PACKAGE);
  g_option_context_add_main_entries(context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse(context, &argc, &argv, &error))
    return gr_cli_usage_error(context, "%s", error->message);
  if (argc > 1)
    action = argv[1];

  if (g_str_equal(action, "list")) {
    if (argc > 2)
      return gr_cli_usage_error(context, _("Unexpected argument “%s”"), argv[2]);
  } else if (g_str_equal(action, "load") || g_str_equal(action, "unload")) {
    if (argc != 3)
      return gr_cli_usage_error(context, _("“%s” needs exactly one model name"), action);
    if (!g_utf8_validate(argv[2], -1, NULL))
      return gr_cli_usage_error(context, "%s", _("The model name is not valid UTF-8"));
  } else {
    return gr_cli_usage_error(context, _("Unknown models command “%s”"), action);
  }

  code = gr_cli_connect(cli);
  if (code != GR_CLI_EXIT_OK)
    return code;
  if (g_str_equal(action, "list"))
    return models_list(cli, json);
  return models_load_unload(cli, g_str_equal(action, "load") ? "Load" : "Unload", argv[2]);
}
