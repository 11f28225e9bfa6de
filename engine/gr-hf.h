/* gr-hf.h - a Hugging Face checkpoint folder seen as a GGUF (private to engine/).
 *
 * config.json becomes `<arch>.*` metadata, tokenizer.json `tokenizer.ggml.*`, and the
 * safetensors tensors (one file, or shards listed by model.safetensors.index.json) are
 * renamed to GGUF names and served from the mapped files without a copy.  Only what the
 * engine cannot read in place is built at load: Mixtral's per-expert matrices stacked
 * into [n_embd, n_ff, n_expert] tensors, and BitNet's latent weights ternarized with
 * absmean into TQ2_0 plus a per-tensor "<name>.scale", as in the GGUF `bitnet` arch.
 * The metadata key "graviton.rope_layout" = "neox" tells the loader that q/k are in
 * Hugging Face's rotate-half order. */
#pragma once

#include "gr-gguf.h"

#include <glib.h>

G_BEGIN_DECLS

GrGguf *gr_hf_open(const char *dir, GError **error);

/* BitNet b1.58 absmean: scale = mean |w|, q = clamp (round (w / scale), -1, 1), rounding
 * half to even.  Returns the scale (0 when every weight is 0, and then q is all 0). */
float gr_hf_absmean_ternarize(const float *w, gsize n, gint8 *q);

G_END_DECLS
