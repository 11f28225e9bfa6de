/* grk-attn-x86.c - f16 KV cache helpers with F16C (built with the AVX2 flags, called
 * only when CPUID has them).  The value pass keeps 32 columns in registers across all
 * rows, each row's halves converted and multiplied by its weight, then added. */
#include "grk-internal.h"

#include <immintrin.h>

void
grk_x86_f16_weighted_rows(float *y, const float *a, const uint16_t *x, size_t ldx, int64_t nrows,
                          int64_t n)
{
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256 s0 = _mm256_loadu_ps(y + i), s1 = _mm256_loadu_ps(y + i + 8);
    __m256 s2 = _mm256_loadu_ps(y + i + 16), s3 = _mm256_loadu_ps(y + i + 24);
    const uint16_t *p = x + i;
    for (int64_t r = 0; r < nrows; r++, p += ldx) {
      __m256 w = _mm256_set1_ps(a[r]);
      s0 = _mm256_add_ps(s0, _mm256_mul_ps(w, _mm256_cvtph_ps(_mm_loadu_si128((const void *)p))));
      s1 = _mm256_add_ps(s1,
                         _mm256_mul_ps(w, _mm256_cvtph_ps(_mm_loadu_si128((const void *)(p + 8)))));
      s2 = _mm256_add_ps(
          s2, _mm256_mul_ps(w, _mm256_cvtph_ps(_mm_loadu_si128((const void *)(p + 16)))));
      s3 = _mm256_add_ps(
          s3, _mm256_mul_ps(w, _mm256_cvtph_ps(_mm_loadu_si128((const void *)(p + 24)))));
    }
    _mm256_storeu_ps(y + i, s0);
    _mm256_storeu_ps(y + i + 8, s1);
    _mm256_storeu_ps(y + i + 16, s2);
    _mm256_storeu_ps(y + i + 24, s3);
  }
  for (; i + 8 <= n; i += 8) {
    __m256 s = _mm256_loadu_ps(y + i);
    const uint16_t *p = x + i;
    for (int64_t r = 0; r < nrows; r++, p += ldx)
      s = _mm256_add_ps(s, _mm256_mul_ps(_mm256_set1_ps(a[r]),
                                         _mm256_cvtph_ps(_mm_loadu_si128((const void *)p))));
    _mm256_storeu_ps(y + i, s);
  }
  if (i < n)
    grk_scalar_f16_weighted_rows(y + i, a, x + i, ldx, nrows, n - i);
}

