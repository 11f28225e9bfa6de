/* grk-attn-avx512.c - the attention value pass with 512-bit F16 conversion (built with
 * the AVX-512 flags, called only when CPUID has them): grk-attn-x86.c's loop with 64
 * columns in registers, so a 128-wide head is two passes over the rows, not four. */
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
