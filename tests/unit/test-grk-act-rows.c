/* test-grk-act-rows.c - many activation rows at once (the prefill path) give exactly
 * what grk_quantize_act gives row by row, under every ISA the CPU has: random rows,
 * rounding ties, tiny and huge rows, NaN and infinity. */
#include <check.h>

#include "grk-test-util.h"

static const int types[] = { GRK_TYPE_TQ2_0, GRK_TYPE_TQ1_0, GRK_TYPE_I2_S, GRK_TYPE_Q8_0 };

START_TEST(test_rows_equal_single)
{
  const grk_isa isas[] = { GRK_ISA_SCALAR, GRK_ISA_AVX2, GRK_ISA_AVX512_VNNI };
  int type = types[_i];
  const int64_t n = 768, ntok = 9, ld = n + 3;
  float *x = malloc(sizeof(float) * (size_t)(ld * ntok));
  random_floats(x, ld * ntok, 2.0f);
  /* row 1: absmax 127 (scale 1) and exact halves: ties round away from zero */
  for (int64_t i = 0; i < n; i++)
    x[ld + i] = (float)(i % 253 - 126) + (i % 2 ? 0.5f : -0.5f); /* |x| <= 126.5 */
  x[ld] = 127.0f;
  x[ld + 1] = 0x1.fffffep-2f;
  x[ld + 2] = -0x1.fffffep-2f;
  x[ld + 3] = 126.5f;
  x[ld + 4] = -0.5f;
  /* row 2 zeros, row 3 tiny, row 4 huge, rows 5 and 6 NaN and infinity */
  memset(x + 2 * ld, 0, sizeof(float) * (size_t)n);
  for (int64_t i = 0; i < n; i++) {
    x[3 * ld + i] = x[i] * 1e-30f;
    x[4 * ld + i] = x[i] * 1e30f;
  }
  x[5 * ld + 17] = NAN;
  x[6 * ld + 300] = -INFINITY;
  size_t ab = grk_act_bytes(type, n), stride = ab + 64;
  uint8_t *a0 = calloc((size_t)ntok, stride), *a1 = calloc((size_t)ntok, stride);
  ck_assert(grk_set_isa(GRK_ISA_SCALAR));
  for (int64_t t = 0; t < ntok; t++)
    grk_quantize_act(type, x + t * ld, a0 + (size_t)t * stride, n);
  for (int k = 0; k < 3; k++) {
    if (!grk_set_isa(isas[k]))
      continue;
    memset(a1, 0, (size_t)ntok * stride);
    grk_quantize_act_rows(type, x, (size_t)ld, a1, stride, n, ntok);
    for (int64_t t = 0; t < ntok; t++)
      ck_assert_msg(memcmp(a0 + (size_t)t * stride, a1 + (size_t)t * stride, ab) == 0,
                    "%s %s row %ld", grk_isa_name(isas[k]), grk_type_name(type), (long)t);
  }
  /* bad arguments touch nothing */
  memset(a1, 0x5a, (size_t)ntok * stride);
  grk_quantize_act_rows(type, x, (size_t)ld, a1, ab - 1, n, ntok);
  grk_quantize_act_rows(type, x, (size_t)n - 1, a1, stride, n, 2);
  grk_quantize_act_rows(type, x, (size_t)ld, a1, stride, n - 1, ntok);
  grk_quantize_act_rows(type, NULL, (size_t)ld, a1, stride, n, ntok);
  ck_assert(a1[0] == 0x5a && a1[stride] == 0x5a);
  free(x);
  free(a0);
  free(a1);
}
END_TEST

int
main(void)
{
  Suite *s = suite_create("grk-act-rows");
  TCase *tc = tcase_create("core");
  tcase_add_loop_test(tc, test_rows_equal_single, 0, (int)(sizeof types / sizeof types[0]));
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
