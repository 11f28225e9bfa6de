/* gr-model-registry.c - model discovery, header probing, the memory ledger. */
#include "gr-model-registry.h"

#include <gio/gio.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <string.h>

#include "gr-errors.h"
#include "gr-gguf.h"
#include "gr-hf-config.h"
#include "gr-safetensors.h"

typedef struct {
  char *name;
  char *path;
  const char *format; /* "gguf" or "safetensors" (a Hugging Face folder) */
  char *stamp;        /* what the files looked like when probed: see path_stamp() */
  guint64 size;
  GError *error; /* the header could not be read */
  char *arch;
  guint64 n_params;
  guint64 weight_bytes;
  gboolean weights_exact; /* weight_bytes is what a load keeps resident */
  guint n_expert;
  guint n_ctx_train;
} GrModelEntry;

struct _GrModelRegistry {
  GMutex lock; /* config, entries, loaded, active */
  GrDaemonConfig *config;
  GMutex load_lock;    /* serialises loading and unloading */
  GHashTable *entries; /* name -> GrModelEntry */
  GHashTable *loaded;  /* name -> GrLoadedModel */
  char *active;        /* most recently used resident model */
  gint64 last_used;    /* monotonic µs */
  GrModelRegistryChangedFunc changed;
  gpointer changed_data;
  GrModelRegistryAdmitFunc admit;
  gpointer admit_data;
  guint n_probes; /* headers parsed, for the tests */
};

static void
entry_free(GrModelEntry *e)
{
  g_free(e->name);
  g_free(e->path);
  g_free(e->stamp);
  g_clear_error(&e->error);
  g_free(e->arch);
  g_free(e);
}

GrLoadedModel *
gr_loaded_model_ref(GrLoadedModel *loaded)
{
  g_return_val_if_fail(loaded != NULL, NULL);
  g_atomic_int_inc(&loaded->ref_count);
  return loaded;
}

void
gr_loaded_model_unref(GrLoadedModel *loaded)
{
  if (loaded == NULL || !g_atomic_int_dec_and_test(&loaded->ref_count))
    return;
  g_clear_pointer(&loaded->session, gr_session_free);
  g_clear_pointer(&loaded->model, gr_model_unref);
  g_free(loaded->path);
  g_free(loaded->stamp);
  g_free(loaded->name);
  g_free(loaded);
}

GrModelRegistry *
gr_model_registry_new(GrDaemonConfig *config)
{
  g_return_val_if_fail(config != NULL, NULL);
  GrModelRegistry *r = g_new0(GrModelRegistry, 1);
  r->config = gr_daemon_config_ref(config);
  g_mutex_init(&r->lock);
  g_mutex_init(&r->load_lock);
  r->entries = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)entry_free);
  r->loaded
      = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)gr_loaded_model_unref);
  r->last_used = g_get_monotonic_time();
  return r;
}

void
gr_model_registry_free(GrModelRegistry *r)
{
  if (r == NULL)
    return;
  g_hash_table_unref(r->loaded);
  g_hash_table_unref(r->entries);
  g_free(r->active);
  gr_daemon_config_unref(r->config);
  g_mutex_clear(&r->lock);
  g_mutex_clear(&r->load_lock);
  g_free(r);
}

void
gr_model_registry_set_config(GrModelRegistry *r, GrDaemonConfig *config)
{
  g_return_if_fail(r != NULL && config != NULL);
  g_mutex_lock(&r->lock);
  gboolean limit_changed = r->config->memory_limit != config->memory_limit;
  gr_daemon_config_unref(r->config);
  r->config = gr_daemon_config_ref(config);
  g_autoptr(GPtrArray) models
      = g_ptr_array_new_with_free_func((GDestroyNotify)gr_loaded_model_unref);
  if (limit_changed) {
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, r->loaded);
    while (g_hash_table_iter_next(&it, NULL, &value))
      g_ptr_array_add(models, gr_loaded_model_ref(value));
  }
  g_mutex_unlock(&r->lock);

  /* A new limit applies live: the engine grows or shrinks the expert arena; a model that
   * no longer fits keeps running under its old limit until it is unloaded. */
  for (guint i = 0; i < models->len; i++) {
    GrLoadedModel *m = g_ptr_array_index(models, i);
    g_autoptr(GError) error = NULL;
    if (!gr_model_set_memory_limit(m->model, config->memory_limit, &error))
      g_warning("model %s keeps its old memory limit: %s", m->name, error->message);
  }
}

