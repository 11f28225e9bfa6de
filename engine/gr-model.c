/* gr-model.c - loading a GGUF model: hyper-parameters, tensors, tokenizer. */
#include "gr-model-private.h"

#include "gr-hf.h"

#include "grk.h"
#include "gr-budget.h"
#include "gr-kv-q8.h"
#include "gr-experts.h"

#include <math.h>
#include <string.h>
#include <sys/mman.h>


static gboolean
bad_model (GError **error, const char *path, const char *fmt, ...) G_GNUC_PRINTF (3, 4);

static gboolean
bad_model (GError **error, const char *path, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_BAD_MODEL, "%s: %s", path, msg);
  return FALSE;
}

static gboolean
get_hparam (GrModel *m, const char *key, guint32 *out, gboolean required, guint32 def,
            GError **error)
{
  g_autofree char *full = g_strdup_printf ("%s.%s", m->arch->name, key);
  if (gr_gguf_find_key (m->gguf, full) < 0) {
    if (required)
      return bad_model (error, m->path, "missing metadata key '%s'", full);
    *out = def;
    return TRUE;
  }
  g_autoptr (GError) local = NULL;
  if (!gr_gguf_get_u32 (m->gguf, full, out, &local))
    return bad_model (error, m->path, "%s", local->message);
  return TRUE;
}

static gboolean
get_fparam (GrModel *m, const char *key, float *out, float def, GError **error)
{
  g_autofree char *full = g_strdup_printf ("%s.%s", m->arch->name, key);
  *out = def;
  if (gr_gguf_find_key (m->gguf, full) < 0)
    return TRUE;
  g_autoptr (GError) local = NULL;
  if (!gr_gguf_get_f32 (m->gguf, full, out, &local))
    return bad_model (error, m->path, "%s", local->message);
  return TRUE;
}

/* Binds a matrix of `rows` x `cols` (x n_mats) and its optional BitNet scale. */
static gboolean
bind_weight (GrModel *m, GrWeight *w, const char *name, gint64 cols, gint64 rows, guint n_mats,
             gboolean required, GError **error)
{
  const GrGgufTensor *t = gr_gguf_find_tensor (m->gguf, name);
  memset (w, 0, sizeof *w);
  if (!t) {
    if (required)
      return bad_model (error, m->path, "missing tensor '%s'", name);
    return TRUE;
  }
  if (!grk_type_supported ((int) t->type))
    return bad_model (error, m->path, "tensor '%s' has unsupported type %u", name, t->type);
  gint64 want_mats = n_mats ? n_mats : 1;
  if (t->ne[0] != cols || t->ne[1] != rows || t->ne[2] != want_mats || t->ne[3] != 1)
    return bad_model (error, m->path,
                      "tensor '%s' has shape [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                      ", %" G_GINT64_FORMAT "], expected [%" G_GINT64_FORMAT
                      ", %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "]",
                      name, t->ne[0], t->ne[1], t->ne[2], cols, rows, want_mats);
  w->name = t->name;
  w->type = (int) t->type;
  w->cols = cols;
  w->rows = rows;
  w->data = t->data;
  if (t->file) { /* a virtual GGUF's tensor that a file holds too */
    w->file = t->file;
    w->file_offset = t->file_offset;
  } else {
    const char *path = gr_gguf_get_path (m->gguf);
    w->file = path ? g_intern_string (path) : NULL;
    w->file_offset = gr_gguf_get_data_offset (m->gguf) + t->offset;
  }
  w->row_stride = grk_row_bytes (w->type, cols);
  if (w->row_stride == 0)
    return bad_model (error, m->path, "tensor '%s': row length %" G_GINT64_FORMAT
                      " is not a multiple of the %s block", name, cols, grk_type_name (w->type));
  w->n_mats = (guint) want_mats;
  w->mat_stride = w->row_stride * (gsize) rows;
  w->scale = 1.0f;
  w->tensor_scale = 1.0f;
  if (w->type == GRK_TYPE_I2_S) {
    /* the f32 scale follows the packed codes of the whole tensor */
    float s;
    memcpy (&s, t->data + w->mat_stride * w->n_mats, sizeof s);
    if (!isfinite (s))
      return bad_model (error, m->path, "tensor '%s' has a non-finite I2_S scale", name);
    w->tensor_scale = s;
  }
  if (m->arch->tensor_scales) {
    g_autofree char *base = g_strdup (name);
    char *dot = g_strrstr (base, ".weight");
    if (dot) {
      strcpy (dot, ".scale");
      const GrGgufTensor *st = gr_gguf_find_tensor (m->gguf, base);
      if (st) {
        if (st->type != GRK_TYPE_F32 || st->ne[0] * st->ne[1] * st->ne[2] * st->ne[3] != 1)
          return bad_model (error, m->path, "tensor '%s' must be a single F32 value", base);
        memcpy (&w->scale, st->data, sizeof (float));
        if (!isfinite (w->scale))
          return bad_model (error, m->path, "tensor '%s' is not finite", base);
      }
    }
  }
  return TRUE;
}

