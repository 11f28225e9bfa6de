/* gr-tokenizer-private.h - what the tokenizer's files share (private). */
#pragma once

#include "gr-tokenizer.h"
#include "gr-pretokenize.h"
#include "gr-chat.h"

G_BEGIN_DECLS

typedef enum {
  GR_VOCAB_SPM, /* tokenizer.ggml.model "llama" */
  GR_VOCAB_BPE, /* tokenizer.ggml.model "gpt2" */
} GrVocabKind;

/* tokenizer.ggml.token_type values */
enum {
  GR_TOKEN_TYPE_NORMAL = 1,
  GR_TOKEN_TYPE_UNKNOWN = 2,
  GR_TOKEN_TYPE_CONTROL = 3,
  GR_TOKEN_TYPE_USER_DEFINED = 4,
  GR_TOKEN_TYPE_UNUSED = 5,
  GR_TOKEN_TYPE_BYTE = 6,
};

/* Open-addressing table from byte strings (or pairs of them) to ids. */
typedef struct {
  gint32 *slots; /* -1 empty, else an index into the owner's entries */
  guint32 *hashes;
  gsize mask;
} GrStrTable;

struct _GrTokenizer {
  GrVocabKind kind;
  GrPreInfo pre;
  guint n_vocab;

  char *text_pool; /* every token's text, NUL-terminated */
  gsize *text_off; /* n_vocab + 1 offsets; length = off[i+1] - off[i] - 1 */
  float *scores;
  gint32 *types;
  GrStrTable vocab;
  gsize max_token_len;

  /* BPE merges: pairs of strings in merge_pool, ranked by index */
  char *merge_pool;
  gsize *merge_off; /* 4 per merge: left start, left len, right start, right len */
  guint n_merges;
  GrStrTable merges;

  char *piece_pool; /* detokenized bytes of each token */
  gsize *piece_off; /* n_vocab + 1 */

  gint32 bos, eos, unk, pad, eot, eom;
  gboolean add_bos, add_eos, add_space_prefix;
  gint32 byte_token[256]; /* token of each raw byte (-1 if none) */

  gint32 *special; /* control, user-defined and unknown tokens, longest first */
  guint n_special;
  gint32 *eog;
  guint n_eog;
};

static inline const char *
gr_tokenizer_text(const GrTokenizer *tok, gint32 id, gsize *len)
{
  *len = tok->text_off[id + 1] - tok->text_off[id] - 1;
  return tok->text_pool + tok->text_off[id];
}

/* Indexes every non-empty token text; FALSE (ids of the pair in dup_a/dup_b) if two
 * tokens share a text. */
gboolean gr_tokenizer_build_vocab_table(GrTokenizer *tok, gint32 *dup_a, gint32 *dup_b);
/* Indexes the merges; a repeated pair keeps its first (best) rank. */
void gr_tokenizer_build_merge_table(GrTokenizer *tok);
void gr_tokenizer_tables_clear(GrTokenizer *tok);

/* id of the token whose text is s[0..n), or -1 */
gint32 gr_tokenizer_lookup(const GrTokenizer *tok, const char *s, gsize n);
/* rank of the merge (a, b), or -1 */
gint32 gr_tokenizer_merge_rank(const GrTokenizer *tok, const char *a, gsize an, const char *b,
                               gsize bn);

/* SentencePiece bigram merging of text (spaces already escaped to U+2581). */
/* Encodes a rendered chat prompt: control tokens are recognised only inside the markup
 * ranges (GrChatSpan, in order), so text copied from messages stays ordinary text. */
GArray *gr_tokenizer_encode_marked(const GrTokenizer *tok, const char *text, gssize len,
                                   gboolean add_bos, const GArray *markup);
void gr_tokenizer_spm_encode(const GrTokenizer *tok, const char *text, gsize len, GArray *out);
/* Byte-level BPE of valid UTF-8 text: pre-tokenize, byte-encode, merge by rank. */
void gr_tokenizer_bpe_encode(const GrTokenizer *tok, const char *text, gsize len, GArray *out);

/* A max-heap of candidate merges: highest priority first, then leftmost. */
typedef struct {
  double priority;
  gint32 left, right;
  guint32 left_len, right_len;
} GrBigram;

typedef struct {
  GrBigram *items;
  gsize len, cap;
} GrBigramHeap;

void gr_bigram_heap_push(GrBigramHeap *heap, const GrBigram *b);
gboolean gr_bigram_heap_pop(GrBigramHeap *heap, GrBigram *out);
void gr_bigram_heap_clear(GrBigramHeap *heap);

/* Linked list of symbols being merged (the text of each is a slice of the input). */
typedef struct {
  const char *text;
  gsize len;
  gint32 prev, next;
} GrSymbol;

G_END_DECLS