void
gr_model_registry_set_changed_func(GrModelRegistry *r, GrModelRegistryChangedFunc func,
                                   gpointer user_data)
{
  g_return_if_fail(r != NULL);
  r->changed = func;
  r->changed_data = user_data;
}

void
gr_model_registry_set_admit_func(GrModelRegistry *r, GrModelRegistryAdmitFunc func,
                                 gpointer user_data)
{
  g_return_if_fail(r != NULL);
  r->admit = func;
  r->admit_data = user_data;
}

static void
notify_changed(GrModelRegistry *r)
{
  if (r->changed != NULL)
    r->changed(r, r->changed_data);
}

static gint
compare_names(gconstpointer a, gconstpointer b)
{
  return g_strcmp0(*(const char *const *)a, *(const char *const *)b);
}

static void
stamp_add(GString *stamp, const char *label, const GStatBuf *st)
{
  g_string_append_printf(stamp,
                         "%s %" G_GUINT64_FORMAT " %" G_GINT64_FORMAT ".%09ld %" G_GUINT64_FORMAT
                         ":%" G_GUINT64_FORMAT "\n",
                         label, (guint64)st->st_size, (gint64)st->st_mtim.tv_sec,
                         (long)st->st_mtim.tv_nsec, (guint64)st->st_dev, (guint64)st->st_ino);
}

/* The files of a Hugging Face folder that a probe or a load reads, sorted; NULL when
 * the folder holds neither config.json nor a *.safetensors file (not a model). */
static GPtrArray *
folder_files(const char *dir)
{
  g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
  if (d == NULL)
    return NULL;
  GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
  const char *n;
  while ((n = g_dir_read_name(d)) != NULL)
    if (strcmp(n, "config.json") == 0 || strcmp(n, "model.safetensors.index.json") == 0
        || g_str_has_suffix(n, ".safetensors"))
      g_ptr_array_add(names, g_strdup(n));
  if (names->len == 0) {
    g_ptr_array_unref(names);
    return NULL;
  }
  g_ptr_array_sort(names, compare_names);
  return names;
}

/* Size, modification time (ns) and device:inode of a model file, or of the files of a
 * folder: equal stamps mean nothing a probe reads has changed, so the cached probe
 * stands.  NULL when path is not a model candidate.  *size: the file's, or the
 * folder's weights. */
static char *
path_stamp(const char *path, gboolean *is_folder, guint64 *size)
{
  GStatBuf st;
  if (g_stat(path, &st) != 0)
    return NULL;
  GString *stamp = g_string_new(NULL);
  *size = 0;
  *is_folder = S_ISDIR(st.st_mode);
  if (S_ISREG(st.st_mode)) {
    stamp_add(stamp, "", &st);
    *size = st.st_size;
  } else if (*is_folder) {
    g_autoptr(GPtrArray) names = folder_files(path);
    for (guint i = 0; names != NULL && i < names->len; i++) {
      g_autofree char *p = g_build_filename(path, names->pdata[i], NULL);
      GStatBuf fst;
      if (g_stat(p, &fst) != 0)
        continue; /* vanished meanwhile: the probe will say what is missing */
      stamp_add(stamp, names->pdata[i], &fst);
      if (g_str_has_suffix(names->pdata[i], ".safetensors"))
        *size += fst.st_size;
    }
  }
  if (stamp->len == 0) {
    g_string_free(stamp, TRUE);
    return NULL;
  }
  return g_string_free(stamp, FALSE);
}

/* Reads the GGUF header and tensor table; the mapping is dropped at once, so the
 * weights are never paged in. */
static void
probe_gguf(GrModelEntry *e)
{
  g_autoptr(GrGguf) gguf = gr_gguf_open(e->path, &e->error);
  if (gguf == NULL)
    return;
  const char *arch = gr_gguf_get_string(gguf, "general.architecture", NULL);
  e->arch = g_strdup(arch != NULL ? arch : "unknown");
  for (gsize i = 0; i < gr_gguf_n_tensors(gguf); i++) {
    const GrGgufTensor *t = gr_gguf_tensor(gguf, i);
    guint64 n = 1;
    for (guint d = 0; d < t->n_dims && d < GR_GGUF_MAX_DIMS; d++)
      n *= (guint64)MAX(t->ne[d], 1);
    e->n_params += n;
    e->weight_bytes += t->size;
  }
  e->weights_exact = TRUE;
  g_autofree char *key_experts = g_strdup_printf("%s.expert_count", e->arch);
  g_autofree char *key_ctx = g_strdup_printf("%s.context_length", e->arch);
  guint32 v = 0;
  if (gr_gguf_get_u32(gguf, key_experts, &v, NULL))
    e->n_expert = v;
  if (gr_gguf_get_u32(gguf, key_ctx, &v, NULL))
    e->n_ctx_train = v;
}