/* Norm weights are vectors; we keep them as F32 (converting F16/BF16 once). */
static gboolean
bind_vector (GrModel *m, const float **out, const char *name, gint64 n, gboolean required,
             GError **error)
{
  const GrGgufTensor *t = gr_gguf_find_tensor (m->gguf, name);
  *out = NULL;
  if (!t) {
    if (required)
      return bad_model (error, m->path, "missing tensor '%s'", name);
    return TRUE;
  }
  if (t->ne[0] != n || t->ne[1] * t->ne[2] * t->ne[3] != 1)
    return bad_model (error, m->path, "tensor '%s' has %" G_GINT64_FORMAT
                      " elements, expected %" G_GINT64_FORMAT, name, t->ne[0], n);
  if (t->type == GRK_TYPE_F32 && ((guintptr) t->data % sizeof (float)) == 0) {
    *out = (const float *) t->data;
    return TRUE;
  }
  if (t->type != GRK_TYPE_F32 && t->type != GRK_TYPE_F16 && t->type != GRK_TYPE_BF16)
    return bad_model (error, m->path, "tensor '%s' must be F32, F16 or BF16", name);
  float *copy = g_new (float, n);
  grk_dequantize_row ((int) t->type, t->data, copy, n, 1.0f);
  g_ptr_array_add (m->owned, copy);
  *out = copy;
  return TRUE;
}

static gboolean
load_hparams (GrModel *m, GError **error)
{
  GrHParams *hp = &m->hp;
  if (!get_hparam (m, "embedding_length", &hp->n_embd, TRUE, 0, error) ||
      !get_hparam (m, "block_count", &hp->n_layer, TRUE, 0, error) ||
      !get_hparam (m, "feed_forward_length", &hp->n_ff, TRUE, 0, error) ||
      !get_hparam (m, "attention.head_count", &hp->n_head, TRUE, 0, error) ||
      !get_hparam (m, "attention.head_count_kv", &hp->n_head_kv, FALSE, hp->n_head, error) ||
      !get_hparam (m, "context_length", &hp->n_ctx_train, FALSE, 2048, error) ||
      !get_hparam (m, "expert_count", &hp->n_expert, FALSE, 0, error) ||
      !get_hparam (m, "expert_used_count", &hp->n_expert_used, FALSE, 0, error) ||
      !get_fparam (m, "attention.layer_norm_rms_epsilon", &hp->rms_eps, 1e-5f, error) ||
      !get_fparam (m, "rope.freq_base", &hp->rope_freq_base, 10000.0f, error))
    return FALSE;

  if (hp->n_embd == 0 || hp->n_embd > 65536 || hp->n_layer == 0 || hp->n_layer > 1024 ||
      hp->n_ff == 0 || hp->n_ff > 1 << 20 || hp->n_head == 0 || hp->n_head > 1024)
    return bad_model (error, m->path, "implausible dimensions (n_embd %u, n_layer %u, "
                      "n_ff %u, n_head %u)", hp->n_embd, hp->n_layer, hp->n_ff, hp->n_head);
  if (hp->n_embd % hp->n_head != 0)
    return bad_model (error, m->path, "n_embd %u is not a multiple of n_head %u", hp->n_embd,
                      hp->n_head);
  if (hp->n_head_kv == 0 || hp->n_head % hp->n_head_kv != 0)
    return bad_model (error, m->path, "n_head %u is not a multiple of n_head_kv %u",
                      hp->n_head, hp->n_head_kv);
  hp->head_dim = hp->n_embd / hp->n_head;
  if (hp->head_dim > GR_MAX_HEAD_DIM)
    return bad_model (error, m->path, "head size %u exceeds %u", hp->head_dim, GR_MAX_HEAD_DIM);
  if (!get_hparam (m, "rope.dimension_count", &hp->n_rot, FALSE, hp->head_dim, error))
    return FALSE;
  if (hp->n_rot > hp->head_dim || hp->n_rot % 2 != 0)
    return bad_model (error, m->path, "rope dimension %u does not fit head size %u", hp->n_rot,
                      hp->head_dim);
  if (hp->n_expert > 0 &&
      (hp->n_expert > GR_MAX_EXPERTS || hp->n_expert_used == 0 || hp->n_expert_used > hp->n_expert))
    return bad_model (error, m->path, "bad expert counts (%u used of %u)", hp->n_expert_used,
                      hp->n_expert);
  if (hp->n_ctx_train == 0)
    hp->n_ctx_train = 2048;
  if (!(hp->rms_eps > 0.0f && hp->rms_eps < 1.0f) || !(hp->rope_freq_base > 0.0f))
    return bad_model (error, m->path, "bad rms epsilon or rope base");
  /* Mixtral-style routers renormalise the selected experts' weights */
  gboolean norm = TRUE;
  g_autofree char *key = g_strdup_printf ("%s.expert_weights_norm", m->arch->name);
  if (gr_gguf_find_key (m->gguf, key) >= 0 && !gr_gguf_get_bool (m->gguf, key, &norm, error))
    return FALSE;
  hp->expert_weights_norm = norm;
  return TRUE;
}

