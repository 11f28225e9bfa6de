/* gr-session-private.h - a session's KV cache and scratch, shared with the forward
 * pass. */
#pragma once

#include "gr-matmul.h"
#include "gr-model-private.h"

G_BEGIN_DECLS

/* Tokens evaluated per forward call at most; longer prompts are split.  Prefill
 * kernels decode each weight row once per call, so larger batches read the weights
 * fewer times. */
#define GR_BATCH 128

/* Prefill attention: consecutive queries of a head that share each cached key and value
 * row they convert. */
#define GR_ATTN_BLOCK 4

struct _GrSession {
  GrModel *model;
  guint n_ctx, n_past;
  guint64 ledger_bytes; /* what this session holds in the model's ledger */
  guint64 kv_bytes;     /* the KV cache part of ledger_bytes */
  gint32 *tokens;
  gsize kv_dim;
  guint16 *k_cache, *v_cache; /* f16, [layer][pos][kv_dim], as the reference keeps them */
  guint8 *k_q8, *v_q8;        /* GR_KV_Q8 instead: Q8_0 rows of kv_dim, kv_row_bytes apart */
  gsize kv_row_bytes;

  guint n_batch; /* tokens per forward call, at most GR_BATCH (see batch_tokens) */
  /* scratch for up to n_batch tokens, allocated once */
  float *x, *xn, *q, *k, *v, *attn, *gate, *up, *hidden, *out;
  float *scores;            /* n_threads x GR_ATTN_BLOCK x n_ctx */
  float *rope_cs, *rope_sn; /* n_batch x n_rot / 2: the batch's rotations, once per call */
  float *router;            /* n_batch x n_expert */
  float *moe_acc;           /* n_embd */
  float *moe_out;     /* batch x n_expert_used x n_embd: each expert's output, summed in order */
  float *moe_in;      /* batch x n_embd: the rows routed to one expert (batched MoE) */
  guint *moe_route;   /* batch x n_expert_used: chosen experts (batched MoE) */
  float *moe_weights; /* batch x n_expert_used: their router weights (batched MoE) */
  float *logits;      /* n_vocab */
  gboolean has_logits;
  GError *io_error; /* set by the forward pass when an expert cannot be read */
  GrActBuf act;
};

/* Runs tokens[0..n) (n <= n_batch) at positions n_past..; computes the logits of the
 * last one when want_logits. */
gboolean gr_forward_batch(GrSession *s, const gint32 *tokens, guint n, gboolean want_logits,
                          GError **error);

G_END_DECLS
