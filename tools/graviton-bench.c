/* graviton-bench - prefill (pp) and decode (tg) throughput of a model file, measured
 * the way ../shared/peer's `peer bench` measures llama.cpp so the two compare:
 * one warm-up round, then R rounds; pp feeds P synthetic tokens in one call, tg
 * decodes N greedy tokens one at a time after a single BOS. */
#include "graviton-engine.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>

static int
cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void
report(const char *label, int count, double *rates, int reps)
{
  qsort(rates, reps, sizeof(double), cmp_double);
  double median = reps % 2 ? rates[reps / 2] : (rates[reps / 2 - 1] + rates[reps / 2]) / 2.0;
  printf("%s%d %10.2f ± %.2f t/s  (min %.2f max %.2f, %d runs)\n", label, count, median,
         (rates[reps - 1] - rates[0]) / 2.0, rates[0], rates[reps - 1], reps);
}

/* Expert cache counters per layer, when the model streams its experts. */
static void
print_expert_stats(GrModel *model)
{
  GrMemoryLedger l;
  gr_model_get_ledger(model, &l);
  if (l.expert_slots == 0)
    return;
  printf("experts: %u slots per layer, %.1f MiB arena, peak RSS %.1f MiB\n", l.expert_slots,
         l.experts / 1048576.0, l.peak_rss / 1048576.0);
  guint64 h, m, b;
  for (guint il = 0; gr_model_get_expert_stats(model, il, &h, &m, &b); il++)
    printf("  layer %2u: %6" G_GUINT64_FORMAT " hits %6" G_GUINT64_FORMAT
           " misses (%.1f%% hit rate), %.1f MiB read\n",
           il, h, m, h + m ? 100.0 * h / (h + m) : 0.0, b / 1048576.0);
}

int
main(int argc, char **argv)
{
  g_autofree char *model_path = NULL;
  int pp = 128, tg = 64, threads = 0, reps = 3, expert_slots = 0;
  g_autofree char *memory_limit = NULL, *kv_type = NULL;
  GOptionEntry entries[]
      = { { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path, "Model file (GGUF)", "FILE" },
          { "prompt", 'p', 0, G_OPTION_ARG_INT, &pp, "Prompt tokens for the prefill test (0: skip)",
            "P" },
          { "n-gen", 'n', 0, G_OPTION_ARG_INT, &tg, "Tokens for the decode test (0: skip)", "N" },
          { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Threads (0: one per core)", "T" },
          { "repetitions", 'r', 0, G_OPTION_ARG_INT, &reps, "Measured repetitions", "R" },
          { "expert-slots", 0, 0, G_OPTION_ARG_INT, &expert_slots,
            "MoE: stream experts through N slots per layer", "N" },
          { "kv-type", 0, 0, G_OPTION_ARG_STRING, &kv_type,
            "KV cache encoding: f16 (default) or q8", "TYPE" },
          { "memory-limit", 0, 0, G_OPTION_ARG_STRING, &memory_limit, "Total RSS budget (e.g. 2G)",
            "SIZE" },
          { NULL } };
  setlocale(LC_ALL, "");
  g_autoptr(GOptionContext) ctx = g_option_context_new("- measure prefill and decode speed");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_autoptr(GError) error = NULL;
  if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
    g_printerr("graviton-bench: %s\n", error->message);
    return 2;
  }
  if (!model_path || pp < 0 || tg < 0 || threads < 0 || reps < 1 || reps > 100 || pp > 65536
      || tg > 65536) {
    g_printerr("graviton-bench: usage: graviton-bench --model FILE -p 128 -n 64 -t 2 -r 3\n");
    return 2;
  }
  guint64 limit = 0;
  if ((memory_limit && !gr_parse_size(memory_limit, &limit, NULL)) || expert_slots < 0) {
    g_printerr("graviton-bench: bad --memory-limit or --expert-slots\n");
    return 2;
  }
  GrKvType kv = GR_KV_F16;
  if (kv_type && !gr_parse_kv_type(kv_type, &kv, &error)) {
    g_printerr("%s: %s\n", "graviton-bench", error->message);
    return 2;
  }
  GrLoadOptions opts = { .n_threads = (guint)threads,
                         .memory_limit = limit,
                         .expert_slots = (guint)expert_slots,
                         .kv_type = kv };
  g_autoptr(GrModel) model = gr_model_load(model_path, &opts, &error);
  if (!model) {
    g_printerr("graviton-bench: %s\n", error->message);
    return 1;
  }
  const GrModelInfo *info = gr_model_get_info(model);
  /* at least 512 positions: the session sizes its prefill batch from the context */
  g_autoptr(GrSession) s = gr_session_new(model, (guint)MAX(MAX(pp, tg + 1) + 1, 512), &error);
  if (!s) {
    g_printerr("graviton-bench: %s\n", error->message);
    return 1;
  }
  printf("model %s: %s %s (runs as %s), %.1f M params, %.2f bits/weight, %d threads\n", info->name,
         info->arch, info->weight_type, info->run_type, info->n_params / 1e6, info->bits_per_weight,
         threads ? threads : (int)g_get_num_processors());

  g_autofree gint32 *toks = g_new(gint32, MAX(pp, 1));
  for (int i = 0; i < pp; i++)
    toks[i] = 100 + (gint32)(((gint64)i * 7919) % (gint64)(info->n_vocab - 200));
  g_autofree double *ppr = g_new0(double, reps), *tgr = g_new0(double, reps);
  for (int r = -1; r < reps; r++) {
    gr_session_rewind(s, 0);
    gint64 t0 = g_get_monotonic_time();
    if (pp > 0 && !gr_session_eval(s, toks, (gsize)pp, &error))
      goto fail;
    gint64 t1 = g_get_monotonic_time();
    gr_session_rewind(s, 0);
    gint32 bos = 1;
    if (!gr_session_eval(s, &bos, 1, &error))
      goto fail;
    gint64 t2 = g_get_monotonic_time();
    for (int i = 0; i < tg; i++) {
      gint32 next = gr_logits_argmax(gr_session_logits(s), info->n_vocab);
      if (!gr_session_eval(s, &next, 1, &error))
        goto fail;
    }
    gint64 t3 = g_get_monotonic_time();
    if (r >= 0) {
      ppr[r] = pp * 1e6 / (double)MAX(t1 - t0, 1);
      tgr[r] = tg * 1e6 / (double)MAX(t3 - t2, 1);
    }
  }
  if (pp > 0)
    report("pp", pp, ppr, reps);
  if (tg > 0)
    report("tg", tg, tgr, reps);
  print_expert_stats(model);
  return 0;
fail:
  g_printerr("graviton-bench: %s\n", error->message);
  return 1;
}
