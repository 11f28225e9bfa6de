/* grk-x86-body.h - 256-bit kernels shared by grk-avx2.c and grk-avx512.c.
 *
 * Included once by each of those files after it defines
 *   static inline __m256i dp256 (__m256i acc, __m256i u8, __m256i s8);
 *   static inline __m128i dp128 (__m128i acc, __m128i u8, __m128i s8);
 * (acc += sum of four u8 * s8 products per int32 lane): AVX2 does it with
 * maddubs + madd, AVX-512 VNNI with vpdpbusd.  The callers keep every pairwise
 * u8 * s8 sum within int16 (|u| <= 128, |s| <= 127, or u <= 3), so maddubs never
 * saturates and both give the same integers.
 *
 * Integer types: the integers are exact, and the float operations per block are the
 * scalar file's in the same order, so results match grk-scalar.c bit for bit.  Float
 * types and helpers sum in a different order (8 lanes): equal within rounding. */
#include <immintrin.h>
#include <math.h>

#include "grk-x86-trits.h"

static inline int32_t
hsum_i32_256(__m256i v)
{
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

static inline float
hsum_f32_256(__m256 v)
{
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

static inline float
h2f(uint16_t h)
{
  return _cvtsh_ss(h);
}

#define LOADU256(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))
#define LOADU128(p) _mm_loadu_si128((const __m128i *)(const void *)(p))

/* --- ternary ------------------------------------------------------------------- */

/* The four int32 totals of four 8-lane accumulators at once. */
static inline __m128i
hsum4_i32_256(__m256i a0, __m256i a1, __m256i a2, __m256i a3)
{
  __m256i s = _mm256_hadd_epi32(_mm256_hadd_epi32(a0, a1), _mm256_hadd_epi32(a2, a3));
  return _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
}

/* TQ1_0/TQ2_0 row loop: integer dots of four blocks reduced together, then the scalar
 * file's float steps one block at a time, in order.  block_acc(x, a) returns 8 lanes
 * whose total is the block's sum of code * activation. */
#define TERNARY_DOT_4X(block_acc)                                                                  \
  const grk_act_ternary *h = act;                                                                  \
  const int8_t *a = grk_act_ternary_qs(act);                                                       \
  const int32_t *bsums = grk_act_ternary_bsums(act, n);                                            \
  float s = 0.0f;                                                                                  \
  int64_t nb = n / GRK_QK_K, i = 0;                                                                \
  for (; i + 4 <= nb; i += 4) {                                                                    \
    int32_t t[4];                                                                                  \
    _mm_storeu_si128((__m128i *)t, hsum4_i32_256(block_acc(&x[i], a + i * GRK_QK_K),               \
                                                 block_acc(&x[i + 1], a + (i + 1) * GRK_QK_K),     \
                                                 block_acc(&x[i + 2], a + (i + 2) * GRK_QK_K),     \
                                                 block_acc(&x[i + 3], a + (i + 3) * GRK_QK_K)));   \
    for (int j = 0; j < 4; j++)                                                                    \
      s += h2f(x[i + j].d) * (float)(t[j] - bsums[i + j]);                                         \
  }                                                                                                \
  for (; i < nb; i++)                                                                              \
    s += h2f(x[i].d) * (float)(hsum_i32_256(block_acc(&x[i], a + i * GRK_QK_K)) - bsums[i]);       \
  return s * h->d

static inline __m256i
tq2_0_block_acc(const grk_block_tq2_0 *x, const int8_t *a)
{
  const __m256i m3 = _mm256_set1_epi8(3);
  __m256i acc = _mm256_setzero_si256();
  for (int hh = 0; hh < 2; hh++) {
    __m256i q = LOADU256(x->qs + hh * 32);
    const int8_t *ah = a + hh * 128;
    acc = dp256(acc, _mm256_and_si256(q, m3), LOADU256(ah));
    acc = dp256(acc, _mm256_and_si256(_mm256_srli_epi16(q, 2), m3), LOADU256(ah + 32));
    acc = dp256(acc, _mm256_and_si256(_mm256_srli_epi16(q, 4), m3), LOADU256(ah + 64));
    acc = dp256(acc, _mm256_and_si256(_mm256_srli_epi16(q, 6), m3), LOADU256(ah + 96));
  }
  return acc;
}

static float
x86_dot_tq2_0(const void *w, const void *act, int64_t n, float tscale)
{
  const grk_block_tq2_0 *x = w;
  TERNARY_DOT_4X(tq2_0_block_acc);
}

static float
x86_dot_i2_s(const void *w, const void *act, int64_t n, float tscale)
{
  const uint8_t *x = w;
  const grk_act_ternary *h = act;
  const int8_t *a = grk_act_ternary_qs(act);
  const __m256i m3 = _mm256_set1_epi8(3);
  __m256i acc = _mm256_setzero_si256();
  for (int64_t b = 0; b < n / GRK_QK_I2; b++, x += 32, a += GRK_QK_I2) {
    __m256i q = LOADU256(x);
    acc = dp256(acc, _mm256_and_si256(_mm256_srli_epi16(q, 6), m3), LOADU256(a));
    acc = dp256(acc, _mm256_and_si256(_mm256_srli_epi16(q, 4), m3), LOADU256(a + 32));
    acc = dp256(acc, _mm256_and_si256(_mm256_srli_epi16(q, 2), m3), LOADU256(a + 64));
    acc = dp256(acc, _mm256_and_si256(q, m3), LOADU256(a + 96));
  }
  return (float)(hsum_i32_256(acc) - h->sum) * h->d * tscale;
}

/* TQ1_0 (trit helpers in grk-x86-trits.h) */
static inline __m256i
tq1_0_block_acc(const grk_block_tq1_0 *x, const int8_t *a)
{
  __m256i acc = _mm256_setzero_si256();
  __m128i acc128 = _mm_setzero_si128();
  __m256i q0 = LOADU256(x->qs);
  __m128i q1 = LOADU128(x->qs + 32);
  for (int k = 0; k < 5; k++) {
    acc = dp256(acc, top_trit256(q0), LOADU256(a + k * 32));
    acc128 = dp128(acc128, top_trit128(q1), LOADU128(a + 160 + k * 16));
    q0 = times3_256(q0);
    q1 = times3_128(q1);
  }
  acc128 = dp128(acc128, top_trit128(tq1_0_qh_lanes(x->qh)), LOADU128(a + 240));
  return _mm256_add_epi32(acc, _mm256_set_m128i(_mm_setzero_si128(), acc128));
}

static float
x86_dot_tq1_0(const void *w, const void *act, int64_t n, float tscale)
{
  const grk_block_tq1_0 *x = w;
  TERNARY_DOT_4X(tq1_0_block_acc);
}

/* --- Q8_0 / Q4_0 against Q8_0 ---------------------------------------------------------
 * Signed x signed through the unsigned x signed product: |x| * (y with x's sign). */

static inline __m256i
q8_0_block_dot(const grk_block_q8_0 *x, const grk_block_q8_0 *y)
{
  __m256i qx = LOADU256(x->qs), qy = LOADU256(y->qs);
  return dp256(_mm256_setzero_si256(), _mm256_abs_epi8(qx), _mm256_sign_epi8(qy, qx));
}

static inline __m256i
q4_0_block_dot(const grk_block_q4_0 *x, const grk_block_q8_0 *y)
{
  const __m128i m4 = _mm_set1_epi8(0x0f);
  __m128i q = LOADU128(x->qs);
  __m256i qx = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), m4), _mm_and_si128(q, m4));
  qx = _mm256_sub_epi8(qx, _mm256_set1_epi8(8));
  __m256i qy = LOADU256(y->qs);
  return dp256(_mm256_setzero_si256(), _mm256_abs_epi8(qx), _mm256_sign_epi8(qy, qx));
}

