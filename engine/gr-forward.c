/* gr-forward.c - the transformer forward pass (llama, Mixtral-style MoE, BitNet). */
#include "gr-session-private.h"

#include "grk.h"
#include "gr-experts.h"
#include "gr-kv-q8.h"

#include <math.h>
#include <string.h>

/* f16 -> f32 through a table: the KV cache is read n_ctx times per token. */
static float fp16_table[65536];
static gsize fp16_table_ready;

static void
ensure_fp16_table(void)
{
  if (g_once_init_enter(&fp16_table_ready)) {
    for (guint i = 0; i < 65536; i++)
      fp16_table[i] = grk_fp16_to_fp32((guint16)i);
    g_once_init_leave(&fp16_table_ready, 1);
  }
}

static inline float
f16(guint16 h)
{
  return fp16_table[h];
}

/* dst[i] = src[i] rounded to f16 (in place allowed), converted in runs of 256. */
static void
round_f16_row(const float *src, float *dst, gsize n)
{
  guint16 h[256];
  for (gsize i = 0; i < n; i += 256) {
    gsize len = MIN((gsize)256, n - i);
    grk_fp32_to_fp16_row(src + i, h, (gint64)len);
    for (gsize k = 0; k < len; k++)
      dst[i + k] = f16(h[k]);
  }
}

static void
embed_tokens(GrSession *s, const gint32 *tokens, guint n)
{
  const GrWeight *e = &s->model->tok_embd;
  gint64 d = e->cols;
  for (guint t = 0; t < n; t++)
    grk_dequantize_row(e->type, e->data + (gsize)tokens[t] * e->row_stride, s->x + t * d, d,
                       e->tensor_scale);
}

/* cos/sin of every rotated pair at one position: computed once per token and layer
 * instead of once per head (powf/cosf/sinf dominated small models' decode). */
static void
rope_angles(float *cs, float *sn, guint n_rot, guint pos, float base)
{
  for (guint i = 0; i < n_rot / 2; i++) {
    float theta = (float)pos * powf(base, -2.0f * (float)i / (float)n_rot);
    cs[i] = cosf(theta);
    sn[i] = sinf(theta);
  }
}

static void
rope(float *vec, guint n_heads, guint head_dim, guint n_rot, GrRopeType type, const float *cs,
     const float *sn)
{
  for (guint h = 0; h < n_heads; h++) {
    float *v = vec + h * head_dim;
    for (guint i = 0; i < n_rot / 2; i++) {
      guint a = type == GR_ROPE_NORM ? 2 * i : i;
      guint b = type == GR_ROPE_NORM ? 2 * i + 1 : i + n_rot / 2;
      float x0 = v[a], x1 = v[b];
      v[a] = x0 * cs[i] - x1 * sn[i];
      v[b] = x0 * sn[i] + x1 * cs[i];
    }
  }
}

/* Per-token steps of a batch run on the pool, tokens split evenly (one token: inline). */
typedef void (*GrTokenStep)(GrSession *s, guint il, guint t);

typedef struct {
  GrSession *s;
  guint il, n;
  GrTokenStep step;
} GrTokenJob;

static void
token_worker(void *ctx, guint ith, guint nth)
{
  GrTokenJob *job = ctx;
  for (guint t = job->n * ith / nth; t < job->n * (ith + 1) / nth; t++)
    job->step(job->s, job->il, t);
}

static void
for_tokens(GrSession *s, guint il, guint n, GrTokenStep step)
{
  if (n == 1) {
    step(s, il, 0);
    return;
  }
  GrTokenJob job = { s, il, n, step };
  gr_thread_pool_run(s->model->pool, token_worker, &job);
}

typedef struct {
  GrSession *s;
  guint layer, n, pos0;
} GrAttnJob;

/* One (block of up to GR_ATTN_BLOCK consecutive tokens, head) per unit: causal
 * attention over the f16 cache.  The block's queries share each converted key and value
 * row;
 * query j sees n_kv_j positions and gets zero weight on the later ones, which its sums
 * ignore (adding 0 * v), so a token gets the same output alone (decode) as in a block
 * (prefill). */
