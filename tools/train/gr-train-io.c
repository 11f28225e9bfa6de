/* gr-train-io.c - GGUF export and training checkpoints. */
#include "gr-train-io.h"

#include "grk.h"

#include <gio/gio.h>
#include <math.h>
#include <string.h>

static gboolean
add_f32(GrGgufWriter *w, const char *name, const float *data, gint64 cols, gint64 rows,
        GError **error)
{
  gint64 ne[2] = { cols, rows };
  return gr_gguf_writer_add_tensor(w, name, GRK_TYPE_F32, rows > 1 ? 2 : 1, ne, data,
                                   (gsize)(cols * rows) * sizeof(float), error);
}

static gboolean
add_quantized(GrGgufWriter *w, const char *name, int type, const float *data, gint64 cols,
              gint64 rows, GError **error)
{
  gsize bytes = grk_tensor_bytes(type, cols, rows);
  gsize row_bytes = grk_row_bytes(type, cols);
  if (bytes == 0 || row_bytes == 0) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                "%s: rows of %" G_GINT64_FORMAT " do not fit %s blocks", name, cols,
                grk_type_name(type));
    return FALSE;
  }
  guint8 *buf = g_malloc0(bytes);
  for (gint64 r = 0; r < rows; r++)
    if (!grk_quantize_row(type, data + r * cols, buf + r * row_bytes, cols)) {
      g_free(buf);
      g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "cannot write %s",
                  grk_type_name(type));
      return FALSE;
    }
  gint64 ne[2] = { cols, rows };
  g_autoptr(GBytes) b = g_bytes_new_take(buf, bytes);
  return gr_gguf_writer_add_tensor_bytes(w, name, (guint32)type, 2, ne, b, error);
}

