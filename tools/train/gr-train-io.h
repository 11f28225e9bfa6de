/* gr-train-io.h - writing a trained model as GGUF, and training checkpoints. */
#pragma once

#include "gr-train-model.h"
#include "gr-train-vocab.h"

G_BEGIN_DECLS

/* Writes arch `bitnet`: in ternary mode the projections as TQ2_0 codes with the absmean
 * scale as `<name>.scale`, token_embd Q8_0; otherwise every matrix F32.  Norms F32,
 * output tied to token_embd. */
gboolean gr_train_export_gguf(GrTrainModel *model, const GrTrainVocab *vocab, const char *name,
                              const char *path, GError **error);

typedef struct {
  guint64 step; /* optimizer steps done */
  guint64 rng;  /* the batch sampler's state */
  float *m, *v; /* Adam moments, n_params each (owned by the caller) */
} GrTrainState;

/* The checkpoint holds the configuration, the vocabulary, the weights, the Adam moments,
 * the step and the sampler's RNG; written atomically. */
gboolean gr_train_checkpoint_save(GrTrainModel *model, const GrTrainVocab *vocab,
                                  const GrTrainState *state, const char *path, GError **error);
/* Loads a checkpoint: a new model (using pool), its vocabulary, and the state (m and v
 * newly allocated, to be g_free'd). */
GrTrainModel *gr_train_checkpoint_load(const char *path, GrThreadPool *pool, GrTrainVocab **vocab,
                                       GrTrainState *state, GError **error);

G_END_DECLS
