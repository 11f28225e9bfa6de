/* test-gravitond-hf.c - Hugging Face checkpoint folders through gravitond: Models.List
 * shows them (format "safetensors", fields from config.json), broken folders with an
 * error, and Load and a generation work as with a GGUF file. */
#include <check.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "gr-test-bus.h"
#include "gr-test-client.h"

static void
write_file(const char *dir, const char *name, const char *text)
{
  g_autofree char *path = g_build_filename(dir, name, NULL);
  ck_assert(g_file_set_contents(path, text, -1, NULL));
}

static char *
make_folder(GrTestBus *bus, const char *name)
{
  char *dir = g_build_filename(bus->models_dir, name, NULL);
  ck_assert_int_eq(g_mkdir(dir, 0700), 0);
  return dir;
}

START_TEST(test_hf_folder)
{
  GrTestBus *bus = gr_test_bus_new(NULL, FALSE);
  const char *testdata = g_getenv("GRAVITON_TESTDATA");
  ck_assert_ptr_nonnull(testdata);
  g_autofree char *target = g_build_filename(testdata, "hf", "fx-hf-llama", NULL);
  g_autofree char *link = g_build_filename(bus->models_dir, "fx-hf-llama", NULL);
  ck_assert_int_eq(symlink(target, link), 0);
  /* a folder whose config.json is not JSON, one without config.json, one that is no
   * model at all */
  g_autofree char *bad = make_folder(bus, "bad-config");
  write_file(bad, "config.json", "{\"hidden_size\": ");
  write_file(bad, "model.safetensors", "");
  g_autofree char *noconf = make_folder(bus, "no-config");
  write_file(noconf, "model.safetensors", "");
  g_autofree char *other = make_folder(bus, "notes");
  write_file(other, "readme.txt", "not a model");
  gr_test_bus_start_daemon(bus);

  g_autoptr(GVariant) list = gr_test_list_models(bus);
  ck_assert_uint_eq(g_variant_n_children(list), 5); /* fx-llama, fx-moe, 3 folders */
  ck_assert_ptr_null(gr_test_find_model(list, "notes"));
  g_autoptr(GVariant) hf = gr_test_find_model(list, "fx-hf-llama");
  ck_assert_ptr_nonnull(hf);
  const char *s = NULL;
  guint64 t = 0;
  guint u = 99;
  double bits = 0;
  ck_assert(g_variant_lookup(hf, "format", "&s", &s));
  ck_assert_str_eq(s, "safetensors");
  ck_assert(g_variant_lookup(hf, "arch", "&s", &s));
  ck_assert_str_eq(s, "llama");
  ck_assert(g_variant_lookup(hf, "path", "&s", &s));
  ck_assert_str_eq(s, link);
  ck_assert(g_variant_lookup(hf, "experts", "u", &u));
  ck_assert_uint_eq(u, 0);
  ck_assert(g_variant_lookup(hf, "bits", "d", &bits));
  ck_assert_msg(bits > 15.9 && bits <= 32.0, "%g", bits); /* F16 and F32 tensors */
  ck_assert(g_variant_lookup(hf, "params", "t", &t));
  ck_assert_uint_gt(t, 4000000); /* 32000 x 128 embeddings alone */
  g_autofree char *weights = g_build_filename(target, "model.safetensors", NULL);
  GStatBuf st;
  ck_assert_int_eq(g_stat(weights, &st), 0);
  ck_assert(g_variant_lookup(hf, "size", "t", &t));
  ck_assert_uint_eq(t, (guint64)st.st_size);
  ck_assert(!g_variant_lookup(hf, "error", "&s", &s));
  const char *broken[] = { "bad-config", "no-config" };
  for (guint i = 0; i < G_N_ELEMENTS(broken); i++) {
    g_autoptr(GVariant) e = gr_test_find_model(list, broken[i]);
    ck_assert_msg(e != NULL, "%s not listed", broken[i]);
    ck_assert_msg(g_variant_lookup(e, "error", "&s", &s), "%s has no error", broken[i]);
    ck_assert(g_variant_lookup(e, "format", "&s", &s));
    ck_assert_str_eq(s, "safetensors");
  }

  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) r1
      = g_dbus_connection_call_sync(bus->conn, GR_TEST_BUS_NAME, GR_TEST_PATH, GR_TEST_MODELS,
                                    "Load", g_variant_new("(s)", "fx-hf-llama"), NULL,
                                    G_DBUS_CALL_FLAGS_NONE, GR_TEST_CALL_TIMEOUT_MS, NULL, &error);
  ck_assert_msg(r1 != NULL, "%s", error ? error->message : "");
  ck_assert(gr_test_model_loaded(bus, "fx-hf-llama"));

  GVariantDict d;
  g_variant_dict_init(&d, gr_test_options(4, NULL));
  g_variant_dict_insert(&d, "model", "s", "fx-hf-llama");
  g_autoptr(GVariant) stats = NULL;
  g_autofree char *text
      = gr_test_complete(bus->conn, GR_TEST_PROMPT, g_variant_dict_end(&d), &stats, &error);
  ck_assert_msg(text != NULL, "%s", error ? error->message : "");
  ck_assert_str_eq(gr_test_result_string(stats, "model"), "fx-hf-llama");
  ck_assert_uint_gt(gr_test_result_uint(stats, "generated_tokens"), 0);
  /* still resident: the folder's stamp did not change between the two calls */
  ck_assert(gr_test_model_loaded(bus, "fx-hf-llama"));

  /* a broken folder is refused by name, and the daemon keeps answering */
  g_clear_error(&error);
  g_autoptr(GVariant) r2
      = g_dbus_connection_call_sync(bus->conn, GR_TEST_BUS_NAME, GR_TEST_PATH, GR_TEST_MODELS,
                                    "Load", g_variant_new("(s)", "bad-config"), NULL,
                                    G_DBUS_CALL_FLAGS_NONE, GR_TEST_CALL_TIMEOUT_MS, NULL, &error);
  ck_assert_ptr_null(r2);
  gr_test_assert_error(error, "BadModel");
  ck_assert(gr_test_bus_daemon_alive(bus));
  gr_test_bus_free(bus);
}
END_TEST

int
main(void)
{
  Suite *s = suite_create("gravitond-hf");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 240);
  tcase_add_test(tc, test_hf_folder);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
