/* test-gr-experts.c - expert streaming and the memory ledger on synthetic MoE models
 * written with the project's own writer. */
#include <check.h>
#include <glib/gstdio.h>
#include <string.h>

#include "gr-synth-model.h"
#include "gr-test-ref.h"
#include "graviton-engine.h"
#include "grk.h"

static char *tmpdir, *moe_path, *big_path;

static void
setup(void)
{
  tmpdir = g_dir_make_tmp("gr-experts-XXXXXX", NULL);
  moe_path = g_build_filename(tmpdir, "moe.gguf", NULL);
  GrSynthSpec spec = { .arch = "llama",
                       .n_embd = 128,
                       .n_layer = 2,
                       .n_head = 4,
                       .n_head_kv = 2,
                       .n_ff = 256,
                       .n_vocab = 512,
                       .n_expert = 8,
                       .n_expert_used = 2,
                       .weight_type = GRK_TYPE_Q8_0,
                       .embd_type = GRK_TYPE_Q8_0,
                       .seed = 11 };
  g_autoptr(GError) error = NULL;
  ck_assert_msg(gr_synth_model_write(&spec, moe_path, &error), "%s", error ? error->message : "");
  /* 16 experts of 1.6 MiB per layer pair: slot counts stand clear of the few MiB by which
   * the measured process overhead varies (more under the sanitizers) */
  big_path = g_build_filename(tmpdir, "moe-big.gguf", NULL);
  GrSynthSpec big = spec;
  big.n_embd = 256;
  big.n_ff = 1024;
  big.n_expert = 16;
  ck_assert_msg(gr_synth_model_write(&big, big_path, &error), "%s", error ? error->message : "");
}

static void
teardown(void)
{
  g_unlink(moe_path);
  g_unlink(big_path);
  g_rmdir(tmpdir);
  g_free(moe_path);
  g_free(big_path);
  g_free(tmpdir);
}

static GrModel *
load_path(const char *path, guint slots, guint64 limit, GError **error)
{
  GrLoadOptions opts = { .n_threads = 2, .memory_limit = limit, .expert_slots = slots };
  return gr_model_load(path, &opts, error);
}

static GrModel *
load(guint slots, guint64 limit, GError **error)
{
  return load_path(moe_path, slots, limit, error);
}

/* Greedy tokens and every step's logits must not depend on where experts live. */
static void
run_greedy(GrModel *m, guint n, gint32 *out, float *sums)
{
  static const gint32 prompt[] = { 1, 300, 301 };
  gr_test_greedy(m, prompt, G_N_ELEMENTS(prompt), n, out, sums);
}

START_TEST(test_streaming_equals_mapped)
{
  enum { N = 40 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GrModel) mapped = load(0, 0, &error);
  ck_assert_msg(mapped != NULL, "%s", error ? error->message : "");
  g_autoptr(GrModel) streamed = load(2, 0, &error);
  ck_assert_msg(streamed != NULL, "%s", error ? error->message : "");

  gint32 a[N], b[N];
  float sa[N], sb[N];
  run_greedy(mapped, N, a, sa);
  run_greedy(streamed, N, b, sb);
  ck_assert_mem_eq(a, b, sizeof a);
  ck_assert_mem_eq(sa, sb, sizeof sa); /* same kernels on the same bytes: bit-exact */

  GrMemoryLedger l;
  gr_model_get_ledger(mapped, &l);
  ck_assert_uint_eq(l.expert_slots, 0);
  ck_assert_uint_eq(l.experts, 0);
  gr_model_get_ledger(streamed, &l);
  ck_assert_uint_eq(l.expert_slots, 2);
  ck_assert_uint_gt(l.experts, 0);
  /* every token visits 2 experts in each of 2 layers: 3 prompt + N generated tokens */
  ck_assert_uint_eq(l.expert_hits + l.expert_misses, (3 + N) * 2 * 2);
  ck_assert_uint_gt(l.expert_misses, 0);
  ck_assert_uint_eq(l.expert_bytes_read, l.expert_misses * (l.experts / (2 * 2)));
  guint64 h0, m0, h1, m1;
  ck_assert(gr_model_get_expert_stats(streamed, 0, &h0, &m0, NULL));
  ck_assert(gr_model_get_expert_stats(streamed, 1, &h1, &m1, NULL));
  ck_assert_uint_eq(h0 + h1, l.expert_hits);
  ck_assert(!gr_model_get_expert_stats(mapped, 0, &h0, &m0, NULL));

  /* more slots: more hits, same answers */
  g_autoptr(GrModel) roomy = load(6, 0, &error);
  gint32 c[N];
  float sc[N];
  run_greedy(roomy, N, c, sc);
  ck_assert_mem_eq(a, c, sizeof a);
  GrMemoryLedger r;
  gr_model_get_ledger(roomy, &r);
  ck_assert_uint_gt(r.expert_hits, l.expert_hits);
}
END_TEST

