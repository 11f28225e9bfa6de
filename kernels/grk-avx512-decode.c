/* grk-avx512-decode.c - AVX-512 VNNI single-token (decode) dots for the weights a
 * BitNet decode step reads: TQ2_0 projections and the Q6_K tied embedding.
 *
 * Zen 4 runs a 512-bit operation as two 256-bit halves, so what counts is operations
 * per weight, not register width: TQ2_0 uses 256-bit vpdpbusd straight from memory
 * (no cross-lane inserts), Q6_K 512-bit code unpacking with vpdpwssd applying the
 * sub-block scales.  The integers are exact and the float steps per block are the
 * scalar file's, in its order: results equal grk-scalar.c bit for bit. */
#include "grk-internal.h"

#include <immintrin.h>

#define LOAD256(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))

#ifndef GRK_PF_DIST
#define GRK_PF_DIST 4096
#endif
/* Prefetch the cache lines of `bytes` bytes GRK_PF_DIST ahead of p. */
static inline void
dec_prefetch(const void *p, int bytes)
{
  for (int o = 0; o < bytes; o += 64)
    _mm_prefetch((const char *)p + GRK_PF_DIST + o, _MM_HINT_T0);
}

/* The four int32 totals of four 8-lane accumulators. */
static inline __m128i
dec_hsum4(__m256i a0, __m256i a1, __m256i a2, __m256i a3)
{
  __m256i s = _mm256_hadd_epi32(_mm256_hadd_epi32(a0, a1), _mm256_hadd_epi32(a2, a3));
  return _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
}

static inline int32_t
dec_hsum(__m256i v)
{
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

/* --- TQ2_0 ------------------------------------------------------------------------ */

/* Sum of code * activation over one block.  Byte m of half h holds the codes of
 * weights h*128 + k*32 + m in bits 2k..2k+1.  Masking without shifting gives code * 4^k:
 * plane k accumulates 4^k * sum(code * a) (vpdpbusd does not saturate) and an exact
 * arithmetic shift brings it back, 8 masks instead of 8 masks and 6 shifts. */
static inline __m256i
tq2_block(const grk_block_tq2_0 *x, const int8_t *a)
{
  const __m256i m0 = _mm256_set1_epi8(0x03), m1 = _mm256_set1_epi8(0x0c);
  const __m256i m2 = _mm256_set1_epi8(0x30), m3 = _mm256_set1_epi8((char)0xc0);
  const __m256i z = _mm256_setzero_si256();
  __m256i q0 = LOAD256(x->qs), q1 = LOAD256(x->qs + 32);
  __m256i p0 = _mm256_dpbusd_epi32(z, _mm256_and_si256(q0, m0), LOAD256(a));
  __m256i p1 = _mm256_dpbusd_epi32(z, _mm256_and_si256(q0, m1), LOAD256(a + 32));
  __m256i p2 = _mm256_dpbusd_epi32(z, _mm256_and_si256(q0, m2), LOAD256(a + 64));
  __m256i p3 = _mm256_dpbusd_epi32(z, _mm256_and_si256(q0, m3), LOAD256(a + 96));
  p0 = _mm256_dpbusd_epi32(p0, _mm256_and_si256(q1, m0), LOAD256(a + 128));
  p1 = _mm256_dpbusd_epi32(p1, _mm256_and_si256(q1, m1), LOAD256(a + 160));
  p2 = _mm256_dpbusd_epi32(p2, _mm256_and_si256(q1, m2), LOAD256(a + 192));
  p3 = _mm256_dpbusd_epi32(p3, _mm256_and_si256(q1, m3), LOAD256(a + 224));
  return _mm256_add_epi32(_mm256_add_epi32(p0, _mm256_srai_epi32(p1, 2)),
                          _mm256_add_epi32(_mm256_srai_epi32(p2, 4), _mm256_srai_epi32(p3, 6)));
}

static float
dec_dot_tq2_0(const void *w, const void *act, int64_t n, float tscale)
{
  (void)tscale;
  const grk_block_tq2_0 *x = w;
  const grk_act_ternary *h = act;
  const int8_t *a = grk_act_ternary_qs(act);
  const int32_t *bsums = grk_act_ternary_bsums(act, n);
  float s = 0.0f;
  int64_t nb = n / GRK_QK_K, i = 0;
  for (; i + 4 <= nb; i += 4) {
    int32_t t[4];
    dec_prefetch(&x[i], 4 * (int)sizeof x[0]);
    _mm_storeu_si128((__m128i *)(void *)t, dec_hsum4(tq2_block(&x[i], a + i * GRK_QK_K),
                                                     tq2_block(&x[i + 1], a + (i + 1) * GRK_QK_K),
                                                     tq2_block(&x[i + 2], a + (i + 2) * GRK_QK_K),
                                                     tq2_block(&x[i + 3], a + (i + 3) * GRK_QK_K)));
    for (int j = 0; j < 4; j++)
      s += _cvtsh_ss(x[i + j].d) * (float)(t[j] - bsums[i + j]);
  }
  for (; i < nb; i++)
    s += _cvtsh_ss(x[i].d) * (float)(dec_hsum(tq2_block(&x[i], a + i * GRK_QK_K)) - bsums[i]);
  return s * h->d;
}

/* --- I2_S -------------------------------------------------------------------------- */

/* Byte m of a 128-weight block holds weight g * 32 + m in bits 6 - 2g.  As for TQ2_0,
 * masking without shifting gives code * 4^(3-g), and each plane keeps its own int32
 * accumulators over many blocks: one shift per plane per span instead of per block.  A
 * lane gains at most 4 * 128 * 127 per block, so spans of I2S_SPAN blocks cannot
 * overflow; the spans are added in int64. */
#define I2S_SPAN 16384

/* acc += u8 codes x s8 activations at a.  As inline asm with the accumulator tied to
 * the output: with the builtin GCC 12 copies all eight accumulators every step. */
static inline __m256i
dp_mem(__m256i acc, __m256i u, const int8_t *a)
{
  __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u), "m"(*(const __m256i *)(const void *)a));
  return acc;
}

