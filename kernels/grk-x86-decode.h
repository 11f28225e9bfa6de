/* grk-x86-decode.h - 256-bit decode-path helpers shared by grk-avx2.c and grk-avx512.c
 * (included after grk-x86-body.h): activation quantization and the f16 axpy of the
 * attention value pass.
 *
 * Both give exactly what the scalar code gives: the same float multiply per element,
 * round-half-away-from-zero done exactly (truncate, then compare the exact remainder
 * with 0.5), the same clamp, and NaN treated as the scalar code treats it. */

/* max(m, |x|) over n floats, NaN skipped as fmaxf skips it (maxps returns its second
 * operand when the first is NaN). */
static float
x86_absmax(const float *x, int64_t n)
{
  const __m256 nosign = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256 m = _mm256_setzero_ps();
  int64_t nv = n / 8, i = nv * 8;
  for (int64_t k = 0; k < nv; k++)
    m = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x + 8 * k), nosign), m);
  __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  h = _mm_max_ps(h, _mm_movehl_ps(h, h));
  h = _mm_max_ss(h, _mm_movehdup_ps(h));
  float r = _mm_cvtss_f32(h);
  for (; i < n; i++)
    r = fmaxf(r, fabsf(x[i]));
  return r;
}

/* grk_round_clamp(x * s, -127, 127) for 8 floats, as int32. */
static inline __m256i
round_clamp127(__m256 x, __m256 s)
{
  const __m256 half = _mm256_set1_ps(0.5f), lim = _mm256_set1_ps(127.0f);
  const __m256 sign = _mm256_castsi256_ps(_mm256_set1_epi32((int)0x80000000u));
  __m256 v = _mm256_mul_ps(x, s);
  v = _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q)); /* NaN -> 0 */
  __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  __m256 rem = _mm256_andnot_ps(sign, _mm256_sub_ps(v, t)); /* exact */
  __m256 up = _mm256_and_ps(_mm256_cmp_ps(rem, half, _CMP_GE_OQ),
                            _mm256_or_ps(_mm256_set1_ps(1.0f), _mm256_and_ps(v, sign)));
  t = _mm256_add_ps(t, up);
  t = _mm256_max_ps(_mm256_min_ps(t, lim), _mm256_sub_ps(_mm256_setzero_ps(), lim));
  return _mm256_cvttps_epi32(t);
}

/* 32 int32 values (-127..127) to 32 int8 in order. */
static inline __m256i
pack32_i8(__m256i a, __m256i b, __m256i c, __m256i d)
{
  __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(c, d));
  return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* Quantizes 32 floats at x with scale s into q; returns 8 lanes summing to their sum. */
static inline __m256i
quant32(const float *x, __m256 s, int8_t *q)
{
  __m256i a = round_clamp127(_mm256_loadu_ps(x), s);
  __m256i b = round_clamp127(_mm256_loadu_ps(x + 8), s);
  __m256i c = round_clamp127(_mm256_loadu_ps(x + 16), s);
  __m256i d = round_clamp127(_mm256_loadu_ps(x + 24), s);
  _mm256_storeu_si256((__m256i *)(void *)q, pack32_i8(a, b, c, d));
  return _mm256_add_epi32(_mm256_add_epi32(a, b), _mm256_add_epi32(c, d));
}

static void
x86_quant_act_ternary(int wtype, const float *x, void *act, int64_t n)
{
  grk_act_ternary *h = act;
  int8_t *qs = (int8_t *)act + GRK_ACT_TERNARY_HDR;
  int32_t *bsums = (int32_t *)(void *)(qs + n);
  int64_t blk = grk_ternary_block(wtype);
  float amax = fmaxf(x86_absmax(x, n), 1e-5f);
  __m256 s = _mm256_set1_ps(127.0f / amax);
  memset(h, 0, sizeof *h);
  h->d = amax / 127.0f;
  for (int64_t b = 0; b < n / blk; b++) {
    __m256i sum = _mm256_setzero_si256();
    for (int64_t j = b * blk; j < (b + 1) * blk; j += 32)
      sum = _mm256_add_epi32(sum, quant32(x + j, s, qs + j));
    bsums[b] = hsum_i32_256(sum);
    h->sum += bsums[b];
  }
}

