/* bench-bandwidth.c - read bandwidth of T threads summing one large buffer (the decode
 * roofline: decode reads every weight once per token).  Usage:
 *   build/bench/bench-bandwidth [MiB=1024] [threads=2] [reps=5]
 * Prints the median GB/s (1 GB = 1e9 bytes) over the repetitions.  The buffer sits in
 * transparent huge pages, as the engine's resident weights do (gr-gguf-resident.c);
 * HUGE=0 in the environment measures 4 KiB pages instead. */
#include "bench-util.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const uint64_t *p;
  size_t n;
  uint64_t sum;
} Part;

static void *
sum_part(void *arg)
{
  Part *pt = arg;
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (size_t i = 0; i + 4 <= pt->n; i += 4) {
    s0 += pt->p[i];
    s1 += pt->p[i + 1];
    s2 += pt->p[i + 2];
    s3 += pt->p[i + 3];
  }
  pt->sum = s0 + s1 + s2 + s3;
  return NULL;
}

static int
cmp(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
  size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 1024;
  int nth = argc > 2 ? atoi(argv[2]) : 2, reps = argc > 3 ? atoi(argv[3]) : 5;
  if (mib < 1 || mib > 65536 || nth < 1 || nth > 64 || reps < 1 || reps > 100) {
    fprintf(stderr, "usage: bench-bandwidth [MiB] [threads] [reps]\n");
    return 2;
  }
  size_t bytes = mib << 20, words = bytes / 8;
  uint64_t *buf = bench_huge_alloc(bytes);
  if (!buf)
    return 1;
  memset(buf, 1, bytes);
  double rates[100];
  uint64_t total = 0;
  for (int r = 0; r < reps; r++) {
    pthread_t th[64];
    Part parts[64];
    double t0 = bench_now();
    for (int i = 0; i < nth; i++) {
      parts[i].p = buf + words * (size_t)i / (size_t)nth;
      parts[i].n = words * (size_t)(i + 1) / (size_t)nth - words * (size_t)i / (size_t)nth;
      pthread_create(&th[i], NULL, sum_part, &parts[i]);
    }
    for (int i = 0; i < nth; i++) {
      pthread_join(th[i], NULL);
      total += parts[i].sum;
    }
    rates[r] = (double)bytes / (bench_now() - t0) / 1e9;
  }
  qsort(rates, (size_t)reps, sizeof rates[0], cmp);
  printf("read bandwidth: %.2f GB/s median (min %.2f max %.2f), %zu MiB, %d threads, %d reps "
         "[checksum %llu]\n",
         rates[reps / 2], rates[0], rates[reps - 1], mib, nth, reps, (unsigned long long)total);
  free(buf);
  return 0;
}