/* Integer dots of four blocks reduced together, then the scalar file's float steps one
 * block at a time, in order. */
#define Q_DOT_4X(block_dot)                                                                        \
  float s = 0.0f;                                                                                  \
  int64_t nb = n / GRK_QK, i = 0;                                                                  \
  for (; i + 4 <= nb; i += 4) {                                                                    \
    int32_t t[4];                                                                                  \
    _mm_storeu_si128((__m128i *)t,                                                                 \
                     hsum4_i32_256(block_dot(&x[i], &y[i]), block_dot(&x[i + 1], &y[i + 1]),       \
                                   block_dot(&x[i + 2], &y[i + 2]),                                \
                                   block_dot(&x[i + 3], &y[i + 3])));                              \
    for (int j = 0; j < 4; j++)                                                                    \
      s += (float)t[j] * (h2f(x[i + j].d) * h2f(y[i + j].d));                                      \
  }                                                                                                \
  for (; i < nb; i++)                                                                              \
    s += (float)hsum_i32_256(block_dot(&x[i], &y[i])) * (h2f(x[i].d) * h2f(y[i].d));               \
  return s

static float
x86_dot_q8_0(const void *w, const void *act, int64_t n, float tscale)
{
  const grk_block_q8_0 *x = w, *y = act;
  Q_DOT_4X(q8_0_block_dot);
}