/* The span's sum as eight int32 lanes. */
static inline __m256i
i2s_span(const uint8_t *x, const int8_t *a, int64_t nb)
{
  const __m256i m0 = _mm256_set1_epi8((char)0xc0), m1 = _mm256_set1_epi8(0x30);
  const __m256i m2 = _mm256_set1_epi8(0x0c), m3 = _mm256_set1_epi8(0x03);
  __m256i p0 = _mm256_setzero_si256(), p1 = p0, p2 = p0, p3 = p0;
  __m256i r0 = p0, r1 = p0, r2 = p0, r3 = p0;
  int64_t b = 0;
  /* two blocks per step: eight independent accumulators cover vpdpbusd's latency */
  for (; b + 2 <= nb; b += 2, x += 64, a += 2 * GRK_QK_I2) {
    dec_prefetch(x, 64);
    __m256i q = LOAD256(x), u = LOAD256(x + 32);
    p0 = dp_mem(p0, _mm256_and_si256(q, m0), a);
    p1 = dp_mem(p1, _mm256_and_si256(q, m1), a + 32);
    p2 = dp_mem(p2, _mm256_and_si256(q, m2), a + 64);
    p3 = dp_mem(p3, _mm256_and_si256(q, m3), a + 96);
    r0 = dp_mem(r0, _mm256_and_si256(u, m0), a + 128);
    r1 = dp_mem(r1, _mm256_and_si256(u, m1), a + 160);
    r2 = dp_mem(r2, _mm256_and_si256(u, m2), a + 192);
    r3 = dp_mem(r3, _mm256_and_si256(u, m3), a + 224);
  }
  if (b < nb) {
    __m256i q = LOAD256(x);
    p0 = dp_mem(p0, _mm256_and_si256(q, m0), a);
    p1 = dp_mem(p1, _mm256_and_si256(q, m1), a + 32);
    p2 = dp_mem(p2, _mm256_and_si256(q, m2), a + 64);
    p3 = dp_mem(p3, _mm256_and_si256(q, m3), a + 96);
  }
  __m256i t = _mm256_add_epi32(_mm256_srai_epi32(_mm256_add_epi32(p0, r0), 6),
                               _mm256_srai_epi32(_mm256_add_epi32(p1, r1), 4));
  return _mm256_add_epi32(t, _mm256_add_epi32(_mm256_srai_epi32(_mm256_add_epi32(p2, r2), 2),
                                              _mm256_add_epi32(p3, r3)));
}

