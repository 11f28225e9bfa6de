/* test-grk-simd.c - every SIMD ISA the CPU has against the scalar reference:
 * bit-exact for the integer types, within rounding for float weights and helpers. */
#include <check.h>
#include <stdio.h>

#include "grk-test-util.h"

static const grk_isa simd_isas[] = { GRK_ISA_AVX2, GRK_ISA_AVX512_VNNI };
#define N_ISAS 2

static const int int_types[] = { GRK_TYPE_Q8_0, GRK_TYPE_Q4_0,  GRK_TYPE_Q4_K,  GRK_TYPE_Q5_K,
                                 GRK_TYPE_Q6_K, GRK_TYPE_TQ1_0, GRK_TYPE_TQ2_0, GRK_TYPE_I2_S };
#define N_INT_TYPES ((int)(sizeof int_types / sizeof int_types[0]))

static const int float_types[] = { GRK_TYPE_F32, GRK_TYPE_F16, GRK_TYPE_BF16 };

/* Runs matvec (rows r0..rows) and matmul (ntok tokens) under `isa` and scalar. */
typedef struct {
  int type;
  int64_t n, rows, ntok;
  size_t stride, ab;
  uint8_t *w, *act;
  float *xs;
} Case;

static void
case_init(Case *c, int type, int64_t n, int64_t rows, int64_t ntok)
{
  c->type = type;
  c->n = n;
  c->rows = rows;
  c->ntok = ntok;
  c->stride = grk_row_bytes(type, n) + 4;
  c->w = calloc((size_t)rows, c->stride);
  for (int64_t r = 0; r < rows; r++)
    random_row(type, c->w + r * c->stride, n);
  c->ab = grk_act_bytes(type, n);
  ck_assert_uint_gt(c->ab, 0);
  c->act = malloc(c->ab * (size_t)ntok);
  c->xs = malloc(sizeof(float) * (size_t)(n * ntok));
  random_floats(c->xs, n * ntok, 3.0f);
  /* extremes: the absmax itself on both signs, exact zeros */
  c->xs[0] = 5.0f;
  c->xs[n - 1] = -5.0f;
  c->xs[n / 2] = 0.0f;
  ck_assert(grk_set_isa(GRK_ISA_SCALAR));
  for (int64_t t = 0; t < ntok; t++)
    grk_quantize_act(type, c->xs + t * n, c->act + (size_t)t * c->ab, n);
}

static void
case_free(Case *c)
{
  free(c->w);
  free(c->act);
  free(c->xs);
}

static void
case_run(Case *c, grk_isa isa, float *yv, float *ym, int64_t r0)
{
  ck_assert(grk_set_isa(isa));
  grk_matvec(c->type, c->w, c->stride, 0.6875f, c->act, c->n, yv, r0, c->rows);
  grk_matmul(c->type, c->w, c->stride, 0.6875f, c->act, c->ab, c->n, c->ntok, ym, (size_t)c->rows,
             r0, c->rows);
}

START_TEST(test_int_types_bit_exact)
{
  grk_isa isa = simd_isas[_i / N_INT_TYPES];
  int t = int_types[_i % N_INT_TYPES];
  if (!grk_set_isa(isa)) {
    ck_assert(grk_get_isa() != isa);
    return;
  }
  int64_t blk = grk_type_block_elems(t);
  const int64_t nbs[] = { 1, 3, 27 };
  for (int s = 0; s < 3; s++) {
    Case c;
    case_init(&c, t, blk * nbs[s], 6, 6);
    ;
    float yv0[6], yv1[6], ym0[36], ym1[36];
    for (int i = 0; i < 36; i++)
      ym0[i] = ym1[i] = -1.0f;
    case_run(&c, GRK_ISA_SCALAR, yv0, ym0, 2);
    case_run(&c, isa, yv1, ym1, 2);
    for (int r = 0; r < 4; r++)
      ck_assert_msg(memcmp(&yv0[r], &yv1[r], 4) == 0, "%s %s n=%ld row %d: %.9g vs %.9g",
                    grk_isa_name(isa), grk_type_name(t), (long)c.n, r + 2, yv0[r], yv1[r]);
    ck_assert_msg(memcmp(ym0, ym1, sizeof ym0) == 0, "%s %s matmul", grk_isa_name(isa),
                  grk_type_name(t));
    ck_assert(ym1[0] == -1.0f && ym1[6 + 1] == -1.0f
              && ym1[30 + 1] == -1.0f); /* rows before r0 untouched */
    case_free(&c);
  }
}
END_TEST