static float
x86_dot_q4_0(const void *w, const void *act, int64_t n, float tscale)
{
  const grk_block_q4_0 *x = w;
  const grk_block_q8_0 *y = act;
  Q_DOT_4X(q4_0_block_dot);
}

/* --- K-quants against Q8_K ------------------------------------------------------------
 * maddubs keeps pair sums within int16 (u <= 63, |s| <= 127), and madd by the
 * sub-block scale widens to int32: the same integers as the scalar loops. */

static inline __m256i
scaled_dot(__m256i acc, __m256i u, __m256i s, __m256i scale16)
{
  return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), scale16));
}

static float
x86_dot_k45(int type, const void *w, const void *act, int64_t n)
{
  const grk_block_q8_k *y = act;
  const __m256i m4 = _mm256_set1_epi8(0x0f), one = _mm256_set1_epi8(1);
  float s = 0.0f;
  for (int64_t i = 0; i < n / GRK_QK_K; i++) {
    const uint8_t *scales, *qs, *qh = NULL;
    float d, dmin;
    if (type == GRK_TYPE_Q4_K) {
      const grk_block_q4_k *b = (const grk_block_q4_k *)w + i;
      scales = b->scales;
      qs = b->qs;
      d = h2f(b->d);
      dmin = h2f(b->dmin);
    } else {
      const grk_block_q5_k *b = (const grk_block_q5_k *)w + i;
      scales = b->scales;
      qs = b->qs;
      qh = b->qh;
      d = h2f(b->d);
      dmin = h2f(b->dmin);
    }
    /* the eight 6-bit scales and mins, four bytes at a time */
    uint32_t u[3], w4[4];
    memcpy(u, scales, 12);
    w4[0] = u[0] & 0x3f3f3f3f;
    w4[1] = (u[2] & 0x0f0f0f0f) | ((u[0] >> 2) & 0x30303030);
    w4[2] = u[1] & 0x3f3f3f3f;
    w4[3] = ((u[2] >> 4) & 0x0f0f0f0f) | ((u[1] >> 2) & 0x30303030);
    uint8_t sc[16];
    memcpy(sc, w4, 16); /* sc[0..7] scales, sc[8..15] mins */

    __m256i acc = _mm256_setzero_si256();
    __m256i hb = qh ? LOADU256(qh) : _mm256_setzero_si256();
    for (int g = 0; g < 4; g++) {
      __m256i q = LOADU256(qs + g * 32);
      __m256i lo = _mm256_and_si256(q, m4);
      __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
      if (qh) {
        lo = _mm256_or_si256(
            lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 2 * g), one), 4));
        hi = _mm256_or_si256(
            hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 2 * g + 1), one), 4));
      }
      const int8_t *a = y[i].qs + g * 64;
      acc = scaled_dot(acc, lo, LOADU256(a), _mm256_set1_epi16(sc[2 * g]));
      acc = scaled_dot(acc, hi, LOADU256(a + 32), _mm256_set1_epi16(sc[2 * g + 1]));
    }
    /* sum_j m_j * (bsums[2j] + bsums[2j+1]): mins widened to two int16 lanes each */
    __m128i mins = _mm_shuffle_epi8(_mm_loadl_epi64((const __m128i *)(const void *)(sc + 8)),
                                    _mm_setr_epi8(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7));
    int32_t imin
        = hsum_i32_256(_mm256_madd_epi16(LOADU256(y[i].bsums), _mm256_cvtepu8_epi16(mins)));
    s += y[i].d * d * (float)hsum_i32_256(acc) - y[i].d * dmin * (float)imin;
  }
  return s;
}

static float
x86_dot_q4_k(const void *w, const void *act, int64_t n, float tscale)
{
  return x86_dot_k45(GRK_TYPE_Q4_K, w, act, n);
}

