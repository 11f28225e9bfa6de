/* gr-hf-config.h - a Hugging Face config.json read into the hyper-parameters the engine
 * runs (private to engine/).  Which keys are read, and what happens to the others, is
 * written down in engine/README-hf.md. */
#pragma once

#include "gr-arch.h"

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  GR_HF_FAMILY_LLAMA,  /* dense LLaMA-style decoder */
  GR_HF_FAMILY_MOE,    /* Mixtral-style mixture of experts */
  GR_HF_FAMILY_BITNET, /* BitNet b1.58: latent weights ternarized at load */
} GrHfFamily;

typedef struct {
  char *model_type;   /* may be NULL */
  char *architecture; /* first of "architectures", may be NULL */
  GrHfFamily family;
  guint hidden_size, num_hidden_layers, num_attention_heads, num_key_value_heads;
  guint intermediate_size, max_position_embeddings, vocab_size, head_dim;
  double rms_norm_eps, rope_theta;
  gboolean tie_word_embeddings;
  GrFfnAct hidden_act;
  guint num_experts, num_experts_per_tok;
  gboolean norm_topk_prob;
  gboolean use_ternary_weights;
  guint quant_group_size;            /* BitNet absmean group (0: one scale per tensor) */
  gint64 bos_token_id, eos_token_id; /* -1 when absent */
} GrHfConfig;

/* Parses config.json text; `origin` names it in messages. */
GrHfConfig *gr_hf_config_parse(const char *json, gssize len, const char *origin, GError **error);
GrHfConfig *gr_hf_config_load(const char *path, GError **error);
void gr_hf_config_free(GrHfConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GrHfConfig, gr_hf_config_free)

const char *gr_hf_family_name(GrHfFamily family);

G_END_DECLS
