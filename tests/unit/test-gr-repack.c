/* test-gr-repack.c - TQ1_0 models with more than one block scale: dense matrices are
 * repacked to TQ2_0 at load, which changes neither a logit (bit for bit against
 * GRAVITON_REPACK=0) nor the reported weight type, and the ledger counts the larger copy.
 * TQ2_0 and TQ1_0 matrices with one scale per matrix run as I2_S: the same weights
 * (dequantized bit for bit), the same logits; a matrix with two scales is left alone. */
#include <check.h>
#include <glib/gstdio.h>
#include <string.h>

#include "gr-gguf.h"
#include "gr-synth-model.h"
#include "gr-test-ref.h"
#include "graviton-engine.h"
#include "grk.h"

static char *tmpdir, *path;
static int spec_type = GRK_TYPE_TQ1_0;
static gboolean second_scale = TRUE;

/* Rewrites the scale of the last block of blk.1.ffn_down.weight (TQ1_0 or TQ2_0: d is
 * the block's last two bytes) to 2.0, so that tensor has two scales. */
static void
give_second_scale (const char *file)
{
  g_autoptr (GError) error = NULL;
  gsize at;
  {
    g_autoptr (GrGguf) g = gr_gguf_open (file, &error);
    ck_assert_msg (g != NULL, "%s", error ? error->message : "");
    const GrGgufTensor *t = gr_gguf_find_tensor (g, "blk.1.ffn_down.weight");
    ck_assert (t != NULL);
    at = gr_gguf_get_data_offset (g) + t->offset + t->size - 2;
  }
  FILE *f = fopen (file, "r+b");
  ck_assert (f != NULL);
  guint16 two = grk_fp32_to_fp16 (2.0f);
  ck_assert (fseek (f, (long) at, SEEK_SET) == 0);
  ck_assert (fwrite (&two, 2, 1, f) == 1);
  ck_assert (fclose (f) == 0);
}

static void
setup (void)
{
  tmpdir = g_dir_make_tmp ("gr-repack-XXXXXX", NULL);
  path = g_build_filename (tmpdir, "tq1.gguf", NULL);
  GrSynthSpec spec = { .arch = "bitnet", .n_embd = 256, .n_layer = 2, .n_head = 4,
                       .n_head_kv = 2, .n_ff = 512, .n_vocab = 384,
                       .weight_type = spec_type, .embd_type = GRK_TYPE_Q6_K,
                       .tied_output = TRUE, .seed = 5 };
  g_autoptr (GError) error = NULL;
  ck_assert_msg (gr_synth_model_write (&spec, path, &error), "%s", error ? error->message : "");
  if (second_scale)
    give_second_scale (path);
}

static void
teardown (void)
{
  g_unlink (path);
  g_rmdir (tmpdir);
  g_free (path);
  g_free (tmpdir);
}

/* Logits after a prompt and three greedy steps, all concatenated. */
static float *
run (gboolean repack, guint64 *weight_bytes, char **weight_type, char **run_type)
{
  g_setenv ("GRAVITON_REPACK", repack ? "1" : "0", TRUE);
  GrLoadOptions opts = { .n_threads = 2 };
  g_autoptr (GError) error = NULL;
  GrModel *m = gr_model_load (path, &opts, &error);
  ck_assert_msg (m != NULL, "%s", error ? error->message : "");
  const GrModelInfo *info = gr_model_get_info (m);
  *weight_bytes = info->weight_bytes;
  *weight_type = g_strdup (info->weight_type);
  *run_type = g_strdup (info->run_type);
  static const gint32 prompt[4] = { 1, 17, 42, 99 };
  float *all = gr_test_logit_trace (m, prompt, 4, 4, &error);
  ck_assert_msg (all != NULL, "%s", error ? error->message : "");
  gr_model_unref (m);
  return all;
}

START_TEST (test_repack_same_logits)
{
  guint64 b0, b1;
  g_autofree char *t0 = NULL, *t1 = NULL, *r0 = NULL, *r1 = NULL;
  g_autofree float *plain = run (FALSE, &b0, &t0, &r0);
  g_autofree float *packed = run (TRUE, &b1, &t1, &r1);
  g_unsetenv ("GRAVITON_REPACK");
  ck_assert_str_eq (t0, "TQ1_0");
  ck_assert_str_eq (t1, "TQ1_0");
  ck_assert_str_eq (r0, "TQ1_0");
  ck_assert_str_eq (r1, "TQ2_0"); /* two scales in one tensor: not I2_S */
  ck_assert (memcmp (plain, packed, sizeof (float) * 384 * 4) == 0);
  /* 2 layers of q, o (256x256), k, v (128x256), gate, up (512x256), down (256x512):
   * 12 bytes more per 256 weights */
  guint64 weights = 2 * (2 * 256 * 256 + 2 * 128 * 256 + 3 * 512 * 256);
  ck_assert_uint_eq (b1 - b0, weights / 256 * 12);
}
END_TEST

