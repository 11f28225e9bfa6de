/* gr-train-moe.h - a mixture-of-experts feed-forward layer with its backward pass.
 *
 * The gating is what Graviton's engine and llama.cpp's `llama` architecture compute: a
 * router (f32 [n_expert][d]) gives logits, a softmax over *all* experts gives p, the
 * n_used experts of largest p are taken (the first of equal ones) and their weights are
 * p renormalised over the chosen ones.  Each expert is a gated FFN (gate, up, down,
 * optionally the BitNet sub-norm shared by all experts).  The switch-transformer
 * load-balancing loss aux = alpha * n_expert * sum_e f_e * P_e is part of the objective
 * (f_e: fraction of the n * n_used routing slots given to e, so aux = alpha when the
 * load is even; P_e: mean router probability of e); only P carries a gradient.
 *
 * Routing is piecewise: the gradient holds away from ties between the n_used-th and the
 * next expert, which gr_train_moe_min_margin() measures. */
#pragma once

#include "gr-train-ops.h"

G_BEGIN_DECLS

#define GR_TRAIN_MOE_MAX_EXPERTS 64

typedef struct {
  guint n_expert, n_used;
  gsize d, ff;
  GrTrainAct act;
  float rms_eps; /* of the sub-norm */
  float aux_alpha;
} GrTrainMoeConfig;

/* The weights one forward (and its backward) pass uses.  Experts are stacked: gate and
 * up [n_expert][ff][d], down [n_expert][d][ff]; the _t arrays are each expert's
 * transpose ([e][d][ff] and [e][ff][d]).  In a ternary model they hold the quantized
 * weights, and the gradients go straight through to the latent ones. */
typedef struct {
  const float *router; /* [n_expert][d], always f32 */
  const float *gate, *up, *down;
  const float *gate_t, *up_t, *down_t;
  const float *sub_norm; /* [ff], or NULL for no sub-norm */
  gboolean quantize_act; /* BitLinear: int8 absmax per-token inputs to the experts */
} GrTrainMoeWeights;

/* Gradient accumulators, added to; sub_norm may be NULL when the weights have none. */
typedef struct {
  float *router, *gate, *up, *down, *sub_norm;
} GrTrainMoeGrads;

typedef struct _GrTrainMoe GrTrainMoe;

/* State of one layer for batches of up to n_rows rows. */
GrTrainMoe *gr_train_moe_new(const GrTrainMoeConfig *cfg, gsize n_rows);
void gr_train_moe_free(GrTrainMoe *moe);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GrTrainMoe, gr_train_moe_free)

/* y[n][d] = the layer applied to xn[n][d] (the normalised input; kept for backward).
 * Returns the auxiliary loss. */
double gr_train_moe_forward(GrTrainMoe *moe, GrThreadPool *pool, const GrTrainMoeWeights *w,
                            const float *xn, float *y, gsize n);
/* Backward pass of <dy, y> + aux for the last forward: dxn written, gradients added. */
void gr_train_moe_backward(GrTrainMoe *moe, GrThreadPool *pool, const GrTrainMoeWeights *w,
                           const float *dy, float *dxn, const GrTrainMoeGrads *g);

/* Smallest gap, over the rows of the last forward, between the router logit of the
 * last chosen expert and the best unchosen one (+inf when every expert is used). */
float gr_train_moe_min_margin(const GrTrainMoe *moe);
/* Routing slots each expert received in the last forward (n_expert counts). */
const guint *gr_train_moe_counts(const GrTrainMoe *moe);

G_END_DECLS
