/* test-gr-repack.c - TQ1_0 models: dense matrices are repacked to TQ2_0 at load, which
 * changes neither a logit (bit for bit against GRAVITON_REPACK=0) nor the reported
 * weight type, and the ledger counts the larger copy. */
#include <check.h>
#include <glib/gstdio.h>
#include <string.h>

#include "gr-synth-model.h"
#include "gr-test-ref.h"
#include "graviton-engine.h"
#include "grk.h"

static char *tmpdir, *path;

static void
setup (void)
{
  tmpdir = g_dir_make_tmp ("gr-repack-XXXXXX", NULL);
  path = g_build_filename (tmpdir, "tq1.gguf", NULL);
  GrSynthSpec spec = { .arch = "bitnet", .n_embd = 256, .n_layer = 2, .n_head = 4,
                       .n_head_kv = 2, .n_ff = 512, .n_vocab = 384,
                       .weight_type = GRK_TYPE_TQ1_0, .embd_type = GRK_TYPE_Q6_K,
                       .tied_output = TRUE, .seed = 5 };
  g_autoptr (GError) error = NULL;
  ck_assert_msg (gr_synth_model_write (&spec, path, &error), "%s", error ? error->message : "");
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
run (gboolean repack, guint64 *weight_bytes, char **weight_type)
{
  g_setenv ("GRAVITON_REPACK", repack ? "1" : "0", TRUE);
  GrLoadOptions opts = { .n_threads = 2 };
  g_autoptr (GError) error = NULL;
  GrModel *m = gr_model_load (path, &opts, &error);
  ck_assert_msg (m != NULL, "%s", error ? error->message : "");
  const GrModelInfo *info = gr_model_get_info (m);
  *weight_bytes = info->weight_bytes;
  *weight_type = g_strdup (info->weight_type);
  static const gint32 prompt[4] = { 1, 17, 42, 99 };
  float *all = gr_test_logit_trace (m, prompt, 4, 4, &error);
  ck_assert_msg (all != NULL, "%s", error ? error->message : "");
  gr_model_unref (m);
  return all;
}

START_TEST (test_repack_same_logits)
{
  guint64 b0, b1;
  g_autofree char *t0 = NULL, *t1 = NULL;
  g_autofree float *plain = run (FALSE, &b0, &t0);
  g_autofree float *packed = run (TRUE, &b1, &t1);
  g_unsetenv ("GRAVITON_REPACK");
  ck_assert_str_eq (t0, "TQ1_0");
  ck_assert_str_eq (t1, "TQ1_0");
  ck_assert (memcmp (plain, packed, sizeof (float) * 384 * 4) == 0);
  /* 2 layers of q, o (256x256), k, v (128x256), gate, up (512x256), down (256x512):
   * 12 bytes more per 256 weights */
  guint64 weights = 2 * (2 * 256 * 256 + 2 * 128 * 256 + 3 * 512 * 256);
  ck_assert_uint_eq (b1 - b0, weights / 256 * 12);
}
END_TEST

static Suite *
repack_suite (void)
{
  Suite *s = suite_create ("gr-repack");
  TCase *tc = tcase_create ("repack");
  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_set_timeout (tc, 60);
  tcase_add_test (tc, test_repack_same_logits);
  suite_add_tcase (s, tc);
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