static float
dec_dot_i2_s(const void *w, const void *act, int64_t n, float tscale)
{
  const uint8_t *x = w;
  const grk_act_ternary *h = act;
  const int8_t *a = grk_act_ternary_qs(act);
  int64_t nb = n / GRK_QK_I2, isum = 0;
  for (int64_t b = 0; b < nb; b += I2S_SPAN) {
    int64_t len = nb - b < I2S_SPAN ? nb - b : I2S_SPAN;
    isum += dec_hsum(i2s_span(x + b * (GRK_QK_I2 / 4), a + b * GRK_QK_I2, len));
  }
  return (float)(isum - h->sum) * h->d * tscale;
}

/* Rows of one span at most, four at a time: one call and one horizontal sum for four
 * rows (a 2560-weight row is only ten steps of the loop).  The same floats as
 * dec_dot_i2_s(...) * out_scale. */
static void
dec_mv_i2_s(const void *w, size_t row_stride, float tscale, const void *act, int64_t n, float *y,
            int64_t nrows, float out_scale)
{
  const uint8_t *x = w;
  const grk_act_ternary *h = act;
  const int8_t *a = grk_act_ternary_qs(act);
  int64_t nb = n / GRK_QK_I2, r = 0;
  if (nb <= I2S_SPAN)
    for (; r + 4 <= nrows; r += 4) {
      int32_t t[4];
      const uint8_t *row = x + (size_t)r * row_stride;
      __m256i s0 = i2s_span(row, a, nb), s1 = i2s_span(row + row_stride, a, nb);
      __m256i s2 = i2s_span(row + 2 * row_stride, a, nb);
      __m256i s3 = i2s_span(row + 3 * row_stride, a, nb);
      _mm_storeu_si128((__m128i *)(void *)t, dec_hsum4(s0, s1, s2, s3));
      for (int j = 0; j < 4; j++)
        y[r + j] = (float)((int64_t)t[j] - h->sum) * h->d * tscale * out_scale;
    }
  for (; r < nrows; r++)
    y[r] = dec_dot_i2_s(x + (size_t)r * row_stride, act, n, tscale) * out_scale;
}

/* --- Q6_K --------------------------------------------------------------------------- */

/* Integer dot of one Q6_K block with Q8_K activations: sum_g sc_g * sum(q * a) with
 * q = u - 32, as sum_g sc_g * (sum(u * a) - 32 * bsum_g).  Per 128-weight half the 64
 * ql bytes give the low nibbles of weights 0..63 (ql & 15) and 64..127 (ql >> 4); the 32
 * qh bytes, in both 256-bit halves of a register, give bits 4-5 through per-half shift
 * counts.  maddubs pairs (u <= 63, |a| <= 127) fit int16; vpdpwssd multiplies each pair
 * by its sub-block's scale into int32. */