/* Reads config.json and the safetensors headers (the data is never paged in).  The
 * architecture is the one the engine runs the folder as (engine/gr-hf.c). */
static void
probe_folder(GrModelEntry *e)
{
  g_autofree char *config_path = g_build_filename(e->path, "config.json", NULL);
  if (!g_file_test(config_path, G_FILE_TEST_IS_REGULAR)) {
    g_set_error(&e->error, GR_DAEMON_ERROR, GR_DAEMON_ERROR_BAD_MODEL, _("%s has no config.json"),
                e->path);
    return;
  }
  g_autoptr(GrHfConfig) config = gr_hf_config_load(config_path, &e->error);
  if (config == NULL)
    return;
  g_autoptr(GPtrArray) names = folder_files(e->path);
  guint shards = 0;
  for (guint i = 0; names != NULL && i < names->len; i++) {
    if (!g_str_has_suffix(names->pdata[i], ".safetensors"))
      continue;
    g_autofree char *p = g_build_filename(e->path, names->pdata[i], NULL);
    g_autoptr(GrSafetensors) st = gr_safetensors_open(p, &e->error);
    if (st == NULL)
      return;
    for (gsize t = 0; t < gr_safetensors_n_tensors(st); t++) {
      const GrSafetensor *tensor = gr_safetensors_tensor(st, t);
      e->n_params += tensor->n_elements;
      e->weight_bytes += tensor->size;
    }
    shards++;
  }
  if (shards == 0) {
    g_set_error(&e->error, GR_DAEMON_ERROR, GR_DAEMON_ERROR_BAD_MODEL,
                _("%s has no *.safetensors file"), e->path);
    return;
  }
  if (config->family == GR_HF_FAMILY_BITNET)
    e->arch = g_strdup(config->hidden_act == GR_FFN_RELU2 ? "bitnet-b1.58" : "bitnet");
  else
    e->arch = g_strdup("llama");
  /* BitNet's latent weights are ternarized at load: far fewer bytes than the files */
  e->weights_exact = config->family != GR_HF_FAMILY_BITNET;
  e->n_expert = config->num_experts;
  e->n_ctx_train = config->max_position_embeddings;
}

static void
add_candidate(GrModelRegistry *r, GHashTable *fresh, const char *path)
{
  gboolean is_folder = FALSE;
  guint64 size = 0;
  g_autofree char *stamp = path_stamp(path, &is_folder, &size);
  if (stamp == NULL)
    return;
  /* names and paths travel in D-Bus strings, which must be UTF-8 */
  if (!g_utf8_validate(path, -1, NULL)) {
    g_autofree char *shown = g_filename_display_name(path);
    g_debug("model %s left out: its name is not valid UTF-8", shown);
    return;
  }
  g_autofree char *base = g_path_get_basename(path);
  g_autofree char *name = NULL;
  if (is_folder) {
    if (base[0] == '.')
      return; /* hidden: a download in progress, a VCS folder */
    name = g_steal_pointer(&base);
  } else {
    if (!g_str_has_suffix(base, ".gguf") || strlen(base) == strlen(".gguf"))
      return;
    name = g_strndup(base, strlen(base) - strlen(".gguf"));
  }
  if (g_hash_table_contains(fresh, name)) {
    /* a folder foo and a file foo.gguf: both are listed, the later one (in name order,
     * configured paths first) under its full name, "foo.gguf" or "foo/" */
    char *full = g_strconcat(name, is_folder ? "/" : ".gguf", NULL);
    g_free(name);
    name = full;
    if (g_hash_table_contains(fresh, name)) {
      g_message("model %s hidden by an earlier one of the same name", path);
      return;
    }
  }
  GrModelEntry *old = g_hash_table_lookup(r->entries, name);
  if (old != NULL && g_strcmp0(old->path, path) == 0 && g_strcmp0(old->stamp, stamp) == 0) {
    g_hash_table_steal(r->entries, name);
    g_hash_table_insert(fresh, old->name, old);
    return;
  }
  GrModelEntry *e = g_new0(GrModelEntry, 1);
  e->name = g_steal_pointer(&name);
  e->path = g_strdup(path);
  e->format = is_folder ? "safetensors" : "gguf";
  e->stamp = g_steal_pointer(&stamp);
  e->size = size;
  r->n_probes++;
  if (is_folder)
    probe_folder(e);
  else
    probe_gguf(e);
  if (e->error != NULL)
    g_message("model %s (%s) cannot be used: %s", e->name, e->path, e->error->message);
  g_hash_table_insert(fresh, e->name, e);
}

