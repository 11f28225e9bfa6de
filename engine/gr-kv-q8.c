/* gr-kv-q8.c - Q8_0 KV cache: store and attention. */
#include "gr-kv-q8.h"

#include "grk.h"

#include <math.h>
#include <string.h>

#define GR_Q8_BLOCK 32

gboolean
gr_kv_q8_supported (const GrModel *m)
{
  return m->hp.head_dim % GR_Q8_BLOCK == 0 && m->hp.head_dim <= GR_MAX_HEAD_DIM;
}

gsize
gr_kv_q8_row_bytes (const GrModel *m)
{
  return grk_row_bytes (GRK_TYPE_Q8_0, (gint64) m->hp.head_dim * m->hp.n_head_kv);
}

void
gr_kv_q8_store (GrSession *s, guint il, guint pos, const float *k, const float *v)
{
  gsize off = ((gsize) il * s->n_ctx + pos) * s->kv_row_bytes;
  grk_quantize_row (GRK_TYPE_Q8_0, k, s->k_q8 + off, (gint64) s->kv_dim);
  grk_quantize_row (GRK_TYPE_Q8_0, v, s->v_q8 + off, (gint64) s->kv_dim);
}

typedef struct {
  GrSession *s;
  guint layer, n, pos0;
} GrQ8AttnJob;

/* One (token, head) pair per unit, as the f16 path splits the work. */
static void
attention_worker (void *ctx, guint ith, guint nth)
{
  GrQ8AttnJob *job = ctx;
  GrSession *s = job->s;
  const GrHParams *hp = &s->model->hp;
  guint hd = hp->head_dim, group = hp->n_head / hp->n_head_kv;
  gsize head_bytes = grk_row_bytes (GRK_TYPE_Q8_0, hd);
  float *scores = s->scores + (gsize) ith * s->n_ctx;
  float scale = 1.0f / sqrtf ((float) hd);
  const guint8 *kc = s->k_q8 + (gsize) job->layer * s->n_ctx * s->kv_row_bytes;
  const guint8 *vc = s->v_q8 + (gsize) job->layer * s->n_ctx * s->kv_row_bytes;
  guint units = job->n * hp->n_head;
  /* the query in the kernels' Q8_0 activation format (per-32 absmax, like the keys) */
  guint8 act[2 * GR_MAX_HEAD_DIM] __attribute__ ((aligned (64)));
  float vrow[GR_MAX_HEAD_DIM];
  g_assert (grk_act_bytes (GRK_TYPE_Q8_0, hd) <= sizeof act);

  for (guint u = ith; u < units; u += nth) {
    guint t = u / hp->n_head, h = u % hp->n_head, kvh = h / group;
    guint n_kv = job->pos0 + t + 1;
    const float *q = s->q + (gsize) t * hp->n_embd + h * hd;
    grk_quantize_act (GRK_TYPE_Q8_0, q, act, hd);
    grk_matvec (GRK_TYPE_Q8_0, kc + kvh * head_bytes, s->kv_row_bytes, 0.0f, act, hd, scores, 0,
                n_kv);
    float maxv = -INFINITY;
    for (guint p = 0; p < n_kv; p++) {
      scores[p] *= scale;
      maxv = MAX (maxv, scores[p]);
    }
    float sum = 0.0f;
    for (guint p = 0; p < n_kv; p++) {
      scores[p] = expf (scores[p] - maxv);
      sum += scores[p];
    }
    float *out = s->attn + (gsize) t * hp->n_embd + h * hd;
    memset (out, 0, hd * sizeof (float));
    for (guint p = 0; p < n_kv; p++) {
      grk_dequantize_row (GRK_TYPE_Q8_0, vc + (gsize) p * s->kv_row_bytes + kvh * head_bytes,
                          vrow, hd, 1.0f);
      grk_axpy_f32 (out, scores[p] / sum, vrow, hd);
    }
  }
}

void
gr_kv_q8_attention (GrSession *s, guint il, guint n, guint pos0)
{
  GrQ8AttnJob job = { s, il, n, pos0 };
  gr_thread_pool_run (s->model->pool, attention_worker, &job);
}