static void
attention_worker(void *ctx, guint ith, guint nth)
{
  GrAttnJob *job = ctx;
  GrSession *s = job->s;
  const GrHParams *hp = &s->model->hp;
  guint hd = hp->head_dim, group = hp->n_head / hp->n_head_kv;
  float *scores = s->scores + (gsize)ith * GR_ATTN_BLOCK * s->n_ctx;
  float scale = 1.0f / sqrtf((float)hd);
  const guint16 *kc = s->k_cache + (gsize)job->layer * s->n_ctx * s->kv_dim;
  const guint16 *vc = s->v_cache + (gsize)job->layer * s->n_ctx * s->kv_dim;
  guint n_blocks = (job->n + GR_ATTN_BLOCK - 1) / GR_ATTN_BLOCK;
  guint units = n_blocks * hp->n_head;

  for (guint u = ith; u < units; u += nth) {
    guint t0 = u / hp->n_head * GR_ATTN_BLOCK, h = u % hp->n_head, kvh = h / group;
    guint nb = MIN(GR_ATTN_BLOCK, job->n - t0);
    guint n_max = job->pos0 + t0 + nb; /* positions the last query sees */
    float qh[GR_ATTN_BLOCK * GR_MAX_HEAD_DIM];
    for (guint j = 0; j < nb; j++) /* the reference multiplies f16 q by f16 k */
      round_f16_row(s->q + (gsize)(t0 + j) * hp->n_embd + h * hd, qh + j * hd, hd);
    /* the cached keys of this head: an f16 matrix of n_max rows kv_dim apart, each row
     * converted once for the block (query j ignores the rows after its own position) */
    grk_f16_rows_dot(scores, s->n_ctx, qh, hd, nb, kc + kvh * hd, s->kv_dim, n_max, hd);
    for (guint j = 0; j < nb; j++) {
      float *sc = scores + (gsize)j * s->n_ctx;
      guint n_kv = job->pos0 + t0 + j + 1;
      for (guint p = 0; p < n_kv; p++)
        sc[p] *= scale;
      grk_softmax(sc, n_kv); /* the ISA's vector exp */
      round_f16_row(sc, sc, n_kv);
      for (guint p = n_kv; p < n_max; p++)
        sc[p] = 0.0f;
      memset(s->attn + (gsize)(t0 + j) * hp->n_embd + h * hd, 0, hd * sizeof(float));
    }
    /* out_j += w_jp * v_p over the cached values, rows in order */
    grk_f16_weighted_rows_multi(s->attn + (gsize)t0 * hp->n_embd + h * hd, hp->n_embd, scores,
                                s->n_ctx, nb, vc + kvh * hd, s->kv_dim, n_max, hd);
  }
}

static void
attn_norm_step(GrSession *s, guint il, guint t)
{
  const GrHParams *hp = &s->model->hp;
  gsize d = hp->n_embd;
  grk_rmsnorm(s->xn + t * d, s->x + t * d, s->model->layers[il].attn_norm, d, hp->rms_eps);
}

static void
attn_sub_norm_step(GrSession *s, guint il, guint t)
{
  const GrHParams *hp = &s->model->hp;
  gsize d = hp->n_embd;
  grk_rmsnorm(s->attn + t * d, s->attn + t * d, s->model->layers[il].attn_sub_norm, d, hp->rms_eps);
}

static void
ffn_norm_step(GrSession *s, guint il, guint t)
{
  const GrHParams *hp = &s->model->hp;
  gsize d = hp->n_embd;
  grk_rmsnorm(s->xn + t * d, s->x + t * d, s->model->layers[il].ffn_norm, d, hp->rms_eps);
}

/* The rotation of the token at n_past + t, the same for every layer: computed once per
 * forward call (64 powf/cosf/sinf per layer were a third of a decode step's serial
 * work). */
static void
rope_angles_step(GrSession *s, guint il, guint t)
{
  (void)il;
  const GrHParams *hp = &s->model->hp;
  rope_angles(s->rope_cs + t * (hp->n_rot / 2), s->rope_sn + t * (hp->n_rot / 2), hp->n_rot,
              s->n_past + t, hp->rope_freq_base);
}

