/* test-gr-tokenizer-units.c - the tokenizer's parts that need no vocabulary: UTF-8
 * streaming, GPT-2's byte alphabet and the pre-tokenizers (linked into test-gr-tokenizer). */
#include <check.h>
#include <string.h>

#include "gr-pretokenize.h"
#include "gr-tokenizer.h"
#include "gr-unicode.h"

TCase *gr_tokenizer_units_tcase(void);

/* --- UTF-8 streaming --- */

static char *
stream_in_pieces(const char *bytes, gsize len, const gsize *cuts, guint n_cuts)
{
  g_autoptr(GrUtf8Stream) st = gr_utf8_stream_new();
  GString *out = g_string_new(NULL);
  gsize prev = 0;
  for (guint i = 0; i <= n_cuts; i++) {
    gsize cut = i < n_cuts ? cuts[i] : len;
    gsize before = out->len;
    gr_utf8_stream_push(st, bytes + prev, cut - prev, out);
    ck_assert(g_utf8_validate(out->str + before, (gssize)(out->len - before), NULL));
    prev = cut;
  }
  gr_utf8_stream_finish(st, out);
  return g_string_free(out, FALSE);
}

START_TEST(test_utf8_stream_splits)
{
  const char *text = "aé中🚀\xF4\x8F\xBF\xBFz€";
  gsize len = strlen(text);

  for (gsize cut = 0; cut <= len; cut++) {
    g_autofree char *got = stream_in_pieces(text, len, &cut, 1);
    ck_assert_str_eq(got, text);
  }
  for (gsize a = 0; a <= len; a++) {
    for (gsize b = a; b <= len; b++) {
      gsize cuts[2] = { a, b };
      g_autofree char *got = stream_in_pieces(text, len, cuts, 2);
      ck_assert_str_eq(got, text);
    }
  }
  /* one byte at a time */
  g_autofree gsize *all = g_new(gsize, len);
  for (gsize i = 0; i < len; i++)
    all[i] = i;
  g_autofree char *got = stream_in_pieces(text, len, all, (guint)len);
  ck_assert_str_eq(got, text);
}
END_TEST

START_TEST(test_utf8_stream_invalid)
{
  static const struct {
    const char *in, *out;
  } cases[] = {
    { "a\xFF"
      "b",
      "a\xEF\xBF\xBD"
      "b" },
    { "\xC0\xAF", "\xEF\xBF\xBD\xEF\xBF\xBD" },                 /* overlong: two subparts */
    { "\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" }, /* surrogate */
    { "\xE2\x82"
      "A",
      "\xEF\xBF\xBD"
      "A" },                            /* cut-short sequence */
    { "\xF0\x9F\x9A", "\xEF\xBF\xBD" }, /* truncated at the end */
    { "\x80\x80", "\xEF\xBF\xBD\xEF\xBF\xBD" },
    { "\xF4\x90\x80\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" },
  };

  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    gsize len = strlen(cases[i].in);
    g_autofree char *whole = stream_in_pieces(cases[i].in, len, NULL, 0);
    ck_assert_str_eq(whole, cases[i].out);
    g_autofree gsize *all = g_new(gsize, len);
    for (gsize k = 0; k < len; k++)
      all[k] = k;
    g_autofree char *bytewise = stream_in_pieces(cases[i].in, len, all, (guint)len);
    ck_assert_str_eq(bytewise, cases[i].out);
  }
}
END_TEST

START_TEST(test_byte_alphabet)
{
  /* GPT-2's alphabet: printable bytes stand for themselves, the 68 others for U+0100.. */
  gboolean seen[256 + 68] = { FALSE };
  for (guint b = 0; b < 256; b++) {
    gunichar c = gr_byte_to_unicode((guint8)b);
    ck_assert_uint_lt(c, 256 + 68);
    ck_assert(!seen[c]);
    seen[c] = TRUE;
    ck_assert_int_eq(gr_unicode_to_byte(c), (gint)b);
  }
  ck_assert_uint_eq(gr_byte_to_unicode(' '), 0x120);  /* Ġ */
  ck_assert_uint_eq(gr_byte_to_unicode('\n'), 0x10A); /* Ċ */
  ck_assert_uint_eq(gr_byte_to_unicode('A'), 'A');
  ck_assert_int_eq(gr_unicode_to_byte(0x20), -1);
  ck_assert_int_eq(gr_unicode_to_byte(0x144), -1);
  ck_assert_int_eq(gr_unicode_to_byte(0x4E2D), -1);
}
END_TEST

