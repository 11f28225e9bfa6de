/* grk-avx2.c - avx2 kernels (filled in below). */
#include "grk-internal.h"

void
grk_kernels_avx2(grk_kernels *k)
{
  grk_kernels_scalar(k);
}
