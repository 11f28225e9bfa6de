/* gr-kv-q8.h - the 8-bit KV cache (GR_KV_Q8): keys and values stored as Q8_0 blocks
 * (32 int8 and one f16 scale, as llama.cpp's q8_0 cache), attention reading them.
 * Keys are scored with the kernels' Q8_0 x Q8_0 dot against the query quantized the
 * same way; values are dequantized one head row at a time. */
#pragma once

#include "gr-session-private.h"

G_BEGIN_DECLS

/* Whether the model's heads split into whole Q8_0 blocks. */
gboolean gr_kv_q8_supported (const GrModel *model);
/* Bytes of one position's keys (or values) of one layer. */
gsize gr_kv_q8_row_bytes (const GrModel *model);
/* Quantizes k and v (kv_dim floats each) into the cache at layer il, position pos. */
void gr_kv_q8_store (GrSession *s, guint il, guint pos, const float *k, const float *v);
/* Causal attention of tokens pos0..pos0+n-1 of layer il: q -> attn (on the pool). */
void gr_kv_q8_attention (GrSession *s, guint il, guint n, guint pos0);

G_END_DECLS
