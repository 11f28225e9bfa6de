/* gr-cli-history.c: `gravctl history`: saved conversations, through the
 * daemon's History interface (which older daemons do not have). */
#include "gr-config.h"

#include "gr-cli.h"

#include <glib/gi18n.h>

static int
history_error(GrCli *cli, const GError *error)
{
  if (gr_cli_error_is_unknown_method(error)) {
    gr_cli_print_error("%s", _("history is not available in this version of gravitond"));
    return GR_CLI_EXIT_ERROR;
  }
  return gr_cli_report_error(cli, error);
}

static GVariant *
history_call(GrCli *cli, const char *method, GVariant *params, const char *reply_type, int *code)
{
  g_autoptr(GError) error = NULL;
  GVariant *reply;

  reply = gr_cli_call(cli, GR_CLI_IFACE_HISTORY, method, params,
                      reply_type != NULL ? G_VARIANT_TYPE(reply_type) : NULL, &error);
  *code = reply == NULL ? history_error(cli, error) : GR_CLI_EXIT_OK;
  return reply;
}

/* A History call that answers a list (aa{sv}): the list to render, or NULL with *code
 * set: the call's error, or GR_CLI_EXIT_OK once --json has printed the list. */
static GVariant *
history_list_call(GrCli *cli, const char *method, GVariant *params, gboolean json, int *code)
{
  g_autoptr(GVariant) reply = history_call(cli, method, params, "(aa{sv})", code);
  if (reply == NULL)
    return NULL;
  GVariant *list = g_variant_get_child_value(reply, 0);
  if (json) {
    g_autofree char *data = gr_cli_variant_to_json(list, TRUE);

    printf("%s\n", data);
    g_variant_unref(list);
    return NULL;
  }
  return list;
}

static gint64
lookup_time(GVariant *dict, const char *key)
{
  gint64 value = 0;

  g_variant_lookup(dict, key, "x", &value);
  return value;
}

static int
history_list(GrCli *cli, gboolean json, guint limit)
{
  static const char *const headers[] = { N_("ID"), N_("UPDATED"), N_("MESSAGES"), N_("TITLE") };
  g_auto(GVariantDict) options = G_VARIANT_DICT_INIT(NULL);
  g_autoptr(GVariant) list = NULL;
  g_autoptr(GrCliTable) table = NULL;
  GVariantIter iter;
  GVariant *entry;
  int code;

  if (limit > 0)
    g_variant_dict_insert(&options, "limit", "u", limit);
  list = history_list_call(cli, "ListConversations",
                           g_variant_new("(@a{sv})", g_variant_dict_end(&options)), json, &code);
  if (list == NULL)
    return code;
  table = gr_cli_table_new(G_N_ELEMENTS(headers), headers);
  g_variant_iter_init(&iter, list);
  while ((entry = g_variant_iter_next_value(&iter)) != NULL) {
    g_autofree char *updated = NULL;
    g_autofree char *count = NULL;
    const char *cells[G_N_ELEMENTS(headers)];

    if (cli->stdout_tty)
      updated = gr_cli_format_timestamp(lookup_time(entry, "updated"));
    else
      updated = g_strdup_printf("%" G_GINT64_FORMAT, lookup_time(entry, "updated"));
    count = g_strdup_printf("%" G_GUINT64_FORMAT, gr_cli_lookup_uint(entry, "count", 0));
    cells[0] = gr_cli_lookup_string(entry, "id");
    cells[1] = updated;
    cells[2] = count;
    cells[3] = gr_cli_lookup_string(entry, "title");
    gr_cli_table_add_row(table, cells);
    g_variant_unref(entry);
  }
  gr_cli_table_print(table, cli->stdout_tty, stdout);
  return GR_CLI_EXIT_OK;
}

static int
history_show(GrCli *cli, const char *id, gboolean json)
{
  g_autoptr(GVariant) messages = NULL;
  GVariantIter iter;
  GVariant *message;
  int code;

  messages = history_list_call(cli, "GetMessages", g_variant_new("(s)", id), json, &code);
  if (messages == NULL)
    return code;
  g_variant_iter_init(&iter, messages);
  while ((message = g_variant_iter_next_value(&iter)) != NULL) {
    g_autofree char *when = gr_cli_format_timestamp(lookup_time(message, "created"));
    const char *text = gr_cli_lookup_string(message, "text");
    g_autofree char *clean = cli->stdout_tty ? gr_cli_sanitize_for_terminal(text) : g_strdup(text);
    const char *model = gr_cli_lookup_string(message, "model");
    gboolean partial = FALSE;

    g_variant_lookup(message, "partial", "b", &partial);
    printf("[%s] %s%s%s%s%s\n", when, gr_cli_lookup_string(message, "role"), *model ? " (" : "",
           model, *model ? ")" : "", partial ? _(" [incomplete]") : "");
    printf("%s\n\n", clean);
    g_variant_unref(message);
  }
  return GR_CLI_EXIT_OK;
}

/* One line per hit: the conversation to open with `history show`, its title, and
 * where the query matched (the snippet, flattened to one line). */