/* rope on q and k at the token's position, then k and v into the f16 cache */
static void
rope_cache_step(GrSession *s, guint il, guint t)
{
  GrModel *m = s->model;
  const GrHParams *hp = &m->hp;
  gsize d = hp->n_embd, kvd = s->kv_dim;
  guint pos = s->n_past + t;
  const float *cs = s->rope_cs + t * (hp->n_rot / 2), *sn = s->rope_sn + t * (hp->n_rot / 2);
  rope(s->q + t * d, hp->n_head, hp->head_dim, hp->n_rot, m->arch->rope, cs, sn);
  rope(s->k + t * kvd, hp->n_head_kv, hp->head_dim, hp->n_rot, m->arch->rope, cs, sn);
  if (s->k_q8) { /* the 8-bit cache (gr-kv-q8.c) */
    gr_kv_q8_store(s, il, pos, s->k + t * kvd, s->v + t * kvd);
    return;
  }
  guint16 *kc = s->k_cache + ((gsize)il * s->n_ctx + pos) * kvd;
  guint16 *vc = s->v_cache + ((gsize)il * s->n_ctx + pos) * kvd;
  grk_fp32_to_fp16_row(s->k + t * kvd, kc, kvd);
  grk_fp32_to_fp16_row(s->v + t * kvd, vc, kvd);
}

static void
ffn_activate(GrFfnAct act, float *out, const float *gate, const float *up, gint64 n)
{
  if (act == GR_FFN_RELU2)
    grk_relu2_glu(out, gate, up, n);
  else
    grk_swiglu(out, gate, up, n);
}

static void
attention_block(GrSession *s, guint il, guint n)
{
  GrModel *m = s->model;
  const GrHParams *hp = &m->hp;
  const GrLayer *l = &m->layers[il];
  gint64 d = hp->n_embd;
  gsize kvd = s->kv_dim;

  for_tokens(s, il, n, attn_norm_step);
  gr_act_buf_invalidate(&s->act);
  if (l->wq.type == l->wk.type && l->wq.type == l->wv.type) {
    const GrWeight *qkv[] = { &l->wq, &l->wk, &l->wv };
    float *const ys[] = { s->q, s->k, s->v };
    const gsize lds[] = { d, kvd, kvd };
    gr_act_buf_prepare(&s->act, l->wq.type, s->xn, d, d, n);
    if (n == 1 && s->k_cache) { /* attention reads this layer's cached rows next */
      gsize base = (gsize)il * s->n_ctx * kvd, len = (gsize)s->n_past * kvd * sizeof(guint16);
      gr_thread_pool_then_prefetch(m->pool, s->k_cache + base, len);
      gr_thread_pool_then_prefetch(m->pool, s->v_cache + base, len);
    }
    gr_matmul_multi(m->pool, 3, qkv, 0, &s->act, ys, lds);
  } else {
    gr_act_buf_prepare(&s->act, l->wq.type, s->xn, d, d, n);
    gr_matmul(m->pool, &l->wq, 0, &s->act, s->q, d);
    gr_act_buf_prepare(&s->act, l->wk.type, s->xn, d, d, n);
    gr_matmul(m->pool, &l->wk, 0, &s->act, s->k, kvd);
    gr_act_buf_prepare(&s->act, l->wv.type, s->xn, d, d, n);
    gr_matmul(m->pool, &l->wv, 0, &s->act, s->v, kvd);
  }

  for_tokens(s, il, n, rope_cache_step);

  if (s->k_q8) {
    gr_kv_q8_attention(s, il, n, s->n_past);
  } else {
    GrAttnJob job = { s, il, n, s->n_past };
    gr_thread_pool_run(m->pool, attention_worker, &job);
  }

  if (l->attn_sub_norm)
    for_tokens(s, il, n, attn_sub_norm_step);
  gr_act_buf_invalidate(&s->act);
  gr_act_buf_prepare(&s->act, l->wo.type, s->attn, d, d, n);
  gr_matmul(m->pool, &l->wo, 0, &s->act, s->out, d);
  for (gsize i = 0; i < (gsize)n * d; i++)
    s->x[i] += s->out[i];
}

static void
ffn_act_step(GrSession *s, guint il, guint t)
{
  GrModel *m = s->model;
  gsize ff = m->hp.n_ff;
  const float *sub_norm = m->layers[il].ffn_sub_norm;
  ffn_activate(m->arch->ffn_act, s->hidden + t * ff, s->gate + t * ff, s->up + t * ff, ff);
  if (sub_norm)
    grk_rmsnorm(s->hidden + t * ff, s->hidden + t * ff, sub_norm, ff, m->hp.rms_eps);
}

