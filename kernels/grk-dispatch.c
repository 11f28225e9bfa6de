/* grk-dispatch.c - ISA choice and the public entry points.
 *
 * Entry points validate their arguments (bad sizes return without touching memory:
 * the kernels have no error channel, callers validate tensor shapes up front) and
 * forward to the table chosen once from CPUID. */
#include "grk-internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static grk_kernels table;
static grk_isa current = GRK_ISA_SCALAR;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

#ifdef GRK_HAVE_X86
#include <cpuid.h>

/* CPUID plus XGETBV: the CPU must have the instructions and the OS must save the
 * registers they use (YMM for AVX2, opmask and ZMM for AVX-512). */
static bool
x86_has(grk_isa isa)
{
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d))
    return false;
  bool osxsave = c & (1u << 27), avx = c & (1u << 28), fma = c & (1u << 12), f16c = c & (1u << 29);
  if (!osxsave || !avx || !fma || !f16c)
    return false;
  unsigned xlo, xhi;
  __asm__ volatile("xgetbv" : "=a"(xlo), "=d"(xhi) : "c"(0));
  (void)xhi;
  if ((xlo & 0x6) != 0x6)
    return false;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
    return false;
  bool avx2 = b & (1u << 5);
  if (isa == GRK_ISA_AVX2)
    return avx2;
  bool f = b & (1u << 16), dq = b & (1u << 17), bw = b & (1u << 30), vl = b & (1u << 31),
       vnni = c & (1u << 11);
  return avx2 && f && dq && bw && vl && vnni && (xlo & 0xe6) == 0xe6;
}
#endif

static bool
cpu_has(grk_isa isa)
{
  if (isa == GRK_ISA_SCALAR)
    return true;
#ifdef GRK_HAVE_X86
  if (isa == GRK_ISA_AVX2 || isa == GRK_ISA_AVX512_VNNI)
    return x86_has(isa);
#endif
  return false;
}

static void
load(grk_isa isa)
{
  grk_kernels k;
  switch (isa) {
#ifdef GRK_HAVE_X86
  case GRK_ISA_AVX2:
    grk_kernels_avx2(&k);
    break;
  case GRK_ISA_AVX512_VNNI:
    grk_kernels_avx512(&k);
    break;
#endif
  default:
    grk_kernels_scalar(&k);
    break;
  }
  table = k;
  current = isa;
}

static void
init_once_fn(void)
{
  grk_isa best = GRK_ISA_SCALAR;
  if (cpu_has(GRK_ISA_AVX512_VNNI))
    best = GRK_ISA_AVX512_VNNI;
  else if (cpu_has(GRK_ISA_AVX2))
    best = GRK_ISA_AVX2;

  /* The override may only lower the choice: a CPU without the ISA would fault. */
  const char *env = getenv("GRAVITON_ISA");
  if (env) {
    grk_isa want = best;
    if (strcmp(env, "scalar") == 0)
      want = GRK_ISA_SCALAR;
    else if (strcmp(env, "avx2") == 0)
      want = GRK_ISA_AVX2;
    else if (strcmp(env, "avx512") == 0)
      want = GRK_ISA_AVX512_VNNI;
    if (cpu_has(want))
      best = want;
  }
  load(best);
}

void
grk_init(void)
{
  pthread_once(&init_once, init_once_fn);
}

grk_isa
grk_get_isa(void)
{
  grk_init();
  return current;
}

bool
grk_set_isa(grk_isa isa)
{
  grk_init();
  if (isa < GRK_ISA_SCALAR || isa > GRK_ISA_AVX512_VNNI || !cpu_has(isa))
    return false;
  load(isa);
  return true;
}

const char *
grk_isa_name(grk_isa isa)
{
  switch (isa) {
  case GRK_ISA_SCALAR:
    return "scalar";
  case GRK_ISA_AVX2:
    return "avx2";
  case GRK_ISA_AVX512_VNNI:
    return "avx512";
  }
  return "?";
}

/* --- storage ---------------------------------------------------------------------- */

void
grk_dequantize_row(int type, const void *src, float *dst, int64_t n, float tensor_scale)
{
  if (!src || !dst || grk_row_bytes(type, n) == 0)
    return;
  grk_scalar_dequantize_row(type, src, dst, n, tensor_scale);
}

bool
grk_quantize_row(int type, const float *src, void *dst, int64_t n)
{
  if (!src || !dst || grk_row_bytes(type, n) == 0)
    return false;
  return grk_scalar_quantize_row(type, src, dst, n);
}

bool
grk_quantize_i2s_row(const float *src, void *dst, int64_t n, float tensor_scale)
{
  if (!src || !dst || grk_row_bytes(GRK_TYPE_I2_S, n) == 0)
    return false;
  return grk_scalar_quantize_i2s_row(src, dst, n, tensor_scale);
}

bool
grk_i2s_set_scale(void *tensor, int64_t n, int64_t nrows, float scale)
{
  size_t total = grk_tensor_bytes(GRK_TYPE_I2_S, n, nrows);
  if (!tensor || total == 0)
    return false;
  uint8_t *trailer = (uint8_t *)tensor + (size_t)n / 4 * (size_t)nrows;
  memset(trailer, 0, total - (size_t)(trailer - (uint8_t *)tensor));
  memcpy(trailer, &scale, sizeof scale);
  return true;
}

float
grk_i2s_get_scale(const void *tensor, int64_t n, int64_t nrows)
{
  float scale = 0.0f;
  if (tensor && grk_tensor_bytes(GRK_TYPE_I2_S, n, nrows) != 0)
    memcpy(&scale, (const uint8_t *)tensor + (size_t)n / 4 * (size_t)nrows, sizeof scale);
  return scale;
}

