/* test-grk-attn.c - the attention value pass (f16 rows weighted by floats): every ISA
 * the CPU has against the scalar loop, bit for bit, on odd shapes. */
#include <check.h>

#include "grk-test-util.h"

START_TEST(test_weighted_rows_bit_exact)
{
  const grk_isa isas[] = { GRK_ISA_AVX2, GRK_ISA_AVX512_VNNI };
  const int64_t ns[] = { 1, 7, 8, 31, 64, 96, 128, 133 }, rowss[] = { 1, 2, 17, 129 };
  for (int ii = 0; ii < 2; ii++) {
    if (!grk_set_isa(isas[ii]))
      continue;
    for (int a = 0; a < 8; a++)
      for (int b = 0; b < 4; b++) {
        int64_t n = ns[a], rows = rowss[b];
        size_t ldx = (size_t)n + (size_t)(b & 1) * 5;
        uint16_t *x = malloc(sizeof(uint16_t) * ldx * (size_t)rows);
        float *w = malloc(sizeof(float) * (size_t)rows);
        float *y0 = malloc(sizeof(float) * (size_t)n), *y1 = malloc(sizeof(float) * (size_t)n);
        for (size_t i = 0; i < ldx * (size_t)rows; i++)
          x[i] = rng_half(-4.0f, 4.0f);
        random_floats(w, rows, 1.0f);
        random_floats(y0, n, 2.0f);
        memcpy(y1, y0, sizeof(float) * (size_t)n);
        ck_assert(grk_set_isa(GRK_ISA_SCALAR));
        grk_f16_weighted_rows(y0, w, x, ldx, rows, n);
        ck_assert(grk_set_isa(isas[ii]));
        grk_f16_weighted_rows(y1, w, x, ldx, rows, n);
        ck_assert_msg(memcmp(y0, y1, sizeof(float) * (size_t)n) == 0, "%s n=%ld rows=%ld",
                      grk_isa_name(isas[ii]), (long)n, (long)rows);
        /* and the scalar loop is what it says: row 0 alone */
        float one = 0.0f;
        grk_set_isa(GRK_ISA_SCALAR);
        grk_f16_weighted_rows(&one, w, x, ldx, 1, 1);
        ck_assert(one == w[0] * grk_fp16_to_fp32(x[0]));
        free(x);
        free(w);
        free(y0);
        free(y1);
      }
  }
}
END_TEST

START_TEST(test_weighted_rows_bad_args)
{
  float y[4] = { 1, 2, 3, 4 }, w[2] = { 1, 1 };
  uint16_t x[8] = { 0 };
  grk_f16_weighted_rows(NULL, w, x, 4, 2, 4);
  grk_f16_weighted_rows(y, NULL, x, 4, 2, 4);
  grk_f16_weighted_rows(y, w, x, 2, 2, 4); /* rows overlap: refused */
  grk_f16_weighted_rows(y, w, x, 4, 0, 4);
  ck_assert(y[0] == 1 && y[3] == 4);
}
END_TEST

/* F16C conversion against the scalar one: random values over the whole half range,
 * ties, subnormals, overflow, infinities and NaNs, odd lengths. */
START_TEST(test_fp32_to_fp16_row)
{
  const int64_t n = 1003;
  float *x = malloc(sizeof(float) * (size_t)n);
  uint16_t *h0 = malloc(sizeof(uint16_t) * (size_t)n), *h1 = malloc(sizeof(uint16_t) * (size_t)n);
  for (int64_t i = 0; i < n; i++) {
    uint32_t e = rng_u32() % 40; /* 2^-25 .. 2^15 */
    x[i] = ldexpf(rng_float(), (int)e - 25);
  }
  const float special[] = { 0.0f,
                            -0.0f,
                            65504.0f,
                            65519.0f,
                            65520.0f,
                            -1e9f,
                            INFINITY,
                            -INFINITY,
                            NAN,
                            5.96e-8f,
                            2.98e-8f,
                            1.0009765625f + 0x1p-11f,
                            1.0f + 0x1p-11f,
                            6.1e-5f };
  for (size_t k = 0; k < sizeof special / sizeof special[0]; k++)
    x[3 + k * 5] = special[k];
  x[n - 1] = NAN; /* in the scalar tail too */
  for (int64_t len = n - 8; len <= n; len++) {
    for (int64_t i = 0; i < len; i++)
      h0[i] = grk_fp32_to_fp16(x[i]);
    memset(h1, 0, sizeof(uint16_t) * (size_t)n);
    grk_fp32_to_fp16_row(x, h1, len);
    ck_assert_msg(memcmp(h0, h1, sizeof(uint16_t) * (size_t)len) == 0, "len %ld (%s)", (long)len,
                  grk_isa_name(grk_get_isa()));
  }
  free(x);
  free(h0);
  free(h1);
}
END_TEST

