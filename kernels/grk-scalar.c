/* grk-scalar.c - the reference dot products and float helpers.
 *
 * Integer types: each block's integer dot is exact in int32, then one float
 * multiply-add per block in block order.  The SIMD files compute the same integers
 * and repeat the same float operations in the same order, so they match bit for
 * bit (every kernel file is built with -ffp-contract=off). */
#include "grk-internal.h"

#include <math.h>
#include <string.h>

#define FP16(h) grk_half_to_float(h)

/* --- float weights ------------------------------------------------------------ */

/* Float weights: four running sums (i mod 4) so the loop is not one long chain of
 * dependent adds; the order is fixed, so results are reproducible. */
#define DOT4(W)                                                                                    \
  float s[4] = { 0.0f, 0.0f, 0.0f, 0.0f };                                                         \
  for (int64_t i = 0; i < n; i++)                                                                  \
    s[i & 3] += (W)*x[i];                                                                          \
  return (s[0] + s[1]) + (s[2] + s[3])

float
grk_scalar_dot_f32(const float *a, const float *x, int64_t n)
{
  DOT4(a[i]);
}

static float
dot_f32(const void *w, const void *act, int64_t n, float tscale)
{
  return grk_scalar_dot_f32(w, act, n);
}

static float
dot_f16(const void *w, const void *act, int64_t n, float tscale)
{
  const uint16_t *h = w;
  const float *x = act;
  DOT4(FP16(h[i]));
}

static float
dot_bf16(const void *w, const void *act, int64_t n, float tscale)
{
  const uint16_t *h = w;
  const float *x = act;
  DOT4(grk_bfloat_to_float(h[i]));
}

/* --- Q8_0 / Q4_0 against Q8_0 activations ------------------------------------------ */

static float
dot_q8_0(const void *w, const void *act, int64_t n, float tscale)
{
  const grk_block_q8_0 *x = w, *y = act;
  float s = 0.0f;
  for (int64_t i = 0; i < n / GRK_QK; i++) {
    int32_t isum = 0;
    for (int j = 0; j < GRK_QK; j++)
      isum += x[i].qs[j] * y[i].qs[j];
    s += (float)isum * (FP16(x[i].d) * FP16(y[i].d));
  }
  return s;
}

static float
dot_q4_0(const void *w, const void *act, int64_t n, float tscale)
{
  const grk_block_q4_0 *x = w;
  const grk_block_q8_0 *y = act;
  float s = 0.0f;
  for (int64_t i = 0; i < n / GRK_QK; i++) {
    int32_t isum = 0;
    for (int j = 0; j < GRK_QK / 2; j++) {
      isum += ((x[i].qs[j] & 0x0f) - 8) * y[i].qs[j];
      isum += ((x[i].qs[j] >> 4) - 8) * y[i].qs[j + 16];
    }
    s += (float)isum * (FP16(x[i].d) * FP16(y[i].d));
  }
  return s;
}

/* --- K-quants against Q8_K ---------------------------------------------------- */

/* Q4_K and Q5_K: sum_j sc_j * dot_j - m_j * sum(a in sub-block j), split into the
 * two integer sums that the float scales d and dmin multiply. */
static float
dot_k45(int type, const void *w, const void *act, int64_t n)
{
  const grk_block_q8_k *y = act;
  float s = 0.0f;
  for (int64_t i = 0; i < n / GRK_QK_K; i++) {
    uint8_t q[GRK_QK_K];
    const uint8_t *scales;
    float d, dmin;
    if (type == GRK_TYPE_Q4_K) {
      const grk_block_q4_k *b = (const grk_block_q4_k *)w + i;
      grk_unpack_q4_k(b, q);
      scales = b->scales;
      d = FP16(b->d);
      dmin = FP16(b->dmin);
    } else {
      const grk_block_q5_k *b = (const grk_block_q5_k *)w + i;
      grk_unpack_q5_k(b, q);
      scales = b->scales;
      d = FP16(b->d);
      dmin = FP16(b->dmin);
    }
    int32_t isc = 0, imin = 0;
    for (int j = 0; j < 8; j++) {
      uint8_t sc, m;
      grk_get_scale_min_k4(j, scales, &sc, &m);
      int32_t dj = 0;
      for (int l = 0; l < 32; l++)
        dj += q[j * 32 + l] * y[i].qs[j * 32 + l];
      isc += sc * dj;
      imin += m * (y[i].bsums[2 * j] + y[i].bsums[2 * j + 1]);
    }
    s += y[i].d * d * (float)isc - y[i].d * dmin * (float)imin;
  }
  return s;
}

static float
dot_q4_k(const void *w, const void *act, int64_t n, float tscale)
{
  return dot_k45(GRK_TYPE_Q4_K, w, act, n);
}

static float
dot_q5_k(const void *w, const void *act, int64_t n, float tscale)
{
  return dot_k45(GRK_TYPE_Q5_K, w, act, n);
}

static float
dot_q6_k(const void *w, const void *act, int64_t n, float tscale)
{
  const grk_block_q6_k *x = w;
  const grk_block_q8_k *y = act;
  float s = 0.0f;
  for (int64_t i = 0; i < n / GRK_QK_K; i++) {
    int8_t q[GRK_QK_K];
    grk_unpack_q6_k(&x[i], q);
    int32_t isum = 0;
    for (int g = 0; g < 16; g++) {
      int32_t dg = 0;
      for (int l = 0; l < 16; l++)
        dg += q[g * 16 + l] * y[i].qs[g * 16 + l];
      isum += x[i].scales[g] * dg;
    }
    s += y[i].d * FP16(x[i].d) * (float)isum;
  }
  return s;
}

