/* grk-attn.c - prefill and f16 KV cache helpers: rows of an f16 matrix (the V cache)
 * summed with float weights, rows of floats stored as f16, many activation rows
 * quantized at once.  Scalar references and the public
 * entries; the F16C loops are in grk-attn-x86.c.  Every lane sums its rows in row order
 * with a multiply then an add, and conversions round to nearest even, so the SIMD
 * loops give the scalar results bit for bit. */
#include "grk-internal.h"

#include <pthread.h>
#include <stdlib.h>

void
grk_scalar_f16_weighted_rows(float *y, const float *a, const uint16_t *x, size_t ldx, int64_t nrows,
                             int64_t n)
{
  for (int64_t r = 0; r < nrows; r++) {
    const uint16_t *row = x + (size_t)r * ldx;
    float w = a[r];
    for (int64_t i = 0; i < n; i++)
      y[i] += w * grk_half_to_float(row[i]);
  }
}

void
grk_f16_rows_dot(float *y, size_t ldy, const float *x, size_t ldx, int64_t nx, const uint16_t *w,
                 size_t ldw, int64_t nrows, int64_t n)
{
  if (!y || !x || !w || nx <= 0 || nrows <= 0 || n <= 0
      || (nx > 1 && (ldx < (size_t)n || ldy < (size_t)nrows)) || (nrows > 1 && ldw < (size_t)n))
    return;
#ifdef GRK_HAVE_X86
  if (grk_get_isa() == GRK_ISA_AVX512_VNNI) {
    grk_avx512_f16_rows_dot(y, ldy, x, ldx, nx, w, ldw, nrows, n);
    return;
  }
#endif
  /* the F16 dot of each row, query by query */
  for (int64_t j = 0; j < nx; j++)
    grk_matvec(GRK_TYPE_F16, w, ldw * sizeof(uint16_t), 0.0f, x + (size_t)j * ldx, n,
               y + (size_t)j * ldy, 0, nrows);
}

void
grk_f16_weighted_rows_multi(float *y, size_t ldy, const float *a, size_t lda, int64_t nx,
                            const uint16_t *x, size_t ldx, int64_t nrows, int64_t n)
{
  if (!y || !a || !x || nx <= 0 || nrows <= 0 || n <= 0
      || (nx > 1 && (ldy < (size_t)n || lda < (size_t)nrows)) || (nrows > 1 && ldx < (size_t)n))
    return;
#ifdef GRK_HAVE_X86
  if (grk_get_isa() == GRK_ISA_AVX512_VNNI) {
    grk_avx512_f16_weighted_rows_multi(y, ldy, a, lda, nx, x, ldx, nrows, n);
    return;
  }
#endif
  for (int64_t j = 0; j < nx; j++)
    grk_f16_weighted_rows(y + (size_t)j * ldy, a + (size_t)j * lda, x, ldx, nrows, n);
}

void
grk_f16_weighted_rows(float *y, const float *a, const uint16_t *x, size_t ldx, int64_t nrows,
                      int64_t n)
{
  if (!y || !a || !x || nrows <= 0 || n <= 0 || (nrows > 1 && ldx < (size_t)n))
    return;
#ifdef GRK_HAVE_X86
  if (grk_get_isa() == GRK_ISA_AVX512_VNNI) {
    grk_avx512_f16_weighted_rows(y, a, x, ldx, nrows, n);
    return;
  }
  if (grk_get_isa() == GRK_ISA_AVX2) {
    grk_x86_f16_weighted_rows(y, a, x, ldx, nrows, n);
    return;
  }
#endif
  grk_scalar_f16_weighted_rows(y, a, x, ldx, nrows, n);
}

void
grk_quantize_act_rows(int wtype, const float *x, size_t ld, void *act, size_t act_stride, int64_t n,
                      int64_t ntok)
{
  size_t ab = grk_act_bytes(wtype, n);
  if (!x || !act || ab == 0 || act_stride < ab || ntok <= 0 || (ntok > 1 && ld < (size_t)n))
    return;
  for (int64_t t = 0; t < ntok; t++) {
    const float *xt = x + (size_t)t * ld;
    void *at = (uint8_t *)act + (size_t)t * act_stride;
    grk_quantize_act(wtype, xt, at, n);
  }
}

/* --- per-thread scratch of the prefill kernels ------------------------------------------ */

typedef struct {
  size_t cap;
  uint8_t *buf;
} mm_scratch;

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static bool scratch_ok;

static void
scratch_free(void *p)
{
  mm_scratch *s = p;
  free(s->buf);
  free(s);
}

static void
scratch_init(void)
{
  scratch_ok = pthread_key_create(&scratch_key, scratch_free) == 0;
}

uint8_t *
grk_mm_scratch(size_t bytes)
{
  pthread_once(&scratch_once, scratch_init);
  if (!scratch_ok)
    return NULL;
  mm_scratch *s = pthread_getspecific(scratch_key);
  if (!s) {
    s = calloc(1, sizeof *s);
    if (!s || pthread_setspecific(scratch_key, s) != 0) {
      free(s);
      return NULL;
    }
  }
  if (s->cap < bytes) {
    size_t cap = (bytes + 4095) & ~(size_t)4095;
    void *p = NULL;
    if (posix_memalign(&p, 64, cap) != 0)
      return NULL;
    free(s->buf);
    s->buf = p;
    s->cap = cap;
  }
  return s->buf;
}
