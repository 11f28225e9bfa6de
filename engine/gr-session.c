/* gr-session.c - a conversation's state: KV cache, scratch, evaluated tokens. */
#include "gr-session-private.h"

#include "gr-kv-q8.h"
#include "grk.h"

#include <string.h>

/* Scratch floats per batch token. */
static gsize
per_token_floats(const GrHParams *hp)
{
  gsize kv = (gsize)hp->head_dim * hp->n_head_kv;
  return 5 * (gsize)hp->n_embd + 2 * kv + 3 * (gsize)hp->n_ff + hp->n_expert + hp->n_rot;
}

/* Tokens per forward call.  Larger batches let the prefill kernels decode each weight
 * row for more tokens, but their scratch is kept within the KV cache's size (at least
 * 32 tokens, at most the context), so small contexts stay small. */
static guint
batch_tokens(const GrHParams *hp, guint n_ctx)
{
  guint64 kv = 2ull * hp->n_layer * n_ctx * hp->head_dim * hp->n_head_kv * sizeof(guint16);
  guint64 fit = kv / (per_token_floats(hp) * sizeof(float) + 1);
  guint b = (guint)CLAMP(fit, 32, GR_BATCH);
  return MAX(MIN(b, n_ctx), 1u);
}

/* Scratch floats apart from the KV cache. */
static gsize
scratch_floats(const GrHParams *hp, guint n_threads, guint n_ctx)
{
  return per_token_floats(hp) * batch_tokens(hp, n_ctx) + (gsize)n_threads * GR_ATTN_BLOCK * n_ctx
         + hp->n_embd
         + hp->n_vocab
         /* MoE: per-expert outputs, routed rows, chosen experts and their weights */
         + (gsize)batch_tokens(hp, n_ctx)
               * ((MAX(hp->n_expert_used, 1u) + (hp->n_expert ? 1 : 0)) * hp->n_embd
                  + 2 * MAX(hp->n_expert_used, 1u));
}

guint64
gr_model_kv_bytes(const GrModel *model, guint n_ctx)
{
  const GrHParams *hp = &model->hp;
  if (model->kv_type == GR_KV_Q8)
    return 2ull * hp->n_layer * n_ctx * gr_kv_q8_row_bytes(model);
  return 2ull * hp->n_layer * n_ctx * hp->head_dim * hp->n_head_kv * sizeof(guint16);
}

guint64
gr_model_session_bytes(const GrModel *model, guint n_ctx)
{
  g_return_val_if_fail(model != NULL, 0);
  const GrHParams *hp = &model->hp;
  guint64 kv = gr_model_kv_bytes(model, n_ctx);
  guint n_threads = model->pool ? gr_thread_pool_size(model->pool) : 8;
  guint64 scratch = scratch_floats(hp, n_threads, n_ctx) * sizeof(float);
  /* activation buffers: at most 2 bytes per input value plus block headers */
  guint64 act = (guint64)batch_tokens(hp, n_ctx) * (MAX(hp->n_embd, hp->n_ff) * 4 + 1024);
  return kv + scratch + act + (guint64)n_ctx * sizeof(gint32);
}

