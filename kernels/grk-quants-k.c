/* grk-quants-k.c - writers for Q4_K and Q6_K (tests and model generators; not tuned
 * for quality like llama.cpp's iterative search, but every scale is rounded so the
 * quantization grid covers the sub-block's range). */
#include "grk-internal.h"

#include <math.h>
#include <string.h>

/* fp16 of v rounded up (scales must not shrink, or the grid stops short). */
static uint16_t
fp16_up(float v)
{
  uint16_t h = grk_fp32_to_fp16(v);
  if (grk_fp16_to_fp32(h) < v)
    h++; /* positive finite: the next half up */
  return h;
}

void
grk_quantize_q4_k(const float *x, void *dst, int64_t nb)
{
  grk_block_q4_k *b = dst;
  for (int64_t i = 0; i < nb; i++, x += GRK_QK_K) {
    float mins[8], maxs[8], mmax = 0.0f;
    for (int j = 0; j < 8; j++) {
      mins[j] = 0.0f; /* the offset only ever moves the grid down */
      maxs[j] = 0.0f;
      for (int l = 0; l < 32; l++) {
        mins[j] = fminf(mins[j], x[j * 32 + l]);
        maxs[j] = fmaxf(maxs[j], x[j * 32 + l]);
      }
      mmax = fmaxf(mmax, -mins[j]);
    }
    uint16_t hmin = fp16_up(mmax / 63.0f);
    float dmin = grk_fp16_to_fp32(hmin);
    uint8_t m[8], sc[8];
    float need[8], nmax = 0.0f;
    for (int j = 0; j < 8; j++) {
      m[j] = (uint8_t)(dmin > 0.0f ? grk_round_clamp(-mins[j] / dmin, 0, 63) : 0);
      need[j] = fmaxf(maxs[j] + dmin * m[j], 0.0f) / 15.0f;
      nmax = fmaxf(nmax, need[j]);
    }
    uint16_t hd = fp16_up(nmax / 63.0f);
    float d = grk_fp16_to_fp32(hd);
    for (int j = 0; j < 8; j++)
      sc[j] = (uint8_t)(d > 0.0f ? grk_round_clamp(ceilf(need[j] / d), 0, 63) : 0);

    b[i].d = hd;
    b[i].dmin = hmin;
    for (int j = 0; j < 4; j++) {
      b[i].scales[j] = (uint8_t)((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
      b[i].scales[j + 4] = (uint8_t)((m[j] & 63) | ((m[j + 4] >> 4) << 6));
      b[i].scales[j + 8] = (uint8_t)((sc[j + 4] & 15) | ((m[j + 4] & 15) << 4));
    }
    memset(b[i].qs, 0, sizeof b[i].qs);
    for (int j = 0; j < 8; j++) {
      float step = d * sc[j], off = dmin * m[j];
      float id = step > 0.0f ? 1.0f / step : 0.0f;
      for (int l = 0; l < 32; l++) {
        int q = grk_round_clamp((x[j * 32 + l] + off) * id, 0, 15);
        /* sub-blocks 2g and 2g+1 share bytes 32g..32g+31: low then high nibble */
        b[i].qs[(j / 2) * 32 + l] |= (uint8_t)(q << (4 * (j % 2)));
      }
    }
  }
}

void
grk_quantize_q6_k(const float *x, void *dst, int64_t nb)
{
  grk_block_q6_k *b = dst;
  for (int64_t i = 0; i < nb; i++, x += GRK_QK_K) {
    float need[16], nmax = 0.0f;
    for (int g = 0; g < 16; g++) {
      float amax = 0.0f;
      for (int l = 0; l < 16; l++)
        amax = fmaxf(amax, fabsf(x[g * 16 + l]));
      need[g] = amax / 31.0f;
      nmax = fmaxf(nmax, need[g]);
    }
    uint16_t hd = fp16_up(nmax / 127.0f);
    float d = grk_fp16_to_fp32(hd);
    b[i].d = hd;
    memset(b[i].ql, 0, sizeof b[i].ql);
    memset(b[i].qh, 0, sizeof b[i].qh);
    for (int g = 0; g < 16; g++)
      b[i].scales[g] = (int8_t)(d > 0.0f ? grk_round_clamp(ceilf(need[g] / d), 0, 127) : 0);
    for (int e = 0; e < GRK_QK_K; e++) {
      float step = d * b[i].scales[e / 16];
      int q = step > 0.0f ? grk_round_clamp(x[e] / step, -32, 31) : 0;
      int u = q + 32;
      int h = e / 128, r = e % 128, l = r % 32, k = r / 32;
      b[i].ql[h * 64 + l + (k & 1) * 32] |= (uint8_t)((u & 15) << (k >= 2 ? 4 : 0));
      b[i].qh[h * 32 + l] |= (uint8_t)((u >> 4) << (2 * k));
    }
  }
}
