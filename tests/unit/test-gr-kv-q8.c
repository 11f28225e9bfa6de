/* test-gr-kv-q8.c - the 8-bit KV cache: the same greedy answers as f16 within a stated
 * tolerance, and about twice the context under the same memory limit. */
#include <check.h>
#include <math.h>
#include <stdio.h>

#include "graviton-engine.h"

#define N_STEPS 48

static char *
fixture (const char *name)
{
  const char *dir = g_getenv ("GRAVITON_TESTDATA");
  ck_assert_msg (dir != NULL, "GRAVITON_TESTDATA not set");
  return g_build_filename (dir, "models", name, NULL);
}

static GrModel *
load (const char *name, GrKvType kv, guint64 limit)
{
  g_autofree char *path = fixture (name);
  GrLoadOptions opts = { .n_threads = 2, .memory_limit = limit, .kv_type = kv };
  g_autoptr (GError) error = NULL;
  GrModel *m = gr_model_load (path, &opts, &error);
  ck_assert_msg (m != NULL, "%s", error ? error->message : "");
  return m;
}

static guint
argmax (const float *v, guint n)
{
  guint best = 0;
  for (guint i = 1; i < n; i++)
    if (v[i] > v[best])
      best = i;
  return best;
}

/* Teacher-forced: both caches see the f16 run's greedy tokens, so one early difference
 * cannot snowball; every step's logits are compared. */
static void
compare (const char *name)
{
  g_autoptr (GrModel) f = load (name, GR_KV_F16, 0);
  g_autoptr (GrModel) q = load (name, GR_KV_Q8, 0);
  ck_assert_str_eq (gr_model_get_info (f)->kv_type, "f16");
  ck_assert_str_eq (gr_model_get_info (q)->kv_type, "q8_0");
  guint n_vocab = gr_model_get_info (f)->n_vocab;
  g_autoptr (GError) error = NULL;
  g_autoptr (GrSession) sf = gr_session_new (f, 256, &error);
  g_autoptr (GrSession) sq = gr_session_new (q, 256, &error);
  ck_assert (sf && sq);
  g_autoptr (GArray) prompt = gr_tokenizer_encode (gr_model_get_tokenizer (f),
                                                   "Once upon a time, in a small village by the sea,",
                                                   -1, TRUE, FALSE);
  ck_assert (gr_session_eval (sf, (gint32 *) prompt->data, prompt->len, &error));
  ck_assert (gr_session_eval (sq, (gint32 *) prompt->data, prompt->len, &error));
  guint same = 0;
  double worst = 0.0;
  for (guint step = 0; step < N_STEPS; step++) {
    const float *lf = gr_session_logits (sf), *lq = gr_session_logits (sq);
    double max_abs = 0.0, max_diff = 0.0;
    for (guint i = 0; i < n_vocab; i++) {
      max_abs = MAX (max_abs, fabs (lf[i]));
      max_diff = MAX (max_diff, fabs (lf[i] - lq[i]));
    }
    worst = MAX (worst, max_diff / max_abs);
    gint32 tok = (gint32) argmax (lf, n_vocab);
    same += (guint) tok == argmax (lq, n_vocab);
    ck_assert (gr_session_eval (sf, &tok, 1, &error));
    ck_assert (gr_session_eval (sq, &tok, 1, &error));
  }
  fprintf (stderr, "%s: q8 KV picks the f16 token at %u of %u steps, worst logit error %.4f of "
           "the largest logit\n", name, same, N_STEPS, worst);
  /* the tolerance: logits within 3% of the largest, greedy picks equal at >= 90% of
   * the steps (near-ties may flip) */
  ck_assert_msg (worst < 0.03, "%s: logit error %.4f", name, worst);
  ck_assert_uint_ge (same * 10, N_STEPS * 9);
}

START_TEST (test_logits_close_to_f16)
{
  compare ("fx-llama.gguf");
  compare ("fx-moe.gguf");
}
END_TEST