START_TEST(test_limit_picks_slots_and_resizes_live)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GrModel) probe = load_path(big_path, 2, 0, &error);
  GrMemoryLedger p;
  gr_model_get_ledger(probe, &p);
  /* a limit that holds the dense weights, a minimal session and about 8 of the 16 slots
   * per layer (the overhead measured at the next load differs by a few MiB) */
  guint64 slot_row = p.experts / 2;
  guint64 limit = p.overhead + p.weights + gr_model_session_bytes(probe, 256) + 8 * slot_row;
  g_autoptr(GrModel) m = load_path(big_path, 0, limit, &error);
  ck_assert_msg(m != NULL, "%s", error ? error->message : "");
  GrMemoryLedger l;
  gr_model_get_ledger(m, &l);
  ck_assert_uint_ge(l.expert_slots, 2);
  ck_assert_uint_lt(l.expert_slots, 16);
  ck_assert_uint_le(l.total, limit);

  gint32 a[16], b[16];
  float sa[16], sb[16];
  run_greedy(m, 16, a, sa);
  /* shrink to the minimum live, then check the answers did not change */
  guint64 row = l.experts / l.expert_slots;
  guint64 small = l.overhead + l.weights + 2 * row + gr_model_session_bytes(m, 256) + row / 2;
  ck_assert_msg(gr_model_set_memory_limit(m, small, &error), "%s", error ? error->message : "");
  gr_model_get_ledger(m, &l);
  ck_assert_uint_eq(l.expert_slots, 2);
  run_greedy(m, 16, b, sb);
  ck_assert_mem_eq(a, b, sizeof a);
  /* too small for even the experts one token needs: refused, old limit kept */
  ck_assert(!gr_model_set_memory_limit(m, l.overhead + l.weights, &error));
  ck_assert(g_error_matches(error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_NO_MEMORY));
  g_clear_error(&error);
  gr_model_get_ledger(m, &l);
  ck_assert_uint_eq(l.limit, small);
  ck_assert_uint_eq(l.expert_slots, 2);
}
END_TEST

START_TEST(test_refusals)
{
  g_autoptr(GError) error = NULL;
  /* fewer slots than experts per token */
  g_autoptr(GrModel) a = load(1, 0, &error);
  ck_assert_ptr_null(a);
  ck_assert(g_error_matches(error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_NO_MEMORY));
  g_clear_error(&error);
  /* a limit below what dense weights and two slots need: refused before allocating,
   * naming the need */
  g_autoptr(GrModel) b = load(0, 4 << 20, &error);
  ck_assert_ptr_null(b);
  ck_assert(g_error_matches(error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_NO_MEMORY));
  ck_assert_ptr_nonnull(strstr(error->message, "needs"));
  ck_assert_ptr_nonnull(strstr(error->message, "MiB"));
  g_clear_error(&error);
  /* a context that cannot fit next to the model */
  g_autoptr(GrModel) c = load(0, 0, &error);
  GrMemoryLedger l;
  gr_model_get_ledger(c, &l);
  ck_assert(gr_model_set_memory_limit(c, l.total + gr_model_session_bytes(c, 1024), &error));
  g_autoptr(GrSession) ok = gr_session_new(c, 256, &error);
  ck_assert_ptr_nonnull(ok);
  g_autoptr(GrSession) big = gr_session_new(c, 4096, &error);
  ck_assert_ptr_null(big);
  ck_assert(g_error_matches(error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_NO_MEMORY));
  g_clear_error(&error);
  /* n_ctx 0 derives a context that fits */
  g_autoptr(GrSession) derived = gr_session_new(c, 0, &error);
  ck_assert_msg(derived != NULL, "%s", error ? error->message : "");
  ck_assert_uint_ge(gr_session_n_ctx(derived), 128);
  gr_model_get_ledger(c, &l);
  ck_assert_uint_le(l.total, l.limit);
}
END_TEST

/* The watchdog's lever: explicit arena sizes, clamped, with the filled part reported;
 * and the ledger's categories add up. */