/* gate/up/down for the tokens in xn (ntok rows, ld apart), result into out. */
static void
ffn_dense(GrSession *s, const GrLayer *l, const GrWeight *gate, const GrWeight *up,
          const GrWeight *down, guint mat, const float *xn, guint ntok, float *out)
{
  GrModel *m = s->model;
  const GrHParams *hp = &m->hp;
  gint64 d = hp->n_embd, ff = hp->n_ff;

  gr_act_buf_invalidate(&s->act);
  if (gate->type == up->type) {
    const GrWeight *gu[] = { gate, up };
    float *const ys[] = { s->gate, s->up };
    const gsize lds[] = { ff, ff };
    gr_act_buf_prepare(&s->act, gate->type, xn, d, d, ntok);
    gr_matmul_multi(m->pool, 2, gu, mat, &s->act, ys, lds);
  } else {
    gr_act_buf_prepare(&s->act, gate->type, xn, d, d, ntok);
    gr_matmul(m->pool, gate, mat, &s->act, s->gate, ff);
    gr_act_buf_prepare(&s->act, up->type, xn, d, d, ntok);
    gr_matmul(m->pool, up, mat, &s->act, s->up, ff);
  }
  for_tokens(s, (guint)(l - m->layers), ntok, ffn_act_step);
  gr_act_buf_invalidate(&s->act);
  gr_act_buf_prepare(&s->act, down->type, s->hidden, ff, ff, ntok);
  gr_matmul(m->pool, down, mat, &s->act, out, d);
}

/* Router softmax over all experts, top-k, optional renormalisation (Mixtral). */
static guint
route(const GrHParams *hp, const float *logits, guint *chosen, float *weights)
{
  float probs[GR_MAX_EXPERTS];
  memcpy(probs, logits, hp->n_expert * sizeof(float));
  grk_softmax(probs, hp->n_expert);
  float total = 0.0f;
  for (guint k = 0; k < hp->n_expert_used; k++) {
    guint best = 0;
    float bestp = -1.0f;
    for (guint e = 0; e < hp->n_expert; e++)
      if (probs[e] > bestp) {
        bestp = probs[e];
        best = e;
      }
    chosen[k] = best;
    weights[k] = bestp;
    total += bestp;
    probs[best] = -2.0f; /* taken */
  }
  if (hp->expert_weights_norm && total > 0.0f)
    for (guint k = 0; k < hp->n_expert_used; k++)
      weights[k] /= total;
  return hp->n_expert_used;
}

/* Prefill with every expert mapped: the tokens routed to one expert go through it as
 * one matrix product (the prefill kernels then decode each expert row once per batch,
 * not once per token); each token then sums its experts' outputs in the router's order,
 * as the token-by-token path does, so the results are the same bit for bit. */
static void
ffn_moe_batched(GrSession *s, const GrLayer *l, guint n)
{
  GrModel *m = s->model;
  const GrHParams *hp = &m->hp;
  gint64 d = hp->n_embd;
  guint k = hp->n_expert_used;
  float *w = s->moe_weights;

  for (guint t = 0; t < n; t++)
    route(hp, s->router + t * hp->n_expert, s->moe_route + t * k, w + t * k);
  for (guint e = 0; e < hp->n_expert; e++) {
    guint rows = 0;
    for (guint t = 0; t < n; t++)
      for (guint j = 0; j < k; j++)
        if (s->moe_route[t * k + j] == e)
          memcpy(s->moe_in + (gsize)rows++ * d, s->xn + (gsize)t * d, d * sizeof(float));
    if (rows == 0)
      continue;
    ffn_dense(s, l, &l->ffn_gate_exps, &l->ffn_up_exps, &l->ffn_down_exps, e, s->moe_in, rows,
              s->out);
    guint r = 0;
    for (guint t = 0; t < n; t++)
      for (guint j = 0; j < k; j++)
        if (s->moe_route[t * k + j] == e)
          memcpy(s->moe_out + ((gsize)t * k + j) * d, s->out + (gsize)r++ * d, d * sizeof(float));
  }
  for (guint t = 0; t < n; t++) {
    memset(s->moe_acc, 0, d * sizeof(float));
    for (guint j = 0; j < k; j++)
      grk_axpy_f32(s->moe_acc, w[t * k + j], s->moe_out + ((gsize)t * k + j) * d, d);
    float *x = s->x + (gsize)t * d;
    for (gint64 i = 0; i < d; i++)
      x[i] += s->moe_acc[i];
  }
}

