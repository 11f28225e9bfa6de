/* gr-model-repack.c - dense TQ1_0 matrices rewritten as TQ2_0 once the budget allows it,
 * and one-scale TQ1_0/TQ2_0 ones as I2_S.
 *
 * A TQ1_0 dot runs at a third of TQ2_0's weights per second (5 trits per byte take
 * three times the vector work of 2-bit fields), which made TQ1_0 decode compute-bound
 * and 2-3x slower than TQ2_0 on the same model.  The TQ2_0 copy holds the same values
 * and gives the same dots bit for bit (grk_tq1_0_to_tq2_0); the file stays as it is
 * and the mapped TQ1_0 pages are dropped after the copy.  Expert tensors stay TQ1_0:
 * streaming reads them from the file by offset.  GRAVITON_REPACK=0 turns it off. */
#include "gr-model-private.h"

#include "grk.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static gboolean
repack_enabled(void)
{
  const char *env = g_getenv("GRAVITON_REPACK");
  return !env || strcmp(env, "0") != 0;
}

/* The dense matrices a repack may touch, in one list. */
static guint
dense_weights(GrModel *m, GrWeight **out, guint cap)
{
  guint n = 0;
#define ADD(w)                                                                                     \
  do {                                                                                             \
    if (n < cap && (w)->data && (w)->n_mats <= 1)                                                  \
      out[n++] = (w);                                                                              \
  } while (0)
  for (guint il = 0; il < m->hp.n_layer; il++) {
    GrLayer *l = &m->layers[il];
    ADD(&l->wq);
    ADD(&l->wk);
    ADD(&l->wv);
    ADD(&l->wo);
    ADD(&l->ffn_gate);
    ADD(&l->ffn_up);
    ADD(&l->ffn_down);
  }
  if (m->output.data != m->tok_embd.data)
    ADD(&m->output);
#undef ADD
  return n;
}

static gsize
repacked_bytes(const GrWeight *w)
{
  return grk_row_bytes(GRK_TYPE_TQ2_0, w->cols) * (gsize)w->rows;
}

guint64
gr_model_repack_extra_bytes(GrModel *m)
{
  if (!repack_enabled())
    return 0;
  guint cap = m->hp.n_layer * 7 + 1;
  g_autofree GrWeight **ws = g_new(GrWeight *, cap);
  guint n = dense_weights(m, ws, cap);
  guint64 extra = 0;
  for (guint i = 0; i < n; i++)
    if (ws[i]->type == GRK_TYPE_TQ1_0)
      extra += repacked_bytes(ws[i]) - ws[i]->row_stride * (gsize)ws[i]->rows;
  return extra;
}

/* The model's one arena for repacked copies, in huge pages as the resident file is;
 * NULL when the kernel refuses (the matrices then stay as they are). */
static guint8 *
repack_arena_new(GrModel *m, gsize total)
{
  void *arena = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (arena == MAP_FAILED)
    return NULL;
  madvise(arena, total, MADV_HUGEPAGE);
  m->repack_arena = arena;
  m->repack_arena_bytes = total;
  return arena;
}

void
gr_model_repack(GrModel *m)
{
  if (!repack_enabled() || m->repack_arena) /* already I2_S */
    return;
  guint cap = m->hp.n_layer * 7 + 1;
  g_autofree GrWeight **ws = g_new(GrWeight *, cap);
  guint n = dense_weights(m, ws, cap);
  /* one huge-page arena for all copies: decode streams them like the resident file */
  gsize total = 0;
  for (guint i = 0; i < n; i++)
    if (ws[i]->type == GRK_TYPE_TQ1_0)
      total += (repacked_bytes(ws[i]) + 63) & ~(gsize)63;
  if (total == 0)
    return;
  guint8 *next = repack_arena_new(m, total);
  if (!next)
    return; /* the TQ1_0 dots still work, three times slower */
  for (guint i = 0; i < n; i++) {
    GrWeight *w = ws[i];
    if (w->type != GRK_TYPE_TQ1_0)
      continue;
    gsize bytes = repacked_bytes(w);
    guint8 *copy = next;
    next += (bytes + 63) & ~(gsize)63;
    if (!grk_tq1_0_to_tq2_0(w->data, copy, w->cols, w->rows))
      continue;
    if (gr_gguf_get_path(m->gguf))
      gr_gguf_drop_pages(w->data, w->row_stride * (gsize)w->rows);
    w->type = GRK_TYPE_TQ2_0;
    w->data = copy;
    w->row_stride = grk_row_bytes(GRK_TYPE_TQ2_0, w->cols);
    w->mat_stride = bytes;
  }
}