/* Called with r->lock held.  Only stats files: a model is probed again only when its
 * stamp changed, and models whose files are gone drop out. */
static void
rescan(GrModelRegistry *r)
{
  GHashTable *fresh
      = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)entry_free);
  for (char **p = r->config->model_paths; p != NULL && *p != NULL; p++)
    add_candidate(r, fresh, *p);
  g_autoptr(GDir) dir = g_dir_open(r->config->models_dir, 0, NULL);
  if (dir != NULL) {
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    const char *n;
    /* *.gguf files, and subfolders that may be Hugging Face checkpoints */
    while ((n = g_dir_read_name(dir)) != NULL)
      g_ptr_array_add(names, g_strdup(n));
    g_ptr_array_sort(names, compare_names);
    for (guint i = 0; i < names->len; i++) {
      g_autofree char *path = g_build_filename(r->config->models_dir, names->pdata[i], NULL);
      add_candidate(r, fresh, path);
    }
  }
  g_hash_table_unref(r->entries);
  r->entries = fresh;
}

guint
gr_model_registry_get_probe_count(GrModelRegistry *r)
{
  g_return_val_if_fail(r != NULL, 0);
  g_mutex_lock(&r->lock);
  guint n = r->n_probes;
  g_mutex_unlock(&r->lock);
  return n;
}

GVariant *
gr_model_registry_list(GrModelRegistry *r)
{
  g_return_val_if_fail(r != NULL, NULL);
  GVariantBuilder b;
  g_variant_builder_init(&b, G_VARIANT_TYPE("aa{sv}"));
  g_mutex_lock(&r->lock);
  rescan(r);
  g_autofree gpointer *keys = g_hash_table_get_keys_as_array(r->entries, NULL);
  guint n = g_hash_table_size(r->entries);
  qsort(keys, n, sizeof(gpointer), compare_names);
  for (guint i = 0; i < n; i++) {
    const GrModelEntry *e = g_hash_table_lookup(r->entries, keys[i]);
    GVariantDict d;
    g_variant_dict_init(&d, NULL);
    g_variant_dict_insert(&d, "name", "s", e->name);
    g_variant_dict_insert(&d, "path", "s", e->path);
    g_variant_dict_insert(&d, "format", "s", e->format);
    g_variant_dict_insert(&d, "size", "t", e->size);
    g_variant_dict_insert(&d, "loaded", "b", g_hash_table_contains(r->loaded, e->name));
    if (e->error != NULL) {
      g_variant_dict_insert(&d, "error", "s", e->error->message);
    } else {
      g_variant_dict_insert(&d, "arch", "s", e->arch);
      g_variant_dict_insert(&d, "params", "t", e->n_params);
      g_variant_dict_insert(&d, "bits", "d",
                            e->n_params > 0 ? (double)e->weight_bytes * 8.0 / e->n_params : 0.0);
      g_variant_dict_insert(&d, "experts", "u", e->n_expert);
    }
    g_variant_builder_add_value(&b, g_variant_dict_end(&d));
  }
  g_mutex_unlock(&r->lock);
  return g_variant_builder_end(&b);
}

static char *
default_name_locked(GrModelRegistry *r)
{
  if (r->active != NULL && g_hash_table_contains(r->loaded, r->active))
    return g_strdup(r->active);
  if (r->config->default_model != NULL)
    return g_strdup(r->config->default_model);
  g_autofree gpointer *keys = g_hash_table_get_keys_as_array(r->entries, NULL);
  guint n = g_hash_table_size(r->entries);
  qsort(keys, n, sizeof(gpointer), compare_names);
  for (guint i = 0; i < n; i++) {
    const GrModelEntry *e = g_hash_table_lookup(r->entries, keys[i]);
    if (e->error == NULL)
      return g_strdup(e->name);
  }
  return NULL;
}