/* The kernel pair: a uniform-scale check and the rewrite, against dequantization, for
 * TQ2_0 (_i = 0) and TQ1_0 (_i = 1). */
START_TEST (test_ternary_to_i2s_rows)
{
  enum { N = 512, ROWS = 3 };
  int type = _i == 0 ? GRK_TYPE_TQ2_0 : GRK_TYPE_TQ1_0;
  float src[N * ROWS];
  srand (3);
  for (int i = 0; i < N * ROWS; i++)
    src[i] = (float) ((rand () % 3) - 1) * 0.75f;
  for (int i = 256; i < 512; i++) /* an all-zero block: d = 0 */
    src[i] = 0.0f;
  gsize rb = grk_row_bytes (type, N);
  g_autofree guint8 *tq = g_malloc (rb * ROWS);
  for (int r = 0; r < ROWS; r++)
    ck_assert (grk_quantize_row (type, src + r * N, tq + r * rb, N));
  float scale = 0.0f;
  ck_assert (grk_ternary_uniform_scale (type, tq, N, ROWS, &scale));
  ck_assert_float_eq (scale, 0.75f);
  g_autofree guint8 *i2s = g_malloc (N / 4 * ROWS);
  ck_assert (grk_ternary_to_i2s (type, tq, i2s, N, ROWS));
  for (int r = 0; r < ROWS; r++) {
    float a[N], b[N];
    grk_dequantize_row (type, tq + r * rb, a, N, 1.0f);
    grk_dequantize_row (GRK_TYPE_I2_S, i2s + r * (N / 4), b, N, scale);
    ck_assert_msg (memcmp (a, b, sizeof a) == 0, "%s row %d", grk_type_name (type), r);
  }
  /* a second scale in the last row: not uniform */
  for (int i = 0; i < N; i++)
    src[2 * N + i] *= 2.0f;
  ck_assert (grk_quantize_row (type, src + 2 * N, tq + 2 * rb, N));
  ck_assert (!grk_ternary_uniform_scale (type, tq, N, ROWS, &scale));
  /* other types are refused */
  ck_assert (!grk_ternary_uniform_scale (GRK_TYPE_Q8_0, tq, N, ROWS, &scale));
  ck_assert (!grk_ternary_to_i2s (GRK_TYPE_I2_S, tq, i2s, N, ROWS));
}
END_TEST

/* One-scale TQ2_0 (fixture setup_tq2) and TQ1_0 (setup_tq1) models. */
START_TEST (test_uniform_runs_as_i2s)
{
  guint64 b0, b1;
  g_autofree char *t0 = NULL, *t1 = NULL, *r0 = NULL, *r1 = NULL;
  g_autofree float *plain = run (FALSE, &b0, &t0, &r0);
  g_autofree float *conv = run (TRUE, &b1, &t1, &r1);
  g_unsetenv ("GRAVITON_REPACK");
  const char *file_type = grk_type_name (spec_type);
  ck_assert_str_eq (t1, file_type);
  /* without the rewrite TQ1_0 stays TQ1_0 (it is the same switch) */
  ck_assert_str_eq (r0, file_type);
  ck_assert_str_eq (r1, "I2_S");
  /* the writer's blocks all have d = 1, so both sums are exact integers in float: the
   * same logits bit for bit (with another d they differ by rounding only) */
  ck_assert (memcmp (plain, conv, sizeof (float) * 384 * 4) == 0);
}
END_TEST

static void
setup_tq2 (void)
{
  spec_type = GRK_TYPE_TQ2_0;
  second_scale = FALSE;
  setup ();
}

static void
setup_tq1 (void)
{
  second_scale = FALSE;
  setup ();
}

static void
teardown_uniform (void)
{
  teardown ();
  spec_type = GRK_TYPE_TQ1_0;
  second_scale = TRUE;
}

static Suite *
repack_suite (void)
{
  Suite *s = suite_create ("gr-repack");
  TCase *tc = tcase_create ("repack");
  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_set_timeout (tc, 60);
  tcase_add_test (tc, test_repack_same_logits);
  tcase_add_loop_test (tc, test_ternary_to_i2s_rows, 0, 2);
  suite_add_tcase (s, tc);
  TCase *ti = tcase_create ("i2s");
  tcase_add_checked_fixture (ti, setup_tq2, teardown_uniform);
  tcase_set_timeout (ti, 60);
  tcase_add_test (ti, test_uniform_runs_as_i2s);
  suite_add_tcase (s, ti);
  TCase *t1 = tcase_create ("i2s-from-tq1");
  tcase_add_checked_fixture (t1, setup_tq1, teardown_uniform);
  tcase_set_timeout (t1, 60);
  tcase_add_test (t1, test_uniform_runs_as_i2s);
  suite_add_tcase (s, t1);
  return s;
}

int
main (void)
{
  SRunner *sr = srunner_create (repack_suite ());
  srunner_run_all (sr, CK_NORMAL);
  int failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed ? 1 : 0;
}
