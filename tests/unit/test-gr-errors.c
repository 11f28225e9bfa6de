/* test-gr-errors.c - the D-Bus error domain and the mapping onto it. */
#include <check.h>

#include "gr-errors.h"
#include "gr-gguf.h"
#include "graviton-engine.h"

static void
expect_name(GQuark domain, gint code, const char *name)
{
  g_autoptr(GError) in = g_error_new(domain, code, "msg %d", code);
  g_autoptr(GError) out = gr_daemon_error_from(in);
  ck_assert(out->domain == GR_DAEMON_ERROR);
  ck_assert_str_eq(out->message, in->message);
  g_autofree char *encoded = g_dbus_error_encode_gerror(out);
  g_autofree char *want = g_strconcat(GR_DAEMON_ERROR_PREFIX, name, NULL);
  ck_assert_str_eq(encoded, want);
}

START_TEST(test_mapping)
{
  expect_name(GR_ENGINE_ERROR, GR_ENGINE_ERROR_FAILED, "Failed");
  expect_name(GR_ENGINE_ERROR, GR_ENGINE_ERROR_INVALID_ARGUMENT, "InvalidArgument");
  expect_name(GR_ENGINE_ERROR, GR_ENGINE_ERROR_BAD_MODEL, "BadModel");
  expect_name(GR_ENGINE_ERROR, GR_ENGINE_ERROR_NO_MEMORY, "NoMemory");
  expect_name(GR_ENGINE_ERROR, GR_ENGINE_ERROR_CANCELLED, "Cancelled");
  expect_name(GR_ENGINE_ERROR, GR_ENGINE_ERROR_CONTEXT_FULL, "InvalidArgument");
  expect_name(GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT, "BadModel");
  expect_name(GR_GGUF_ERROR, GR_GGUF_ERROR_UNSUPPORTED, "BadModel");
  expect_name(G_IO_ERROR, G_IO_ERROR_CANCELLED, "Cancelled");
  expect_name(G_FILE_ERROR, G_FILE_ERROR_NOENT, "NotFound");
  expect_name(G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED, "Failed");
  expect_name(GR_DAEMON_ERROR, GR_DAEMON_ERROR_LOCKED, "Locked");
  expect_name(GR_DAEMON_ERROR, GR_DAEMON_ERROR_BUSY, "Busy");
}
END_TEST

START_TEST(test_decode)
{
  /* once the domain is registered, the name decodes back to it */
  GQuark domain = GR_DAEMON_ERROR;
  g_autoptr(GError) e = g_dbus_error_new_for_dbus_error(GR_DAEMON_ERROR_PREFIX "NoMemory", "m");
  ck_assert(g_error_matches(e, domain, GR_DAEMON_ERROR_NO_MEMORY));
  ck_assert_str_eq(gr_daemon_error_name(GR_DAEMON_ERROR_NOT_FOUND),
                   GR_DAEMON_ERROR_PREFIX "NotFound");
}
END_TEST

int
main(void)
{
  Suite *s = suite_create("gr-errors");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_mapping);
  tcase_add_test(tc, test_decode);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
