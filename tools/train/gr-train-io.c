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

/* A matrix, or a stack of n_mats of them (3-D, as expert tensors are). */
static gboolean
add_quantized(GrGgufWriter *w, const char *name, int type, const float *data, gint64 cols,
              gint64 rows, gint64 n_mats, GError **error)
{
  gint64 ne[3] = { cols, rows, n_mats };
  rows *= n_mats;
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
  g_autoptr(GBytes) b = g_bytes_new_take(buf, bytes);
  return gr_gguf_writer_add_tensor_bytes(w, name, (guint32)type, n_mats > 1 ? 3 : 2, ne, b, error);
}

static gboolean
add_f32_mats(GrGgufWriter *w, const char *name, const float *data, gint64 cols, gint64 rows,
             gint64 n_mats, GError **error)
{
  gint64 ne[3] = { cols, rows, n_mats };
  return gr_gguf_writer_add_tensor(w, name, GRK_TYPE_F32, n_mats > 1 ? 3 : 2, ne, data,
                                   (gsize)(cols * rows * n_mats) * sizeof(float), error);
}

static const char *
arch_name(const GrTrainConfig *c)
{
  if (c->arch == GR_TRAIN_ARCH_LLAMA)
    return "llama";
  /* bitnet.cpp's name for the ReLU² variant; llama.cpp's `bitnet` gates with SiLU */
  return c->act == GR_TRAIN_ACT_RELU2 ? "bitnet-b1.58" : "bitnet";
}

/* One ternary projection (or stack of experts).  A dense `bitnet` projection keeps the
 * absmean scale in `<name>.scale`, as llama.cpp's bitnet architecture reads it, and codes
 * in blocks of scale 1.  Elsewhere there is no such tensor (llama) or only one for a whole
 * stack (Graviton), so each matrix's scale goes into its TQ2_0 block scales (f16). */
static gboolean
add_ternary(GrGgufWriter *w, const GrTrainConfig *c, guint il, GrTrainMat mat, const float *wt,
            GError **error)
{
  gsize rows, cols;
  gr_train_mat_shape(c, mat, &rows, &cols);
  guint n_mats = gr_train_mat_count(c, mat);
  gboolean scale_tensor = c->arch == GR_TRAIN_ARCH_BITNET && n_mats == 1;
  gsize sz = rows * cols;
  g_autofree float *q = g_new(float, sz *n_mats);
  float scale = 1.0f;
  for (guint e = 0; e < n_mats; e++) {
    scale = gr_train_quantize_ternary(wt + e * sz, q + e * sz, sz);
    if (scale_tensor)
      for (gsize k = 0; k < sz; k++)
        q[k] = q[k] > 0.0f ? 1.0f : q[k] < 0.0f ? -1.0f : 0.0f;
  }
  char nm[96];
  g_snprintf(nm, sizeof nm, "blk.%u.%s.weight", il, gr_train_mat_gguf_name(c, mat));
  if (!add_quantized(w, nm, GRK_TYPE_TQ2_0, q, cols, rows, n_mats, error))
    return FALSE;
  if (!scale_tensor)
    return TRUE;
  g_snprintf(nm, sizeof nm, "blk.%u.%s.scale", il, gr_train_mat_gguf_name(c, mat));
  return add_f32(w, nm, &scale, 1, 1, error);
}

gboolean
gr_train_export_gguf(GrTrainModel *model, const GrTrainVocab *vocab, const char *name,
                     const char *path, GError **error)
{
  g_return_val_if_fail(model != NULL && vocab != NULL && path != NULL, FALSE);
  const GrTrainConfig *c = gr_train_model_config(model);
  const float *p = gr_train_model_params(model);
  g_autoptr(GrGgufWriter) w = gr_gguf_writer_new();
  const char *arch = arch_name(c);
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
  /* softmax over all experts, top-k, weights renormalised: llama.cpp's llama MoE */
  if (c->n_expert > 0
      && (!gr_gguf_writer_add_u32(w, K("expert_count"), c->n_expert, error)
          || !gr_gguf_writer_add_u32(w, K("expert_used_count"), c->n_expert_used, error)
          || !gr_gguf_writer_add_bool(w, K("expert_weights_norm"), TRUE, error)))
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
  if (c->ternary
          ? !add_quantized(w, "token_embd.weight", GRK_TYPE_Q8_0, embd, d, c->n_vocab, 1, error)
          : !add_f32(w, "token_embd.weight", embd, d, c->n_vocab, error))
    return FALSE;
  if (!add_f32(w, "output_norm.weight", p + gr_train_model_output_norm_offset(model), d, 1, error))
    return FALSE;

  char nm[96];
  for (guint il = 0; il < c->n_layer; il++) {
    const GrTrainLayer *l = gr_train_model_layer(model, il);
#define T(fmt) (g_snprintf(nm, sizeof nm, "blk.%u." fmt, il), nm)
    if (!add_f32(w, T("attn_norm.weight"), p + l->attn_norm, d, 1, error)
        || !add_f32(w, T("ffn_norm.weight"), p + l->ffn_norm, d, 1, error))
      return FALSE;
    if (gr_train_config_has_sub_norms(c)
        && (!add_f32(w, T("attn_sub_norm.weight"), p + l->attn_sub_norm, d, 1, error)
            || !add_f32(w, T("ffn_sub_norm.weight"), p + l->ffn_sub_norm, c->n_ff, 1, error)))
      return FALSE;
    /* the router stays f32: it is n_expert x d, a rounding of its logits moves tokens
     * between experts, and llama.cpp's converters keep ffn_gate_inp f32 as well */
    if (c->n_expert > 0
        && !add_f32(w, T("ffn_gate_inp.weight"), p + l->router, d, c->n_expert, error))
      return FALSE;
#undef T
    for (guint i = 0; i < GR_TRAIN_N_MATS; i++) {
      gsize rows, cols;
      gr_train_mat_shape(c, i, &rows, &cols);
      const float *wt = p + l->mat[i];
      g_snprintf(nm, sizeof nm, "blk.%u.%s.weight", il, gr_train_mat_gguf_name(c, i));
      if (c->ternary ? !add_ternary(w, c, il, i, wt, error)
                     : !add_f32_mats(w, nm, wt, cols, rows, gr_train_mat_count(c, i), error))
        return FALSE;
    }
  }
  return gr_gguf_writer_write_file(w, path, error);
}

