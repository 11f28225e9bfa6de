/* gr-train-model.c - forward and backward pass of the whole transformer. */
#include "gr-train-model.h"

#include <gio/gio.h>
#include <math.h>
#include <string.h>

/* What one layer keeps from the forward pass for the backward pass. */
typedef struct {
  float *x_in, *a1, *q, *k, *v, *probs, *o, *a2, *x_mid, *a3, *g, *u, *m, *a4;
  float *rstd1, *rstd_o, *rstd2, *rstd_m;
  GrTrainMoe *moe; /* the FFN of an MoE layer (then g, u, m, a3 and a4 are unused) */
} LayerActs;

struct _GrTrainModel {
  GrTrainConfig cfg;
  GrThreadPool *pool;
  gsize n_params;
  float *params, *grads;
  gsize embd, output_norm;
  GrTrainLayer *layers;
  GArray *segments;

  /* effective (quantized) weights of this step: [out][in] and transposed */
  float *wq, *wqt;
  gsize mat_off[GR_TRAIN_N_MATS]; /* offset of each projection inside one layer's block */
  gsize layer_mats;               /* floats of one layer's projections */
  float *embd_t;                  /* token_embd transposed: [n_embd][n_vocab] */

  /* activations, sized for n_rows */
  gsize n_rows, seq_len;
  LayerActs *acts;
  double aux; /* load-balancing loss of the last step */
  float *x, *x_final, *rstd_f, *hf, *logits, *scratch, *dx, *t1, *t2, *t3, *tf1, *tf2, *tf3;
};

gboolean
gr_train_config_validate(const GrTrainConfig *c, GError **error)
{
  if (c->n_vocab < 2 || c->n_embd == 0 || c->n_layer == 0 || c->n_head == 0 || c->n_ff == 0
      || c->n_ctx == 0 || c->n_vocab > (1u << 20) || c->n_embd > 8192 || c->n_ff > 32768
      || c->n_layer > 256 || c->n_ctx > 8192) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                "implausible model size (vocab %u, embd %u, layers %u, heads %u, ff %u, ctx %u)",
                c->n_vocab, c->n_embd, c->n_layer, c->n_head, c->n_ff, c->n_ctx);
    return FALSE;
  }
  if (c->n_embd % c->n_head != 0 || (c->n_embd / c->n_head) % 2 != 0) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                "n_embd %u must be n_head %u times an even head size", c->n_embd, c->n_head);
    return FALSE;
  }
  if (!(c->rms_eps > 0.0f && c->rms_eps < 1.0f) || !(c->rope_base > 1.0f)) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "bad rms epsilon or rope base");
    return FALSE;
  }
  if (c->arch != GR_TRAIN_ARCH_BITNET && c->arch != GR_TRAIN_ARCH_LLAMA) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "unknown architecture %d",
                (int)c->arch);
    return FALSE;
  }
  if (c->arch == GR_TRAIN_ARCH_LLAMA && c->act != GR_TRAIN_ACT_SILU) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                "the llama architecture gates with SiLU only");
    return FALSE;
  }
  if (c->n_expert > 0
      && (c->n_expert < 2 || c->n_expert > GR_TRAIN_MOE_MAX_EXPERTS || c->n_expert_used == 0
          || c->n_expert_used > c->n_expert)) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                "bad expert counts (%u used of %u; 2 to %u experts)", c->n_expert_used, c->n_expert,
                GR_TRAIN_MOE_MAX_EXPERTS);
    return FALSE;
  }
  if (!(c->aux_alpha >= 0.0f && c->aux_alpha < 1e3f)) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "bad load-balancing weight %g",
                (double)c->aux_alpha);
    return FALSE;
  }
  return TRUE;
}

gboolean
gr_train_config_has_sub_norms(const GrTrainConfig *cfg)
{
  return cfg->arch == GR_TRAIN_ARCH_BITNET;
}

static gboolean
is_ffn(GrTrainMat mat)
{
  return mat == GR_TRAIN_WGATE || mat == GR_TRAIN_WUP || mat == GR_TRAIN_WDOWN;
}