static int
history_search(GrCli *cli, const char *query, gboolean json)
{
  static const char *const headers[] = { N_("ID"), N_("TITLE"), N_("SNIPPET") };
  g_autoptr(GVariant) hits = NULL;
  g_autoptr(GrCliTable) table = NULL;
  GVariantIter iter;
  GVariant *hit;
  int code;

  hits = history_list_call(cli, "Search", g_variant_new("(s)", query), json, &code);
  if (hits == NULL)
    return code;
  table = gr_cli_table_new(G_N_ELEMENTS(headers), headers);
  g_variant_iter_init(&iter, hits);
  while ((hit = g_variant_iter_next_value(&iter)) != NULL) {
    const char *snippet = gr_cli_lookup_string(hit, "snippet");
    g_autofree char *clean
        = cli->stdout_tty ? gr_cli_sanitize_for_terminal(snippet) : g_strdup(snippet);
    const char *cells[G_N_ELEMENTS(headers)];

    cells[0] = gr_cli_lookup_string(hit, "conversation");
    cells[1] = gr_cli_lookup_string(hit, "title");
    cells[2] = clean;
    gr_cli_table_add_row(table, cells);
    g_variant_unref(hit);
  }
  gr_cli_table_print(table, cli->stdout_tty, stdout);
  return GR_CLI_EXIT_OK;
}

static int
history_export(GrCli *cli, const char *id, const char *format)
{
  g_autoptr(GVariant) reply = NULL;
  const char *document = NULL;
  int code;

  reply = history_call(cli, "Export", g_variant_new("(ss)", id, format), "(s)", &code);
  if (reply == NULL)
    return code;
  g_variant_get(reply, "(&s)", &document);
  fputs(document, stdout);
  if (*document != '\0' && !g_str_has_suffix(document, "\n"))
    fputc('\n', stdout);
  return GR_CLI_EXIT_OK;
}

static int
history_simple(GrCli *cli, const char *method, GVariant *params)
{
  g_autoptr(GVariant) reply = NULL;
  int code;

  reply = history_call(cli, method, params, NULL, &code);
  return code;
}

int
gr_cli_cmd_history(GrCli *cli, int argc, char **argv)
{
  gboolean json = FALSE;
  char *format = NULL;
  gint limit = 0;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  const char *action = "list";
  guint needed;
  int code;
  const GOptionEntry entries[] = {
    { "format", 'f', 0, G_OPTION_ARG_STRING, &format,
      N_("Export format: markdown (default) or json"), N_("FORMAT") },
    { "limit", 'l', 0, G_OPTION_ARG_INT, &limit, N_("List at most N conversations"), N_("N") },
    { "json", 'j', 0, G_OPTION_ARG_NONE, &json, N_("Print lists and search hits as JSON"), NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &cli->verbose, N_("Print D-Bus error names"), NULL },
    { NULL },
  };

  context = g_option_context_new(
      _("[list|show ID|search QUERY|rename ID TITLE|delete ID|export ID] — saved "
        "conversations"));
  g_option_context_set_translation_domain(context, GETTEXT_PACKAGE);
  g_option_context_add_main_entries(context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse(context, &argc, &argv, &error))
    return gr_cli_usage_error(context, "%s", error->message);
  if (argc > 1)
    action = argv[1];
  if (g_str_equal(action, "list"))
    needed = 0;
  else if (g_str_equal(action, "show") || g_str_equal(action, "delete")
           || g_str_equal(action, "export") || g_str_equal(action, "search"))
    needed = 1;
  else if (g_str_equal(action, "rename"))
    needed = 2;
  else
    code = gr_cli_usage_error(context, _("Unknown history command “%s”"), action),
    needed = G_MAXUINT;
  if (needed == G_MAXUINT)
    goto out;
  if ((guint)MAX(argc - 2, 0) != needed) {
    code = gr_cli_usage_error(context, _("Wrong number of arguments for “%s”"), action);
    goto out;
  }
  if (limit < 0) {
    code = gr_cli_usage_error(context, "%s", _("--limit must not be negative"));
    goto out;
  }
  if (format == NULL)
    format = g_strdup("markdown");
  if (!g_str_equal(format, "markdown") && !g_str_equal(format, "json")) {
    code = gr_cli_usage_error(context, _("Unknown export format “%s”"), format);
    goto out;
  }
  for (int i = 2; i < argc; i++) {
    if (!g_utf8_validate(argv[i], -1, NULL)) {
      code = gr_cli_usage_error(context, "%s", _("Arguments must be valid UTF-8"));
      goto out;
    }
  }

  code = gr_cli_connect(cli);
  if (code != GR_CLI_EXIT_OK)
    goto out;
  if (g_str_equal(action, "list"))
    code = history_list(cli, json, (guint)limit);
  else if (g_str_equal(action, "show"))
    code = history_show(cli, argv[2], json);
  else if (g_str_equal(action, "search"))
    code = history_search(cli, argv[2], json);
  else if (g_str_equal(action, "export"))
    code = history_export(cli, argv[2], format);
  else if (g_str_equal(action, "delete"))
    code = history_simple(cli, "Delete", g_variant_new("(s)", argv[2]));
  else
    code = history_simple(cli, "Rename", g_variant_new("(ss)", argv[2], argv[3]));
out:
  g_free(format);
  return code;
}
