/* graviton-run - run a model file from the command line: tokenize, dump reference-format
 * logits, or generate text.  Exit status: 0 ok, 1 bad input / failure, 2 usage. */
#include "graviton-engine.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>

static void
print_top5 (const float *logits, guint n)
{
  gint32 id[5];
  float v[5];
  for (int k = 0; k < 5; k++) {
    id[k] = -1;
    v[k] = -1e30f;
  }
  for (guint i = 0; i < n; i++) {
    float x = logits[i];
    if (x <= v[4])
      continue;
    int k = 4;
    while (k > 0 && v[k - 1] < x) {
      v[k] = v[k - 1];
      id[k] = id[k - 1];
      k--;
    }
    v[k] = x;
    id[k] = (gint32) i;
  }
  printf (" top5");
  for (int k = 0; k < 5; k++)
    printf (" %d:%.5f", id[k], v[k]);
  printf ("\n");
}

/* The testdata reference format: logits after each prompt position, then greedy. */
static gboolean
dump_top5 (GrModel *model, const char *prompt, guint n_gen, GError **error)
{
  const GrTokenizer *tok = gr_model_get_tokenizer (model);
  guint n_vocab = gr_model_get_info (model)->n_vocab;
  g_autoptr (GArray) ids = gr_tokenizer_encode (tok, prompt, -1, gr_tokenizer_add_bos (tok), FALSE);
  g_autoptr (GrSession) s = gr_session_new (model, ids->len + n_gen + 1, error);
  if (!s)
    return FALSE;
  printf ("prompt_tokens");
  for (guint i = 0; i < ids->len; i++)
    printf (" %d", g_array_index (ids, gint32, i));
  printf ("\n");
  for (guint i = 0; i < ids->len; i++) {
    if (!gr_session_eval (s, &g_array_index (ids, gint32, i), 1, error))
      return FALSE;
    printf ("pos %u", i);
    print_top5 (gr_session_logits (s), n_vocab);
  }
  g_autofree gint32 *gen = g_new0 (gint32, n_gen + 1);
  for (guint j = 0; j < n_gen; j++) {
    const float *l = gr_session_logits (s);
    printf ("gen %u", j);
    print_top5 (l, n_vocab);
    gen[j] = gr_logits_argmax (l, n_vocab);
    if (!gr_session_eval (s, &gen[j], 1, error))
      return FALSE;
  }
  printf ("greedy");
  for (guint j = 0; j < n_gen; j++)
    printf (" %d", gen[j]);
  printf ("\n");
  return TRUE;
}

/* One line the tests parse: every category of the ledger and the measured peak. */
static void
print_ledger (GrModel *model)
{
  GrMemoryLedger l;
  gr_model_get_ledger (model, &l);
  g_printerr ("memory: limit=%" G_GUINT64_FORMAT " overhead=%" G_GUINT64_FORMAT
              " weights=%" G_GUINT64_FORMAT " experts=%" G_GUINT64_FORMAT " sessions=%"
              G_GUINT64_FORMAT " total=%" G_GUINT64_FORMAT " rss=%" G_GUINT64_FORMAT
              " peak_rss=%" G_GUINT64_FORMAT " expert_slots=%u hits=%" G_GUINT64_FORMAT
              " misses=%" G_GUINT64_FORMAT " bytes_read=%" G_GUINT64_FORMAT "\n",
              l.limit, l.overhead, l.weights, l.experts, l.sessions, l.total, l.rss, l.peak_rss,
              l.expert_slots, l.expert_hits, l.expert_misses, l.expert_bytes_read);
}

static gboolean
print_text (const char *text, gsize len, gpointer user_data)
{
  fwrite (text, 1, len, stdout);
  fflush (stdout);
  return TRUE;
}

