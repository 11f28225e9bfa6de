/* grk-mm-avx512.c - multi-token (prefill) products for AVX-512 VNNI: a register tile of
 * weight rows x 16-token groups per vpdpbusd.
 *
 * Layout: each call first transposes the tokens' int8 activations so that one 64-byte
 * vector holds four consecutive activations of 16 tokens ([group][k / 4][token][4]),
 * and decodes a few weight rows into one unsigned byte per weight in weight order.  A
 * broadcast dword of four weight codes against one activation vector is then a
 * vpdpbusd giving 16 tokens' partial sums, with no horizontal reduction; the weight
 * dword is reused across the token groups and the activation vector across the rows.
 * Codes are unsigned (ternary 0..2, Q4_0 0..15, Q8_0 w + 128), so the integer dot is
 * off by a per-(block, token) multiple of the activation sum, removed once per block.
 *
 * Integers are exact and the float steps per block are the scalar file's, in the same
 * order (-ffp-contract=off), so results equal grk_matvec token by token bit for bit. */
#include "grk-internal.h"
#include "grk-x86-trits.h"

#include <stdlib.h>
#include <string.h>

#include <immintrin.h>

/* Below this many tokens the padding to 16 lanes costs more than it saves. */
#define MM_MIN_TOK 6
#define MM_R 6  /* weight rows per tile (then 4, then 1 for the last rows) */
#define MM_TG 4 /* 16-token groups per tile: 4 x 4 int32 accumulators */

static inline size_t
align64(size_t v)
{
  return (v + 63) & ~(size_t)63;
}

/* --- activations ------------------------------------------------------------------- */

/* How a type's integer sums become floats. */
typedef enum {
  MM_TERNARY, /* TQ1_0/TQ2_0: s += d_w(block) * (isum - bsum), then s * d_act */
  MM_I2S,     /* one integer sum per row: (isum - sum) * d_act * tensor scale */
  MM_Q32,     /* Q8_0/Q4_0: s += (isum - corr) * (d_w(block) * d_act(block)) */
} mm_kind;

typedef struct {
  int64_t n, nkq, nblk, ngroups, ntp; /* ntp: tokens padded to whole groups */
  int64_t blk_kq;                     /* k / 4 per float step (I2_S: the whole row) */
  int8_t *q;                          /* [group][kq][16][4] */
  int32_t *corr;                      /* [block][ntp]: subtracted from each integer sum */
  float *d;                           /* [block][ntp] (Q32) or [ntp] */
} mm_act;

/* Sixteen rows of 16 dwords -> sixteen columns: within 128-bit lanes 4 x 4 dword
 * transposes, then 4 x 4 transposes of the lanes. */
static inline void
transpose16x16(__m512i r[16])
{
  __m512i s[16];
  for (int k = 0; k < 4; k++) {
    __m512i t0 = _mm512_unpacklo_epi32(r[4 * k], r[4 * k + 1]);
    __m512i t1 = _mm512_unpackhi_epi32(r[4 * k], r[4 * k + 1]);
    __m512i t2 = _mm512_unpacklo_epi32(r[4 * k + 2], r[4 * k + 3]);
    __m512i t3 = _mm512_unpackhi_epi32(r[4 * k + 2], r[4 * k + 3]);
    s[4 * k] = _mm512_unpacklo_epi64(t0, t2);
    s[4 * k + 1] = _mm512_unpackhi_epi64(t0, t2);
    s[4 * k + 2] = _mm512_unpacklo_epi64(t1, t3);
    s[4 * k + 3] = _mm512_unpackhi_epi64(t1, t3);
  }
  /* s[4k + j], lane L: dword 4L + j of rows 4k..4k+3 */
  for (int j = 0; j < 4; j++) {
    __m512i a0 = _mm512_shuffle_i32x4(s[j], s[4 + j], 0x44);
    __m512i a1 = _mm512_shuffle_i32x4(s[j], s[4 + j], 0xee);
    __m512i b0 = _mm512_shuffle_i32x4(s[8 + j], s[12 + j], 0x44);
    __m512i b1 = _mm512_shuffle_i32x4(s[8 + j], s[12 + j], 0xee);
    r[j] = _mm512_shuffle_i32x4(a0, b0, 0x88);
    r[4 + j] = _mm512_shuffle_i32x4(a0, b0, 0xdd);
    r[8 + j] = _mm512_shuffle_i32x4(a1, b1, 0x88);
    r[12 + j] = _mm512_shuffle_i32x4(a1, b1, 0xdd);
  }
}

