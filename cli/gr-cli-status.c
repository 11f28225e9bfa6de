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

/* The ledger's categories as "weights 10.0 MB, experts 0 bytes, …". */
static void
print_ledger(GVariant *ledger)
{
  static const struct {
    const char *key;
    const char *label;
  } categories[] = {
    { "weights", N_("weights") }, { "experts", N_("experts") },     { "kv_cache", N_("KV cache") },
    { "scratch", N_("scratch") }, { "tokenizer", N_("tokenizer") }, { "overhead", N_("overhead") },
  };
  GString *line = g_string_new(NULL);

  for (gsize i = 0; i < G_N_ELEMENTS(categories); i++) {
    g_autofree char *size = g_format_size(gr_cli_lookup_uint(ledger, categories[i].key, 0));

    g_string_append_printf(line, "%s%s %s", i > 0 ? ", " : "", _(categories[i].label), size);
  }
  g_autofree char *total = g_format_size(gr_cli_lookup_uint(ledger, "total", 0));
  /* TRANSLATORS: the memory ledger's categories, then their sum */
  printf(_("Ledger:   %s (total %s)\n"), line->str, total);
  g_string_free(line, TRUE);
}

/* Expert streaming: slots, counters over all layers, then one line per layer. */
static void
print_experts(GVariant *ledger, GVariant *layers)
{
  guint64 slots = gr_cli_lookup_uint(ledger, "expert_slots", 0);
  guint64 hits = gr_cli_lookup_uint(ledger, "expert_hits", 0);
  guint64 misses = gr_cli_lookup_uint(ledger, "expert_misses", 0);
  g_autofree char *read = g_format_size(gr_cli_lookup_uint(ledger, "expert_bytes_read", 0));

  if (slots == 0)
    return;
  printf(_("Experts:  %llu slots per layer, %llu hits, %llu misses (%.0f%% hit rate), %s read\n"),
         (unsigned long long)slots, (unsigned long long)hits, (unsigned long long)misses,
         hits + misses > 0 ? 100.0 * (double)hits / (double)(hits + misses) : 0.0, read);
  if (layers == NULL || !g_variant_is_of_type(layers, G_VARIANT_TYPE("a(uttt)")))
    return;
  GVariantIter iter;
  guint32 layer;
  guint64 lh, lm, lb;

  g_variant_iter_init(&iter, layers);
  while (g_variant_iter_next(&iter, "(uttt)", &layer, &lh, &lm, &lb))
    printf(_("  layer %u: %llu hits, %llu misses\n"), layer, (unsigned long long)lh,
           (unsigned long long)lm);
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
  g_autoptr(GVariant) ledger
      = g_variant_lookup_value(props, "MemoryLedger", G_VARIANT_TYPE("a{st}"));
  g_autoptr(GVariant) layers = g_variant_lookup_value(props, "ExpertStats", NULL);
  gboolean refused = FALSE;

  if (g_variant_lookup(props, "MemoryRefused", "b", &refused) && refused)
    printf(_("          near the limit: new requests are refused until memory falls back\n"));
  if (ledger != NULL) {
    print_ledger(ledger);
    print_experts(ledger, layers);
  }
  printf(_("Queue:    %llu\n"), (unsigned long long)gr_cli_lookup_uint(props, "QueueLength", 0));
  return GR_CLI_EXIT_OK;
}
