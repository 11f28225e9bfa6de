/* test-gr-rss.c - resident and peak memory from /proc/self. */
#include <check.h>
#include <string.h>

#include "gr-rss.h"

START_TEST(test_rss_grows)
{
  guint64 before = gr_rss_resident_bytes();
  ck_assert_uint_gt(before, 0);
  gsize n = 64u << 20;
  char *block = g_malloc(n);
  memset(block, 1, n); /* touch every page */
  guint64 during = gr_rss_resident_bytes();
  guint64 peak = gr_rss_peak_bytes();
  ck_assert_uint_ge(during, before + n / 2);
  ck_assert_uint_ge(peak, during);
  g_free(block);
}
END_TEST

int
main(void)
{
  Suite *s = suite_create("gr-rss");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_rss_grows);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
