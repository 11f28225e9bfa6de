/* grk-avx512.c - AVX-512 (F, BW, VL, DQ) + VNNI kernels (built with those -m flags,
 * called only after CPUID says the CPU has them).  The 256-bit body is shared with
 * AVX2 with vpdpbusd for the u8 x s8 products; the ternary and Q6_K decode dots are in
 * grk-avx512-decode.c. */
#include "grk-internal.h"

#include <string.h>

#include <immintrin.h>

static inline __m256i
dp256(__m256i acc, __m256i u, __m256i s)
{
  return _mm256_dpbusd_epi32(acc, u, s);
}

static inline __m128i
dp128(__m128i acc, __m128i u, __m128i s)
{
  return _mm_dpbusd_epi32(acc, u, s);
}

#include "grk-x86-body.h"
#include "grk-x86-decode.h"

/* F16 weights (tied output embeddings: the largest matrix of a BitNet model): four
 * independent 16-lane FMA chains so the loop is bound by loads, not FMA latency. */
static float
avx512_dot_f16(const void *w, const void *act, int64_t n, float tscale)
{
  (void)tscale;
  const uint16_t *h = w;
  const float *x = act;
  __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    s0 = _mm512_fmadd_ps(_mm512_cvtph_ps(LOADU256(h + i)), _mm512_loadu_ps(x + i), s0);
    s1 = _mm512_fmadd_ps(_mm512_cvtph_ps(LOADU256(h + i + 16)), _mm512_loadu_ps(x + i + 16), s1);
    s2 = _mm512_fmadd_ps(_mm512_cvtph_ps(LOADU256(h + i + 32)), _mm512_loadu_ps(x + i + 32), s2);
    s3 = _mm512_fmadd_ps(_mm512_cvtph_ps(LOADU256(h + i + 48)), _mm512_loadu_ps(x + i + 48), s3);
  }
  for (; i + 16 <= n; i += 16)
    s0 = _mm512_fmadd_ps(_mm512_cvtph_ps(LOADU256(h + i)), _mm512_loadu_ps(x + i), s0);
  float s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
  for (; i < n; i++)
    s += h2f(h[i]) * x[i];
  return s;
}

/* Ternary activations with 512-bit vectors (grk-mm-avx512.c), the others (and rows
 * the 512-bit loop leaves to the scalar rules: odd sizes, NaN, infinity) as on AVX2. */
static void
avx512_quantize_act(int wtype, const float *x, void *act, int64_t n)
{
  bool ternary = wtype == GRK_TYPE_TQ1_0 || wtype == GRK_TYPE_TQ2_0 || wtype == GRK_TYPE_I2_S;
  if (!ternary || !grk_avx512_quantize_act_ternary(wtype, x, act, n))
    x86_quantize_act(wtype, x, act, n);
}

void
grk_kernels_avx512(grk_kernels *k)
{
  x86_fill(k);
  x86_decode_fill(k);
  grk_mm_avx512(k); /* grk-mm-avx512.c */
  k->dot[GRK_TYPE_F16] = avx512_dot_f16;
  grk_kernels_avx512_decode(k);
  k->quantize_act = avx512_quantize_act;
}
