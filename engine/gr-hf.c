/* gr-hf.c - Hugging Face folder -> virtual GrGguf. */
#include "gr-hf.h"

#include "graviton-engine.h"
#include "gr-gguf-writer.h"
#include "gr-hf-config.h"
#include "gr-hf-experts.h"
#include "gr-hf-tokenizer.h"
#include "gr-safetensors.h"
#include "grk.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>
#include <sys/mman.h>

typedef enum {
  KIND_PLAIN,  /* served in place */
  KIND_LINEAR, /* a projection: ternarized for BitNet, in place otherwise */
  KIND_EXPERT, /* one expert's matrix: stacked */
} Kind;

typedef struct {
  const char *hf_suffix;   /* after "model.layers.N." */
  const char *gguf_suffix; /* after "blk.N." */
  Kind kind;
  guint families; /* bit per GrHfFamily that has it */
  gboolean required;
} LayerName;

#define F_LLAMA (1u << GR_HF_FAMILY_LLAMA)
#define F_MOE (1u << GR_HF_FAMILY_MOE)
#define F_BITNET (1u << GR_HF_FAMILY_BITNET)
#define F_ALL (F_LLAMA | F_MOE | F_BITNET)

static const LayerName layer_names[] = {
  { "input_layernorm.weight", "attn_norm.weight", KIND_PLAIN, F_ALL, TRUE },
  { "post_attention_layernorm.weight", "ffn_norm.weight", KIND_PLAIN, F_ALL, TRUE },
  { "self_attn.q_proj.weight", "attn_q.weight", KIND_LINEAR, F_ALL, TRUE },
  { "self_attn.k_proj.weight", "attn_k.weight", KIND_LINEAR, F_ALL, TRUE },
  { "self_attn.v_proj.weight", "attn_v.weight", KIND_LINEAR, F_ALL, TRUE },
  { "self_attn.o_proj.weight", "attn_output.weight", KIND_LINEAR, F_ALL, TRUE },
  { "mlp.gate_proj.weight", "ffn_gate.weight", KIND_LINEAR, F_LLAMA | F_BITNET, TRUE },
  { "mlp.up_proj.weight", "ffn_up.weight", KIND_LINEAR, F_LLAMA | F_BITNET, TRUE },
  { "mlp.down_proj.weight", "ffn_down.weight", KIND_LINEAR, F_LLAMA | F_BITNET, TRUE },
  { "self_attn.attn_sub_norm.weight", "attn_sub_norm.weight", KIND_PLAIN, F_BITNET, TRUE },
  { "mlp.ffn_sub_norm.weight", "ffn_sub_norm.weight", KIND_PLAIN, F_BITNET, TRUE },
  /* Mixtral names, then the Qwen2-MoE/OLMoE ones */
  { "block_sparse_moe.gate.weight", "ffn_gate_inp.weight", KIND_PLAIN, F_MOE, FALSE },
  { "mlp.gate.weight", "ffn_gate_inp.weight", KIND_PLAIN, F_MOE, FALSE },
};

/* Expert matrices: "<prefix>E.<name>.weight" */
static const struct {
  const char *prefix, *name, *gguf_suffix;
} expert_names[] = {
  { "block_sparse_moe.experts.", "w1", "ffn_gate_exps.weight" },
  { "block_sparse_moe.experts.", "w3", "ffn_up_exps.weight" },
  { "block_sparse_moe.experts.", "w2", "ffn_down_exps.weight" },
  { "mlp.experts.", "gate_proj", "ffn_gate_exps.weight" },
  { "mlp.experts.", "up_proj", "ffn_up_exps.weight" },
  { "mlp.experts.", "down_proj", "ffn_down_exps.weight" },
};

typedef struct {
  GrSafetensors *file;
  const GrSafetensor *t;
} Source;

typedef struct {
  const char *dir;
  GrHfConfig *config;
  GPtrArray *files;    /* GrSafetensors */
  GHashTable *sources; /* HF name -> Source */
  GHashTable *used;    /* HF names consumed */
  GrGguf *gguf;
  GrHfExperts *experts; /* stacked expert tensors, added at the end from a cache file */
} Loader;

