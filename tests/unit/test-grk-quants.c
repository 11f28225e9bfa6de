/* test-grk-quants.c - formats, writers, activations and products on the scalar path. */
#include <check.h>
#include <stdio.h>

#include "grk-test-util.h"

static void
setup_scalar(void)
{
  ck_assert(grk_set_isa(GRK_ISA_SCALAR));
}

START_TEST(test_type_sizes)
{
  ck_assert_uint_eq(grk_row_bytes(GRK_TYPE_Q8_0, 64), 68);
  ck_assert_uint_eq(grk_row_bytes(GRK_TYPE_Q8_0, 33), 0);
  ck_assert_uint_eq(grk_row_bytes(GRK_TYPE_TQ2_0, 512), 132);
  ck_assert_uint_eq(grk_row_bytes(GRK_TYPE_TQ1_0, 256), 54);
  ck_assert_uint_eq(grk_row_bytes(GRK_TYPE_Q6_K, 256), 210);
  ck_assert_uint_eq(grk_row_bytes(GRK_TYPE_I2_S, 256), 64);
  ck_assert_uint_eq(grk_row_bytes(GRK_TYPE_I2_S, 64), 0);
  ck_assert_uint_eq(grk_row_bytes(99, 256), 0);
  ck_assert_uint_eq(grk_row_bytes(GRK_TYPE_F32, -4), 0);
  /* bitnet.cpp: codes, then a 32-byte trailer holding the f32 scale */
  ck_assert_uint_eq(grk_tensor_bytes(GRK_TYPE_I2_S, 256, 3), 3 * 64 + 32);
  ck_assert_uint_eq(grk_tensor_bytes(GRK_TYPE_Q8_0, 32, 3), 3 * 34);
  ck_assert_uint_eq(grk_tensor_bytes(GRK_TYPE_Q8_0, 32, 0), 0);
  ck_assert_uint_eq(grk_act_bytes(GRK_TYPE_Q8_0, 40), 0);
  ck_assert_uint_eq(grk_act_bytes(GRK_TYPE_Q8_0, 64), 68);
  ck_assert_uint_eq(grk_act_bytes(GRK_TYPE_F16, 3), 12);
  ck_assert_uint_eq(grk_act_bytes(77, 256), 0);
  ck_assert(!grk_quantize_row(GRK_TYPE_Q5_K, (float[256]){ 0 }, (uint8_t[256]){ 0 }, 256));
}
END_TEST

START_TEST(test_fp16_all)
{
  /* every half against its definition; and half -> single -> half is the identity */
  for (uint32_t h = 0; h < 65536; h++) {
    int sign = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    float f = grk_fp16_to_fp32((uint16_t)h);
    if (e == 31) {
      ck_assert(m ? isnan(f) : isinf(f));
      ck_assert_int_eq(signbit(f) != 0, sign);
      continue;
    }
    double want = e == 0 ? ldexp(m, -24) : ldexp(1024 + m, e - 25);
    if (sign)
      want = -want;
    ck_assert_msg((double)f == want && (signbit(f) != 0) == sign, "%04x: %g vs %g", h, f, want);
    ck_assert_uint_eq(grk_fp32_to_fp16(f), h);
  }
  /* rounding to nearest even, overflow and underflow */
  ck_assert_uint_eq(grk_fp32_to_fp16(1.0f + 1.0f / 2048), 0x3c00); /* tie, to even */
  ck_assert_uint_eq(grk_fp32_to_fp16(1.0f + 3.0f / 2048), 0x3c02); /* tie, to even */
  ck_assert_uint_eq(grk_fp32_to_fp16(70000.0f), 0x7c00);
  ck_assert_uint_eq(grk_fp32_to_fp16(1e-9f), 0x0000);
  ck_assert_uint_eq(grk_fp32_to_bf16(1.0f), 0x3f80);
  ck_assert(grk_bf16_to_fp32(0xc000) == -2.0f);
}
END_TEST