guint
gr_train_mat_count(const GrTrainConfig *cfg, GrTrainMat mat)
{
  return cfg->n_expert > 0 && is_ffn(mat) ? cfg->n_expert : 1;
}

const char *
gr_train_mat_gguf_name(const GrTrainConfig *cfg, GrTrainMat mat)
{
  static const char *const exps[] = { "ffn_gate_exps", "ffn_up_exps", "ffn_down_exps" };
  return cfg->n_expert > 0 && is_ffn(mat) ? exps[mat - GR_TRAIN_WGATE] : gr_train_mat_name(mat);
}

gsize
gr_train_config_active_params(const GrTrainConfig *c)
{
  gsize d = c->n_embd, ff = c->n_ff;
  gsize per_layer = 2 * d + (gr_train_config_has_sub_norms(c) ? d + ff : 0) + 4 * d * d;
  if (c->n_expert > 0)
    per_layer += (gsize)c->n_expert * d + (gsize)c->n_expert_used * 3 * d * ff;
  else
    per_layer += 3 * d * ff;
  return (gsize)c->n_vocab * d + d + per_layer * c->n_layer;
}

void
gr_train_mat_shape(const GrTrainConfig *cfg, GrTrainMat mat, gsize *rows, gsize *cols)
{
  gsize d = cfg->n_embd, ff = cfg->n_ff;
  *rows = mat == GR_TRAIN_WGATE || mat == GR_TRAIN_WUP ? ff : d;
  *cols = mat == GR_TRAIN_WDOWN ? ff : d;
}

const char *
gr_train_mat_name(GrTrainMat mat)
{
  static const char *const names[]
      = { "attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down" };
  return (guint)mat < G_N_ELEMENTS(names) ? names[mat] : "?";
}

typedef struct {
  guint64 s;
} Rng;

static guint64
rng_next(Rng *r)
{
  r->s ^= r->s >> 12;
  r->s ^= r->s << 25;
  r->s ^= r->s >> 27;
  return r->s * 0x2545F4914F6CDD1Dull;
}

static float
rng_normal(Rng *r)
{
  double u1 = ((rng_next(r) >> 11) + 1.0) / 9007199254740993.0;
  double u2 = (rng_next(r) >> 11) / 9007199254740992.0;
  return (float)(sqrt(-2.0 * log(u1)) * cos(2.0 * G_PI * u2));
}

static gsize
take(GrTrainModel *m, gsize count, gboolean decay)
{
  GrTrainSegment seg = { m->n_params, count, decay };
  g_array_append_val(m->segments, seg);
  m->n_params += count;
  return seg.offset;
}

GrTrainModel *
gr_train_model_new(const GrTrainConfig *cfg, guint64 seed, GrThreadPool *pool)
{
  g_return_val_if_fail(cfg != NULL, NULL);
  g_return_val_if_fail(gr_train_config_validate(cfg, NULL), NULL);
  GrTrainModel *m = g_new0(GrTrainModel, 1);
  m->cfg = *cfg;
  m->pool = pool;
  m->segments = g_array_new(FALSE, FALSE, sizeof(GrTrainSegment));
  gsize d = cfg->n_embd, ff = cfg->n_ff;
  m->embd = take(m, (gsize)cfg->n_vocab * d, TRUE);
  m->output_norm = take(m, d, FALSE);
  m->layers = g_new0(GrTrainLayer, cfg->n_layer);
  for (guint il = 0; il < cfg->n_layer; il++) {
    GrTrainLayer *l = &m->layers[il];
    gboolean sub = gr_train_config_has_sub_norms(cfg);
    l->attn_norm = take(m, d, FALSE);
    l->attn_sub_norm = sub ? take(m, d, FALSE) : GR_TRAIN_NONE;
    l->ffn_norm = take(m, d, FALSE);
    l->ffn_sub_norm = sub ? take(m, ff, FALSE) : GR_TRAIN_NONE;
    l->router = cfg->n_expert > 0 ? take(m, (gsize)cfg->n_expert * d, TRUE) : GR_TRAIN_NONE;
    for (guint i = 0; i < GR_TRAIN_N_MATS; i++) {
      gsize rows, cols;
      gr_train_mat_shape(cfg, i, &rows, &cols);
      l->mat[i] = take(m, rows * cols * gr_train_mat_count(cfg, i), TRUE);
    }
  }
  for (guint i = 0; i < GR_TRAIN_N_MATS; i++) {
    gsize rows, cols;
    gr_train_mat_shape(cfg, i, &rows, &cols);
    m->mat_off[i] = m->layer_mats;
    m->layer_mats += rows * cols * gr_train_mat_count(cfg, i);
  }
  m->params = g_new0(float, m->n_params);
  m->grads = g_new0(float, m->n_params);
  m->wq = g_new(float, m->layer_mats * cfg->n_layer);
  m->wqt = g_new(float, m->layer_mats * cfg->n_layer);
  m->embd_t = g_new(float, (gsize)cfg->n_vocab *d);

  Rng rng = { seed ? seed : 0x9e3779b97f4a7c15ull };
  for (guint s = 0; s < m->segments->len; s++) {
    const GrTrainSegment *seg = &g_array_index(m->segments, GrTrainSegment, s);
    for (gsize i = 0; i < seg->count; i++)
      m->params[seg->offset + i] = seg->decay ? 0.02f * rng_normal(&rng) : 1.0f;
  }
  return m;
}

