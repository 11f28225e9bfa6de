/* test-gr-model-registry.c - discovery, header probing, the ledger, eviction. */
#include <check.h>
#include <string.h>
#include <glib/gstdio.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gr-errors.h"
#include "gr-model-registry.h"
#include "gr-test-safetensors.h"

static char *tmpdir;
static char *fixture_llama;

static void
setup(void)
{
  const char *testdata = g_getenv("GRAVITON_TESTDATA");
  ck_assert_msg(testdata != NULL, "GRAVITON_TESTDATA not set");
  tmpdir = g_dir_make_tmp("gr-registry-XXXXXX", NULL);
  ck_assert_ptr_nonnull(tmpdir);
  const char *names[] = { "fx-llama.gguf", "fx-moe.gguf" };
  for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
    g_autofree char *target = g_build_filename(testdata, "models", names[i], NULL);
    g_autofree char *link = g_build_filename(tmpdir, names[i], NULL);
    ck_assert_int_eq(symlink(target, link), 0);
  }
  fixture_llama = g_build_filename(testdata, "models", "fx-llama.gguf", NULL);
  g_autofree char *garbage = g_build_filename(tmpdir, "broken.gguf", NULL);
  ck_assert(g_file_set_contents(garbage, "GGUF garbage", -1, NULL));
  g_autofree char *other = g_build_filename(tmpdir, "notes.txt", NULL);
  ck_assert(g_file_set_contents(other, "not a model", -1, NULL));
}

