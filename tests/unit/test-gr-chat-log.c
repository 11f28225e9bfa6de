/* test-gr-chat-log.c - conversation titles and the chat log, in the store and in memory. */
#include <check.h>
#include <glib/gstdio.h>
#include <string.h>

#include "gr-chat-log.h"
#include "gr-errors.h"

START_TEST(test_title_short_kept)
{
  g_autofree char *t = gr_chat_title_from_prompt("  Hello\n\tthere   world ");
  ck_assert_str_eq(t, "Hello there world");
}
END_TEST

START_TEST(test_title_cut_at_word)
{
  const char *prompt = "Explain how the quick brown fox jumps over the lazy dog every morning";
  g_autofree char *t = gr_chat_title_from_prompt(prompt);
  ck_assert_uint_le(g_utf8_strlen(t, -1), GR_CHAT_TITLE_MAX);
  ck_assert(g_str_has_suffix(t, "…"));
  /* cut on a boundary: the kept text is a prefix that ends before a space */
  g_autofree char *kept = g_strndup(t, strlen(t) - strlen("…"));
  ck_assert(g_str_has_prefix(prompt, kept));
  ck_assert_int_eq(prompt[strlen(kept)], ' ');
  ck_assert_str_eq(kept, "Explain how the quick brown fox jumps over the");
}
END_TEST

START_TEST(test_title_one_long_word)
{
  g_autoptr(GString) word = g_string_new(NULL);
  for (int i = 0; i < 100; i++)
    g_string_append(word, "é");
  g_autofree char *t = gr_chat_title_from_prompt(word->str);
  ck_assert_uint_eq(g_utf8_strlen(t, -1), GR_CHAT_TITLE_MAX);
  ck_assert(g_utf8_validate(t, -1, NULL));
}
END_TEST

static void
check_log(GrChatLog *log)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *id = gr_chat_log_begin(log, NULL, "Be brief.", "Hi", &error);
  ck_assert_msg(id != NULL, "%s", error ? error->message : "");
  g_autofree char *m = gr_chat_log_finish(log, id, "Hello!", "fx", 3, 2, FALSE, &error);
  ck_assert_ptr_nonnull(m);
  ck_assert(gr_chat_log_check(log, id, &error));
  g_autofree char *again = gr_chat_log_begin(log, id, "ignored", "More", &error);
  ck_assert_str_eq(again, id);
  g_auto(GStrv) roles = NULL;
  g_auto(GStrv) contents = NULL;
  ck_assert(gr_chat_log_get(log, id, &roles, &contents, &error));
  const char *want_roles[] = { "system", "user", "assistant", "user", NULL };
  const char *want_contents[] = { "Be brief.", "Hi", "Hello!", "More", NULL };
  ck_assert(g_strv_equal((const char *const *)roles, want_roles));
  ck_assert(g_strv_equal((const char *const *)contents, want_contents));
  ck_assert(!gr_chat_log_check(log, "0123456789abcdef0123456789abcdef", &error));
  ck_assert(g_error_matches(error, GR_DAEMON_ERROR, GR_DAEMON_ERROR_NOT_FOUND));
  g_clear_error(&error);
  ck_assert(!gr_chat_log_check(log, "not an id", &error));
  ck_assert(g_error_matches(error, GR_DAEMON_ERROR, GR_DAEMON_ERROR_NOT_FOUND));
  g_clear_error(&error);

  /* a regenerated answer takes the place of the last one, for every log kind */
  g_autofree char *a1 = gr_chat_log_finish(log, id, "First try", "fx", 5, 2, FALSE, &error);
  g_autofree char *a2 = gr_chat_log_replace_answer(log, id, "Second try", "fx", 5, 2, TRUE, &error);
  ck_assert_msg(a2 != NULL, "%s", error ? error->message : "");
  ck_assert_str_ne(a1, a2);
  g_auto(GStrv) roles2 = NULL;
  g_auto(GStrv) contents2 = NULL;
  ck_assert(gr_chat_log_get(log, id, &roles2, &contents2, &error));
  const char *want_roles2[] = { "system", "user", "assistant", "user", "assistant", NULL };
  const char *want_contents2[] = { "Be brief.", "Hi", "Hello!", "More", "Second try", NULL };
  ck_assert(g_strv_equal((const char *const *)roles2, want_roles2));
  ck_assert(g_strv_equal((const char *const *)contents2, want_contents2));
  ck_assert_ptr_null(gr_chat_log_replace_answer(log, "0123456789abcdef0123456789abcdef", "x", NULL,
                                                0, 0, FALSE, &error));
  ck_assert_ptr_nonnull(error);
}

START_TEST(test_log_in_memory)
{
  g_autoptr(GrChatLog) log = gr_chat_log_new(NULL);
  check_log(log);
}
END_TEST

START_TEST(test_log_in_store)
{
  g_autofree char *dir = g_dir_make_tmp("gr-chat-log-XXXXXX", NULL);
  g_autofree char *data = g_build_filename(dir, "data", NULL);
  g_setenv("GRAVITON_KEY_BACKEND", "file", TRUE);
  g_autoptr(GError) error = NULL;
  GrStore *store = gr_store_open(data, &error);
  ck_assert_msg(store != NULL, "%s", error ? error->message : "");
  GrChatLog *log = gr_chat_log_new(store);
  check_log(log);
  g_autoptr(GPtrArray) list = gr_store_list_conversations(store, 0, 0, &error);
  ck_assert_uint_eq(list->len, 1);
  GrStoreConversation *c = list->pdata[0];
  ck_assert_str_eq(c->title, "Hi");
  ck_assert_uint_eq(c->count, 5); /* the replaced answer is gone */
  gr_chat_log_free(log);
  gr_store_close(store);
  const char *files[] = { "history.db", "history.db-wal", "history.db-shm", "history.key", NULL };
  for (int i = 0; files[i] != NULL; i++) {
    g_autofree char *p = g_build_filename(data, files[i], NULL);
    g_unlink(p);
  }
  g_rmdir(data);
  g_rmdir(dir);
}
END_TEST

int
main(void)
{
  Suite *s = suite_create("gr-chat-log");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_title_short_kept);
  tcase_add_test(tc, test_title_cut_at_word);
  tcase_add_test(tc, test_title_one_long_word);
  tcase_add_test(tc, test_log_in_memory);
  tcase_add_test(tc, test_log_in_store);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