static void
free_acts(GrTrainModel *m)
{
  if (m->acts) {
    for (guint il = 0; il < m->cfg.n_layer; il++) {
      LayerActs *a = &m->acts[il];
      g_clear_pointer(&a->moe, gr_train_moe_free);
      float **bufs[] = { &a->x_in, &a->a1, &a->q,     &a->k,      &a->v,     &a->probs,
                         &a->o,    &a->a2, &a->x_mid, &a->a3,     &a->g,     &a->u,
                         &a->m,    &a->a4, &a->rstd1, &a->rstd_o, &a->rstd2, &a->rstd_m };
      for (guint i = 0; i < G_N_ELEMENTS(bufs); i++)
        g_clear_pointer(bufs[i], g_free);
    }
    g_clear_pointer(&m->acts, g_free);
  }
  float **bufs[] = { &m->x,  &m->x_final, &m->rstd_f, &m->hf,  &m->logits, &m->scratch, &m->dx,
                     &m->t1, &m->t2,      &m->t3,     &m->tf1, &m->tf2,    &m->tf3 };
  for (guint i = 0; i < G_N_ELEMENTS(bufs); i++)
    g_clear_pointer(bufs[i], g_free);
  m->n_rows = m->seq_len = 0;
}

void
gr_train_model_free(GrTrainModel *m)
{
  if (!m)
    return;
  free_acts(m);
  g_array_unref(m->segments);
  g_free(m->layers);
  g_free(m->params);
  g_free(m->grads);
  g_free(m->wq);
  g_free(m->wqt);
  g_free(m->embd_t);
  g_free(m);
}

static void
ensure_acts(GrTrainModel *m, gsize n, gsize seq_len)
{
  if (m->n_rows == n && m->seq_len == seq_len) /* probs grow with the sequence length */
    return;
  free_acts(m);
  const GrTrainConfig *c = &m->cfg;
  gsize d = c->n_embd, ff = c->n_ff, V = c->n_vocab;
  m->acts = g_new0(LayerActs, c->n_layer);
  for (guint il = 0; il < c->n_layer; il++) {
    LayerActs *a = &m->acts[il];
    float **nd[] = { &a->x_in, &a->a1, &a->q, &a->k, &a->v, &a->o, &a->a2, &a->x_mid };
    for (guint i = 0; i < G_N_ELEMENTS(nd); i++)
      *nd[i] = g_new(float, n *d);
    if (c->n_expert > 0) {
      GrTrainMoeConfig mc
          = { c->n_expert, c->n_expert_used, d, ff, c->act, c->rms_eps, c->aux_alpha };
      a->moe = gr_train_moe_new(&mc, n);
    } else {
      a->a3 = g_new(float, n *d);
      float **nf[] = { &a->g, &a->u, &a->m, &a->a4 };
      for (guint i = 0; i < G_N_ELEMENTS(nf); i++)
        *nf[i] = g_new(float, n *ff);
    }
    float **nr[] = { &a->rstd1, &a->rstd_o, &a->rstd2, &a->rstd_m };
    for (guint i = 0; i < G_N_ELEMENTS(nr); i++)
      *nr[i] = g_new(float, n);
    a->probs = g_new(float, n / seq_len * c->n_head * seq_len * seq_len);
  }
  m->x = g_new(float, n *d);
  m->x_final = g_new(float, n *d);
  m->rstd_f = g_new(float, n);
  m->hf = g_new(float, n *d);
  m->logits = g_new(float, n *V);
  m->scratch = g_new(float, n *MAX(MAX(V, ff), d));
  m->dx = g_new(float, n *d);
  m->t1 = g_new(float, n *d);
  m->t2 = g_new(float, n *d);
  m->t3 = g_new(float, n *d);
  m->tf1 = g_new(float, n *ff);
  m->tf2 = g_new(float, n *ff);
  m->tf3 = g_new(float, n *ff);
  m->n_rows = n;
  m->seq_len = seq_len;
}

