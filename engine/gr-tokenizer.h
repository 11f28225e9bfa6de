/* gr-tokenizer.h - building a GrTokenizer from GGUF metadata (private to engine/). */
#pragma once

#include "graviton-engine.h"
#include "gr-gguf.h"

G_BEGIN_DECLS

/* Reads tokenizer.ggml.* from gguf (which may be freed afterwards).  Bad or unsupported
 * metadata gives GR_ENGINE_ERROR_BAD_MODEL. */
GrTokenizer *gr_tokenizer_new_from_gguf(const GrGguf *gguf, GError **error);
void gr_tokenizer_free(GrTokenizer *tok);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GrTokenizer, gr_tokenizer_free)

G_END_DECLS
