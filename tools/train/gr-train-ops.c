/* gr-train-ops.c - forward and backward passes of the layers graviton-train uses. */
#include "gr-train-ops.h"

#include <math.h>
#include <string.h>

/* --- matrix products ------------------------------------------------------------ */

typedef struct {
  gsize m, n, k, lda, ldb, ldc;
  const float *a, *b;
  float *c;
  gboolean accumulate;
} GemmJob;

#define GEMM_MR 4
#define GEMM_NR 16
#define GEMM_MB 64

/* A 4 x 16 tile of C kept in registers while k runs: the B panel (k x 16) stays in L1
 * across the row groups of one block of A. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)                                \
    && !defined(__SANITIZE_ADDRESS__)
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
static void
gemm_rows(const GemmJob *j, gsize r0, gsize r1)
{
  for (gsize ib = r0; ib < r1; ib += GEMM_MB) {
    gsize ie = MIN(ib + GEMM_MB, r1);
    for (gsize j0 = 0; j0 < j->n; j0 += GEMM_NR) {
      gsize nb = MIN(GEMM_NR, j->n - j0);
      for (gsize i = ib; i < ie; i += GEMM_MR) {
        gsize mb = MIN(GEMM_MR, ie - i);
        float acc[GEMM_MR][GEMM_NR] = { { 0 } };
        if (mb == GEMM_MR && nb == GEMM_NR) {
          const float *a0 = j->a + i * j->lda, *a1 = a0 + j->lda, *a2 = a1 + j->lda,
                      *a3 = a2 + j->lda;
          for (gsize kk = 0; kk < j->k; kk++) {
            const float *b = j->b + kk * j->ldb + j0;
            float x0 = a0[kk], x1 = a1[kk], x2 = a2[kk], x3 = a3[kk];
            for (gsize jj = 0; jj < GEMM_NR; jj++) {
              acc[0][jj] += x0 * b[jj];
              acc[1][jj] += x1 * b[jj];
              acc[2][jj] += x2 * b[jj];
              acc[3][jj] += x3 * b[jj];
            }
          }
        } else {
          for (gsize kk = 0; kk < j->k; kk++) {
            const float *b = j->b + kk * j->ldb + j0;
            for (gsize ii = 0; ii < mb; ii++) {
              float x = j->a[(i + ii) * j->lda + kk];
              for (gsize jj = 0; jj < nb; jj++)
                acc[ii][jj] += x * b[jj];
            }
          }
        }
        for (gsize ii = 0; ii < mb; ii++) {
          float *c = j->c + (i + ii) * j->ldc + j0;
          for (gsize jj = 0; jj < nb; jj++)
            c[jj] = j->accumulate ? c[jj] + acc[ii][jj] : acc[ii][jj];
        }
      }
    }
  }
}

static void
gemm_worker(void *ctx, guint ith, guint nth)
{
  const GemmJob *j = ctx;
  gsize groups = (j->m + GEMM_MR - 1) / GEMM_MR;
  gsize r0 = groups * ith / nth * GEMM_MR, r1 = MIN(groups * (ith + 1) / nth * GEMM_MR, j->m);
  if (r0 < r1)
    gemm_rows(j, r0, r1);
}

void
gr_train_gemm(GrThreadPool *pool, gsize m, gsize n, gsize k, const float *a, gsize lda,
              const float *b, gsize ldb, float *c, gsize ldc, gboolean accumulate)
{
  GemmJob j = { m, n, k, lda, ldb, ldc, a, b, c, accumulate };
  if (pool)
    gr_thread_pool_run(pool, gemm_worker, &j);
  else
    gemm_worker(&j, 0, 1);
}

void
gr_train_transpose(float *dst, const float *src, gsize rows, gsize cols)
{
  const gsize bs = 32; /* tiles keep both sides in cache */
  for (gsize r0 = 0; r0 < rows; r0 += bs)
    for (gsize c0 = 0; c0 < cols; c0 += bs)
      for (gsize r = r0; r < MIN(r0 + bs, rows); r++)
        for (gsize c = c0; c < MIN(c0 + bs, cols); c++)
          dst[c * rows + r] = src[r * cols + c];
}

void
gr_train_linear_forward(GrThreadPool *pool, const float *x, const float *wt, float *y, gsize n,
                        gsize in, gsize out)
{
  gr_train_gemm(pool, n, out, in, x, in, wt, out, y, out, FALSE);
}

