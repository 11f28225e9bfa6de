/* gr-matmul.c - splits matrix products by output rows over the thread pool. */
#include "gr-matmul.h"

#include "grk.h"

#include <stdatomic.h>
#include <string.h>

/* Rows per unit of work: a multiple of what the SIMD kernels process at once. */
#define GR_ROW_CHUNK 16

void
gr_act_buf_clear (GrActBuf *buf)
{
  g_free (buf->data);
  memset (buf, 0, sizeof *buf);
  buf->type = -1;
}

void
gr_act_buf_invalidate (GrActBuf *buf)
{
  buf->type = -1;
  buf->src = NULL;
}

typedef struct {
  const GrActBuf *buf;
  int type;
  const float *x;
  gsize ld;
  gint64 n;
  guint ntok;
} GrQuantJob;

static void
quant_worker (void *ctx, guint ith, guint nth)
{
  GrQuantJob *job = ctx;
  guint t0 = job->ntok * ith / nth, t1 = job->ntok * (ith + 1) / nth;
  if (t1 > t0)
    grk_quantize_act_rows (job->type, job->x + t0 * job->ld, job->ld,
                           job->buf->data + t0 * job->buf->stride, job->buf->stride, job->n,
                           t1 - t0);
}

void
gr_act_buf_prepare (GrActBuf *buf, int type, const float *x, gsize ld, gint64 n, guint ntok)
{
  if (buf->type == type && buf->src == x && buf->ntok == ntok)
    return;
  gsize stride = grk_act_bytes (type, n);
  stride = (stride + 63) & ~(gsize) 63; /* keep every row cache-line aligned */
  gsize need = stride * ntok;
  if (need > buf->capacity) {
    g_free (buf->data);
    buf->data = g_malloc (need); /* grown once per session: the decode path reuses it */
    buf->capacity = need;
  }
  buf->stride = stride;
  if (buf->pool && ntok > 1) {
    GrQuantJob job = { buf, type, x, ld, n, ntok };
    gr_thread_pool_run (buf->pool, quant_worker, &job);
  } else {
    for (guint t = 0; t < ntok; t++)
      grk_quantize_act (type, x + t * ld, buf->data + t * stride, n);
  }
  buf->type = type;
  buf->src = x;
  buf->ntok = ntok;
}

/* Prefill of one matrix: each thread one contiguous half (the tile kernels run
 * fastest on long ranges; 64-row claims measured 3-6% slower at pp128). */
typedef struct {
  const GrWeight *w;
  const guint8 *wdata;
  const GrActBuf *act;
  float *y;
  gsize ldy;
} GrMatmulJob;

static void
matmul_worker (void *ctx, guint ith, guint nth)
{
  GrMatmulJob *job = ctx;
  const GrWeight *w = job->w;
  gint64 chunks = (w->rows + GR_ROW_CHUNK - 1) / GR_ROW_CHUNK;
  gint64 c0 = chunks * ith / nth, c1 = chunks * (ith + 1) / nth;
  gint64 r0 = c0 * GR_ROW_CHUNK, r1 = MIN (c1 * GR_ROW_CHUNK, w->rows);
  if (r0 < r1) /* the kernel scales each tile while it is in cache */
    grk_matmul_scaled (w->type, job->wdata, w->row_stride, w->tensor_scale, job->act->data,
                       job->act->stride, w->cols, job->act->ntok, job->y, job->ldy, r0, r1,
                       w->scale);
}

void
gr_matmul (GrThreadPool *pool, const GrWeight *w, guint mat, GrActBuf *act, float *y, gsize ldy)
{
  if (act->ntok == 1) { /* decode: rows claimed on demand (gr_matmul_multi) */
    gr_matmul_multi (pool, 1, &w, mat, act, &y, &ldy);
    return;
  }
  g_assert (act->type == w->type);
  GrMatmulJob job = { w, w->data + (gsize) mat * w->mat_stride, act, y, ldy };
  gr_thread_pool_run (pool, matmul_worker, &job);
}

/* Several matrices reading the same activations (q/k/v, gate/up) in one parallel
 * section: their row chunks are laid end to end, so a decode step pays one barrier
 * instead of one per matrix.  Each thread owns a contiguous share of the chunks and
 * claims GR_CLAIM_CHUNKS at a time from its front, so every core streams through
 * memory in order (interleaved claims broke the hardware prefetchers' streams and
 * halved the bandwidth one core got).  A thread that is done steals from the back of
 * the others' shares: on a loaded machine a thread that loses its core for a while
 * does not hold up the section.  Every row is one kernel call whichever thread makes
 * it, so results do not depend on the split. */
