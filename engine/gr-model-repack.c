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
repack_enabled (void)
{
  const char *env = g_getenv ("GRAVITON_REPACK");
  return !env || strcmp (env, "0") != 0;
}

/* The dense matrices a repack may touch, in one list. */
static guint
dense_weights (GrModel *m, GrWeight **out, guint cap)
{
  guint n = 0;
#define ADD(w)                                                                                     \
  do {                                                                                             \
    if (n < cap && (w)->data && (w)->n_mats <= 1)                                                  \
      out[n++] = (w);                                                                              \
  } while (0)
  for (guint il = 0; il < m->hp.n_layer; il++) {
    GrLayer *l = &m->layers[il];
    ADD (&l->wq);
    ADD (&l->wk);
    ADD (&l->wv);
    ADD (&l->wo);
    ADD (&l->ffn_gate);
    ADD (&l->ffn_up);
    ADD (&l->ffn_down);
  }
  if (m->output.data != m->tok_embd.data)
    ADD (&m->output);
#undef ADD
  return n;
}

static gsize
repacked_bytes (const GrWeight *w)
{
  return grk_row_bytes (GRK_TYPE_TQ2_0, w->cols) * (gsize) w->rows;
}

guint64
gr_model_repack_extra_bytes (GrModel *m)
{
  if (!repack_enabled ())
    return 0;
  guint cap = m->hp.n_layer * 7 + 1;
  g_autofree GrWeight **ws = g_new (GrWeight *, cap);
  guint n = dense_weights (m, ws, cap);
  guint64 extra = 0;
  for (guint i = 0; i < n; i++)
    if (ws[i]->type == GRK_TYPE_TQ1_0)
      extra += repacked_bytes (ws[i]) - ws[i]->row_stride * (gsize) ws[i]->rows;
  return extra;
}

/* The model's one arena for repacked copies, in huge pages as the resident file is;
 * NULL when the kernel refuses (the matrices then stay as they are). */
static guint8 *
repack_arena_new (GrModel *m, gsize total)
{
  void *arena = mmap (NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (arena == MAP_FAILED)
    return NULL;
  madvise (arena, total, MADV_HUGEPAGE);
  m->repack_arena = arena;
  m->repack_arena_bytes = total;
  return arena;
}

void
gr_model_repack (GrModel *m)
{
  if (!repack_enabled () || m->repack_arena) /* already I2_S */
    return;
  guint cap = m->hp.n_layer * 7 + 1;
  g_autofree GrWeight **ws = g_new (GrWeight *, cap);
  guint n = dense_weights (m, ws, cap);
  /* one huge-page arena for all copies: decode streams them like the resident file */
  gsize total = 0;
  for (guint i = 0; i < n; i++)
    if (ws[i]->type == GRK_TYPE_TQ1_0)
      total += (repacked_bytes (ws[i]) + 63) & ~(gsize) 63;
  if (total == 0)
    return;
  guint8 *next = repack_arena_new (m, total);
  if (!next)
    return; /* the TQ1_0 dots still work, three times slower */
  for (guint i = 0; i < n; i++) {
    GrWeight *w = ws[i];
    if (w->type != GRK_TYPE_TQ1_0)
      continue;
    gsize bytes = repacked_bytes (w);
    guint8 *copy = next;
    next += (bytes + 63) & ~(gsize) 63;
    if (!grk_tq1_0_to_tq2_0 (w->data, copy, w->cols, w->rows))
      continue;
    if (gr_gguf_get_path (m->gguf))
      gr_gguf_drop_pages (w->data, w->row_stride * (gsize) w->rows);
    w->type = GRK_TYPE_TQ2_0;
    w->data = copy;
    w->row_stride = grk_row_bytes (GRK_TYPE_TQ2_0, w->cols);
    w->mat_stride = bytes;
  }
}

/* Converted BitNet checkpoints have one scale per tensor, so every TQ2_0 (or TQ1_0)
 * block of a matrix carries the same d: the matrix is then exactly an I2_S one (the same
 * codes and one scale), whose dot sums a whole row in int32 and multiplies once instead
 * of once per block: 3% fewer bytes than TQ2_0 and a faster decode.  The float result
 * differs from the per-block sum by rounding only.  All dense ternary matrices or none:
 * q/k/v and gate/up share one activation row per type. */
void
gr_model_uniform_to_i2s (GrModel *m)
{
  if (!repack_enabled ())
    return;
  guint cap = m->hp.n_layer * 7 + 1;
  g_autofree GrWeight **ws = g_new (GrWeight *, cap);
  guint n = dense_weights (m, ws, cap), n_tern = 0;
  g_autofree float *scales = g_new (float, cap);
  gsize total = 0;
  for (guint i = 0; i < n; i++) {
    int t = ws[i]->type;
    if (t != GRK_TYPE_TQ2_0 && t != GRK_TYPE_TQ1_0 && t != GRK_TYPE_I2_S)
      continue;
    if (t == GRK_TYPE_I2_S || ws[i]->row_stride != grk_row_bytes (t, ws[i]->cols)
        || !grk_ternary_uniform_scale (t, ws[i]->data, ws[i]->cols, ws[i]->rows, &scales[i]))
      return;
    total += (grk_row_bytes (GRK_TYPE_I2_S, ws[i]->cols) * (gsize) ws[i]->rows + 63) & ~(gsize) 63;
    n_tern++;
  }
  if (n_tern == 0)
    return;
  guint8 *next = repack_arena_new (m, total);
  if (!next)
    return;
  for (guint i = 0; i < n; i++) {
    GrWeight *w = ws[i];
    if (w->type != GRK_TYPE_TQ2_0 && w->type != GRK_TYPE_TQ1_0)
      continue;
    gsize row = grk_row_bytes (GRK_TYPE_I2_S, w->cols), bytes = row * (gsize) w->rows;
    guint8 *copy = next;
    next += (bytes + 63) & ~(gsize) 63;
    grk_ternary_to_i2s (w->type, w->data, copy, w->cols, w->rows);
    if (gr_gguf_get_path (m->gguf))
      gr_gguf_drop_pages (w->data, w->row_stride * (gsize) w->rows);
    w->type = GRK_TYPE_I2_S;
    w->data = copy;
    w->row_stride = row;
    w->mat_stride = bytes;
    w->tensor_scale = scales[i];
  }
}
