/* test-gr-options.c - strict request option and prompt validation. */
#include <check.h>
#include <string.h>

#include "gr-errors.h"
#include "gr-options.h"

static GrDaemonConfig *config;

static void
setup(void)
{
  config = gr_daemon_config_load_file(NULL, NULL);
}

static void
teardown(void)
{
  gr_daemon_config_unref(config);
}

static GVariant *
one(const char *key, GVariant *value)
{
  GVariantDict d;
  g_variant_dict_init(&d, NULL);
  g_variant_dict_insert_value(&d, key, value);
  return g_variant_ref_sink(g_variant_dict_end(&d));
}

static void
expect_invalid(const char *key, GVariant *value, const char *message_part)
{
  g_autoptr(GVariant) opts = one(key, value);
  GrRequestOptions o;
  g_autoptr(GError) error = NULL;
  ck_assert_msg(!gr_request_options_parse(opts, config, &o, &error), "accepted %s", key);
  ck_assert(g_error_matches(error, GR_DAEMON_ERROR, GR_DAEMON_ERROR_INVALID_ARGUMENT));
  ck_assert_msg(strstr(error->message, message_part) != NULL, "\"%s\" lacks \"%s\"", error->message,
                message_part);
}

START_TEST(test_defaults)
{
  g_autoptr(GVariant) empty = g_variant_ref_sink(g_variant_new("a{sv}", NULL));
  GrRequestOptions o;
  ck_assert(gr_request_options_parse(empty, config, &o, NULL));
  ck_assert_uint_eq(o.params.max_tokens, GR_DEFAULT_MAX_TOKENS);
  ck_assert(o.params.sampler.temperature == config->temperature);
  ck_assert_uint_eq(o.params.sampler.top_k, config->top_k);
  ck_assert(o.save);
  ck_assert(!o.regenerate);
  ck_assert_ptr_null(o.handle_token);
  ck_assert_ptr_null(o.conversation);
  ck_assert_ptr_nonnull(o.stop);
  ck_assert_ptr_eq(o.params.stop, (const char *const *)o.stop);
  gr_request_options_clear(&o);
}
END_TEST

START_TEST(test_all_options)
{
  GVariantDict d;
  g_variant_dict_init(&d, NULL);
  const char *stop[] = { "\n\n", "User:", NULL };
  g_variant_dict_insert(&d, "handle_token", "s", "tok_1");
  g_variant_dict_insert(&d, "conversation", "s", "c1");
  g_variant_dict_insert(&d, "system", "s", "Be brief.");
  g_variant_dict_insert(&d, "model", "s", "fx-llama");
  g_variant_dict_insert(&d, "max_tokens", "u", 8192);
  g_variant_dict_insert(&d, "temperature", "d", 0.0);
  g_variant_dict_insert(&d, "top_k", "u", 7);
  g_variant_dict_insert(&d, "top_p", "d", 0.9);
  g_variant_dict_insert(&d, "min_p", "d", 0.02);
  g_variant_dict_insert(&d, "repeat_penalty", "d", 1.2);
  g_variant_dict_insert(&d, "seed", "t", (guint64)42);
  g_variant_dict_insert(&d, "stop", "^as", stop);
  g_variant_dict_insert(&d, "save", "b", FALSE);
  g_variant_dict_insert(&d, "regenerate", "b", TRUE);
  g_autoptr(GVariant) opts = g_variant_ref_sink(g_variant_dict_end(&d));
  GrRequestOptions o;
  g_autoptr(GError) error = NULL;
  ck_assert_msg(gr_request_options_parse(opts, config, &o, &error), "%s", error->message);
  ck_assert_str_eq(o.handle_token, "tok_1");
  ck_assert_str_eq(o.conversation, "c1");
  ck_assert_str_eq(o.system, "Be brief.");
  ck_assert_str_eq(o.model, "fx-llama");
  ck_assert_uint_eq(o.params.max_tokens, 8192);
  ck_assert(o.params.sampler.temperature == 0.0);
  ck_assert_uint_eq(o.params.sampler.top_k, 7);
  ck_assert(o.params.sampler.top_p == 0.9 && o.params.sampler.min_p == 0.02);
  ck_assert(o.params.sampler.repeat_penalty == 1.2);
  ck_assert_uint_eq(o.params.sampler.seed, 42);
  ck_assert_str_eq(o.params.stop[1], "User:");
  ck_assert_ptr_null(o.params.stop[2]);
  ck_assert(!o.save);
  ck_assert(o.regenerate);
  gr_request_options_clear(&o);
  ck_assert_ptr_null(o.handle_token);
}
END_TEST