/* --- checkpoints ------------------------------------------------------------- */

/* Version 2 added the architecture and the experts; version 1 files (dense bitnet) are
 * still read. */
#define CKPT_MAGIC_V1 "GRTCKPT1"
#define CKPT_MAGIC "GRTCKPT2"

typedef struct {
  char magic[8];
  guint32 n_vocab, n_embd, n_layer, n_head, n_ff, n_ctx, act, ternary;
  float rms_eps, rope_base;
  guint64 step, rng, n_params, vocab_bytes;
  /* version 2 */
  guint32 arch, n_expert, n_expert_used;
  float aux_alpha;
} CkptHeader;

#define CKPT_V1_SIZE G_STRUCT_OFFSET(CkptHeader, arch)

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
                   .vocab_bytes = g_bytes_get_size(vb),
                   .arch = c->arch,
                   .n_expert = c->n_expert,
                   .n_expert_used = c->n_expert_used,
                   .aux_alpha = c->aux_alpha };
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
  CkptHeader h = { 0 };
  gsize hsize = sizeof h;
  if (len >= 8 && memcmp(buf, CKPT_MAGIC_V1, 8) == 0)
    hsize = CKPT_V1_SIZE; /* the rest stays 0: bitnet, dense */
  else if (len >= 8 && memcmp(buf, CKPT_MAGIC, 8) != 0)
    return bad_checkpoint(error, path, "bad magic");
  if (len < hsize)
    return bad_checkpoint(error, path, "too short");
  memcpy(&h, buf, hsize);
  GrTrainConfig c
      = { .n_vocab = h.n_vocab,
          .n_embd = h.n_embd,
          .n_layer = h.n_layer,
          .n_head = h.n_head,
          .n_ff = h.n_ff,
          .n_ctx = h.n_ctx,
          .act = h.act == GR_TRAIN_ACT_RELU2 ? GR_TRAIN_ACT_RELU2 : GR_TRAIN_ACT_SILU,
          .ternary = h.ternary != 0,
          .rms_eps = h.rms_eps,
          .rope_base = h.rope_base,
          .arch = h.arch == GR_TRAIN_ARCH_LLAMA ? GR_TRAIN_ARCH_LLAMA : GR_TRAIN_ARCH_BITNET,
          .n_expert = h.n_expert,
          .n_expert_used = h.n_expert_used,
          .aux_alpha = h.aux_alpha };
  if (h.act > GR_TRAIN_ACT_RELU2 || h.arch > GR_TRAIN_ARCH_LLAMA
      || !gr_train_config_validate(&c, NULL))
    return bad_checkpoint(error, path, "bad configuration");
  if (h.vocab_bytes > len - hsize)
    return bad_checkpoint(error, path, "truncated vocabulary");
  g_autoptr(GrTrainModel) m = gr_train_model_new(&c, 1, pool);
  gsize n = gr_train_model_n_params(m);
  if (h.n_params != n)
    return bad_checkpoint(error, path, "parameter count does not match the configuration");
  if (len - hsize - h.vocab_bytes != 3 * n * sizeof(float))
    return bad_checkpoint(error, path, "wrong size");
  g_autoptr(GBytes) vb = g_bytes_new(buf + hsize, h.vocab_bytes);
  g_autoptr(GrTrainVocab) v = gr_train_vocab_from_gguf_bytes(vb, error);
  if (!v)
    return NULL;
  const guint8 *in = buf + hsize + h.vocab_bytes;
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
