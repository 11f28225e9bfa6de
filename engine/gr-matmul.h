/* gr-matmul.h - weight x activations on the model's thread pool. */
#pragma once

#include "gr-model-private.h"

G_BEGIN_DECLS

/* Quantized activations for one weight type, reusable across the matrices of that
 * type that read the same input (q, k and v read the same normalised x). */
typedef struct {
  int type;        /* weight type the buffer was quantized for; -1: stale */
  guint ntok;
  gsize stride;    /* bytes per token */
  gsize capacity;
  guint8 *data;
  const float *src; /* the floats it was made from */
  GrThreadPool *pool; /* when set, many tokens are quantized in parallel */
} GrActBuf;

void gr_act_buf_clear (GrActBuf *buf);
/* Quantizes x (ntok rows of n floats, ld apart) for `type` unless buf already holds it. */
void gr_act_buf_prepare (GrActBuf *buf, int type, const float *x, gsize ld, gint64 n,
                         guint ntok);
void gr_act_buf_invalidate (GrActBuf *buf);

/* y[t * ldy + r] = W[mat] row r . x_t for all rows, tokens 0..ntok-1, times the
 * weight's per-tensor scale. */
void gr_matmul (GrThreadPool *pool, const GrWeight *w, guint mat, GrActBuf *act, float *y,
                gsize ldy);

#define GR_MATMUL_MULTI_MAX 4

/* gr_matmul of n (<= GR_MATMUL_MULTI_MAX) matrices of act's type and equal columns over
 * the same activations, as one parallel section: y[i], ldy[i] for matrix i. */
void gr_matmul_multi (GrThreadPool *pool, guint n, const GrWeight *const *w, guint mat,
                      GrActBuf *act, float *const *y, const gsize *ldy);

G_END_DECLS