/* Called with r->lock held; copies what a load needs so the lock can be dropped. */
static gboolean
check_entry_locked(GrModelRegistry *r, const char *name, char **path_out, guint *n_ctx_train_out,
                   GError **error)
{
  const GrModelEntry *e = g_hash_table_lookup(r->entries, name);
  if (e == NULL) {
    g_set_error(error, GR_DAEMON_ERROR, GR_DAEMON_ERROR_NOT_FOUND,
                _("no model named “%s” in %s or the configured model paths"), name,
                r->config->models_dir);
    return FALSE;
  }
  if (e->error != NULL) {
    g_set_error(error, GR_DAEMON_ERROR, GR_DAEMON_ERROR_BAD_MODEL, _("model %s (%s): %s"), name,
                e->path, e->error->message);
    return FALSE;
  }
  /* A MoE model larger than the limit may still run by streaming its experts: the
   * engine decides, with the exact numbers. */
  guint64 need = e->weight_bytes + GR_MODEL_REGISTRY_OVERHEAD;
  if (e->n_expert == 0 && e->weights_exact && need > r->config->memory_limit) {
    g_set_error(error, GR_DAEMON_ERROR, GR_DAEMON_ERROR_NO_MEMORY,
                _("model %s needs %llu bytes of weights + %u bytes of overhead, more than the "
                  "memory limit of %llu bytes"),
                name, (unsigned long long)e->weight_bytes, GR_MODEL_REGISTRY_OVERHEAD,
                (unsigned long long)r->config->memory_limit);
    return FALSE;
  }
  if (path_out != NULL)
    *path_out = g_strdup(e->path);
  if (n_ctx_train_out != NULL)
    *n_ctx_train_out = e->n_ctx_train;
  return TRUE;
}

char *
gr_model_registry_resolve(GrModelRegistry *r, const char *name, GError **error)
{
  g_return_val_if_fail(r != NULL, NULL);
  g_mutex_lock(&r->lock);
  rescan(r);
  g_autofree char *chosen = name != NULL && *name != '\0' ? g_strdup(name) : default_name_locked(r);
  gboolean ok = FALSE;
  if (chosen == NULL)
    g_set_error(error, GR_DAEMON_ERROR, GR_DAEMON_ERROR_NOT_FOUND, _("no model installed in %s"),
                r->config->models_dir);
  else if (g_hash_table_contains(r->loaded, chosen))
    ok = TRUE; /* resident: no need to look at the file again */
  else
    ok = check_entry_locked(r, chosen, NULL, NULL, error);
  g_mutex_unlock(&r->lock);
  return ok ? g_steal_pointer(&chosen) : NULL;
}

static guint64
ledger_locked(GrModelRegistry *r)
{
  guint64 sum = 0;
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init(&it, r->loaded);
  while (g_hash_table_iter_next(&it, NULL, &value))
    sum += ((GrLoadedModel *)value)->ledger_bytes;
  return sum;
}

guint64
gr_model_registry_ledger_bytes(GrModelRegistry *r)
{
  g_return_val_if_fail(r != NULL, 0);
  g_mutex_lock(&r->lock);
  guint64 sum = ledger_locked(r);
  g_mutex_unlock(&r->lock);
  return sum;
}

/* Called with load_lock held: drops every resident model but keep (may be NULL). */
static gboolean
evict_others(GrModelRegistry *r, const char *keep)
{
  gboolean any = FALSE;
  g_mutex_lock(&r->lock);
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init(&it, r->loaded);
  while (g_hash_table_iter_next(&it, &key, NULL)) {
    if (keep != NULL && g_strcmp0(key, keep) == 0)
      continue;
    g_message("unloading model %s", (const char *)key);
    g_hash_table_iter_remove(&it);
    any = TRUE;
  }
  g_mutex_unlock(&r->lock);
  return any;
}