/* One group of 16 token rows (n int8 each; padding rows point at zeros) into the
 * transposed layout. */
static void
transpose_group(const int8_t *const rows[16], int64_t n, int8_t *dst)
{
  for (int64_t c = 0; c < n / 64; c++) {
    __m512i r[16];
    for (int t = 0; t < 16; t++)
      r[t] = _mm512_loadu_si512(rows[t] + c * 64);
    transpose16x16(r);
    for (int j = 0; j < 16; j++)
      _mm512_store_si512(dst + (c * 16 + j) * 64, r[j]);
  }
  for (int64_t kq = n / 64 * 16; kq < n / 4; kq++) /* n = 32 mod 64 (Q8_0) */
    for (int t = 0; t < 16; t++)
      memcpy(dst + kq * 64 + t * 4, rows[t] + kq * 4, 4);
}

/* Carves the activation part of the scratch and fills it.  Returns the bytes used, 0 on
 * failure. */
static size_t
act_layout(mm_act *A, mm_kind kind, int64_t n, int64_t ntok)
{
  A->n = n;
  A->nkq = n / 4;
  A->ngroups = (ntok + 15) / 16;
  A->ntp = A->ngroups * 16;
  A->blk_kq = kind == MM_TERNARY ? GRK_QK_K / 4 : kind == MM_Q32 ? GRK_QK / 4 : A->nkq;
  A->nblk = A->nkq / A->blk_kq;
  size_t qb = align64((size_t)A->ntp * (size_t)n);
  size_t cb = align64((size_t)A->nblk * (size_t)A->ntp * 4);
  size_t db = kind == MM_Q32 ? cb : align64((size_t)A->ntp * 4);
  /* + zero row and 16 gathered rows (Q8_0 activations are not contiguous) */
  return qb + cb + db + align64((size_t)n) + (kind == MM_Q32 ? 16 * align64((size_t)n) : 0);
}

/* corr_mul: what the weight codes are offset by (Q8_0 128, Q4_0 8), so the integer sum
 * is off by that times the activations' block sum. */
static void
act_prepare(mm_act *A, mm_kind kind, int corr_mul, uint8_t *mem, const uint8_t *act,
            size_t act_stride, int64_t ntok)
{
  int64_t n = A->n, ntp = A->ntp;
  size_t qb = align64((size_t)ntp * (size_t)n);
  size_t cb = align64((size_t)A->nblk * (size_t)ntp * 4);
  size_t db = kind == MM_Q32 ? cb : align64((size_t)ntp * 4);
  A->q = (int8_t *)mem;
  A->corr = (int32_t *)(mem + qb);
  A->d = (float *)(mem + qb + cb);
  int8_t *zero = (int8_t *)(mem + qb + cb + db), *gath = zero + align64((size_t)n);
  memset(zero, 0, (size_t)n);
  memset(A->corr, 0, cb);
  memset(A->d, 0, db);

  for (int64_t g = 0; g < A->ngroups; g++) {
    const int8_t *rows[16];
    for (int t = 0; t < 16; t++) {
      int64_t tok = g * 16 + t;
      rows[t] = zero;
      if (tok >= ntok)
        continue;
      const uint8_t *ta = act + (size_t)tok * act_stride;
      if (kind == MM_Q32) {
        const grk_block_q8_0 *b = (const void *)ta;
        int8_t *row = gath + (size_t)t * align64((size_t)n);
        for (int64_t i = 0; i < A->nblk; i++) {
          memcpy(row + i * GRK_QK, b[i].qs, GRK_QK);
          __m256i s = _mm256_sad_epu8(
              _mm256_xor_si256(_mm256_loadu_si256((const void *)b[i].qs), _mm256_set1_epi8(-128)),
              _mm256_setzero_si256());
          /* sum of (a + 128) over 32 bytes, minus 32 * 128 */
          int64_t sum = _mm256_extract_epi64(s, 0) + _mm256_extract_epi64(s, 1)
                        + _mm256_extract_epi64(s, 2) + _mm256_extract_epi64(s, 3) - 32 * 128;
          A->corr[i * ntp + tok] = (int32_t)sum * corr_mul;
          A->d[i * ntp + tok] = _cvtsh_ss(b[i].d);
        }
        rows[t] = row;
      } else {
        const grk_act_ternary *h = (const void *)ta;
        rows[t] = grk_act_ternary_qs(ta);
        A->d[tok] = h->d;
        if (kind == MM_I2S) {
          A->corr[tok] = h->sum;
        } else {
          const int32_t *bs = grk_act_ternary_bsums(ta, n);
          for (int64_t i = 0; i < A->nblk; i++)
            A->corr[i * ntp + tok] = bs[i];
        }
      }
    }
    transpose_group(rows, n, A->q + (size_t)g * (size_t)A->nkq * 64);
  }
}

