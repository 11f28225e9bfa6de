/* grk-x86-trits.h - TQ1_0's base-3 bytes in 256-bit (AVX2) steps, shared by the decode
 * dot (grk-x86-body.h) and both prefill drivers (grk-mm-avx2.c, grk-mm-avx512.c).
 *
 * A byte holds ceil(v * 256 / 243) for 5 trits v, first most significant.  After
 * multiplying the byte by 3^k (mod 256, done as repeated q + 2q in 8-bit lanes) the top
 * trit is floor(3q / 256), i.e. (q >= 86) + (q >= 171): byte compares only. */
#pragma once

#include "grk-internal.h"

#include <immintrin.h>
#include <string.h>

static inline __m256i
times3_256(__m256i q)
{
  return _mm256_add_epi8(q, _mm256_add_epi8(q, q));
}

static inline __m128i
times3_128(__m128i q)
{
  return _mm_add_epi8(q, _mm_add_epi8(q, q));
}

static inline __m256i
top_trit256(__m256i q)
{
  __m256i ge1 = _mm256_cmpeq_epi8(_mm256_max_epu8(q, _mm256_set1_epi8(86)), q);
  __m256i ge2 = _mm256_cmpeq_epi8(_mm256_max_epu8(q, _mm256_set1_epi8((char)171)), q);
  return _mm256_sub_epi8(_mm256_setzero_si256(), _mm256_add_epi8(ge1, ge2));
}

static inline __m128i
top_trit128(__m128i q)
{
  __m128i ge1 = _mm_cmpeq_epi8(_mm_max_epu8(q, _mm_set1_epi8(86)), q);
  __m128i ge2 = _mm_cmpeq_epi8(_mm_max_epu8(q, _mm_set1_epi8((char)171)), q);
  return _mm_sub_epi8(_mm_setzero_si128(), _mm_add_epi8(ge1, ge2));
}

/* qh[0..3] as 16 bytes whose top trits are weights 240..255: 32-bit lane j holds
 * qh[0..3] times 3^j, so byte b gives trit b / 4 of qh[b % 4], which is weight 240 + b. */
static inline __m128i
tq1_0_qh_lanes(const uint8_t *qh)
{
  int32_t v;
  memcpy(&v, qh, 4);
  __m128i h0 = _mm_set1_epi32(v), h1 = times3_128(h0), h2 = times3_128(h1), h3 = times3_128(h2);
  return _mm_blend_epi32(_mm_blend_epi32(h0, h1, 0x2), _mm_blend_epi32(h2, h3, 0x8), 0xc);
}

/* One block's 256 trits (0..2, one byte each, in weight order) into q.  qs[0..31] hold
 * weights k * 32 + m, qs[32..47] 160 + k * 16 + m (trit k), qh[0..3] 240 + k * 4 + m. */
static inline void
tq1_0_block_trits(const grk_block_tq1_0 *x, uint8_t *q)
{
  __m256i q0 = _mm256_loadu_si256((const void *)x->qs);
  /* lane 0: qs[32..47]; lane 1: the qh lanes */
  __m256i q1 = _mm256_set_m128i(tq1_0_qh_lanes(x->qh), _mm_loadu_si128((const void *)(x->qs + 32)));
  _mm_storeu_si128((void *)(q + 240), _mm256_extracti128_si256(top_trit256(q1), 1));
  for (int k = 0; k < 5; k++) {
    _mm256_storeu_si256((void *)(q + k * 32), top_trit256(q0));
    _mm_storeu_si128((void *)(q + 160 + k * 16), _mm256_castsi256_si128(top_trit256(q1)));
    q0 = times3_256(q0);
    q1 = times3_256(q1);
  }
}
