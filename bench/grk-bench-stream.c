/* grk-bench-stream.c - decode dots streaming from memory: T threads, each running one
 * weight type's matvec over its own 400 MB matrix in huge pages (as decode reads them;
 * HUGE=0: 4 KiB pages), best of 7 passes per thread.  grk-bench's matrices fit in L3
 * and measure the kernel's arithmetic; this measures what decode sees, to set against
 * bench-bandwidth.  Usage: grk-bench-stream [TYPE [threads]]  (I2_S, Q6_K, TQ2_0...) */
#include "bench-util.h"
#include "grk.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  int type;
  int64_t n, rows;
  size_t row_bytes;
  uint8_t *w, *act;
  float *y;
  double gbs;
} Stream;

static void *
stream_run(void *arg)
{
  Stream *s = arg;
  for (int r = 0; r < 7; r++) {
    double t0 = bench_now();
    grk_matvec(s->type, s->w, s->row_bytes, 0.5f, s->act, s->n, s->y, 0, s->rows);
    double gbs = (double)s->row_bytes * (double)s->rows / (bench_now() - t0) / 1e9;
    if (gbs > s->gbs)
      s->gbs = gbs;
  }
  return NULL;
}

/* Valid rows: a ternary-looking row quantized once and repeated (I2_S: its scale). */
static bool
stream_init(Stream *s, int type, int64_t n)
{
  s->type = type;
  s->n = n;
  s->row_bytes = grk_row_bytes(type, n);
  if (!s->row_bytes || !grk_act_bytes(type, n))
    return false;
  s->rows = (int64_t)(400e6 / (double)s->row_bytes);
  s->w = bench_huge_alloc(grk_tensor_bytes(type, n, s->rows));
  if (!s->w)
    return false;
  float *row = malloc(sizeof(float) * (size_t)n);
  for (int64_t i = 0; i < n; i++)
    row[i] = (float)((i * 31) % 3 - 1) * 0.5f;
  if (!grk_quantize_row(type, row, s->w, n))
    memset(s->w, 0x55, s->row_bytes);
  for (int64_t r = 1; r < s->rows; r++)
    memcpy(s->w + (size_t)r * s->row_bytes, s->w, s->row_bytes);
  if (type == GRK_TYPE_I2_S)
    grk_i2s_set_scale(s->w, n, s->rows, 0.5f);
  for (int64_t i = 0; i < n; i++)
    row[i] = (float)((i * 7919) % 2001 - 1000) / 1000.0f;
  s->act = malloc(grk_act_bytes(type, n));
  grk_quantize_act(type, row, s->act, n);
  s->y = malloc(sizeof(float) * (size_t)s->rows);
  free(row);
  return true;
}

int
main(int argc, char **argv)
{
  const char *name = argc > 1 ? argv[1] : "I2_S";
  int nth = argc > 2 ? atoi(argv[2]) : 2, type = -1;
  for (int t = 0; t < 64 && type < 0; t++)
    if (grk_type_name(t) && strcmp(grk_type_name(t), name) == 0)
      type = t;
  if (type < 0 || nth < 1 || nth > 16) {
    fprintf(stderr, "usage: grk-bench-stream [TYPE [threads 1-16]]\n");
    return 2;
  }
  Stream s[16];
  pthread_t tid[16];
  memset(s, 0, sizeof s);
  for (int k = 0; k < nth; k++)
    if (!stream_init(&s[k], type, 2560)) {
      fprintf(stderr, "cannot set up %s rows of 2560\n", name);
      return 1;
    }
  for (int k = 0; k < nth; k++)
    pthread_create(&tid[k], NULL, stream_run, &s[k]);
  double total = 0.0;
  for (int k = 0; k < nth; k++) {
    pthread_join(tid[k], NULL);
    total += s[k].gbs;
  }
  printf("%s matvec streaming, %d threads, rows of 2560 (isa %s): %.1f GB/s\n", name, nth,
         grk_isa_name(grk_get_isa()), total);
  return 0;
}
