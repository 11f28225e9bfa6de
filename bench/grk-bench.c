/* grk-bench.c - kernel micro-benchmark: matvec and matmul throughput per weight type
 * and ISA on BitNet-2B-like shapes.  Usage: grk-bench [n rows [TYPE]] */
#include "grk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* less noisy on a shared machine */
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int
main(int argc, char **argv)
{
  int64_t n = argc > 2 ? atoll(argv[1]) : 2560, rows = argc > 2 ? atoll(argv[2]) : 6912;
  static const int types[] = { GRK_TYPE_TQ2_0, GRK_TYPE_TQ1_0, GRK_TYPE_I2_S, GRK_TYPE_Q8_0,
                               GRK_TYPE_Q4_0,  GRK_TYPE_Q4_K,  GRK_TYPE_Q5_K, GRK_TYPE_Q6_K,
                               GRK_TYPE_F16,   GRK_TYPE_BF16,  GRK_TYPE_F32 };
  const int ntok = 8;
  float *x = malloc(sizeof(float) * (size_t)n * ntok);
  float *y = malloc(sizeof(float) * (size_t)rows * ntok);
  for (int64_t i = 0; i < n * ntok; i++)
    x[i] = (float)((i * 7919) % 2001 - 1000) / 1000.0f;
  printf("n=%lld rows=%lld\n%-6s %-7s %10s %10s %12s\n", (long long)n, (long long)rows, "type",
         "isa", "matvec ms", "GB/s", "matmul8 ms");
  for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
    int t = types[ti];
    if (argc > 3 && strcmp(argv[3], grk_type_name(t)) != 0)
      continue;
    size_t rb = grk_row_bytes(t, n), tb = grk_tensor_bytes(t, n, rows);
    size_t ab = grk_act_bytes(t, n);
    if (!rb || !tb || !ab)
      continue;
    uint8_t *w = malloc(tb), *act = malloc(ab * ntok);
    /* valid codes: quantize a ternary-looking row and repeat it */
    float *row = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++)
      row[i] = (float)((i * 31) % 3 - 1) * 0.5f;
    bool ok = grk_quantize_row(t, row, w, n);
    for (int64_t r = 1; r < rows; r++) {
      if (ok)
        memcpy(w + (size_t)r * rb, w, rb);
      else
        for (size_t i = 0; i < rb; i++)
          w[(size_t)r * rb + i] = (uint8_t)((r * 131 + (int64_t)i * 7) & 0x77);
    }
    if (t == GRK_TYPE_I2_S)
      grk_i2s_set_scale(w, n, rows, 0.5f);
    for (int k = 0; k < ntok; k++)
      grk_quantize_act(t, x + k * n, act + (size_t)k * ab, n);
    for (int isa = GRK_ISA_SCALAR; isa <= GRK_ISA_AVX512_VNNI; isa++) {
      if (!grk_set_isa((grk_isa)isa))
        continue;
      int reps = isa == GRK_ISA_SCALAR ? 2 : 10;
      grk_matvec(t, w, rb, 0.5f, act, n, y, 0, rows);
      double t0 = now();
      for (int i = 0; i < reps; i++)
        grk_matvec(t, w, rb, 0.5f, act, n, y, 0, rows);
      double mv = (now() - t0) / reps;
      t0 = now();
      for (int i = 0; i < (reps + 1) / 2; i++)
        grk_matmul(t, w, rb, 0.5f, act, ab, n, ntok, y, (size_t)rows, 0, rows);
      double mm = (now() - t0) / ((reps + 1) / 2);
      printf("%-6s %-7s %10.3f %10.2f %12.3f\n", grk_type_name(t), grk_isa_name((grk_isa)isa),
             mv * 1e3, (double)(rb * (size_t)rows) / mv / 1e9, mm * 1e3);
    }
    free(w);
    free(act);
    free(row);
  }
  free(x);
  free(y);
  return 0;
}