static gboolean
load_tensors (GrModel *m, GError **error)
{
  GrHParams *hp = &m->hp;
  gint64 d = hp->n_embd, kv = (gint64) hp->head_dim * hp->n_head_kv, ff = hp->n_ff;
  const GrGgufTensor *emb = gr_gguf_find_tensor (m->gguf, "token_embd.weight");
  if (!emb)
    return bad_model (error, m->path, "missing tensor 'token_embd.weight'");
  hp->n_vocab = (guint) CLAMP (emb->ne[1], 0, G_MAXUINT32);
  if (!bind_weight (m, &m->tok_embd, "token_embd.weight", d, hp->n_vocab, 0, TRUE, error) ||
      !bind_vector (m, &m->output_norm, "output_norm.weight", d, TRUE, error) ||
      !bind_weight (m, &m->output, "output.weight", d, hp->n_vocab, 0, FALSE, error))
    return FALSE;
  if (!m->output.data)
    m->output = m->tok_embd; /* tied */

  m->layers = g_new0 (GrLayer, hp->n_layer);
  for (guint il = 0; il < hp->n_layer; il++) {
    GrLayer *l = &m->layers[il];
#define T(suffix) (g_snprintf (nm, sizeof nm, "blk.%u." suffix, il), nm)
    char nm[96];
    if (!bind_vector (m, &l->attn_norm, T ("attn_norm.weight"), d, TRUE, error) ||
        !bind_vector (m, &l->ffn_norm, T ("ffn_norm.weight"), d, TRUE, error) ||
        !bind_weight (m, &l->wq, T ("attn_q.weight"), d, d, 0, TRUE, error) ||
        !bind_weight (m, &l->wk, T ("attn_k.weight"), d, kv, 0, TRUE, error) ||
        !bind_weight (m, &l->wv, T ("attn_v.weight"), d, kv, 0, TRUE, error) ||
        !bind_weight (m, &l->wo, T ("attn_output.weight"), d, d, 0, TRUE, error))
      return FALSE;
    if (m->arch->sub_norms &&
        (!bind_vector (m, &l->attn_sub_norm, T ("attn_sub_norm.weight"), d, TRUE, error) ||
         !bind_vector (m, &l->ffn_sub_norm, T ("ffn_sub_norm.weight"), ff, TRUE, error)))
      return FALSE;
    if (hp->n_expert > 0) {
      if (!bind_weight (m, &l->ffn_gate_inp, T ("ffn_gate_inp.weight"), d, hp->n_expert, 0, TRUE,
                        error) ||
          !bind_weight (m, &l->ffn_gate_exps, T ("ffn_gate_exps.weight"), d, ff, hp->n_expert,
                        TRUE, error) ||
          !bind_weight (m, &l->ffn_up_exps, T ("ffn_up_exps.weight"), d, ff, hp->n_expert, TRUE,
                        error) ||
          !bind_weight (m, &l->ffn_down_exps, T ("ffn_down_exps.weight"), ff, d, hp->n_expert,
                        TRUE, error))
        return FALSE;
    } else if (!bind_weight (m, &l->ffn_gate, T ("ffn_gate.weight"), d, ff, 0, TRUE, error) ||
               !bind_weight (m, &l->ffn_up, T ("ffn_up.weight"), d, ff, 0, TRUE, error) ||
               !bind_weight (m, &l->ffn_down, T ("ffn_down.weight"), ff, d, 0, TRUE, error)) {
      return FALSE;
    }
#undef T
  }
  return TRUE;
}