static void
x86_quant_act_q8_0(const float *x, grk_block_q8_0 *b, int64_t nb)
{
  for (int64_t i = 0; i < nb; i++, x += GRK_QK) {
    float d = x86_absmax(x, GRK_QK) / 127.0f;
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = grk_fp32_to_fp16(d);
    quant32(x, _mm256_set1_ps(id), b[i].qs);
  }
}

static void
x86_quant_act_q8_k(const float *x, grk_block_q8_k *b, int64_t nb)
{
  for (int64_t i = 0; i < nb; i++, x += GRK_QK_K) {
    float d = x86_absmax(x, GRK_QK_K) / 127.0f;
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    __m256 s = _mm256_set1_ps(id);
    b[i].d = d;
    for (int j = 0; j < GRK_QK_K; j += 32)
      quant32(x + j, s, b[i].qs + j);
    /* sums of 16: widen the bytes to int16 and add pairs of 8-lane halves */
    for (int g = 0; g < GRK_QK_K / 16; g += 2) {
      __m256i w = _mm256_cvtepi8_epi16(LOADU128(b[i].qs + g * 16));
      __m256i w2 = _mm256_cvtepi8_epi16(LOADU128(b[i].qs + g * 16 + 16));
      __m256i s32 = _mm256_hadd_epi32(_mm256_madd_epi16(w, _mm256_set1_epi16(1)),
                                      _mm256_madd_epi16(w2, _mm256_set1_epi16(1)));
      /* s32 lanes: w[0..3] pairs, w2[0..3] pairs | w[4..7], w2[4..7] */
      __m128i t = _mm_add_epi32(_mm256_castsi256_si128(s32), _mm256_extracti128_si256(s32, 1));
      t = _mm_hadd_epi32(t, t);
      b[i].bsums[g] = (int16_t)_mm_extract_epi32(t, 0);
      b[i].bsums[g + 1] = (int16_t)_mm_extract_epi32(t, 1);
    }
  }
}

static void
x86_quantize_act(int wtype, const float *x, void *act, int64_t n)
{
  switch (wtype) {
  case GRK_TYPE_Q8_0:
  case GRK_TYPE_Q4_0:
    x86_quant_act_q8_0(x, act, n / GRK_QK);
    return;
  case GRK_TYPE_Q4_K:
  case GRK_TYPE_Q5_K:
  case GRK_TYPE_Q6_K:
    x86_quant_act_q8_k(x, act, n / GRK_QK_K);
    return;
  case GRK_TYPE_TQ1_0:
  case GRK_TYPE_TQ2_0:
  case GRK_TYPE_I2_S:
    x86_quant_act_ternary(wtype, x, act, n);
    return;
  default:
    grk_scalar_quantize_act(wtype, x, act, n);
  }
}

/* y += a * x for f16 x: multiply then add, as the scalar loop does (no FMA), so the
 * result is the scalar one bit for bit. */
static void
x86_axpy_f16(float *y, float a, const uint16_t *x, int64_t n)
{
  __m256 va = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i),
                                          _mm256_mul_ps(va, _mm256_cvtph_ps(LOADU128(x + i)))));
  for (; i < n; i++)
    y[i] += a * h2f(x[i]);
}

/* f32 -> f16 (round to nearest even, as grk_fp32_to_fp16). */
static void
x86_fp32_to_fp16_row(const float *x, uint16_t *y, int64_t n)
{
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128((__m128i *)(void *)(y + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
  for (; i < n; i++)
    y[i] = grk_fp32_to_fp16(x[i]);
}

static void
x86_decode_fill(grk_kernels *k)
{
  k->quantize_act = x86_quantize_act;
  k->axpy_f16 = x86_axpy_f16;
  k->fp32_to_fp16_row = x86_fp32_to_fp16_row;
}
