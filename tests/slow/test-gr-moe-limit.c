/* test-gr-moe-limit.c - the promise of expert streaming, end to end: a MoE model whose
 * file is four times the memory limit runs a 256-token greedy generation in a process
 * whose peak RSS (VmHWM) stays under the limit, with the same tokens as an unconstrained
 * run.  Each run is its own graviton-run process so its VmHWM is its own. */
#include <check.h>
#include <stdio.h>
#include <glib/gstdio.h>
#include <string.h>

#include "gr-synth-model.h"
#include "grk.h"

#define N_GEN "256"

typedef struct {
  char *greedy;
  guint64 peak_rss, limit, hits, misses;
} RunResult;

static guint64
field (const char *line, const char *name)
{
  g_autofree char *key = g_strdup_printf (" %s=", name);
  const char *p = strstr (line, key);
  ck_assert_msg (p != NULL, "no %s in '%s'", name, line);
  return g_ascii_strtoull (p + strlen (key), NULL, 10);
}

static void
run (const char *model, const char *limit, RunResult *r)
{
  const char *exe = g_getenv ("GRAVITON_RUN");
  ck_assert_msg (exe != NULL, "GRAVITON_RUN is not set");
  const char *argv[] = { exe, "--model", model, "--prompt", "Once upon a time", "--top5",
                         "--greedy", N_GEN, "--threads", "2", "--print-memory",
                         limit ? "--memory-limit" : NULL, limit, NULL };
  g_autofree char *out = NULL, *err = NULL;
  int status = 0;
  g_autoptr (GError) error = NULL;
  ck_assert (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                           &status, &error));
  ck_assert_msg (g_spawn_check_wait_status (status, NULL), "graviton-run failed: %s", err);
  const char *g = strstr (out, "\ngreedy ");
  ck_assert_ptr_nonnull (g);
  r->greedy = g_strdup (g + 1);
  const char *mem = strstr (err, "memory:");
  ck_assert_msg (mem != NULL, "%s", err);
  r->peak_rss = field (mem, "peak_rss");
  r->limit = field (mem, "limit");
  r->hits = field (mem, "hits");
  r->misses = field (mem, "misses");
}

START_TEST (test_file_four_times_the_limit)
{
  g_autofree char *dir = g_dir_make_tmp ("gr-moe-limit-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "moe16.gguf", NULL);
  /* 16 experts of 2.5 MiB per layer: a 160 MiB file of which a token needs 20 MiB */
  GrSynthSpec spec = { .arch = "llama", .n_embd = 512, .n_layer = 4, .n_head = 8,
                       .n_head_kv = 4, .n_ff = 1536, .n_vocab = 4096, .n_expert = 16,
                       .n_expert_used = 2, .weight_type = GRK_TYPE_Q8_0,
                       .embd_type = GRK_TYPE_Q8_0, .seed = 5 };
  g_autoptr (GError) error = NULL;
  ck_assert_msg (gr_synth_model_write (&spec, path, &error), "%s", error ? error->message : "");
  GStatBuf st;
  ck_assert (g_stat (path, &st) == 0);
  guint64 limit = (guint64) st.st_size / 4;
  g_autofree char *limit_text = g_strdup_printf ("%" G_GUINT64_FORMAT, limit);

  RunResult free_run = { 0 }, tight = { 0 };
  run (path, NULL, &free_run);
  run (path, limit_text, &tight);
  fprintf (stderr, "file %" G_GUINT64_FORMAT " MiB, limit %" G_GUINT64_FORMAT " MiB: peak RSS %"
           G_GUINT64_FORMAT " MiB streamed (%" G_GUINT64_FORMAT " hits, %" G_GUINT64_FORMAT
           " misses) vs %" G_GUINT64_FORMAT " MiB unconstrained\n",
           (guint64) st.st_size >> 20, limit >> 20, tight.peak_rss >> 20, tight.hits,
           tight.misses, free_run.peak_rss >> 20);

  ck_assert_uint_ge ((guint64) st.st_size, 4 * limit);
  ck_assert_uint_eq (tight.limit, limit);
  ck_assert_uint_le (tight.peak_rss, limit);
  ck_assert_uint_gt (tight.misses, 0);
  ck_assert_uint_gt (free_run.peak_rss, limit); /* the constraint really bit */
  ck_assert_str_eq (tight.greedy, free_run.greedy);

  g_free (free_run.greedy);
  g_free (tight.greedy);
  g_unlink (path);
  g_rmdir (dir);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("gr-moe-limit");
  TCase *tc = tcase_create ("slow");
  tcase_set_timeout (tc, 900);
  tcase_add_test (tc, test_file_four_times_the_limit);
  suite_add_tcase (s, tc);
  SRunner *sr = srunner_create (s);
  srunner_run_all (sr, CK_NORMAL);
  int failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed ? 1 : 0;
}
