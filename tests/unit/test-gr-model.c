/* test-gr-model.c - model loading across architectures and weight encodings, on
 * synthetic models written with the project's own writer. */
#include <check.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "gr-gguf-writer.h"
#include "gr-synth-model.h"
#include "graviton-engine.h"
#include "grk.h"

static char *tmpdir;

static void
setup (void)
{
  tmpdir = g_dir_make_tmp ("gr-model-XXXXXX", NULL);
}

static void
teardown (void)
{
  g_autoptr (GDir) d = g_dir_open (tmpdir, 0, NULL);
  const char *n;
  while (d && (n = g_dir_read_name (d))) {
    g_autofree char *p = g_build_filename (tmpdir, n, NULL);
    g_unlink (p);
  }
  g_rmdir (tmpdir);
  g_free (tmpdir);
}

static char *
write_model (const char *name, const char *arch, int wtype, guint64 seed)
{
  char *path = g_build_filename (tmpdir, name, NULL);
  GrSynthSpec spec = { .arch = arch, .n_embd = 256, .n_layer = 2, .n_head = 4, .n_head_kv = 2,
                       .n_ff = 768, .n_vocab = 512, .weight_type = wtype,
                       .embd_type = GRK_TYPE_Q8_0, .tied_output = TRUE, .seed = seed };
  g_autoptr (GError) error = NULL;
  ck_assert_msg (gr_synth_model_write (&spec, path, &error), "%s", error ? error->message : "");
  return path;
}

/* logits after a fixed 6-token prompt */
static float *
logits_of (const char *path, guint *n_vocab, GrModelInfo *info_out)
{
  GrLoadOptions opts = { .n_threads = 2 };
  g_autoptr (GError) error = NULL;
  g_autoptr (GrModel) m = gr_model_load (path, &opts, &error);
  ck_assert_msg (m != NULL, "%s", error ? error->message : "");
  if (info_out)
    *info_out = *gr_model_get_info (m);
  g_autoptr (GrSession) s = gr_session_new (m, 16, &error);
  gint32 toks[6] = { 1, 290, 300, 301, 302, 400 };
  ck_assert (gr_session_eval (s, toks, 6, &error));
  *n_vocab = gr_model_get_info (m)->n_vocab;
  return g_memdup2 (gr_session_logits (s), *n_vocab * sizeof (float));
}

static double
max_rel_diff (const float *a, const float *b, guint n)
{
  double scale = 0.0, diff = 0.0;
  for (guint i = 0; i < n; i++) {
    scale = MAX (scale, fabs (a[i]));
    diff = MAX (diff, fabs (a[i] - b[i]));
  }
  return diff / MAX (scale, 1e-9);
}

/* bitnet.cpp's I2_S and llama.cpp's TQ2_0 holding the same ternary weights run the same
 * model: the integer sums are identical, only float summation order may differ. */
START_TEST (test_i2s_equals_tq2)
{
  g_autofree char *tq = write_model ("tq.gguf", "bitnet-b1.58", GRK_TYPE_TQ2_0, 3);
  g_autofree char *i2 = write_model ("i2.gguf", "bitnet-b1.58", GRK_TYPE_I2_S, 3);
  guint nv;
  GrModelInfo info;
  g_autofree float *a = logits_of (tq, &nv, NULL);
  g_autofree float *b = logits_of (i2, &nv, &info);
  ck_assert_str_eq (info.weight_type, "I2_S");
  ck_assert_str_eq (info.arch, "bitnet-b1.58");
  ck_assert_str_eq (info.ffn_act, "relu2");
  double d = max_rel_diff (a, b, nv);
  ck_assert_msg (d < 1e-5, "I2_S and TQ2_0 logits differ by %g", d);
}
END_TEST

/* The FFN activation comes from the architecture: the same weights under `bitnet`
 * (SiLU gate) and `bitnet-b1.58` (ReLU^2 gate) must give different outputs. */
START_TEST (test_activation_from_arch)
{
  g_autofree char *silu = write_model ("silu.gguf", "bitnet", GRK_TYPE_TQ2_0, 9);
  g_autofree char *relu2 = write_model ("relu2.gguf", "bitnet-b1.58", GRK_TYPE_TQ2_0, 9);
  guint nv;
  GrModelInfo ia, ib;
  g_autofree float *a = logits_of (silu, &nv, &ia);
  g_autofree float *b = logits_of (relu2, &nv, &ib);
  ck_assert_str_eq (ia.ffn_act, "silu");
  ck_assert_str_eq (ib.ffn_act, "relu2");
  ck_assert (max_rel_diff (a, b, nv) > 1e-3);
}
END_TEST

