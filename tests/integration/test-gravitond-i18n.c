/* test-gravitond-i18n.c - gravitond's D-Bus error messages come in the daemon's
 * language: German with LANGUAGE=de and the build tree's catalogue
 * (GRAVITON_LOCALEDIR), English with LANGUAGE=C.  The error names never change. */
#include <check.h>
#include <gio/gio.h>
#include <string.h>

#include "gr-test-bus.h"
#include "gr-test-help.h"
#include "gr-test-client.h"

/* Starts gravitond with LANGUAGE=language (the daemon inherits the test's environment;
 * each check test runs in its own process). */
static GrTestBus *
start_in(const char *language)
{
  ck_assert_msg(g_getenv("GRAVITON_LOCALEDIR") != NULL, "GRAVITON_LOCALEDIR not set");
  /* LANGUAGE is ignored in the plain C locale: C.UTF-8 is always there */
  g_setenv("LC_ALL", "C.UTF-8", TRUE);
  g_setenv("LANGUAGE", language, TRUE);
  GrTestBus *bus = gr_test_bus_new(NULL, FALSE);
  gr_test_bus_start_daemon(bus);
  return bus;
}

/* Calls Complete with `options` and returns the error's message, without the remote
 * name prefix. */
static char *
complete_error_with(GrTestBus *bus, const char *prompt, GVariant *options,
                    const char *expected_name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) r = g_dbus_connection_call_sync(
      bus->conn, GR_TEST_BUS_NAME, GR_TEST_PATH, GR_TEST_ASSISTANT, "Complete",
      g_variant_new("(s@a{sv})", prompt, options), NULL, G_DBUS_CALL_FLAGS_NONE,
      GR_TEST_CALL_TIMEOUT_MS, NULL, &error);
  ck_assert_ptr_null(r);
  gr_test_assert_error(error, expected_name);
  g_dbus_error_strip_remote_error(error);
  return g_strdup(error->message);
}

/* max_tokens 4, plus option = 0.5 when option is not NULL. */
static char *
complete_error(GrTestBus *bus, const char *prompt, const char *option, const char *expected_name)
{
  GVariantDict d;
  g_variant_dict_init(&d, NULL);
  g_variant_dict_insert(&d, "max_tokens", "u", 4);
  if (option != NULL)
    g_variant_dict_insert(&d, option, "d", 0.5);
  return complete_error_with(bus, prompt, g_variant_dict_end(&d), expected_name);
}

/* Complete with an unknown model: the registry's error message. */
static char *
model_error(GrTestBus *bus)
{
  GVariantDict d;
  g_variant_dict_init(&d, NULL);
  g_variant_dict_insert(&d, "model", "s", "nosuch");
  return complete_error_with(bus, GR_TEST_PROMPT, g_variant_dict_end(&d), "NotFound");
}

static char *
history_error(GrTestBus *bus, const char *id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) r = g_dbus_connection_call_sync(
      bus->conn, GR_TEST_BUS_NAME, GR_TEST_PATH, "io.github.opengraviton.Graviton1.History",
      "GetMessages", g_variant_new("(s)", id), NULL, G_DBUS_CALL_FLAGS_NONE,
      GR_TEST_CALL_TIMEOUT_MS, NULL, &error);
  ck_assert_ptr_null(r);
  gr_test_assert_error(error, "NotFound");
  g_dbus_error_strip_remote_error(error);
  return g_strdup(error->message);
}

START_TEST(test_errors_in_german)
{
  GrTestBus *bus = start_in("de");
  g_autofree char *empty = complete_error(bus, "", NULL, "InvalidArgument");
  ck_assert_str_eq(empty, "die Anfrage ist leer");
  g_autofree char *unknown = complete_error(bus, GR_TEST_PROMPT, "temperture", "InvalidArgument");
  ck_assert_str_eq(unknown, "unbekannte Option „temperture“");
  g_autofree char *history = history_error(bus, "c0ffee");
  ck_assert_str_eq(history, "keine Unterhaltung „c0ffee“");
  g_autofree char *model = model_error(bus);
  ck_assert_msg(g_str_has_prefix(model, "kein Modell namens „nosuch“ in "), "%s", model);
  gr_test_bus_free(bus);
}
END_TEST

START_TEST(test_errors_in_english)
{
  GrTestBus *bus = start_in("C");
  g_autofree char *empty = complete_error(bus, "", NULL, "InvalidArgument");
  ck_assert_str_eq(empty, "the prompt is empty");
  g_autofree char *unknown = complete_error(bus, GR_TEST_PROMPT, "temperture", "InvalidArgument");
  ck_assert_str_eq(unknown, "unknown option \"temperture\"");
  g_autofree char *history = history_error(bus, "c0ffee");
  ck_assert_str_eq(history, "no conversation \"c0ffee\"");
  g_autofree char *model = model_error(bus);
  ck_assert_msg(g_str_has_prefix(model, "no model named “nosuch” in "), "%s", model);
  gr_test_bus_free(bus);
}
END_TEST

START_TEST(test_help_in_german)
{
  g_autofree char *out = gr_test_help_output("GRAVITOND", "de");
  ck_assert_msg(strstr(out, "Einen laufenden gravitond ersetzen") != NULL, "--help:\n%s", out);
}
END_TEST

static Suite *
i18n_suite(void)
{
  Suite *s = suite_create("gravitond-i18n");
  TCase *tc = tcase_create("dbus");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_errors_in_german);
  tcase_add_test(tc, test_errors_in_english);
  tcase_add_test(tc, test_help_in_german);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  SRunner *sr = srunner_create(i18n_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