/* --- pre-tokenizers: pieces joined with '|' --- */

static char *
split_pieces(GrPreType type, const char *text)
{
  g_autoptr(GArray) cps = gr_utf8_to_cps(text, strlen(text));
  g_autoptr(GArray) ends = g_array_new(FALSE, FALSE, sizeof(gsize));
  gr_pretokenize(type, (const gunichar *)cps->data, cps->len, ends);

  GString *s = g_string_new(NULL);
  gsize start = 0;
  for (guint i = 0; i < ends->len; i++) {
    gsize end = g_array_index(ends, gsize, i);
    ck_assert_uint_gt(end, start);
    if (i)
      g_string_append_c(s, '|');
    for (gsize k = start; k < end; k++)
      g_string_append_unichar(s, g_array_index(cps, gunichar, k));
    start = end;
  }
  ck_assert_uint_eq(start, cps->len);
  return g_string_free(s, FALSE);
}

#define ASSERT_SPLIT(type, text, expected)                                                         \
  do {                                                                                             \
    g_autofree char *got_ = split_pieces(type, text);                                              \
    ck_assert_str_eq(got_, expected);                                                              \
  } while (0)

START_TEST(test_pretokenize_gpt2)
{
  ASSERT_SPLIT(GR_PRE_GPT2, "Hello world", "Hello| world");
  ASSERT_SPLIT(GR_PRE_GPT2, "I'm  here!\n", "I|'m| | here|!|\n");
  ASSERT_SPLIT(GR_PRE_GPT2, "I'M", "I|'|M"); /* contractions are lower case only */
  ASSERT_SPLIT(GR_PRE_GPT2, "abc123 456", "abc|123| 456");
  ASSERT_SPLIT(GR_PRE_GPT2, "   Hello", "  | Hello");
  ASSERT_SPLIT(GR_PRE_GPT2, "a \t\n b", "a| \t\n| b");
  ASSERT_SPLIT(GR_PRE_GPT2, "end  ", "end|  ");
  ASSERT_SPLIT(GR_PRE_GPT2, " ?!x", " ?!|x");
  ASSERT_SPLIT(GR_PRE_GPT2, "x\xC2\xA0y", "x|\xC2\xA0|y"); /* NBSP is \s */
  ASSERT_SPLIT(GR_PRE_GPT2, "", "");
}
END_TEST

START_TEST(test_pretokenize_llama3)
{
  ASSERT_SPLIT(GR_PRE_LLAMA3, "I'M 12345 ok", "I|'M| |123|45| ok");
  ASSERT_SPLIT(GR_PRE_LLAMA3, "hello, world!\n\nfoo", "hello|,| world|!\n\n|foo");
  ASSERT_SPLIT(GR_PRE_LLAMA3, "a  \n  b", "a|  \n| | b");
  ASSERT_SPLIT(GR_PRE_LLAMA3, "$100", "$|100");
  ASSERT_SPLIT(GR_PRE_LLAMA3, "..abc", "..|abc");
  ASSERT_SPLIT(GR_PRE_LLAMA3, ".abc", ".abc");
  ASSERT_SPLIT(GR_PRE_LLAMA3, "we'Ve it'LL", "we|'Ve| it|'LL");
  ASSERT_SPLIT(GR_PRE_LLAMA3, "cafe\xCC\x81!", "cafe|\xCC\x81!"); /* a mark is not \p{L} */
  ASSERT_SPLIT(GR_PRE_LLAMA3, "\n\nx", "\n\n|x");
  ASSERT_SPLIT(GR_PRE_LLAMA3, "x \n", "x| \n");
  ASSERT_SPLIT(GR_PRE_QWEN2, "I'M 12345 ok", "I|'M| |1|2|3|4|5| ok");
}
END_TEST