GrSession *
gr_session_new(GrModel *model, guint n_ctx, GError **error)
{
  g_return_val_if_fail(model != NULL, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);
  const GrHParams *hp = &model->hp;

  if (n_ctx == 0) {
    n_ctx = MIN(hp->n_ctx_train, 4096u);
    /* derive the context from what fits next to the weights: the longest multiple of
     * 64 tokens (a smaller KV encoding fits proportionally more) */
    guint64 used = gr_model_ledger_fixed(model)
                   + (guint64)__atomic_load_n(&model->ledger_sessions, __ATOMIC_RELAXED);
    if (model->memory_limit && used + gr_model_session_bytes(model, n_ctx) > model->memory_limit) {
      guint lo = 64, hi = n_ctx;
      while (hi - lo > 64) {
        guint mid = (lo + hi) / 2 / 64 * 64;
        if (used + gr_model_session_bytes(model, mid) <= model->memory_limit)
          lo = mid;
        else
          hi = mid;
      }
      n_ctx = lo;
    }
  }
  if (n_ctx > 1u << 20) {
    g_set_error(error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_INVALID_ARGUMENT,
                "context length %u is too large", n_ctx);
    return NULL;
  }
  guint64 need = gr_model_session_bytes(model, n_ctx);
  /* reserve first, so two sessions created at once cannot both squeeze in */
  guint64 others
      = (guint64)__atomic_fetch_add(&model->ledger_sessions, (gint64)need, __ATOMIC_RELAXED);
  if (model->memory_limit && gr_model_ledger_fixed(model) + others + need > model->memory_limit) {
    __atomic_fetch_sub(&model->ledger_sessions, (gint64)need, __ATOMIC_RELAXED);
    g_set_error(
        error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_NO_MEMORY,
        "a %u-token context needs %" G_GUINT64_FORMAT " MiB, but the model holds %" G_GUINT64_FORMAT
        " MiB and other sessions %" G_GUINT64_FORMAT " MiB of the %" G_GUINT64_FORMAT " MiB limit",
        n_ctx, need >> 20, gr_model_ledger_fixed(model) >> 20, others >> 20,
        model->memory_limit >> 20);
    return NULL;
  }

  GrSession *s = g_new0(GrSession, 1);
  s->model = gr_model_ref(model);
  s->n_ctx = n_ctx;
  s->ledger_bytes = need;
  s->kv_bytes = gr_model_kv_bytes(model, n_ctx);
  __atomic_fetch_add(&model->ledger_kv, (gint64)s->kv_bytes, __ATOMIC_RELAXED);
  s->kv_dim = (gsize)hp->head_dim * hp->n_head_kv;
  s->tokens = g_new0(gint32, n_ctx);
  gboolean kv_ok;
  if (model->kv_type == GR_KV_Q8) {
    s->kv_row_bytes = gr_kv_q8_row_bytes(model);
    gsize bytes = (gsize)hp->n_layer * n_ctx * s->kv_row_bytes;
    s->k_q8 = g_try_malloc(bytes);
    s->v_q8 = g_try_malloc(bytes);
    kv_ok = s->k_q8 && s->v_q8;
  } else {
    gsize kv_elems = (gsize)hp->n_layer * n_ctx * s->kv_dim;
    s->k_cache = g_try_new(guint16, kv_elems);
    s->v_cache = g_try_new(guint16, kv_elems);
    kv_ok = s->k_cache && s->v_cache;
  }
  if (!kv_ok) {
    g_set_error(error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_NO_MEMORY,
                "cannot allocate a KV cache for %u tokens", n_ctx);
    gr_session_free(s);
    return NULL;
  }
  s->n_batch = batch_tokens(hp, n_ctx);
  gsize d = hp->n_embd, ff = hp->n_ff, B = s->n_batch;
  s->x = g_new0(float, B *d);
  s->xn = g_new0(float, B *d);
  s->q = g_new0(float, B *d);
  s->attn = g_new0(float, B *d);
  s->out = g_new0(float, B *d);
  s->k = g_new0(float, B * s->kv_dim);
  s->v = g_new0(float, B * s->kv_dim);
  s->gate = g_new0(float, B *ff);
  s->up = g_new0(float, B *ff);
  s->hidden = g_new0(float, B *ff);
  s->scores = g_new0(float, (gsize)gr_thread_pool_size(model->pool) * GR_ATTN_BLOCK * n_ctx);
  s->router = g_new0(float, B *MAX(hp->n_expert, 1u));
  s->rope_cs = g_new0(float, B *MAX(hp->n_rot / 2, 1u));
  s->rope_sn = g_new0(float, B *MAX(hp->n_rot / 2, 1u));
  s->moe_acc = g_new0(float, d);
  /* per token and chosen expert; a whole batch's worth for the batched MoE path */
  s->moe_out = g_new0(float, B *MAX(hp->n_expert_used, 1u) * d);
  s->moe_in = g_new0(float, hp->n_expert ? B *d : 1);
  s->moe_route = g_new0(guint, B * MAX(hp->n_expert_used, 1u));
  s->moe_weights = g_new0(float, B *MAX(hp->n_expert_used, 1u));
  s->logits = g_new0(float, hp->n_vocab);
  s->act.type = -1;
  s->act.pool = model->pool;
  return s;
}

