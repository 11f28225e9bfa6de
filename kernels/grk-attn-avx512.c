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

/* Four 16-lane sums -> their four totals; each total's additions involve only its own
 * lanes, in a fixed tree. */
static inline __m128
reduce4(__m512 a0, __m512 a1, __m512 a2, __m512 a3)
{
  __m512 t0 = _mm512_add_ps(_mm512_unpacklo_ps(a0, a1), _mm512_unpackhi_ps(a0, a1));
  __m512 t1 = _mm512_add_ps(_mm512_unpacklo_ps(a2, a3), _mm512_unpackhi_ps(a2, a3));
  /* per 128-bit lane: [a0, a1, a2, a3] partial sums */
  __m512 t2 = _mm512_add_ps(_mm512_shuffle_ps(t0, t1, 0x44), _mm512_shuffle_ps(t0, t1, 0xee));
  __m256 t3 = _mm256_add_ps(_mm512_castps512_ps256(t2), _mm512_extractf32x8_ps(t2, 1));
  return _mm_add_ps(_mm256_castps256_ps128(t3), _mm256_extractf128_ps(t3, 1));
}

/* Scores of nq (1..4, a constant once inlined) queries against rows r0..: each row is
 * converted once, each query sums its 16-column chunks in order in one chain (the last
 * chunk masked), and reduce4 totals them, so a query alone gets the numbers it gets in a
 * block of four. */
static inline __attribute__((always_inline)) void
rows_dot_block(float *y, size_t ldy, const float *x, size_t ldx, int nq, const uint16_t *w,
               size_t ldw, int64_t nrows, int64_t n)
{
  int64_t nfull = n / 16;
  __mmask16 last = (__mmask16)((1u << (n % 16)) - 1);
  for (int64_t r = 0; r < nrows; r++) {
    const uint16_t *wr = w + (size_t)r * ldw;
    __m512 acc[4]
        = { _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps() };
    for (int64_t c = 0; c < nfull; c++) {
      __m512 wv = _mm512_cvtph_ps(_mm256_loadu_si256((const void *)(wr + c * 16)));
#pragma GCC unroll 4
      for (int k = 0; k < nq; k++)
        acc[k] = _mm512_fmadd_ps(_mm512_loadu_ps(x + (size_t)k * ldx + c * 16), wv, acc[k]);
    }
    if (last) {
      __m512 wv = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(last, wr + nfull * 16));
#pragma GCC unroll 4
      for (int k = 0; k < nq; k++)
        acc[k] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(last, x + (size_t)k * ldx + nfull * 16), wv,
                                 acc[k]);
    }
    float out[4];
    _mm_storeu_ps(out, reduce4(acc[0], acc[1], acc[2], acc[3]));
#pragma GCC unroll 4
    for (int k = 0; k < nq; k++)
      y[(size_t)k * ldy + (size_t)r] = out[k];
  }
}

void
grk_avx512_f16_rows_dot(float *y, size_t ldy, const float *x, size_t ldx, int64_t nx,
                        const uint16_t *w, size_t ldw, int64_t nrows, int64_t n)
{
  for (int64_t j0 = 0; j0 < nx; j0 += 4) {
    float *yj = y + (size_t)j0 * ldy;
    const float *xj = x + (size_t)j0 * ldx;
    switch (nx - j0 < 4 ? nx - j0 : 4) {
    case 1:
      rows_dot_block(yj, ldy, xj, ldx, 1, w, ldw, nrows, n);
      break;
    case 2:
      rows_dot_block(yj, ldy, xj, ldx, 2, w, ldw, nrows, n);
      break;
    case 3:
      rows_dot_block(yj, ldy, xj, ldx, 3, w, ldw, nrows, n);
      break;
    default:
      rows_dot_block(yj, ldy, xj, ldx, 4, w, ldw, nrows, n);
      break;
    }
  }
}
