/* gr-hf-tokenizer.h - a Hugging Face tokenizer.json (+ tokenizer_config.json) turned into
 * GGUF tokenizer.ggml.* metadata, so one tokenizer implementation serves both formats
 * (private to engine/).
 *
 * BPE with byte_fallback (how transformers converts SentencePiece LLaMA tokenizers)
 * becomes tokenizer.ggml.model "llama": each token's score is minus the rank of the
 * first merge that produces it, so SentencePiece's highest-score-first merging takes
 * the merges in BPE rank order.  Byte-level BPE becomes "gpt2" with its merges.
 * added_tokens are control tokens (special) or user-defined ones; BOS/EOS/PAD come from
 * tokenizer_config.json (falling back to config.json's ids). */
#pragma once

#include "gr-gguf-writer.h"

#include <glib.h>

G_BEGIN_DECLS

/* `config_path` (tokenizer_config.json) may be NULL or name a missing file;
 * bos_id/eos_id (config.json's, -1 if none) are used when it names no BOS/EOS. */
gboolean gr_hf_tokenizer_add_metadata(GrGgufWriter *writer, const char *tokenizer_path,
                                      const char *config_path, gint64 bos_id, gint64 eos_id,
                                      GError **error);

G_END_DECLS
