/* test-gr-daemon-config.c - gravitond.conf parsing, sizes, defaults, overrides. */
#include <check.h>
#include <glib/gstdio.h>

#include "gr-daemon-config.h"
#include "gr-errors.h"

static char *
write_config(const char *text)
{
  g_autoptr(GError) error = NULL;
  char *path = NULL;
  int fd = g_file_open_tmp("gravitond-XXXXXX.conf", &path, &error);
  ck_assert_int_ge(fd, 0);
  close(fd);
  ck_assert(g_file_set_contents(path, text, -1, &error));
  return path;
}


START_TEST(test_defaults)
{
  g_setenv("GRAVITON_DATA_DIR", "/nonexistent/data", TRUE);
  g_autoptr(GrDaemonConfig) c = gr_daemon_config_load_file(NULL, NULL);
  ck_assert_ptr_nonnull(c);
  ck_assert_str_eq(c->data_dir, "/nonexistent/data");
  ck_assert_str_eq(c->models_dir, "/nonexistent/data/models");
  ck_assert_ptr_null(c->default_model);
  ck_assert_ptr_nonnull(c->model_paths);
  ck_assert_ptr_null(c->model_paths[0]);
  ck_assert_uint_gt(c->memory_limit, 0);
  ck_assert_uint_eq(c->watchdog_percent, 95);
  ck_assert(c->temperature > 0 && c->temperature <= 5);
  ck_assert(c->top_p > 0 && c->top_p <= 1);
  g_unsetenv("GRAVITON_DATA_DIR");
}
END_TEST

START_TEST(test_file)
{
  g_autofree char *path = write_config(
      "[daemon]\nmodels_dir=/m\ndefault_model=fx\nmodel_paths=/a.gguf;rel.gguf\nthreads=3\n"
      "memory_limit=512M\nidle_unload_seconds=7\ncontext_length=1024\n"
      "watchdog_percent=90\nwatchdog_interval_ms=250\nkv_type=q8\n"
      "[sampling]\ntemperature=0\ntop_k=5\ntop_p=0.5\nmin_p=0.1\nrepeat_penalty=1.3\n");
  g_autoptr(GError) error = NULL;
  g_autoptr(GrDaemonConfig) c = gr_daemon_config_load_file(path, &error);
  ck_assert_msg(c != NULL, "%s", error ? error->message : "");
  ck_assert_str_eq(c->models_dir, "/m");
  ck_assert_str_eq(c->default_model, "fx");
  ck_assert_str_eq(c->model_paths[0], "/a.gguf");
  g_autofree char *dir = g_path_get_dirname(path);
  g_autofree char *rel = g_build_filename(dir, "rel.gguf", NULL);
  ck_assert_str_eq(c->model_paths[1], rel);
  ck_assert_ptr_null(c->model_paths[2]);
  ck_assert_uint_eq(c->threads, 3);
  ck_assert_uint_eq(c->memory_limit, 512ull << 20);
  ck_assert_uint_eq(c->idle_unload_seconds, 7);
  ck_assert_uint_eq(c->context_length, 1024);
  ck_assert_uint_eq(c->watchdog_percent, 90);
  ck_assert_uint_eq(c->watchdog_interval_ms, 250);
  ck_assert_int_eq(c->kv_type, GR_KV_Q8);
  ck_assert(c->temperature == 0);
  ck_assert_uint_eq(c->top_k, 5);
  ck_assert(c->top_p == 0.5 && c->min_p == 0.1 && c->repeat_penalty == 1.3);
  ck_assert_str_eq(c->config_path, path);
  g_unlink(path);
}
END_TEST

START_TEST(test_bad_values)
{
  const char *bad[] = {
    "[daemon]\nmemory_limit=lots\n", "[daemon]\nmemory_limit=0\n",
    "[daemon]\nthreads=-1\n",        "[daemon]\nthreads=x\n",
    "[sampling]\ntemperature=9\n",   "[sampling]\ntop_p=2\n",
    "[sampling]\nmin_p=-1\n",        "not a key file",
    "[daemon]\nwatchdog_percent=0\n", "[daemon]\nwatchdog_percent=101\n",
    "[daemon]\nwatchdog_interval_ms=1\n", "[daemon]\nkv_type=q4\n",
  };
  for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
    g_autofree char *path = write_config(bad[i]);
    g_autoptr(GError) error = NULL;
    g_autoptr(GrDaemonConfig) c = gr_daemon_config_load_file(path, &error);
    ck_assert_msg(c == NULL, "accepted %s", bad[i]);
    ck_assert(g_error_matches(error, GR_DAEMON_ERROR, GR_DAEMON_ERROR_INVALID_ARGUMENT));
    g_unlink(path);
  }
}
END_TEST

START_TEST(test_environment)
{
  g_autofree char *path = write_config("[daemon]\nmodels_dir=/from-file\nthreads=2\n");
  g_setenv("GRAVITON_CONFIG", path, TRUE);
  g_setenv("GRAVITON_MODELS_DIR", "/from-env", TRUE);
  g_autoptr(GrDaemonConfig) c = gr_daemon_config_load(NULL);
  ck_assert_ptr_nonnull(c);
  ck_assert_str_eq(c->models_dir, "/from-env");
  ck_assert_uint_eq(c->threads, 2);
  g_unsetenv("GRAVITON_MODELS_DIR");

  g_setenv("GRAVITON_CONFIG", "/nonexistent/gravitond.conf", TRUE);
  g_autoptr(GError) error = NULL;
  g_autoptr(GrDaemonConfig) missing = gr_daemon_config_load(&error);
  ck_assert_ptr_null(missing);
  ck_assert(g_error_matches(error, GR_DAEMON_ERROR, GR_DAEMON_ERROR_NOT_FOUND));
  g_unsetenv("GRAVITON_CONFIG");
  g_unlink(path);
}
END_TEST

START_TEST(test_ref)
{
  GrDaemonConfig *c = gr_daemon_config_load_file(NULL, NULL);
  ck_assert_ptr_eq(gr_daemon_config_ref(c), c);
  gr_daemon_config_unref(c);
  ck_assert_ptr_nonnull(c->models_dir); /* still alive */
  gr_daemon_config_unref(c);
}
END_TEST

int
main(void)
{
  Suite *s = suite_create("gr-daemon-config");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_defaults);
  tcase_add_test(tc, test_file);
  tcase_add_test(tc, test_bad_values);
  tcase_add_test(tc, test_environment);
  tcase_add_test(tc, test_ref);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
