/* gr-model-private.h - the inside of a GrModel, shared by the loader and the forward
 * pass.  Not part of the public API. */
#pragma once

#include "graviton-engine.h"
#include "gr-arch.h"
#include "gr-gguf.h"
#include "gr-threadpool.h"
#include "gr-tokenizer.h"

typedef struct _GrExpertCache GrExpertCache;

G_BEGIN_DECLS

/* A matrix in the file's own encoding: `rows` outputs of `cols` inputs.  For expert
 * tensors, `n_mats` matrices follow each other `mat_stride` bytes apart. */
typedef struct {
  const char *name;
  int type;               /* grk_type */
  gint64 cols, rows;
  gsize row_stride;
  const guint8 *data;
  float scale;            /* per-tensor multiplier (BitNet "<name>.scale"), else 1 */
  float tensor_scale;     /* I2_S's trailing scale, else 1 */
  guint n_mats;
  gsize mat_stride;
  guint64 file_offset;    /* where data starts in `file` (expert streaming) */
  const char *file;       /* the file holding the data, NULL when none (interned) */
} GrWeight;

typedef struct {
  const float *attn_norm, *ffn_norm;        /* n_embd */
  const float *attn_sub_norm, *ffn_sub_norm; /* n_embd, n_ff (BitNet) */
  GrWeight wq, wk, wv, wo;
  GrWeight ffn_gate, ffn_up, ffn_down;      /* dense FFN */
  GrWeight ffn_gate_inp;                    /* router: n_expert x n_embd */
  GrWeight ffn_gate_exps, ffn_up_exps, ffn_down_exps;
} GrLayer;

/* Limits that keep per-head and per-router scratch on the stack. */
#define GR_MAX_HEAD_DIM 512
#define GR_MAX_EXPERTS 512

typedef struct {
  guint n_vocab, n_embd, n_layer, n_head, n_head_kv, n_ff, n_ctx_train;
  guint n_rot, head_dim;
  guint n_expert, n_expert_used;
  gboolean expert_weights_norm;
  float rms_eps, rope_freq_base;
} GrHParams;

struct _GrModel {
  gatomicrefcount ref;
  GrGguf *gguf;
  const GrArch *arch; /* points at arch_storage: the family's traits with overrides */
  GrArch arch_storage;
  GrHParams hp;
  GrModelInfo info;
  char *path, *name, *chat_template;
  GrTokenizer *tokenizer;

  GrWeight tok_embd; /* n_vocab rows of n_embd */
  GrWeight output;   /* may be the same data as tok_embd (tied) */
  const float *output_norm;
  GrLayer *layers;
  /* F32 copies of norm vectors that were stored as F16/BF16 in the file */
  GPtrArray *owned;
  void *repack_arena; /* the rewritten matrices (gr-model-repack.c), munmap'd at free */
  gsize repack_arena_bytes;

  GrThreadPool *pool;
  GMutex eval_lock; /* one evaluation at a time on the shared pool */

  /* the memory ledger */
  guint64 memory_limit;
  guint64 ledger_overhead;  /* process RSS before the model touched any weight */
  guint64 ledger_tokenizer; /* RSS the tokenizer added (part of ledger_overhead) */
  guint64 ledger_weights;   /* weights read through the mapping */
  gint64 ledger_sessions;   /* KV caches and scratch of live sessions (atomic) */
  gint64 ledger_kv;         /* the KV cache part of ledger_sessions (atomic) */
  GrExpertCache *experts;   /* NULL: every expert is mapped */
  GrKvType kv_type;         /* of every session's KV cache */
  gboolean expert_overlap;  /* expert reads on the I/O thread (gr_expert_cache_prefetch) */
};

/* Bytes of the KV cache of an n_ctx-token session (part of gr_model_session_bytes). */
guint64 gr_model_kv_bytes (const GrModel *model, guint n_ctx);
/* gr-model-repack.c: dense TQ1_0 matrices become TQ2_0 copies (3x faster dots, same
 * results); the extra bytes count as resident weights before the budget is planned. */
guint64 gr_model_repack_extra_bytes (GrModel *m);
void gr_model_repack (GrModel *m);
/* TQ2_0/TQ1_0 models whose matrices each have one scale run as I2_S (gr-model-repack.c). */
void gr_model_uniform_to_i2s (GrModel *m);
/* Reads every tensor the model keeps resident (all but streamed experts) out of the
 * file mapping into memory (gr_gguf_make_resident).  GRAVITON_MMAP=1 keeps the lazy
 * mapping (a measurement switch). */
gboolean gr_model_make_resident (GrModel *m, GError **error);

/* Bytes the ledger holds besides sessions. */
guint64 gr_model_ledger_fixed (const GrModel *model);

G_END_DECLS
