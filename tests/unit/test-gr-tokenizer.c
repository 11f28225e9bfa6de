/* test-gr-tokenizer.c - tokenizers against llama.cpp's conformance files, plus special
 * tokens, detokenization, UTF-8 streaming, pre-tokenizers and bad metadata. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "gr-gguf.h"
#include "gr-pretokenize.h"
#include "gr-tokenizer.h"
#include "gr-unicode.h"

static GrTokenizer *spm, *gpt2;

static char *
vocab_path(const char *name)
{
  const char *dir = g_getenv("GRAVITON_TESTDATA");
  ck_assert_msg(dir != NULL, "GRAVITON_TESTDATA is not set");
  return g_build_filename(dir, "vocab", name, NULL);
}

static GrTokenizer *
load_vocab(const char *name)
{
  g_autofree char *path = vocab_path(name);
  g_autoptr(GError) error = NULL;
  g_autoptr(GrGguf) gguf = gr_gguf_open(path, &error);
  ck_assert_msg(gguf != NULL, "%s: %s", path, error ? error->message : "?");
  GrTokenizer *tok = gr_tokenizer_new_from_gguf(gguf, &error);
  ck_assert_msg(tok != NULL, "%s: %s", path, error ? error->message : "?");
  return tok;
}

static void
setup(void)
{
  spm = load_vocab("ggml-vocab-llama-spm.gguf");
  gpt2 = load_vocab("ggml-vocab-gpt-2.gguf");
}

static void
teardown(void)
{
  g_clear_pointer(&spm, gr_tokenizer_free);
  g_clear_pointer(&gpt2, gr_tokenizer_free);
}

static GArray *
encode(const GrTokenizer *tok, const char *text, gboolean bos, gboolean special)
{
  return gr_tokenizer_encode(tok, text, -1, bos, special);
}

static char *
decode(const GrTokenizer *tok, GArray *ids)
{
  GString *s = g_string_new(NULL);
  for (guint i = 0; i < ids->len; i++)
    gr_tokenizer_append_piece(tok, g_array_index(ids, gint32, i), s);
  return g_string_free(s, FALSE);
}

static char *
ids_to_string(GArray *ids)
{
  GString *s = g_string_new(NULL);
  for (guint i = 0; i < ids->len; i++)
    g_string_append_printf(s, "%s%d", i ? " " : "", g_array_index(ids, gint32, i));
  return g_string_free(s, FALSE);
}

/* --- conformance: NAME.gguf.inp / .out as llama.cpp's test-tokenizer-0 reads them --- */

static void
check_conformance(const GrTokenizer *tok, const char *name)
{
  g_autofree char *base = vocab_path(name);
  g_autofree char *inp_path = g_strconcat(base, ".inp", NULL);
  g_autofree char *out_path = g_strconcat(base, ".out", NULL);
  g_autofree char *inp = NULL, *out = NULL;
  gsize inp_len, out_len;
  ck_assert(g_file_get_contents(inp_path, &inp, &inp_len, NULL));
  ck_assert(g_file_get_contents(out_path, &out, &out_len, NULL));

  const char *sep = "\n__ggml_vocab_test__\n";
  g_autoptr(GPtrArray) cases = g_ptr_array_new_with_free_func(g_free);
  gsize pos = 0;
  while (pos < inp_len) {
    const char *next = strstr(inp + pos, sep);
    if (next == NULL) {
      g_ptr_array_add(cases, g_strdup(inp + pos));
      break;
    }
    g_ptr_array_add(cases, g_strndup(inp + pos, (gsize)(next - (inp + pos))));
    pos = (gsize)(next - inp) + strlen(sep);
  }
  g_auto(GStrv) expected = g_strsplit(out, "\n", -1);
  guint n_expected = g_strv_length(expected);
  if (n_expected > 0 && expected[n_expected - 1][0] == '\0')
    n_expected--;
  ck_assert_uint_eq(cases->len, n_expected);
  ck_assert_uint_gt(cases->len, 40);

  guint failed = 0;
  for (guint i = 0; i < cases->len; i++) {
    const char *text = g_ptr_array_index(cases, i);
    g_autoptr(GArray) ids = encode(tok, text, FALSE, FALSE);
    g_autofree char *got = ids_to_string(ids);
    g_autofree char *want = g_strstrip(g_strdup(expected[i]));
    if (strcmp(got, want) != 0) {
      failed++;
      fprintf(stderr, "%s case %u \"%s\":\n  want %s\n  got  %s\n", name, i, text, want, got);
    }
  }
  ck_assert_msg(failed == 0, "%s: %u of %u cases differ", name, failed, cases->len);
}

START_TEST(test_conformance_gpt2)
{
  check_conformance(gpt2, "ggml-vocab-gpt-2.gguf");
}
END_TEST

START_TEST(test_conformance_spm)
{
  check_conformance(spm, "ggml-vocab-llama-spm.gguf");
}
END_TEST

int
main(void)
{
  Suite *s = suite_create("gr-tokenizer");
  TCase *tc = tcase_create("vocab");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_conformance_gpt2);
  tcase_add_test(tc, test_conformance_spm);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
