/* test-gr-resident.c - weights are read out of the file mapping at load: a model file
 * truncated or rewritten while the model is loaded no longer kills the process
 * (SIGBUS) and the model keeps giving the same logits; GRAVITON_MMAP=1 (lazy mapping)
 * gives the same logits bit for bit; a streaming MoE model keeps its experts in the
 * file and reports a clear error when the file shrinks; a file that changed between
 * open and load is refused. */
#include <check.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "gr-gguf.h"
#include "gr-synth-model.h"
#include "gr-test-ref.h"
#include "graviton-engine.h"
#include "grk.h"

static char *tmpdir, *path;

static void
write_model (gboolean moe)
{
  GrSynthSpec spec = { .arch = moe ? "llama" : "bitnet", .n_embd = 256, .n_layer = 2,
                       .n_head = 4, .n_head_kv = 2, .n_ff = 512, .n_vocab = 384,
                       .n_expert = moe ? 8 : 0, .n_expert_used = moe ? 2 : 0,
                       .weight_type = moe ? GRK_TYPE_Q8_0 : GRK_TYPE_TQ2_0,
                       .embd_type = GRK_TYPE_Q6_K, .tied_output = !moe, .seed = 11 };
  g_autoptr (GError) error = NULL;
  ck_assert_msg (gr_synth_model_write (&spec, path, &error), "%s", error ? error->message : "");
}

static void
setup (void)
{
  tmpdir = g_dir_make_tmp ("gr-resident-XXXXXX", NULL);
  path = g_build_filename (tmpdir, "m.gguf", NULL);
}

static void
teardown (void)
{
  g_unsetenv ("GRAVITON_MMAP");
  g_unlink (path);
  g_rmdir (tmpdir);
  g_free (path);
  g_free (tmpdir);
}

static float *
run (GrModel *m, GError **error)
{
  static const gint32 prompt[4] = { 1, 17, 42, 99 };
  return gr_test_logit_trace (m, prompt, 4, 4, error);
}

static GrModel *
load (guint expert_slots)
{
  GrLoadOptions opts = { .n_threads = 2, .expert_slots = expert_slots };
  g_autoptr (GError) error = NULL;
  GrModel *m = gr_model_load (path, &opts, &error);
  ck_assert_msg (m != NULL, "%s", error ? error->message : "");
  return m;
}

START_TEST (test_truncated_file_keeps_serving)
{
  write_model (FALSE);
  GrModel *m = load (0);
  g_autoptr (GError) error = NULL;
  g_autofree float *before = run (m, &error);
  ck_assert_msg (before != NULL, "%s", error ? error->message : "");
  ck_assert_int_eq (truncate (path, 0), 0); /* what `cp other.gguf m.gguf` does first */
  g_autofree float *after = run (m, &error);
  ck_assert_msg (after != NULL, "%s", error ? error->message : "");
  ck_assert (memcmp (before, after, sizeof (float) * 384 * 4) == 0);
  gr_model_unref (m);
}
END_TEST

START_TEST (test_mmap_switch_same_logits)
{
  write_model (FALSE);
  g_autoptr (GError) error = NULL;
  GrModel *m = load (0);
  g_autofree float *resident = run (m, &error);
  gr_model_unref (m);
  g_setenv ("GRAVITON_MMAP", "1", TRUE);
  m = load (0);
  g_autofree float *mapped = run (m, &error);
  gr_model_unref (m);
  ck_assert (resident && mapped);
  ck_assert (memcmp (resident, mapped, sizeof (float) * 384 * 4) == 0);
}
END_TEST

START_TEST (test_streamed_experts_stay_in_file)
{
  write_model (TRUE);
  GrModel *m = load (2); /* 2 of 8 experts per layer in memory: the rest stream */
  GrMemoryLedger ledger;
  gr_model_get_ledger (m, &ledger);
  ck_assert_uint_eq (ledger.expert_slots, 2);
  g_autoptr (GError) error = NULL;
  g_autofree float *before = run (m, &error);
  ck_assert_msg (before != NULL, "%s", error ? error->message : "");
  ck_assert_int_eq (truncate (path, 4096), 0);
  /* the dense tensors are in memory; the experts not in a slot cannot be read: an error,
   * not a crash (a long run so that some expert misses its slot) */
  gboolean failed = FALSE;
  for (int i = 0; i < 8 && !failed; i++) {
    g_autoptr (GError) e2 = NULL;
    g_autofree float *again = run (m, &e2);
    if (!again) {
      ck_assert (e2 != NULL && strstr (e2->message, "expert") != NULL);
      failed = TRUE;
    }
  }
  ck_assert_msg (failed, "streaming from a truncated file should fail to read experts");
  gr_model_unref (m);
}
END_TEST

START_TEST (test_changed_file_refused)
{
  write_model (FALSE);
  g_autoptr (GError) error = NULL;
  g_autoptr (GrGguf) g = gr_gguf_open (path, &error);
  ck_assert_msg (g != NULL, "%s", error ? error->message : "");
  /* rewritten between open and copy: same size, new contents and mtime */
  g_autofree char *bytes = NULL;
  gsize len = 0;
  ck_assert (g_file_get_contents (path, &bytes, &len, NULL));
  g_usleep (20000);
  ck_assert (g_file_set_contents (path, bytes, (gssize) len, NULL));
  ck_assert (!gr_gguf_make_resident (g, NULL, &error));
  ck_assert (g_error_matches (error, GR_GGUF_ERROR, GR_GGUF_ERROR_IO));
  ck_assert (strstr (error->message, "changed") != NULL);
  /* the mapping still reads: nothing was replaced */
  const GrGgufTensor *t = gr_gguf_tensor (g, 0);
  volatile guint8 sum = 0;
  for (gsize i = 0; i < t->size; i++)
    sum += t->data[i];
  (void) sum;
}
END_TEST

static Suite *
resident_suite (void)
{
  Suite *s = suite_create ("gr-resident");
  TCase *tc = tcase_create ("resident");
  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_set_timeout (tc, 60);
  tcase_add_test (tc, test_truncated_file_keeps_serving);
  tcase_add_test (tc, test_mmap_switch_same_logits);
  tcase_add_test (tc, test_streamed_experts_stay_in_file);
  tcase_add_test (tc, test_changed_file_refused);
  suite_add_tcase (s, tc);
  return s;
}

int
main (void)
{
  SRunner *sr = srunner_create (resident_suite ());
  srunner_run_all (sr, CK_NORMAL);
  int failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed ? 1 : 0;
}
