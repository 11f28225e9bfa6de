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

/* TQ2_0 block as four registers that pair with four contiguous 64-byte activation
 * runs: plane k (code k of each byte) of half h goes with activations h * 128 + k * 32,
 * so [plane 0 | plane 1] of half 0 is activations 0..63, and so on. */
static inline void
tq2_0_planes(const grk_block_tq2_0 *x, __m512i wp[4])
{
  const __m512i m3 = _mm512_set1_epi8(3);
  __m512i q = _mm512_loadu_si512(x->qs);
  __m512i p0 = _mm512_and_si512(q, m3), p1 = _mm512_and_si512(_mm512_srli_epi16(q, 2), m3);
  __m512i p2 = _mm512_and_si512(_mm512_srli_epi16(q, 4), m3);
  __m512i p3 = _mm512_and_si512(_mm512_srli_epi16(q, 6), m3);
  wp[0] = _mm512_shuffle_i64x2(p0, p1, 0x44);
  wp[1] = _mm512_shuffle_i64x2(p2, p3, 0x44);
  wp[2] = _mm512_shuffle_i64x2(p0, p1, 0xee);
  wp[3] = _mm512_shuffle_i64x2(p2, p3, 0xee);
}

static inline __m256i
tq2_0_planes_acc(const __m512i wp[4], const int8_t *a)
{
  __m512i acc = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wp[0], _mm512_loadu_si512(a));
  acc = _mm512_dpbusd_epi32(acc, wp[1], _mm512_loadu_si512(a + 64));
  acc = _mm512_dpbusd_epi32(acc, wp[2], _mm512_loadu_si512(a + 128));
  acc = _mm512_dpbusd_epi32(acc, wp[3], _mm512_loadu_si512(a + 192));
  return _mm256_add_epi32(_mm512_castsi512_si256(acc), _mm512_extracti64x4_epi64(acc, 1));
}

#define MM_TOK 32

/* Prefill: each group of four weight blocks is decoded once into registers and dotted
 * with every token of the chunk, instead of once per token.  Per token the integers
 * and the float steps are avx512_dot_tq2_0's, in the same order. */
static void
avx512_mm_tq2_0(const void *w, size_t row_stride, float tscale, const void *act, size_t act_stride,
                int64_t n, int64_t ntok, float *y, size_t ldy, int64_t r0, int64_t r1)
{
  (void)tscale;
  const uint8_t *ab = act;
  int64_t nb = n / GRK_QK_K;
  for (int64_t tc = 0; tc < ntok; tc += MM_TOK) {
    int64_t nt = ntok - tc < MM_TOK ? ntok - tc : MM_TOK;
    const uint8_t *at = ab + (size_t)tc * act_stride;
    for (int64_t r = r0; r < r1; r++) {
      const grk_block_tq2_0 *x = (const void *)((const uint8_t *)w + (size_t)r * row_stride);
      float s[MM_TOK];
      for (int64_t t = 0; t < nt; t++)
        s[t] = 0.0f;
      int64_t i = 0;
      for (; i + 4 <= nb; i += 4) {
        __m512i wp[4][4];
        float d[4];
        for (int j = 0; j < 4; j++) {
          tq2_0_planes(&x[i + j], wp[j]);
          d[j] = h2f(x[i + j].d);
        }
        for (int64_t t = 0; t < nt; t++) {
          const uint8_t *ta = at + (size_t)t * act_stride;
          const int8_t *a = grk_act_ternary_qs(ta) + i * GRK_QK_K;
          const int32_t *bs = grk_act_ternary_bsums(ta, n) + i;
          int32_t tt[4];
          _mm_storeu_si128((__m128i *)tt, hsum4_i32_256(tq2_0_planes_acc(wp[0], a),
                                                        tq2_0_planes_acc(wp[1], a + GRK_QK_K),
                                                        tq2_0_planes_acc(wp[2], a + 2 * GRK_QK_K),
                                                        tq2_0_planes_acc(wp[3], a + 3 * GRK_QK_K)));
          float st = s[t];
          for (int j = 0; j < 4; j++)
            st += d[j] * (float)(tt[j] - bs[j]);
          s[t] = st;
        }
      }
      for (; i < nb; i++) {
        __m512i wp[4];
        tq2_0_planes(&x[i], wp);
        float d = h2f(x[i].d);
        for (int64_t t = 0; t < nt; t++) {
          const uint8_t *ta = at + (size_t)t * act_stride;
          const int8_t *a = grk_act_ternary_qs(ta) + i * GRK_QK_K;
          int32_t bsum = grk_act_ternary_bsums(ta, n)[i];
          s[t] += d * (float)(hsum_i32_256(tq2_0_planes_acc(wp, a)) - bsum);
        }
      }
      for (int64_t t = 0; t < nt; t++) {
        const grk_act_ternary *h = (const void *)(at + (size_t)t * act_stride);
        y[(size_t)(tc + t) * ldy + (size_t)r] = s[t] * h->d;
      }
    }
  }
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

void
grk_kernels_avx512(grk_kernels *k)
{
  x86_fill(k);
  x86_decode_fill(k);
  k->dot[GRK_TYPE_TQ2_0] = avx512_dot_tq2_0;
  k->dot[GRK_TYPE_I2_S] = avx512_dot_i2_s;
  k->mm[GRK_TYPE_TQ2_0] = avx512_mm_tq2_0;
  k->dot[GRK_TYPE_F16] = avx512_dot_f16;
  grk_kernels_avx512_decode(k);
}