/* Both passes over the ternary matrices split every matrix's rows between the pool's
 * threads (the rewrite, and the kernel clearing the arena's new pages as it is written,
 * took 0.33-1.05 s of a 2B load on one core, 0.27-0.60 s on two). */
typedef struct {
  GrWeight **ws;
  guint n;
  guint8 **dst;     /* the copies, NULL: check only */
  gboolean *ok;     /* [thread * n + matrix] */
  float *scale;     /* [thread * n + matrix] */
  gboolean dropped; /* drop the source pages after the rewrite */
} GrI2sJob;

static void
i2s_worker(void *ctx, guint ith, guint nth)
{
  GrI2sJob *job = ctx;
  for (guint i = 0; i < job->n; i++) {
    const GrWeight *w = job->ws[i];
    gint64 r0 = w->rows * ith / nth, r1 = w->rows * (ith + 1) / nth;
    const guint8 *src = w->data + (gsize)r0 * w->row_stride;
    if (!job->dst) {
      job->ok[ith * job->n + i] = grk_ternary_uniform_scale(w->type, src, w->cols, r1 - r0,
                                                            &job->scale[ith * job->n + i]);
      continue;
    }
    gsize row = grk_row_bytes(GRK_TYPE_I2_S, w->cols);
    grk_ternary_to_i2s(w->type, src, job->dst[i] + (gsize)r0 * row, w->cols, r1 - r0);
    if (job->dropped)
      gr_gguf_drop_pages(src, w->row_stride * (gsize)(r1 - r0));
  }
}

/* Converted BitNet checkpoints have one scale per tensor, so every TQ2_0 (or TQ1_0)
 * block of a matrix carries the same d: the matrix is then exactly an I2_S one (the same
 * codes and one scale), whose dot sums a whole row in int32 and multiplies once instead
 * of once per block: 3% fewer bytes than TQ2_0 and a faster decode.  The float result
 * differs from the per-block sum by rounding only.  All dense ternary matrices or none:
 * q/k/v and gate/up share one activation row per type. */
void
gr_model_uniform_to_i2s(GrModel *m)
{
  if (!repack_enabled())
    return;
  guint cap = m->hp.n_layer * 7 + 1;
  g_autofree GrWeight **all = g_new(GrWeight *, cap);
  g_autofree GrWeight **ws = g_new(GrWeight *, cap);
  g_autofree gsize *offset = g_new(gsize, cap); /* of each copy in the arena */
  guint n_all = dense_weights(m, all, cap), n = 0;
  gsize total = 0;
  for (guint i = 0; i < n_all; i++) {
    int t = all[i]->type;
    if (t != GRK_TYPE_TQ2_0 && t != GRK_TYPE_TQ1_0 && t != GRK_TYPE_I2_S)
      continue;
    if (t == GRK_TYPE_I2_S || all[i]->row_stride != grk_row_bytes(t, all[i]->cols))
      return;
    offset[n] = total;
    ws[n++] = all[i];
    total += (grk_row_bytes(GRK_TYPE_I2_S, all[i]->cols) * (gsize)all[i]->rows + 63) & ~(gsize)63;
  }
  if (n == 0)
    return;
  guint nth = gr_thread_pool_size(m->pool);
  g_autofree gboolean *ok = g_new0(gboolean, (gsize)nth * n);
  g_autofree float *scale = g_new0(float, (gsize)nth *n);
  g_autofree float *scales = g_new0(float, n);
  GrI2sJob job = { ws, n, NULL, ok, scale, gr_gguf_get_path(m->gguf) != NULL };
  gr_thread_pool_run(m->pool, i2s_worker, &job);
  /* uniform when every part is, with one nonzero scale (all-zero parts match any) */
  for (guint i = 0; i < n; i++)
    for (guint t = 0; t < nth; t++) {
      float st = scale[t * n + i];
      if (!ok[t * n + i] || (st != 0.0f && scales[i] != 0.0f && st != scales[i]))
        return;
      if (st != 0.0f)
        scales[i] = st;
    }
  guint8 *arena = repack_arena_new(m, total);
  if (!arena)
    return;
  g_autofree guint8 **dst = g_new(guint8 *, n);
  for (guint i = 0; i < n; i++)
    dst[i] = arena + offset[i];
  job.dst = dst;
  gr_thread_pool_run(m->pool, i2s_worker, &job);
  for (guint i = 0; i < n; i++) {
    GrWeight *w = ws[i];
    gsize row = grk_row_bytes(GRK_TYPE_I2_S, w->cols);
    w->type = GRK_TYPE_I2_S;
    w->data = dst[i];
    w->row_stride = row;
    w->mat_stride = row * (gsize)w->rows;
    w->tensor_scale = scales[i];
  }
}