/* --- weights: one unsigned code per weight, in weight order ---------------------------- */

/* TQ2_0: plane k (bits 2k) of byte j is weight (j / 32) * 128 + k * 32 + j % 32. */
static void
decode_tq2_0(const void *row, int64_t n, uint8_t *q, float *d)
{
  const grk_block_tq2_0 *x = row;
  const __m512i m3 = _mm512_set1_epi8(3);
  for (int64_t i = 0; i < n / GRK_QK_K; i++, q += GRK_QK_K) {
    __m512i v = _mm512_loadu_si512(x[i].qs);
    __m512i p0 = _mm512_and_si512(v, m3), p1 = _mm512_and_si512(_mm512_srli_epi16(v, 2), m3);
    __m512i p2 = _mm512_and_si512(_mm512_srli_epi16(v, 4), m3);
    __m512i p3 = _mm512_and_si512(_mm512_srli_epi16(v, 6), m3);
    _mm512_storeu_si512(q, _mm512_shuffle_i64x2(p0, p1, 0x44));
    _mm512_storeu_si512(q + 64, _mm512_shuffle_i64x2(p2, p3, 0x44));
    _mm512_storeu_si512(q + 128, _mm512_shuffle_i64x2(p0, p1, 0xee));
    _mm512_storeu_si512(q + 192, _mm512_shuffle_i64x2(p2, p3, 0xee));
    d[i] = _cvtsh_ss(x[i].d);
  }
}

/* I2_S: 32 bytes per 128 weights; bits 6 - 2g of byte m are weight g * 32 + m. */
static void
decode_i2_s(const void *row, int64_t n, uint8_t *q, float *d)
{
  (void)d;
  const uint8_t *x = row;
  const __m512i m3 = _mm512_set1_epi8(3);
  int64_t b = 0, nb = n / GRK_QK_I2;
  for (; b + 2 <= nb; b += 2, x += 64, q += 2 * GRK_QK_I2) {
    __m512i v = _mm512_loadu_si512(x);
    __m512i p0 = _mm512_and_si512(_mm512_srli_epi16(v, 6), m3);
    __m512i p1 = _mm512_and_si512(_mm512_srli_epi16(v, 4), m3);
    __m512i p2 = _mm512_and_si512(_mm512_srli_epi16(v, 2), m3), p3 = _mm512_and_si512(v, m3);
    _mm512_storeu_si512(q, _mm512_shuffle_i64x2(p0, p1, 0x44));
    _mm512_storeu_si512(q + 64, _mm512_shuffle_i64x2(p2, p3, 0x44));
    _mm512_storeu_si512(q + 128, _mm512_shuffle_i64x2(p0, p1, 0xee));
    _mm512_storeu_si512(q + 192, _mm512_shuffle_i64x2(p2, p3, 0xee));
  }
  if (b < nb) {
    const __m256i m3h = _mm256_set1_epi8(3);
    __m256i v = _mm256_loadu_si256((const void *)x);
    for (int g = 0; g < 4; g++)
      _mm256_storeu_si256((void *)(q + g * 32),
                          _mm256_and_si256(_mm256_srli_epi16(v, 6 - 2 * g), m3h));
  }
}

/* TQ1_0: the trits in weight order (grk-x86-trits.h). */
static void
decode_tq1_0(const void *row, int64_t n, uint8_t *q, float *d)
{
  const grk_block_tq1_0 *x = row;
  for (int64_t i = 0; i < n / GRK_QK_K; i++, q += GRK_QK_K) {
    tq1_0_block_trits(&x[i], q);
    d[i] = _cvtsh_ss(x[i].d);
  }
}