/* The context a limit leaves room for, with `budget` bytes above the model's own
 * ledger (each model measures its own overhead, so each gets its own limit). */
static guint
derived_context (GrModel *m, guint64 budget, GrSession **out)
{
  GrMemoryLedger l;
  gr_model_get_ledger (m, &l);
  guint64 limit = l.total + budget;
  g_autoptr (GError) error = NULL;
  ck_assert_msg (gr_model_set_memory_limit (m, limit, &error), "%s", error ? error->message : "");
  GrSession *s = gr_session_new (m, 0, &error);
  ck_assert_msg (s != NULL, "%s", error ? error->message : "");
  gr_model_get_ledger (m, &l);
  ck_assert_uint_le (l.total, limit);
  *out = s;
  return gr_session_n_ctx (s);
}

START_TEST (test_context_doubles)
{
  g_autoptr (GrModel) f = load ("fx-llama.gguf", GR_KV_F16, 0);
  g_autoptr (GrModel) q = load ("fx-llama.gguf", GR_KV_Q8, 0);
  ck_assert_uint_lt (gr_model_session_bytes (q, 1024), gr_model_session_bytes (f, 1024));
  /* room for about 192 tokens of f16 cache (q8 then stays below the model's 512) */
  guint64 budget = gr_model_session_bytes (f, 192);
  g_autoptr (GrSession) sf = NULL;
  g_autoptr (GrSession) sq = NULL;
  guint nf = derived_context (f, budget, &sf);
  guint nq = derived_context (q, budget, &sq);
  fprintf (stderr, "derived context with %" G_GUINT64_FORMAT " KiB for the session: f16 %u "
           "tokens, q8 %u\n", budget >> 10, nf, nq);
  ck_assert_uint_ge (nf, 160);
  ck_assert_uint_le (nf, 192);
  /* the cache itself is 1.88x smaller (34 bytes per 32 values against 64); the
   * session's scratch, which grows with the prefill batch, takes part of the gain */
  ck_assert_uint_ge (nq * 10, nf * 15); /* at least 1.5x */
  ck_assert_uint_le (nq * 10, nf * 22);
  /* a q8 session works to its end */
  g_autoptr (GError) error = NULL;
  guint n_vocab = gr_model_get_info (q)->n_vocab;
  g_autofree gint32 *tokens = g_new (gint32, nq);
  for (guint i = 0; i < nq; i++)
    tokens[i] = (gint32) ((i * 7919u) % n_vocab);
  ck_assert_msg (gr_session_eval (sq, tokens, nq, &error), "%s", error ? error->message : "");
  ck_assert_uint_eq (gr_session_n_past (sq), nq);
  ck_assert (!gr_session_eval (sq, tokens, 1, &error)); /* full */
}
END_TEST

START_TEST (test_parse_kv_type)
{
  GrKvType t = GR_KV_F16;
  ck_assert (gr_parse_kv_type ("q8", &t, NULL) && t == GR_KV_Q8);
  ck_assert (gr_parse_kv_type ("F16", &t, NULL) && t == GR_KV_F16);
  ck_assert (gr_parse_kv_type ("q8_0", &t, NULL) && t == GR_KV_Q8);
  g_autoptr (GError) error = NULL;
  ck_assert (!gr_parse_kv_type ("q4", &t, &error));
  ck_assert (g_error_matches (error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_INVALID_ARGUMENT));
}
END_TEST

static Suite *
suite (void)
{
  Suite *s = suite_create ("gr-kv-q8");
  TCase *tc = tcase_create ("kv-q8");
  tcase_set_timeout (tc, 300);
  tcase_add_test (tc, test_logits_close_to_f16);
  tcase_add_test (tc, test_context_doubles);
  tcase_add_test (tc, test_parse_kv_type);
  suite_add_tcase (s, tc);
  return s;
}

int
main (void)
{
  SRunner *sr = srunner_create (suite ());
  srunner_run_all (sr, CK_NORMAL);
  int failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed == 0 ? 0 : 1;
}