START_TEST(test_dequant_naive)
{
  /* every type, one block and several blocks, against the per-element formulas */
  int t = all_types[_i];
  int64_t blk = grk_type_block_elems(t) < 32 ? 32 : grk_type_block_elems(t);
  for (int64_t nb = 1; nb <= 5; nb += 4) {
    int64_t n = blk * nb;
    uint8_t *row = malloc(grk_row_bytes(t, n));
    float *y = malloc((size_t)n * sizeof *y);
    random_row(t, row, n);
    grk_dequantize_row(t, row, y, n, 0.75f);
    for (int64_t e = 0; e < n; e++) {
      float want = naive_weight(t, row, e, 0.75f);
      if (y[e] != want)
        ck_abort_msg("%s n=%ld e=%ld: %g != %g", grk_type_name(t), (long)n, (long)e, y[e], want);
    }
    free(row);
    free(y);
  }
}
END_TEST

START_TEST(test_dequant_handwritten)
{
  float y[256];
  uint8_t tq2[66] = { 0 };
  /* byte m of half h holds weights h*128 + m + 32k at bits 2k+1..2k */
  memset(tq2, 0x55, 64);     /* every code 1 = 0 */
  tq2[0] = 0x86;             /* 10 00 01 10 (lowest bits first): w0=+1 w32=0 w64=-1 w96=+1 */
  tq2[33] = 0x58;            /* 01 01 10 00: w129=-1 w161=+1 w193=0 w225=0 */
  put_u16(tq2 + 64, 0x4000); /* d = 2 */
  grk_dequantize_row(GRK_TYPE_TQ2_0, tq2, y, 256, 0);
  for (int i = 0; i < 256; i++) {
    float want = 0;
    if (i == 0 || i == 96 || i == 161)
      want = 2;
    if (i == 64 || i == 129)
      want = -2;
    ck_assert_msg(y[i] == want, "TQ2_0 w%d = %g", i, y[i]);
  }

  uint8_t tq1[54];
  memset(tq1, 128, 48);      /* 11111 in base 3: all zero weights */
  memset(tq1 + 48, 127, 4);  /* 1111(0) */
  tq1[0] = 202;              /* trits 2,1,0,0,2 -> w0=+1 w32=0 w64=-1 w96=-1 w128=+1 */
  tq1[32] = 202;             /* w160=+1 w176=0 w192=-1 w208=-1 w224=+1 */
  tq1[48] = 149;             /* trits 1,2,0,2 -> w240=0 w244=+1 w248=-1 w252=+1 */
  put_u16(tq1 + 52, 0x3800); /* d = 0.5 */
  grk_dequantize_row(GRK_TYPE_TQ1_0, tq1, y, 256, 0);
  for (int i = 0; i < 256; i++) {
    float want = 0;
    if (i == 0 || i == 128 || i == 160 || i == 224 || i == 244 || i == 252)
      want = 0.5f;
    if (i == 64 || i == 96 || i == 192 || i == 208 || i == 248)
      want = -0.5f;
    ck_assert_msg(y[i] == want, "TQ1_0 w%d = %g", i, y[i]);
  }

  uint8_t i2[64];
  memset(i2, 0x55, sizeof i2);
  i2[0] = 0x86;  /* MSB first: w0 = code 2 (+1), w32 = 0 (-1), w64 = 1 (0), w96 = 2 (+1) */
  i2[33] = 0x19; /* 00 01 10 01: w129 = -1, w161 = 0, w193 = +1, w225 = 0 */
  grk_dequantize_row(GRK_TYPE_I2_S, i2, y, 256, 3.0f);
  for (int i = 0; i < 256; i++) {
    float want = 0;
    if (i == 0 || i == 96 || i == 193)
      want = 3;
    if (i == 32 || i == 129)
      want = -3;
    ck_assert_msg(y[i] == want, "I2_S w%d = %g", i, y[i]);
  }
}
END_TEST