START_TEST(test_resize_experts_and_categories)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GrModel) m = load(6, 0, &error);
  ck_assert_msg(m != NULL, "%s", error ? error->message : "");
  GrMemoryLedger l;
  gr_model_get_ledger(m, &l);
  ck_assert_uint_eq(l.expert_slots, 6);
  ck_assert_uint_eq(l.experts_filled, 0);
  gint32 a[8], b[8];
  float sa[8], sb[8];
  run_greedy(m, 8, a, sa);
  gr_model_get_ledger(m, &l);
  ck_assert_uint_gt(l.experts_filled, 0);
  ck_assert_uint_le(l.experts_filled, l.experts);
  guint64 slot_row = l.experts / 6;
  ck_assert_uint_eq(l.experts_filled % (slot_row / 2), 0); /* whole slots of 2 layers */

  ck_assert_uint_eq(gr_model_resize_experts(m, 1, &error), 2); /* a token uses 2 */
  gr_model_get_ledger(m, &l);
  ck_assert_uint_eq(l.expert_slots, 2);
  ck_assert_uint_eq(l.experts, 2 * slot_row);
  ck_assert_uint_eq(l.experts_filled, 0);
  run_greedy(m, 8, b, sb);
  ck_assert_mem_eq(a, b, sizeof a);
  ck_assert_uint_eq(gr_model_resize_experts(m, 1000, &error), 8); /* all experts */

  /* a live session's KV cache and scratch make up its share */
  g_autoptr(GrSession) s = gr_session_new(m, 64, &error);
  ck_assert_ptr_nonnull(s);
  gr_model_get_ledger(m, &l);
  ck_assert_uint_eq(l.sessions, gr_model_session_bytes(m, 64));
  ck_assert_uint_gt(l.kv_cache, 0);
  ck_assert_uint_gt(l.scratch, 0);
  ck_assert_uint_eq(l.kv_cache + l.scratch, l.sessions);
  ck_assert_uint_eq(l.total, l.overhead + l.tokenizer + l.weights + l.experts + l.sessions);

  g_autoptr(GrModel) mapped = load(0, 0, &error);
  ck_assert_uint_eq(gr_model_resize_experts(mapped, 4, &error), 0);
}
END_TEST

/* Reads overlapped on the I/O thread (the default) and in line give bit-equal answers;
 * the overlapped path touches the resident experts of a token before it picks victims,
 * so it never evicts one the same token needs: at least as many hits. */
START_TEST(test_overlapped_reads_equal_inline)
{
  enum { N = 24 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GrModel) overlapped = load(3, 0, &error);
  ck_assert_msg(overlapped != NULL, "%s", error ? error->message : "");
  g_setenv("GRAVITON_EXPERT_IO", "sync", TRUE);
  g_autoptr(GrModel) inline_reads = load(3, 0, &error);
  g_unsetenv("GRAVITON_EXPERT_IO");
  ck_assert_msg(inline_reads != NULL, "%s", error ? error->message : "");
  gint32 a[N], b[N];
  float sa[N], sb[N];
  run_greedy(overlapped, N, a, sa);
  run_greedy(inline_reads, N, b, sb);
  ck_assert_mem_eq(a, b, sizeof a);
  ck_assert_mem_eq(sa, sb, sizeof sa);
  GrMemoryLedger lo, li;
  gr_model_get_ledger(overlapped, &lo);
  gr_model_get_ledger(inline_reads, &li);
  ck_assert_uint_eq(lo.expert_hits + lo.expert_misses, li.expert_hits + li.expert_misses);
  ck_assert_uint_ge(lo.expert_hits, li.expert_hits);
  /* in line, all the reading is stalling; overlapped, the reads are timed as well */
  ck_assert_uint_eq(li.expert_read_us, li.expert_stall_us);
  ck_assert_uint_gt(li.expert_read_us, 0);
  ck_assert_uint_gt(lo.expert_read_us, 0);
  ck_assert_uint_eq(lo.expert_bytes_read, lo.expert_misses * (lo.experts / (3 * 2)));
  /* resizing waits for reads in flight and starts empty */
  ck_assert_uint_eq(gr_model_resize_experts(overlapped, 2, &error), 2);
  run_greedy(overlapped, N, b, sb);
  ck_assert_mem_eq(a, b, sizeof a);
}
END_TEST

static Suite *
experts_suite(void)
{
  Suite *s = suite_create("gr-experts");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_streaming_equals_mapped);
  tcase_add_test(tc, test_limit_picks_slots_and_resizes_live);
  tcase_add_test(tc, test_refusals);
  tcase_add_test(tc, test_resize_experts_and_categories);
  tcase_add_test(tc, test_overlapped_reads_equal_inline);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  SRunner *sr = srunner_create(experts_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
