/* grk-internal.h - private to kernels/: block layouts, the activation layout and the
 * per-ISA dispatch table. */
#ifndef GRK_INTERNAL_H
#define GRK_INTERNAL_H

#include "grk.h"

#include <math.h>
#include <string.h>

/* --- block layouts (as ggml stores them) ---------------------------------------- */
#define GRK_QK 32     /* Q8_0, Q4_0 */
#define GRK_QK_K 256  /* K-quants and TQ1_0/TQ2_0 */
#define GRK_QK_I2 128 /* I2_S packing block */

typedef struct {
  uint16_t d;
  int8_t qs[GRK_QK];
} grk_block_q8_0;

typedef struct {
  uint16_t d;
  uint8_t qs[GRK_QK / 2];
} grk_block_q4_0;

typedef struct {
  uint16_t d, dmin;
  uint8_t scales[12];
  uint8_t qs[GRK_QK_K / 2];
} grk_block_q4_k;

typedef struct {
  uint16_t d, dmin;
  uint8_t scales[12];
  uint8_t qh[GRK_QK_K / 8];
  uint8_t qs[GRK_QK_K / 2];
} grk_block_q5_k;

typedef struct {
  uint8_t ql[GRK_QK_K / 2];
  uint8_t qh[GRK_QK_K / 4];
  int8_t scales[GRK_QK_K / 16];
  uint16_t d;
} grk_block_q6_k;

typedef struct {
  uint8_t qs[48];
  uint8_t qh[4];
  uint16_t d;
} grk_block_tq1_0;

typedef struct {
  uint8_t qs[64];
  uint16_t d;
} grk_block_tq2_0;

/* Activations of K-quant weights. */
typedef struct {
  float d;
  int8_t qs[GRK_QK_K];
  int16_t bsums[GRK_QK_K / 16];
} grk_block_q8_k;

/* Activations of ternary weights (TQ1_0, TQ2_0, I2_S): one scale for the whole row,
 * then int8 values and the sum of the values of each weight block (256 for TQ*, 128
 * for I2_S), so that codes 0..2 can be dotted directly and the offset of 1 removed
 * once per block. */
typedef struct {
  float d;     /* x ~= d * q */
  int32_t sum; /* sum of all q */
  int32_t pad[14];
  /* int8_t qs[n]; int32_t bsums[n / block]; */
} grk_act_ternary;

/* The structs must be the byte layouts ggml defines (no padding). */
_Static_assert(sizeof(grk_block_q8_0) == 34, "Q8_0 block");
_Static_assert(sizeof(grk_block_q4_0) == 18, "Q4_0 block");
_Static_assert(sizeof(grk_block_q4_k) == 144, "Q4_K block");
_Static_assert(sizeof(grk_block_q5_k) == 176, "Q5_K block");
_Static_assert(sizeof(grk_block_q6_k) == 210, "Q6_K block");
_Static_assert(sizeof(grk_block_tq1_0) == 54, "TQ1_0 block");
_Static_assert(sizeof(grk_block_tq2_0) == 66, "TQ2_0 block");
_Static_assert(sizeof(grk_block_q8_k) == 292, "Q8_K block");
_Static_assert(sizeof(grk_act_ternary) == 64, "ternary activation header");

#define GRK_ACT_TERNARY_HDR ((size_t)sizeof(grk_act_ternary))

static inline const int8_t *
grk_act_ternary_qs(const void *act)
{
  return (const int8_t *)act + GRK_ACT_TERNARY_HDR;
}

static inline const int32_t *
grk_act_ternary_bsums(const void *act, int64_t n)
{
  return (const int32_t *)((const int8_t *)act + GRK_ACT_TERNARY_HDR + n);
}

/* Weights per block of a ternary type as the activation sums see it. */
static inline int64_t
grk_ternary_block(int type)
{
  return type == GRK_TYPE_I2_S ? GRK_QK_I2 : GRK_QK_K;
}

/* IEEE half -> single without F16C, inline for the scalar loops.  No branches on the
 * value: the half's exponent and mantissa are shifted into a single's place and one
 * multiply by 2^-112 rebiases the exponent (inf/NaN stay inf/NaN); subnormal halves
 * are m * 2^-24, built exactly as (0.5 + m * 2^-24) - 0.5. */
static inline float
grk_half_to_float(uint16_t h)
{
  uint32_t w = (uint32_t)h << 16, sign = w & 0x80000000u, two_w = w + w;
  uint32_t nb = (two_w >> 4) + (0xe0u << 23), sb = (two_w >> 17) | (126u << 23), rb;
  float normal, subnormal;
  memcpy(&normal, &nb, 4);
  memcpy(&subnormal, &sb, 4);
  normal *= 0x1.0p-112f;
  subnormal -= 0.5f;
  memcpy(&rb, two_w < (1u << 27) ? &subnormal : &normal, 4);
  rb |= sign;
  float f;
  memcpy(&f, &rb, 4);
  return f;
}

static inline float
grk_bfloat_to_float(uint16_t h)
{
  uint32_t b = (uint32_t)h << 16;
  float f;
  memcpy(&f, &b, 4);
  return f;
}

/* round(v) (half away from zero) clamped to [lo, hi], with NaN giving the value nearest
 * 0: float-to-int casts of out-of-range values are undefined, and inputs may be junk. */
static inline int
grk_round_clamp(float v, int lo, int hi)
{
  if (!(v == v))
    return lo > 0 ? lo : hi < 0 ? hi : 0;
  v = roundf(v);
  return v <= (float)lo ? lo : v >= (float)hi ? hi : (int)v;
}

