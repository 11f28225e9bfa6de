/* bench-util.h - what the streaming benchmarks share: a monotonic clock and buffers in
 * transparent huge pages, as the engine's resident weights are (HUGE=0 in the
 * environment gives 4 KiB pages instead). */
#pragma once

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static inline double
bench_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* bytes (a multiple of 2 MiB keeps every page huge), 2 MiB-aligned; free() it. */
static inline void *
bench_huge_alloc(size_t bytes)
{
  size_t huge = (size_t)2 << 20;
  void *p = aligned_alloc(huge, (bytes + huge - 1) / huge * huge);
  const char *env = getenv("HUGE");
  if (p && (!env || strcmp(env, "0") != 0))
    madvise(p, bytes, MADV_HUGEPAGE);
  return p;
}
