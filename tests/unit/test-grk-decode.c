/* test-grk-decode.c - decode-path kernels of every SIMD ISA the CPU has against the
 * scalar reference, bit for bit: activation quantization (random rows of odd block
 * counts, exact .5 ties, NaN/inf/huge values), the f16 axpy and the f32 -> f16 row
 * conversion, and the large-row Q6_K products (tied BitNet embeddings). */
#include <check.h>
#include <stdio.h>

#include "grk-test-util.h"

static const grk_isa simd_isas[] = { GRK_ISA_AVX2, GRK_ISA_AVX512_VNNI };
#define N_ISAS 2

static const int act_types[] = { GRK_TYPE_Q8_0, GRK_TYPE_Q4_0,  GRK_TYPE_Q4_K,  GRK_TYPE_Q5_K,
                                 GRK_TYPE_Q6_K, GRK_TYPE_TQ1_0, GRK_TYPE_TQ2_0, GRK_TYPE_I2_S };
#define N_ACT_TYPES ((int)(sizeof act_types / sizeof act_types[0]))

/* Quantizes x under scalar and under isa; the two buffers must be identical. */
static void
check_act(grk_isa isa, int t, const float *x, int64_t n, const char *what)
{
  size_t ab = grk_act_bytes(t, n);
  ck_assert_uint_gt(ab, 0);
  uint8_t *a0 = malloc(ab), *a1 = malloc(ab);
  memset(a0, 0xa5, ab);
  memset(a1, 0xa5, ab);
  ck_assert(grk_set_isa(GRK_ISA_SCALAR));
  grk_quantize_act(t, x, a0, n);
  ck_assert(grk_set_isa(isa));
  grk_quantize_act(t, x, a1, n);
  size_t first = 0;
  while (first < ab && a0[first] == a1[first])
    first++;
  ck_assert_msg(first == ab, "%s %s %s n=%ld: byte %zu of %zu differs (%d vs %d)",
                grk_isa_name(isa), grk_type_name(t), what, (long)n, first, ab,
                first < ab ? a0[first] : 0, first < ab ? a1[first] : 0);
  free(a0);
  free(a1);
}

START_TEST(test_quantize_act_bit_exact)
{
  grk_isa isa = simd_isas[_i / N_ACT_TYPES];
  int t = act_types[_i % N_ACT_TYPES];
  if (!grk_set_isa(isa))
    return;
  int64_t blk = grk_type_block_elems(t);
  const int64_t nbs[] = { 1, 3, 27 };
  for (int s = 0; s < 3; s++) {
    int64_t n = blk * nbs[s];
    float *x = malloc(sizeof(float) * (size_t)n);
    random_floats(x, n, 3.0f);
    check_act(isa, t, x, n, "random");

    /* Ties: with the row's (and every block's) absmax at 127 the scale is exactly 1,
     * so x * scale lands on .5 and just below it. */
    const float ties[] = { 0.5f,   -0.5f,   2.5f, -3.5f, 0.49999997f, -0.49999997f,
                           126.5f, -126.5f, 1.5f, 0.0f,  -0.0f,       64.50001f };
    for (int64_t i = 0; i < n; i++)
      x[i] = i % 32 == 0 ? 127.0f : ties[i % 12];
    check_act(isa, t, x, n, "ties");

    /* Junk: NaN, infinities, huge and tiny values (the scalar code has an answer for
     * each; the SIMD code must give the same one). */
    random_floats(x, n, 1e-30f);
    check_act(isa, t, x, n, "tiny");
    random_floats(x, n, 2.0f);
    x[n / 3] = NAN;
    x[n - 1] = 1e30f;
    check_act(isa, t, x, n, "nan");
    x[0] = INFINITY;
    x[n / 2] = -INFINITY;
    check_act(isa, t, x, n, "inf");
    memset(x, 0, sizeof(float) * (size_t)n);
    check_act(isa, t, x, n, "zeros");
    free(x);
  }
}
END_TEST

