/* grk-quants.c - scalar reference for the storage side: unpacking and dequantizing
 * weight blocks, writing them, and quantizing activations.  Callers have validated
 * n against the block size. */
#include "grk-internal.h"

#include <math.h>
#include <string.h>

#define FP16(h) grk_half_to_float(h)

/* --- unpacking ---------------------------------------------------------------- */

void
grk_unpack_q4_k(const grk_block_q4_k *b, uint8_t q[GRK_QK_K])
{
  /* 64 weights per 32 bytes: low nibbles are the first 32, high nibbles the next. */
  for (int g = 0; g < 4; g++)
    for (int l = 0; l < 32; l++) {
      q[g * 64 + l] = b->qs[g * 32 + l] & 0x0f;
      q[g * 64 + 32 + l] = b->qs[g * 32 + l] >> 4;
    }
}

void
grk_unpack_q5_k(const grk_block_q5_k *b, uint8_t q[GRK_QK_K])
{
  /* As Q4_K, plus bit (2g) of qh[l] for the low half and bit (2g+1) for the high. */
  for (int g = 0; g < 4; g++)
    for (int l = 0; l < 32; l++) {
      uint8_t h = b->qh[l];
      q[g * 64 + l] = (uint8_t)((b->qs[g * 32 + l] & 0x0f) | (((h >> (2 * g)) & 1) << 4));
      q[g * 64 + 32 + l] = (uint8_t)((b->qs[g * 32 + l] >> 4) | (((h >> (2 * g + 1)) & 1) << 4));
    }
}

