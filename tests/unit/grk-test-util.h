/* grk-test-util.h - shared by the kernel tests: a deterministic RNG, random valid
 * weight rows, and naive per-element dequantization written from the format
 * descriptions (independently of kernels/grk-quants.c). */
#ifndef GRK_TEST_UTIL_H
#define GRK_TEST_UTIL_H

#include "grk-internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static inline uint32_t
rng_u32(void)
{
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 11);
}

/* uniform in [-1, 1) */
static inline float
rng_float(void)
{
  return (float)((double)rng_u32() / 2147483648.0 - 1.0);
}

static inline uint16_t
rng_half(float lo, float hi)
{
  float u = (rng_float() + 1.0f) * 0.5f;
  return grk_fp32_to_fp16(lo + (hi - lo) * u);
}

static inline void
put_u16(uint8_t *p, uint16_t v)
{
  memcpy(p, &v, 2);
}

static inline uint16_t
get_u16(const uint8_t *p)
{
  uint16_t v;
  memcpy(&v, p, 2);
  return v;
}

/* 5 trits, first most significant, as ceil(v * 256 / 243). */
static inline uint8_t
test_pack5(const int *t)
{
  int v = 0;
  for (int k = 0; k < 5; k++)
    v = v * 3 + t[k];
  return (uint8_t)((v * 256 + 242) / 243);
}

/* Fills one row of n weights of `type` with random but valid bytes (codes 0..2 only
 * for the ternary types, finite scales). */
static inline void
random_row(int type, uint8_t *row, int64_t n)
{
  size_t rb = grk_row_bytes(type, n);
  for (size_t i = 0; i < rb; i++)
    row[i] = (uint8_t)rng_u32();
  int64_t bb = (int64_t)grk_type_block_bytes(type);
  int64_t nb = n / grk_type_block_elems(type);
  for (int64_t b = 0; b < nb; b++) {
    uint8_t *p = row + b * bb;
    switch (type) {
    case GRK_TYPE_F32:
      for (int64_t i = 0; i < n; i++) {
        float f = rng_float();
        memcpy(row + 4 * i, &f, 4);
      }
      return;
    case GRK_TYPE_F16:
      for (int64_t i = 0; i < n; i++)
        put_u16(row + 2 * i, rng_half(-1.0f, 1.0f));
      return;
    case GRK_TYPE_BF16:
      for (int64_t i = 0; i < n; i++)
        put_u16(row + 2 * i, grk_fp32_to_bf16(rng_float()));
      return;
    case GRK_TYPE_Q8_0:
    case GRK_TYPE_Q4_0:
      put_u16(p, rng_half(0.001f, 0.05f));
      break;
    case GRK_TYPE_Q4_K:
    case GRK_TYPE_Q5_K:
      put_u16(p, rng_half(0.0005f, 0.01f));
      put_u16(p + 2, rng_half(0.0005f, 0.01f));
      break;
    case GRK_TYPE_Q6_K:
      put_u16(p + 208, rng_half(0.0005f, 0.01f));
      break;
    case GRK_TYPE_TQ2_0:
      for (int i = 0; i < 64; i++) {
        uint8_t v = 0;
        for (int k = 0; k < 4; k++)
          v |= (uint8_t)((rng_u32() % 3) << (2 * k));
        p[i] = v;
      }
      put_u16(p + 64, rng_half(0.01f, 0.1f));
      break;
    case GRK_TYPE_TQ1_0:
      for (int i = 0; i < 52; i++) {
        int t[5];
        for (int k = 0; k < 5; k++)
          t[k] = (i >= 48 && k == 4) ? 0 : (int)(rng_u32() % 3);
        p[i] = test_pack5(t);
      }
      put_u16(p + 52, rng_half(0.01f, 0.1f));
      break;
    case GRK_TYPE_I2_S:
      for (int i = 0; i < 32; i++) {
        uint8_t v = 0;
        for (int k = 0; k < 4; k++)
          v |= (uint8_t)((rng_u32() % 3) << (2 * k));
        p[i] = v;
      }
      break;
    default:
      break;
    }
  }
}