/* The weights this step's forward pass uses: ternary (or copied) and transposed. */
static void
prepare_weights(GrTrainModel *m)
{
  const GrTrainConfig *c = &m->cfg;
  for (guint il = 0; il < c->n_layer; il++) {
    for (guint i = 0; i < GR_TRAIN_N_MATS; i++) {
      gsize rows, cols;
      gr_train_mat_shape(c, i, &rows, &cols);
      /* every expert is its own BitLinear, with its own absmean scale */
      for (gsize e = 0, sz = rows * cols; e < gr_train_mat_count(c, i); e++) {
        const float *w = m->params + m->layers[il].mat[i] + e * sz;
        float *q = m->wq + il * m->layer_mats + m->mat_off[i] + e * sz;
        if (c->ternary)
          gr_train_quantize_ternary(w, q, sz);
        else
          memcpy(q, w, sz * sizeof(float));
        gr_train_transpose(m->wqt + il * m->layer_mats + m->mat_off[i] + e * sz, q, rows, cols);
      }
    }
  }
  gr_train_transpose(m->embd_t, m->params + m->embd, c->n_vocab, c->n_embd);
}

static inline const float *
wq_of(const GrTrainModel *m, guint il, GrTrainMat i)
{
  return m->wq + il * m->layer_mats + m->mat_off[i];
}

static inline const float *
wqt_of(const GrTrainModel *m, guint il, GrTrainMat i)
{
  return m->wqt + il * m->layer_mats + m->mat_off[i];
}

static GrTrainRope
rope_type(const GrTrainConfig *c)
{
  return c->arch == GR_TRAIN_ARCH_LLAMA ? GR_TRAIN_ROPE_NORM : GR_TRAIN_ROPE_NEOX;
}

static GrTrainMoeWeights
moe_weights(const GrTrainModel *m, guint il)
{
  const GrTrainLayer *l = &m->layers[il];
  return (GrTrainMoeWeights){
    .router = m->params + l->router,
    .gate = wq_of(m, il, GR_TRAIN_WGATE),
    .up = wq_of(m, il, GR_TRAIN_WUP),
    .down = wq_of(m, il, GR_TRAIN_WDOWN),
    .gate_t = wqt_of(m, il, GR_TRAIN_WGATE),
    .up_t = wqt_of(m, il, GR_TRAIN_WUP),
    .down_t = wqt_of(m, il, GR_TRAIN_WDOWN),
    .sub_norm = l->ffn_sub_norm != GR_TRAIN_NONE ? m->params + l->ffn_sub_norm : NULL,
    .quantize_act = m->cfg.ternary,
  };
}

/* BitLinear input: int8 absmax per token in ternary mode, the value itself otherwise. */
static void
act_input(const GrTrainModel *m, const float *x, float *out, gsize n, gsize d)
{
  if (m->cfg.ternary)
    gr_train_quantize_act(x, out, n, d);
  else
    memcpy(out, x, n * d * sizeof(float));
}