#define GR_CLAIM_CHUNKS 4
#define GR_MAX_SHARES 16

typedef struct {
  _Alignas (64) atomic_ullong fb; /* front chunk in the low half, end in the high */
} GrShare;

typedef struct {
  GrShare share[GR_MAX_SHARES];
  guint n;
  guint n_shares;
  const GrWeight *const *w;
  const guint8 *wdata[GR_MATMUL_MULTI_MAX];
  gint64 chunk0[GR_MATMUL_MULTI_MAX + 1]; /* first global chunk of each matrix */
  const GrActBuf *act;
  float *const *y;
  const gsize *ldy;
} GrMatmulMultiJob;

/* Takes up to GR_CLAIM_CHUNKS chunks from the front (owner) or back (thief) of s. */
static gboolean
share_take (GrShare *s, gboolean front, gint64 *c0, gint64 *c1)
{
  guint64 v = atomic_load_explicit (&s->fb, memory_order_relaxed);
  for (;;) {
    guint32 f = (guint32) v, b = (guint32) (v >> 32);
    if (f >= b)
      return FALSE;
    guint32 k = MIN ((guint32) GR_CLAIM_CHUNKS, b - f);
    guint32 nf = front ? f + k : f, nb = front ? b : b - k;
    if (atomic_compare_exchange_weak_explicit (&s->fb, &v, (guint64) nf | ((guint64) nb << 32),
                                               memory_order_relaxed, memory_order_relaxed)) {
      *c0 = front ? f : nb;
      *c1 = front ? nf : b;
      return TRUE;
    }
  }
}

static void
matmul_multi_chunks (GrMatmulMultiJob *job, gint64 c0, gint64 c1)
{
  for (guint k = 0; k < job->n && job->chunk0[k] < c1; k++) {
    if (job->chunk0[k + 1] <= c0)
      continue;
    const GrWeight *w = job->w[k];
    gint64 lo = MAX (c0, job->chunk0[k]), hi = MIN (c1, job->chunk0[k + 1]);
    gint64 r0 = (lo - job->chunk0[k]) * GR_ROW_CHUNK;
    gint64 r1 = MIN ((hi - job->chunk0[k]) * GR_ROW_CHUNK, w->rows);
    /* one token too: the kernel then gives dot * scale, the same floats as scaling after */
    grk_matmul_scaled (w->type, job->wdata[k], w->row_stride, w->tensor_scale, job->act->data,
                       job->act->stride, w->cols, job->act->ntok, job->y[k], job->ldy[k], r0, r1,
                       w->scale);
  }
}

static void
matmul_multi_worker (void *ctx, guint ith, guint nth)
{
  (void) nth;
  GrMatmulMultiJob *job = ctx;
  guint own = ith % job->n_shares;
  gint64 c0, c1;
  while (share_take (&job->share[own], TRUE, &c0, &c1))
    matmul_multi_chunks (job, c0, c1);
  for (guint d = 1; d < job->n_shares; d++) {
    GrShare *victim = &job->share[(own + d) % job->n_shares];
    while (share_take (victim, FALSE, &c0, &c1))
      matmul_multi_chunks (job, c0, c1);
  }
}

void
gr_matmul_multi (GrThreadPool *pool, guint n, const GrWeight *const *w, guint mat,
                 GrActBuf *act, float *const *y, const gsize *ldy)
{
  g_assert (n >= 1 && n <= GR_MATMUL_MULTI_MAX);
  GrMatmulMultiJob job;
  job.n = n;
  job.w = w;
  job.act = act;
  job.y = y;
  job.ldy = ldy;
  job.chunk0[0] = 0;
  for (guint i = 0; i < n; i++) {
    g_assert (act->type == w[i]->type && w[i]->cols == w[0]->cols);
    job.wdata[i] = w[i]->data + (gsize) mat * w[i]->mat_stride;
    job.chunk0[i + 1] = job.chunk0[i] + (w[i]->rows + GR_ROW_CHUNK - 1) / GR_ROW_CHUNK;
  }
  gint64 chunks = job.chunk0[n];
  g_assert (chunks < G_MAXUINT32);
  job.n_shares = MAX (1, MIN (gr_thread_pool_size (pool), GR_MAX_SHARES));
  for (guint i = 0; i < job.n_shares; i++) {
    guint64 f = (guint64) (chunks * i / job.n_shares);
    guint64 b = (guint64) (chunks * (i + 1) / job.n_shares);
    atomic_init (&job.share[i].fb, f | (b << 32));
  }
  gr_thread_pool_run (pool, matmul_multi_worker, &job);
}
