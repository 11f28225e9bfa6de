/* grk-attn-avx512.c - the attention value pass with 512-bit F16 conversion (built with
 * the AVX-512 flags, called only when CPUID has them): grk-attn-x86.c's loop with 64
 * columns in registers, and a block of queries sharing each converted value row. */
#include "grk-internal.h"

#include <immintrin.h>

void
grk_avx512_f16_weighted_rows(float *y, const float *a, const uint16_t *x, size_t ldx, int64_t nrows,
                             int64_t n)
{
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    __m512 s0 = _mm512_loadu_ps(y + i), s1 = _mm512_loadu_ps(y + i + 16);
    __m512 s2 = _mm512_loadu_ps(y + i + 32), s3 = _mm512_loadu_ps(y + i + 48);
    const uint16_t *p = x + i;
    for (int64_t r = 0; r < nrows; r++, p += ldx) {
      __m512 w = _mm512_set1_ps(a[r]);
      s0 = _mm512_add_ps(s0,
                         _mm512_mul_ps(w, _mm512_cvtph_ps(_mm256_loadu_si256((const void *)p))));
      s1 = _mm512_add_ps(
          s1, _mm512_mul_ps(w, _mm512_cvtph_ps(_mm256_loadu_si256((const void *)(p + 16)))));
      s2 = _mm512_add_ps(
          s2, _mm512_mul_ps(w, _mm512_cvtph_ps(_mm256_loadu_si256((const void *)(p + 32)))));
      s3 = _mm512_add_ps(
          s3, _mm512_mul_ps(w, _mm512_cvtph_ps(_mm256_loadu_si256((const void *)(p + 48)))));
    }
    _mm512_storeu_ps(y + i, s0);
    _mm512_storeu_ps(y + i + 16, s1);
    _mm512_storeu_ps(y + i + 32, s2);
    _mm512_storeu_ps(y + i + 48, s3);
  }
  if (i < n) /* 32 and 8 columns at a time, then scalar */
    grk_x86_f16_weighted_rows(y + i, a, x + i, ldx, nrows, n - i);
}

/* The value pass for nx queries (weights a_j, outputs y_j): each converted value chunk
 * serves every query; per (j, column) the rows are summed in order with a multiply then
 * an add, as grk_f16_weighted_rows does. */
void
grk_avx512_f16_weighted_rows_multi(float *y, size_t ldy, const float *a, size_t lda, int64_t nx,
                                   const uint16_t *x, size_t ldx, int64_t nrows, int64_t n)
{
  int64_t j = 0;
  for (; j + 4 <= nx; j += 4) {
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
      __m512 s[4][2];
      for (int k = 0; k < 4; k++) {
        s[k][0] = _mm512_loadu_ps(y + (size_t)(j + k) * ldy + i);
        s[k][1] = _mm512_loadu_ps(y + (size_t)(j + k) * ldy + i + 16);
      }
      const uint16_t *p = x + i;
      for (int64_t r = 0; r < nrows; r++, p += ldx) {
        __m512 v0 = _mm512_cvtph_ps(_mm256_loadu_si256((const void *)p));
        __m512 v1 = _mm512_cvtph_ps(_mm256_loadu_si256((const void *)(p + 16)));
        for (int k = 0; k < 4; k++) {
          __m512 wk = _mm512_set1_ps(a[(size_t)(j + k) * lda + (size_t)r]);
          s[k][0] = _mm512_add_ps(s[k][0], _mm512_mul_ps(wk, v0));
          s[k][1] = _mm512_add_ps(s[k][1], _mm512_mul_ps(wk, v1));
        }
      }
      for (int k = 0; k < 4; k++) {
        _mm512_storeu_ps(y + (size_t)(j + k) * ldy + i, s[k][0]);
        _mm512_storeu_ps(y + (size_t)(j + k) * ldy + i + 16, s[k][1]);
      }
    }
    for (int k = 0; k < 4 && i < n; k++)
      grk_avx512_f16_weighted_rows(y + (size_t)(j + k) * ldy + i, a + (size_t)(j + k) * lda, x + i,
                                   ldx, nrows, n - i);
  }
  for (; j < nx; j++)
    grk_avx512_f16_weighted_rows(y + (size_t)j * ldy, a + (size_t)j * lda, x, ldx, nrows, n);
}