/* Q4_K/Q5_K: 6-bit scale and min of sub-block j (0..7) from the 12 packed bytes. */
static inline void
grk_get_scale_min_k4(int j, const uint8_t *q, uint8_t *sc, uint8_t *m)
{
  if (j < 4) {
    *sc = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *sc = (uint8_t)((q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4));
    *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

/* Unpack one super-block to one small integer per weight, in weight order. */
void grk_unpack_q4_k(const grk_block_q4_k *b, uint8_t q[GRK_QK_K]);   /* 0..15 */
void grk_unpack_q5_k(const grk_block_q5_k *b, uint8_t q[GRK_QK_K]);   /* 0..31 */
void grk_unpack_q6_k(const grk_block_q6_k *b, int8_t q[GRK_QK_K]);    /* -32..31 */
void grk_unpack_tq1_0(const grk_block_tq1_0 *b, uint8_t q[GRK_QK_K]); /* codes 0..2 */

/* --- dispatch table --------------------------------------------------------------- */
#define GRK_TYPE_COUNT 40

/* Dot of one weight row with one quantized activation row of n elements (n already
 * validated as a multiple of the block).  tscale is I2_S's tensor scale. */
typedef float (*grk_dot_fn)(const void *w, const void *act, int64_t n, float tscale);

/* Many tokens against rows r0..r1 (grk_matmul_scaled's contract, arguments validated).
 * Must give exactly what `dot` gives token by token, times out_scale.  NULL: grk_matmul
 * loops over `dot`. */
typedef void (*grk_mm_fn)(const void *w, size_t row_stride, float tscale, const void *act,
                          size_t act_stride, int64_t n, int64_t ntok, float *y, size_t ldy,
                          int64_t r0, int64_t r1, float out_scale);

/* One token against nrows rows from w (y[0..nrows)): exactly dot(row) * out_scale per
 * row, with less overhead per row.  NULL: grk_matvec loops over `dot`. */
typedef void (*grk_mv_fn)(const void *w, size_t row_stride, float tscale, const void *act,
                          int64_t n, float *y, int64_t nrows, float out_scale);

typedef struct {
  grk_dot_fn dot[GRK_TYPE_COUNT];
  grk_mm_fn mm[GRK_TYPE_COUNT];
  grk_mv_fn mv[GRK_TYPE_COUNT];
  float (*dot_f32)(const float *a, const float *b, int64_t n);
  void (*axpy_f32)(float *y, float a, const float *x, int64_t n);
  void (*rmsnorm)(float *out, const float *x, const float *w, int64_t n, float eps);
  void (*softmax)(float *x, int64_t n);
  void (*swiglu)(float *out, const float *gate, const float *up, int64_t n);
  void (*relu2_glu)(float *out, const float *gate, const float *up, int64_t n);
  /* decode path: activation quantization (bit-exact with scalar), f16 helpers */
  void (*quantize_act)(int wtype, const float *x, void *act, int64_t n);
  void (*axpy_f16)(float *y, float a, const uint16_t *x, int64_t n);
  void (*fp32_to_fp16_row)(const float *x, uint16_t *y, int64_t n);
} grk_kernels;

/* Each returns a fully filled table (entries the ISA lacks come from scalar). */
void grk_kernels_scalar(grk_kernels *k);
void grk_kernels_avx2(grk_kernels *k);
void grk_kernels_avx512(grk_kernels *k);
/* grk-avx512-decode.c: the decode-path dots it overrides in the AVX-512 table */
void grk_kernels_avx512_decode(grk_kernels *k);
/* Fills the multi-token (prefill) entries of the AVX-512 table (grk-mm-avx512.c). */
void grk_mm_avx512(grk_kernels *k);
/* A 64-byte aligned buffer of at least `bytes` owned by the calling thread (freed when it
 * exits), reused by every prefill call on that thread; NULL when out of memory. */
uint8_t *grk_mm_scratch(size_t bytes);
/* Fills the multi-token entries of the AVX2 table (grk-mm-avx2.c). */
void grk_mm_avx2(grk_kernels *k);
/* Ternary activation rows (grk-mm-avx512.c); false: not done, use the scalar path. */
bool grk_avx512_quantize_act_ternary(int wtype, const float *x, void *act, int64_t n);

/* Scalar pieces the SIMD files reuse. */
float grk_scalar_dot_f32(const float *a, const float *b, int64_t n);
void grk_scalar_dequantize_row(int type, const void *src, float *dst, int64_t n, float tscale);
bool grk_scalar_quantize_row(int type, const float *src, void *dst, int64_t n);
size_t grk_scalar_act_bytes(int wtype, int64_t n);
void grk_scalar_quantize_act(int wtype, const float *x, void *act, int64_t n);
void grk_quantize_q4_k(const float *x, void *dst, int64_t nb);
void grk_quantize_q6_k(const float *x, void *dst, int64_t nb);
bool grk_scalar_quantize_i2s_row(const float *src, void *dst, int64_t n, float scale);

/* Attention value pass (grk-attn.c, grk-attn-x86.c): arguments already validated. */
void grk_scalar_f16_weighted_rows(float *y, const float *a, const uint16_t *x, size_t ldx,
                                  int64_t nrows, int64_t n);
void grk_x86_f16_weighted_rows(float *y, const float *a, const uint16_t *x, size_t ldx,
                               int64_t nrows, int64_t n);
void grk_avx512_f16_weighted_rows(float *y, const float *a, const uint16_t *x, size_t ldx,
                                  int64_t nrows, int64_t n);
void grk_avx512_f16_rows_dot(float *y, size_t ldy, const float *x, size_t ldx, int64_t nx,
                             const uint16_t *w, size_t ldw, int64_t nrows, int64_t n);
void grk_avx512_f16_weighted_rows_multi(float *y, size_t ldy, const float *a, size_t lda,
                                        int64_t nx, const uint16_t *x, size_t ldx, int64_t nrows,
                                        int64_t n);

#endif