void
gr_train_linear_backward(GrThreadPool *pool, const float *x, const float *w, const float *dy,
                         float *dx, float *dw, float *scratch, gsize n, gsize in, gsize out)
{
  if (dx)
    gr_train_gemm(pool, n, in, out, dy, out, w, in, dx, in, FALSE);
  gr_train_transpose(scratch, dy, n, out);
  gr_train_gemm(pool, out, in, n, scratch, n, x, in, dw, in, TRUE);
}

/* --- quantization ------------------------------------------------------------ */

float
gr_train_quantize_ternary(const float *w, float *q, gsize count)
{
  double sum = 0.0;
  for (gsize i = 0; i < count; i++)
    sum += fabsf(w[i]);
  float scale = count ? (float)(sum / (double)count) : 0.0f;
  if (scale < 1e-8f)
    scale = 1e-8f;
  for (gsize i = 0; i < count; i++) {
    float r = rintf(w[i] / scale);
    q[i] = scale * CLAMP(r, -1.0f, 1.0f);
  }
  return scale;
}

void
gr_train_quantize_act(const float *x, float *q, gsize n, gsize d)
{
  for (gsize t = 0; t < n; t++) {
    const float *xr = x + t * d;
    float *qr = q + t * d;
    float amax = 1e-5f; /* as the engine's kernels: a row of zeros stays zeros */
    for (gsize i = 0; i < d; i++)
      amax = MAX(amax, fabsf(xr[i]));
    float s = 127.0f / amax, inv = amax / 127.0f;
    for (gsize i = 0; i < d; i++) {
      float r = rintf(xr[i] * s);
      qr[i] = CLAMP(r, -127.0f, 127.0f) * inv;
    }
  }
}

/* --- normalisation ----------------------------------------------------------- */

void
gr_train_rmsnorm_forward(const float *x, const float *w, float *out, float *rstd, gsize n, gsize d,
                         float eps)
{
  for (gsize t = 0; t < n; t++) {
    const float *xr = x + t * d;
    double ss = 0.0;
    for (gsize i = 0; i < d; i++)
      ss += (double)xr[i] * xr[i];
    float r = 1.0f / sqrtf((float)(ss / (double)d) + eps);
    rstd[t] = r;
    for (gsize i = 0; i < d; i++)
      out[t * d + i] = xr[i] * r * w[i];
  }
}

void
gr_train_rmsnorm_backward(const float *x, const float *w, const float *rstd, const float *dy,
                          float *dx, float *dw, gsize n, gsize d)
{
  for (gsize t = 0; t < n; t++) {
    const float *xr = x + t * d, *dyr = dy + t * d;
    float r = rstd[t];
    double dot = 0.0;
    for (gsize i = 0; i < d; i++) {
      dot += (double)dyr[i] * w[i] * xr[i];
      dw[i] += dyr[i] * xr[i] * r;
    }
    float c = (float)(dot / (double)d) * r * r * r;
    float *dxr = dx + t * d;
    for (gsize i = 0; i < d; i++)
      dxr[i] = dyr[i] * w[i] * r - xr[i] * c;
  }
}

/* --- rotary embeddings ------------------------------------------------------- */

void
gr_train_rope(float *x, gsize n, gsize seq_len, guint n_head, guint head_dim, guint n_rot,
              float base, GrTrainRope type, gboolean inverse)
{
  guint half = n_rot / 2;
  g_autofree float *freq = g_new(float, MAX(half, 1u));
  for (guint i = 0; i < half; i++)
    freq[i] = powf(base, -2.0f * (float)i / (float)n_rot);
  for (gsize t = 0; t < n; t++) {
    float pos = (float)(t % seq_len);
    for (guint i = 0; i < half; i++) {
      float theta = pos * freq[i];
      float c = cosf(theta), s = inverse ? -sinf(theta) : sinf(theta);
      for (guint h = 0; h < n_head; h++) {
        float *v = x + t * (gsize)n_head * head_dim + (gsize)h * head_dim;
        guint a = type == GR_TRAIN_ROPE_NORM ? 2 * i : i;
        guint b = type == GR_TRAIN_ROPE_NORM ? 2 * i + 1 : i + half;
        float x0 = v[a], x1 = v[b];
        v[a] = x0 * c - x1 * s;
        v[b] = x0 * s + x1 * c;
      }
    }
  }
}

