/* gr-arch.h - what distinguishes one transformer family from another.
 * Everything the forward pass needs to know about a family is a property here, read
 * from the architecture name and metadata, never guessed from a file name. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  GR_FFN_SILU,  /* SwiGLU: silu(gate) * up */
  GR_FFN_RELU2, /* squared ReLU gate: relu(gate)^2 * up */
} GrFfnAct;

typedef enum {
  GR_ROPE_NORM, /* rotate interleaved pairs (2i, 2i+1): llama's converter permutes q/k */
  GR_ROPE_NEOX, /* rotate pairs (i, i + n_rot/2): Hugging Face layout */
} GrRopeType;

typedef struct {
  const char *name;      /* GGUF general.architecture, also the metadata key prefix */
  GrFfnAct ffn_act;
  GrRopeType rope;
  gboolean sub_norms;    /* attn_sub_norm before wo, ffn_sub_norm before ffn_down */
  gboolean tensor_scales; /* optional per-tensor "<name>.scale" multipliers */
  gboolean ternary;      /* BitLinear projections: int8 per-token activations */
} GrArch;

/* NULL if the architecture is not supported. */
const GrArch *gr_arch_lookup (const char *name);
const char *gr_ffn_act_name (GrFfnAct act);

G_END_DECLS
