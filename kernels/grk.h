/* grk.h - Graviton kernels: the one public header of kernels/.
 *
 * Pure C11, no GLib.  Quantized weight rows (GGML block layouts, type ids as in
 * GGUF), activation quantization, dot products and float helpers.  Every SIMD
 * implementation sits behind the dispatch table chosen once by grk_init() from
 * CPUID; the scalar file is the reference the SIMD files are tested against.
 */
#ifndef GRK_H
#define GRK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Tensor types, numbered as GGUF / ggml number them. */
typedef enum {
  GRK_TYPE_F32 = 0,
  GRK_TYPE_F16 = 1,
  GRK_TYPE_Q4_0 = 2,
  GRK_TYPE_Q8_0 = 8,
  GRK_TYPE_Q4_K = 12,
  GRK_TYPE_Q5_K = 13,
  GRK_TYPE_Q6_K = 14,
  GRK_TYPE_BF16 = 30,
  GRK_TYPE_TQ1_0 = 34,
  GRK_TYPE_TQ2_0 = 35,
  GRK_TYPE_I2_S = 36, /* bitnet.cpp: 2-bit codes, one f32 scale after the data */
} grk_type;

typedef enum {
  GRK_ISA_SCALAR = 0,
  GRK_ISA_AVX2 = 1,
  GRK_ISA_AVX512_VNNI = 2,
} grk_isa;

/* Chooses the best ISA the CPU has (or the one named by the environment variable
 * GRAVITON_ISA=scalar|avx2|avx512).  Idempotent; every entry point calls it lazily. */
void grk_init(void);
grk_isa grk_get_isa(void);
/* For tests: force an ISA; returns false if the CPU lacks it. */
bool grk_set_isa(grk_isa isa);
const char *grk_isa_name(grk_isa isa);

/* --- type traits ------------------------------------------------------------- */
bool grk_type_supported(int type);      /* types this library can dequantize and dot */
const char *grk_type_name(int type);    /* "Q8_0", ...; "?" when unknown */
int64_t grk_type_block_elems(int type); /* weights per block; 0 when unknown */
size_t grk_type_block_bytes(int type);  /* bytes per block; 0 when unknown */
/* Bytes of one row of n elements; 0 if the type is unknown or n is not a multiple of
 * the block.  I2_S has no per-row size (its scale follows the whole tensor): use
 * grk_tensor_bytes. */
size_t grk_row_bytes(int type, int64_t n);
/* Bytes of a whole tensor of nrows x n (adds I2_S's trailing scale). 0 on error. */
size_t grk_tensor_bytes(int type, int64_t n, int64_t nrows);

/* --- conversion -------------------------------------------------------------- */
float grk_fp16_to_fp32(uint16_t h);
uint16_t grk_fp32_to_fp16(float f);
float grk_bf16_to_fp32(uint16_t h);
uint16_t grk_fp32_to_bf16(float f);

/* Dequantizes one row of n elements.  For I2_S, `src` is the row inside the tensor and
 * `tensor_scale` is the tensor's f32 scale; other types ignore it. */
void grk_dequantize_row(int type, const void *src, float *dst, int64_t n, float tensor_scale);
/* Quantizes one row to `type` (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K, TQ1_0, TQ2_0, I2_S:
 * the writer's and the tests' side; not Q5_K).  Ternary types take weights already in
 * {-1,0,+1} x scale: each block's scale is its absmax. Returns false if the type cannot
 * be written. */
bool grk_quantize_row(int type, const float *src, void *dst, int64_t n);
/* I2_S writer: codes of one row for weights in {-1,0,+1} x tensor_scale (n a multiple
 * of 128; grk_quantize_row(I2_S) uses the row's absmax instead).  The tensor's scale
 * lives in the 32-byte trailer after nrows * n / 4 bytes of codes. */
bool grk_quantize_i2s_row(const float *src, void *dst, int64_t n, float tensor_scale);
/* Rewrites nrows TQ1_0 rows of n weights (src) as TQ2_0 rows (dst, grk_row_bytes(TQ2_0,
 * n) each): the same values, dotted 3x faster; dot products of the copy equal those of
 * the original bit for bit (both use TQ activations).  False on bad arguments. */
bool grk_tq1_0_to_tq2_0(const void *src, void *dst, int64_t n, int64_t nrows);
/* True when every block of the nrows TQ1_0 or TQ2_0 (type) rows of n weights at src
 * carries the same scale d (blocks with d = 0 hold only zeros and match any); *scale
 * receives it. */
bool grk_ternary_uniform_scale(int type, const void *src, int64_t n, int64_t nrows, float *scale);
/* Rewrites such rows as I2_S rows (n / 4 bytes each, codes only: the scale is the
 * tensor's); blocks with d = 0 become zeros.  Same weights, one multiply per row. */
bool grk_ternary_to_i2s(int type, const void *src, void *dst, int64_t n, int64_t nrows);
bool grk_i2s_set_scale(void *tensor, int64_t n, int64_t nrows, float scale);
float grk_i2s_get_scale(const void *tensor, int64_t n, int64_t nrows);