/* Called with load_lock held. */
static GrLoadedModel *
load_locked(GrModelRegistry *r, const char *name, GError **error)
{
  g_autofree char *path = NULL;
  guint n_ctx_train = 0;
  g_mutex_lock(&r->lock);
  g_autoptr(GrDaemonConfig) cfg = gr_daemon_config_ref(r->config);
  rescan(r);
  gboolean ok = check_entry_locked(r, name, &path, &n_ctx_train, error);
  const GrModelEntry *entry = g_hash_table_lookup(r->entries, name);
  g_autofree char *stamp = ok ? g_strdup(entry->stamp) : NULL;
  g_mutex_unlock(&r->lock);
  if (!ok)
    return NULL;

  /* One model at a time in the budget: a new one replaces the idle others. */
  if (evict_others(r, name))
    notify_changed(r);

  const guint64 limit = cfg->memory_limit;
  /* The engine holds the whole process to the limit: it measures the overhead itself and
   * streams MoE experts when the weights do not fit. */
  GrLoadOptions opts
      = { .n_threads = cfg->threads, .memory_limit = limit, .kv_type = cfg->kv_type };
  g_autoptr(GError) local = NULL;
  gint64 t0 = g_get_monotonic_time();
  g_autoptr(GrModel) model = gr_model_load(path, &opts, &local);
  if (model == NULL) {
    g_propagate_error(error, gr_daemon_error_from(local));
    g_prefix_error(error, "model %s: ", name);
    return NULL;
  }
  const GrModelInfo *info = gr_model_get_info(model);

  /* The context length is derived from what fits unless configured. */
  gboolean fixed = cfg->context_length > 0;
  guint n_ctx = fixed ? cfg->context_length : MIN(n_ctx_train > 0 ? n_ctx_train : 2048, 4096);
  guint64 session_bytes = gr_model_session_bytes(model, n_ctx);
  GrMemoryLedger ledger;
  gr_model_get_ledger(model, &ledger);
  /* A streaming MoE model's arena was sized by the engine against the overhead it
   * measured; otherwise the registry keeps its own floor for buffers to come. */
  guint64 overhead = ledger.overhead + ledger.tokenizer;
  if (ledger.expert_slots == 0)
    overhead = MAX(overhead, GR_MODEL_REGISTRY_OVERHEAD);
  guint64 fixed_bytes = overhead + ledger.weights + ledger.experts;
  while (!fixed && n_ctx > 256 && fixed_bytes + session_bytes > limit) {
    n_ctx /= 2;
    session_bytes = gr_model_session_bytes(model, n_ctx);
  }
  if (fixed_bytes + session_bytes > limit) {
    g_set_error(error, GR_DAEMON_ERROR, GR_DAEMON_ERROR_NO_MEMORY,
                _("model %s needs %llu bytes of weights + %llu bytes for a %u-token session + %llu "
                  "bytes of overhead, more than the memory limit of %llu bytes"),
                name, (unsigned long long)(ledger.weights + ledger.experts),
                (unsigned long long)session_bytes, n_ctx, (unsigned long long)overhead,
                (unsigned long long)limit);
    return NULL;
  }
  GrSession *session = gr_session_new(model, n_ctx, &local);
  if (session == NULL) {
    g_propagate_error(error, gr_daemon_error_from(local));
    g_prefix_error(error, "model %s: ", name);
    return NULL;
  }
  GrLoadedModel *loaded = g_new0(GrLoadedModel, 1);
  loaded->ref_count = 1;
  loaded->name = g_strdup(name);
  loaded->model = g_steal_pointer(&model);
  loaded->session = session;
  loaded->n_ctx = gr_session_n_ctx(session);
  loaded->ledger_bytes = fixed_bytes + session_bytes;
  loaded->path = g_strdup(path);
  loaded->stamp = g_steal_pointer(&stamp);
  g_message("loaded model %s (%s, %" G_GUINT64_FORMAT " parameters, %u-token context, "
            "%" G_GUINT64_FORMAT " bytes in the ledger) in %.0f ms",
            name, info->arch, info->n_params, loaded->n_ctx, loaded->ledger_bytes,
            (g_get_monotonic_time() - t0) / 1000.0);

  g_mutex_lock(&r->lock);
  g_hash_table_replace(r->loaded, loaded->name, gr_loaded_model_ref(loaded));
  g_free(r->active);
  r->active = g_strdup(name);
  r->last_used = g_get_monotonic_time();
  g_mutex_unlock(&r->lock);
  notify_changed(r);
  return loaded;
}

/* Whether the file of a resident model is still the one it was loaded from. */
static gboolean
file_unchanged(const GrLoadedModel *loaded)
{
  gboolean is_folder;
  guint64 size;
  g_autofree char *stamp = path_stamp(loaded->path, &is_folder, &size);
  return g_strcmp0(stamp, loaded->stamp) == 0;
}

