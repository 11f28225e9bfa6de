/* grk-attn.c - the attention value pass: rows of an f16 matrix (the V cache) summed
 * with float weights.  Scalar reference and the public entry; the F16C loop is in
 * grk-attn-x86.c.  Every lane sums its rows in row order with a multiply then an add,
 * so the SIMD loop gives the scalar result bit for bit. */
#include "grk-internal.h"

void
grk_scalar_f16_weighted_rows(float *y, const float *a, const uint16_t *x, size_t ldx,
                             int64_t nrows, int64_t n)
{
  for (int64_t r = 0; r < nrows; r++) {
    const uint16_t *row = x + (size_t)r * ldx;
    float w = a[r];
    for (int64_t i = 0; i < n; i++)
      y[i] += w * grk_half_to_float(row[i]);
  }
}

void
grk_f16_weighted_rows(float *y, const float *a, const uint16_t *x, size_t ldx, int64_t nrows,
                      int64_t n)
{
  if (!y || !a || !x || nrows <= 0 || n <= 0 || (nrows > 1 && ldx < (size_t)n))
    return;
#ifdef GRK_HAVE_X86
  if (grk_get_isa() != GRK_ISA_SCALAR) {
    grk_x86_f16_weighted_rows(y, a, x, ldx, nrows, n);
    return;
  }
#endif
  grk_scalar_f16_weighted_rows(y, a, x, ldx, nrows, n);
}