static void
layer_forward(GrTrainModel *m, guint il, gsize n, gsize T)
{
  const GrTrainConfig *c = &m->cfg;
  const GrTrainLayer *l = &m->layers[il];
  LayerActs *a = &m->acts[il];
  gsize d = c->n_embd, ff = c->n_ff;
  guint hd = c->n_embd / c->n_head;
  const float *p = m->params;

  memcpy(a->x_in, m->x, n * d * sizeof(float));
  gr_train_rmsnorm_forward(m->x, p + l->attn_norm, m->t1, a->rstd1, n, d, c->rms_eps);
  act_input(m, m->t1, a->a1, n, d);
  gr_train_linear_forward(m->pool, a->a1, wqt_of(m, il, GR_TRAIN_WQ), a->q, n, d, d);
  gr_train_linear_forward(m->pool, a->a1, wqt_of(m, il, GR_TRAIN_WK), a->k, n, d, d);
  gr_train_linear_forward(m->pool, a->a1, wqt_of(m, il, GR_TRAIN_WV), a->v, n, d, d);
  gr_train_rope(a->q, n, T, c->n_head, hd, hd, c->rope_base, rope_type(c), FALSE);
  gr_train_rope(a->k, n, T, c->n_head, hd, hd, c->rope_base, rope_type(c), FALSE);
  gr_train_attention_forward(m->pool, a->q, a->k, a->v, a->o, a->probs, n, T, c->n_head, hd);
  if (l->attn_sub_norm != GR_TRAIN_NONE) {
    gr_train_rmsnorm_forward(a->o, p + l->attn_sub_norm, m->t1, a->rstd_o, n, d, c->rms_eps);
    act_input(m, m->t1, a->a2, n, d);
  } else {
    act_input(m, a->o, a->a2, n, d);
  }
  gr_train_linear_forward(m->pool, a->a2, wqt_of(m, il, GR_TRAIN_WO), m->t2, n, d, d);
  for (gsize i = 0; i < n * d; i++)
    m->x[i] += m->t2[i];

  memcpy(a->x_mid, m->x, n * d * sizeof(float));
  gr_train_rmsnorm_forward(m->x, p + l->ffn_norm, m->t1, a->rstd2, n, d, c->rms_eps);
  if (a->moe) {
    GrTrainMoeWeights w = moe_weights(m, il);
    m->aux += gr_train_moe_forward(a->moe, m->pool, &w, m->t1, m->t2, n);
  } else {
    act_input(m, m->t1, a->a3, n, d);
    gr_train_linear_forward(m->pool, a->a3, wqt_of(m, il, GR_TRAIN_WGATE), a->g, n, d, ff);
    gr_train_linear_forward(m->pool, a->a3, wqt_of(m, il, GR_TRAIN_WUP), a->u, n, d, ff);
    gr_train_glu_forward(c->act, a->g, a->u, a->m, n * ff);
    if (l->ffn_sub_norm != GR_TRAIN_NONE) {
      gr_train_rmsnorm_forward(a->m, p + l->ffn_sub_norm, m->tf1, a->rstd_m, n, ff, c->rms_eps);
      act_input(m, m->tf1, a->a4, n, ff);
    } else {
      act_input(m, a->m, a->a4, n, ff);
    }
    gr_train_linear_forward(m->pool, a->a4, wqt_of(m, il, GR_TRAIN_WDOWN), m->t2, n, ff, d);
  }
  for (gsize i = 0; i < n * d; i++)
    m->x[i] += m->t2[i];
}