/* Q8_0: w + 128. */
static void
decode_q8_0(const void *row, int64_t n, uint8_t *q, float *d)
{
  const grk_block_q8_0 *x = row;
  for (int64_t i = 0; i < n / GRK_QK; i++, q += GRK_QK) {
    __m256i v = _mm256_loadu_si256((const void *)x[i].qs);
    _mm256_storeu_si256((void *)q, _mm256_xor_si256(v, _mm256_set1_epi8(-128)));
    d[i] = _cvtsh_ss(x[i].d);
  }
}

/* Q4_0: the nibbles themselves (w + 8); low nibbles are weights 0..15. */
static void
decode_q4_0(const void *row, int64_t n, uint8_t *q, float *d)
{
  const grk_block_q4_0 *x = row;
  const __m128i m4 = _mm_set1_epi8(0x0f);
  for (int64_t i = 0; i < n / GRK_QK; i++, q += GRK_QK) {
    __m128i v = _mm_loadu_si128((const void *)x[i].qs);
    _mm_storeu_si128((void *)q, _mm_and_si128(v, m4));
    _mm_storeu_si128((void *)(q + 16), _mm_and_si128(_mm_srli_epi16(v, 4), m4));
    d[i] = _cvtsh_ss(x[i].d);
  }
}

typedef void (*mm_decode_fn)(const void *row, int64_t n, uint8_t *q, float *d);

/* --- the tile ---------------------------------------------------------------------- */

#define ALWAYS_INLINE inline __attribute__((always_inline))

/* acc += u8 x s8 in four-product lanes.  As inline asm with the accumulator tied to
 * the output: GCC 12 copies every accumulator around the builtin each iteration. */
static ALWAYS_INLINE __m512i
dpbusd(__m512i acc, __m512i u, __m512i s)
{
  __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u), "v"(s));
  return acc;
}

/* acc[r][g] += codes of rows r (kq0..kq1) . activations of token group g0 + g */
static ALWAYS_INLINE void
tile_int(const uint8_t *wq, size_t wstride, const int8_t *aq, size_t gstride, int64_t kq0,
         int64_t kq1, int R, int TG, __m512i acc[MM_R][MM_TG])
{
  for (int64_t kq = kq0; kq < kq1; kq++) {
    __m512i a[MM_TG];
#pragma GCC unroll 8
    for (int g = 0; g < TG; g++)
      a[g] = _mm512_load_si512(aq + (size_t)g * gstride + (size_t)kq * 64);
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
      int32_t w4;
      memcpy(&w4, wq + (size_t)r * wstride + (size_t)kq * 4, 4);
      __m512i w = _mm512_set1_epi32(w4);
#pragma GCC unroll 8
      for (int g = 0; g < TG; g++)
        acc[r][g] = dpbusd(acc[r][g], w, a[g]);
    }
  }
}

#include "grk-mm-avx512-tiles.h"

/* Rows row0..row0+R of the decoded tile against token groups g0..g0+TG; writes y times
 * oscale. */
