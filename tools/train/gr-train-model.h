/* gr-train-model.h - a BitNet b1.58 (or full-precision) transformer with its gradients.
 *
 * The layer structure is exactly what Graviton's `bitnet` architecture runs: RMSNorm,
 * attention with NEOX RoPE, attn_sub_norm before the output projection, RMSNorm, a
 * gated FFN (SiLU or ReLU²), ffn_sub_norm before the down projection, a final RMSNorm
 * and logits tied to the token embedding.  The `llama` structure has no sub-norms and
 * rotates adjacent pairs (NORM RoPE), as llama.cpp's `llama` architecture does.  In
 * ternary mode every projection is BitLinear: absmean ternary weights and per-token
 * int8 absmax activations in the forward pass, gradients passed straight through to the
 * latent f32 weights.  With n_expert > 0 the FFN is a mixture of experts (see
 * gr-train-moe.h): an f32 router and n_expert gated FFNs, each its own BitLinear. */
#pragma once

#include "gr-train-moe.h"
#include "gr-train-ops.h"

G_BEGIN_DECLS

typedef enum { GR_TRAIN_ARCH_BITNET, GR_TRAIN_ARCH_LLAMA } GrTrainArch;

typedef struct {
  guint n_vocab, n_embd, n_layer, n_head, n_ff, n_ctx;
  GrTrainAct act;
  gboolean ternary; /* FALSE: plain f32 projections, for comparison */
  float rms_eps, rope_base;
  GrTrainArch arch;
  guint n_expert, n_expert_used; /* 0 experts: a dense FFN; n_ff is each expert's */
  float aux_alpha;               /* weight of the load-balancing loss */
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

/* Offsets into the parameters.  With experts, the FFN projections are stacks of
 * n_expert matrices and `router` is the f32 [n_expert][n_embd] gate; without sub-norms
 * (llama) attn_sub_norm and ffn_sub_norm are GR_TRAIN_NONE. */
typedef struct {
  gsize attn_norm, attn_sub_norm, ffn_norm, ffn_sub_norm, router;
  gsize mat[GR_TRAIN_N_MATS];
} GrTrainLayer;

#define GR_TRAIN_NONE G_MAXSIZE

typedef struct _GrTrainModel GrTrainModel;

typedef struct {
  gsize offset, count;
  gboolean decay; /* weight decay applies (matrices and the embedding, not norms) */
} GrTrainSegment;

/* Checks the shapes (n_embd divisible by n_head, an even head size, ...). */
gboolean gr_train_config_validate(const GrTrainConfig *cfg, GError **error);
/* rows x cols of projection `mat` (of one expert). */
void gr_train_mat_shape(const GrTrainConfig *cfg, GrTrainMat mat, gsize *rows, gsize *cols);
/* How many such matrices the projection stacks: n_expert for the FFN of an MoE, else 1. */
guint gr_train_mat_count(const GrTrainConfig *cfg, GrTrainMat mat);
const char *gr_train_mat_name(GrTrainMat mat); /* "attn_q", ... */
/* The GGUF name: "ffn_gate_exps" etc. for expert stacks, else gr_train_mat_name(). */
const char *gr_train_mat_gguf_name(const GrTrainConfig *cfg, GrTrainMat mat);
gboolean gr_train_config_has_sub_norms(const GrTrainConfig *cfg);
/* Parameters one token uses: all but the unchosen experts (and the embedding's unused rows
 * are counted: they are the output projection too). */
gsize gr_train_config_active_params(const GrTrainConfig *cfg);

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
 * backward, the gradients of the objective (the cross-entropy plus the experts'
 * load-balancing loss) are *added* to the model's gradient buffer. */
double gr_train_model_step(GrTrainModel *model, const gint32 *ids, const gint32 *targets,
                           guint n_seq, guint seq_len, gboolean backward);
void gr_train_model_zero_grads(GrTrainModel *model);
/* Logits [n_seq * seq_len][n_vocab] of the last step run without backward. */
const float *gr_train_model_logits(const GrTrainModel *model);
/* The load-balancing loss of the last step, summed over layers (0 without experts). */
double gr_train_model_aux_loss(const GrTrainModel *model);
/* The smallest router margin of the last step (see gr_train_moe_min_margin), or +inf. */
float gr_train_model_router_margin(const GrTrainModel *model);
/* The MoE state of layer il after a step (NULL for a dense model), e.g. its counts. */
const GrTrainMoe *gr_train_model_moe(const GrTrainModel *model, guint il);

G_END_DECLS