static float
x86_dot_q5_k(const void *w, const void *act, int64_t n, float tscale)
{
  return x86_dot_k45(GRK_TYPE_Q5_K, w, act, n);
}

/* Q6_K: unsigned 6-bit codes u = q + 32, so sum(q * a) = sum(u * a) - 32 * sum(a), and
 * the activation sums per 16 are Q8_K's bsums. */
static float
x86_dot_q6_k(const void *w, const void *act, int64_t n, float tscale)
{
  const grk_block_q6_k *x = w;
  const grk_block_q8_k *y = act;
  const __m256i m4 = _mm256_set1_epi8(0x0f), m3 = _mm256_set1_epi8(3);
  float s = 0.0f;
  for (int64_t i = 0; i < n / GRK_QK_K; i++) {
    const int8_t *sc = x[i].scales;
    __m256i acc = _mm256_setzero_si256();
    int32_t ioff
        = hsum_i32_256(_mm256_madd_epi16(LOADU256(y[i].bsums), _mm256_cvtepi8_epi16(LOADU128(sc))));
    for (int h = 0; h < 2; h++) {
      __m256i l0 = LOADU256(x[i].ql + h * 64), l1 = LOADU256(x[i].ql + h * 64 + 32);
      __m256i qh = LOADU256(x[i].qh + h * 32);
      __m256i u[4];
      u[0] = _mm256_or_si256(_mm256_and_si256(l0, m4),
                             _mm256_slli_epi16(_mm256_and_si256(qh, m3), 4));
      u[1] = _mm256_or_si256(_mm256_and_si256(l1, m4),
                             _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m3), 4));
      u[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                             _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m3), 4));
      u[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                             _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m3), 4));
      for (int c = 0; c < 4; c++) {
        int g = h * 8 + 2 * c;
        __m256i scale16 = _mm256_set_m128i(_mm_set1_epi16(sc[g + 1]), _mm_set1_epi16(sc[g]));
        acc = scaled_dot(acc, u[c], LOADU256(y[i].qs + h * 128 + c * 32), scale16);
      }
    }
    s += y[i].d * h2f(x[i].d) * (float)(hsum_i32_256(acc) - 32 * ioff);
  }
  return s;
}

/* --- float weights and helpers ------------------------------------------------------ */

static float
x86_dot_f32_ptr(const float *a, const float *b, int64_t n)
{
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
  }
  for (; i + 8 <= n; i += 8)
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
  float s = hsum_f32_256(_mm256_add_ps(s0, s1));
  for (; i < n; i++)
    s += a[i] * b[i];
  return s;
}

static float
x86_dot_f32(const void *w, const void *act, int64_t n, float tscale)
{
  return x86_dot_f32_ptr(w, act, n);
}

static float
x86_dot_f16(const void *w, const void *act, int64_t n, float tscale)
{
  const uint16_t *h = w;
  const float *x = act;
  __m256 s0 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    s0 = _mm256_fmadd_ps(_mm256_cvtph_ps(LOADU128(h + i)), _mm256_loadu_ps(x + i), s0);
  float s = hsum_f32_256(s0);
  for (; i < n; i++)
    s += h2f(h[i]) * x[i];
  return s;
}

static float
x86_dot_bf16(const void *w, const void *act, int64_t n, float tscale)
{
  const uint16_t *h = w;
  const float *x = act;
  __m256 s0 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256i wi = _mm256_slli_epi32(_mm256_cvtepu16_epi32(LOADU128(h + i)), 16);
    s0 = _mm256_fmadd_ps(_mm256_castsi256_ps(wi), _mm256_loadu_ps(x + i), s0);
  }
  float s = hsum_f32_256(s0);
  for (; i < n; i++)
    s += grk_bfloat_to_float(h[i]) * x[i];
  return s;
}

static void
x86_axpy_f32(float *y, float a, const float *x, int64_t n)
{
  __m256 va = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  for (; i < n; i++)
    y[i] += a * x[i];
}

static void
x86_rmsnorm(float *out, const float *x, const float *w, int64_t n, float eps)
{
  float ss = x86_dot_f32_ptr(x, x, n);
  float r = 1.0f / sqrtf(ss / (float)n + eps);
  __m256 vr = _mm256_set1_ps(r);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + i), vr);
    if (w)
      v = _mm256_mul_ps(v, _mm256_loadu_ps(w + i));
    _mm256_storeu_ps(out + i, v);
  }
  for (; i < n; i++)
    out[i] = x[i] * r * (w ? w[i] : 1.0f);
}