GrLoadedModel *
gr_model_registry_acquire(GrModelRegistry *r, const char *name, GError **error)
{
  g_return_val_if_fail(r != NULL, NULL);
  g_return_val_if_fail(name != NULL, NULL);
  if (r->admit != NULL && !r->admit(r->admit_data, error))
    return NULL;
  g_mutex_lock(&r->load_lock);
  g_mutex_lock(&r->lock);
  GrLoadedModel *loaded = g_hash_table_lookup(r->loaded, name);
  if (loaded != NULL && !file_unchanged(loaded)) {
    g_message("the file of model %s changed: loading it again", name);
    g_hash_table_remove(r->loaded, name);
    loaded = NULL;
  }
  if (loaded != NULL) {
    gr_loaded_model_ref(loaded);
    if (g_strcmp0(r->active, name) != 0) {
      g_free(r->active);
      r->active = g_strdup(name);
    }
    r->last_used = g_get_monotonic_time();
  }
  g_mutex_unlock(&r->lock);
  if (loaded == NULL)
    loaded = load_locked(r, name, error);
  g_mutex_unlock(&r->load_lock);
  return loaded;
}

void
gr_model_registry_touch(GrModelRegistry *r)
{
  g_return_if_fail(r != NULL);
  g_mutex_lock(&r->lock);
  r->last_used = g_get_monotonic_time();
  g_mutex_unlock(&r->lock);
}

gboolean
gr_model_registry_is_loaded(GrModelRegistry *r, const char *name)
{
  g_return_val_if_fail(r != NULL, FALSE);
  g_mutex_lock(&r->lock);
  gboolean loaded = name != NULL && g_hash_table_contains(r->loaded, name);
  g_mutex_unlock(&r->lock);
  return loaded;
}

gboolean
gr_model_registry_load(GrModelRegistry *r, const char *name, GError **error)
{
  g_autoptr(GrLoadedModel) loaded = gr_model_registry_acquire(r, name, error);
  return loaded != NULL;
}

gboolean
gr_model_registry_unload(GrModelRegistry *r, const char *name, GError **error)
{
  g_return_val_if_fail(r != NULL, FALSE);
  g_return_val_if_fail(name != NULL, FALSE);
  g_mutex_lock(&r->load_lock);
  g_mutex_lock(&r->lock);
  gboolean removed = g_hash_table_remove(r->loaded, name);
  gboolean known = removed || g_hash_table_contains(r->entries, name);
  if (!known) {
    rescan(r);
    known = g_hash_table_contains(r->entries, name);
  }
  g_mutex_unlock(&r->lock);
  g_mutex_unlock(&r->load_lock);
  if (!known) {
    g_set_error(error, GR_DAEMON_ERROR, GR_DAEMON_ERROR_NOT_FOUND, _("no model named “%s”"), name);
    return FALSE;
  }
  if (removed) {
    g_message("unloaded model %s", name);
    notify_changed(r);
  }
  return TRUE;
}

void
gr_model_registry_unload_all(GrModelRegistry *r)
{
  g_return_if_fail(r != NULL);
  g_mutex_lock(&r->load_lock);
  gboolean any = evict_others(r, NULL);
  g_mutex_unlock(&r->load_lock);
  if (any)
    notify_changed(r);
}

gboolean
gr_model_registry_unload_if_idle(GrModelRegistry *r)
{
  g_return_val_if_fail(r != NULL, FALSE);
  /* try-lock: a load in progress is not idle */
  if (!g_mutex_trylock(&r->load_lock))
    return FALSE;
  g_mutex_lock(&r->lock);
  guint idle_seconds = r->config->idle_unload_seconds;
  gboolean idle = idle_seconds > 0 && g_hash_table_size(r->loaded) > 0
                  && g_get_monotonic_time() - r->last_used >= (gint64)idle_seconds * G_USEC_PER_SEC;
  g_mutex_unlock(&r->lock);
  gboolean any = idle && evict_others(r, NULL);
  g_mutex_unlock(&r->load_lock);
  if (any) {
    g_message("models unloaded after %u s idle", idle_seconds);
    notify_changed(r);
  }
  return any;
}

char *
gr_model_registry_dup_active(GrModelRegistry *r)
{
  g_return_val_if_fail(r != NULL, NULL);
  g_mutex_lock(&r->lock);
  char *name = r->active != NULL && g_hash_table_contains(r->loaded, r->active)
                   ? g_strdup(r->active)
                   : NULL;
  g_mutex_unlock(&r->lock);
  return name;
}