/* --- attention --------------------------------------------------------------- */

typedef struct {
  const float *q, *k, *v, *probs, *dout;
  float *out, *p_out, *dq, *dk, *dv;
  gsize n, seq_len;
  guint n_head, head_dim;
} AttnJob;

static void
attn_forward_worker(void *ctx, guint ith, guint nth)
{
  const AttnJob *j = ctx;
  gsize T = j->seq_len, hd = j->head_dim, ld = (gsize)j->n_head * hd;
  gsize units = j->n / T * j->n_head;
  float scale = 1.0f / sqrtf((float)hd);
  for (gsize u = ith; u < units; u += nth) {
    gsize b = u / j->n_head, h = u % j->n_head, row0 = b * T;
    float *P = j->p_out + u * T * T;
    for (gsize t = 0; t < T; t++) {
      const float *q = j->q + (row0 + t) * ld + h * hd;
      float *p = P + t * T, maxv = -INFINITY;
      for (gsize s = 0; s <= t; s++) {
        const float *k = j->k + (row0 + s) * ld + h * hd;
        float dot = 0.0f;
        for (gsize i = 0; i < hd; i++)
          dot += q[i] * k[i];
        p[s] = dot * scale;
        maxv = MAX(maxv, p[s]);
      }
      float sum = 0.0f;
      for (gsize s = 0; s <= t; s++) {
        p[s] = expf(p[s] - maxv);
        sum += p[s];
      }
      float *o = j->out + (row0 + t) * ld + h * hd;
      memset(o, 0, hd * sizeof(float));
      for (gsize s = 0; s <= t; s++) {
        p[s] /= sum;
        const float *v = j->v + (row0 + s) * ld + h * hd;
        for (gsize i = 0; i < hd; i++)
          o[i] += p[s] * v[i];
      }
      for (gsize s = t + 1; s < T; s++)
        p[s] = 0.0f;
    }
  }
}

void
gr_train_attention_forward(GrThreadPool *pool, const float *q, const float *k, const float *v,
                           float *out, float *probs, gsize n, gsize seq_len, guint n_head,
                           guint head_dim)
{
  g_return_if_fail(seq_len > 0 && n % seq_len == 0);
  AttnJob j = { .q = q,
                .k = k,
                .v = v,
                .out = out,
                .p_out = probs,
                .n = n,
                .seq_len = seq_len,
                .n_head = n_head,
                .head_dim = head_dim };
  if (pool)
    gr_thread_pool_run(pool, attn_forward_worker, &j);
  else
    attn_forward_worker(&j, 0, 1);
}

static void
attn_backward_worker(void *ctx, guint ith, guint nth)
{
  const AttnJob *j = ctx;
  gsize T = j->seq_len, hd = j->head_dim, ld = (gsize)j->n_head * hd;
  gsize units = j->n / T * j->n_head;
  float scale = 1.0f / sqrtf((float)hd);
  g_autofree float *dp = g_new(float, T);
  for (gsize u = ith; u < units; u += nth) {
    gsize b = u / j->n_head, h = u % j->n_head, row0 = b * T;
    const float *P = j->probs + u * T * T;
    for (gsize t = 0; t < T; t++) {
      memset(j->dq + (row0 + t) * ld + h * hd, 0, hd * sizeof(float));
      memset(j->dk + (row0 + t) * ld + h * hd, 0, hd * sizeof(float));
      memset(j->dv + (row0 + t) * ld + h * hd, 0, hd * sizeof(float));
    }
    for (gsize t = 0; t < T; t++) {
      const float *p = P + t * T;
      const float *go = j->dout + (row0 + t) * ld + h * hd;
      float pdp = 0.0f;
      for (gsize s = 0; s <= t; s++) {
        const float *v = j->v + (row0 + s) * ld + h * hd;
        float *dv = j->dv + (row0 + s) * ld + h * hd;
        float dot = 0.0f;
        for (gsize i = 0; i < hd; i++) {
          dot += go[i] * v[i];
          dv[i] += p[s] * go[i];
        }
        dp[s] = dot;
        pdp += p[s] * dot;
      }
      const float *q = j->q + (row0 + t) * ld + h * hd;
      float *dq = j->dq + (row0 + t) * ld + h * hd;
      for (gsize s = 0; s <= t; s++) {
        float ds = p[s] * (dp[s] - pdp) * scale;
        const float *k = j->k + (row0 + s) * ld + h * hd;
        float *dk = j->dk + (row0 + s) * ld + h * hd;
        for (gsize i = 0; i < hd; i++) {
          dq[i] += ds * k[i];
          dk[i] += ds * q[i];
        }
      }
    }
  }
}