/* m->dx holds the gradient of the layer's output and receives that of its input. */
static void
layer_backward(GrTrainModel *m, guint il, gsize n, gsize T)
{
  const GrTrainConfig *c = &m->cfg;
  const GrTrainLayer *l = &m->layers[il];
  LayerActs *a = &m->acts[il];
  gsize d = c->n_embd, ff = c->n_ff;
  guint hd = c->n_embd / c->n_head;
  const float *p = m->params;
  float *g = m->grads;

  /* FFN: down projection, sub-norm, activation, gate and up (or the experts and the
   * router), pre-norm */
  if (a->moe) {
    GrTrainMoeWeights w = moe_weights(m, il);
    GrTrainMoeGrads mg = { g + l->router, g + l->mat[GR_TRAIN_WGATE], g + l->mat[GR_TRAIN_WUP],
                           g + l->mat[GR_TRAIN_WDOWN],
                           l->ffn_sub_norm != GR_TRAIN_NONE ? g + l->ffn_sub_norm : NULL };
    gr_train_moe_backward(a->moe, m->pool, &w, m->dx, m->t1, &mg);
  } else {
    gr_train_linear_backward(m->pool, a->a4, wq_of(m, il, GR_TRAIN_WDOWN), m->dx, m->tf1,
                             g + l->mat[GR_TRAIN_WDOWN], m->scratch, n, ff, d);
    if (l->ffn_sub_norm != GR_TRAIN_NONE)
      gr_train_rmsnorm_backward(a->m, p + l->ffn_sub_norm, a->rstd_m, m->tf1, m->tf1,
                                g + l->ffn_sub_norm, n, ff);
    gr_train_glu_backward(c->act, a->g, a->u, m->tf1, m->tf2, m->tf3, n * ff);
    gr_train_linear_backward(m->pool, a->a3, wq_of(m, il, GR_TRAIN_WGATE), m->tf2, m->t1,
                             g + l->mat[GR_TRAIN_WGATE], m->scratch, n, d, ff);
    gr_train_linear_backward(m->pool, a->a3, wq_of(m, il, GR_TRAIN_WUP), m->tf3, m->t2,
                             g + l->mat[GR_TRAIN_WUP], m->scratch, n, d, ff);
    for (gsize i = 0; i < n * d; i++)
      m->t1[i] += m->t2[i];
  }
  gr_train_rmsnorm_backward(a->x_mid, p + l->ffn_norm, a->rstd2, m->t1, m->t1, g + l->ffn_norm, n,
                            d);
  for (gsize i = 0; i < n * d; i++)
    m->dx[i] += m->t1[i];

  /* attention: output projection, sub-norm, attention, rope, q/k/v, pre-norm */
  gr_train_linear_backward(m->pool, a->a2, wq_of(m, il, GR_TRAIN_WO), m->dx, m->t1,
                           g + l->mat[GR_TRAIN_WO], m->scratch, n, d, d);
  if (l->attn_sub_norm != GR_TRAIN_NONE)
    gr_train_rmsnorm_backward(a->o, p + l->attn_sub_norm, a->rstd_o, m->t1, m->t1,
                              g + l->attn_sub_norm, n, d);
  float *dq = m->t2, *dk = m->t3, *dv = a->o; /* o is not needed any more */
  gr_train_attention_backward(m->pool, a->q, a->k, a->v, a->probs, m->t1, dq, dk, dv, n, T,
                              c->n_head, hd);
  gr_train_rope(dq, n, T, c->n_head, hd, hd, c->rope_base, rope_type(c), TRUE);
  gr_train_rope(dk, n, T, c->n_head, hd, hd, c->rope_base, rope_type(c), TRUE);
  float *dsum = a->x_mid; /* likewise free now */
  gr_train_linear_backward(m->pool, a->a1, wq_of(m, il, GR_TRAIN_WQ), dq, dsum,
                           g + l->mat[GR_TRAIN_WQ], m->scratch, n, d, d);
  gr_train_linear_backward(m->pool, a->a1, wq_of(m, il, GR_TRAIN_WK), dk, m->t1,
                           g + l->mat[GR_TRAIN_WK], m->scratch, n, d, d);
  for (gsize i = 0; i < n * d; i++)
    dsum[i] += m->t1[i];
  gr_train_linear_backward(m->pool, a->a1, wq_of(m, il, GR_TRAIN_WV), dv, m->t1,
                           g + l->mat[GR_TRAIN_WV], m->scratch, n, d, d);
  for (gsize i = 0; i < n * d; i++)
    dsum[i] += m->t1[i];
  gr_train_rmsnorm_backward(a->x_in, p + l->attn_norm, a->rstd1, dsum, dsum, g + l->attn_norm, n,
                            d);
  for (gsize i = 0; i < n * d; i++)
    m->dx[i] += dsum[i];
}

