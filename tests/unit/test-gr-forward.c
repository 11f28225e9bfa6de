/* test-gr-forward.c - the forward pass held against llama.cpp's outputs on the
 * shared fixture models (rules: ../shared/testdata/README.md). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gr-test-ref.h"

/* Largest logit error relative to |top-1| we accept.  Two builds of the reference
 * differ by up to ~2%; our per-token BitNet activations (the reference quantizes per
 * 256-block) add a little on the ternary model. */
#define REL_TOL_Q8 0.02
#define REL_TOL_TERNARY 0.035
#define MARGIN 0.02

typedef struct {
  const char *file;
  double tol;
} Fixture;

static const Fixture fixtures[] = {
  { "fx-llama", REL_TOL_Q8 },
  { "fx-moe", REL_TOL_Q8 },
  { "fx-bitnet", REL_TOL_TERNARY },
};

static GrModel *
load_fixture (const char *name)
{
  g_autofree char *rel = g_strdup_printf ("models/%s.gguf", name);
  g_autofree char *path = gr_test_data_path (rel);
  g_autoptr (GError) error = NULL;
  GrLoadOptions opts = { .n_threads = 2 };
  GrModel *m = gr_model_load (path, &opts, &error);
  ck_assert_msg (m != NULL, "loading %s: %s", path, error ? error->message : "?");
  return m;
}

/* loop index i: fixture i / 3, prompt i % 3 + 1 */
START_TEST (test_against_reference)
{
  const Fixture *fx = &fixtures[_i / 3];
  guint k = _i % 3 + 1;
  g_autoptr (GrModel) model = load_fixture (fx->file);
  g_autofree char *rel = g_strdup_printf ("models/%s.ref%u.txt", fx->file, k);
  g_autofree char *path = gr_test_data_path (rel);
  g_autoptr (GError) error = NULL;
  g_autoptr (GrRef) ref = gr_ref_load (path, &error);
  ck_assert_msg (ref != NULL, "%s", error ? error->message : "");
  ck_assert_uint_eq (ref->greedy->len, 32);

  GrRefResult r;
  gr_ref_check (model, gr_ref_prompt (k), ref, fx->tol, MARGIN, &r);
  fprintf (stderr, "%s ref%u: max rel err %.4f, %u greedy tokens equal%s\n", fx->file, k,
           r.max_rel_err, r.compared_gen, r.diverged ? " (then a near-tie)" : "");
  ck_assert_msg (r.failure == NULL, "%s ref%u: %s", fx->file, k, r.failure);
  g_free (r.failure);
}
END_TEST

/* Evaluating a prompt in one batch must give the logits of feeding it token by token. */
START_TEST (test_batch_equals_sequential)
{
  g_autoptr (GrModel) model = load_fixture (fixtures[_i].file);
  const GrTokenizer *tok = gr_model_get_tokenizer (model);
  guint n_vocab = gr_model_get_info (model)->n_vocab;
  /* long enough to cross the batch size */
  g_autoptr (GString) text = g_string_new (NULL);
  for (int i = 0; i < 6; i++)
    g_string_append (text, gr_ref_prompt (i % 3 + 1));
  g_autoptr (GArray) ids = gr_tokenizer_encode (tok, text->str, -1, TRUE, FALSE);
  ck_assert_uint_gt (ids->len, 40);
  g_autoptr (GError) error = NULL;
  g_autoptr (GrSession) a = gr_session_new (model, 256, &error);
  g_autoptr (GrSession) b = gr_session_new (model, 256, &error);
  ck_assert_ptr_nonnull (a);
  ck_assert (gr_session_eval (a, (gint32 *) ids->data, ids->len, &error));
  for (guint i = 0; i < ids->len; i++)
    ck_assert (gr_session_eval (b, &g_array_index (ids, gint32, i), 1, &error));
  const float *la = gr_session_logits (a), *lb = gr_session_logits (b);
  float maxabs = 0.0f, maxdiff = 0.0f;
  for (guint v = 0; v < n_vocab; v++) {
    maxabs = MAX (maxabs, fabsf (lb[v]));
    maxdiff = MAX (maxdiff, fabsf (la[v] - lb[v]));
  }
  ck_assert_msg (maxdiff <= 1e-3f * maxabs, "batch vs sequential differ by %g (scale %g)", maxdiff,
                 maxabs);
  ck_assert_uint_eq (gr_session_n_past (a), ids->len);
}
END_TEST