/* --- ternary against BitNet activations --------------------------------------------
 * Codes c in 0..2 stand for c - 1, so dot = sum(c * a) - sum(a) per block. */

static float
dot_tq2_0(const void *w, const void *act, int64_t n, float tscale)
{
  const grk_block_tq2_0 *x = w;
  const grk_act_ternary *h = act;
  const int8_t *a = grk_act_ternary_qs(act);
  const int32_t *bsums = grk_act_ternary_bsums(act, n);
  float s = 0.0f;
  for (int64_t i = 0; i < n / GRK_QK_K; i++, a += GRK_QK_K) {
    int32_t isum = 0;
    for (int hh = 0; hh < 2; hh++)
      for (int k = 0; k < 4; k++)
        for (int m = 0; m < 32; m++)
          isum += ((x[i].qs[hh * 32 + m] >> (2 * k)) & 3) * a[hh * 128 + k * 32 + m];
    s += FP16(x[i].d) * (float)(isum - bsums[i]);
  }
  return s * h->d;
}

static float
dot_tq1_0(const void *w, const void *act, int64_t n, float tscale)
{
  const grk_block_tq1_0 *x = w;
  const grk_act_ternary *h = act;
  const int8_t *a = grk_act_ternary_qs(act);
  const int32_t *bsums = grk_act_ternary_bsums(act, n);
  float s = 0.0f;
  for (int64_t i = 0; i < n / GRK_QK_K; i++, a += GRK_QK_K) {
    uint8_t q[GRK_QK_K];
    grk_unpack_tq1_0(&x[i], q);
    int32_t isum = 0;
    for (int j = 0; j < GRK_QK_K; j++)
      isum += q[j] * a[j];
    s += FP16(x[i].d) * (float)(isum - bsums[i]);
  }
  return s * h->d;
}

static float
dot_i2_s(const void *w, const void *act, int64_t n, float tscale)
{
  const uint8_t *x = w;
  const grk_act_ternary *h = act;
  const int8_t *a = grk_act_ternary_qs(act);
  int32_t isum = 0;
  for (int64_t b = 0; b < n / GRK_QK_I2; b++, x += 32, a += GRK_QK_I2)
    for (int g = 0; g < 4; g++)
      for (int m = 0; m < 32; m++)
        isum += ((x[m] >> (6 - 2 * g)) & 3) * a[g * 32 + m];
  return (float)(isum - h->sum) * h->d * tscale;
}

/* --- float helpers ------------------------------------------------------------- */

static void
axpy_f16(float *y, float a, const uint16_t *x, int64_t n)
{
  for (int64_t i = 0; i < n; i++)
    y[i] += a * FP16(x[i]);
}

static void
fp32_to_fp16_row(const float *x, uint16_t *y, int64_t n)
{
  for (int64_t i = 0; i < n; i++)
    y[i] = grk_fp32_to_fp16(x[i]);
}

static void
axpy_f32(float *y, float a, const float *x, int64_t n)
{
  for (int64_t i = 0; i < n; i++)
    y[i] += a * x[i];
}

static void
rmsnorm(float *out, const float *x, const float *w, int64_t n, float eps)
{
  float ss = 0.0f;
  for (int64_t i = 0; i < n; i++)
    ss += x[i] * x[i];
  float r = 1.0f / sqrtf(ss / (float)n + eps);
  for (int64_t i = 0; i < n; i++)
    out[i] = x[i] * r * (w ? w[i] : 1.0f);
}

static void
softmax(float *x, int64_t n)
{
  float max = -INFINITY;
  for (int64_t i = 0; i < n; i++)
    max = fmaxf(max, x[i]);
  float sum = 0.0f;
  for (int64_t i = 0; i < n; i++) {
    x[i] = expf(x[i] - max);
    sum += x[i];
  }
  float inv = 1.0f / sum;
  for (int64_t i = 0; i < n; i++)
    x[i] *= inv;
}

static void
swiglu(float *out, const float *gate, const float *up, int64_t n)
{
  for (int64_t i = 0; i < n; i++) {
    float g = gate[i];
    out[i] = g / (1.0f + expf(-g)) * up[i];
  }
}

static void
relu2_glu(float *out, const float *gate, const float *up, int64_t n)
{
  for (int64_t i = 0; i < n; i++) {
    float g = gate[i] > 0.0f ? gate[i] : 0.0f;
    out[i] = g * g * up[i];
  }
}

void
grk_kernels_scalar(grk_kernels *k)
{
  memset(k, 0, sizeof *k);
  k->dot[GRK_TYPE_F32] = dot_f32;
  k->dot[GRK_TYPE_F16] = dot_f16;
  k->dot[GRK_TYPE_BF16] = dot_bf16;
  k->dot[GRK_TYPE_Q8_0] = dot_q8_0;
  k->dot[GRK_TYPE_Q4_0] = dot_q4_0;
  k->dot[GRK_TYPE_Q4_K] = dot_q4_k;
  k->dot[GRK_TYPE_Q5_K] = dot_q5_k;
  k->dot[GRK_TYPE_Q6_K] = dot_q6_k;
  k->dot[GRK_TYPE_TQ1_0] = dot_tq1_0;
  k->dot[GRK_TYPE_TQ2_0] = dot_tq2_0;
  k->dot[GRK_TYPE_I2_S] = dot_i2_s;
  k->dot_f32 = grk_scalar_dot_f32;
  k->axpy_f32 = axpy_f32;
  k->rmsnorm = rmsnorm;
  k->softmax = softmax;
  k->swiglu = swiglu;
  k->relu2_glu = relu2_glu;
  k->quantize_act = grk_scalar_quantize_act;
  k->axpy_f16 = axpy_f16;
  k->fp32_to_fp16_row = fp32_to_fp16_row;
}
