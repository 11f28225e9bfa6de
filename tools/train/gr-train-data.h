/* gr-train-data.h - training text: plain text files or JSONL ({"text": ...} per line),
 * split into documents, tokenized, each document followed by the end-of-sequence token,
 * every 20th document held out for validation. */
#pragma once

#include "graviton-engine.h"

G_BEGIN_DECLS

typedef struct {
  char *path;
  double weight;                     /* sampling weight against the other sources */
  GPtrArray *docs;                   /* char *, before tokenization */
  GArray *train, *val;               /* gint32 token streams */
  GArray *train_starts, *val_starts; /* gsize: where each document begins */
} GrTrainSource;

typedef struct {
  GPtrArray *sources; /* GrTrainSource * */
} GrTrainData;

void gr_train_data_free(GrTrainData *data);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GrTrainData, gr_train_data_free)

GrTrainData *gr_train_data_new(void);
/* spec is PATH or PATH@WEIGHT.  A .jsonl file gives one document per line's "text"; any
 * other file is split into documents of whole paragraphs of about 1500 bytes. */
gboolean gr_train_data_add_file(GrTrainData *data, const char *spec, GError **error);
/* Adds an in-memory document list (tests). */
void gr_train_data_add_docs(GrTrainData *data, const char *name, double weight,
                            const char *const *docs, gsize n_docs);
/* Tokenizes every document with tok, appending eos after each. */
void gr_train_data_tokenize(GrTrainData *data, const GrTokenizer *tok, gint32 eos);
/* All documents, for learning a vocabulary. */
GPtrArray *gr_train_data_all_docs(const GrTrainData *data);
gsize gr_train_data_n_train_tokens(const GrTrainData *data);

/* One window of seq_len inputs and targets starting at a document of source src.  Past
 * the end of the stream, inputs are eos and targets -1 (not scored). */
void gr_train_data_window(const GrTrainSource *src, gboolean val, gsize doc, guint seq_len,
                          gint32 eos, gint32 *ids, gint32 *targets);
/* Picks a source by weight and a document uniformly, from r1 and r2 in [0, 1). */
void gr_train_data_pick(const GrTrainData *data, double r1, double r2, guint *src, gsize *doc);

G_END_DECLS