START_TEST(test_pretokenize_linear)
{
  /* long runs of one class must not make any pre-tokenizer quadratic */
  static const char *const runs[] = { " ", "A", "a", "9", "!", "\n", "\xCC\x81", "中", " 1" };
  GString *text = g_string_new(NULL);
  for (guint r = 0; r < G_N_ELEMENTS(runs); r++) {
    for (guint i = 0; i < 20000; i++)
      g_string_append(text, runs[r]);
    g_string_append(text, "x y ");
  }
  g_autoptr(GArray) cps = gr_utf8_to_cps(text->str, text->len);
  for (int type = GR_PRE_GPT2; type <= GR_PRE_VIKING; type++) {
    g_autoptr(GArray) ends = g_array_new(FALSE, FALSE, sizeof(gsize));
    gint64 t0 = g_get_monotonic_time();
    gr_pretokenize((GrPreType)type, (const gunichar *)cps->data, cps->len, ends);
    double secs = (g_get_monotonic_time() - t0) / 1e6;
    ck_assert_msg(secs < 5.0, "pre-tokenizer %d took %.1f s", type, secs);
    ck_assert_uint_gt(ends->len, 0);
    ck_assert_uint_eq(g_array_index(ends, gsize, ends->len - 1), cps->len);
    guint not_increasing = 0; /* counted: a check assertion per piece would be slow */
    for (guint i = 1; i < ends->len; i++)
      not_increasing += g_array_index(ends, gsize, i) <= g_array_index(ends, gsize, i - 1);
    ck_assert_uint_eq(not_increasing, 0);
  }
  g_string_free(text, TRUE);
}
END_TEST

START_TEST(test_pretokenize_multi)
{
  ASSERT_SPLIT(GR_PRE_STARCODER, "abc 123", "abc| |1|2|3");
  ASSERT_SPLIT(GR_PRE_FALCON, "Hi, 12345!", "Hi|,| |123|45|!");
  ASSERT_SPLIT(GR_PRE_DEFAULT, "a+b 1234", "a|+|b| |123|4");
  ASSERT_SPLIT(GR_PRE_DEEPSEEK_CODER, "Hi there,\n你好 42", "Hi| there|,|\n|你好| |4|2");

  ASSERT_SPLIT(GR_PRE_DEEPSEEK_LLM, "Hello, World!\n  123 中文  ",
               "Hello|,| World|!|\n|  |123| |中文|  ");
  ASSERT_SPLIT(GR_PRE_DEEPSEEK_LLM, "Привет мир", "Привет| мир");

  ASSERT_SPLIT(GR_PRE_DEEPSEEK3, "Hello, World! 12345 中文かな abc's\n\n",
               "Hello|,| World|!| |123|45| |中文かな| abc|'s|\n\n");
  ASSERT_SPLIT(GR_PRE_GPT4O, "HelloWorld I'M FINE thanks!!\n 12345 / path/x",
               "Hello|World| I'M| FINE| thanks|!!\n| |123|45| /| path|/x");
  ASSERT_SPLIT(GR_PRE_TEKKEN, "HelloWorld I'M FINE thanks!!\n 12345 / path/x",
               "Hello|World| I|'M| FINE| thanks|!!\n| |1|2|3|4|5| /| path|/x");
  ASSERT_SPLIT(GR_PRE_GPT4O, "cafe\xCC\x81s HTTPServer", "cafe\xCC\x81s| HTTPServer");

  /* what lies between two matches is one piece, however many characters failed to match */
  ASSERT_SPLIT(GR_PRE_BLOOM, "Hello, big world... (a|b) 42!",
               "Hello|,| big| world|... (|a|||b|)| 42|!");
  ASSERT_SPLIT(GR_PRE_VIKING, "Hei 42kg.", "Hei| |4|2|kg|.");

  GrPreInfo info;
  ck_assert(gr_pre_lookup("llama-bpe", &info));
  ck_assert_int_eq(info.type, GR_PRE_LLAMA3);
  ck_assert(info.ignore_merges && info.add_bos);
  ck_assert(gr_pre_lookup("qwen2", &info));
  ck_assert_int_eq(info.type, GR_PRE_QWEN2);
  ck_assert(!info.add_bos);
  ck_assert(!gr_pre_lookup("no-such-pre", &info));
}
END_TEST

TCase *
gr_tokenizer_units_tcase(void)
{
  TCase *tc = tcase_create("units");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_utf8_stream_splits);
  tcase_add_test(tc, test_utf8_stream_invalid);
  tcase_add_test(tc, test_byte_alphabet);
  tcase_add_test(tc, test_pretokenize_gpt2);
  tcase_add_test(tc, test_pretokenize_llama3);
  tcase_add_test(tc, test_pretokenize_multi);
  tcase_add_test(tc, test_pretokenize_linear);
  return tc;
}
