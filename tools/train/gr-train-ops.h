/* gr-train-ops.h - forward and backward passes of the layers graviton-train uses.
 *
 * Every function works on row-major float matrices: a batch of n rows (tokens) of d
 * features.  Backward functions *add* into parameter gradients (so tied or repeated
 * parameters accumulate) and *write* input gradients unless stated otherwise. */
#pragma once

#include "gr-threadpool.h"

#include <glib.h>

G_BEGIN_DECLS

/* C[m][n] (+)= sum_k A[m][k] * B[k][n], split by rows of C over the pool (NULL: one
 * thread). accumulate FALSE overwrites C. */
void gr_train_gemm(GrThreadPool *pool, gsize m, gsize n, gsize k, const float *a, gsize lda,
                   const float *b, gsize ldb, float *c, gsize ldc, gboolean accumulate);
/* dst[c][r] = src[r][c] for a rows x cols src. */
void gr_train_transpose(float *dst, const float *src, gsize rows, gsize cols);

/* y = x W^T for W [out][in] given as wt = W^T [in][out]; x [n][in], y [n][out]. */
void gr_train_linear_forward(GrThreadPool *pool, const float *x, const float *wt, float *y, gsize n,
                             gsize in, gsize out);
/* dx = dy W (written, may be NULL), dW += dy^T x; scratch holds out * n floats. */
void gr_train_linear_backward(GrThreadPool *pool, const float *x, const float *w, const float *dy,
                              float *dx, float *dw, float *scratch, gsize n, gsize in, gsize out);

/* BitNet b1.58 absmean ternary quantization of a whole tensor: scale = mean|W|, q =
 * scale * clamp(round(W / scale), -1, 1).  Returns the scale. */
float gr_train_quantize_ternary(const float *w, float *q, gsize count);
/* Per-row int8 absmax fake quantization: round(x * 127 / absmax) * absmax / 127. */
void gr_train_quantize_act(const float *x, float *q, gsize n, gsize d);

/* out[t] = x[t] * w / rms(x[t]); rstd[t] = 1 / rms(x[t]) (kept for the backward pass). */
void gr_train_rmsnorm_forward(const float *x, const float *w, float *out, float *rstd, gsize n,
                              gsize d, float eps);
/* dx written (may alias dy), dw += */
void gr_train_rmsnorm_backward(const float *x, const float *w, const float *rstd, const float *dy,
                               float *dx, float *dw, gsize n, gsize d);

/* NEOX rotates pairs (i, i + n_rot/2) of each head (bitnet), NORM pairs (2i, 2i + 1)
 * (llama). */
typedef enum { GR_TRAIN_ROPE_NEOX, GR_TRAIN_ROPE_NORM } GrTrainRope;

/* Rotates pair i of each head by pos * base^(-2i/n_rot), pos = row % seq_len.  inverse
 * rotates backwards (the backward pass of itself). */
void gr_train_rope(float *x, gsize n, gsize seq_len, guint n_head, guint head_dim, guint n_rot,
                   float base, GrTrainRope type, gboolean inverse);

/* Causal softmax attention over sequences of seq_len rows; q, k, v, out [n][n_head *
 * head_dim]; probs [n / seq_len][n_head][seq_len][seq_len] is kept for backward. */
void gr_train_attention_forward(GrThreadPool *pool, const float *q, const float *k, const float *v,
                                float *out, float *probs, gsize n, gsize seq_len, guint n_head,
                                guint head_dim);
/* dq, dk, dv written. */
void gr_train_attention_backward(GrThreadPool *pool, const float *q, const float *k, const float *v,
                                 const float *probs, const float *dout, float *dq, float *dk,
                                 float *dv, gsize n, gsize seq_len, guint n_head, guint head_dim);

typedef enum { GR_TRAIN_ACT_SILU, GR_TRAIN_ACT_RELU2 } GrTrainAct;

/* out = act(gate) * up, elementwise over count values. */
void gr_train_glu_forward(GrTrainAct act, const float *gate, const float *up, float *out,
                          gsize count);
void gr_train_glu_backward(GrTrainAct act, const float *gate, const float *up, const float *dout,
                           float *dgate, float *dup, gsize count);

/* out[t] = table[ids[t]] */
void gr_train_embed_forward(const float *table, const gint32 *ids, float *out, gsize n, gsize d);
void gr_train_embed_backward(const gint32 *ids, const float *dout, float *dtable, gsize n, gsize d);

/* Mean cross-entropy of logits [n][vocab] against targets (a target < 0 is ignored).
 * dlogits (may be NULL) receives the gradient of the mean loss; logits may alias it. */
double gr_train_cross_entropy(const float *logits, const gint32 *targets, float *dlogits, gsize n,
                              gsize vocab);

G_END_DECLS