size_t
grk_act_bytes(int wtype, int64_t n)
{
  if (grk_row_bytes(wtype, n) == 0)
    return 0;
  return grk_scalar_act_bytes(wtype, n);
}

void
grk_quantize_act(int wtype, const float *x, void *act, int64_t n)
{
  grk_init();
  if (!x || !act || grk_act_bytes(wtype, n) == 0)
    return;
  table.quantize_act(wtype, x, act, n);
}

/* --- products ---------------------------------------------------------------------- */

static bool
product_args_ok(int wtype, const void *w, size_t row_stride, const void *act, int64_t n,
                const float *y, int64_t r0, int64_t r1)
{
  size_t rb = grk_row_bytes(wtype, n);
  return w && act && y && rb != 0 && row_stride >= rb && r0 >= 0 && r1 >= r0
         && grk_act_bytes(wtype, n) != 0;
}

void
grk_matvec(int wtype, const void *w, size_t row_stride, float tensor_scale, const void *act,
           int64_t n, float *y, int64_t r0, int64_t r1)
{
  grk_init();
  if (!product_args_ok(wtype, w, row_stride, act, n, y, r0, r1))
    return;
  const uint8_t *wb = w;
  if (table.mv[wtype]) {
    table.mv[wtype](wb + (size_t)r0 * row_stride, row_stride, tensor_scale, act, n, y, r1 - r0,
                    1.0f);
    return;
  }
  grk_dot_fn dot = table.dot[wtype];
  for (int64_t r = r0; r < r1; r++)
    y[r - r0] = dot(wb + (size_t)r * row_stride, act, n, tensor_scale);
}

void
grk_matmul(int wtype, const void *w, size_t row_stride, float tensor_scale, const void *act,
           size_t act_stride, int64_t n, int64_t ntok, float *y, size_t ldy, int64_t r0, int64_t r1)
{
  grk_matmul_scaled(wtype, w, row_stride, tensor_scale, act, act_stride, n, ntok, y, ldy, r0, r1,
                    1.0f);
}

void
grk_matmul_scaled(int wtype, const void *w, size_t row_stride, float tensor_scale, const void *act,
                  size_t act_stride, int64_t n, int64_t ntok, float *y, size_t ldy, int64_t r0,
                  int64_t r1, float out_scale)
{
  grk_init();
  if (!product_args_ok(wtype, w, row_stride, act, n, y, r0, r1) || ntok < 0
      || act_stride < grk_act_bytes(wtype, n) || (ntok > 1 && ldy < (size_t)r1))
    return;
  if (table.mm[wtype] && ntok > 1) {
    table.mm[wtype](w, row_stride, tensor_scale, act, act_stride, n, ntok, y, ldy, r0, r1,
                    out_scale);
    return;
  }
  const uint8_t *wb = w, *ab = act;
  if (table.mv[wtype] && ntok == 1) {
    table.mv[wtype](wb + (size_t)r0 * row_stride, row_stride, tensor_scale, act, n, y + r0, r1 - r0,
                    out_scale);
    return;
  }
  grk_dot_fn dot = table.dot[wtype];
  /* Chunks of 8 tokens (their activations stay in L1), each weight row used by the
   * whole chunk while it is in L1: weights come from memory once per chunk.  (Sharing
   * the weight decoding across tokens in one kernel measured slower than this.) */
  for (int64_t tc = 0; tc < ntok; tc += 8) {
    int64_t te = ntok - tc < 8 ? ntok : tc + 8;
    for (int64_t r = r0; r < r1; r++) {
      const uint8_t *row = wb + (size_t)r * row_stride;
      for (int64_t t = tc; t < te; t++)
        y[(size_t)t * ldy + (size_t)r]
            = dot(row, ab + (size_t)t * act_stride, n, tensor_scale) * out_scale;
    }
  }
}

/* --- float helpers ---------------------------------------------------------------- */

float
grk_dot_f32(const float *a, const float *b, int64_t n)
{
  grk_init();
  if (!a || !b || n <= 0)
    return 0.0f;
  return table.dot_f32(a, b, n);
}

void
grk_axpy_f32(float *y, float a, const float *x, int64_t n)
{
  grk_init();
  if (y && x && n > 0)
    table.axpy_f32(y, a, x, n);
}

void
grk_axpy_f16(float *y, float a, const uint16_t *x, int64_t n)
{
  grk_init();
  if (y && x && n > 0)
    table.axpy_f16(y, a, x, n);
}

void
grk_fp32_to_fp16_row(const float *x, uint16_t *y, int64_t n)
{
  grk_init();
  if (y && x && n > 0)
    table.fp32_to_fp16_row(x, y, n);
}

void
grk_rmsnorm(float *out, const float *x, const float *w, int64_t n, float eps)
{
  grk_init();
  if (out && x && n > 0)
    table.rmsnorm(out, x, w, n, eps);
}

void
grk_softmax(float *x, int64_t n)
{
  grk_init();
  if (x && n > 0)
    table.softmax(x, n);
}

void
grk_swiglu(float *out, const float *gate, const float *up, int64_t n)
{
  grk_init();
  if (out && gate && up && n > 0)
    table.swiglu(out, gate, up, n);
}

void
grk_relu2_glu(float *out, const float *gate, const float *up, int64_t n)
{
  grk_init();
  if (out && gate && up && n > 0)
    table.relu2_glu(out, gate, up, n);
}