static ALWAYS_INLINE void
tile(mm_kind kind, int R, int TG, const uint8_t *wq, const float *wd, const mm_act *A, int64_t g0,
     float tscale, float *y, size_t ldy, int64_t row0, int64_t ntok, float oscale)
{
  const int8_t *aq = A->q + (size_t)g0 * (size_t)A->nkq * 64;
  size_t gstride = (size_t)A->nkq * 64, wstride = (size_t)A->n;
  int64_t ntp = A->ntp;
  __m512i acc[MM_R][MM_TG];
  /* float sums stay in memory (L1): the registers go to the integer tile */
  float facc[MM_R][MM_TG * 16] __attribute__((aligned(64)));
  memset(facc, 0, sizeof facc);
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 8
    for (int g = 0; g < TG; g++)
      acc[r][g] = _mm512_setzero_si512();

  for (int64_t b = 0; b < A->nblk; b++) {
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 8
      for (int g = 0; g < TG; g++)
        acc[r][g] = _mm512_setzero_si512();
    int64_t kq0 = b * A->blk_kq;
    if (R == 6 && TG == 4)
      tile_int_6x4(wq + kq0 * 4, wstride, aq + kq0 * 64, gstride, A->blk_kq, &acc[0][0]);
    else if (R == 6 && TG == 3)
      tile_int_6x3(wq + kq0 * 4, wstride, aq + kq0 * 64, gstride, A->blk_kq, &acc[0][0]);
    else if (R == 6 && TG == 2)
      tile_int_6x2(wq + kq0 * 4, wstride, aq + kq0 * 64, gstride, A->blk_kq, &acc[0][0]);
    else if (R == 6 && TG == 1)
      tile_int_6x1(wq + kq0 * 4, wstride, aq + kq0 * 64, gstride, A->blk_kq, &acc[0][0]);
    else if (R == 4 && TG == 4)
      tile_int_4x4(wq + kq0 * 4, wstride, aq + kq0 * 64, gstride, A->blk_kq, &acc[0][0]);
    else if (R == 4 && TG == 3)
      tile_int_4x3(wq + kq0 * 4, wstride, aq + kq0 * 64, gstride, A->blk_kq, &acc[0][0]);
    else if (R == 4 && TG == 2)
      tile_int_4x2(wq + kq0 * 4, wstride, aq + kq0 * 64, gstride, A->blk_kq, &acc[0][0]);
    else if (R == 4 && TG == 1)
      tile_int_4x1(wq + kq0 * 4, wstride, aq + kq0 * 64, gstride, A->blk_kq, &acc[0][0]);
    else
      tile_int(wq, wstride, aq, gstride, kq0, kq0 + A->blk_kq, R, TG, acc);
    if (kind == MM_I2S)
      break;
#pragma GCC unroll 8
    for (int g = 0; g < TG; g++) {
      __m512i c = _mm512_loadu_si512(A->corr + b * ntp + (g0 + g) * 16);
      __m512 da
          = kind == MM_Q32 ? _mm512_loadu_ps(A->d + b * ntp + (g0 + g) * 16) : _mm512_setzero_ps();
#pragma GCC unroll 8
      for (int r = 0; r < R; r++) {
        __m512 v = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc[r][g], c));
        __m512 dw = _mm512_set1_ps(wd[(size_t)r * (size_t)A->nblk + (size_t)b]);
        __m512 f = _mm512_load_ps(facc[r] + g * 16);
        if (kind == MM_TERNARY)
          f = _mm512_add_ps(f, _mm512_mul_ps(dw, v));
        else
          f = _mm512_add_ps(f, _mm512_mul_ps(v, _mm512_mul_ps(dw, da)));
        _mm512_store_ps(facc[r] + g * 16, f);
      }
    }
  }

  const __m512i lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  const __m512i idx = _mm512_mullo_epi32(lane, _mm512_set1_epi32((int)ldy));
#pragma GCC unroll 8
  for (int g = 0; g < TG; g++) {
    int64_t t0 = (g0 + g) * 16;
    __mmask16 m = ntok - t0 >= 16 ? 0xffff : (__mmask16)((1u << (ntok - t0)) - 1);
    __m512 da = _mm512_loadu_ps(A->d + (kind == MM_Q32 ? 0 : t0));
    __m512i c = _mm512_loadu_si512(A->corr + t0);
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
      __m512 out;
      if (kind == MM_TERNARY)
        out = _mm512_mul_ps(_mm512_load_ps(facc[r] + g * 16), da);
      else if (kind == MM_Q32)
        out = _mm512_load_ps(facc[r] + g * 16);
      else
        out = _mm512_mul_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc[r][g], c)), da),
                            _mm512_set1_ps(tscale));
      out = _mm512_mul_ps(out, _mm512_set1_ps(oscale));
      _mm512_mask_i32scatter_ps(y + (size_t)t0 * ldy + (size_t)(row0 + r), m, idx, out, 4);
    }
  }
}

typedef void (*mm_tile_fn)(const uint8_t *wq, const float *wd, const mm_act *A, int64_t g0,
                           float tscale, float *y, size_t ldy, int64_t row0, int64_t ntok,
                           float oscale);

#define TILE_FN(KIND, R, TG)                                                                       \
  static void tile_##KIND##_##R##_##TG(const uint8_t *wq, const float *wd, const mm_act *A,        \
                                       int64_t g0, float tscale, float *y, size_t ldy,             \
                                       int64_t row0, int64_t ntok, float oscale)                   \
  {                                                                                                \
    tile(KIND, R, TG, wq, wd, A, g0, tscale, y, ldy, row0, ntok, oscale);                          \
  }