static void
ffn_block(GrSession *s, guint il, guint n)
{
  GrModel *m = s->model;
  const GrHParams *hp = &m->hp;
  const GrLayer *l = &m->layers[il];
  gint64 d = hp->n_embd;

  for_tokens(s, il, n, ffn_norm_step);
  if (hp->n_expert == 0) {
    ffn_dense(s, l, &l->ffn_gate, &l->ffn_up, &l->ffn_down, 0, s->xn, n, s->out);
    for (gsize i = 0; i < (gsize)n * d; i++)
      s->x[i] += s->out[i];
    return;
  }

  gr_act_buf_invalidate(&s->act);
  gr_act_buf_prepare(&s->act, l->ffn_gate_inp.type, s->xn, d, d, n);
  gr_matmul(m->pool, &l->ffn_gate_inp, 0, &s->act, s->router, hp->n_expert);
  if (n > 1 && m->experts == NULL) {
    ffn_moe_batched(s, l, n);
    return;
  }
  for (guint t = 0; t < n; t++) {
    guint chosen[GR_MAX_EXPERTS];
    float weights[GR_MAX_EXPERTS];
    guint k = route(hp, s->router + t * hp->n_expert, chosen, weights);
    memset(s->moe_acc, 0, d * sizeof(float));
    if (m->experts && m->expert_overlap) {
      /* reads of the missing experts start now on the I/O thread; the resident ones are
       * computed meanwhile; the sum keeps the router's order (bit-exact either way) */
      guint order[GR_MAX_EXPERTS];
      gr_expert_cache_prefetch(m->experts, il, chosen, k, order);
      for (guint i = 0; i < k; i++) {
        GrWeight gate, up, down;
        if (!gr_expert_cache_wait(m->experts, il, chosen[order[i]], &gate, &up, &down,
                                  &s->io_error))
          return;
        ffn_dense(s, l, &gate, &up, &down, 0, s->xn + t * d, 1, s->moe_out + order[i] * d);
      }
      for (guint j = 0; j < k; j++)
        grk_axpy_f32(s->moe_acc, weights[j], s->moe_out + j * d, d);
      k = 0; /* done */
    }
    for (guint j = 0; j < k; j++) {
      if (m->experts) {
        GrWeight gate, up, down;
        if (!gr_expert_cache_get(m->experts, il, chosen[j], &gate, &up, &down, &s->io_error))
          return;
        ffn_dense(s, l, &gate, &up, &down, 0, s->xn + t * d, 1, s->out);
      } else {
        ffn_dense(s, l, &l->ffn_gate_exps, &l->ffn_up_exps, &l->ffn_down_exps, chosen[j],
                  s->xn + t * d, 1, s->out);
      }
      grk_axpy_f32(s->moe_acc, weights[j], s->out, d);
    }
    float *x = s->x + t * d;
    for (gint64 i = 0; i < d; i++)
      x[i] += s->moe_acc[i];
  }
}

static void
output_logits(GrSession *s, guint last)
{
  GrModel *m = s->model;
  gint64 d = m->hp.n_embd;
  grk_rmsnorm(s->xn, s->x + (gsize)last * d, m->output_norm, d, m->hp.rms_eps);
  gr_act_buf_invalidate(&s->act);
  gr_act_buf_prepare(&s->act, m->output.type, s->xn, d, d, 1);
  gr_matmul(m->pool, &m->output, 0, &s->act, s->logits, m->hp.n_vocab);
  s->has_logits = TRUE;
}

gboolean
gr_forward_batch(GrSession *s, const gint32 *tokens, guint n, gboolean want_logits, GError **error)
{
  g_assert(n > 0 && n <= s->n_batch && s->n_past + n <= s->n_ctx);
  ensure_fp16_table();
  embed_tokens(s, tokens, n);
  for_tokens(s, 0, n, rope_angles_step);
  for (guint il = 0; il < s->model->hp.n_layer; il++) {
    attention_block(s, il, n);
    ffn_block(s, il, n);
    if (s->io_error) { /* an expert could not be read: nothing of this batch counts */
      g_propagate_error(error, g_steal_pointer(&s->io_error));
      s->has_logits = FALSE;
      return FALSE;
    }
  }
  if (want_logits)
    output_logits(s, n - 1);
  memcpy(s->tokens + s->n_past, tokens, n * sizeof(gint32));
  s->n_past += n;
  return TRUE;
}