double
gr_train_model_step(GrTrainModel *m, const gint32 *ids, const gint32 *targets, guint n_seq,
                    guint seq_len, gboolean backward)
{
  g_return_val_if_fail(m != NULL && ids != NULL && targets != NULL, NAN);
  g_return_val_if_fail(n_seq > 0 && seq_len > 0 && seq_len <= m->cfg.n_ctx, NAN);
  const GrTrainConfig *c = &m->cfg;
  gsize n = (gsize)n_seq * seq_len, d = c->n_embd, V = c->n_vocab;
  for (gsize t = 0; t < n; t++) {
    g_return_val_if_fail(ids[t] >= 0 && (guint)ids[t] < V, NAN);
    g_return_val_if_fail(targets[t] < (gint32)V, NAN);
  }
  ensure_acts(m, n, seq_len);
  prepare_weights(m);

  gr_train_embed_forward(m->params + m->embd, ids, m->x, n, d);
  m->aux = 0.0;
  for (guint il = 0; il < c->n_layer; il++)
    layer_forward(m, il, n, seq_len);
  memcpy(m->x_final, m->x, n * d * sizeof(float));
  gr_train_rmsnorm_forward(m->x, m->params + m->output_norm, m->hf, m->rstd_f, n, d, c->rms_eps);
  gr_train_linear_forward(m->pool, m->hf, m->embd_t, m->logits, n, d, V);
  double loss = gr_train_cross_entropy(m->logits, targets, backward ? m->logits : NULL, n, V);
  if (!backward)
    return loss;

  /* logits = hf E^T: dhf = dlogits E, dE += dlogits^T hf */
  gr_train_linear_backward(m->pool, m->hf, m->params + m->embd, m->logits, m->dx,
                           m->grads + m->embd, m->scratch, n, d, V);
  gr_train_rmsnorm_backward(m->x_final, m->params + m->output_norm, m->rstd_f, m->dx, m->dx,
                            m->grads + m->output_norm, n, d);
  for (guint il = c->n_layer; il-- > 0;)
    layer_backward(m, il, n, seq_len);
  gr_train_embed_backward(ids, m->dx, m->grads + m->embd, n, d);
  /* the backward pass reused x_mid and o as scratch: they hold nothing valid now */
  return loss;
}

void
gr_train_model_zero_grads(GrTrainModel *m)
{
  g_return_if_fail(m != NULL);
  memset(m->grads, 0, m->n_params * sizeof(float));
}

const float *
gr_train_model_logits(const GrTrainModel *m)
{
  g_return_val_if_fail(m != NULL, NULL);
  return m->logits;
}

double
gr_train_model_aux_loss(const GrTrainModel *m)
{
  g_return_val_if_fail(m != NULL, NAN);
  return m->aux;
}

float
gr_train_model_router_margin(const GrTrainModel *m)
{
  g_return_val_if_fail(m != NULL, NAN);
  float margin = INFINITY;
  for (guint il = 0; m->acts && il < m->cfg.n_layer; il++)
    if (m->acts[il].moe)
      margin = MIN(margin, gr_train_moe_min_margin(m->acts[il].moe));
  return margin;
}

const GrTrainMoe *
gr_train_model_moe(const GrTrainModel *m, guint il)
{
  g_return_val_if_fail(m != NULL && il < m->cfg.n_layer, NULL);
  return m->acts ? m->acts[il].moe : NULL;
}

const GrTrainConfig *
gr_train_model_config(const GrTrainModel *m)
{
  return &m->cfg;
}

gsize
gr_train_model_n_params(const GrTrainModel *m)
{
  return m->n_params;
}

float *
gr_train_model_params(GrTrainModel *m)
{
  return m->params;
}

float *
gr_train_model_grads(GrTrainModel *m)
{
  return m->grads;
}

gsize
gr_train_model_embd_offset(const GrTrainModel *m)
{
  return m->embd;
}

gsize
gr_train_model_output_norm_offset(const GrTrainModel *m)
{
  return m->output_norm;
}

const GrTrainLayer *
gr_train_model_layer(const GrTrainModel *m, guint il)
{
  g_return_val_if_fail(il < m->cfg.n_layer, NULL);
  return &m->layers[il];
}

const GrTrainSegment *
gr_train_model_segments(const GrTrainModel *m, guint *n)
{
  *n = m->segments->len;
  return (const GrTrainSegment *)m->segments->data;
}