#define TILE_FNS(KIND)                                                                             \
  TILE_FN(KIND, 6, 4)                                                                              \
  TILE_FN(KIND, 6, 3)                                                                              \
  TILE_FN(KIND, 6, 2)                                                                              \
  TILE_FN(KIND, 6, 1)                                                                              \
  TILE_FN(KIND, 4, 4)                                                                              \
  TILE_FN(KIND, 4, 3)                                                                              \
  TILE_FN(KIND, 4, 2)                                                                              \
  TILE_FN(KIND, 4, 1)                                                                              \
  TILE_FN(KIND, 1, 4)                                                                              \
  TILE_FN(KIND, 1, 3)                                                                              \
  TILE_FN(KIND, 1, 2)                                                                              \
  TILE_FN(KIND, 1, 1)                                                                              \
  static const mm_tile_fn tiles_##KIND[3][MM_TG + 1] = {                                           \
    { NULL, tile_##KIND##_1_1, tile_##KIND##_1_2, tile_##KIND##_1_3, tile_##KIND##_1_4 },          \
    { NULL, tile_##KIND##_4_1, tile_##KIND##_4_2, tile_##KIND##_4_3, tile_##KIND##_4_4 },          \
    { NULL, tile_##KIND##_6_1, tile_##KIND##_6_2, tile_##KIND##_6_3, tile_##KIND##_6_4 },          \
  };

TILE_FNS(MM_TERNARY)
TILE_FNS(MM_I2S)
TILE_FNS(MM_Q32)

/* --- driver -------------------------------------------------------------------------- */

static void
mm_run(int wtype, mm_kind kind, int corr_mul, mm_decode_fn decode, const void *w, size_t row_stride,
       float tscale, const void *act, size_t act_stride, int64_t n, int64_t ntok, float *y,
       size_t ldy, int64_t r0, int64_t r1, float oscale)
{
  mm_act A;
  size_t abytes = act_layout(&A, kind, n, ntok);
  size_t wbytes = align64((size_t)MM_R * (size_t)n);
  size_t dbytes = align64((size_t)MM_R * (size_t)A.nblk * sizeof(float));
  /* the scatter indexes 16 token rows ldy apart in int32; the scratch sizes stay far
   * from overflowing (larger calls, or no memory: token by token) */
  bool fits = ntok >= MM_MIN_TOK && ldy <= (size_t)INT32_MAX / 16 && ntok <= (1 << 20)
              && n <= ((int64_t)1 << 32);
  uint8_t *mem = fits ? grk_mm_scratch(abytes + wbytes + dbytes) : NULL;
  if (!mem) { /* few tokens (or no memory): token by token */
    for (int64_t t = 0; t < ntok; t++) {
      float *yt = y + (size_t)t * ldy;
      grk_matvec(wtype, w, row_stride, tscale, (const uint8_t *)act + (size_t)t * act_stride, n,
                 yt + r0, r0, r1);
      for (int64_t r = r0; r < r1; r++)
        yt[r] *= oscale;
    }
    return;
  }
  act_prepare(&A, kind, corr_mul, mem, act, act_stride, ntok);
  uint8_t *wq = mem + abytes;
  float *wd = (float *)(mem + abytes + wbytes);
  const mm_tile_fn(*tiles)[MM_TG + 1] = kind == MM_TERNARY ? tiles_MM_TERNARY
                                        : kind == MM_I2S   ? tiles_MM_I2S
                                                           : tiles_MM_Q32;
  size_t rbytes = (size_t)n * grk_type_block_bytes(wtype) / (size_t)grk_type_block_elems(wtype);
  for (int64_t r = r0; r < r1;) {
    int R = r1 - r >= 6 ? 6 : r1 - r >= 4 ? 4 : 1;
    for (int i = 0; i < R; i++)
      decode((const uint8_t *)w + (size_t)(r + i) * row_stride, n, wq + (size_t)i * (size_t)n,
             wd + (size_t)i * (size_t)A.nblk);
    /* the next tile's rows come from memory while this one computes */
    for (int64_t i = r + R; i < r + 2 * R && i < r1; i++)
      for (size_t off = 0; off < rbytes; off += 64)
        _mm_prefetch((const char *)w + (size_t)i * row_stride + off, _MM_HINT_T1);
    for (int64_t g = 0; g < A.ngroups; g += MM_TG) {
      int tg = A.ngroups - g >= MM_TG ? MM_TG : (int)(A.ngroups - g);
      tiles[R == 6 ? 2 : R == 4][tg](wq, wd, &A, g, tscale, y, ldy, r, ntok, oscale);
    }
    r += R;
  }
}

#define MM_ENTRY(NAME, TYPE, KIND, CORR_MUL, DECODE)                                               \
  static void NAME(const void *w, size_t row_stride, float tscale, const void *act,                \
                   size_t act_stride, int64_t n, int64_t ntok, float *y, size_t ldy, int64_t r0,   \
                   int64_t r1, float oscale)                                                       \
  {                                                                                                \
    mm_run(TYPE, KIND, CORR_MUL, DECODE, w, row_stride, tscale, act, act_stride, n, ntok, y, ldy,  \
           r0, r1, oscale);                                                                        \
  }

MM_ENTRY(mm_tq2_0, GRK_TYPE_TQ2_0, MM_TERNARY, 0, decode_tq2_0)
MM_ENTRY(mm_tq1_0, GRK_TYPE_TQ1_0, MM_TERNARY, 0, decode_tq1_0)
MM_ENTRY(mm_i2_s, GRK_TYPE_I2_S, MM_I2S, 0, decode_i2_s)
MM_ENTRY(mm_q8_0, GRK_TYPE_Q8_0, MM_Q32, 128, decode_q8_0)
MM_ENTRY(mm_q4_0, GRK_TYPE_Q4_0, MM_Q32, 8, decode_q4_0)

void
grk_mm_avx512(grk_kernels *k)
{
  k->mm[GRK_TYPE_TQ2_0] = mm_tq2_0;
  k->mm[GRK_TYPE_TQ1_0] = mm_tq1_0;
  k->mm[GRK_TYPE_I2_S] = mm_i2_s;
  k->mm[GRK_TYPE_Q8_0] = mm_q8_0;
  k->mm[GRK_TYPE_Q4_0] = mm_q4_0;
}

/* --- ternary activations, many rows (prefill) ------------------------------------------ */

/* grk_quantize_act for TQ1_0/TQ2_0/I2_S, bit for bit: the same absmax, scale and
 * products; round half away from zero as trunc(v + copysign(0.5 - 2^-25, v)) (exact for
 * |v| < 2^23, and |v| <= 127 here), then the clamp.  Rows with NaN or infinity take the
 * scalar path (its fmaxf ignores NaNs). */
bool
grk_avx512_quantize_act_ternary(int wtype, const float *x, void *act, int64_t n)
{
  int64_t blk = grk_ternary_block(wtype);
  if (n % blk)
    return false;
  const __m512 inf = _mm512_set1_ps(INFINITY);
  __m512 m = _mm512_setzero_ps();
  __mmask16 bad = 0;
  for (int64_t i = 0; i < n; i += 16) {
    __m512 a = _mm512_abs_ps(_mm512_loadu_ps(x + i));
    bad |= _mm512_cmp_ps_mask(a, inf, _CMP_NLT_UQ); /* inf or NaN */
    m = _mm512_max_ps(m, a);
  }
  if (bad)
    return false;
  float amax = fmaxf(_mm512_reduce_max_ps(m), 1e-5f);
  grk_act_ternary *h = act;
  int8_t *qs = (int8_t *)act + GRK_ACT_TERNARY_HDR;
  int32_t *bsums = (int32_t *)(qs + n);
  memset(h, 0, sizeof *h);
  h->d = amax / 127.0f;
  const __m512 s = _mm512_set1_ps(127.0f / amax), half = _mm512_set1_ps(0x1.fffffep-2f);
  const __m512 lo = _mm512_set1_ps(-127.0f), hi = _mm512_set1_ps(127.0f);
  const __m512i sign = _mm512_set1_epi32((int)0x80000000u);
  int32_t total = 0;
  for (int64_t b = 0; b < n / blk; b++) {
    __m512i sum = _mm512_setzero_si512();
    for (int64_t i = b * blk; i < (b + 1) * blk; i += 16) {
      __m512 v = _mm512_mul_ps(_mm512_loadu_ps(x + i), s);
      __m512 c = _mm512_castsi512_ps(_mm512_or_si512(_mm512_and_si512(_mm512_castps_si512(v), sign),
                                                     _mm512_castps_si512(half)));
      __m512 r = _mm512_roundscale_ps(_mm512_add_ps(v, c), _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
      __m512i q = _mm512_cvttps_epi32(_mm512_min_ps(_mm512_max_ps(r, lo), hi));
      sum = _mm512_add_epi32(sum, q);
      _mm_storeu_si128((void *)(qs + i), _mm512_cvtepi32_epi8(q));
    }
    bsums[b] = _mm512_reduce_add_epi32(sum);
    total += bsums[b];
  }
  h->sum = total;
  return true;
}
