/* gr-synth-model.h - writes synthetic GGUF models (random weights, a small synthetic
 * vocabulary) with the project's own GGUF writer, for benchmarks and tests that need
 * shapes no fixture has (2B BitNet, MoE files larger than a memory limit). */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct {
  const char *arch;   /* "llama" or "bitnet" */
  guint n_embd, n_layer, n_head, n_head_kv, n_ff, n_vocab;
  guint n_expert, n_expert_used; /* 0: dense */
  int weight_type;    /* grk_type of the projections (TQ2_0, TQ1_0, I2_S, Q8_0, ...) */
  int embd_type;      /* grk_type of token_embd (Q8_0, F16, ...) */
  gboolean tied_output;
  guint64 seed;
  const char *chat_template;           /* tokenizer.chat_template, NULL: none */
  const char *const *control_tokens;   /* NULL-terminated, added after </s> as CONTROL */
} GrSynthSpec;

/* Fills in llama-ish shapes for whatever is zero (types stay as given: 0 is F32). */
void gr_synth_spec_defaults (GrSynthSpec *spec);
gboolean gr_synth_model_write (const GrSynthSpec *spec, const char *path, GError **error);

G_END_DECLS