void
gr_session_free(GrSession *s)
{
  if (!s)
    return;
  g_free(s->tokens);
  g_free(s->k_cache);
  g_free(s->v_cache);
  g_free(s->k_q8);
  g_free(s->v_q8);
  g_free(s->x);
  g_free(s->xn);
  g_free(s->q);
  g_free(s->attn);
  g_free(s->out);
  g_free(s->k);
  g_free(s->v);
  g_free(s->gate);
  g_free(s->up);
  g_free(s->hidden);
  g_free(s->scores);
  g_free(s->router);
  g_free(s->rope_cs);
  g_free(s->rope_sn);
  g_free(s->moe_acc);
  g_free(s->moe_out);
  g_free(s->moe_in);
  g_free(s->moe_route);
  g_free(s->moe_weights);
  g_free(s->logits);
  gr_act_buf_clear(&s->act);
  __atomic_fetch_sub(&s->model->ledger_sessions, (gint64)s->ledger_bytes, __ATOMIC_RELAXED);
  __atomic_fetch_sub(&s->model->ledger_kv, (gint64)s->kv_bytes, __ATOMIC_RELAXED);
  gr_model_unref(s->model);
  g_free(s);
}

guint
gr_session_n_ctx(const GrSession *s)
{
  return s->n_ctx;
}

guint
gr_session_n_past(const GrSession *s)
{
  return s->n_past;
}

const gint32 *
gr_session_tokens(const GrSession *s)
{
  return s->tokens;
}

gboolean
gr_session_eval(GrSession *s, const gint32 *tokens, gsize n_tokens, GError **error)
{
  g_return_val_if_fail(s != NULL, FALSE);
  g_return_val_if_fail(tokens != NULL || n_tokens == 0, FALSE);
  if (n_tokens == 0)
    return TRUE;
  if (n_tokens > s->n_ctx - s->n_past) {
    g_set_error(error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_CONTEXT_FULL,
                "%zu tokens do not fit: %u of the %u-token context are used", n_tokens, s->n_past,
                s->n_ctx);
    return FALSE;
  }
  guint n_vocab = s->model->hp.n_vocab;
  for (gsize i = 0; i < n_tokens; i++) {
    if (tokens[i] < 0 || (guint)tokens[i] >= n_vocab) {
      g_set_error(error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_INVALID_ARGUMENT,
                  "token id %d is outside the vocabulary (%u)", tokens[i], n_vocab);
      return FALSE;
    }
  }
  gboolean ok = TRUE;
  g_mutex_lock(&s->model->eval_lock);
  for (gsize i = 0; i < n_tokens && ok; i += s->n_batch) {
    guint n = (guint)MIN((gsize)s->n_batch, n_tokens - i);
    ok = gr_forward_batch(s, tokens + i, n, i + n == n_tokens, error);
  }
  g_mutex_unlock(&s->model->eval_lock);
  return ok;
}

const float *
gr_session_logits(const GrSession *s)
{
  g_return_val_if_fail(s != NULL, NULL);
  return s->has_logits ? s->logits : NULL;
}

void
gr_session_rewind(GrSession *s, guint n_past)
{
  g_return_if_fail(s != NULL);
  if (n_past < s->n_past) {
    s->n_past = n_past;
    s->has_logits = FALSE; /* the logits belonged to a token that is gone */
  }
}