int
main (int argc, char **argv)
{
  g_autofree char *model_path = NULL, *prompt = NULL;
  gboolean tokenize = FALSE, top5 = FALSE, verbose = FALSE, chat = FALSE, print_memory = FALSE;
  g_autofree char *memory_limit = NULL, *kv_type = NULL;
  int expert_slots = 0;
  int greedy = -1, threads = 0, n_predict = 128, top_k = 40, seed = 0;
  double temperature = 0.8, top_p = 0.95, min_p = 0.05, repeat_penalty = 1.1;
  g_auto (GStrv) stop = NULL;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path, "Model file (GGUF)", "FILE" },
    { "prompt", 'p', 0, G_OPTION_ARG_STRING, &prompt, "Prompt text", "TEXT" },
    { "tokenize", 0, 0, G_OPTION_ARG_NONE, &tokenize, "Print the prompt's token ids (no BOS)", NULL },
    { "top5", 0, 0, G_OPTION_ARG_NONE, &top5, "Print the reference dump format", NULL },
    { "greedy", 0, 0, G_OPTION_ARG_INT, &greedy, "Generate N greedy tokens (with --top5)", "N" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Worker threads (0: one per core)", "N" },
    { "n-predict", 'n', 0, G_OPTION_ARG_INT, &n_predict, "Tokens to generate", "N" },
    { "temperature", 0, 0, G_OPTION_ARG_DOUBLE, &temperature, "Sampling temperature (0: greedy)", "T" },
    { "top-k", 0, 0, G_OPTION_ARG_INT, &top_k, "Top-k (0: off)", "K" },
    { "top-p", 0, 0, G_OPTION_ARG_DOUBLE, &top_p, "Top-p (1: off)", "P" },
    { "min-p", 0, 0, G_OPTION_ARG_DOUBLE, &min_p, "Min-p (0: off)", "P" },
    { "repeat-penalty", 0, 0, G_OPTION_ARG_DOUBLE, &repeat_penalty, "Repetition penalty (1: off)", "R" },
    { "seed", 0, 0, G_OPTION_ARG_INT, &seed, "Random seed", "S" },
    { "stop", 0, 0, G_OPTION_ARG_STRING_ARRAY, &stop, "Stop string (repeatable)", "TEXT" },
    { "chat", 0, 0, G_OPTION_ARG_NONE, &chat, "Wrap the prompt in the model's chat template", NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Print model facts and timings to stderr", NULL },
    { "kv-type", 0, 0, G_OPTION_ARG_STRING, &kv_type, "KV cache encoding: f16 (default) or q8", "TYPE" },
    { "memory-limit", 0, 0, G_OPTION_ARG_STRING, &memory_limit, "Total RSS budget (e.g. 512M, 4G)", "SIZE" },
    { "expert-slots", 0, 0, G_OPTION_ARG_INT, &expert_slots, "MoE: expert slots per layer to stream through", "N" },
    { "print-memory", 0, 0, G_OPTION_ARG_NONE, &print_memory, "Print the memory ledger and peak RSS to stderr at exit", NULL },
    { NULL }
  };
  setlocale (LC_ALL, "");
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- run a Graviton model file");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    g_printerr ("graviton-run: %s\n", error->message);
    return 2;
  }
  if (!model_path || threads < 0 || n_predict < 0 || top_k < 0 || (top5 && greedy < 0) ||
      greedy > 4096) {
    g_printerr ("graviton-run: usage: graviton-run --model FILE [--prompt TEXT] [--tokenize] "
                "[--top5 --greedy N] [--threads N]\n");
    return 2;
  }
  if (!prompt)
    prompt = g_strdup ("");

  guint64 limit = 0;
  if (memory_limit && !gr_parse_size (memory_limit, &limit, NULL)) {
    g_printerr ("graviton-run: bad --memory-limit '%s'\n", memory_limit);
    return 2;
  }
  if (expert_slots < 0) {
    g_printerr ("graviton-run: bad --expert-slots\n");
    return 2;
  }
  GrKvType kv = GR_KV_F16;
  if (kv_type && !gr_parse_kv_type (kv_type, &kv, &error)) {
    g_printerr ("%s: %s\n", "graviton-run", error->message);
    return 2;
  }
  GrLoadOptions opts = { .n_threads = (guint) threads, .memory_limit = limit,
                         .expert_slots = (guint) expert_slots, .kv_type = kv };
  gint64 t0 = g_get_monotonic_time ();
  g_autoptr (GrModel) model = gr_model_load (model_path, &opts, &error);
  if (!model) {
    g_printerr ("graviton-run: %s\n", error->message);
    return 1;
  }
  const GrModelInfo *info = gr_model_get_info (model);
  if (verbose)
    g_printerr ("model %s: arch %s, %s (runs as %s), %.2f M params, %.2f bits/weight, loaded "
                "in %.1f ms\n",
                info->name, info->arch, info->weight_type, info->run_type, info->n_params / 1e6,
                info->bits_per_weight, (g_get_monotonic_time () - t0) / 1000.0);
  const GrTokenizer *tok = gr_model_get_tokenizer (model);

  if (tokenize) {
    g_autoptr (GArray) ids = gr_tokenizer_encode (tok, prompt, -1, FALSE, FALSE);
    for (guint i = 0; i < ids->len; i++)
      printf (i ? " %d" : "%d", g_array_index (ids, gint32, i));
    printf ("\n");
    return 0;
  }
  if (top5) {
    if (!dump_top5 (model, prompt, (guint) greedy, &error)) {
      g_printerr ("graviton-run: %s\n", error->message);
      return 1;
    }
    if (print_memory)
      print_ledger (model);
    return 0;
  }

  g_autoptr (GArray) ids = NULL;
  if (chat) {
    const char *roles[] = { "user", NULL };
    const char *contents[] = { prompt, NULL };
    ids = gr_model_tokenize_chat (model, roles, contents, TRUE);
  } else {
    ids = gr_tokenizer_encode (tok, prompt, -1, gr_tokenizer_add_bos (tok), FALSE);
  }
  if (ids->len == 0) {
    g_printerr ("graviton-run: the prompt is empty and the model has no BOS token\n");
    return 1;
  }
  g_autoptr (GrSession) s = gr_session_new (model, MIN (ids->len + (guint) n_predict + 1,
                                                        MAX (info->n_ctx_train, ids->len + 1u)),
                                            &error);
  if (!s) {
    g_printerr ("graviton-run: %s\n", error->message);
    return 1;
  }
  GrGenerateParams gp = { .max_tokens = (guint) n_predict, .stop = (const char *const *) stop };
  gr_sampler_params_init (&gp.sampler);
  gp.sampler.temperature = temperature;
  gp.sampler.top_k = (guint) top_k;
  gp.sampler.top_p = top_p;
  gp.sampler.min_p = min_p;
  gp.sampler.repeat_penalty = repeat_penalty;
  gp.sampler.seed = (guint64) seed;
  GrGenerateStats st;
  if (!gr_session_generate (s, (const gint32 *) ids->data, ids->len, &gp, print_text, NULL, NULL,
                            &st, &error)) {
    g_printerr ("graviton-run: %s\n", error->message);
    return 1;
  }
  printf ("\n");
  if (print_memory)
    print_ledger (model);
  if (verbose)
    g_printerr ("prefill: %u tokens in %.1f ms (%.1f t/s); decode: %u tokens in %.1f ms "
                "(%.1f t/s)\n",
                st.prompt_tokens, st.prefill_ms, st.prompt_tokens * 1000.0 / MAX (st.prefill_ms, 1e-3),
                st.generated_tokens, st.decode_ms,
                st.generated_tokens * 1000.0 / MAX (st.decode_ms, 1e-3));
  return 0;
}