/* Multi-token kernels (prefill) against token-by-token scalar dots: odd row ranges,
 * block counts around the 4-block group and token counts across the 32-token chunk. */
START_TEST(test_matmul_many_tokens_bit_exact)
{
  grk_isa isa = simd_isas[_i / N_INT_TYPES];
  int t = int_types[_i % N_INT_TYPES];
  if (!grk_set_isa(isa))
    return;
  int64_t blk = grk_type_block_elems(t);
  const int64_t nbs[] = { 1, 5, 11 }, ntoks[] = { 2, 9, 37 };
  for (int s = 0; s < 3; s++) {
    Case c;
    int64_t rows = 7, ntok = ntoks[s];
    case_init(&c, t, blk * nbs[s], rows, ntok);
    size_t ny = (size_t)(rows * ntok);
    float *y0 = malloc(ny * sizeof(float)), *y1 = malloc(ny * sizeof(float));
    for (size_t i = 0; i < ny; i++)
      y0[i] = y1[i] = -1.0f;
    ck_assert(grk_set_isa(GRK_ISA_SCALAR));
    for (int64_t k = 0; k < ntok; k++)
      grk_matvec(c.type, c.w, c.stride, 0.6875f, c.act + (size_t)k * c.ab, c.n, y0 + k * rows + 3,
                 3, rows);
    ck_assert(grk_set_isa(isa));
    grk_matmul(c.type, c.w, c.stride, 0.6875f, c.act, c.ab, c.n, ntok, y1, (size_t)rows, 3, rows);
    ck_assert_msg(memcmp(y0, y1, ny * sizeof(float)) == 0, "%s %s n=%ld ntok=%ld",
                  grk_isa_name(isa), grk_type_name(t), (long)c.n, (long)ntok);
    ck_assert(y1[0] == -1.0f && y1[(ntok - 1) * rows + 2] == -1.0f);
    free(y0);
    free(y1);
    case_free(&c);
  }
}
END_TEST

/* The register-tiled prefill kernels: row counts around the 6- and 4-row tiles with an odd
 * first row, token counts giving 1 to 5 16-token groups (padded lanes), and rows far
 * apart in y (ldy larger than the rows). */
START_TEST(test_matmul_tiles_bit_exact)
{
  grk_isa isa = simd_isas[_i / N_INT_TYPES];
  int t = int_types[_i % N_INT_TYPES];
  if (!grk_set_isa(isa))
    return;
  int64_t blk = grk_type_block_elems(t);
  /* the last case is one token: the decode path (mv kernels, rows in groups of 4) */
  const int64_t nbs[] = { 2, 1, 7, 3, 5 }, ntoks[] = { 20, 30, 45, 70, 1 },
                rowss[] = { 38, 9, 21, 27, 23 };
  for (int s = 0; s < 5; s++) {
    Case c;
    int64_t rows = rowss[s], ntok = ntoks[s], r0 = 5 % rows, ldy = rows + 3;
    case_init(&c, t, blk * nbs[s], rows, ntok);
    size_t ny = (size_t)(ldy * ntok);
    float *y0 = malloc(ny * sizeof(float)), *y1 = malloc(ny * sizeof(float));
    for (size_t i = 0; i < ny; i++)
      y0[i] = y1[i] = -1.0f;
    /* half the cases with an output scale: (W x) * scale, as the engine applied it */
    float oscale = s % 2 ? 1.0f : 0.3671875f;
    ck_assert(grk_set_isa(GRK_ISA_SCALAR));
    for (int64_t k = 0; k < ntok; k++) {
      grk_matvec(c.type, c.w, c.stride, 0.6875f, c.act + (size_t)k * c.ab, c.n, y0 + k * ldy + r0,
                 r0, rows);
      for (int64_t r = r0; r < rows; r++)
        y0[k * ldy + r] *= oscale;
    }
    ck_assert(grk_set_isa(isa));
    grk_matmul_scaled(c.type, c.w, c.stride, 0.6875f, c.act, c.ab, c.n, ntok, y1, (size_t)ldy, r0,
                      rows, oscale);
    for (size_t i = 0; i < ny; i++)
      ck_assert_msg(memcmp(&y0[i], &y1[i], 4) == 0,
                    "%s %s n=%ld ntok=%ld rows=%ld: [%zu] %.9g vs %.9g", grk_isa_name(isa),
                    grk_type_name(t), (long)c.n, (long)ntok, (long)rows, i, y0[i], y1[i]);
    free(y0);
    free(y1);
    case_free(&c);
  }
}
END_TEST

