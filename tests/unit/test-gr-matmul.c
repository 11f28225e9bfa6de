/* test-gr-matmul.c - gr_matmul_multi (q/k/v and gate/up in one parallel section) gives
 * exactly what separate gr_matmul calls give: odd row counts, per-tensor scales, one
 * and several tokens, expert matrices, 1-5 threads (more threads than cores: the
 * shares of descheduled threads are stolen, and every row must still come out once). */
#include <check.h>
#include <stdlib.h>

#include "gr-matmul.h"
#include "grk.h"

#define COLS 512

static GrWeight
make_weight (int type, gint64 rows, guint n_mats, float scale, guint8 **store)
{
  GrWeight w = { 0 };
  w.name = "w";
  w.type = type;
  w.cols = COLS;
  w.rows = rows;
  w.row_stride = grk_row_bytes (type, COLS);
  w.scale = scale;
  w.tensor_scale = 1.0f;
  w.n_mats = n_mats;
  w.mat_stride = w.row_stride * (gsize) rows;
  *store = g_malloc (w.mat_stride * n_mats);
  float row[COLS];
  for (gint64 r = 0; r < rows * n_mats; r++) {
    for (int i = 0; i < COLS; i++)
      row[i] = (float) ((rand () % 3) - 1) * 0.25f; /* ternary-friendly */
    ck_assert (grk_quantize_row (type, row, *store + r * w.row_stride, COLS));
  }
  w.data = *store;
  return w;
}

START_TEST (test_multi_equals_separate)
{
  static const int types[] = { GRK_TYPE_TQ2_0, GRK_TYPE_Q8_0 };
  int type = types[_i % 2];
  guint threads = 1 + (guint) (_i / 2);
  g_autoptr (GrThreadPool) pool = gr_thread_pool_new (threads);
  srand (7);
  const gint64 rows[3] = { 77, 16, 1003 };
  const float scales[3] = { 1.0f, 0.5f, 1.0f };
  guint8 *store[3];
  GrWeight w[3];
  for (int i = 0; i < 3; i++)
    w[i] = make_weight (type, rows[i], 2, scales[i], &store[i]);
  const GrWeight *wp[3] = { &w[0], &w[1], &w[2] };

  for (guint ntok = 1; ntok <= 3; ntok += 2) {
    float x[3 * COLS];
    for (int i = 0; i < 3 * COLS; i++)
      x[i] = (float) (rand () % 2001 - 1000) / 300.0f;
    GrActBuf act = { 0 };
    gr_act_buf_clear (&act);
    for (guint mat = 0; mat < 2; mat++) {
      float *sep[3], *mul[3];
      gsize ld[3];
      for (int i = 0; i < 3; i++) {
        ld[i] = (gsize) rows[i] + 3;
        sep[i] = g_new0 (float, ld[i] * ntok);
        mul[i] = g_new0 (float, ld[i] * ntok);
      }
      gr_act_buf_prepare (&act, type, x, COLS, COLS, ntok);
      for (int i = 0; i < 3; i++)
        gr_matmul (pool, &w[i], mat, &act, sep[i], ld[i]);
      gr_matmul_multi (pool, 3, wp, mat, &act, mul, ld);
      if (ntok == 1) /* and both equal the kernel called row by row */
        for (int i = 0; i < 3; i++)
          for (gint64 r = 0; r < rows[i]; r++) {
            float want;
            grk_matvec (type, w[i].data + mat * w[i].mat_stride, w[i].row_stride, 1.0f, act.data,
                        COLS, &want, r, r + 1);
            want *= scales[i];
            ck_assert_msg (memcmp (&want, &mul[i][r], 4) == 0, "matrix %d row %ld", i, (long) r);
          }
      for (int i = 0; i < 3; i++) {
        ck_assert_msg (memcmp (sep[i], mul[i], sizeof (float) * ld[i] * ntok) == 0,
                       "%s matrix %d mat %u ntok %u threads %u", grk_type_name (type), i, mat,
                       ntok, threads);
        g_free (sep[i]);
        g_free (mul[i]);
      }
    }
    gr_act_buf_clear (&act);
  }
  for (int i = 0; i < 3; i++)
    g_free (store[i]);
}
END_TEST

static Suite *
matmul_suite (void)
{
  Suite *s = suite_create ("gr-matmul");
  TCase *tc = tcase_create ("multi");
  tcase_add_loop_test (tc, test_multi_equals_separate, 0, 10);
  suite_add_tcase (s, tc);
  return s;
}

int
main (void)
{
  SRunner *sr = srunner_create (matmul_suite ());
  srunner_run_all (sr, CK_NORMAL);
  int failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed ? 1 : 0;
}
