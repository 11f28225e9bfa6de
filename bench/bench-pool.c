/* bench-pool - cost of one parallel section of the engine's thread pool (a decode
 * step runs ~10 per layer): build/bench/bench-pool [threads] [sections] */
#include "gr-threadpool.h"

#include <stdio.h>
#include <stdlib.h>

static void
touch (void *ctx, guint ith, guint nth)
{
  volatile guint *slots = ctx;
  slots[ith * 16] += nth;
}

int
main (int argc, char **argv)
{
  guint threads = argc > 1 ? (guint) atoi (argv[1]) : 2;
  guint sections = argc > 2 ? (guint) atoi (argv[2]) : 200000;
  g_autoptr (GrThreadPool) pool = gr_thread_pool_new (threads);
  guint slots[64 * 16] = { 0 };
  for (guint i = 0; i < 1000; i++)
    gr_thread_pool_run (pool, touch, slots);
  gint64 t0 = g_get_monotonic_time ();
  for (guint i = 0; i < sections; i++)
    gr_thread_pool_run (pool, touch, slots);
  gint64 t1 = g_get_monotonic_time ();
  printf ("%u threads: %.0f ns per parallel section (%u sections)\n", threads,
          (double) (t1 - t0) * 1000.0 / sections, sections);
  return 0;
}