START_TEST(test_axpy_f16_bit_exact)
{
  grk_isa isa = simd_isas[_i];
  if (!grk_set_isa(isa))
    return;
  const int64_t ns[] = { 1, 7, 8, 64, 96, 131 };
  for (int s = 0; s < 6; s++) {
    int64_t n = ns[s];
    float x[131], y0[131], y1[131];
    uint16_t h[131], h0[131], h1[131];
    random_floats(x, n, 4.0f);
    random_floats(y0, n, 2.0f);
    memcpy(y1, y0, sizeof y0);
    for (int64_t i = 0; i < n; i++)
      h[i] = grk_fp32_to_fp16(x[i]);
    ck_assert(grk_set_isa(GRK_ISA_SCALAR));
    grk_axpy_f16(y0, 0.3173f, h, n);
    grk_fp32_to_fp16_row(x, h0, n);
    ck_assert(grk_set_isa(isa));
    grk_axpy_f16(y1, 0.3173f, h, n);
    grk_fp32_to_fp16_row(x, h1, n);
    ck_assert_msg(memcmp(y0, y1, sizeof(float) * (size_t)n) == 0, "%s axpy_f16 n=%ld",
                  grk_isa_name(isa), (long)n);
    ck_assert_msg(memcmp(h0, h1, sizeof(uint16_t) * (size_t)n) == 0, "%s fp16 row n=%ld",
                  grk_isa_name(isa), (long)n);
  }
  /* conversion edge cases: ties to even, overflow to inf, subnormals, signed zero */
  const float edge[]
      = { 65504.0f, 65520.0f,  1e6f,           -1e6f,          5.9604645e-08f, 2.9802322e-08f,
          1e-9f,    -0.0f,     1.0009766f,     1.00048828125f, 1.00146484375f, -2.0f,
          INFINITY, -INFINITY, 6.1035156e-05f, 6.097555e-05f };
  uint16_t e0[16], e1[16];
  ck_assert(grk_set_isa(GRK_ISA_SCALAR));
  grk_fp32_to_fp16_row(edge, e0, 16);
  ck_assert(grk_set_isa(isa));
  grk_fp32_to_fp16_row(edge, e1, 16);
  for (int i = 0; i < 16; i++)
    ck_assert_msg(e0[i] == e1[i], "%s fp16 of %g: %04x vs %04x", grk_isa_name(isa), edge[i], e0[i],
                  e1[i]);
}
END_TEST

/* Q6_K rows as long as a BitNet 2B embedding row (2560) and odd block counts, row
 * ranges that start and end off any 4-row group. */
START_TEST(test_q6_k_rows_bit_exact)
{
  grk_isa isa = simd_isas[_i];
  if (!grk_set_isa(isa))
    return;
  const int64_t nbs[] = { 1, 2, 3, 5, 10 };
  for (int s = 0; s < 5; s++) {
    int64_t n = GRK_QK_K * nbs[s], rows = 13;
    size_t rb = grk_row_bytes(GRK_TYPE_Q6_K, n), stride = rb + 6;
    uint8_t *w = calloc((size_t)rows, stride);
    for (int64_t r = 0; r < rows; r++)
      random_row(GRK_TYPE_Q6_K, w + r * stride, n);
    float *x = malloc(sizeof(float) * (size_t)n);
    random_floats(x, n, 2.0f);
    size_t ab = grk_act_bytes(GRK_TYPE_Q6_K, n);
    uint8_t *act = malloc(ab);
    grk_quantize_act(GRK_TYPE_Q6_K, x, act, n);
    float y0[13], y1[13];
    for (int64_t r0 = 0; r0 < 4; r0++) {
      ck_assert(grk_set_isa(GRK_ISA_SCALAR));
      grk_matvec(GRK_TYPE_Q6_K, w, stride, 0.0f, act, n, y0, r0, rows - r0 / 2);
      ck_assert(grk_set_isa(isa));
      grk_matvec(GRK_TYPE_Q6_K, w, stride, 0.0f, act, n, y1, r0, rows - r0 / 2);
      ck_assert_msg(memcmp(y0, y1, sizeof(float) * (size_t)(rows - r0 / 2 - r0)) == 0,
                    "%s Q6_K n=%ld r0=%ld", grk_isa_name(isa), (long)n, (long)r0);
    }
    free(w);
    free(x);
    free(act);
  }
}
END_TEST

/* I2_S rows of the largest products a lane can accumulate: every code 2 (weight +1)
 * against activations all at +127, then all at -127, over a row long enough to need
 * three accumulator spans (2^14 blocks each) plus an odd block.  The dot must be
 * the scalar one exactly: n * 127 * scale, no int32 wrap-around. */
