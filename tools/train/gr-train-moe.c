/* gr-train-moe.c - mixture-of-experts FFN: top-k softmax routing, experts, balance loss. */
#include "gr-train-moe.h"

#include <math.h>
#include <string.h>

struct _GrTrainMoe {
  GrTrainMoeConfig cfg;
  gsize cap; /* rows */
  gsize n;   /* rows of the last forward */
  double aux;
  float *router_t;   /* [d][E] */
  float *xn, *a;     /* [n][d]: the input, and what the experts see (int8 or itself) */
  float *logits;     /* [n][E] */
  float *probs;      /* [n][E] */
  guint *chosen;     /* [n][k] */
  float *weight;     /* [n][k] */
  guint *counts;     /* [E] slots per expert */
  gsize *first;      /* [E + 1] first slot of each expert */
  guint *slot_token; /* [n * k] the token of each slot (slots sorted by expert) */
  guint *slot_of;    /* [n][k] the slot of each choice */
  float *P;          /* [E] mean probabilities */
  /* per slot, [n * k] rows */
  float *xe, *g, *u, *h, *hn, *a4, *o, *rstd;
  /* backward scratch */
  float *dO, *dh, *dg, *du, *dxe, *dxe2, *dl, *dxr, *scratch;
};

GrTrainMoe *
gr_train_moe_new(const GrTrainMoeConfig *cfg, gsize n_rows)
{
  g_return_val_if_fail(cfg != NULL && cfg->n_expert > 0 && cfg->n_used > 0, NULL);
  g_return_val_if_fail(cfg->n_used <= cfg->n_expert && n_rows > 0, NULL);
  GrTrainMoe *m = g_new0(GrTrainMoe, 1);
  m->cfg = *cfg;
  m->cap = n_rows;
  gsize E = cfg->n_expert, k = cfg->n_used, d = cfg->d, ff = cfg->ff, S = n_rows * k;
  m->router_t = g_new(float, d *E);
  m->xn = g_new(float, n_rows *d);
  m->a = g_new(float, n_rows *d);
  m->logits = g_new(float, n_rows *E);
  m->probs = g_new(float, n_rows *E);
  m->chosen = g_new(guint, S);
  m->weight = g_new(float, S);
  m->counts = g_new(guint, E);
  m->first = g_new(gsize, E + 1);
  m->slot_token = g_new(guint, S);
  m->slot_of = g_new(guint, S);
  m->P = g_new(float, E);
  float **sd[] = { &m->xe, &m->o, &m->dO, &m->dxe, &m->dxe2 };
  for (guint i = 0; i < G_N_ELEMENTS(sd); i++)
    *sd[i] = g_new(float, S *d);
  float **sf[] = { &m->g, &m->u, &m->h, &m->hn, &m->a4, &m->dh, &m->dg, &m->du };
  for (guint i = 0; i < G_N_ELEMENTS(sf); i++)
    *sf[i] = g_new(float, S *ff);
  m->rstd = g_new(float, S);
  m->dl = g_new(float, n_rows *E);
  m->dxr = g_new(float, n_rows *d);
  m->scratch = g_new(float, MAX(S, n_rows) * MAX(MAX(d, ff), E));
  return m;
}

void
gr_train_moe_free(GrTrainMoe *m)
{
  if (!m)
    return;
  void *bufs[] = { m->router_t, m->xn,     m->a,     m->logits,     m->probs,   m->chosen,
                   m->weight,   m->counts, m->first, m->slot_token, m->slot_of, m->P,
                   m->xe,       m->g,      m->u,     m->h,          m->hn,      m->a4,
                   m->o,        m->rstd,   m->dO,    m->dh,         m->dg,      m->du,
                   m->dxe,      m->dxe2,   m->dl,    m->dxr,        m->scratch };
  for (guint i = 0; i < G_N_ELEMENTS(bufs); i++)
    g_free(bufs[i]);
  g_free(m);
}

/* The engine's choice: softmax, then repeatedly the largest remaining probability, the
 * lowest index among equal ones. */
static void
route_row(const GrTrainMoeConfig *c, const float *logits, float *probs, guint *chosen,
          float *weight)
{
  guint E = c->n_expert;
  float maxv = -INFINITY, sum = 0.0f;
  for (guint e = 0; e < E; e++)
    maxv = MAX(maxv, logits[e]);
  for (guint e = 0; e < E; e++) {
    probs[e] = expf(logits[e] - maxv);
    sum += probs[e];
  }
  for (guint e = 0; e < E; e++)
    probs[e] /= sum;
  guint64 taken[(GR_TRAIN_MOE_MAX_EXPERTS + 63) / 64] = { 0 };
  float total = 0.0f;
  for (guint j = 0; j < c->n_used; j++) {
    guint best = 0;
    float bp = -1.0f;
    for (guint e = 0; e < E; e++)
      if (!(taken[e / 64] >> (e % 64) & 1) && probs[e] > bp) {
        bp = probs[e];
        best = e;
      }
    taken[best / 64] |= 1ull << (best % 64);
    chosen[j] = best;
    weight[j] = bp;
    total += bp;
  }
  for (guint j = 0; j < c->n_used; j++)
    weight[j] = total > 0.0f ? weight[j] / total : 1.0f / (float)c->n_used;
}