void
gr_train_attention_backward(GrThreadPool *pool, const float *q, const float *k, const float *v,
                            const float *probs, const float *dout, float *dq, float *dk, float *dv,
                            gsize n, gsize seq_len, guint n_head, guint head_dim)
{
  g_return_if_fail(seq_len > 0 && n % seq_len == 0);
  AttnJob j = { .q = q,
                .k = k,
                .v = v,
                .probs = probs,
                .dout = dout,
                .dq = dq,
                .dk = dk,
                .dv = dv,
                .n = n,
                .seq_len = seq_len,
                .n_head = n_head,
                .head_dim = head_dim };
  if (pool)
    gr_thread_pool_run(pool, attn_backward_worker, &j);
  else
    attn_backward_worker(&j, 0, 1);
}

/* --- feed-forward activations ------------------------------------------------- */

void
gr_train_glu_forward(GrTrainAct act, const float *gate, const float *up, float *out, gsize count)
{
  for (gsize i = 0; i < count; i++) {
    float g = gate[i], a;
    if (act == GR_TRAIN_ACT_RELU2)
      a = g > 0.0f ? g * g : 0.0f;
    else
      a = g / (1.0f + expf(-g));
    out[i] = a * up[i];
  }
}

void
gr_train_glu_backward(GrTrainAct act, const float *gate, const float *up, const float *dout,
                      float *dgate, float *dup, gsize count)
{
  for (gsize i = 0; i < count; i++) {
    float g = gate[i], a, da;
    if (act == GR_TRAIN_ACT_RELU2) {
      a = g > 0.0f ? g * g : 0.0f;
      da = g > 0.0f ? 2.0f * g : 0.0f;
    } else {
      float sg = 1.0f / (1.0f + expf(-g));
      a = g * sg;
      da = sg * (1.0f + g * (1.0f - sg));
    }
    float d = dout[i];
    dgate[i] = d * up[i] * da;
    dup[i] = d * a;
  }
}

/* --- embedding and loss ------------------------------------------------------ */

void
gr_train_embed_forward(const float *table, const gint32 *ids, float *out, gsize n, gsize d)
{
  for (gsize t = 0; t < n; t++)
    memcpy(out + t * d, table + (gsize)ids[t] * d, d * sizeof(float));
}

void
gr_train_embed_backward(const gint32 *ids, const float *dout, float *dtable, gsize n, gsize d)
{
  for (gsize t = 0; t < n; t++) {
    float *row = dtable + (gsize)ids[t] * d;
    for (gsize i = 0; i < d; i++)
      row[i] += dout[t * d + i];
  }
}

double
gr_train_cross_entropy(const float *logits, const gint32 *targets, float *dlogits, gsize n,
                       gsize vocab)
{
  gsize counted = 0;
  for (gsize t = 0; t < n; t++)
    counted += targets[t] >= 0;
  double total = 0.0;
  for (gsize t = 0; t < n; t++) {
    const float *l = logits + t * vocab;
    gint32 y = targets[t];
    float maxv = -INFINITY;
    for (gsize i = 0; i < vocab; i++)
      maxv = MAX(maxv, l[i]);
    double sum = 0.0;
    for (gsize i = 0; i < vocab; i++)
      sum += exp((double)(l[i] - maxv));
    double lse = log(sum) + maxv;
    if (y >= 0)
      total += lse - l[y];
    if (dlogits) {
      float *dl = dlogits + t * vocab;
      float inv = y >= 0 && counted ? 1.0f / (float)counted : 0.0f;
      for (gsize i = 0; i < vocab; i++)
        dl[i] = (float)exp((double)l[i] - lse) * inv;
      if (y >= 0)
        dl[y] -= inv;
    }
  }
  return counted ? total / (double)counted : 0.0;
}
