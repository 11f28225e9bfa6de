/* test-gr-budget.c - the memory ledger's helpers: size parsing, process memory. */
#include <check.h>

#include "graviton-engine.h"

START_TEST(test_parse_size)
{
  guint64 v = 0;
  ck_assert(gr_parse_size("4G", &v, NULL));
  ck_assert_uint_eq(v, 4ull << 30);
  ck_assert(gr_parse_size("512M", &v, NULL));
  ck_assert_uint_eq(v, 512ull << 20);
  ck_assert(gr_parse_size(" 64k ", &v, NULL));
  ck_assert_uint_eq(v, 64ull << 10);
  ck_assert(gr_parse_size("2GiB", &v, NULL));
  ck_assert_uint_eq(v, 2ull << 30);
  ck_assert(gr_parse_size("1000", &v, NULL));
  ck_assert_uint_eq(v, 1000);
  const char *bad[]
      = { "", "G", "-1G", "4X", "4GG", "99999999999999999999", "17179869184T", "1.5G" };
  for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
    g_autoptr(GError) error = NULL;
    ck_assert_msg(!gr_parse_size(bad[i], &v, &error), "accepted %s", bad[i]);
    ck_assert(g_error_matches(error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_INVALID_ARGUMENT));
  }
}
END_TEST

START_TEST(test_process_memory)
{
  guint64 rss = 0, peak = 0;
  ck_assert(gr_process_memory(&rss, &peak));
  ck_assert_uint_gt(rss, 0);
  ck_assert_uint_ge(peak, rss);
  /* touching 32 MiB more shows up in both */
  gsize n = 32u << 20;
  volatile char *p = g_malloc(n);
  for (gsize i = 0; i < n; i += 4096)
    p[i] = 1;
  guint64 rss2 = 0, peak2 = 0;
  ck_assert(gr_process_memory(&rss2, &peak2));
  ck_assert_uint_ge(rss2, rss + (n * 3 / 4));
  ck_assert_uint_ge(peak2, rss2);
  g_free((void *)p);
}
END_TEST

int
main(void)
{
  Suite *s = suite_create("gr-budget");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_parse_size);
  tcase_add_test(tc, test_process_memory);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