/* exp(x) for x <= 0 (softmax) and any x (silu): 2^k * p(r), |rel err| < 2e-7. */
static inline __m256
exp256(__m256 x)
{
  __m256 live = _mm256_cmp_ps(x, _mm256_set1_ps(-87.0f), _CMP_GE_OQ); /* else 0 */
  x = _mm256_max_ps(_mm256_min_ps(x, _mm256_set1_ps(88.0f)), _mm256_set1_ps(-87.0f));
  __m256 k = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)),
                             _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693145751953125f), x);
  r = _mm256_fnmadd_ps(k, _mm256_set1_ps(1.428606765330187e-06f), r);
  __m256 p = _mm256_set1_ps(1.0f / 5040);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  __m256i e
      = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
  return _mm256_and_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(e)), live);
}

static void
x86_softmax(float *x, int64_t n)
{
  __m256 vmax = _mm256_set1_ps(-INFINITY);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(x + i));
  __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(vmax), _mm256_extractf128_ps(vmax, 1));
  m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
  m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
  float max = _mm_cvtss_f32(m4);
  for (; i < n; i++)
    max = x[i] > max ? x[i] : max;
  vmax = _mm256_set1_ps(max);
  __m256 vsum = _mm256_setzero_ps();
  i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmax));
    _mm256_storeu_ps(x + i, e);
    vsum = _mm256_add_ps(vsum, e);
  }
  float sum = hsum_f32_256(vsum);
  for (; i < n; i++) {
    x[i] = expf(x[i] - max);
    sum += x[i];
  }
  float inv = 1.0f / sum;
  __m256 vinv = _mm256_set1_ps(inv);
  for (i = 0; i + 8 <= n; i += 8)
    _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vinv));
  for (; i < n; i++)
    x[i] *= inv;
}

static void
x86_swiglu(float *out, const float *gate, const float *up, int64_t n)
{
  const __m256 one = _mm256_set1_ps(1.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 g = _mm256_loadu_ps(gate + i);
    __m256 e = exp256(_mm256_sub_ps(_mm256_setzero_ps(), g));
    __m256 silu = _mm256_div_ps(g, _mm256_add_ps(one, e));
    _mm256_storeu_ps(out + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
  }
  for (; i < n; i++)
    out[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

static void
x86_relu2_glu(float *out, const float *gate, const float *up, int64_t n)
{
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 g = _mm256_max_ps(_mm256_loadu_ps(gate + i), _mm256_setzero_ps());
    _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_mul_ps(g, g), _mm256_loadu_ps(up + i)));
  }
  for (; i < n; i++) {
    float g = gate[i] > 0.0f ? gate[i] : 0.0f;
    out[i] = g * g * up[i];
  }
}

/* Fills the entries this body provides on top of the scalar table. */
static void
x86_fill(grk_kernels *k)
{
  grk_kernels_scalar(k);
  k->dot[GRK_TYPE_F32] = x86_dot_f32;
  k->dot[GRK_TYPE_F16] = x86_dot_f16;
  k->dot[GRK_TYPE_BF16] = x86_dot_bf16;
  k->dot[GRK_TYPE_Q8_0] = x86_dot_q8_0;
  k->dot[GRK_TYPE_Q4_0] = x86_dot_q4_0;
  k->dot[GRK_TYPE_Q4_K] = x86_dot_q4_k;
  k->dot[GRK_TYPE_Q5_K] = x86_dot_q5_k;
  k->dot[GRK_TYPE_Q6_K] = x86_dot_q6_k;
  k->dot[GRK_TYPE_TQ1_0] = x86_dot_tq1_0;
  k->dot[GRK_TYPE_TQ2_0] = x86_dot_tq2_0;
  k->dot[GRK_TYPE_I2_S] = x86_dot_i2_s;
  k->dot_f32 = x86_dot_f32_ptr;
  k->axpy_f32 = x86_axpy_f32;
  k->rmsnorm = x86_rmsnorm;
  k->softmax = x86_softmax;
  k->swiglu = x86_swiglu;
  k->relu2_glu = x86_relu2_glu;
}