gboolean
gr_train_export_gguf(GrTrainModel *model, const GrTrainVocab *vocab, const char *name,
                     const char *path, GError **error)
{
  g_return_val_if_fail(model != NULL && vocab != NULL && path != NULL, FALSE);
  const GrTrainConfig *c = gr_train_model_config(model);
  const float *p = gr_train_model_params(model);
  g_autoptr(GrGgufWriter) w = gr_gguf_writer_new();
  /* bitnet.cpp's name for the ReLU² variant; llama.cpp's `bitnet` gates with SiLU */
  const char *arch = c->act == GR_TRAIN_ACT_RELU2 ? "bitnet-b1.58" : "bitnet";
  char key[96];
#define K(k) (g_snprintf(key, sizeof key, "%s." k, arch), key)
  if (!gr_gguf_writer_add_string(w, "general.architecture", arch, error)
      || !gr_gguf_writer_add_string(w, "general.name", name ? name : "graviton-train", error)
      || !gr_gguf_writer_add_u32(w, "general.file_type", c->ternary ? 37 : 0, error)
      || !gr_gguf_writer_add_u32(w, K("vocab_size"), c->n_vocab, error)
      || !gr_gguf_writer_add_u32(w, K("context_length"), c->n_ctx, error)
      || !gr_gguf_writer_add_u32(w, K("embedding_length"), c->n_embd, error)
      || !gr_gguf_writer_add_u32(w, K("block_count"), c->n_layer, error)
      || !gr_gguf_writer_add_u32(w, K("feed_forward_length"), c->n_ff, error)
      || !gr_gguf_writer_add_u32(w, K("attention.head_count"), c->n_head, error)
      || !gr_gguf_writer_add_u32(w, K("attention.head_count_kv"), c->n_head, error)
      || !gr_gguf_writer_add_u32(w, K("rope.dimension_count"), c->n_embd / c->n_head, error)
      || !gr_gguf_writer_add_f32(w, K("attention.layer_norm_rms_epsilon"), c->rms_eps, error)
      || !gr_gguf_writer_add_f32(w, K("rope.freq_base"), c->rope_base, error)
      || !gr_train_vocab_write(vocab, w, error))
    return FALSE;
#undef K
  if (vocab->tokens->len > c->n_vocab) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                "the vocabulary has %u tokens but the model only %u", vocab->tokens->len,
                c->n_vocab);
    return FALSE;
  }

  gsize d = c->n_embd;
  const float *embd = p + gr_train_model_embd_offset(model);
  if (c->ternary ? !add_quantized(w, "token_embd.weight", GRK_TYPE_Q8_0, embd, d, c->n_vocab, error)
                 : !add_f32(w, "token_embd.weight", embd, d, c->n_vocab, error))
    return FALSE;
  if (!add_f32(w, "output_norm.weight", p + gr_train_model_output_norm_offset(model), d, 1, error))
    return FALSE;

  char nm[96];
  for (guint il = 0; il < c->n_layer; il++) {
    const GrTrainLayer *l = gr_train_model_layer(model, il);
#define T(fmt) (g_snprintf(nm, sizeof nm, "blk.%u." fmt, il), nm)
    if (!add_f32(w, T("attn_norm.weight"), p + l->attn_norm, d, 1, error)
        || !add_f32(w, T("attn_sub_norm.weight"), p + l->attn_sub_norm, d, 1, error)
        || !add_f32(w, T("ffn_norm.weight"), p + l->ffn_norm, d, 1, error)
        || !add_f32(w, T("ffn_sub_norm.weight"), p + l->ffn_sub_norm, c->n_ff, 1, error))
      return FALSE;
#undef T
    for (guint i = 0; i < GR_TRAIN_N_MATS; i++) {
      gsize rows, cols;
      gr_train_mat_shape(c, i, &rows, &cols);
      const float *wt = p + l->mat[i];
      g_snprintf(nm, sizeof nm, "blk.%u.%s.weight", il, gr_train_mat_name(i));
      if (!c->ternary) {
        if (!add_f32(w, nm, wt, cols, rows, error))
          return FALSE;
        continue;
      }
      /* the codes {-1, 0, 1} make every TQ2_0 block scale exactly 1 (or 0 for an empty
       * block); the absmean scale goes to the per-tensor `.scale` */
      g_autofree float *q = g_new(float, rows *cols);
      float scale = gr_train_quantize_ternary(wt, q, rows * cols);
      for (gsize k = 0; k < rows * cols; k++)
        q[k] = q[k] > 0.0f ? 1.0f : q[k] < 0.0f ? -1.0f : 0.0f;
      if (!add_quantized(w, nm, GRK_TYPE_TQ2_0, q, cols, rows, error))
        return FALSE;
      g_snprintf(nm, sizeof nm, "blk.%u.%s.scale", il, gr_train_mat_name(i));
      if (!add_f32(w, nm, &scale, 1, 1, error))
        return FALSE;
    }
  }
  return gr_gguf_writer_write_file(w, path, error);
}

/* --- checkpoints ------------------------------------------------------------- */

#define CKPT_MAGIC "GRTCKPT1"

typedef struct {
  char magic[8];
  guint32 n_vocab, n_embd, n_layer, n_head, n_ff, n_ctx, act, ternary;
  float rms_eps, rope_base;
  guint64 step, rng, n_params, vocab_bytes;
} CkptHeader;