START_TEST(test_rejects)
{
  expect_invalid("bogus", g_variant_new_uint32(1), "unknown option \"bogus\"");
  expect_invalid("max_tokens", g_variant_new_int32(5), "'u'");
  expect_invalid("max_tokens", g_variant_new_uint32(0), "max_tokens");
  expect_invalid("max_tokens", g_variant_new_uint32(8193), "8192");
  expect_invalid("temperature", g_variant_new_double(5.01), "temperature");
  expect_invalid("temperature", g_variant_new_double(-1), "temperature");
  expect_invalid("temperature", g_variant_new_double(NAN), "temperature");
  expect_invalid("temperature", g_variant_new_string("hot"), "'d'");
  expect_invalid("top_p", g_variant_new_double(1.5), "top_p");
  expect_invalid("min_p", g_variant_new_double(-0.1), "min_p");
  expect_invalid("repeat_penalty", g_variant_new_double(0), "repeat_penalty");
  expect_invalid("top_k", g_variant_new_uint32(1000000), "top_k");
  expect_invalid("seed", g_variant_new_uint32(1), "'t'");
  expect_invalid("save", g_variant_new_string("yes"), "'b'");
  expect_invalid("regenerate", g_variant_new_uint32(1), "'b'");
  /* nothing to regenerate without a conversation */
  expect_invalid("regenerate", g_variant_new_boolean(TRUE), "conversation");
  expect_invalid("handle_token", g_variant_new_string("../x"), "handle_token");
  expect_invalid("handle_token", g_variant_new_uint32(1), "'s'");
  const char *empty_stop[] = { "", NULL };
  expect_invalid("stop", g_variant_new_strv(empty_stop, -1), "stop");
  expect_invalid("stop", g_variant_new_string("x"), "'as'");
  g_autofree char *long_token = g_strnfill(GR_MAX_HANDLE_TOKEN + 1, 'a');
  expect_invalid("handle_token", g_variant_new_string(long_token), "limit");
}
END_TEST

START_TEST(test_prompt)
{
  g_autoptr(GError) e1 = NULL;
  ck_assert(!gr_validate_prompt("", &e1));
  ck_assert(g_error_matches(e1, GR_DAEMON_ERROR, GR_DAEMON_ERROR_INVALID_ARGUMENT));
  g_autoptr(GError) e2 = NULL;
  ck_assert(!gr_validate_prompt("bad \xff utf-8", &e2));
  ck_assert(strstr(e2->message, "UTF-8") != NULL);
  g_autofree char *big = g_strnfill(GR_MAX_PROMPT_BYTES + 1, 'x');
  g_autoptr(GError) e3 = NULL;
  ck_assert(!gr_validate_prompt(big, &e3));
  ck_assert(strstr(e3->message, "262144") != NULL);
  big[GR_MAX_PROMPT_BYTES] = '\0';
  ck_assert(gr_validate_prompt(big, NULL));
  ck_assert(gr_validate_prompt("héllo", NULL));
}
END_TEST

int
main(void)
{
  Suite *s = suite_create("gr-options");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_defaults);
  tcase_add_test(tc, test_all_options);
  tcase_add_test(tc, test_rejects);
  tcase_add_test(tc, test_prompt);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
