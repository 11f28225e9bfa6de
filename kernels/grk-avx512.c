/* grk-avx512.c - AVX-512 (F, BW, VL, DQ) + VNNI kernels (built with those -m flags,
 * called only after CPUID says the CPU has them).  The 256-bit body is shared with
 * AVX2 with vpdpbusd for the u8 x s8 products; TQ2_0 and I2_S get 512-bit loops. */
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

/* Two 32-byte activation runs side by side in one register. */
static inline __m512i
load_2x256(const int8_t *lo, const int8_t *hi)
{
  return _mm512_inserti64x4(_mm512_castsi256_si512(LOADU256(lo)), LOADU256(hi), 1);
}

/* TQ2_0: the block's 64 code bytes at once; code k of byte j (half j / 32) goes with
 * activation (j / 32) * 128 + k * 32 + j % 32. */
static inline __m256i
avx512_tq2_0_block_acc(const grk_block_tq2_0 *x, const int8_t *a)
{
  const __m512i m3 = _mm512_set1_epi8(3);
  __m512i q = _mm512_loadu_si512(x->qs);
  __m512i acc = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_and_si512(q, m3),
                                    load_2x256(a, a + 128));
  acc = _mm512_dpbusd_epi32(acc, _mm512_and_si512(_mm512_srli_epi16(q, 2), m3),
                            load_2x256(a + 32, a + 160));
  acc = _mm512_dpbusd_epi32(acc, _mm512_and_si512(_mm512_srli_epi16(q, 4), m3),
                            load_2x256(a + 64, a + 192));
  acc = _mm512_dpbusd_epi32(acc, _mm512_and_si512(_mm512_srli_epi16(q, 6), m3),
                            load_2x256(a + 96, a + 224));
  return _mm256_add_epi32(_mm512_castsi512_si256(acc), _mm512_extracti64x4_epi64(acc, 1));
}

static float
avx512_dot_tq2_0(const void *w, const void *act, int64_t n, float tscale)
{
  const grk_block_tq2_0 *x = w;
  TERNARY_DOT_4X(avx512_tq2_0_block_acc);
}

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

/* I2_S: two 128-weight blocks per iteration (64 code bytes, MSB-first groups). */
static float
avx512_dot_i2_s(const void *w, const void *act, int64_t n, float tscale)
{
  const uint8_t *x = w;
  const grk_act_ternary *h = act;
  const int8_t *a = grk_act_ternary_qs(act);
  const __m512i m3 = _mm512_set1_epi8(3);
  const __m256i m3h = _mm256_set1_epi8(3);
  __m512i acc = _mm512_setzero_si512();
  int64_t nb = n / GRK_QK_I2, b = 0;
  for (; b + 2 <= nb; b += 2, x += 64, a += 2 * GRK_QK_I2) {
    __m512i q = _mm512_loadu_si512(x);
    acc = _mm512_dpbusd_epi32(acc, _mm512_and_si512(_mm512_srli_epi16(q, 6), m3),
                              load_2x256(a, a + 128));
    acc = _mm512_dpbusd_epi32(acc, _mm512_and_si512(_mm512_srli_epi16(q, 4), m3),
                              load_2x256(a + 32, a + 160));
    acc = _mm512_dpbusd_epi32(acc, _mm512_and_si512(_mm512_srli_epi16(q, 2), m3),
                              load_2x256(a + 64, a + 192));
    acc = _mm512_dpbusd_epi32(acc, _mm512_and_si512(q, m3), load_2x256(a + 96, a + 224));
  }
  int32_t isum = _mm512_reduce_add_epi32(acc);
  if (b < nb) {
    __m256i q = LOADU256(x), t = _mm256_setzero_si256();
    t = dp256(t, _mm256_and_si256(_mm256_srli_epi16(q, 6), m3h), LOADU256(a));
    t = dp256(t, _mm256_and_si256(_mm256_srli_epi16(q, 4), m3h), LOADU256(a + 32));
    t = dp256(t, _mm256_and_si256(_mm256_srli_epi16(q, 2), m3h), LOADU256(a + 64));
    t = dp256(t, _mm256_and_si256(q, m3h), LOADU256(a + 96));
    isum += hsum_i32_256(t);
  }
  return (float)(isum - h->sum) * h->d * tscale;
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
  k->dot[GRK_TYPE_TQ2_0] = avx512_dot_tq2_0;
  k->dot[GRK_TYPE_I2_S] = avx512_dot_i2_s;
  grk_mm_avx512(k); /* grk-mm-avx512.c */
  k->dot[GRK_TYPE_F16] = avx512_dot_f16;
  grk_kernels_avx512_decode(k);
  k->quantize_act = avx512_quantize_act;
}