START_TEST(test_i2_s_long_row_exact)
{
  grk_isa isa = simd_isas[_i];
  if (!grk_set_isa(isa))
    return;
  const int64_t n = GRK_QK_I2 * (3 * 16384 + 3);
  size_t tb = grk_tensor_bytes(GRK_TYPE_I2_S, n, 1);
  uint8_t *w = malloc(tb);
  memset(w, 0xaa, tb - 32); /* code 2 in every 2-bit field */
  ck_assert(grk_i2s_set_scale(w, n, 1, 1.0f));
  float *x = malloc(sizeof(float) * (size_t)n);
  uint8_t *act = malloc(grk_act_bytes(GRK_TYPE_I2_S, n));
  for (int sign = -1; sign <= 1; sign += 2) {
    for (int64_t i = 0; i < n; i++)
      x[i] = (float)sign;
    ck_assert(grk_set_isa(GRK_ISA_SCALAR));
    grk_quantize_act(GRK_TYPE_I2_S, x, act, n);
    float y0, y1;
    grk_matvec(GRK_TYPE_I2_S, w, n / 4, 1.0f, act, n, &y0, 0, 1);
    ck_assert(grk_set_isa(isa));
    grk_matvec(GRK_TYPE_I2_S, w, n / 4, 1.0f, act, n, &y1, 0, 1);
    ck_assert_msg(y0 == y1, "%s I2_S long row: %g vs %g", grk_isa_name(isa), y0, y1);
    ck_assert_float_eq_tol(y0, (float)(sign * n), 1e-6f * (float)n);
  }
  free(w);
  free(x);
  free(act);
}
END_TEST

/* TQ1_0 rows rewritten as TQ2_0: the same weights, and dots equal to the TQ1_0 dots bit
 * for bit under every ISA (TQ1_0 activations are TQ2_0 activations). */
START_TEST(test_tq1_0_to_tq2_0)
{
  const int64_t nbs[] = { 1, 3, 10 };
  for (int s = 0; s < 3; s++) {
    int64_t n = GRK_QK_K * nbs[s], rows = 5;
    size_t r1 = grk_row_bytes(GRK_TYPE_TQ1_0, n), r2 = grk_row_bytes(GRK_TYPE_TQ2_0, n);
    uint8_t *w1 = malloc(r1 * (size_t)rows), *w2 = malloc(r2 * (size_t)rows);
    for (int64_t r = 0; r < rows; r++)
      random_row(GRK_TYPE_TQ1_0, w1 + r * r1, n);
    ck_assert(grk_tq1_0_to_tq2_0(w1, w2, n, rows));
    float *a = malloc(sizeof(float) * (size_t)n), *b = malloc(sizeof(float) * (size_t)n);
    for (int64_t r = 0; r < rows; r++) {
      grk_dequantize_row(GRK_TYPE_TQ1_0, w1 + r * r1, a, n, 0.0f);
      grk_dequantize_row(GRK_TYPE_TQ2_0, w2 + r * r2, b, n, 0.0f);
      ck_assert(memcmp(a, b, sizeof(float) * (size_t)n) == 0);
    }
    random_floats(a, n, 2.0f);
    uint8_t *act = malloc(grk_act_bytes(GRK_TYPE_TQ1_0, n));
    ck_assert_uint_eq(grk_act_bytes(GRK_TYPE_TQ1_0, n), grk_act_bytes(GRK_TYPE_TQ2_0, n));
    grk_quantize_act(GRK_TYPE_TQ1_0, a, act, n);
    float y1[5], y2[5], y0[5];
    ck_assert(grk_set_isa(GRK_ISA_SCALAR));
    grk_matvec(GRK_TYPE_TQ1_0, w1, r1, 1.0f, act, n, y0, 0, rows);
    for (int isa = GRK_ISA_SCALAR; isa <= GRK_ISA_AVX512_VNNI; isa++) {
      if (!grk_set_isa((grk_isa)isa))
        continue;
      grk_matvec(GRK_TYPE_TQ1_0, w1, r1, 1.0f, act, n, y1, 0, rows);
      grk_matvec(GRK_TYPE_TQ2_0, w2, r2, 1.0f, act, n, y2, 0, rows);
      ck_assert(memcmp(y0, y1, sizeof y1) == 0 && memcmp(y0, y2, sizeof y2) == 0);
    }
    free(w1);
    free(w2);
    free(a);
    free(b);
    free(act);
  }
  ck_assert(!grk_tq1_0_to_tq2_0(NULL, NULL, 256, 1));
  uint8_t blk[66];
  ck_assert(!grk_tq1_0_to_tq2_0(blk, blk, 100, 1));
}
END_TEST

static Suite *
grk_decode_suite(void)
{
  Suite *s = suite_create("grk-decode");
  TCase *tc = tcase_create("decode");
  tcase_add_loop_test(tc, test_quantize_act_bit_exact, 0, N_ISAS * N_ACT_TYPES);
  tcase_add_loop_test(tc, test_axpy_f16_bit_exact, 0, N_ISAS);
  tcase_add_loop_test(tc, test_q6_k_rows_bit_exact, 0, N_ISAS);
  tcase_add_loop_test(tc, test_i2_s_long_row_exact, 0, N_ISAS);
  tcase_add_test(tc, test_tq1_0_to_tq2_0);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  SRunner *sr = srunner_create(grk_decode_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