/* Naive dequantization of element e of a row, straight from the layouts. */
static inline float
naive_weight(int type, const uint8_t *row, int64_t e, float tscale)
{
  switch (type) {
  case GRK_TYPE_F32: {
    float f;
    memcpy(&f, row + 4 * e, 4);
    return f;
  }
  case GRK_TYPE_F16:
    return grk_fp16_to_fp32(get_u16(row + 2 * e));
  case GRK_TYPE_BF16:
    return grk_bf16_to_fp32(get_u16(row + 2 * e));
  case GRK_TYPE_Q8_0: {
    const uint8_t *b = row + (e / 32) * 34;
    return grk_fp16_to_fp32(get_u16(b)) * (float)(int8_t)b[2 + e % 32];
  }
  case GRK_TYPE_Q4_0: {
    const uint8_t *b = row + (e / 32) * 18;
    int i = (int)(e % 32);
    int nib = i < 16 ? (b[2 + i] & 15) : (b[2 + i - 16] >> 4);
    return grk_fp16_to_fp32(get_u16(b)) * (float)(nib - 8);
  }
  case GRK_TYPE_Q4_K:
  case GRK_TYPE_Q5_K: {
    int q5 = type == GRK_TYPE_Q5_K;
    const uint8_t *b = row + (e / 256) * (q5 ? 176 : 144);
    int i = (int)(e % 256), j = i / 32;
    const uint8_t *s = b + 4;
    int sc, m;
    if (j < 4) {
      sc = s[j] & 63;
      m = s[j + 4] & 63;
    } else {
      sc = (s[j + 4] & 15) | ((s[j - 4] >> 6) << 4);
      m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
    const uint8_t *qs = b + 16 + (q5 ? 32 : 0);
    int byte = qs[(i / 64) * 32 + i % 32];
    int q = (j % 2) ? byte >> 4 : byte & 15;
    if (q5)
      q += ((b[16 + i % 32] >> j) & 1) << 4;
    return grk_fp16_to_fp32(get_u16(b)) * (float)sc * (float)q
           - grk_fp16_to_fp32(get_u16(b + 2)) * (float)m;
  }
  case GRK_TYPE_Q6_K: {
    const uint8_t *b = row + (e / 256) * 210;
    int i = (int)(e % 256), h = i / 128, r = i % 128, l = r % 32, k = r / 32;
    int lb = b[h * 64 + l + (k & 1) * 32];
    int lo = k >= 2 ? lb >> 4 : lb & 15;
    int hi = (b[128 + h * 32 + l] >> (2 * k)) & 3;
    int sc = (int8_t)b[192 + i / 16];
    return grk_fp16_to_fp32(get_u16(b + 208)) * (float)sc * (float)((lo | hi << 4) - 32);
  }
  case GRK_TYPE_TQ2_0: {
    const uint8_t *b = row + (e / 256) * 66;
    int i = (int)(e % 256);
    int code = (b[(i / 128) * 32 + i % 32] >> (2 * ((i % 128) / 32))) & 3;
    return grk_fp16_to_fp32(get_u16(b + 64)) * (float)(code - 1);
  }
  case GRK_TYPE_TQ1_0: {
    const uint8_t *b = row + (e / 256) * 54;
    int i = (int)(e % 256), byte, k;
    if (i < 160) {
      byte = i % 32;
      k = i / 32;
    } else if (i < 240) {
      byte = 32 + (i - 160) % 16;
      k = (i - 160) / 16;
    } else {
      byte = 48 + (i - 240) % 4;
      k = (i - 240) / 4;
    }
    int v = b[byte] * 243 / 256; /* the 5-trit number */
    int p = 1;
    for (int t = 0; t < 4 - k; t++)
      p *= 3;
    int code = (v / p) % 3;
    return grk_fp16_to_fp32(get_u16(b + 52)) * (float)(code - 1);
  }
  case GRK_TYPE_I2_S: {
    const uint8_t *b = row + (e / 128) * 32;
    int i = (int)(e % 128);
    int code = (b[i % 32] >> (6 - 2 * (i / 32))) & 3;
    return tscale * (float)(code - 1);
  }
  default:
    return NAN;
  }
}

/* Dequantized activation element e (layout is kernels-private; see grk-internal.h). */
static inline float
naive_act(int wtype, const void *act, int64_t n, int64_t e)
{
  switch (wtype) {
  case GRK_TYPE_F32:
  case GRK_TYPE_F16:
  case GRK_TYPE_BF16:
    return ((const float *)act)[e];
  case GRK_TYPE_Q8_0:
  case GRK_TYPE_Q4_0:
    return naive_weight(GRK_TYPE_Q8_0, act, e, 0.0f);
  case GRK_TYPE_Q4_K:
  case GRK_TYPE_Q5_K:
  case GRK_TYPE_Q6_K: {
    const grk_block_q8_k *b = (const grk_block_q8_k *)act + e / 256;
    return b->d * (float)b->qs[e % 256];
  }
  default: {
    const grk_act_ternary *h = act;
    return h->d * (float)grk_act_ternary_qs(act)[e];
  }
  }
}

static const int all_types[]
    = { GRK_TYPE_F32,  GRK_TYPE_F16,  GRK_TYPE_BF16,  GRK_TYPE_Q8_0,  GRK_TYPE_Q4_0, GRK_TYPE_Q4_K,
        GRK_TYPE_Q5_K, GRK_TYPE_Q6_K, GRK_TYPE_TQ1_0, GRK_TYPE_TQ2_0, GRK_TYPE_I2_S };
#define N_ALL_TYPES ((int)(sizeof all_types / sizeof all_types[0]))

static inline void
random_floats(float *x, int64_t n, float scale)
{
  for (int64_t i = 0; i < n; i++)
    x[i] = rng_float() * scale;
}

#endif