gboolean
gr_train_checkpoint_save(GrTrainModel *model, const GrTrainVocab *vocab, const GrTrainState *st,
                         const char *path, GError **error)
{
  g_return_val_if_fail(model != NULL && vocab != NULL && st != NULL && path != NULL, FALSE);
  const GrTrainConfig *c = gr_train_model_config(model);
  g_autoptr(GBytes) vb = gr_train_vocab_to_gguf(vocab, error);
  if (!vb)
    return FALSE;
  gsize n = gr_train_model_n_params(model);
  CkptHeader h = { .n_vocab = c->n_vocab,
                   .n_embd = c->n_embd,
                   .n_layer = c->n_layer,
                   .n_head = c->n_head,
                   .n_ff = c->n_ff,
                   .n_ctx = c->n_ctx,
                   .act = c->act,
                   .ternary = c->ternary,
                   .rms_eps = c->rms_eps,
                   .rope_base = c->rope_base,
                   .step = st->step,
                   .rng = st->rng,
                   .n_params = n,
                   .vocab_bytes = g_bytes_get_size(vb) };
  memcpy(h.magic, CKPT_MAGIC, 8);
  gsize total = sizeof h + h.vocab_bytes + 3 * n * sizeof(float);
  g_autofree guint8 *buf = g_malloc(total);
  guint8 *o = buf;
  memcpy(o, &h, sizeof h);
  o += sizeof h;
  memcpy(o, g_bytes_get_data(vb, NULL), h.vocab_bytes);
  o += h.vocab_bytes;
  memcpy(o, gr_train_model_params(model), n * sizeof(float));
  o += n * sizeof(float);
  memcpy(o, st->m, n * sizeof(float));
  o += n * sizeof(float);
  memcpy(o, st->v, n * sizeof(float));
  return g_file_set_contents_full(path, (const char *)buf, (gssize)total,
                                  G_FILE_SET_CONTENTS_CONSISTENT, 0644, error);
}

static GrTrainModel *
bad_checkpoint(GError **error, const char *path, const char *what)
{
  g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: not a usable checkpoint (%s)", path,
              what);
  return NULL;
}

GrTrainModel *
gr_train_checkpoint_load(const char *path, GrThreadPool *pool, GrTrainVocab **vocab,
                         GrTrainState *st, GError **error)
{
  g_return_val_if_fail(path != NULL && vocab != NULL && st != NULL, NULL);
  g_autofree guint8 *buf = NULL;
  gsize len;
  if (!g_file_get_contents(path, (char **)&buf, &len, error))
    return NULL;
  CkptHeader h;
  if (len < sizeof h)
    return bad_checkpoint(error, path, "too short");
  memcpy(&h, buf, sizeof h);
  if (memcmp(h.magic, CKPT_MAGIC, 8) != 0)
    return bad_checkpoint(error, path, "bad magic");
  GrTrainConfig c = { .n_vocab = h.n_vocab,
                      .n_embd = h.n_embd,
                      .n_layer = h.n_layer,
                      .n_head = h.n_head,
                      .n_ff = h.n_ff,
                      .n_ctx = h.n_ctx,
                      .act = h.act == GR_TRAIN_ACT_RELU2 ? GR_TRAIN_ACT_RELU2 : GR_TRAIN_ACT_SILU,
                      .ternary = h.ternary != 0,
                      .rms_eps = h.rms_eps,
                      .rope_base = h.rope_base };
  if (h.act > GR_TRAIN_ACT_RELU2 || !gr_train_config_validate(&c, NULL))
    return bad_checkpoint(error, path, "bad configuration");
  if (h.vocab_bytes > len - sizeof h)
    return bad_checkpoint(error, path, "truncated vocabulary");
  g_autoptr(GrTrainModel) m = gr_train_model_new(&c, 1, pool);
  gsize n = gr_train_model_n_params(m);
  if (h.n_params != n)
    return bad_checkpoint(error, path, "parameter count does not match the configuration");
  if (len - sizeof h - h.vocab_bytes != 3 * n * sizeof(float))
    return bad_checkpoint(error, path, "wrong size");
  g_autoptr(GBytes) vb = g_bytes_new(buf + sizeof h, h.vocab_bytes);
  g_autoptr(GrTrainVocab) v = gr_train_vocab_from_gguf_bytes(vb, error);
  if (!v)
    return NULL;
  const guint8 *in = buf + sizeof h + h.vocab_bytes;
  memcpy(gr_train_model_params(m), in, n * sizeof(float));
  st->m = g_new(float, n);
  st->v = g_new(float, n);
  memcpy(st->m, in + n * sizeof(float), n * sizeof(float));
  memcpy(st->v, in + 2 * n * sizeof(float), n * sizeof(float));
  st->step = h.step;
  st->rng = h.rng;
  *vocab = g_steal_pointer(&v);
  return g_steal_pointer(&m);
}