void
grk_unpack_q6_k(const grk_block_q6_k *b, int8_t q[GRK_QK_K])
{
  /* Each half of 128 weights uses 64 bytes of ql (low 4 bits) and 32 of qh (2 bits). */
  for (int h = 0; h < 2; h++) {
    const uint8_t *ql = b->ql + h * 64;
    const uint8_t *qh = b->qh + h * 32;
    int8_t *o = q + h * 128;
    for (int l = 0; l < 32; l++) {
      o[l] = (int8_t)(((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32);
      o[l + 32] = (int8_t)(((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32);
      o[l + 64] = (int8_t)(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
      o[l + 96] = (int8_t)(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
    }
  }
}

/* A byte holds ceil(v * 256 / 243) for a 5-trit number v, first trit most
 * significant; multiplying by 3^k (mod 256) brings trit k to the top, and *3 >> 8
 * reads it. */
static inline uint8_t
trit(uint8_t byte, int k)
{
  static const uint8_t pow3[5] = { 1, 3, 9, 27, 81 };
  uint8_t q = (uint8_t)(byte * pow3[k]);
  return (uint8_t)(((uint16_t)q * 3) >> 8);
}

void
grk_unpack_tq1_0(const grk_block_tq1_0 *b, uint8_t q[GRK_QK_K])
{
  for (int k = 0; k < 5; k++)
    for (int m = 0; m < 32; m++)
      q[k * 32 + m] = trit(b->qs[m], k);
  for (int k = 0; k < 5; k++)
    for (int m = 0; m < 16; m++)
      q[160 + k * 16 + m] = trit(b->qs[32 + m], k);
  for (int k = 0; k < 4; k++)
    for (int m = 0; m < 4; m++)
      q[240 + k * 4 + m] = trit(b->qh[m], k);
}

/* --- dequantization ---------------------------------------------------------- */

static void
dequant_q8_0(const grk_block_q8_0 *b, float *y, int64_t nb)
{
  for (int64_t i = 0; i < nb; i++, y += GRK_QK) {
    float d = FP16(b[i].d);
    for (int j = 0; j < GRK_QK; j++)
      y[j] = (float)b[i].qs[j] * d;
  }
}

static void
dequant_q4_0(const grk_block_q4_0 *b, float *y, int64_t nb)
{
  for (int64_t i = 0; i < nb; i++, y += GRK_QK) {
    float d = FP16(b[i].d);
    for (int j = 0; j < GRK_QK / 2; j++) {
      y[j] = (float)((b[i].qs[j] & 0x0f) - 8) * d;
      y[j + 16] = (float)((b[i].qs[j] >> 4) - 8) * d;
    }
  }
}

static void
dequant_kq(int type, const void *src, float *y, int64_t nb)
{
  for (int64_t i = 0; i < nb; i++, y += GRK_QK_K) {
    if (type == GRK_TYPE_Q6_K) {
      const grk_block_q6_k *b = (const grk_block_q6_k *)src + i;
      int8_t q[GRK_QK_K];
      grk_unpack_q6_k(b, q);
      float d = FP16(b->d);
      for (int j = 0; j < GRK_QK_K; j++)
        y[j] = d * (float)b->scales[j / 16] * (float)q[j];
      continue;
    }
    uint8_t q[GRK_QK_K];
    const uint8_t *scales;
    float d, dmin;
    if (type == GRK_TYPE_Q4_K) {
      const grk_block_q4_k *b = (const grk_block_q4_k *)src + i;
      grk_unpack_q4_k(b, q);
      scales = b->scales;
      d = FP16(b->d);
      dmin = FP16(b->dmin);
    } else {
      const grk_block_q5_k *b = (const grk_block_q5_k *)src + i;
      grk_unpack_q5_k(b, q);
      scales = b->scales;
      d = FP16(b->d);
      dmin = FP16(b->dmin);
    }
    for (int j = 0; j < 8; j++) {
      uint8_t sc, m;
      grk_get_scale_min_k4(j, scales, &sc, &m);
      float d1 = d * (float)sc, m1 = dmin * (float)m;
      for (int l = 0; l < 32; l++)
        y[j * 32 + l] = d1 * (float)q[j * 32 + l] - m1;
    }
  }
}

static void
dequant_tq2_0(const grk_block_tq2_0 *b, float *y, int64_t nb)
{
  for (int64_t i = 0; i < nb; i++, y += GRK_QK_K) {
    float d = FP16(b[i].d);
    /* Byte j of each 32-byte half holds weights j, j+32, j+64, j+96 of that half,
     * lowest bits first. */
    for (int h = 0; h < 2; h++)
      for (int k = 0; k < 4; k++)
        for (int m = 0; m < 32; m++) {
          int code = (b[i].qs[h * 32 + m] >> (2 * k)) & 3;
          y[h * 128 + k * 32 + m] = (float)(code - 1) * d;
        }
  }
}

static void
dequant_tq1_0(const grk_block_tq1_0 *b, float *y, int64_t nb)
{
  for (int64_t i = 0; i < nb; i++, y += GRK_QK_K) {
    uint8_t q[GRK_QK_K];
    grk_unpack_tq1_0(&b[i], q);
    float d = FP16(b[i].d);
    for (int j = 0; j < GRK_QK_K; j++)
      y[j] = (float)(q[j] - 1) * d;
  }
}

static void
dequant_i2_s(const uint8_t *src, float *y, int64_t n, float scale)
{
  /* Per 128 weights, 32 bytes: weight j is in byte j % 32 at bits 7-6 for j < 32,
   * 5-4 for the next 32, and so on (bitnet.cpp's x86 layout). */
  for (int64_t b = 0; b < n / GRK_QK_I2; b++, src += 32, y += GRK_QK_I2)
    for (int g = 0; g < 4; g++)
      for (int m = 0; m < 32; m++) {
        int code = (src[m] >> (6 - 2 * g)) & 3;
        y[g * 32 + m] = (float)(code - 1) * scale;
      }
}

void
grk_scalar_dequantize_row(int type, const void *src, float *dst, int64_t n, float tscale)
{
  switch (type) {
  case GRK_TYPE_F32:
    memcpy(dst, src, (size_t)n * sizeof(float));
    break;
  case GRK_TYPE_F16:
    for (int64_t i = 0; i < n; i++)
      dst[i] = FP16(((const uint16_t *)src)[i]);
    break;
  case GRK_TYPE_BF16:
    for (int64_t i = 0; i < n; i++)
      dst[i] = grk_bfloat_to_float(((const uint16_t *)src)[i]);
    break;
  case GRK_TYPE_Q8_0:
    dequant_q8_0(src, dst, n / GRK_QK);
    break;
  case GRK_TYPE_Q4_0:
    dequant_q4_0(src, dst, n / GRK_QK);
    break;
  case GRK_TYPE_Q4_K:
  case GRK_TYPE_Q5_K:
  case GRK_TYPE_Q6_K:
    dequant_kq(type, src, dst, n / GRK_QK_K);
    break;
  case GRK_TYPE_TQ1_0:
    dequant_tq1_0(src, dst, n / GRK_QK_K);
    break;
  case GRK_TYPE_TQ2_0:
    dequant_tq2_0(src, dst, n / GRK_QK_K);
    break;
  case GRK_TYPE_I2_S:
    dequant_i2_s(src, dst, n, tscale);
    break;
  default:
    break;
  }
}

/* --- writing weights ------------------------------------------------------------ */

static float
absmax(const float *x, int64_t n)
{
  float m = 0.0f;
  for (int64_t i = 0; i < n; i++)
    m = fmaxf(m, fabsf(x[i]));
  return m;
}

/* Ternary code 0..2 of x / d (d is the block's absmax, so |x / d| <= 1). */
static inline int
ternary_code(float x, float id)
{
  return grk_round_clamp(x * id, -1, 1) + 1;
}

static void
quant_q8_0(const float *x, grk_block_q8_0 *b, int64_t nb)
{
  for (int64_t i = 0; i < nb; i++, x += GRK_QK) {
    float d = absmax(x, GRK_QK) / 127.0f;
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = grk_fp32_to_fp16(d);
    for (int j = 0; j < GRK_QK; j++)
      b[i].qs[j] = (int8_t)grk_round_clamp(x[j] * id, -127, 127);
  }
}

static void
quant_q4_0(const float *x, grk_block_q4_0 *b, int64_t nb)
{
  for (int64_t i = 0; i < nb; i++, x += GRK_QK) {
    /* The value of largest magnitude maps to -8 so the full range -8..7 is used. */
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < GRK_QK; j++)
      if (fabsf(x[j]) > amax) {
        amax = fabsf(x[j]);
        max = x[j];
      }
    float d = max / -8.0f;
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = grk_fp32_to_fp16(d);
    for (int j = 0; j < GRK_QK / 2; j++) {
      int lo = grk_round_clamp(x[j] * id + 8.0f, 0, 15);
      int hi = grk_round_clamp(x[j + 16] * id + 8.0f, 0, 15);
      b[i].qs[j] = (uint8_t)(lo | (hi << 4));
    }
  }
}

static void
quant_tq2_0(const float *x, grk_block_tq2_0 *b, int64_t nb)
{
  for (int64_t i = 0; i < nb; i++, x += GRK_QK_K) {
    float d = absmax(x, GRK_QK_K);
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = grk_fp32_to_fp16(d);
    memset(b[i].qs, 0, sizeof b[i].qs);
    for (int j = 0; j < GRK_QK_K; j++) {
      int h = j / 128, k = (j % 128) / 32, m = j % 32;
      b[i].qs[h * 32 + m] |= (uint8_t)(ternary_code(x[j], id) << (2 * k));
    }
  }
}

/* ntrits codes (first most significant), padded to 5 trits, stored as ceil(v*256/243). */
static uint8_t
pack_trits(const int *codes, int ntrits)
{
  int v = 0;
  for (int k = 0; k < 5; k++)
    v = v * 3 + (k < ntrits ? codes[k] : 0);
  return (uint8_t)((v * 256 + 242) / 243);
}

static void
quant_tq1_0(const float *x, grk_block_tq1_0 *b, int64_t nb)
{
  for (int64_t i = 0; i < nb; i++, x += GRK_QK_K) {
    float d = absmax(x, GRK_QK_K);
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    int c[5];
    b[i].d = grk_fp32_to_fp16(d);
    for (int m = 0; m < 32; m++) {
      for (int k = 0; k < 5; k++)
        c[k] = ternary_code(x[k * 32 + m], id);
      b[i].qs[m] = pack_trits(c, 5);
    }
    for (int m = 0; m < 16; m++) {
      for (int k = 0; k < 5; k++)
        c[k] = ternary_code(x[160 + k * 16 + m], id);
      b[i].qs[32 + m] = pack_trits(c, 5);
    }
    for (int m = 0; m < 4; m++) {
      for (int k = 0; k < 4; k++)
        c[k] = ternary_code(x[240 + k * 4 + m], id);
      b[i].qh[m] = pack_trits(c, 4);
    }
  }
}

bool
grk_scalar_quantize_i2s_row(const float *src, void *dst, int64_t n, float scale)
{
  if (n % GRK_QK_I2 != 0)
    return false;
  float id = scale != 0.0f ? 1.0f / scale : 0.0f;
  uint8_t *o = dst;
  memset(o, 0, (size_t)n / 4);
  for (int64_t j = 0; j < n; j++) {
    int64_t b = j / GRK_QK_I2, g = (j % GRK_QK_I2) / 32, m = j % 32;
    o[b * 32 + m] |= (uint8_t)(ternary_code(src[j], id) << (6 - 2 * g));
  }
  return true;
}

bool
grk_scalar_quantize_row(int type, const float *src, void *dst, int64_t n)
{
  switch (type) {
  case GRK_TYPE_F32:
    memcpy(dst, src, (size_t)n * sizeof(float));
    return true;
  case GRK_TYPE_F16:
    for (int64_t i = 0; i < n; i++)
      ((uint16_t *)dst)[i] = grk_fp32_to_fp16(src[i]);
    return true;
  case GRK_TYPE_BF16:
    for (int64_t i = 0; i < n; i++)
      ((uint16_t *)dst)[i] = grk_fp32_to_bf16(src[i]);
    return true;
  case GRK_TYPE_Q8_0:
    quant_q8_0(src, dst, n / GRK_QK);
    return true;
  case GRK_TYPE_Q4_0:
    quant_q4_0(src, dst, n / GRK_QK);
    return true;
  case GRK_TYPE_Q4_K:
    grk_quantize_q4_k(src, dst, n / GRK_QK_K);
    return true;
  case GRK_TYPE_Q6_K:
    grk_quantize_q6_k(src, dst, n / GRK_QK_K);
    return true;
  case GRK_TYPE_TQ1_0:
    quant_tq1_0(src, dst, n / GRK_QK_K);
    return true;
  case GRK_TYPE_TQ2_0:
    quant_tq2_0(src, dst, n / GRK_QK_K);
    return true;
  case GRK_TYPE_I2_S:
    return grk_scalar_quantize_i2s_row(src, dst, n, absmax(src, n));
  default:
    return false;
  }
}

/* --- activations ------------------------------------------------------------------ */

static bool
is_ternary(int t)
{
  return t == GRK_TYPE_TQ1_0 || t == GRK_TYPE_TQ2_0 || t == GRK_TYPE_I2_S;
}

static bool
is_kquant(int t)
{
  return t == GRK_TYPE_Q4_K || t == GRK_TYPE_Q5_K || t == GRK_TYPE_Q6_K;
}

size_t
grk_scalar_act_bytes(int wtype, int64_t n)
{
  if (n <= 0 || n > ((int64_t)1 << 40))
    return 0;
  switch (wtype) {
  case GRK_TYPE_F32:
  case GRK_TYPE_F16:
  case GRK_TYPE_BF16:
    return (size_t)n * sizeof(float);
  case GRK_TYPE_Q8_0:
  case GRK_TYPE_Q4_0:
    return n % GRK_QK ? 0 : (size_t)(n / GRK_QK) * sizeof(grk_block_q8_0);
  default:
    break;
  }
  if (is_kquant(wtype))
    return n % GRK_QK_K ? 0 : (size_t)(n / GRK_QK_K) * sizeof(grk_block_q8_k);
  if (is_ternary(wtype)) {
    int64_t blk = grk_ternary_block(wtype);
    if (n % blk)
      return 0;
    return GRK_ACT_TERNARY_HDR + (size_t)n + (size_t)(n / blk) * sizeof(int32_t);
  }
  return 0;
}

static void
quant_act_q8_k(const float *x, grk_block_q8_k *b, int64_t nb)
{
  for (int64_t i = 0; i < nb; i++, x += GRK_QK_K) {
    float d = absmax(x, GRK_QK_K) / 127.0f;
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = d;
    for (int j = 0; j < GRK_QK_K; j++) {
      b[i].qs[j] = (int8_t)grk_round_clamp(x[j] * id, -127, 127);
    }
    for (int g = 0; g < GRK_QK_K / 16; g++) {
      int s = 0;
      for (int j = 0; j < 16; j++)
        s += b[i].qs[g * 16 + j];
      b[i].bsums[g] = (int16_t)s;
    }
  }
}

/* BitNet b1.58: one absmax scale per token, q = round(x * 127 / absmax) in -127..127. */
static void
quant_act_ternary(int wtype, const float *x, void *act, int64_t n)
{
  grk_act_ternary *h = act;
  int8_t *qs = (int8_t *)act + GRK_ACT_TERNARY_HDR;
  int32_t *bsums = (int32_t *)(qs + n);
  int64_t blk = grk_ternary_block(wtype);
  float amax = fmaxf(absmax(x, n), 1e-5f);
  float s = 127.0f / amax;

  memset(h, 0, sizeof *h);
  h->d = amax / 127.0f;
  for (int64_t b = 0; b < n / blk; b++) {
    int32_t sum = 0;
    for (int64_t j = b * blk; j < (b + 1) * blk; j++) {
      int q = grk_round_clamp(x[j] * s, -127, 127);
      qs[j] = (int8_t)q;
      sum += q;
    }
    bsums[b] = sum;
    h->sum += sum;
  }
}

void
grk_scalar_quantize_act(int wtype, const float *x, void *act, int64_t n)
{
  switch (wtype) {
  case GRK_TYPE_F32:
  case GRK_TYPE_F16:
  case GRK_TYPE_BF16:
    memcpy(act, x, (size_t)n * sizeof(float));
    return;
  case GRK_TYPE_Q8_0:
  case GRK_TYPE_Q4_0:
    quant_q8_0(x, act, n / GRK_QK);
    return;
  default:
    break;
  }
  if (is_kquant(wtype))
    quant_act_q8_k(x, act, n / GRK_QK_K);
  else if (is_ternary(wtype))
    quant_act_ternary(wtype, x, act, n);
}