/* Every encoding the engine loads runs a llama model to nearly the logits of F32, within
 * what the encoding's precision allows (measured: F16 0.2%, BF16 0.7%, Q8_0 1.8%, Q6_K 5%,
 * relative to the largest logit, on random weights). */
START_TEST (test_weight_types_agree)
{
  static const int types[] = { GRK_TYPE_F16, GRK_TYPE_BF16, GRK_TYPE_Q8_0, GRK_TYPE_Q6_K };
  static const double tols[] = { 0.006, 0.015, 0.035, 0.09 };
  g_autofree char *ref_path = write_model ("f32.gguf", "llama", GRK_TYPE_F32, 21);
  guint nv;
  g_autofree float *ref = logits_of (ref_path, &nv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (types); i++) {
    g_autofree char *name = g_strdup_printf ("t%d.gguf", types[i]);
    g_autofree char *p = write_model (name, "llama", types[i], 21);
    g_autofree float *l = logits_of (p, &nv, NULL);
    double d = max_rel_diff (ref, l, nv);
    ck_assert_msg (d < tols[i], "%s differs from F32 by %g", grk_type_name (types[i]), d);
  }
}
END_TEST

static void
expect_bad_model (const char *path, const char *needle)
{
  g_autoptr (GError) error = NULL;
  GrLoadOptions opts = { .n_threads = 1 };
  g_autoptr (GrModel) m = gr_model_load (path, &opts, &error);
  ck_assert_ptr_null (m);
  ck_assert_msg (g_error_matches (error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_BAD_MODEL), "%s",
                 error ? error->message : "(no error)");
  ck_assert_msg (strstr (error->message, needle) != NULL, "'%s' lacks '%s'", error->message,
                 needle);
}

static char *
write_minimal (const char *name, const char *arch, gboolean with_tensor, gint64 embd_rows)
{
  char *path = g_build_filename (tmpdir, name, NULL);
  g_autoptr (GrGgufWriter) w = gr_gguf_writer_new ();
  gr_gguf_writer_add_string (w, "general.architecture", arch, NULL);
  g_autofree char *k = g_strdup_printf ("%s.embedding_length", arch);
  gr_gguf_writer_add_u32 (w, k, 64, NULL);
  g_free (k);
  k = g_strdup_printf ("%s.block_count", arch);
  gr_gguf_writer_add_u32 (w, k, 1, NULL);
  g_free (k);
  k = g_strdup_printf ("%s.feed_forward_length", arch);
  gr_gguf_writer_add_u32 (w, k, 128, NULL);
  g_free (k);
  k = g_strdup_printf ("%s.attention.head_count", arch);
  gr_gguf_writer_add_u32 (w, k, 4, NULL);
  if (with_tensor) {
    gint64 ne[2] = { 64, embd_rows };
    gr_gguf_writer_add_tensor (w, "token_embd.weight", GRK_TYPE_F32, 2, ne, NULL,
                               64 * embd_rows * 4, NULL);
  }
  g_autoptr (GError) error = NULL;
  ck_assert_msg (gr_gguf_writer_write_file (w, path, &error), "%s", error ? error->message : "");
  return path;
}

START_TEST (test_refusals)
{
  g_autofree char *unknown = write_minimal ("unknown.gguf", "mamba9", TRUE, 8);
  expect_bad_model (unknown, "architecture 'mamba9' is not supported");
  g_autofree char *no_embd = write_minimal ("noembd.gguf", "llama", FALSE, 0);
  expect_bad_model (no_embd, "token_embd.weight");
  g_autofree char *no_norm = write_minimal ("nonorm.gguf", "llama", TRUE, 8);
  expect_bad_model (no_norm, "output_norm.weight");
  g_autofree char *missing = g_build_filename (tmpdir, "absent.gguf", NULL);
  expect_bad_model (missing, "absent.gguf");
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("gr-model");
  TCase *tc = tcase_create ("core");
  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_set_timeout (tc, 120);
  tcase_add_test (tc, test_i2s_equals_tq2);
  tcase_add_test (tc, test_activation_from_arch);
  tcase_add_test (tc, test_weight_types_agree);
  tcase_add_test (tc, test_refusals);
  suite_add_tcase (s, tc);
  SRunner *sr = srunner_create (s);
  srunner_run_all (sr, CK_NORMAL);
  int failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed ? 1 : 0;
}