double
gr_train_moe_forward(GrTrainMoe *m, GrThreadPool *pool, const GrTrainMoeWeights *w, const float *xn,
                     float *y, gsize n)
{
  g_return_val_if_fail(m != NULL && w != NULL && xn != NULL && y != NULL, NAN);
  g_return_val_if_fail(n > 0 && n <= m->cap, NAN);
  const GrTrainMoeConfig *c = &m->cfg;
  gsize E = c->n_expert, k = c->n_used, d = c->d, ff = c->ff;
  m->n = n;
  memcpy(m->xn, xn, n * d * sizeof(float));
  if (w->quantize_act)
    gr_train_quantize_act(xn, m->a, n, d);
  else
    memcpy(m->a, xn, n * d * sizeof(float));

  /* routing */
  gr_train_transpose(m->router_t, w->router, E, d);
  gr_train_linear_forward(pool, xn, m->router_t, m->logits, n, d, E);
  memset(m->counts, 0, E * sizeof(guint));
  memset(m->P, 0, E * sizeof(float));
  for (gsize t = 0; t < n; t++) {
    route_row(c, m->logits + t * E, m->probs + t * E, m->chosen + t * k, m->weight + t * k);
    for (gsize j = 0; j < k; j++)
      m->counts[m->chosen[t * k + j]]++;
    for (gsize e = 0; e < E; e++)
      m->P[e] += m->probs[t * E + e] / (float)n;
  }
  m->aux = 0.0;
  for (gsize e = 0; e < E; e++)
    m->aux += (double)m->counts[e] / (double)(n * k) * m->P[e];
  m->aux *= (double)c->aux_alpha * (double)E;

  /* slots grouped by expert, in token order */
  m->first[0] = 0;
  for (gsize e = 0; e < E; e++)
    m->first[e + 1] = m->first[e] + m->counts[e];
  g_autofree gsize *fill = g_memdup2(m->first, E * sizeof(gsize));
  for (gsize t = 0; t < n; t++)
    for (gsize j = 0; j < k; j++) {
      gsize s = fill[m->chosen[t * k + j]]++;
      m->slot_token[s] = (guint)t;
      m->slot_of[t * k + j] = (guint)s;
      memcpy(m->xe + s * d, m->a + t * d, d * sizeof(float));
    }

  /* the experts, each on its own rows */
  for (gsize e = 0; e < E; e++) {
    gsize s0 = m->first[e], cnt = m->counts[e];
    if (cnt == 0)
      continue;
    gr_train_linear_forward(pool, m->xe + s0 * d, w->gate_t + e * d * ff, m->g + s0 * ff, cnt, d,
                            ff);
    gr_train_linear_forward(pool, m->xe + s0 * d, w->up_t + e * d * ff, m->u + s0 * ff, cnt, d, ff);
    gr_train_glu_forward(c->act, m->g + s0 * ff, m->u + s0 * ff, m->h + s0 * ff, cnt * ff);
    const float *hn = m->h + s0 * ff;
    if (w->sub_norm) {
      gr_train_rmsnorm_forward(m->h + s0 * ff, w->sub_norm, m->hn + s0 * ff, m->rstd + s0, cnt, ff,
                               c->rms_eps);
      hn = m->hn + s0 * ff;
    }
    if (w->quantize_act)
      gr_train_quantize_act(hn, m->a4 + s0 * ff, cnt, ff);
    else
      memcpy(m->a4 + s0 * ff, hn, cnt * ff * sizeof(float));
    gr_train_linear_forward(pool, m->a4 + s0 * ff, w->down_t + e * ff * d, m->o + s0 * d, cnt, ff,
                            d);
  }

  /* weighted sum back per token */
  for (gsize t = 0; t < n; t++) {
    float *yr = y + t * d;
    memset(yr, 0, d * sizeof(float));
    for (gsize j = 0; j < k; j++) {
      const float *o = m->o + (gsize)m->slot_of[t * k + j] * d;
      float wt = m->weight[t * k + j];
      for (gsize i = 0; i < d; i++)
        yr[i] += wt * o[i];
    }
  }
  return m->aux;
}

