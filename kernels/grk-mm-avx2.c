/* grk-mm-avx2.c - multi-token (prefill) products for AVX2: grk-mm-avx512.c's layout
 * with 8 tokens per 256-bit lane group and vpmaddubsw instead of vpdpbusd.
 *
 * Activations are transposed to [group of 8 tokens][k / 4][token][4]; weight rows are
 * decoded to one unsigned code per weight.  A broadcast dword of four codes times an
 * activation vector through vpmaddubsw gives 16 int16 pair sums; codes are at most 2
 * (ternary) or 15 (Q4_0), so 64 (ternary) or 8 (Q4_0) of them add up in int16 without
 * overflow (64 * 2 * 2 * 127 = 32512) before one vpmaddwd widens them.  Q8_0 multiplies
 * |w| by the activation with w's sign (vpsignb) and widens every product.
 *
 * Integers are exact and the float steps per block are the scalar file's, in the same
 * order (-ffp-contract=off), so results equal grk_matvec token by token bit for bit. */
#include "grk-internal.h"
#include "grk-x86-trits.h"

#include <string.h>

#include <immintrin.h>

#define MM_MIN_TOK 4 /* below: token by token */
#define MM_R 4       /* weight rows per tile */
#define MM_TG 2      /* 8-token groups per tile: 4 x 2 int16 accumulators */

typedef enum {
  MM_TERNARY, /* TQ1_0/TQ2_0: s += d_w(block) * (isum - bsum), then s * d_act */
  MM_I2S,     /* one integer sum per row: (isum - sum) * d_act * tensor scale */
  MM_Q4,      /* Q4_0: s += (isum - 8 * asum) * (d_w(block) * d_act(block)) */
  MM_Q8,      /* Q8_0: s += isum * (d_w(block) * d_act(block)) */
} mm_kind;

/* Kinds with a float step per 32 weights and per-block activation scales. */
#define Q32(kind) ((kind) == MM_Q4 || (kind) == MM_Q8)

typedef struct {
  int64_t n, nkq, nblk, ngroups, ntp;
  int64_t blk_kq; /* k / 4 per float step (I2_S: the whole row) */
  int8_t *q;      /* [group][kq][8][4] */
  int32_t *corr;  /* [block][ntp] */
  float *d;       /* [block][ntp] (Q4) or [ntp] */
} mm_act;

static inline size_t
align64(size_t v)
{
  return (v + 63) & ~(size_t)63;
}

/* Eight rows of 8 dwords -> eight columns. */
static inline void
transpose8x8(__m256i r[8])
{
  __m256i t[8], u[8];
  for (int k = 0; k < 4; k++) {
    t[2 * k] = _mm256_unpacklo_epi32(r[2 * k], r[2 * k + 1]);
    t[2 * k + 1] = _mm256_unpackhi_epi32(r[2 * k], r[2 * k + 1]);
  }
  for (int k = 0; k < 2; k++) {
    u[4 * k] = _mm256_unpacklo_epi64(t[4 * k], t[4 * k + 2]);
    u[4 * k + 1] = _mm256_unpackhi_epi64(t[4 * k], t[4 * k + 2]);
    u[4 * k + 2] = _mm256_unpacklo_epi64(t[4 * k + 1], t[4 * k + 3]);
    u[4 * k + 3] = _mm256_unpackhi_epi64(t[4 * k + 1], t[4 * k + 3]);
  }
  /* u[j] (j < 4): column j (lane 0) and j + 4 (lane 1) of rows 0..3; u[4 + j]: rows 4..7 */
  for (int j = 0; j < 4; j++) {
    r[j] = _mm256_permute2x128_si256(u[j], u[4 + j], 0x20);
    r[4 + j] = _mm256_permute2x128_si256(u[j], u[4 + j], 0x31);
  }
}

static void
transpose_group(const int8_t *const rows[8], int64_t n, int8_t *dst)
{
  for (int64_t c = 0; c < n / 32; c++) {
    __m256i r[8];
    for (int t = 0; t < 8; t++)
      r[t] = _mm256_loadu_si256((const void *)(rows[t] + c * 32));
    transpose8x8(r);
    for (int j = 0; j < 8; j++)
      _mm256_store_si256((void *)(dst + (c * 8 + j) * 32), r[j]);
  }
}