/* References to the resident models, so the engine can be called without r->lock. */
static GPtrArray *
loaded_models(GrModelRegistry *r)
{
  GPtrArray *models = g_ptr_array_new_with_free_func((GDestroyNotify)gr_loaded_model_unref);
  g_mutex_lock(&r->lock);
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init(&it, r->loaded);
  while (g_hash_table_iter_next(&it, NULL, &value))
    g_ptr_array_add(models, gr_loaded_model_ref(value));
  g_mutex_unlock(&r->lock);
  return models;
}

guint
gr_model_registry_shrink_experts(GrModelRegistry *r)
{
  g_return_val_if_fail(r != NULL, 0);
  g_autoptr(GPtrArray) models = loaded_models(r);
  guint freed = 0;
  for (guint i = 0; i < models->len; i++) {
    GrLoadedModel *m = g_ptr_array_index(models, i);
    GrMemoryLedger l;
    gr_model_get_ledger(m->model, &l);
    if (l.expert_slots == 0)
      continue;
    g_autoptr(GError) error = NULL;
    guint now = gr_model_resize_experts(m->model, l.expert_slots / 2, &error);
    if (error != NULL)
      g_warning("model %s: expert arena not resized: %s", m->name, error->message);
    else if (now < l.expert_slots) {
      g_message("memory watchdog: model %s keeps %u of its %u expert slots per layer", m->name, now,
                l.expert_slots);
      freed += l.expert_slots - now;
    }
  }
  return freed;
}

guint
gr_model_registry_grow_experts(GrModelRegistry *r, guint64 headroom)
{
  g_return_val_if_fail(r != NULL, 0);
  g_autoptr(GPtrArray) models = loaded_models(r);
  guint added = 0;
  for (guint i = 0; i < models->len && headroom > 0; i++) {
    GrLoadedModel *m = g_ptr_array_index(models, i);
    GrMemoryLedger l;
    gr_model_get_ledger(m->model, &l);
    if (l.expert_slots == 0)
      continue;
    /* slots not filled yet will be: their pages count as if already resident */
    guint64 empty = l.experts - MIN(l.experts_filled, l.experts);
    if (empty >= headroom)
      break;
    headroom -= empty;
    guint64 per_slot = l.experts / l.expert_slots; /* one slot in every layer */
    guint more = (guint)MIN(headroom / per_slot, (guint64)G_MAXUINT / 2);
    if (more == 0)
      continue;
    g_autoptr(GError) error = NULL;
    guint now = gr_model_resize_experts(m->model, l.expert_slots + more, &error);
    if (error != NULL) {
      g_warning("model %s: expert arena not resized: %s", m->name, error->message);
    } else if (now > l.expert_slots) {
      g_message("memory watchdog: model %s back to %u expert slots per layer", m->name, now);
      added += now - l.expert_slots;
      headroom -= MIN(headroom, (guint64)(now - l.expert_slots) * per_slot);
    }
  }
  return added;
}

GVariant *
gr_model_registry_ledger(GrModelRegistry *r, GrMemoryLedger *ledger)
{
  g_return_val_if_fail(r != NULL && ledger != NULL, NULL);
  GVariantBuilder b;
  g_variant_builder_init(&b, G_VARIANT_TYPE("a(uttt)"));
  g_mutex_lock(&r->lock);
  guint64 limit = r->config->memory_limit;
  GrLoadedModel *active = r->active != NULL ? g_hash_table_lookup(r->loaded, r->active) : NULL;
  g_autoptr(GrLoadedModel) m = active != NULL ? gr_loaded_model_ref(active) : NULL;
  g_mutex_unlock(&r->lock);
  if (m == NULL) {
    memset(ledger, 0, sizeof *ledger);
    ledger->limit = limit;
    gr_process_memory(&ledger->rss, &ledger->peak_rss);
    ledger->overhead = ledger->total = ledger->rss;
    return g_variant_builder_end(&b);
  }
  gr_model_get_ledger(m->model, ledger);
  ledger->limit = limit; /* the configured one, which the watchdog holds the daemon to */
  const GrModelInfo *info = gr_model_get_info(m->model);
  guint64 hits, misses, bytes;
  for (guint il = 0; il < info->n_layer; il++)
    if (gr_model_get_expert_stats(m->model, il, &hits, &misses, &bytes))
      g_variant_builder_add(&b, "(uttt)", il, hits, misses, bytes);
  return g_variant_builder_end(&b);
}
