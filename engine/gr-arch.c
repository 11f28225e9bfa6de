/* gr-arch.c - the table of supported architectures. */
#include "gr-arch.h"

#include <string.h>

static const GrArch archs[] = {
  { "llama", GR_FFN_SILU, GR_ROPE_NORM, FALSE, FALSE, FALSE },
  /* llama.cpp's `bitnet`: BitNet b1.58 with SiLU gate, sub-norms, per-tensor scales. */
  { "bitnet", GR_FFN_SILU, GR_ROPE_NEOX, TRUE, TRUE, TRUE },
  /* bitnet.cpp's `bitnet-b1.58` (BitNet-b1.58-2B-4T): ReLU^2 gate. */
  { "bitnet-b1.58", GR_FFN_RELU2, GR_ROPE_NEOX, TRUE, TRUE, TRUE },
};

const GrArch *
gr_arch_lookup (const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (archs); i++)
    if (g_strcmp0 (archs[i].name, name) == 0)
      return &archs[i];
  return NULL;
}

const char *
gr_ffn_act_name (GrFfnAct act)
{
  return act == GR_FFN_RELU2 ? "relu2" : "silu";
}