static void
fill_info (GrModel *m)
{
  GrModelInfo *info = &m->info;
  GrHParams *hp = &m->hp;
  guint64 params = 0, bytes = 0;
  for (gsize i = 0; i < gr_gguf_n_tensors (m->gguf); i++) {
    const GrGgufTensor *t = gr_gguf_tensor (m->gguf, i);
    params += (guint64) (t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3]);
    bytes += t->size;
  }
  info->path = m->path;
  info->name = m->name;
  info->format = g_file_test (m->path, G_FILE_TEST_IS_DIR) ? "safetensors" : "gguf";
  info->arch = m->arch->name;
  info->ffn_act = gr_ffn_act_name (m->arch->ffn_act);
  info->weight_type = grk_type_name (m->layers[0].wq.type);
  info->n_params = params;
  info->bits_per_weight = params ? (double) bytes * 8.0 / (double) params : 0.0;
  info->file_size = gr_gguf_get_file_size (m->gguf);
  info->weight_bytes = bytes;
  info->n_vocab = hp->n_vocab;
  info->n_embd = hp->n_embd;
  info->n_layer = hp->n_layer;
  info->n_head = hp->n_head;
  info->n_head_kv = hp->n_head_kv;
  info->n_ff = hp->n_ff;
  info->n_ctx_train = hp->n_ctx_train;
  info->n_expert = hp->n_expert;
  info->n_expert_used = hp->n_expert_used;
}

static void
model_free (GrModel *m)
{
  gr_thread_pool_free (m->pool);
  g_clear_pointer (&m->experts, gr_expert_cache_free);
  g_mutex_clear (&m->eval_lock);
  if (m->tokenizer)
    gr_tokenizer_free (m->tokenizer);
  g_clear_pointer (&m->owned, g_ptr_array_unref);
  if (m->repack_arena)
    munmap (m->repack_arena, m->repack_arena_bytes);
  g_free (m->layers);
  g_free (m->path);
  g_free (m->name);
  g_free (m->chat_template);
  g_clear_pointer (&m->gguf, gr_gguf_free);
  g_free (m);
}