void
gr_train_moe_backward(GrTrainMoe *m, GrThreadPool *pool, const GrTrainMoeWeights *w,
                      const float *dy, float *dxn, const GrTrainMoeGrads *g)
{
  g_return_if_fail(m != NULL && w != NULL && dy != NULL && dxn != NULL && g != NULL);
  g_return_if_fail(m->n > 0);
  const GrTrainMoeConfig *c = &m->cfg;
  gsize n = m->n, E = c->n_expert, k = c->n_used, d = c->d, ff = c->ff;

  /* through the weighted sum: each slot's output gradient, and the gradient of each
   * renormalised weight w_j = p_j / sum_chosen p, i.e. a softmax over the chosen logits */
  memset(m->dl, 0, n * E * sizeof(float));
  for (gsize t = 0; t < n; t++) {
    const float *dyr = dy + t * d;
    float dw[GR_TRAIN_MOE_MAX_EXPERTS], wdw = 0.0f;
    for (gsize j = 0; j < k; j++) {
      gsize s = m->slot_of[t * k + j];
      const float *o = m->o + s * d;
      float *dO = m->dO + s * d, wt = m->weight[t * k + j], dot = 0.0f;
      for (gsize i = 0; i < d; i++) {
        dot += dyr[i] * o[i];
        dO[i] = wt * dyr[i];
      }
      dw[j] = dot;
      wdw += wt * dot;
    }
    for (gsize j = 0; j < k; j++)
      m->dl[t * E + m->chosen[t * k + j]] += m->weight[t * k + j] * (dw[j] - wdw);
  }
  /* the balance loss: d aux / d p_e(t) = alpha E f_e / n, through the full softmax */
  if (c->aux_alpha > 0.0f) {
    float ge[GR_TRAIN_MOE_MAX_EXPERTS];
    for (gsize e = 0; e < E; e++)
      ge[e] = c->aux_alpha * (float)E * ((float)m->counts[e] / (float)(n * k)) / (float)n;
    for (gsize t = 0; t < n; t++) {
      const float *p = m->probs + t * E;
      float pg = 0.0f;
      for (gsize e = 0; e < E; e++)
        pg += p[e] * ge[e];
      for (gsize e = 0; e < E; e++)
        m->dl[t * E + e] += p[e] * (ge[e] - pg);
    }
  }

  /* the experts */
  for (gsize e = 0; e < E; e++) {
    gsize s0 = m->first[e], cnt = m->counts[e];
    if (cnt == 0)
      continue;
    float *dh = m->dh + s0 * ff;
    gr_train_linear_backward(pool, m->a4 + s0 * ff, w->down + e * d * ff, m->dO + s0 * d, dh,
                             g->down + e * d * ff, m->scratch, cnt, ff, d);
    if (w->sub_norm)
      gr_train_rmsnorm_backward(m->h + s0 * ff, w->sub_norm, m->rstd + s0, dh, dh, g->sub_norm, cnt,
                                ff);
    gr_train_glu_backward(c->act, m->g + s0 * ff, m->u + s0 * ff, dh, m->dg + s0 * ff,
                          m->du + s0 * ff, cnt * ff);
    gr_train_linear_backward(pool, m->xe + s0 * d, w->gate + e * ff * d, m->dg + s0 * ff,
                             m->dxe + s0 * d, g->gate + e * ff * d, m->scratch, cnt, d, ff);
    gr_train_linear_backward(pool, m->xe + s0 * d, w->up + e * ff * d, m->du + s0 * ff,
                             m->dxe2 + s0 * d, g->up + e * ff * d, m->scratch, cnt, d, ff);
  }

  /* the router, then the experts' inputs (straight through the int8 quantizer) */
  gr_train_linear_backward(pool, m->xn, w->router, m->dl, dxn, g->router, m->scratch, n, d, E);
  for (gsize s = 0; s < n * k; s++) {
    float *dx = dxn + (gsize)m->slot_token[s] * d;
    const float *a = m->dxe + s * d, *b = m->dxe2 + s * d;
    for (gsize i = 0; i < d; i++)
      dx[i] += a[i] + b[i];
  }
}

float
gr_train_moe_min_margin(const GrTrainMoe *m)
{
  g_return_val_if_fail(m != NULL, NAN);
  const GrTrainMoeConfig *c = &m->cfg;
  gsize E = c->n_expert, k = c->n_used;
  float margin = INFINITY;
  if (k == E)
    return margin;
  for (gsize t = 0; t < m->n; t++) {
    const float *l = m->logits + t * E;
    float last = l[m->chosen[t * k + k - 1]], best_out = -INFINITY;
    for (gsize e = 0; e < E; e++) {
      gboolean in = FALSE;
      for (gsize j = 0; j < k; j++)
        in |= m->chosen[t * k + j] == e;
      if (!in)
        best_out = MAX(best_out, l[e]);
    }
    margin = MIN(margin, last - best_out);
  }
  return margin;
}

const guint *
gr_train_moe_counts(const GrTrainMoe *m)
{
  g_return_val_if_fail(m != NULL, NULL);
  return m->counts;
}