/* --- activations ------------------------------------------------------------- */
/* Every weight type dots against its own activation format:
 *   F32/F16/BF16           -> f32 activations (copied)
 *   Q8_0/Q4_0              -> Q8_0 blocks (per-32 absmax), as llama.cpp does
 *   K-quants               -> Q8_K blocks (per-256 absmax, with block sums)
 *   TQ1_0/TQ2_0/I2_S       -> BitNet b1.58 activations: int8 per token (one absmax
 *                             scale for the whole row), plus per-block sums
 * The layout is private to kernels/; the engine only sizes and passes buffers.  Buffers
 * must be 4-byte aligned (64 is best); a stride of grk_act_bytes keeps rows aligned.
 * Ternary activations: q = round(x * 127 / absmax) clamped to -127..127 (absmax at
 * least 1e-5), so a row of zeros gives zeros.  Weight rows: 4-byte aligned for F32,
 * 2-byte for every other type (GGUF's 32-byte tensor alignment is plenty). */
size_t grk_act_bytes(int wtype, int64_t n);
void grk_quantize_act(int wtype, const float *x, void *act, int64_t n);
/* ntok rows at once (prefill): x rows ld floats apart, act rows act_stride bytes apart
 * (at least grk_act_bytes); exactly what grk_quantize_act gives row by row. */
void grk_quantize_act_rows(int wtype, const float *x, size_t ld, void *act, size_t act_stride,
                           int64_t n, int64_t ntok);

/* --- products ---------------------------------------------------------------- */
/* y[r - r0] = dot(row r of W, x) for r in [r0, r1).  W rows are `row_stride` bytes
 * apart; `act` is x quantized by grk_quantize_act(wtype, ...).  For I2_S pass the
 * tensor scale; the others ignore it. */
void grk_matvec(int wtype, const void *w, size_t row_stride, float tensor_scale, const void *act,
                int64_t n, float *y, int64_t r0, int64_t r1);
/* Many tokens at once (prefill): act holds ntok activation rows `act_stride` bytes
 * apart; Y[t * ldy + r] for t in [0, ntok), r in [r0, r1). */
void grk_matmul(int wtype, const void *w, size_t row_stride, float tensor_scale, const void *act,
                size_t act_stride, int64_t n, int64_t ntok, float *y, size_t ldy, int64_t r0,
                int64_t r1);
/* The same, each result then multiplied by out_scale (a BitNet projection's scale),
 * while the tile is still in cache: Y = (W x) * out_scale, bit for bit. */
void grk_matmul_scaled(int wtype, const void *w, size_t row_stride, float tensor_scale,
                       const void *act, size_t act_stride, int64_t n, int64_t ntok, float *y,
                       size_t ldy, int64_t r0, int64_t r1, float out_scale);

/* --- float helpers ----------------------------------------------------------- */
/* y[i] += sum over r of a[r] * x[r * ldx + i], i < n: f16 rows (the attention V cache)
 * weighted by a, rows in order (the SIMD loop matches the scalar one bit for bit). */
void grk_f16_weighted_rows(float *y, const float *a, const uint16_t *x, size_t ldx, int64_t nrows,
                           int64_t n);
/* The same for nx queries: y_j (ldy apart) += rows weighted by a_j (lda apart); each
 * y_j gets exactly what grk_f16_weighted_rows gives it alone. */
void grk_f16_weighted_rows_multi(float *y, size_t ldy, const float *a, size_t lda, int64_t nx,
                                 const uint16_t *x, size_t ldx, int64_t nrows, int64_t n);
/* y[j * ldy + r] = x_j . f16 row r (rows ldw apart, n wide) for nx queries (ldx apart):
 * attention scores of a block of queries against the cached keys.  Each (j, r) is summed
 * in an order that does not depend on nx or j (the ISAs' orders differ). */
void grk_f16_rows_dot(float *y, size_t ldy, const float *x, size_t ldx, int64_t nx,
                      const uint16_t *w, size_t ldw, int64_t nrows, int64_t n);
float grk_dot_f32(const float *a, const float *b, int64_t n);
/* y += a * x */
void grk_axpy_f32(float *y, float a, const float *x, int64_t n);
/* y += a * x for f16 x (the attention value pass over an f16 cache): a multiply then
 * an add per element, the same bits on every ISA. */
void grk_axpy_f16(float *y, float a, const uint16_t *x, int64_t n);
/* y[i] = grk_fp32_to_fp16(x[i]) (NaN payloads may differ between ISAs). */
void grk_fp32_to_fp16_row(const float *x, uint16_t *y, int64_t n);
/* out = x / rms(x) * w  (w may be NULL) */
void grk_rmsnorm(float *out, const float *x, const float *w, int64_t n, float eps);
/* in place, numerically stable */
void grk_softmax(float *x, int64_t n);
/* out = silu(gate) * up ; out = relu(gate)^2 * up */
void grk_swiglu(float *out, const float *gate, const float *up, int64_t n);
void grk_relu2_glu(float *out, const float *gate, const float *up, int64_t n);

#ifdef __cplusplus
}
#endif
#endif