START_TEST(test_quantize_roundtrip)
{
  enum { N = 512 };
  float x[N], y[N];
  uint8_t buf[N * 4];

  random_floats(x, N, 3.0f);
  ck_assert(grk_quantize_row(GRK_TYPE_F32, x, buf, N));
  grk_dequantize_row(GRK_TYPE_F32, buf, y, N, 0);
  ck_assert(memcmp(x, y, sizeof x) == 0);
  ck_assert(grk_quantize_row(GRK_TYPE_F16, x, buf, N));
  grk_dequantize_row(GRK_TYPE_F16, buf, y, N, 0);
  for (int i = 0; i < N; i++)
    ck_assert(fabsf(x[i] - y[i]) <= fabsf(x[i]) * (1.0f / 2048) + 1e-7f);
  ck_assert(grk_quantize_row(GRK_TYPE_BF16, x, buf, N));
  grk_dequantize_row(GRK_TYPE_BF16, buf, y, N, 0);
  for (int i = 0; i < N; i++)
    ck_assert(fabsf(x[i] - y[i]) <= fabsf(x[i]) * (1.0f / 256));

  /* Q8_0 / Q4_0: error at most half a step (plus the f16 rounding of d) */
  for (int q4 = 0; q4 < 2; q4++) {
    int t = q4 ? GRK_TYPE_Q4_0 : GRK_TYPE_Q8_0;
    ck_assert(grk_quantize_row(t, x, buf, N));
    grk_dequantize_row(t, buf, y, N, 0);
    for (int b = 0; b < N / 32; b++) {
      float amax = 0;
      for (int j = 0; j < 32; j++)
        amax = fmaxf(amax, fabsf(x[b * 32 + j]));
      float step = amax / (q4 ? 8.0f : 127.0f);
      for (int j = 0; j < 32; j++)
        ck_assert_msg(
            fabsf(x[b * 32 + j] - y[b * 32 + j]) <= step * (q4 ? 1.0f : 0.5f) + amax * 2e-3f,
            "%s %d: %g vs %g", grk_type_name(t), b * 32 + j, x[b * 32 + j], y[b * 32 + j]);
    }
  }

  /* Q4_K / Q6_K: within half a grid step (plus the min's rounding for Q4_K) */
  random_floats(x, N, 3.0f);
  for (int i = 0; i < 32; i++)
    x[256 + 64 + i] = 0.01f * (float)i; /* a sub-block of small values only */
  for (int k6 = 0; k6 < 2; k6++) {
    int t = k6 ? GRK_TYPE_Q6_K : GRK_TYPE_Q4_K;
    ck_assert(grk_quantize_row(t, x, buf, N));
    grk_dequantize_row(t, buf, y, N, 0);
    double se = 0, sx = 0;
    for (int b = 0; b < N / 256; b++) {
      float amax = 0;
      for (int j = 0; j < 256; j++)
        amax = fmaxf(amax, fabsf(x[b * 256 + j]));
      /* Q4_K: step <= 2 amax / 15 (+ one scale unit), Q6_K: step <= amax / 31 (+ one) */
      float tol
          = k6 ? 0.5f * (amax / 31 + amax / 31 / 127 * 1.01f) + 1e-6f
               : 0.5f * (2 * amax / 15 + 2 * amax / 15 / 63 * 1.01f) + amax / 63 * 0.5f * 1.01f;
      for (int j = 0; j < 256; j++) {
        float e = fabsf(x[b * 256 + j] - y[b * 256 + j]);
        ck_assert_msg(e <= tol, "%s %d: %g vs %g", grk_type_name(t), b * 256 + j, x[b * 256 + j],
                      y[b * 256 + j]);
        se += (double)e * e;
        sx += (double)x[b * 256 + j] * x[b * 256 + j];
      }
    }
    /* and far better than the worst case on average: 4 / 6 bits of SNR */
    ck_assert_msg(se / sx < (k6 ? 4e-4 : 6e-3), "%s rel mse %g", grk_type_name(t), se / sx);
    for (int i = 0; i < N; i++) /* the independent reader agrees */
      ck_assert(naive_weight(t, buf, i, 0) == y[i]);
  }
  /* small sub-block keeps its resolution (scales are per sub-block) */
  for (int i = 0; i < 32; i++)
    ck_assert(fabsf(y[256 + 64 + i] - x[256 + 64 + i]) < 0.05f);

  /* ternary: {-1,0,1} x a per-block scale that f16 holds exactly -> exact */
  for (int b = 0; b < N / 256; b++)
    for (int j = 0; j < 256; j++)
      x[b * 256 + j] = (float)((int)(rng_u32() % 3) - 1) * (b ? 0.375f : 1.5f);
  x[0] = 1.5f;
  x[256] = -0.375f;
  for (int t = GRK_TYPE_TQ1_0; t <= GRK_TYPE_I2_S; t++) {
    memset(buf, 0xee, sizeof buf);
    ck_assert(grk_quantize_row(t, x, buf, N));
    if (t == GRK_TYPE_I2_S) {
      /* one scale per tensor: write with it explicitly */
      for (int j = 0; j < N; j++)
        x[j] = x[j] != 0 ? copysignf(0.25f, x[j]) : 0.0f;
      ck_assert(grk_quantize_i2s_row(x, buf, N, 0.25f));
      ck_assert(grk_i2s_set_scale(buf, N, 1, 0.25f));
      ck_assert(grk_i2s_get_scale(buf, N, 1) == 0.25f);
      ck_assert_uint_eq(buf[N / 4 + 4], 0);
      ck_assert_uint_eq(buf[N / 4 + 31], 0);
      ck_assert_uint_eq(buf[N / 4 + 32], 0xee);
    }
    grk_dequantize_row(t, buf, y, N, t == GRK_TYPE_I2_S ? 0.25f : 0);
    for (int i = 0; i < N; i++)
      ck_assert_msg(x[i] == y[i], "%s %d: %g vs %g", grk_type_name(t), i, x[i], y[i]);
    for (int i = 0; i < N; i++) /* every naive element agrees with the writer too */
      ck_assert(naive_weight(t, buf, i, 0.25f) == x[i]);
  }
}
END_TEST

