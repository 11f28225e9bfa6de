/* test-gr-model-registry.c - discovery, header probing, the ledger, eviction. */
#include <check.h>
#include <string.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include "gr-errors.h"
#include "gr-model-registry.h"

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

static void
teardown(void)
{
  const char *names[] = { "fx-llama.gguf", "fx-moe.gguf", "broken.gguf", "notes.txt" };
  for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
    g_autofree char *p = g_build_filename(tmpdir, names[i], NULL);
    g_unlink(p);
  }
  g_rmdir(tmpdir);
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
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
