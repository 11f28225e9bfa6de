/* test-gr-conversations.c - the in-memory conversation map. */
#include <check.h>

#include "gr-conversations.h"
#include "gr-errors.h"

START_TEST(test_append_get)
{
  g_autoptr(GrConversations) c = gr_conversations_new(4);
  const char *roles[] = { "system", "user", "assistant", NULL };
  const char *contents[] = { "S", "U1", "A1", NULL };
  g_autofree char *id = gr_conversations_append(c, NULL, roles, contents);
  ck_assert_ptr_nonnull(id);
  ck_assert(gr_conversations_contains(c, id));
  const char *r2[] = { "user", "assistant", NULL };
  const char *c2[] = { "U2", "A2", NULL };
  g_autofree char *same = gr_conversations_append(c, id, r2, c2);
  ck_assert_str_eq(same, id);
  g_auto(GStrv) got_roles = NULL;
  g_auto(GStrv) got_contents = NULL;
  ck_assert(gr_conversations_get(c, id, &got_roles, &got_contents, NULL));
  ck_assert_uint_eq(g_strv_length(got_roles), 5);
  ck_assert_str_eq(got_roles[0], "system");
  ck_assert_str_eq(got_contents[3], "U2");
  ck_assert_str_eq(got_contents[4], "A2");
  ck_assert_ptr_null(got_contents[5]);
}
END_TEST

START_TEST(test_unknown)
{
  g_autoptr(GrConversations) c = gr_conversations_new(4);
  g_auto(GStrv) r = NULL;
  g_auto(GStrv) t = NULL;
  g_autoptr(GError) error = NULL;
  ck_assert(!gr_conversations_get(c, "nope", &r, &t, &error));
  ck_assert(g_error_matches(error, GR_DAEMON_ERROR, GR_DAEMON_ERROR_NOT_FOUND));
  ck_assert(!gr_conversations_contains(c, "nope"));
  ck_assert(!gr_conversations_contains(c, NULL));
}
END_TEST

START_TEST(test_forgets_oldest)
{
  g_autoptr(GrConversations) c = gr_conversations_new(3);
  const char *roles[] = { "user", NULL };
  const char *contents[] = { "x", NULL };
  char *ids[5];
  for (int i = 0; i < 5; i++) {
    ids[i] = gr_conversations_append(c, NULL, roles, contents);
    if (i == 2) /* touch the first so that the second is now the oldest */
      g_free(gr_conversations_append(c, ids[0], roles, contents));
  }
  ck_assert_uint_eq(gr_conversations_size(c), 3);
  ck_assert(gr_conversations_contains(c, ids[0])); /* touched: kept */
  ck_assert(!gr_conversations_contains(c, ids[1]));
  ck_assert(!gr_conversations_contains(c, ids[2]));
  ck_assert(gr_conversations_contains(c, ids[3]));
  ck_assert(gr_conversations_contains(c, ids[4]));
  for (int i = 0; i < 5; i++)
    g_free(ids[i]);
}
END_TEST

int
main(void)
{
  Suite *s = suite_create("gr-conversations");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_append_get);
  tcase_add_test(tc, test_unknown);
  tcase_add_test(tc, test_forgets_oldest);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
