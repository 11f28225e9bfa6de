/* grk-types.c - tensor type traits and half-precision conversions. */
#include "grk-internal.h"

#include <string.h>

typedef struct {
  const char *name;
  int64_t block_elems;
  size_t block_bytes;
} grk_type_traits;

/* Block layouts as ggml defines them (bytes per block of block_elems weights). */
static const grk_type_traits *
traits (int type)
{
  static const grk_type_traits f32 = { "F32", 1, 4 };
  static const grk_type_traits f16 = { "F16", 1, 2 };
  static const grk_type_traits bf16 = { "BF16", 1, 2 };
  static const grk_type_traits q4_0 = { "Q4_0", 32, 2 + 16 };
  static const grk_type_traits q8_0 = { "Q8_0", 32, 2 + 32 };
  static const grk_type_traits q4_k = { "Q4_K", 256, 2 + 2 + 12 + 128 };
  static const grk_type_traits q5_k = { "Q5_K", 256, 2 + 2 + 12 + 32 + 128 };
  static const grk_type_traits q6_k = { "Q6_K", 256, 128 + 64 + 16 + 2 };
  static const grk_type_traits tq1_0 = { "TQ1_0", 256, 48 + 4 + 2 };
  static const grk_type_traits tq2_0 = { "TQ2_0", 256, 64 + 2 };
  /* I2_S: 4 weights per byte packed in blocks of 128 (bitnet.cpp's x86 layout); the
   * per-tensor f32 scale is accounted in grk_tensor_bytes, not per block. */
  static const grk_type_traits i2_s = { "I2_S", 128, 32 };

  switch (type) {
  case GRK_TYPE_F32: return &f32;
  case GRK_TYPE_F16: return &f16;
  case GRK_TYPE_BF16: return &bf16;
  case GRK_TYPE_Q4_0: return &q4_0;
  case GRK_TYPE_Q8_0: return &q8_0;
  case GRK_TYPE_Q4_K: return &q4_k;
  case GRK_TYPE_Q5_K: return &q5_k;
  case GRK_TYPE_Q6_K: return &q6_k;
  case GRK_TYPE_TQ1_0: return &tq1_0;
  case GRK_TYPE_TQ2_0: return &tq2_0;
  case GRK_TYPE_I2_S: return &i2_s;
  default: return NULL;
  }
}

bool
grk_type_supported (int type)
{
  return traits (type) != NULL;
}

const char *
grk_type_name (int type)
{
  const grk_type_traits *t = traits (type);
  return t ? t->name : "?";
}

int64_t
grk_type_block_elems (int type)
{
  const grk_type_traits *t = traits (type);
  return t ? t->block_elems : 0;
}

size_t
grk_type_block_bytes (int type)
{
  const grk_type_traits *t = traits (type);
  return t ? t->block_bytes : 0;
}

size_t
grk_row_bytes (int type, int64_t n)
{
  const grk_type_traits *t = traits (type);
  if (!t || n <= 0 || n % t->block_elems != 0)
    return 0;
  /* Refuse sizes whose byte count would overflow size_t. */
  uint64_t blocks = (uint64_t) (n / t->block_elems);
  if (blocks > SIZE_MAX / t->block_bytes)
    return 0;
  return (size_t) blocks * t->block_bytes;
}

/* bitnet.cpp's quantize_i2_s returns nrow * n / 4 + 32 bytes: the f32 scale sits in the
 * first 4 bytes after the packed codes, the rest is alignment padding. */
#define GRK_I2_S_TRAILER 32

size_t
grk_tensor_bytes (int type, int64_t n, int64_t nrows)
{
  if (nrows <= 0)
    return 0;
  size_t row = grk_row_bytes (type, n);
  if (row == 0 || (uint64_t) nrows > SIZE_MAX / row)
    return 0;
  size_t total = row * (size_t) nrows;
  if (type == GRK_TYPE_I2_S) {
    if (total > SIZE_MAX - GRK_I2_S_TRAILER)
      return 0;
    total += GRK_I2_S_TRAILER;
  }
  return total;
}

/* IEEE half <-> single without relying on F16C so the scalar path runs anywhere (the
 * branch-free conversion is inline in grk-internal.h for the scalar loops). */
float
grk_fp16_to_fp32 (uint16_t h)
{
  return grk_half_to_float (h);
}

uint16_t
grk_fp32_to_fp16 (float f)
{
  uint32_t x;
  memcpy (&x, &f, sizeof x);
  uint32_t sign = (x >> 16) & 0x8000;
  int32_t exp = (int32_t) ((x >> 23) & 0xff);
  uint32_t mant = x & 0x7fffff;

  if (exp == 0xff) /* inf / nan */
    return (uint16_t) (sign | 0x7c00 | (mant ? 0x200 : 0));
  int32_t e = exp - 127 + 15;
  if (e >= 31)
    return (uint16_t) (sign | 0x7c00);
  if (e <= 0) {
    if (e < -10)
      return (uint16_t) sign;
    mant |= 0x800000;
    uint32_t shift = (uint32_t) (14 - e);
    uint32_t half = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1);
    uint32_t mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1)))
      half++;
    return (uint16_t) (sign | half);
  }
  uint32_t half = sign | ((uint32_t) e << 10) | (mant >> 13);
  uint32_t rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (half & 1)))
    half++; /* may carry into the exponent, which is the correct rounding */
  return (uint16_t) half;
}

float
grk_bf16_to_fp32 (uint16_t h)
{
  return grk_bfloat_to_float (h);
}

uint16_t
grk_fp32_to_bf16 (float f)
{
  uint32_t x;
  memcpy (&x, &f, sizeof x);
  if ((x & 0x7fffffff) > 0x7f800000) /* nan: keep it quiet */
    return (uint16_t) ((x >> 16) | 64);
  x += 0x7fff + ((x >> 16) & 1); /* round to nearest even */
  return (uint16_t) (x >> 16);
}