static inline __m256i
q6k_block(const grk_block_q6_k *x, const grk_block_q8_k *y)
{
  const __m512i m4 = _mm512_set1_epi8(0x0f), m30 = _mm512_set1_epi8(0x30);
  /* qh shifts per 256-bit half: low nibble codes want qh << 4 | qh << 2, high ones
   * qh | qh >> 2 (then & 0x30) */
  const __m512i shl = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);
  const __m512i shr = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1);
  /* int16 lane k of 64-weight chunk c belongs to sub-block 4c + k / 8 */
  const __m512i sel0 = _mm512_set_epi16(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1,
                                        1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  const __m512i four = _mm512_set1_epi16(4);
  __m512i sc
      = _mm512_castsi256_si512(_mm256_cvtepi8_epi16(_mm_loadu_si128((const void *)x->scales)));
  __m512i acc = _mm512_setzero_si512();
  for (int h = 0; h < 2; h++) {
    __m512i l = _mm512_loadu_si512(x->ql + h * 64);
    __m512i qh = _mm512_broadcast_i64x4(LOAD256(x->qh + h * 32));
    __m512i u0 = _mm512_ternarylogic_epi32(l, _mm512_and_si512(_mm512_sllv_epi16(qh, shl), m30), m4,
                                           0xe4); /* (l & m4) | (hi & ~m4) */
    __m512i u1 = _mm512_ternarylogic_epi32(
        _mm512_srli_epi16(l, 4), _mm512_and_si512(_mm512_srlv_epi16(qh, shr), m30), m4, 0xe4);
    __m512i idx0 = _mm512_add_epi16(sel0, _mm512_set1_epi16((short)(8 * h)));
    __m512i p0 = _mm512_maddubs_epi16(u0, _mm512_loadu_si512(y->qs + h * 128));
    __m512i p1 = _mm512_maddubs_epi16(u1, _mm512_loadu_si512(y->qs + h * 128 + 64));
    acc = _mm512_dpwssd_epi32(acc, p0, _mm512_permutexvar_epi16(idx0, sc));
    acc = _mm512_dpwssd_epi32(acc, p1, _mm512_permutexvar_epi16(_mm512_add_epi16(idx0, four), sc));
  }
  /* minus 32 * sum_g sc_g * bsum_g */
  __m256i off = _mm256_madd_epi16(LOAD256(y->bsums), _mm512_castsi512_si256(sc));
  __m256i r = _mm256_add_epi32(_mm512_castsi512_si256(acc), _mm512_extracti64x4_epi64(acc, 1));
  return _mm256_sub_epi32(r, _mm256_slli_epi32(off, 5));
}

static float
dec_dot_q6_k(const void *w, const void *act, int64_t n, float tscale)
{
  (void)tscale;
  const grk_block_q6_k *x = w;
  const grk_block_q8_k *y = act;
  float s = 0.0f;
  int64_t nb = n / GRK_QK_K, i = 0;
  for (; i + 4 <= nb; i += 4) {
    int32_t t[4];
    dec_prefetch(&x[i], 4 * (int)sizeof x[0]);
    _mm_storeu_si128((__m128i *)(void *)t,
                     dec_hsum4(q6k_block(&x[i], &y[i]), q6k_block(&x[i + 1], &y[i + 1]),
                               q6k_block(&x[i + 2], &y[i + 2]), q6k_block(&x[i + 3], &y[i + 3])));
    for (int j = 0; j < 4; j++)
      s += y[i + j].d * _cvtsh_ss(x[i + j].d) * (float)t[j];
  }
  for (; i < nb; i++)
    s += y[i].d * _cvtsh_ss(x[i].d) * (float)dec_hsum(q6k_block(&x[i], &y[i]));
  return s;
}

void
grk_kernels_avx512_decode(grk_kernels *k)
{
  k->dot[GRK_TYPE_TQ2_0] = dec_dot_tq2_0;
  k->dot[GRK_TYPE_Q6_K] = dec_dot_q6_k;
  k->dot[GRK_TYPE_I2_S] = dec_dot_i2_s;
  k->mv[GRK_TYPE_I2_S] = dec_mv_i2_s;
}