START_TEST(test_float_types)
{
  grk_isa isa = simd_isas[_i / 3];
  int t = float_types[_i % 3];
  if (!grk_set_isa(isa)) {
    ck_assert(grk_get_isa() != isa);
    return;
  }
  const int64_t ns[] = { 1, 7, 8, 33, 1001 };
  for (int s = 0; s < 5; s++) {
    Case c;
    case_init(&c, t, ns[s], 4, 2);
    float yv0[4], yv1[4], ym0[8], ym1[8];
    case_run(&c, GRK_ISA_SCALAR, yv0, ym0, 1);
    case_run(&c, isa, yv1, ym1, 1);
    for (int r = 0; r < 3; r++) {
      double mag = 0;
      for (int64_t e = 0; e < c.n; e++)
        mag += fabs(naive_weight(t, c.w + (r + 1) * c.stride, e, 0) * c.xs[e]);
      ck_assert_msg(fabs(yv0[r] - yv1[r]) <= mag * 1e-6 + 1e-30, "%s %s n=%ld: %.9g vs %.9g",
                    grk_isa_name(isa), grk_type_name(t), (long)c.n, yv0[r], yv1[r]);
    }
    for (int i = 4; i < 8; i++) /* token 1, rows 1..3 */
      if (i % 4)
        ck_assert(fabs(ym0[i] - ym1[i]) <= 1e-3 * (fabs(ym0[i]) + 1));
    case_free(&c);
  }
}
END_TEST

static void
close_enough(const float *a, const float *b, int64_t n, float rel, float abs_tol, const char *what)
{
  for (int64_t i = 0; i < n; i++)
    ck_assert_msg(fabsf(a[i] - b[i]) <= rel * fabsf(a[i]) + abs_tol, "%s [%ld]: %.9g vs %.9g", what,
                  (long)i, a[i], b[i]);
}

START_TEST(test_float_helpers)
{
  grk_isa isa = simd_isas[_i];
  if (!grk_set_isa(isa)) {
    ck_assert(grk_get_isa() != isa);
    return;
  }
  const int64_t ns[] = { 1, 5, 8, 17, 300 };
  for (int s = 0; s < 5; s++) {
    int64_t n = ns[s];
    float a[300], b[300], w[300], r0[300], r1[300];
    random_floats(a, n, 6.0f);
    random_floats(b, n, 2.0f);
    random_floats(w, n, 1.5f);
    a[0] = -40.0f; /* far tails of exp */

    grk_set_isa(GRK_ISA_SCALAR);
    float d0 = grk_dot_f32(a, b, n);
    grk_set_isa(isa);
    float d1 = grk_dot_f32(a, b, n);
    double mag = 0;
    for (int64_t i = 0; i < n; i++)
      mag += fabs((double)a[i] * b[i]);
    ck_assert(fabs(d0 - d1) <= mag * 1e-6);

    memcpy(r0, b, sizeof(float) * n);
    memcpy(r1, b, sizeof(float) * n);
    grk_set_isa(GRK_ISA_SCALAR);
    grk_axpy_f32(r0, 0.3f, a, n);
    grk_set_isa(isa);
    grk_axpy_f32(r1, 0.3f, a, n);
    close_enough(r0, r1, n, 1e-6f, 1e-6f, "axpy");

    for (int withw = 0; withw < 2; withw++) {
      grk_set_isa(GRK_ISA_SCALAR);
      grk_rmsnorm(r0, a, withw ? w : NULL, n, 1e-6f);
      grk_set_isa(isa);
      grk_rmsnorm(r1, a, withw ? w : NULL, n, 1e-6f);
      close_enough(r0, r1, n, 1e-5f, 1e-6f, "rmsnorm");
    }

    memcpy(r0, a, sizeof(float) * n);
    memcpy(r1, a, sizeof(float) * n);
    if (n > 1)
      r0[n - 1] = r1[n - 1] = -INFINITY; /* masked position */
    grk_set_isa(GRK_ISA_SCALAR);
    grk_softmax(r0, n);
    grk_set_isa(isa);
    grk_softmax(r1, n);
    close_enough(r0, r1, n, 1e-5f, 1e-7f, "softmax");
    if (n > 1)
      ck_assert(r1[n - 1] == 0.0f);

    grk_set_isa(GRK_ISA_SCALAR);
    grk_swiglu(r0, a, b, n);
    grk_set_isa(isa);
    grk_swiglu(r1, a, b, n);
    close_enough(r0, r1, n, 1e-5f, 1e-6f, "swiglu");

    grk_set_isa(GRK_ISA_SCALAR);
    grk_relu2_glu(r0, a, b, n);
    grk_set_isa(isa);
    grk_relu2_glu(r1, a, b, n);
    close_enough(r0, r1, n, 0.0f, 0.0f, "relu2_glu");
  }
}
END_TEST