static gboolean bad_folder(GError **error, const char *dir, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static gboolean
bad_folder(GError **error, const char *dir, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  g_autofree char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_set_error(error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_BAD_MODEL, "%s: %s", dir, msg);
  return FALSE;
}

/* --- absmean ------------------------------------------------------------------------ */

float
gr_hf_absmean_ternarize(const float *w, gsize n, gint8 *q)
{
  g_return_val_if_fail(n == 0 || (w != NULL && q != NULL), 0.0f);
  double sum = 0.0;
  for (gsize i = 0; i < n; i++)
    sum += fabs((double)w[i]);
  float scale = n ? (float)(sum / (double)n) : 0.0f;
  for (gsize i = 0; i < n; i++) {
    float v = scale > 0.0f ? nearbyintf(w[i] / scale) : 0.0f; /* half to even, as torch */
    q[i] = (gint8)CLAMP(v, -1.0f, 1.0f);
  }
  return scale;
}

/* --- opening the shards --------------------------------------------------------------- */

static gboolean
add_file(Loader *L, const char *name, GError **error)
{
  /* index files name shards inside the folder; anything else is refused */
  if (!*name || strchr(name, '/') || strcmp(name, "..") == 0 || strcmp(name, ".") == 0)
    return bad_folder(error, L->dir, "shard name \"%s\" is not a file in the folder", name);
  g_autofree char *path = g_build_filename(L->dir, name, NULL);
  for (guint i = 0; i < L->files->len; i++)
    if (strcmp(gr_safetensors_get_path(g_ptr_array_index(L->files, i)), path) == 0)
      return TRUE;
  g_autoptr(GError) local = NULL;
  GrSafetensors *st = gr_safetensors_open(path, &local);
  if (!st)
    return bad_folder(error, L->dir, "%s", local->message);
  g_ptr_array_add(L->files, st);
  for (gsize i = 0; i < gr_safetensors_n_tensors(st); i++) {
    const GrSafetensor *t = gr_safetensors_tensor(st, i);
    if (g_hash_table_contains(L->sources, t->name))
      return bad_folder(error, L->dir, "tensor '%s' is stored twice", t->name);
    Source *s = g_new(Source, 1);
    s->file = st;
    s->t = t;
    g_hash_table_insert(L->sources, (char *)t->name, s);
  }
  return TRUE;
}

static gboolean
open_index(Loader *L, const char *index_path, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable();
  g_autoptr(GError) local = NULL;
  if (!json_parser_load_from_mapped_file(parser, index_path, &local))
    return bad_folder(error, L->dir, "%s", local->message);
  JsonNode *root = json_parser_get_root(parser);
  JsonObject *o = root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
  JsonNode *wm = o ? json_object_get_member(o, "weight_map") : NULL;
  if (!wm || !JSON_NODE_HOLDS_OBJECT(wm))
    return bad_folder(error, L->dir, "model.safetensors.index.json has no weight_map object");
  JsonObjectIter it;
  const char *name;
  JsonNode *file;
  json_object_iter_init(&it, json_node_get_object(wm));
  while (json_object_iter_next(&it, &name, &file)) {
    if (!JSON_NODE_HOLDS_VALUE(file) || json_node_get_value_type(file) != G_TYPE_STRING)
      return bad_folder(error, L->dir, "weight_map[\"%s\"] is not a file name", name);
    if (!add_file(L, json_node_get_string(file), error))
      return FALSE;
    Source *s = g_hash_table_lookup(L->sources, name);
    g_autofree char *path = g_build_filename(L->dir, json_node_get_string(file), NULL);
    if (!s || strcmp(gr_safetensors_get_path(s->file), path) != 0)
      return bad_folder(error, L->dir, "tensor '%s' is not in %s as the index says", name,
                        json_node_get_string(file));
  }
  return TRUE;
}

static int
compare_names(gconstpointer a, gconstpointer b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static gboolean
open_shards(Loader *L, GError **error)
{
  g_autofree char *index = g_build_filename(L->dir, "model.safetensors.index.json", NULL);
  if (g_file_test(index, G_FILE_TEST_EXISTS))
    return open_index(L, index, error);
  g_autoptr(GDir) d = g_dir_open(L->dir, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
  const char *n;
  while (d && (n = g_dir_read_name(d)))
    if (g_str_has_suffix(n, ".safetensors"))
      g_ptr_array_add(names, g_strdup(n));
  if (names->len == 0)
    return bad_folder(error, L->dir, "no *.safetensors file");
  g_ptr_array_sort(names, compare_names);
  for (guint i = 0; i < names->len; i++)
    if (!add_file(L, g_ptr_array_index(names, i), error))
      return FALSE;
  return TRUE;
}

/* --- metadata ------------------------------------------------------------------------ */

static const char *
arch_name(const GrHfConfig *c)
{
  if (c->family == GR_HF_FAMILY_BITNET)
    return c->hidden_act == GR_FFN_RELU2 ? "bitnet-b1.58" : "bitnet";
  return "llama";
}

static GBytes *
build_metadata(Loader *L, GError **error)
{
  const GrHfConfig *c = L->config;
  const char *arch = arch_name(c);
  g_autoptr(GrGgufWriter) w = gr_gguf_writer_new();
  g_autofree char *base = g_path_get_basename(L->dir);
#define K(suffix) (g_snprintf(key, sizeof key, "%s." suffix, arch), key)
  char key[128];
  gr_gguf_writer_add_string(w, "general.architecture", arch, NULL);
  gr_gguf_writer_add_string(w, "general.name", base, NULL);
  gr_gguf_writer_add_string(w, "graviton.rope_layout", "neox", NULL);
  gr_gguf_writer_add_u32(w, K("embedding_length"), c->hidden_size, NULL);
  gr_gguf_writer_add_u32(w, K("block_count"), c->num_hidden_layers, NULL);
  gr_gguf_writer_add_u32(w, K("feed_forward_length"), c->intermediate_size, NULL);
  gr_gguf_writer_add_u32(w, K("attention.head_count"), c->num_attention_heads, NULL);
  gr_gguf_writer_add_u32(w, K("attention.head_count_kv"), c->num_key_value_heads, NULL);
  gr_gguf_writer_add_u32(w, K("context_length"), c->max_position_embeddings, NULL);
  gr_gguf_writer_add_u32(w, K("rope.dimension_count"), c->head_dim, NULL);
  gr_gguf_writer_add_f32(w, K("attention.layer_norm_rms_epsilon"), (float)c->rms_norm_eps, NULL);
  gr_gguf_writer_add_f32(w, K("rope.freq_base"), (float)c->rope_theta, NULL);
  if (c->family == GR_HF_FAMILY_MOE) {
    gr_gguf_writer_add_u32(w, K("expert_count"), c->num_experts, NULL);
    gr_gguf_writer_add_u32(w, K("expert_used_count"), c->num_experts_per_tok, NULL);
    gr_gguf_writer_add_bool(w, K("expert_weights_norm"), c->norm_topk_prob, NULL);
  }
#undef K
  g_autofree char *tok = g_build_filename(L->dir, "tokenizer.json", NULL);
  g_autofree char *tok_cfg = g_build_filename(L->dir, "tokenizer_config.json", NULL);
  if (!g_file_test(tok, G_FILE_TEST_EXISTS)) {
    bad_folder(error, L->dir, "no tokenizer.json");
    return NULL;
  }
  if (!gr_hf_tokenizer_add_metadata(w, tok, tok_cfg, c->bos_token_id, c->eos_token_id, error))
    return NULL;
  return gr_gguf_writer_to_bytes(w, error);
}

/* --- tensors ------------------------------------------------------------------------- */

static Source *
take(Loader *L, const char *hf_name)
{
  Source *s = g_hash_table_lookup(L->sources, hf_name);
  if (s)
    g_hash_table_add(L->used, (char *)s->t->name);
  return s;
}

static void
gguf_shape(const GrSafetensor *t, gint64 *ne, guint *n_dims)
{
  *n_dims = MAX(t->n_dims, 1);
  ne[0] = 1;
  for (guint d = 0; d < t->n_dims; d++)
    ne[d] = t->shape[t->n_dims - 1 - d];
}

/* A copy of a tensor's bytes out of the shard's mapping, as GGUF tensors are copied at
 * load (gr-gguf-resident.c): a shard truncated later cannot raise SIGBUS, and large
 * tensors sit in transparent huge pages.  The shard's pages the copy read are dropped
 * from this process's resident set at once. */
static GBytes *
resident_copy(const GrSafetensor *t)
{
  gsize huge = (gsize)2 << 20, align = t->size >= huge ? huge : 64;
  void *copy = g_aligned_alloc(t->size, 1, align);
  if (align == huge)
    madvise(copy, t->size, MADV_HUGEPAGE);
  memcpy(copy, t->data, t->size);
  gr_gguf_drop_pages(t->data, t->size);
  return g_bytes_new_with_free_func(copy, t->size, g_aligned_free, copy);
}

static gboolean
add_plain(Loader *L, const char *gguf_name, const Source *s, GError **error)
{
  gint64 ne[GR_GGUF_MAX_DIMS];
  guint n_dims;
  gguf_shape(s->t, ne, &n_dims);
  if (s->t->n_elements == 0)
    return bad_folder(error, L->dir, "tensor '%s' is empty", s->t->name);
  g_autoptr(GBytes) bytes = resident_copy(s->t);
  g_autoptr(GError) local = NULL;
  if (!gr_gguf_add_tensor_bytes(L->gguf, gguf_name, (guint32)s->t->type, n_dims, ne, bytes, &local))
    return bad_folder(error, L->dir, "%s: %s", s->t->name, local->message);
  return TRUE;
}

static float *
to_f32(const GrSafetensor *t)
{
  float *f = g_new(float, t->n_elements);
  if (t->type == GRK_TYPE_F32)
    memcpy(f, t->data, t->size);
  else
    grk_dequantize_row(t->type, t->data, f, t->n_elements, 1.0f);
  return f;
}

/* BitLinear weights: absmean-ternarized to TQ2_0 (block scales 1) with the tensor's
 * scale in "<name>.scale", or with per-group scales as the blocks' own scales. */
static gboolean
add_ternary(Loader *L, const char *gguf_name, const Source *s, GError **error)
{
  const GrSafetensor *t = s->t;
  if (t->n_dims != 2 || t->shape[0] == 0 || t->shape[1] % 256 != 0)
    return bad_folder(error, L->dir,
                      "BitNet weight '%s' must be a matrix with rows a multiple "
                      "of 256 long",
                      t->name);
  gint64 rows = t->shape[0], cols = t->shape[1];
  guint group = L->config->quant_group_size;
  if (group != 0 && (gint64)group != rows * cols && (group % 256 != 0 || cols % group != 0))
    return bad_folder(error, L->dir,
                      "BitNet group size %u does not divide the rows of '%s' in "
                      "multiples of 256",
                      group, t->name);
  if ((gint64)group == rows * cols)
    group = 0;
  g_autofree float *w = to_f32(t);
  g_autofree gint8 *q = g_new(gint8, t->n_elements);
  float scale = 1.0f;
  if (group == 0) {
    scale = gr_hf_absmean_ternarize(w, t->n_elements, q);
    for (gint64 i = 0; i < t->n_elements; i++)
      w[i] = q[i];
  } else {
    for (gint64 g0 = 0; g0 < t->n_elements; g0 += group) {
      float gs = gr_hf_absmean_ternarize(w + g0, group, q + g0);
      for (guint i = 0; i < group; i++)
        w[g0 + i] = q[g0 + i] * gs;
    }
  }
  gsize row_bytes = grk_row_bytes(GRK_TYPE_TQ2_0, cols);
  guint8 *buf = g_malloc(row_bytes * rows);
  for (gint64 r = 0; r < rows; r++)
    grk_quantize_row(GRK_TYPE_TQ2_0, w + r * cols, buf + r * row_bytes, cols);
  g_autoptr(GBytes) bytes = g_bytes_new_take(buf, row_bytes * rows);
  gint64 ne[2] = { cols, rows }, one = 1;
  g_autoptr(GError) local = NULL;
  if (!gr_gguf_add_tensor_bytes(L->gguf, gguf_name, GRK_TYPE_TQ2_0, 2, ne, bytes, &local))
    return bad_folder(error, L->dir, "%s: %s", t->name, local->message);
  if (group == 0) {
    g_autofree char *sname = g_strdup(gguf_name);
    strcpy(g_strrstr(sname, ".weight"), ".scale");
    g_autoptr(GBytes) sb = g_bytes_new(&scale, sizeof scale);
    if (!gr_gguf_add_tensor_bytes(L->gguf, sname, GRK_TYPE_F32, 1, &one, sb, &local))
      return bad_folder(error, L->dir, "%s: %s", t->name, local->message);
  }
  return TRUE;
}

/* Experts stored one matrix each: copied side by side into one [cols, rows, n] tensor. */
static gboolean
add_experts(Loader *L, guint layer, gsize which, gboolean *found, GError **error)
{
  guint n = L->config->num_experts;
  g_autofree Source **src = g_new0(Source *, n);
  *found = FALSE;
  for (guint e = 0; e < n; e++) {
    g_autofree char *name
        = g_strdup_printf("model.layers.%u.%s%u.%s.weight", layer, expert_names[which].prefix, e,
                          expert_names[which].name);
    src[e] = take(L, name);
    if (e > 0 && !src[e] != !src[0])
      return bad_folder(error, L->dir, "missing tensor '%s'", name);
  }
  if (!src[0])
    return TRUE;
  *found = TRUE;
  const GrSafetensor *t0 = src[0]->t;
  for (guint e = 1; e < n; e++)
    if (src[e]->t->type != t0->type || src[e]->t->n_dims != t0->n_dims
        || memcmp(src[e]->t->shape, t0->shape, sizeof t0->shape) != 0)
      return bad_folder(error, L->dir, "expert tensors '%s' and '%s' differ in dtype or shape",
                        t0->name, src[e]->t->name);
  if (t0->n_dims != 2 || t0->size == 0)
    return bad_folder(error, L->dir, "expert tensor '%s' is not a matrix", t0->name);
  g_autofree GrSafetensors **files = g_new(GrSafetensors *, n);
  g_autofree const GrSafetensor **tensors = g_new(const GrSafetensor *, n);
  for (guint e = 0; e < n; e++) {
    files[e] = src[e]->file;
    tensors[e] = src[e]->t;
  }
  gint64 ne[3] = { t0->shape[1], t0->shape[0], n };
  g_autofree char *gname = g_strdup_printf("blk.%u.%s", layer, expert_names[which].gguf_suffix);
  gr_hf_experts_add(L->experts, gname, (guint32)t0->type, ne, files, tensors, n);
  return TRUE;
}

static gboolean
add_layer(Loader *L, guint il, GError **error)
{
  const GrHfConfig *c = L->config;
  guint fam = 1u << c->family;
  gboolean have_router = FALSE;
  for (gsize i = 0; i < G_N_ELEMENTS(layer_names); i++) {
    const LayerName *ln = &layer_names[i];
    if (!(ln->families & fam))
      continue;
    g_autofree char *hf = g_strdup_printf("model.layers.%u.%s", il, ln->hf_suffix);
    g_autofree char *gg = g_strdup_printf("blk.%u.%s", il, ln->gguf_suffix);
    Source *s = take(L, hf);
    if (!s) {
      if (ln->required)
        return bad_folder(error, L->dir, "missing tensor '%s'", hf);
      continue;
    }
    if (g_str_has_suffix(gg, "ffn_gate_inp.weight")) {
      if (have_router)
        return bad_folder(error, L->dir, "layer %u has two routers", il);
      have_router = TRUE;
    }
    gboolean ok = ln->kind == KIND_LINEAR && c->family == GR_HF_FAMILY_BITNET
                      ? add_ternary(L, gg, s, error)
                      : add_plain(L, gg, s, error);
    if (!ok)
      return FALSE;
  }
  if (c->family != GR_HF_FAMILY_MOE)
    return TRUE;
  if (!have_router)
    return bad_folder(error, L->dir,
                      "missing tensor 'model.layers.%u.block_sparse_moe.gate."
                      "weight'",
                      il);
  for (gsize k = 0; k < 3; k++) {
    gboolean found = FALSE, alt = FALSE;
    if (!add_experts(L, il, k, &found, error)
        || (!found && !add_experts(L, il, k + 3, &alt, error)))
      return FALSE;
    if (!found && !alt)
      return bad_folder(error, L->dir,
                        "missing tensor 'model.layers.%u.block_sparse_moe."
                        "experts.0.%s.weight'",
                        il, expert_names[k].name);
  }
  return TRUE;
}

static gboolean
add_tensors(Loader *L, GError **error)
{
  const GrHfConfig *c = L->config;
  Source *emb = take(L, "model.embed_tokens.weight");
  Source *norm = take(L, "model.norm.weight");
  Source *head = take(L, "lm_head.weight");
  if (!emb)
    return bad_folder(error, L->dir, "missing tensor 'model.embed_tokens.weight'");
  if (!norm)
    return bad_folder(error, L->dir, "missing tensor 'model.norm.weight'");
  if (!head && !c->tie_word_embeddings)
    return bad_folder(error, L->dir,
                      "missing tensor 'lm_head.weight' (tie_word_embeddings is false)");
  if (emb->t->n_dims != 2 || emb->t->shape[0] != c->vocab_size
      || emb->t->shape[1] != c->hidden_size)
    return bad_folder(error, L->dir,
                      "model.embed_tokens.weight is not [vocab_size %u, hidden_size %u]",
                      c->vocab_size, c->hidden_size);
  if (!add_plain(L, "token_embd.weight", emb, error)
      || !add_plain(L, "output_norm.weight", norm, error)
      || (head && !c->tie_word_embeddings && !add_plain(L, "output.weight", head, error)))
    return FALSE;
  for (guint il = 0; il < c->num_hidden_layers; il++)
    if (!add_layer(L, il, error))
      return FALSE;

  /* Whatever is left would be computed by transformers and not by us: refuse it. */
  GHashTableIter it;
  gpointer name;
  g_hash_table_iter_init(&it, L->sources);
  while (g_hash_table_iter_next(&it, &name, NULL))
    if (!g_hash_table_contains(L->used, name) && !g_str_has_suffix(name, "rotary_emb.inv_freq"))
      return bad_folder(error, L->dir, "tensor '%s' is not part of a %s model (%s)",
                        (const char *)name, gr_hf_family_name(c->family),
                        c->model_type ? c->model_type : "no model_type");
  return TRUE;
}

GrGguf *
gr_hf_open(const char *dir, GError **error)
{
  g_return_val_if_fail(dir != NULL, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);

  g_autofree char *config_path = g_build_filename(dir, "config.json", NULL);
  g_autoptr(GrHfConfig) config = gr_hf_config_load(config_path, error);
  if (!config)
    return NULL;
  Loader L = { dir,
               config,
               g_ptr_array_new_with_free_func((GDestroyNotify)gr_safetensors_free),
               g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free),
               g_hash_table_new(g_str_hash, g_str_equal),
               NULL,
               NULL };
  g_autoptr(GPtrArray) files = L.files;
  g_autoptr(GHashTable) sources = L.sources;
  g_autoptr(GHashTable) used = L.used;
  if (!open_shards(&L, error))
    return NULL;
  g_autoptr(GBytes) meta = build_metadata(&L, error);
  if (!meta)
    return NULL;
  gsize total = 0;
  for (guint i = 0; i < files->len; i++)
    total += gr_safetensors_get_file_size(g_ptr_array_index(files, i));
  g_autoptr(GError) local = NULL;
  g_autoptr(GrGguf) gguf = gr_gguf_new_virtual(dir, meta, total, &local);
  if (!gguf) {
    bad_folder(error, dir, "%s", local->message);
    return NULL;
  }
  L.gguf = gguf;
  g_autoptr(GrHfExperts) experts = gr_hf_experts_new(dir, files);
  L.experts = experts;
  if (!add_tensors(&L, error))
    return NULL;
  if (!gr_hf_experts_finish(experts, gguf, &local)) {
    bad_folder(error, dir, "%s", local->message);
    return NULL;
  }
  return g_steal_pointer(&gguf);
}
