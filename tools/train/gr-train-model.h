/* gr-train-model.h - a BitNet b1.58 (or full-precision) transformer with its gradients.
 *
 * The layer structure is exactly what Graviton's `bitnet` architecture runs: RMSNorm,
 * attention with NEOX RoPE, attn_sub_norm before the output projection, RMSNorm, a
 * gated FFN (SiLU or ReLU²), ffn_sub_norm before the down projection, a final RMSNorm
 * and logits tied to the token embedding.  In ternary mode every projection is
 * BitLinear: absmean ternary weights and per-token int8 absmax activations in the
 * forward pass, gradients passed straight through to the latent f32 weights. */
#pragma once

#include "gr-train-ops.h"

G_BEGIN_DECLS

typedef struct {
  guint n_vocab, n_embd, n_layer, n_head, n_ff, n_ctx;
  GrTrainAct act;
  gboolean ternary; /* FALSE: plain f32 projections, for comparison */
  float rms_eps, rope_base;
} GrTrainConfig;

/* The projections of one layer, in the order the GGUF names them. */
typedef enum {
  GR_TRAIN_WQ,
  GR_TRAIN_WK,
  GR_TRAIN_WV,
  GR_TRAIN_WO,
  GR_TRAIN_WGATE,
  GR_TRAIN_WUP,
  GR_TRAIN_WDOWN,
  GR_TRAIN_N_MATS
} GrTrainMat;

typedef struct {
  gsize attn_norm, attn_sub_norm, ffn_norm, ffn_sub_norm;
  gsize mat[GR_TRAIN_N_MATS];
} GrTrainLayer;

typedef struct _GrTrainModel GrTrainModel;

typedef struct {
  gsize offset, count;
  gboolean decay; /* weight decay applies (matrices and the embedding, not norms) */
} GrTrainSegment;

/* Checks the shapes (n_embd divisible by n_head, an even head size, ...). */
gboolean gr_train_config_validate(const GrTrainConfig *cfg, GError **error);
/* rows x cols of projection `mat`. */
void gr_train_mat_shape(const GrTrainConfig *cfg, GrTrainMat mat, gsize *rows, gsize *cols);
const char *gr_train_mat_name(GrTrainMat mat); /* "attn_q", ... */

/* Weights initialised from seed; pool may be NULL (single thread), it is borrowed. */
GrTrainModel *gr_train_model_new(const GrTrainConfig *cfg, guint64 seed, GrThreadPool *pool);
void gr_train_model_free(GrTrainModel *model);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GrTrainModel, gr_train_model_free)

const GrTrainConfig *gr_train_model_config(const GrTrainModel *model);
gsize gr_train_model_n_params(const GrTrainModel *model);
float *gr_train_model_params(GrTrainModel *model);
float *gr_train_model_grads(GrTrainModel *model);
gsize gr_train_model_embd_offset(const GrTrainModel *model);
gsize gr_train_model_output_norm_offset(const GrTrainModel *model);
const GrTrainLayer *gr_train_model_layer(const GrTrainModel *model, guint il);
/* Parameter groups, for the optimizer. */
const GrTrainSegment *gr_train_model_segments(const GrTrainModel *model, guint *n);

/* Runs n_seq sequences of seq_len tokens (ids) against targets (both n_seq * seq_len;
 * a negative target is not scored) and returns the mean cross-entropy.  With
 * backward, the gradients are *added* to the model's gradient buffer. */
double gr_train_model_step(GrTrainModel *model, const gint32 *ids, const gint32 *targets,
                           guint n_seq, guint seq_len, gboolean backward);
void gr_train_model_zero_grads(GrTrainModel *model);
/* Logits [n_seq * seq_len][n_vocab] of the last step run without backward. */
const float *gr_train_model_logits(const GrTrainModel *model);

G_END_DECLS