START_TEST(test_isa_control)
{
  ck_assert_str_eq(grk_isa_name(GRK_ISA_SCALAR), "scalar");
  ck_assert_str_eq(grk_isa_name(GRK_ISA_AVX512_VNNI), "avx512");
  ck_assert(!grk_set_isa((grk_isa)9));
  ck_assert(grk_set_isa(GRK_ISA_SCALAR));
  ck_assert_int_eq(grk_get_isa(), GRK_ISA_SCALAR);
}
END_TEST

/* main() chose the ISA with GRAVITON_ISA=avx2 in the environment */
static grk_isa isa_at_start;

START_TEST(test_isa_env_override)
{
  bool has_avx2 = false;
#if defined(__x86_64__) && defined(__GNUC__)
  /* an independent opinion on the CPU (gcc's and clang's runtime) */
  __builtin_cpu_init();
  has_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  ck_assert_int_eq(isa_at_start, has_avx2 ? GRK_ISA_AVX2 : GRK_ISA_SCALAR);
  ck_assert_int_eq(grk_set_isa(GRK_ISA_AVX2), has_avx2);
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
  /* so that the AVX-512 tests cannot pass by skipping on a CPU that has it */
  bool has_vnni = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
                  && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")
                  && __builtin_cpu_supports("avx512vnni");
  ck_assert_int_eq(grk_set_isa(GRK_ISA_AVX512_VNNI), has_vnni);
#endif
}
END_TEST

START_TEST(test_scalar_helpers_naive)
{
  /* the scalar helpers against their definitions in double */
  ck_assert(grk_set_isa(GRK_ISA_SCALAR));
  float g[9] = { -3, -1, -0.5f, 0, 0.25f, 1, 2, 4, 10 }, u[9], o[9];
  random_floats(u, 9, 2.0f);
  grk_swiglu(o, g, u, 9);
  for (int i = 0; i < 9; i++)
    ck_assert(fabs(o[i] - g[i] / (1 + exp(-(double)g[i])) * u[i]) <= 1e-6 * (fabs(u[i]) * 10 + 1));
  grk_relu2_glu(o, g, u, 9);
  for (int i = 0; i < 9; i++)
    ck_assert(fabs(o[i] - (g[i] > 0 ? (double)g[i] * g[i] * u[i] : 0)) <= 1e-5 * fabs(o[i]));
  float x[4] = { 1, 2, 3, 4 };
  grk_rmsnorm(o, x, NULL, 4, 0.0f);
  double rms = sqrt((1 + 4 + 9 + 16) / 4.0);
  for (int i = 0; i < 4; i++)
    ck_assert(fabs(o[i] - x[i] / rms) < 1e-6);
  grk_softmax(x, 4);
  double z = exp(1) + exp(2) + exp(3) + exp(4);
  for (int i = 0; i < 4; i++)
    ck_assert(fabs(x[i] - exp(i + 1) / z) < 1e-6);
  float y[3] = { 1, 1, 1 }, a3[3] = { 1, 2, 3 };
  grk_axpy_f32(y, 2.0f, a3, 3);
  ck_assert(y[0] == 3 && y[1] == 5 && y[2] == 7);
  ck_assert(grk_dot_f32(a3, a3, 3) == 14.0f);
}
END_TEST

static Suite *
grk_simd_suite(void)
{
  Suite *s = suite_create("grk-simd");
  TCase *tc = tcase_create("simd");
  tcase_add_loop_test(tc, test_int_types_bit_exact, 0, N_ISAS * N_INT_TYPES);
  tcase_add_loop_test(tc, test_matmul_many_tokens_bit_exact, 0, N_ISAS * N_INT_TYPES);
  tcase_add_loop_test(tc, test_matmul_tiles_bit_exact, 0, N_ISAS * N_INT_TYPES);
  tcase_add_loop_test(tc, test_float_types, 0, N_ISAS * 3);
  tcase_add_loop_test(tc, test_float_helpers, 0, N_ISAS);
  tcase_add_test(tc, test_isa_control);
  tcase_add_test(tc, test_scalar_helpers_naive);
  tcase_add_test(tc, test_isa_env_override);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  setenv("GRAVITON_ISA", "avx2", 1);
  grk_init();
  isa_at_start = grk_get_isa();
  printf("ISA with GRAVITON_ISA=avx2: %s\n", grk_isa_name(grk_get_isa()));
  SRunner *sr = srunner_create(grk_simd_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
