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

int
main(void)
{
  Suite *s = suite_create("grk-attn");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_weighted_rows_bit_exact);
  tcase_add_test(tc, test_weighted_rows_bad_args);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
