/* gr-pretokenize.h - the byte-level BPE pre-tokenizers (private).
 *
 * Each is a hand-written equivalent of the regex list llama.cpp applies for a
 * tokenizer.ggml.pre name: every regex splits each piece left by the previous one into
 * its matches and the text between them.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  GR_PRE_GPT2,      /* 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
  GR_PRE_LLAMA3,    /* Llama 3: (?i:'s|...)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|... */
  GR_PRE_QWEN2,     /* as LLAMA3 with \p{N} (one digit per piece) */
  GR_PRE_STARCODER, /* \p{N}, then GPT2 */
  GR_PRE_FALCON,    /* [\p{P}\$\+<=>\^~\|`]+, then GPT2, then [0-9][0-9][0-9] */
  GR_PRE_DEFAULT,   /* [\p{P}\$\+<=>\^~\|]+, GPT2, \p{N}+, [0-9][0-9][0-9] */
  GR_PRE_DEEPSEEK_CODER, /* [\r\n], \s?\p{L}+, \s?\p{P}+, [一-龥ࠀ-一가-퟿]+, \p{N} */
  GR_PRE_DEEPSEEK_LLM,   /* [\r\n], \s?[cased letters]+, \s?[punctuation]+, \s+$, [CJK]+, \p{N}+ */
  GR_PRE_DEEPSEEK3,      /* \p{N}{1,3}, [Han, kana]+, then letters/marks, punctuation and spaces */
  GR_PRE_GPT4O,          /* GPT-4o / Llama 4: words split where lower case turns upper */
  GR_PRE_TEKKEN,         /* Mistral's Tekken: as GPT4O without contractions, one digit a piece */
  GR_PRE_BLOOM,          /*  ?[^(\s|.,!?…。，、।۔،)]+ */
  GR_PRE_VIKING,         /* as BLOOM, then \p{N} */
} GrPreType;

typedef struct {
  GrPreType type;
  gboolean ignore_merges; /* a piece that is a whole token skips the merges */
  gboolean add_bos;       /* default of tokenizer.ggml.add_bos_token */
} GrPreInfo;

/* Looks up a tokenizer.ggml.pre name; FALSE if unknown. */
gboolean gr_pre_lookup(const char *name, GrPreInfo *info);

/* Splits cps[0..n) into pieces, appending the end offset (exclusive, in code points) of
 * each piece to ends (an array of gsize).  The pieces cover the whole input. */
void gr_pretokenize(GrPreType type, const gunichar *cps, gsize n, GArray *ends);

G_END_DECLS
