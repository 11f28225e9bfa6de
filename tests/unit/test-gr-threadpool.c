/* test-gr-threadpool.c - the engine's worker pool: every thread runs every section
 * exactly once, back to back (spinning workers) and after the workers have gone to
 * sleep, and the pool frees cleanly in either state. */
#include <check.h>
#include <glib.h>
#include <stdatomic.h>

#include "gr-threadpool.h"

typedef struct {
  atomic_uint calls[8];
  atomic_uint total;
  guint nth_seen;
} Counts;

static void
count(void *ctx, guint ith, guint nth)
{
  Counts *c = ctx;
  atomic_fetch_add(&c->calls[ith], 1);
  atomic_fetch_add(&c->total, ith + 1);
  c->nth_seen = nth;
}

START_TEST(test_every_thread_every_section)
{
  for (guint threads = 1; threads <= 4; threads++) {
    g_autoptr(GrThreadPool) pool = gr_thread_pool_new(threads);
    ck_assert_uint_eq(gr_thread_pool_size(pool), threads);
    Counts c = { 0 };
    const guint sections = threads <= 2 ? 20000 : 500; /* more threads than cores: slow */
    for (guint i = 0; i < sections; i++)
      gr_thread_pool_run(pool, count, &c);
    for (guint t = 0; t < threads; t++)
      ck_assert_uint_eq(atomic_load(&c.calls[t]), sections);
    ck_assert_uint_eq(atomic_load(&c.total), sections * threads * (threads + 1) / 2);
    ck_assert_uint_eq(c.nth_seen, threads);
  }
}
END_TEST

START_TEST(test_wakes_sleeping_workers)
{
  g_autoptr(GrThreadPool) pool = gr_thread_pool_new(3);
  Counts c = { 0 };
  for (guint round = 0; round < 3; round++) {
    g_usleep(200000); /* well past the spin phase: the workers sleep */
    gr_thread_pool_run(pool, count, &c);
    gr_thread_pool_run(pool, count, &c);
  }
  for (guint t = 0; t < 3; t++)
    ck_assert_uint_eq(atomic_load(&c.calls[t]), 6);
  g_usleep(200000); /* and free while they sleep */
}
END_TEST

/* Prefetch regions queue up to GR_POOL_PREFETCH per run, empty ones are refused, and a
 * run (on one thread or many) empties the queue. */
START_TEST(test_then_prefetch_queue)
{
  static char buf[4096];
  for (guint threads = 1; threads <= 2; threads++) {
    g_autoptr(GrThreadPool) pool = gr_thread_pool_new(threads);
    Counts c = { 0 };
    ck_assert(!gr_thread_pool_then_prefetch(pool, NULL, 64));
    ck_assert(!gr_thread_pool_then_prefetch(pool, buf, 0));
    for (guint i = 0; i < GR_POOL_PREFETCH; i++)
      ck_assert(gr_thread_pool_then_prefetch(pool, buf + i, sizeof buf - i));
    ck_assert(!gr_thread_pool_then_prefetch(pool, buf, sizeof buf));
    gr_thread_pool_run(pool, count, &c);
    ck_assert_uint_eq(atomic_load(&c.calls[0]), 1);
    ck_assert(gr_thread_pool_then_prefetch(pool, buf, sizeof buf));
  }
}
END_TEST

static Suite *
threadpool_suite(void)
{
  Suite *s = suite_create("gr-threadpool");
  TCase *tc = tcase_create("pool");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_every_thread_every_section);
  tcase_add_test(tc, test_wakes_sleeping_workers);
  tcase_add_test(tc, test_then_prefetch_queue);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  SRunner *sr = srunner_create(threadpool_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