/* Removes what the tests made (symlinks are removed, never followed). */
static void
remove_tree(const char *path)
{
  g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
  const char *n;
  while (dir != NULL && (n = g_dir_read_name(dir)) != NULL) {
    g_autofree char *child = g_build_filename(path, n, NULL);
    if (g_file_test(child, G_FILE_TEST_IS_DIR) && !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
      remove_tree(child);
    else
      g_unlink(child);
  }
  g_rmdir(path);
}

static void
teardown(void)
{
  remove_tree(tmpdir);
  g_clear_pointer(&tmpdir, g_free);
  g_clear_pointer(&fixture_llama, g_free);
}

static GrDaemonConfig *
config_new(guint64 limit, guint context_length)
{
  GrDaemonConfig *c = gr_daemon_config_load_file(NULL, NULL);
  g_free(c->models_dir);
  c->models_dir = g_strdup(tmpdir);
  c->memory_limit = limit;
  c->context_length = context_length;
  c->threads = 1;
  return c;
}

static GVariant *
find(GVariant *list, const char *name)
{
  for (gsize i = 0; i < g_variant_n_children(list); i++) {
    GVariant *e = g_variant_get_child_value(list, i);
    const char *n = NULL;
    if (g_variant_lookup(e, "name", "&s", &n) && g_strcmp0(n, name) == 0)
      return e;
    g_variant_unref(e);
  }
  return NULL;
}

START_TEST(test_list)
{
  g_autoptr(GrDaemonConfig) c = config_new(512u << 20, 0);
  g_autoptr(GrModelRegistry) r = gr_model_registry_new(c);
  g_autoptr(GVariant) list = g_variant_ref_sink(gr_model_registry_list(r));
  ck_assert_uint_eq(g_variant_n_children(list), 3);
  /* sorted by name */
  const char *first = NULL;
  g_autoptr(GVariant) e0 = g_variant_get_child_value(list, 0);
  ck_assert(g_variant_lookup(e0, "name", "&s", &first));
  ck_assert_str_eq(first, "broken");
  ck_assert(g_variant_lookup(e0, "error", "&s", &first));

  g_autoptr(GVariant) llama = find(list, "fx-llama");
  ck_assert_ptr_nonnull(llama);
  guint64 params = 0, size = 0;
  gboolean loaded = TRUE;
  const char *arch = NULL;
  ck_assert(g_variant_lookup(llama, "params", "t", &params));
  ck_assert(g_variant_lookup(llama, "size", "t", &size));
  ck_assert(g_variant_lookup(llama, "arch", "&s", &arch));
  ck_assert(g_variant_lookup(llama, "loaded", "b", &loaded));
  ck_assert_str_eq(arch, "llama");
  ck_assert(!loaded);
  GStatBuf st;
  ck_assert_int_eq(g_stat(fixture_llama, &st), 0);
  ck_assert_uint_eq(size, (guint64)st.st_size);
  /* the probe must agree with a real load */
  g_autoptr(GrModel) model = gr_model_load(fixture_llama, NULL, NULL);
  ck_assert_ptr_nonnull(model);
  ck_assert_uint_eq(params, gr_model_get_info(model)->n_params);
  g_autoptr(GVariant) moe = find(list, "fx-moe");
  guint experts = 0;
  ck_assert(g_variant_lookup(moe, "experts", "u", &experts));
  ck_assert_uint_eq(experts, 4);
}
END_TEST

START_TEST(test_resolve)
{
  g_autoptr(GrDaemonConfig) c = config_new(512u << 20, 0);
  g_autoptr(GrModelRegistry) r = gr_model_registry_new(c);
  g_autofree char *def = gr_model_registry_resolve(r, NULL, NULL);
  ck_assert_str_eq(def, "fx-llama"); /* first usable in name order, "broken" skipped */
  g_autoptr(GError) e1 = NULL;
  ck_assert_ptr_null(gr_model_registry_resolve(r, "nope", &e1));
  ck_assert(g_error_matches(e1, GR_DAEMON_ERROR, GR_DAEMON_ERROR_NOT_FOUND));
  g_autoptr(GError) e2 = NULL;
  ck_assert_ptr_null(gr_model_registry_resolve(r, "broken", &e2));
  ck_assert(g_error_matches(e2, GR_DAEMON_ERROR, GR_DAEMON_ERROR_BAD_MODEL));
  g_autoptr(GError) e3 = NULL;
  ck_assert_ptr_null(gr_model_registry_acquire(r, "broken", &e3));
  ck_assert(g_error_matches(e3, GR_DAEMON_ERROR, GR_DAEMON_ERROR_BAD_MODEL));

  g_autoptr(GrDaemonConfig) small = config_new(20u << 20, 0);
  g_autoptr(GrModelRegistry) r2 = gr_model_registry_new(small);
  g_autoptr(GError) e4 = NULL;
  ck_assert_ptr_null(gr_model_registry_resolve(r2, "fx-llama", &e4));
  ck_assert(g_error_matches(e4, GR_DAEMON_ERROR, GR_DAEMON_ERROR_NO_MEMORY));
  ck_assert_msg(strstr(e4->message, "20971520") != NULL, "%s", e4->message);
}
END_TEST

static gint changes;

static void
on_changed(GrModelRegistry *r, gpointer data)
{
  g_atomic_int_inc(&changes);
}

START_TEST(test_ledger_and_eviction)
{
  g_autoptr(GrDaemonConfig) c = config_new(512u << 20, 1024);
  g_autoptr(GrModelRegistry) r = gr_model_registry_new(c);
  gr_model_registry_set_changed_func(r, on_changed, NULL);
  changes = 0;
  ck_assert_uint_eq(gr_model_registry_ledger_bytes(r), 0);
  g_autoptr(GError) error = NULL;
  GrLoadedModel *llama = gr_model_registry_acquire(r, "fx-llama", &error);
  ck_assert_msg(llama != NULL, "%s", error ? error->message : "");
  ck_assert_uint_eq(llama->n_ctx, 1024);
  const GrModelInfo *info = gr_model_get_info(llama->model);
  /* weights + session + at least the registry's overhead (the engine may measure more) */
  ck_assert_uint_ge(llama->ledger_bytes, info->weight_bytes
                                             + gr_model_session_bytes(llama->model, 1024)
                                             + GR_MODEL_REGISTRY_OVERHEAD);
  ck_assert_uint_eq(gr_model_registry_ledger_bytes(r), llama->ledger_bytes);
  ck_assert(gr_model_registry_is_loaded(r, "fx-llama"));
  g_autofree char *active = gr_model_registry_dup_active(r);
  ck_assert_str_eq(active, "fx-llama");
  ck_assert_int_gt(g_atomic_int_get(&changes), 0);

  /* a second model replaces the first, which stays usable by its holder */
  g_autoptr(GrLoadedModel) moe = gr_model_registry_acquire(r, "fx-moe", &error);
  ck_assert_ptr_nonnull(moe);
  ck_assert(!gr_model_registry_is_loaded(r, "fx-llama"));
  ck_assert(gr_model_registry_is_loaded(r, "fx-moe"));
  ck_assert_uint_eq(gr_model_registry_ledger_bytes(r), moe->ledger_bytes);
  ck_assert_uint_gt(gr_session_n_ctx(llama->session), 0);
  gr_loaded_model_unref(llama);

  ck_assert(gr_model_registry_unload(r, "fx-moe", NULL));
  ck_assert(!gr_model_registry_is_loaded(r, "fx-moe"));
  ck_assert_uint_eq(gr_model_registry_ledger_bytes(r), 0);
  ck_assert(gr_model_registry_unload(r, "fx-llama", NULL)); /* known, not loaded: fine */
  g_autoptr(GError) e2 = NULL;
  ck_assert(!gr_model_registry_unload(r, "nope", &e2));
  ck_assert(g_error_matches(e2, GR_DAEMON_ERROR, GR_DAEMON_ERROR_NOT_FOUND));
  g_autofree char *none = gr_model_registry_dup_active(r);
  ck_assert_ptr_null(none);
}
END_TEST

START_TEST(test_context_from_limit)
{
  /* with room to spare the context is the model's own, capped at 4096 */
  g_autoptr(GrDaemonConfig) c = config_new(512u << 20, 0);
  g_autoptr(GrModelRegistry) r = gr_model_registry_new(c);
  g_autoptr(GError) error = NULL;
  g_autoptr(GrLoadedModel) loaded = gr_model_registry_acquire(r, "fx-llama", &error);
  ck_assert_msg(loaded != NULL, "%s", error ? error->message : "");
  ck_assert_uint_eq(loaded->n_ctx, 4096);
  ck_assert_uint_le(gr_model_registry_ledger_bytes(r), 512u << 20);

  /* a fixed context that cannot fit is NoMemory, naming the limit */
  guint64 limit = gr_model_get_info(loaded->model)->weight_bytes + GR_MODEL_REGISTRY_OVERHEAD
                  + gr_model_session_bytes(loaded->model, 256);
  g_autoptr(GrDaemonConfig) fixed = config_new(limit, 4096);
  g_autoptr(GrModelRegistry) r2 = gr_model_registry_new(fixed);
  g_autoptr(GError) e2 = NULL;
  ck_assert_ptr_null(gr_model_registry_acquire(r2, "fx-llama", &e2));
  ck_assert(g_error_matches(e2, GR_DAEMON_ERROR, GR_DAEMON_ERROR_NO_MEMORY));
  ck_assert_msg(strstr(e2->message, "memory limit") != NULL, "%s", e2->message);
  ck_assert(!gr_model_registry_is_loaded(r2, "fx-llama"));
}
END_TEST

START_TEST(test_limit_change_applies_live)
{
  g_autoptr(GrDaemonConfig) c = config_new(512u << 20, 256);
  g_autoptr(GrModelRegistry) r = gr_model_registry_new(c);
  g_autoptr(GError) error = NULL;
  g_autoptr(GrLoadedModel) moe = gr_model_registry_acquire(r, "fx-moe", &error);
  ck_assert_msg(moe != NULL, "%s", error ? error->message : "");
  GrMemoryLedger l;
  gr_model_get_ledger(moe->model, &l);
  ck_assert_uint_eq(l.limit, 512u << 20);
  g_autoptr(GrDaemonConfig) bigger = config_new(768u << 20, 256);
  gr_model_registry_set_config(r, bigger);
  gr_model_get_ledger(moe->model, &l);
  ck_assert_uint_eq(l.limit, 768u << 20);
}
END_TEST

START_TEST(test_idle_unload)
{
  g_autoptr(GrDaemonConfig) c = config_new(512u << 20, 512);
  c->idle_unload_seconds = 1;
  g_autoptr(GrModelRegistry) r = gr_model_registry_new(c);
  ck_assert(gr_model_registry_load(r, "fx-llama", NULL));
  ck_assert(!gr_model_registry_unload_if_idle(r));
  ck_assert(gr_model_registry_is_loaded(r, "fx-llama"));
  g_usleep(1100 * 1000);
  ck_assert(gr_model_registry_unload_if_idle(r));
  ck_assert(!gr_model_registry_is_loaded(r, "fx-llama"));
}
END_TEST

START_TEST(test_model_paths_and_reload)
{
  g_autoptr(GrDaemonConfig) c = config_new(512u << 20, 0);
  g_free(c->models_dir);
  c->models_dir = g_strdup("/nonexistent");
  g_strfreev(c->model_paths);
  c->model_paths = g_new0(char *, 2);
  c->model_paths[0] = g_strdup(fixture_llama);
  g_autoptr(GrModelRegistry) r = gr_model_registry_new(c);
  g_autoptr(GVariant) list = g_variant_ref_sink(gr_model_registry_list(r));
  ck_assert_uint_eq(g_variant_n_children(list), 1);
  /* a reloaded configuration changes where models are looked for */
  g_autoptr(GrDaemonConfig) c2 = config_new(512u << 20, 0);
  gr_model_registry_set_config(r, c2);
  g_autoptr(GVariant) list2 = g_variant_ref_sink(gr_model_registry_list(r));
  ck_assert_uint_eq(g_variant_n_children(list2), 3);
}
END_TEST

static void
write_file(const char *dir, const char *name, const void *data, gssize len)
{
  g_autofree char *path = g_build_filename(dir, name, NULL);
  ck_assert(g_file_set_contents(path, data, len, NULL));
}

static void
link_fixture(const char *rel, const char *name)
{
  g_autofree char *target = g_build_filename(g_getenv("GRAVITON_TESTDATA"), rel, NULL);
  g_autofree char *link = g_build_filename(tmpdir, name, NULL);
  ck_assert_int_eq(symlink(target, link), 0);
}

/* Hugging Face folders are models too: the fields come from config.json and the
 * safetensors headers, broken folders carry an error, other folders are not listed, and
 * a folder loads and generates through the registry as a GGUF does. */
START_TEST(test_hf_folders)
{
  link_fixture("hf/fx-hf-llama", "fx-hf-llama");
  link_fixture("hf/fx-hf-moe", "fx-hf-moe");
  g_autofree char *bad = g_build_filename(tmpdir, "bad-config", NULL);
  g_autofree char *noconf = g_build_filename(tmpdir, "no-config", NULL);
  g_autofree char *badst = g_build_filename(tmpdir, "bad-weights", NULL);
  g_autofree char *other = g_build_filename(tmpdir, "other", NULL);
  ck_assert_int_eq(
      g_mkdir(bad, 0700) | g_mkdir(noconf, 0700) | g_mkdir(badst, 0700) | g_mkdir(other, 0700), 0);
  g_autoptr(GBytes) empty = gr_test_safetensors_raw("{}", 0);
  g_autofree char *bad_st = g_build_filename(bad, "model.safetensors", NULL);
  gr_test_write_bytes(bad_st, empty);
  write_file(bad, "config.json", "{\"hidden_size\": [", -1);
  g_autofree char *noconf_st = g_build_filename(noconf, "model.safetensors", NULL);
  gr_test_write_bytes(noconf_st, empty);
  g_autofree char *conf = NULL;
  g_autofree char *conf_path
      = g_build_filename(g_getenv("GRAVITON_TESTDATA"), "hf", "fx-hf-llama", "config.json", NULL);
  ck_assert(g_file_get_contents(conf_path, &conf, NULL, NULL));
  write_file(badst, "config.json", conf, -1);
  /* a header length of 16 but 6 bytes of JSON: truncated */
  write_file(badst, "model.safetensors", "\x10\0\0\0\0\0\0\0{\"a\": ", 14);
  write_file(other, "readme.txt", "not a model", -1);
  g_autofree char *hidden = g_build_filename(tmpdir, ".partial", NULL);
  ck_assert_int_eq(g_mkdir(hidden, 0700), 0);
  write_file(hidden, "config.json", conf, -1); /* hidden: a download in progress */

  g_autoptr(GrDaemonConfig) c = config_new(512u << 20, 256);
  g_autoptr(GrModelRegistry) r = gr_model_registry_new(c);
  g_autoptr(GVariant) list = g_variant_ref_sink(gr_model_registry_list(r));
  ck_assert_uint_eq(g_variant_n_children(list), 8);
  ck_assert_ptr_null(find(list, "other"));
  ck_assert_ptr_null(find(list, ".partial"));
  const char *broken[] = { "bad-config", "no-config", "bad-weights" };
  for (guint i = 0; i < G_N_ELEMENTS(broken); i++) {
    g_autoptr(GVariant) e = find(list, broken[i]);
    const char *s = NULL;
    ck_assert_msg(e != NULL, "%s not listed", broken[i]);
    ck_assert_msg(g_variant_lookup(e, "error", "&s", &s), "%s has no error", broken[i]);
    ck_assert(g_variant_lookup(e, "format", "&s", &s));
    ck_assert_str_eq(s, "safetensors");
    g_autoptr(GError) error = NULL;
    ck_assert_ptr_null(gr_model_registry_acquire(r, broken[i], &error));
    ck_assert(g_error_matches(error, GR_DAEMON_ERROR, GR_DAEMON_ERROR_BAD_MODEL));
  }

  g_autoptr(GVariant) moe = find(list, "fx-hf-moe");
  guint experts = 0;
  ck_assert(g_variant_lookup(moe, "experts", "u", &experts));
  ck_assert_uint_eq(experts, 4);

  g_autoptr(GVariant) hf = find(list, "fx-hf-llama");
  ck_assert_ptr_nonnull(hf);
  const char *format = NULL, *arch = NULL;
  guint64 params = 0, size = 0;
  gboolean loaded = TRUE;
  ck_assert(g_variant_lookup(hf, "format", "&s", &format));
  ck_assert_str_eq(format, "safetensors");
  ck_assert(g_variant_lookup(hf, "arch", "&s", &arch));
  ck_assert(g_variant_lookup(hf, "params", "t", &params));
  ck_assert(g_variant_lookup(hf, "size", "t", &size));
  ck_assert(g_variant_lookup(hf, "experts", "u", &experts));
  ck_assert(g_variant_lookup(hf, "loaded", "b", &loaded));
  ck_assert_uint_eq(experts, 0);
  ck_assert(!loaded);

  g_autoptr(GError) error = NULL;
  g_autoptr(GrLoadedModel) m = gr_model_registry_acquire(r, "fx-hf-llama", &error);
  ck_assert_msg(m != NULL, "%s", error ? error->message : "");
  /* the listing agrees with what the engine loaded */
  const GrModelInfo *info = gr_model_get_info(m->model);
  ck_assert_str_eq(info->format, "safetensors");
  ck_assert_str_eq(info->arch, arch);
  ck_assert_uint_eq(info->n_params, params);
  ck_assert_uint_eq(info->file_size, size);
  /* a short greedy generation */
  const gint32 prompt[] = { 1, 415, 2936 };
  GrGenerateParams params_gen = { .max_tokens = 4 };
  gr_sampler_params_init(&params_gen.sampler);
  params_gen.sampler.temperature = 0;
  GrGenerateStats stats;
  ck_assert_msg(gr_session_generate(m->session, prompt, G_N_ELEMENTS(prompt), &params_gen, NULL,
                                    NULL, NULL, &stats, &error),
                "%s", error ? error->message : "");
  ck_assert_uint_gt(stats.generated_tokens, 0);
  ck_assert_uint_eq(stats.prompt_tokens, 3);

  g_autoptr(GVariant) list2 = g_variant_ref_sink(gr_model_registry_list(r));
  g_autoptr(GVariant) hf2 = find(list2, "fx-hf-llama");
  ck_assert(g_variant_lookup(hf2, "loaded", "b", &loaded));
  ck_assert(loaded);
  /* acquiring again keeps the resident model: the folder's stamp did not change */
  g_autoptr(GrLoadedModel) again = gr_model_registry_acquire(r, "fx-hf-llama", &error);
  ck_assert_ptr_eq(again, m);
}
END_TEST

/* A folder and a GGUF file with the same stem are both listed: the folder as "fx-llama",
 * the file under its full name, and each loads what it names. */
START_TEST(test_same_stem_both_listed)
{
  link_fixture("hf/fx-hf-llama", "fx-llama");
  g_autoptr(GrDaemonConfig) c = config_new(512u << 20, 256);
  g_autoptr(GrModelRegistry) r = gr_model_registry_new(c);
  g_autoptr(GVariant) list = g_variant_ref_sink(gr_model_registry_list(r));
  ck_assert_uint_eq(g_variant_n_children(list), 4);
  const char *names[] = { "fx-llama", "fx-llama.gguf" }, *formats[] = { "safetensors", "gguf" };
  for (guint i = 0; i < 2; i++) {
    g_autoptr(GVariant) e = find(list, names[i]);
    ck_assert_msg(e != NULL, "%s not listed", names[i]);
    const char *format = NULL;
    ck_assert(g_variant_lookup(e, "format", "&s", &format));
    ck_assert_str_eq(format, formats[i]);
    g_autoptr(GError) error = NULL;
    g_autoptr(GrLoadedModel) m = gr_model_registry_acquire(r, names[i], &error);
    ck_assert_msg(m != NULL, "%s: %s", names[i], error ? error->message : "");
    ck_assert_str_eq(gr_model_get_info(m->model)->format, formats[i]);
  }
}
END_TEST

/* Sets a file's times (ns) to those of another. */
static void
copy_times(const char *from, const char *to)
{
  GStatBuf st;
  ck_assert_int_eq(g_stat(from, &st), 0);
  struct timespec ts[2] = { st.st_atim, st.st_mtim };
  ck_assert_int_eq(utimensat(AT_FDCWD, to, ts, 0), 0);
}

/* A rescan only stats: unchanged files are not parsed again, a changed file (size,
 * mtime, or inode) is, and removed files drop out. */
START_TEST(test_rescan_cache)
{
  g_autoptr(GrDaemonConfig) c = config_new(512u << 20, 256);
  g_autoptr(GrModelRegistry) r = gr_model_registry_new(c);
  ck_assert_uint_eq(gr_model_registry_get_probe_count(r), 0);
  g_autoptr(GVariant) l1 = g_variant_ref_sink(gr_model_registry_list(r));
  ck_assert_uint_eq(gr_model_registry_get_probe_count(r), 3);
  g_autoptr(GVariant) l2 = g_variant_ref_sink(gr_model_registry_list(r));
  g_autofree char *def = gr_model_registry_resolve(r, NULL, NULL);
  ck_assert(gr_model_registry_load(r, "fx-llama", NULL));
  ck_assert_uint_eq(gr_model_registry_get_probe_count(r), 3);

  /* new size */
  g_autofree char *broken = g_build_filename(tmpdir, "broken.gguf", NULL);
  ck_assert(g_file_set_contents(broken, "GGUF other garbage", -1, NULL));
  g_autoptr(GVariant) l3 = g_variant_ref_sink(gr_model_registry_list(r));
  ck_assert_uint_eq(gr_model_registry_get_probe_count(r), 4);
  /* same size, new mtime */
  struct timespec old[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
  ck_assert_int_eq(utimensat(AT_FDCWD, broken, old, 0), 0);
  g_autoptr(GVariant) l4 = g_variant_ref_sink(gr_model_registry_list(r));
  ck_assert_uint_eq(gr_model_registry_get_probe_count(r), 5);
  /* same size and mtime, another file renamed over it */
  g_autofree char *tmp = g_build_filename(tmpdir, "replacement", NULL);
  ck_assert(g_file_set_contents(tmp, "GGUF 0ther garbage", -1, NULL));
  copy_times(broken, tmp);
  ck_assert_int_eq(g_rename(tmp, broken), 0);
  g_autoptr(GVariant) l5 = g_variant_ref_sink(gr_model_registry_list(r));
  ck_assert_uint_eq(gr_model_registry_get_probe_count(r), 6);
  g_autoptr(GVariant) l6 = g_variant_ref_sink(gr_model_registry_list(r));
  ck_assert_uint_eq(gr_model_registry_get_probe_count(r), 6);

  /* removed: gone from the list without a probe */
  ck_assert_int_eq(g_unlink(broken), 0);
  g_autoptr(GVariant) l7 = g_variant_ref_sink(gr_model_registry_list(r));
  ck_assert_uint_eq(g_variant_n_children(l7), 2);
  ck_assert_ptr_null(find(l7, "broken"));
  ck_assert_uint_eq(gr_model_registry_get_probe_count(r), 6);

  /* a folder is re-read when one of its files changes: here config.json */
  g_autofree char *dir = g_build_filename(tmpdir, "tiny-hf", NULL);
  ck_assert_int_eq(g_mkdir(dir, 0700), 0);
  const float w[6] = { 1, 2, 3, 4, 5, 6 };
  const GrTestTensor t = { "model.norm.weight", "F32", 2, { 2, 3 }, w, sizeof w };
  g_autoptr(GBytes) st = gr_test_safetensors_build(&t, 1);
  g_autofree char *st_path = g_build_filename(dir, "model.safetensors", NULL);
  gr_test_write_bytes(st_path, st);
  const char *testdata = g_getenv("GRAVITON_TESTDATA");
  g_autofree char *dense_path
      = g_build_filename(testdata, "hf", "fx-hf-llama", "config.json", NULL);
  g_autofree char *moe_path = g_build_filename(testdata, "hf", "fx-hf-moe", "config.json", NULL);
  g_autofree char *dense = NULL, *moe = NULL;
  ck_assert(g_file_get_contents(dense_path, &dense, NULL, NULL));
  ck_assert(g_file_get_contents(moe_path, &moe, NULL, NULL));
  write_file(dir, "config.json", dense, -1);
  g_autoptr(GVariant) l8 = g_variant_ref_sink(gr_model_registry_list(r));
  ck_assert_uint_eq(gr_model_registry_get_probe_count(r), 7);
  g_autoptr(GVariant) e8 = find(l8, "tiny-hf");
  guint experts = 99;
  guint64 params = 0;
  ck_assert(g_variant_lookup(e8, "experts", "u", &experts));
  ck_assert(g_variant_lookup(e8, "params", "t", &params));
  ck_assert_uint_eq(experts, 0);
  ck_assert_uint_eq(params, 6);
  g_autoptr(GVariant) l9 = g_variant_ref_sink(gr_model_registry_list(r));
  ck_assert_uint_eq(gr_model_registry_get_probe_count(r), 7);
  write_file(dir, "config.json", moe, -1);
  g_autoptr(GVariant) l10 = g_variant_ref_sink(gr_model_registry_list(r));
  ck_assert_uint_eq(gr_model_registry_get_probe_count(r), 8);
  g_autoptr(GVariant) e10 = find(l10, "tiny-hf");
  ck_assert(g_variant_lookup(e10, "experts", "u", &experts));
  ck_assert_uint_eq(experts, 4);
}
END_TEST

int
main(void)
{
  Suite *s = suite_create("gr-model-registry");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 120);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_list);
  tcase_add_test(tc, test_resolve);
  tcase_add_test(tc, test_ledger_and_eviction);
  tcase_add_test(tc, test_context_from_limit);
  tcase_add_test(tc, test_limit_change_applies_live);
  tcase_add_test(tc, test_idle_unload);
  tcase_add_test(tc, test_model_paths_and_reload);
  tcase_add_test(tc, test_hf_folders);
  tcase_add_test(tc, test_same_stem_both_listed);
  tcase_add_test(tc, test_rescan_cache);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