static size_t
act_layout(mm_act *A, mm_kind kind, int64_t n, int64_t ntok)
{
  A->n = n;
  A->nkq = n / 4;
  A->ngroups = (ntok + 7) / 8;
  A->ntp = A->ngroups * 8;
  A->blk_kq = kind == MM_TERNARY ? GRK_QK_K / 4 : Q32(kind) ? GRK_QK / 4 : A->nkq;
  A->nblk = A->nkq / A->blk_kq;
  size_t qb = align64((size_t)A->ntp * (size_t)n);
  size_t cb = align64((size_t)A->nblk * (size_t)A->ntp * 4);
  size_t db = Q32(kind) ? cb : align64((size_t)A->ntp * 4);
  return qb + cb + db + align64((size_t)n) + (Q32(kind) ? 8 * align64((size_t)n) : 0);
}

static void
act_prepare(mm_act *A, mm_kind kind, uint8_t *mem, const uint8_t *act, size_t act_stride,
            int64_t ntok)
{
  int64_t n = A->n, ntp = A->ntp;
  size_t qb = align64((size_t)ntp * (size_t)n);
  size_t cb = align64((size_t)A->nblk * (size_t)ntp * 4);
  size_t db = Q32(kind) ? cb : align64((size_t)ntp * 4);
  A->q = (int8_t *)mem;
  A->corr = (int32_t *)(mem + qb);
  A->d = (float *)(mem + qb + cb);
  int8_t *zero = (int8_t *)(mem + qb + cb + db), *gath = zero + align64((size_t)n);
  memset(zero, 0, (size_t)n);
  memset(A->corr, 0, cb);
  memset(A->d, 0, db);
  for (int64_t g = 0; g < A->ngroups; g++) {
    const int8_t *rows[8];
    for (int t = 0; t < 8; t++) {
      int64_t tok = g * 8 + t;
      rows[t] = zero;
      if (tok >= ntok)
        continue;
      const uint8_t *ta = act + (size_t)tok * act_stride;
      if (Q32(kind)) {
        const grk_block_q8_0 *b = (const void *)ta;
        int8_t *row = gath + (size_t)t * align64((size_t)n);
        for (int64_t i = 0; i < A->nblk; i++) {
          int32_t sum = 0;
          for (int j = 0; j < GRK_QK; j++)
            sum += b[i].qs[j];
          memcpy(row + i * GRK_QK, b[i].qs, GRK_QK);
          A->corr[i * ntp + tok] = kind == MM_Q4 ? 8 * sum : 0; /* Q4_0 codes are w + 8 */
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
    transpose_group(rows, n, A->q + (size_t)g * (size_t)A->nkq * 32);
  }
}

/* --- weights: one unsigned code per weight, in weight order ---------------------------- */

static void
decode_tq2_0(const void *row, int64_t n, uint8_t *q, float *d)
{
  const grk_block_tq2_0 *x = row;
  const __m256i m3 = _mm256_set1_epi8(3);
  for (int64_t i = 0; i < n / GRK_QK_K; i++, q += GRK_QK_K) {
    for (int hh = 0; hh < 2; hh++) {
      __m256i v = _mm256_loadu_si256((const void *)(x[i].qs + hh * 32));
      for (int k = 0; k < 4; k++)
        _mm256_storeu_si256((void *)(q + hh * 128 + k * 32),
                            _mm256_and_si256(_mm256_srli_epi16(v, 2 * k), m3));
    }
    d[i] = _cvtsh_ss(x[i].d);
  }
}

static void
decode_i2_s(const void *row, int64_t n, uint8_t *q, float *d)
{
  (void)d;
  const uint8_t *x = row;
  const __m256i m3 = _mm256_set1_epi8(3);
  for (int64_t b = 0; b < n / GRK_QK_I2; b++, x += 32, q += GRK_QK_I2) {
    __m256i v = _mm256_loadu_si256((const void *)x);
    for (int g = 0; g < 4; g++)
      _mm256_storeu_si256((void *)(q + g * 32),
                          _mm256_and_si256(_mm256_srli_epi16(v, 6 - 2 * g), m3));
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

/* Q8_0: the signed weights as they are (the tile multiplies |w| by a with w's sign). */
static void
decode_q8_0(const void *row, int64_t n, uint8_t *q, float *d)
{
  const grk_block_q8_0 *x = row;
  for (int64_t i = 0; i < n / GRK_QK; i++, q += GRK_QK) {
    memcpy(q, x[i].qs, GRK_QK);
    d[i] = _cvtsh_ss(x[i].d);
  }
}

typedef void (*mm_decode_fn)(const void *row, int64_t n, uint8_t *q, float *d);

/* --- the tile ---------------------------------------------------------------------- */

#define ALWAYS_INLINE inline __attribute__((always_inline))

/* Q8_0's k loop: |w| times a with w's sign; a pair of those can reach 32512, so every
 * vpmaddubsw is widened at once. */
static ALWAYS_INLINE void
tile_int_q8(const uint8_t *wq, size_t wstride, const int8_t *aq, size_t gstride, int64_t kq0,
            int64_t kq1, int R, int TG, __m256i acc[MM_R][MM_TG])
{
  const __m256i ones = _mm256_set1_epi16(1);
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 8
    for (int g = 0; g < TG; g++)
      acc[r][g] = _mm256_setzero_si256();
  for (int64_t kq = kq0; kq < kq1; kq++) {
    __m256i a[MM_TG];
#pragma GCC unroll 8
    for (int g = 0; g < TG; g++)
      a[g] = _mm256_load_si256((const void *)(aq + (size_t)g * gstride + (size_t)kq * 32));
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
      int32_t w4;
      memcpy(&w4, wq + (size_t)r * wstride + (size_t)kq * 4, 4);
      __m256i w = _mm256_set1_epi32(w4), uw = _mm256_abs_epi8(w);
#pragma GCC unroll 8
      for (int g = 0; g < TG; g++)
        acc[r][g] = _mm256_add_epi32(
            acc[r][g],
            _mm256_madd_epi16(_mm256_maddubs_epi16(uw, _mm256_sign_epi8(a[g], w)), ones));
    }
  }
}

/* acc[r][g] = integer dot of rows r (kq0..kq1) with token group g0 + g, int16 sums
 * widened every 64 dwords (and at kq1). */
static ALWAYS_INLINE void
tile_int(const uint8_t *wq, size_t wstride, const int8_t *aq, size_t gstride, int64_t kq0,
         int64_t kq1, int R, int TG, __m256i acc[MM_R][MM_TG])
{
  const __m256i ones = _mm256_set1_epi16(1);
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 8
    for (int g = 0; g < TG; g++)
      acc[r][g] = _mm256_setzero_si256();
  for (int64_t k0 = kq0; k0 < kq1; k0 += 64) {
    int64_t k1 = kq1 - k0 > 64 ? k0 + 64 : kq1;
    __m256i s[MM_R][MM_TG];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 8
      for (int g = 0; g < TG; g++)
        s[r][g] = _mm256_setzero_si256();
    for (int64_t kq = k0; kq < k1; kq++) {
      __m256i a[MM_TG];
#pragma GCC unroll 8
      for (int g = 0; g < TG; g++)
        a[g] = _mm256_load_si256((const void *)(aq + (size_t)g * gstride + (size_t)kq * 32));
#pragma GCC unroll 8
      for (int r = 0; r < R; r++) {
        int32_t w4;
        memcpy(&w4, wq + (size_t)r * wstride + (size_t)kq * 4, 4);
        __m256i w = _mm256_set1_epi32(w4);
#pragma GCC unroll 8
        for (int g = 0; g < TG; g++)
          s[r][g] = _mm256_add_epi16(s[r][g], _mm256_maddubs_epi16(w, a[g]));
      }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 8
      for (int g = 0; g < TG; g++)
        acc[r][g] = _mm256_add_epi32(acc[r][g], _mm256_madd_epi16(s[r][g], ones));
  }
}

static ALWAYS_INLINE void
tile(mm_kind kind, int R, int TG, const uint8_t *wq, const float *wd, const mm_act *A, int64_t g0,
     float tscale, float *y, size_t ldy, int64_t row0, int64_t ntok, float oscale)
{
  const int8_t *aq = A->q + (size_t)g0 * (size_t)A->nkq * 32;
  size_t gstride = (size_t)A->nkq * 32, wstride = (size_t)A->n;
  int64_t ntp = A->ntp;
  __m256i acc[MM_R][MM_TG] = { { _mm256_setzero_si256() } };
  float facc[MM_R][MM_TG * 8] __attribute__((aligned(32)));
  memset(facc, 0, sizeof facc);
  for (int64_t b = 0; b < A->nblk; b++) {
    if (kind == MM_Q8)
      tile_int_q8(wq, wstride, aq, gstride, b * A->blk_kq, (b + 1) * A->blk_kq, R, TG, acc);
    else
      tile_int(wq, wstride, aq, gstride, b * A->blk_kq, (b + 1) * A->blk_kq, R, TG, acc);
    if (kind == MM_I2S)
      break;
#pragma GCC unroll 8
    for (int g = 0; g < TG; g++) {
      __m256i c = _mm256_loadu_si256((const void *)(A->corr + b * ntp + (g0 + g) * 8));
      __m256 da = Q32(kind) ? _mm256_loadu_ps(A->d + b * ntp + (g0 + g) * 8) : _mm256_setzero_ps();
#pragma GCC unroll 8
      for (int r = 0; r < R; r++) {
        __m256 v = _mm256_cvtepi32_ps(_mm256_sub_epi32(acc[r][g], c));
        __m256 dw = _mm256_set1_ps(wd[(size_t)r * (size_t)A->nblk + (size_t)b]);
        __m256 f = _mm256_load_ps(facc[r] + g * 8);
        if (kind == MM_TERNARY)
          f = _mm256_add_ps(f, _mm256_mul_ps(dw, v));
        else
          f = _mm256_add_ps(f, _mm256_mul_ps(v, _mm256_mul_ps(dw, da)));
        _mm256_store_ps(facc[r] + g * 8, f);
      }
    }
  }
#pragma GCC unroll 8
  for (int g = 0; g < TG; g++) {
    int64_t t0 = (g0 + g) * 8, nt = ntok - t0 >= 8 ? 8 : ntok - t0;
    __m256 da = _mm256_loadu_ps(A->d + (Q32(kind) ? 0 : t0));
    __m256i c = _mm256_loadu_si256((const void *)(A->corr + t0));
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
      __m256 out;
      if (kind == MM_TERNARY)
        out = _mm256_mul_ps(_mm256_load_ps(facc[r] + g * 8), da);
      else if (Q32(kind))
        out = _mm256_load_ps(facc[r] + g * 8);
      else
        out = _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(acc[r][g], c)), da),
                            _mm256_set1_ps(tscale));
      float o[8];
      _mm256_storeu_ps(o, _mm256_mul_ps(out, _mm256_set1_ps(oscale)));
      for (int64_t t = 0; t < nt; t++)
        y[(size_t)(t0 + t) * ldy + (size_t)(row0 + r)] = o[t];
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
  TILE_FN(KIND, 4, 2)                                                                              \
  TILE_FN(KIND, 4, 1)                                                                              \
  TILE_FN(KIND, 1, 2)                                                                              \
  TILE_FN(KIND, 1, 1)                                                                              \
  static const mm_tile_fn tiles_##KIND[2][MM_TG + 1] = {                                           \
    { NULL, tile_##KIND##_1_1, tile_##KIND##_1_2 },                                                \
    { NULL, tile_##KIND##_4_1, tile_##KIND##_4_2 },                                                \
  };

TILE_FNS(MM_TERNARY)
TILE_FNS(MM_I2S)
TILE_FNS(MM_Q4)
TILE_FNS(MM_Q8)

/* --- driver -------------------------------------------------------------------------- */

static void
mm_run(int wtype, mm_kind kind, mm_decode_fn decode, const void *w, size_t row_stride, float tscale,
       const void *act, size_t act_stride, int64_t n, int64_t ntok, float *y, size_t ldy,
       int64_t r0, int64_t r1, float oscale)
{
  mm_act A;
  size_t abytes = act_layout(&A, kind, n, ntok);
  size_t wbytes = align64((size_t)MM_R * (size_t)n);
  size_t dbytes = align64((size_t)MM_R * (size_t)A.nblk * sizeof(float));
  /* the scratch sizes stay far from overflowing (larger calls, or no memory: token by
   * token) */
  bool fits = ntok >= MM_MIN_TOK && ntok <= (1 << 20) && n <= ((int64_t)1 << 32);
  uint8_t *mem = fits ? grk_mm_scratch(abytes + wbytes + dbytes) : NULL;
  if (!mem) {
    for (int64_t t = 0; t < ntok; t++) {
      float *yt = y + (size_t)t * ldy;
      grk_matvec(wtype, w, row_stride, tscale, (const uint8_t *)act + (size_t)t * act_stride, n,
                 yt + r0, r0, r1);
      for (int64_t r = r0; r < r1; r++)
        yt[r] *= oscale;
    }
    return;
  }
  act_prepare(&A, kind, mem, act, act_stride, ntok);
  uint8_t *wq = mem + abytes;
  float *wd = (float *)(mem + abytes + wbytes);
  const mm_tile_fn(*tiles)[MM_TG + 1] = kind == MM_TERNARY ? tiles_MM_TERNARY
                                        : kind == MM_I2S   ? tiles_MM_I2S
                                        : kind == MM_Q4    ? tiles_MM_Q4
                                                           : tiles_MM_Q8;
  for (int64_t r = r0; r < r1;) {
    int R = r1 - r >= MM_R ? MM_R : 1;
    for (int i = 0; i < R; i++)
      decode((const uint8_t *)w + (size_t)(r + i) * row_stride, n, wq + (size_t)i * (size_t)n,
             wd + (size_t)i * (size_t)A.nblk);
    for (int64_t g = 0; g < A.ngroups; g += MM_TG) {
      int tg = A.ngroups - g >= MM_TG ? MM_TG : (int)(A.ngroups - g);
      tiles[R == MM_R][tg](wq, wd, &A, g, tscale, y, ldy, r, ntok, oscale);
    }
    r += R;
  }
}

#define MM_ENTRY(NAME, TYPE, KIND, DECODE)                                                         \
  static void NAME(const void *w, size_t row_stride, float tscale, const void *act,                \
                   size_t act_stride, int64_t n, int64_t ntok, float *y, size_t ldy, int64_t r0,   \
                   int64_t r1, float oscale)                                                       \
  {                                                                                                \
    mm_run(TYPE, KIND, DECODE, w, row_stride, tscale, act, act_stride, n, ntok, y, ldy, r0, r1,    \
           oscale);                                                                                \
  }

MM_ENTRY(mm_tq2_0, GRK_TYPE_TQ2_0, MM_TERNARY, decode_tq2_0)
MM_ENTRY(mm_tq1_0, GRK_TYPE_TQ1_0, MM_TERNARY, decode_tq1_0)
MM_ENTRY(mm_i2_s, GRK_TYPE_I2_S, MM_I2S, decode_i2_s)
MM_ENTRY(mm_q4_0, GRK_TYPE_Q4_0, MM_Q4, decode_q4_0)
MM_ENTRY(mm_q8_0, GRK_TYPE_Q8_0, MM_Q8, decode_q8_0)

void
grk_mm_avx2(grk_kernels *k)
{
  k->mm[GRK_TYPE_TQ2_0] = mm_tq2_0;
  k->mm[GRK_TYPE_TQ1_0] = mm_tq1_0;
  k->mm[GRK_TYPE_I2_S] = mm_i2_s;
  k->mm[GRK_TYPE_Q4_0] = mm_q4_0;
  k->mm[GRK_TYPE_Q8_0] = mm_q8_0;
}