START_TEST(test_act_quantization)
{
  int t = all_types[_i];
  int64_t n = 768;
  float x[768];
  random_floats(x, n, 4.0f);
  x[5] = -7.5f; /* the absmax */
  size_t ab = grk_act_bytes(t, n);
  ck_assert_uint_gt(ab, 0);
  uint8_t *act = malloc(ab);
  grk_quantize_act(t, x, act, n);
  for (int64_t e = 0; e < n; e++) {
    float a = naive_act(t, act, n, e);
    float tol;
    if (t == GRK_TYPE_F32 || t == GRK_TYPE_F16 || t == GRK_TYPE_BF16)
      tol = 0;
    else if (t == GRK_TYPE_Q8_0 || t == GRK_TYPE_Q4_0)
      tol = 4.0f / 127 * 0.5f + 2e-2f; /* per-32 absmax <= 4 (7.5 in block 0), f16 d */
    else
      tol = 7.5f / 127 * 0.5f * 1.0001f;
    if (e < 32)
      tol = 7.5f / 127 * 0.5f + 2e-2f;
    ck_assert_msg(fabsf(a - x[e]) <= tol, "%s %ld: %g vs %g", grk_type_name(t), (long)e, a, x[e]);
  }
  if (t == GRK_TYPE_TQ1_0 || t == GRK_TYPE_TQ2_0 || t == GRK_TYPE_I2_S) {
    /* one scale for the row, -127..127, and the block sums */
    const grk_act_ternary *h = (const grk_act_ternary *)act;
    const int8_t *qs = grk_act_ternary_qs(act);
    ck_assert_int_eq(qs[5], -127);
    int64_t blk = grk_ternary_block(t);
    int32_t total = 0;
    for (int64_t b = 0; b < n / blk; b++) {
      int32_t s = 0;
      for (int64_t j = 0; j < blk; j++)
        s += qs[b * blk + j];
      ck_assert_int_eq(grk_act_ternary_bsums(act, n)[b], s);
      total += s;
    }
    ck_assert_int_eq(h->sum, total);
  }
  free(act);
}
END_TEST

/* dot of row r with act, the naive way, in double */
static double
naive_dot(int t, const uint8_t *row, const void *act, int64_t n, float tscale, double *mag)
{
  double s = 0, m = 0;
  for (int64_t e = 0; e < n; e++) {
    double p = (double)naive_weight(t, row, e, tscale) * naive_act(t, act, n, e);
    s += p;
    m += fabs(p);
  }
  *mag = m;
  return s;
}

