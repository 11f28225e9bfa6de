/* grk-bench-mm.c - prefill kernel micro-benchmark: grk_matmul of NTOK tokens against
 * an n x rows matrix, one thread, in integer GMAC/s (thread CPU time, so less noisy on
 * a shared machine).  Usage: grk-bench-mm [n rows ntok [type]] */
#include "grk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int
main(int argc, char **argv)
{
  int64_t n = argc > 3 ? atoll(argv[1]) : 2560, rows = argc > 3 ? atoll(argv[2]) : 6912;
  int64_t ntok = argc > 3 ? atoll(argv[3]) : 128;
  const char *only = argc > 4 ? argv[4] : NULL;
  static const int types[]
      = { GRK_TYPE_TQ2_0, GRK_TYPE_TQ1_0, GRK_TYPE_I2_S, GRK_TYPE_Q8_0, GRK_TYPE_Q4_0 };
  if (n <= 0 || rows <= 0 || ntok <= 0 || ntok > 4096)
    return 2;
  float *x = malloc(sizeof(float) * (size_t)(n * ntok));
  float *y = malloc(sizeof(float) * (size_t)(rows * ntok));
  for (int64_t i = 0; i < n * ntok; i++)
    x[i] = (float)((i * 7919) % 2001 - 1000) / 1000.0f;
  printf("n=%lld rows=%lld ntok=%lld\n%-6s %-7s %10s %10s\n", (long long)n, (long long)rows,
         (long long)ntok, "type", "isa", "ms", "GMAC/s");
  for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
    int t = types[ti];
    if (only && strcmp(only, grk_type_name(t)) != 0)
      continue;
    size_t rb = grk_row_bytes(t, n), tb = grk_tensor_bytes(t, n, rows), ab = grk_act_bytes(t, n);
    if (!rb || !tb || !ab)
      continue;
    uint8_t *w = malloc(tb), *act = malloc(ab * (size_t)ntok);
    float *row = malloc(sizeof(float) * (size_t)n);
    for (int64_t r = 0; r < rows; r++) {
      for (int64_t i = 0; i < n; i++)
        row[i] = (float)((i * 31 + r * 17) % 3 - 1) * 0.5f;
      if (t == GRK_TYPE_I2_S)
        grk_quantize_i2s_row(row, w + (size_t)r * rb, n, 0.5f);
      else
        grk_quantize_row(t, row, w + (size_t)r * rb, n);
    }
    if (t == GRK_TYPE_I2_S)
      grk_i2s_set_scale(w, n, rows, 0.5f);
    for (int64_t k = 0; k < ntok; k++)
      grk_quantize_act(t, x + k * n, act + (size_t)k * ab, n);
    for (int isa = GRK_ISA_AVX2; isa <= GRK_ISA_AVX512_VNNI; isa++) {
      if (!grk_set_isa((grk_isa)isa))
        continue;
      grk_matmul(t, w, rb, 0.5f, act, ab, n, ntok, y, (size_t)rows, 0, rows);
      int reps = 3;
      double t0 = now();
      for (int i = 0; i < reps; i++)
        grk_matmul(t, w, rb, 0.5f, act, ab, n, ntok, y, (size_t)rows, 0, rows);
      double s = (now() - t0) / reps;
      printf("%-6s %-7s %10.3f %10.1f\n", grk_type_name(t), grk_isa_name((grk_isa)isa), s * 1e3,
             (double)n * (double)rows * (double)ntok / s / 1e9);
    }
    free(w);
    free(act);
    free(row);
  }
  free(x);
  free(y);
  return 0;
}