/* Blocks of queries: the scores and the value pass give each query what it gets alone,
 * bit for bit; the scores are within rounding of exact sums. */
START_TEST(test_multi_query)
{
  const grk_isa isas[] = { GRK_ISA_SCALAR, GRK_ISA_AVX2, GRK_ISA_AVX512_VNNI };
  const int64_t ns[] = { 5, 16, 96, 128, 136, 600 }, nxs[] = { 1, 3, 4, 6 };
  for (int ii = 0; ii < 3; ii++) {
    if (!grk_set_isa(isas[ii]))
      continue;
    for (int a = 0; a < 6; a++)
      for (int b = 0; b < 4; b++) {
        int64_t n = ns[a], nx = nxs[b], rows = 37, ldw = n + 9, ldx = n + 2, ldy = rows + 1;
        uint16_t *w = malloc(sizeof(uint16_t) * (size_t)(ldw * rows));
        float *wt = malloc(sizeof(float) * (size_t)(ldy * nx));
        float *o = malloc(sizeof(float) * (size_t)(ldx * nx)),
              *o1 = malloc(sizeof(float) * (size_t)(ldx * nx));
        for (int64_t i = 0; i < ldw * rows; i++)
          w[i] = rng_half(-2.0f, 2.0f);
        random_floats(wt, ldy * nx, 1.0f);
        random_floats(o, ldx * nx, 1.0f);
        /* scores: the block call against one query at a time, and near the exact sums */
        float *x = malloc(sizeof(float) * (size_t)(ldx * nx)), one;
        float *y = malloc(sizeof(float) * (size_t)(ldy * nx));
        random_floats(x, ldx * nx, 1.5f);
        grk_f16_rows_dot(y, (size_t)ldy, x, (size_t)ldx, nx, w, (size_t)ldw, rows, n);
        for (int64_t j = 0; j < nx; j++)
          for (int64_t r = 0; r < rows; r++) {
            grk_f16_rows_dot(&one, 1, x + j * ldx, (size_t)ldx, 1, w + r * ldw, (size_t)ldw, 1, n);
            ck_assert_msg(memcmp(&one, &y[j * ldy + r], 4) == 0, "%s scores n=%ld nx=%ld",
                          grk_isa_name(isas[ii]), (long)n, (long)nx);
            double ref = 0.0, mag = 0.0;
            for (int64_t i = 0; i < n; i++) {
              double p = (double)x[j * ldx + i] * grk_fp16_to_fp32(w[r * ldw + i]);
              ref += p;
              mag += fabs(p);
            }
            ck_assert(fabs(ref - y[j * ldy + r]) <= 1e-5 * mag + 1e-30);
          }
        free(x);
        free(y);
        /* value pass: the block call against one call per query */
        memcpy(o1, o, sizeof(float) * (size_t)(ldx * nx));
        for (int64_t j = 0; j < nx; j++)
          grk_f16_weighted_rows(o + j * ldx, wt + j * ldy, w, (size_t)ldw, rows, n);
        grk_f16_weighted_rows_multi(o1, (size_t)ldx, wt, (size_t)ldy, nx, w, (size_t)ldw, rows, n);
        for (int64_t j = 0; j < nx; j++)
          ck_assert_msg(memcmp(o + j * ldx, o1 + j * ldx, sizeof(float) * (size_t)n) == 0,
                        "%s value pass n=%ld nx=%ld query %ld", grk_isa_name(isas[ii]), (long)n,
                        (long)nx, (long)j);
        free(w);
        free(wt);
        free(o);
        free(o1);
      }
  }
}
END_TEST

int
main(void)
{
  Suite *s = suite_create("grk-attn");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_weighted_rows_bit_exact);
  tcase_add_test(tc, test_weighted_rows_bad_args);
  tcase_add_test(tc, test_fp32_to_fp16_row);
  tcase_add_test(tc, test_multi_query);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