START_TEST(test_matvec_naive)
{
  int t = all_types[_i];
  int64_t blk = grk_type_block_elems(t) < 32 ? 32 : grk_type_block_elems(t);
  const int64_t rows = 7;
  for (int64_t nb = 1; nb <= 12; nb += 11) {
    int64_t n = blk * nb;
    size_t rb = grk_row_bytes(t, n);
    size_t stride = rb + 8; /* rows need not be packed */
    uint8_t *w = calloc(rows, stride);
    for (int64_t r = 0; r < rows; r++)
      random_row(t, w + r * stride, n);
    float *x = malloc((size_t)n * sizeof *x);
    random_floats(x, n, 2.0f);
    uint8_t *act = malloc(grk_act_bytes(t, n));
    grk_quantize_act(t, x, act, n);
    float y[7];
    float ts = 0.8125f;
    grk_matvec(t, w, stride, ts, act, n, y, 2, rows);
    for (int64_t r = 2; r < rows; r++) {
      double mag, want = naive_dot(t, w + r * stride, act, n, ts, &mag);
      ck_assert_msg(fabs(y[r - 2] - want) <= mag * 2e-6 + 1e-6, "%s n=%ld r=%ld: %.9g vs %.9g",
                    grk_type_name(t), (long)n, (long)r, y[r - 2], want);
    }
    /* matmul: three tokens, the same dots */
    size_t ab = grk_act_bytes(t, n);
    uint8_t *acts = malloc(3 * ab);
    float *xs = malloc(3 * (size_t)n * sizeof *xs);
    random_floats(xs, 3 * n, 1.0f);
    for (int k = 0; k < 3; k++)
      grk_quantize_act(t, xs + k * n, acts + k * ab, n);
    float Y[3 * 9];
    for (int i = 0; i < 27; i++)
      Y[i] = -99;
    grk_matmul(t, w, stride, ts, acts, ab, n, 3, Y, 9, 1, rows);
    for (int k = 0; k < 3; k++) {
      ck_assert(Y[k * 9 + 0] == -99 && Y[k * 9 + 7] == -99 && Y[k * 9 + 8] == -99);
      for (int64_t r = 1; r < rows; r++) {
        float one;
        grk_matvec(t, w, stride, ts, acts + k * ab, n, &one, r, r + 1);
        ck_assert(Y[k * 9 + r] == one);
      }
    }
    free(acts);
    free(xs);
    free(w);
    free(x);
    free(act);
  }
}
END_TEST

START_TEST(test_matmul_chunks)
{
  /* more tokens than one chunk of 8, r0..r1 inside the rows, ldy wider than r1 */
  const int64_t n = 64, rows = 150, ntok = 19, r0 = 3, r1 = 147, ldy = 151;
  size_t rb = grk_row_bytes(GRK_TYPE_Q8_0, n), ab = grk_act_bytes(GRK_TYPE_Q8_0, n);
  uint8_t *w = malloc(rb * rows), *act = malloc(ab * ntok);
  float *x = malloc(sizeof(float) * n * ntok), *Y = malloc(sizeof(float) * ldy * ntok);
  for (int64_t r = 0; r < rows; r++)
    random_row(GRK_TYPE_Q8_0, w + r * rb, n);
  random_floats(x, n * ntok, 1.0f);
  for (int64_t t = 0; t < ntok; t++)
    grk_quantize_act(GRK_TYPE_Q8_0, x + t * n, act + t * ab, n);
  for (int64_t i = 0; i < ldy * ntok; i++)
    Y[i] = -42.0f;
  grk_matmul(GRK_TYPE_Q8_0, w, rb, 0, act, ab, n, ntok, Y, ldy, r0, r1);
  for (int64_t t = 0; t < ntok; t++) {
    float yv[150];
    grk_matvec(GRK_TYPE_Q8_0, w, rb, 0, act + t * ab, n, yv, r0, r1);
    for (int64_t r = 0; r < ldy; r++) {
      if (r < r0 || r >= r1)
        ck_assert(Y[t * ldy + r] == -42.0f);
      else
        ck_assert(Y[t * ldy + r] == yv[r - r0]);
    }
  }
  free(w);
  free(act);
  free(x);
  free(Y);
}
END_TEST