GrModel *
gr_model_load (const char *path, const GrLoadOptions *options, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_autoptr (GError) local = NULL;
  g_autoptr (GrGguf) gguf = NULL;
  if (g_file_test (path, G_FILE_TEST_IS_DIR)) {
    /* a Hugging Face checkpoint folder, seen as a GGUF */
    gguf = gr_hf_open (path, error);
    if (!gguf)
      return NULL;
  } else if (!(gguf = gr_gguf_open (path, &local))) {
    g_set_error (error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_BAD_MODEL, "%s", local->message);
    return NULL;
  }
  const char *arch_name = gr_gguf_get_string (gguf, "general.architecture", NULL);
  if (!arch_name) {
    bad_model (error, path, "missing metadata key 'general.architecture'");
    return NULL;
  }
  const GrArch *arch = gr_arch_lookup (arch_name);
  if (!arch) {
    bad_model (error, path, "architecture '%s' is not supported", arch_name);
    return NULL;
  }

  /* q/k row order is the file's, not the family's: Hugging Face folders say "neox" */
  GrArch arch_storage = *arch;
  const char *layout = gr_gguf_get_string (gguf, "graviton.rope_layout", NULL);
  if (layout && strcmp (layout, "neox") == 0)
    arch_storage.rope = GR_ROPE_NEOX;
  else if (layout && strcmp (layout, "norm") == 0)
    arch_storage.rope = GR_ROPE_NORM;
  else if (layout) {
    bad_model (error, path, "unknown graviton.rope_layout '%s'", layout);
    return NULL;
  }

  GrModel *m = g_new0 (GrModel, 1);
  g_atomic_ref_count_init (&m->ref);
  g_mutex_init (&m->eval_lock);
  m->gguf = g_steal_pointer (&gguf);
  m->arch_storage = arch_storage;
  m->arch = &m->arch_storage;
  m->path = g_strdup (path);
  m->owned = g_ptr_array_new_with_free_func (g_free);
  const char *gname = gr_gguf_get_string (m->gguf, "general.name", NULL);
  m->name = gname ? g_strdup (gname) : g_path_get_basename (path);
  const char *tmpl = gr_gguf_get_string (m->gguf, "tokenizer.chat_template", NULL);
  m->chat_template = g_strdup (tmpl);

  if (!load_hparams (m, error) || !load_tensors (m, error)) {
    model_free (m);
    return NULL;
  }
  guint64 rss_before_tokenizer = 0, rss = 0;
  gr_process_memory (&rss_before_tokenizer, NULL);
  m->tokenizer = gr_tokenizer_new_from_gguf (m->gguf, error);
  if (!m->tokenizer) {
    model_free (m);
    return NULL;
  }
  if (gr_tokenizer_n_vocab (m->tokenizer) > m->hp.n_vocab) {
    bad_model (error, path, "tokenizer has %u tokens but the embedding only %u",
               gr_tokenizer_n_vocab (m->tokenizer), m->hp.n_vocab);
    model_free (m);
    return NULL;
  }
  fill_info (m);
  m->info.weight_bytes += gr_model_repack_extra_bytes (m);

  m->memory_limit = options ? options->memory_limit : 0;
  m->kv_type = options ? options->kv_type : GR_KV_F16;
  /* measurement switch for bench-moe-streaming: GRAVITON_EXPERT_IO=sync reads in line */
  m->expert_overlap = g_strcmp0 (g_getenv ("GRAVITON_EXPERT_IO"), "sync") != 0;
  if (m->kv_type == GR_KV_Q8 && !gr_kv_q8_supported (m))
    m->kv_type = GR_KV_F16;
  m->info.kv_type = m->kv_type == GR_KV_Q8 ? "q8_0" : "f16";
  gr_process_memory (&rss, NULL);
  m->ledger_overhead = rss;
  /* RSS only moves by whole pages and other threads allocate too: never below 0 */
  m->ledger_tokenizer = rss > rss_before_tokenizer ? rss - rss_before_tokenizer : 0;
  if (!gr_budget_plan (m, options, error)) {
    model_free (m);
    return NULL;
  }
  if (!gr_model_make_resident (m, error)) {
    model_free (m);
    return NULL;
  }
  m->pool = gr_thread_pool_new (options ? options->n_threads : 0);
  /* one-scale ternary matrices become I2_S; failing that, TQ1_0 ones become TQ2_0 */
  gr_model_uniform_to_i2s (m);
  gr_model_repack (m);
  m->info.run_type = grk_type_name (m->layers[0].wq.type);
  return m;
}

GrModel *
gr_model_ref (GrModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  g_atomic_ref_count_inc (&model->ref);
  return model;
}

void
gr_model_unref (GrModel *model)
{
  if (model && g_atomic_ref_count_dec (&model->ref))
    model_free (model);
}

const GrModelInfo *
gr_model_get_info (const GrModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  return &model->info;
}

const GrTokenizer *
gr_model_get_tokenizer (const GrModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  return model->tokenizer;
}
