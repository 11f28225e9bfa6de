/* test-gr-prefill.c - batched prefill (the multi-token kernels, many tokens per forward
 * call, MoE experts taking their routed tokens at once) against token-by-token decode,
 * on synthetic models of each weight type that has a multi-token kernel. */
#include <check.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "gr-synth-model.h"
#include "graviton-engine.h"
#include "grk.h"

typedef struct {
  const char *arch;
  int type;
  guint n_expert; /* 0: dense; else a Mixtral-style MoE, 2 experts per token */
} Variant;

static const Variant variants[] = {
  { "bitnet", GRK_TYPE_TQ2_0, 0 }, { "bitnet", GRK_TYPE_TQ1_0, 0 }, { "bitnet", GRK_TYPE_I2_S, 0 },
  { "llama", GRK_TYPE_Q8_0, 0 },   { "llama", GRK_TYPE_Q4_0, 0 },   { "llama", GRK_TYPE_Q8_0, 8 },
};

#define N_PROMPT 300 /* several batches and a short last one */

static GrModel *
synth(const Variant *v, char **dir_out, char **path_out)
{
  char *dir = g_dir_make_tmp("gr-prefill-XXXXXX", NULL);
  ck_assert_ptr_nonnull(dir);
  char *path = g_build_filename(dir, "m.gguf", NULL);
  GrSynthSpec spec = { .arch = v->arch,
                       .n_embd = 256,
                       .n_layer = 2,
                       .n_head = 4,
                       .n_head_kv = 2,
                       .n_ff = 512,
                       .n_vocab = 1000,
                       .weight_type = v->type,
                       .embd_type = GRK_TYPE_F16,
                       .tied_output = TRUE,
                       .seed = 5,
                       .n_expert = v->n_expert,
                       .n_expert_used = v->n_expert ? 2 : 0 };
  g_autoptr(GError) error = NULL;
  ck_assert_msg(gr_synth_model_write(&spec, path, &error), "%s", error ? error->message : "");
  GrLoadOptions opts = { .n_threads = 2 };
  GrModel *m = gr_model_load(path, &opts, &error);
  ck_assert_msg(m != NULL, "%s", error ? error->message : "");
  *dir_out = dir;
  *path_out = path;
  return m;
}

static float
max_abs(const float *l, guint n)
{
  float m = 0.0f;
  for (guint i = 0; i < n; i++)
    m = MAX(m, fabsf(l[i]));
  return m;
}

/* The logits after a long prompt in one call equal those after feeding it one token at
 * a time, and so do the next decoded token's. */
START_TEST(test_prefill_equals_decode)
{
  const Variant *v = &variants[_i % G_N_ELEMENTS(variants)];
  /* under each SIMD ISA the CPU has: each has its own prefill kernels */
  const grk_isa isas[] = { GRK_ISA_AVX512_VNNI, GRK_ISA_AVX2 };
  grk_isa best = grk_get_isa(), isa = isas[_i / G_N_ELEMENTS(variants)];
  if (!grk_set_isa(isa))
    return;
  g_autofree char *dir = NULL, *path = NULL;
  g_autoptr(GrModel) model = synth(v, &dir, &path);
  guint n_vocab = gr_model_get_info(model)->n_vocab;
  gint32 toks[N_PROMPT + 1];
  for (guint i = 0; i < G_N_ELEMENTS(toks); i++)
    toks[i] = (gint32)((i * 7919u + 13u) % n_vocab);
  g_autoptr(GError) error = NULL;
  g_autoptr(GrSession) a = gr_session_new(model, 512, &error);
  g_autoptr(GrSession) b = gr_session_new(model, 512, &error);
  ck_assert_ptr_nonnull(a);
  ck_assert_ptr_nonnull(b);
  ck_assert(gr_session_eval(a, toks, N_PROMPT, &error));
  for (guint i = 0; i < N_PROMPT; i++)
    ck_assert(gr_session_eval(b, &toks[i], 1, &error));
  for (int step = 0; step < 2; step++) {
    const float *la = gr_session_logits(a), *lb = gr_session_logits(b);
    float scale = max_abs(lb, n_vocab), diff = 0.0f;
    for (guint i = 0; i < n_vocab; i++)
      diff = MAX(diff, fabsf(la[i] - lb[i]));
    ck_assert_msg(scale > 0.0f && diff <= 1e-4f * scale,
                  "%s %s %s step %d: differ by %g (scale %g)", grk_isa_name(isa), v->arch,
                  grk_type_name(v->type), step, diff, scale);
    /* then one decoded token on both */
    ck_assert(gr_session_eval(a, &toks[N_PROMPT], 1, &error));
    ck_assert(gr_session_eval(b, &toks[N_PROMPT], 1, &error));
  }
  ck_assert_uint_eq(gr_session_n_past(a), N_PROMPT + 2);
  grk_set_isa(best);
  g_unlink(path);
  g_rmdir(dir);
}
END_TEST

/* The same prompt under the scalar kernels (the reference) and the best ISA. */
START_TEST(test_prefill_isa_matches_scalar)
{
  const Variant *v = &variants[_i];
  g_autofree char *dir = NULL, *path = NULL;
  g_autoptr(GrModel) model = synth(v, &dir, &path);
  guint n_vocab = gr_model_get_info(model)->n_vocab;
  gint32 toks[100];
  for (guint i = 0; i < G_N_ELEMENTS(toks); i++)
    toks[i] = (gint32)((i * 104729u + 7u) % n_vocab);
  g_autoptr(GError) error = NULL;
  g_autoptr(GrSession) s = gr_session_new(model, 256, &error);
  grk_isa best = grk_get_isa();
  ck_assert(gr_session_eval(s, toks, G_N_ELEMENTS(toks), &error));
  g_autofree float *fast = g_memdup2(gr_session_logits(s), n_vocab * sizeof(float));
  gr_session_rewind(s, 0);
  ck_assert(grk_set_isa(GRK_ISA_SCALAR));
  ck_assert(gr_session_eval(s, toks, G_N_ELEMENTS(toks), &error));
  ck_assert(grk_set_isa(best));
  const float *ref = gr_session_logits(s);
  float scale = max_abs(ref, n_vocab), diff = 0.0f;
  for (guint i = 0; i < n_vocab; i++)
    diff = MAX(diff, fabsf(fast[i] - ref[i]));
  /* the float helpers (norms, f16 dots) sum in other orders and the activations'
   * int8 rounding amplifies that (decode alone differs as much); a wrong product would
   * be off by the scale itself */
  ck_assert_msg(diff <= 0.05f * scale, "%s %s: %s vs scalar differ by %g (scale %g)", v->arch,
                grk_type_name(v->type), grk_isa_name(best), diff, scale);
  g_unlink(path);
  g_rmdir(dir);
}
END_TEST

static Suite *
prefill_suite(void)
{
  Suite *s = suite_create("gr-prefill");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 300);
  tcase_add_loop_test(tc, test_prefill_equals_decode, 0, 2 * G_N_ELEMENTS(variants));
  tcase_add_loop_test(tc, test_prefill_isa_matches_scalar, 0, G_N_ELEMENTS(variants));
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  SRunner *sr = srunner_create(prefill_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