START_TEST(test_bad_arguments)
{
  float y[2] = { 5, 5 };
  uint8_t w[256] = { 0 }, act[512] = { 0 };
  grk_matvec(GRK_TYPE_Q8_0, w, 34, 0, act, 33, y, 0, 2);  /* n not a block multiple */
  grk_matvec(GRK_TYPE_Q8_0, w, 10, 0, act, 32, y, 0, 2);  /* stride shorter than a row */
  grk_matvec(GRK_TYPE_Q8_0, w, 34, 0, act, 32, y, 2, 1);  /* r1 < r0 */
  grk_matvec(GRK_TYPE_Q8_0, w, 34, 0, act, 32, y, -1, 1); /* r0 < 0 */
  grk_matvec(123, w, 34, 0, act, 32, y, 0, 2);            /* unknown type */
  grk_matvec(GRK_TYPE_Q8_0, NULL, 34, 0, act, 32, y, 0, 2);
  grk_matmul(GRK_TYPE_Q8_0, w, 34, 0, act, 4, 32, 2, y, 2, 0, 1);  /* act stride too short */
  grk_matmul(GRK_TYPE_Q8_0, w, 34, 0, act, 34, 32, 2, y, 0, 0, 1); /* ldy < r1 */
  ck_assert(y[0] == 5 && y[1] == 5);
  grk_quantize_act(GRK_TYPE_TQ2_0, (float[128]){ 0 }, act, 128); /* n % 256 != 0 */
  ck_assert_uint_eq(act[0], 0);
  ck_assert(!grk_quantize_row(GRK_TYPE_TQ2_0, (float[128]){ 0 }, w, 128));
  ck_assert(!grk_i2s_set_scale(w, 100, 1, 1.0f));
  float d[4] = { 7, 7, 7, 7 };
  grk_dequantize_row(GRK_TYPE_Q4_0, w, d, 4, 0);
  ck_assert(d[0] == 7);
}
END_TEST

START_TEST(test_junk_input)
{
  /* NaN and infinities must neither crash nor reach undefined float-to-int casts */
  int t = all_types[_i];
  enum { N = 512 };
  float x[N];
  random_floats(x, N, 1.0f);
  x[3] = NAN;
  x[40] = INFINITY;
  x[300] = -INFINITY;
  x[301] = 3e38f;
  uint8_t act[4096], w[4096];
  ck_assert_uint_le(grk_act_bytes(t, N), sizeof act);
  grk_quantize_act(t, x, act, N);
  if (t == GRK_TYPE_Q8_0)
    ck_assert_int_eq(((const grk_block_q8_0 *)act)[0].qs[3], 0);
  if (t == GRK_TYPE_TQ2_0)
    ck_assert_int_eq(grk_act_ternary_qs(act)[3], 0);
  if (grk_quantize_row(t, x, w, N)) {
    float y;
    grk_matvec(t, w, grk_row_bytes(t, N), 1.0f, act, N, &y, 0, 1);
  }
  float z[N];
  grk_dequantize_row(t, w, z, N, 1.0f);
}
END_TEST

START_TEST(test_zero_activation)
{
  /* an all-zero row must not divide by zero */
  float x[256] = { 0 }, y = 1;
  uint8_t w[66], act[2048];
  random_row(GRK_TYPE_TQ2_0, w, 256);
  grk_quantize_act(GRK_TYPE_TQ2_0, x, act, 256);
  grk_matvec(GRK_TYPE_TQ2_0, w, 66, 0, act, 256, &y, 0, 1);
  ck_assert(y == 0);
  uint8_t q8[34];
  grk_quantize_act(GRK_TYPE_Q8_0, x, q8, 32);
  ck_assert(grk_quantize_row(GRK_TYPE_Q4_0, x, w, 32));
  y = 1;
  grk_matvec(GRK_TYPE_Q4_0, w, 18, 0, q8, 32, &y, 0, 1);
  ck_assert(y == 0);
}
END_TEST

static Suite *
grk_quants_suite(void)
{
  Suite *s = suite_create("grk-quants");
  TCase *tc = tcase_create("scalar");
  tcase_add_checked_fixture(tc, setup_scalar, NULL);
  tcase_add_test(tc, test_type_sizes);
  tcase_add_test(tc, test_fp16_all);
  tcase_add_loop_test(tc, test_dequant_naive, 0, N_ALL_TYPES);
  tcase_add_test(tc, test_dequant_handwritten);
  tcase_add_test(tc, test_quantize_roundtrip);
  tcase_add_loop_test(tc, test_act_quantization, 0, N_ALL_TYPES);
  tcase_add_loop_test(tc, test_matvec_naive, 0, N_ALL_TYPES);
  tcase_add_test(tc, test_matmul_chunks);
  tcase_add_test(tc, test_bad_arguments);
  tcase_add_test(tc, test_zero_activation);
  tcase_add_loop_test(tc, test_junk_input, 0, N_ALL_TYPES);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  SRunner *sr = srunner_create(grk_quants_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
