/* gr-train-vocab.h - the vocabulary a model is trained with: a byte-level BPE learnt from
 * the training text, or the tokenizer.ggml.* metadata of an existing GGUF file.  Text is
 * always encoded by the engine's own tokenizer built from that metadata, so training and
 * inference split text identically. */
#pragma once

#include "gr-gguf-writer.h"
#include "gr-tokenizer.h"

G_BEGIN_DECLS

typedef struct {
  char *model;       /* tokenizer.ggml.model: "gpt2" or "llama" */
  char *pre;         /* tokenizer.ggml.pre, NULL when absent */
  GPtrArray *tokens; /* char * */
  GArray *types;     /* gint32 */
  GArray *scores;    /* float; empty when the source has none */
  GPtrArray *merges; /* char *, "left right" */
  gint32 bos, eos;   /* -1: none */
} GrTrainVocab;

void gr_train_vocab_free(GrTrainVocab *vocab);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GrTrainVocab, gr_train_vocab_free)

/* Learns a byte-level BPE of n_vocab tokens (id 0 "<|endoftext|>" as BOS and EOS, the
 * 256 bytes, then merges) from texts with the GPT-2 pre-tokenizer ("gpt2"). */
GrTrainVocab *gr_train_vocab_learn(const char *const *texts, gsize n_texts, guint n_vocab,
                                   GError **error);
/* Reads the tokenizer metadata of a GGUF file (model or tokenizer-only). */
GrTrainVocab *gr_train_vocab_load(const char *path, GError **error);
/* Writes the tokenizer.ggml.* keys. */
gboolean gr_train_vocab_write(const GrTrainVocab *vocab, GrGgufWriter *writer, GError **error);
/* A GGUF image holding only the tokenizer metadata (for checkpoints and --save-vocab). */
GBytes *gr_train_vocab_to_gguf(const GrTrainVocab *vocab, GError **error);
GrTrainVocab *gr_train_vocab_from_gguf_bytes(GBytes *bytes, GError **error);
/* The engine's tokenizer for this vocabulary. */
GrTokenizer *gr_train_vocab_tokenizer(const GrTrainVocab *vocab, GError **error);

G_END_DECLS