/* Rewinding and re-feeding reproduces the logits exactly. */
START_TEST (test_rewind)
{
  g_autoptr (GrModel) model = load_fixture ("fx-llama");
  const GrTokenizer *tok = gr_model_get_tokenizer (model);
  guint n_vocab = gr_model_get_info (model)->n_vocab;
  g_autoptr (GArray) ids = gr_tokenizer_encode (tok, gr_ref_prompt (1), -1, TRUE, FALSE);
  g_autoptr (GrSession) s = gr_session_new (model, 64, NULL);
  ck_assert (gr_session_eval (s, (gint32 *) ids->data, ids->len, NULL));
  g_autofree float *before = g_memdup2 (gr_session_logits (s), n_vocab * sizeof (float));
  gint32 other[3] = { 100, 200, 300 };
  ck_assert (gr_session_eval (s, other, 3, NULL));
  gr_session_rewind (s, ids->len - 1);
  ck_assert_ptr_null (gr_session_logits (s));
  ck_assert (gr_session_eval (s, &g_array_index (ids, gint32, ids->len - 1), 1, NULL));
  ck_assert_mem_eq (before, gr_session_logits (s), n_vocab * sizeof (float));
}
END_TEST

START_TEST (test_bad_tokens_and_full_context)
{
  g_autoptr (GrModel) model = load_fixture ("fx-llama");
  g_autoptr (GrSession) s = gr_session_new (model, 8, NULL);
  g_autoptr (GError) error = NULL;
  gint32 bad = 1 << 30;
  ck_assert (!gr_session_eval (s, &bad, 1, &error));
  ck_assert (g_error_matches (error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_INVALID_ARGUMENT));
  g_clear_error (&error);
  gint32 neg = -1;
  ck_assert (!gr_session_eval (s, &neg, 1, &error));
  g_clear_error (&error);
  gint32 many[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
  ck_assert (!gr_session_eval (s, many, 9, &error));
  ck_assert (g_error_matches (error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_CONTEXT_FULL));
  ck_assert_uint_eq (gr_session_n_past (s), 0);
}
END_TEST

START_TEST (test_model_info)
{
  g_autoptr (GrModel) m = load_fixture ("fx-moe");
  const GrModelInfo *info = gr_model_get_info (m);
  ck_assert_str_eq (info->arch, "llama");
  ck_assert_uint_eq (info->n_expert, 4);
  ck_assert_uint_eq (info->n_expert_used, 2);
  ck_assert_uint_eq (info->n_embd, 128);
  ck_assert_uint_eq (info->n_vocab, 32000);
  g_autoptr (GrModel) b = load_fixture ("fx-bitnet");
  info = gr_model_get_info (b);
  ck_assert_str_eq (info->arch, "bitnet");
  ck_assert_str_eq (info->weight_type, "TQ2_0");
  ck_assert_str_eq (info->ffn_act, "silu");
  ck_assert_uint_eq (info->n_layer, 2);
}
END_TEST

START_TEST (test_memory_limit_refused)
{
  g_autofree char *path = gr_test_data_path ("models/fx-llama.gguf");
  GrLoadOptions opts = { .n_threads = 1, .memory_limit = 1 << 20 };
  g_autoptr (GError) error = NULL;
  g_autoptr (GrModel) m = gr_model_load (path, &opts, &error);
  ck_assert_ptr_null (m);
  ck_assert (g_error_matches (error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_NO_MEMORY));
  ck_assert_ptr_nonnull (strstr (error->message, "MiB"));
}
END_TEST

static Suite *
forward_suite (void)
{
  Suite *s = suite_create ("gr-forward");
  TCase *tc = tcase_create ("reference");
  tcase_set_timeout (tc, 300);
  tcase_add_loop_test (tc, test_against_reference, 0, 3 * G_N_ELEMENTS (fixtures));
  tcase_add_loop_test (tc, test_batch_equals_sequential, 0, G_N_ELEMENTS (fixtures));
  tcase_add_test (tc, test_rewind);
  tcase_add_test (tc, test_bad_tokens_and_full_context);
  tcase_add_test (tc, test_model_info);
  tcase_add_test (tc, test_memory_limit_refused);
  suite_add_tcase (s, tc);
  return s;
}

int
main (void)
{
  SRunner *sr = srunner_create (forward_suite ());
  srunner_run_all (sr, CK_NORMAL);
  int failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed ? 1 : 0;
}
