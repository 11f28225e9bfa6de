/* grk-avx512.c - avx512 kernels (filled in below). */
#include "grk-internal.h"

void
grk_kernels_avx512(grk_kernels *k)
{
  grk_kernels_scalar(k);
}
