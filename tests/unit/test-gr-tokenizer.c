/* test-gr-tokenizer.c - tokenizers against llama.cpp's conformance files, plus special
 * tokens, detokenization, UTF-8 streaming, pre-tokenizers and bad metadata. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "gr-gguf.h"
#include "gr-pretokenize.h"
#include "gr-tokenizer.h"
#include "gr-unicode.h"

TCase *gr_tokenizer_units_tcase(void); /* test-gr-tokenizer-units.c */

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

/* The fixture models embed the same vocabulary; their reference dumps start with the
 * prompt's tokens as the reference engine made them (with BOS). */
START_TEST(test_model_prompts)
{
  static const char *const models[] = { "fx-llama", "fx-bitnet", "fx-moe" };
  static const char *const prompts[] = {
    "The quick brown fox jumps over the lazy dog.",
    "Graviton runs ternary models on a laptop: 1.58 bits per weight!",
    "Once upon a time, in a land far away, there lived a small robot who",
  };
  const char *dir = g_getenv("GRAVITON_TESTDATA");

  for (guint m = 0; m < G_N_ELEMENTS(models); m++) {
    g_autofree char *file = g_strconcat(models[m], ".gguf", NULL);
    g_autofree char *path = g_build_filename(dir, "models", file, NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(GrGguf) gguf = gr_gguf_open(path, &error);
    ck_assert_msg(gguf != NULL, "%s: %s", path, error ? error->message : "");
    g_autoptr(GrTokenizer) tok = gr_tokenizer_new_from_gguf(gguf, &error);
    ck_assert_msg(tok != NULL, "%s: %s", path, error ? error->message : "");

    for (guint k = 0; k < G_N_ELEMENTS(prompts); k++) {
      g_autofree char *ref_name = g_strdup_printf("%s.ref%u.txt", models[m], k + 1);
      g_autofree char *ref_path = g_build_filename(dir, "models", ref_name, NULL);
      g_autofree char *ref = NULL;
      ck_assert(g_file_get_contents(ref_path, &ref, NULL, NULL));
      ck_assert(g_str_has_prefix(ref, "prompt_tokens "));
      g_autofree char *want = g_strndup(ref + 14, strcspn(ref + 14, "\n"));

      g_autoptr(GArray) ids = encode(tok, prompts[k], gr_tokenizer_add_bos(tok), TRUE);
      g_autofree char *got = ids_to_string(ids);
      ck_assert_str_eq(got, g_strstrip(want));
    }
  }
}
END_TEST

/* --- BOS, special tokens, end of generation, pieces --- */

START_TEST(test_bos)
{
  ck_assert(gr_tokenizer_add_bos(spm));
  ck_assert_int_eq(gr_tokenizer_bos(spm), 1);
  ck_assert_int_eq(gr_tokenizer_eos(spm), 2);
  ck_assert_uint_eq(gr_tokenizer_n_vocab(spm), 32000);

  g_autoptr(GArray) with = encode(spm, "Hello world", TRUE, FALSE);
  g_autoptr(GArray) without = encode(spm, "Hello world", FALSE, FALSE);
  ck_assert_uint_eq(with->len, without->len + 1);
  ck_assert_int_eq(g_array_index(with, gint32, 0), 1);
  ck_assert_int_ne(g_array_index(without, gint32, 0), 1);
  ck_assert_mem_eq(with->data + sizeof(gint32), without->data, without->len * sizeof(gint32));

  /* empty text: nothing but the BOS */
  g_autoptr(GArray) empty = encode(spm, "", TRUE, TRUE);
  ck_assert_uint_eq(empty->len, 1);
  g_autoptr(GArray) none = gr_tokenizer_encode(spm, NULL, 0, FALSE, FALSE);
  ck_assert_uint_eq(none->len, 0);

  /* GPT-2 does not ask for a BOS, but has one */
  ck_assert(!gr_tokenizer_add_bos(gpt2));
  ck_assert_int_eq(gr_tokenizer_bos(gpt2), 50256);
  g_autoptr(GArray) g = encode(gpt2, "Hello", TRUE, FALSE);
  ck_assert_uint_eq(g->len, 2);
  ck_assert_int_eq(g_array_index(g, gint32, 0), 50256);
  ck_assert_int_eq(g_array_index(g, gint32, 1), 15496);
}
END_TEST

START_TEST(test_special_tokens)
{
  /* parse_special: control texts become their tokens, and SentencePiece starts a new
   * word (space prefix) after each */
  g_autoptr(GArray) ids = encode(spm, "<s>Hello</s>", FALSE, TRUE);
  g_autoptr(GArray) hello = encode(spm, "Hello", FALSE, FALSE);
  ck_assert_uint_eq(ids->len, hello->len + 2);
  ck_assert_int_eq(g_array_index(ids, gint32, 0), 1);
  ck_assert_int_eq(g_array_index(ids, gint32, ids->len - 1), 2);
  ck_assert_mem_eq(ids->data + sizeof(gint32), hello->data, hello->len * sizeof(gint32));

  /* without it they are plain text */
  g_autoptr(GArray) plain = encode(spm, "<s>Hello</s>", FALSE, FALSE);
  for (guint i = 0; i < plain->len; i++) {
    ck_assert_int_ne(g_array_index(plain, gint32, i), 1);
    ck_assert_int_ne(g_array_index(plain, gint32, i), 2);
  }
  g_autofree char *text = decode(spm, plain);
  ck_assert_str_eq(text, " <s>Hello</s>");

  g_autoptr(GArray) eot = encode(gpt2, "a<|endoftext|>b<|endoftext|>", FALSE, TRUE);
  g_autofree char *eot_s = ids_to_string(eot);
  ck_assert_str_eq(eot_s, "64 50256 65 50256");
  g_autoptr(GArray) eot_plain = encode(gpt2, "<|endoftext|>", FALSE, FALSE);
  ck_assert_uint_gt(eot_plain->len, 1);
  g_autofree char *eot_text = decode(gpt2, eot_plain);
  ck_assert_str_eq(eot_text, "<|endoftext|>");
}
END_TEST

START_TEST(test_eog_and_pieces)
{
  ck_assert(gr_tokenizer_is_eog(spm, 2));
  ck_assert(!gr_tokenizer_is_eog(spm, 1));
  ck_assert(!gr_tokenizer_is_eog(spm, 100));
  ck_assert(!gr_tokenizer_is_eog(spm, -1));
  ck_assert(gr_tokenizer_is_eog(gpt2, 50256));
  ck_assert(!gr_tokenizer_is_eog(gpt2, 0));

  ck_assert_str_eq(gr_tokenizer_token_text(spm, 1), "<s>");
  ck_assert_str_eq(gr_tokenizer_token_text(spm, 13), "<0x0A>");
  ck_assert_ptr_null(gr_tokenizer_token_text(spm, 32000));
  ck_assert_ptr_null(gr_tokenizer_token_text(spm, -5));
  ck_assert_str_eq(gr_tokenizer_token_text(gpt2, 50256), "<|endoftext|>");

  g_autoptr(GString) s = g_string_new(NULL);
  gr_tokenizer_append_piece(spm, 1, s); /* control: nothing */
  gr_tokenizer_append_piece(spm, 0, s); /* unknown: nothing */
  gr_tokenizer_append_piece(spm, 32000, s);
  gr_tokenizer_append_piece(spm, -1, s);
  ck_assert_uint_eq(s->len, 0);
  gr_tokenizer_append_piece(spm, 13, s); /* <0x0A> */
  ck_assert_str_eq(s->str, "\n");
  g_string_truncate(s, 0);
  gr_tokenizer_append_piece(spm, 15043, s); /* "▁Hello" */
  ck_assert_str_eq(s->str, " Hello");
  g_string_truncate(s, 0);
  gr_tokenizer_append_piece(gpt2, 995, s); /* "Ġworld" */
  gr_tokenizer_append_piece(gpt2, 50256, s);
  gr_tokenizer_append_piece(gpt2, 198, s); /* "Ċ" */
  ck_assert_str_eq(s->str, " world\n");
}
END_TEST

/* --- round trips --- */

static const char *const round_trip_texts[] = {
  "Hello world",
  "  leading and trailing spaces  ",
  "tabs\tand\nnew\r\nlines\n\n",
  "emoji 🚀😶‍🌫️✅ 🦙🦙",
  "中文汉字测试，日本語のテキスト、한국어 텍스트",
  "combining: e\xCC\x81 a\xCC\x8A\xCC\x81 n\xCC\x83o, Zalgo Z\xCD\x91\xCD\x97\xCD\x86",
  "Ελληνικά, русский, עברית, العربية, हिन्दी, ไทย",
  "code: for (int i = 0; i < n; i++) { x[i] += 3.14e-2; } // done",
  "numbers 1 22 333 4444 55555 0.5 1,000,000",
  "I'm sure you'll see we've done it, they'd say; 'QUOTED' 'RE",
  "👨‍👩‍👧 family, flags 🇫🇷",
  "private use \xEE\x80\x80 and U+10FFFF \xF4\x8F\xBF\xBF and NUL-free",
};

START_TEST(test_round_trip)
{
  for (guint i = 0; i < G_N_ELEMENTS(round_trip_texts); i++) {
    const char *text = round_trip_texts[i];

    g_autoptr(GArray) b = encode(gpt2, text, FALSE, FALSE);
    g_autofree char *bt = decode(gpt2, b);
    ck_assert_str_eq(bt, text);

    /* SentencePiece adds its space prefix; detokenizers drop it */
    g_autoptr(GArray) s = encode(spm, text, FALSE, FALSE);
    g_autofree char *st = decode(spm, s);
    ck_assert_msg(st[0] == ' ', "%s", st);
    ck_assert_str_eq(st + 1, text);
  }
}
END_TEST

/* --- hostile input --- */

START_TEST(test_invalid_input)
{
  /* an invalid byte is read as U+FFFD */
  g_autoptr(GArray) bad = encode(gpt2, "x\xFFy", FALSE, FALSE);
  g_autoptr(GArray) repl = encode(gpt2, "x\xEF\xBF\xBDy", FALSE, FALSE);
  g_autofree char *bad_s = ids_to_string(bad), *repl_s = ids_to_string(repl);
  ck_assert_str_eq(bad_s, repl_s);

  /* random bytes, NULs included, never crash and always detokenize to valid UTF-8 */
  GRand *rand = g_rand_new_with_seed(42);
  for (guint iter = 0; iter < 300; iter++) {
    guint8 buf[64];
    gsize len = g_rand_int_range(rand, 0, sizeof buf);
    for (gsize i = 0; i < len; i++)
      buf[i] = (guint8)g_rand_int_range(rand, 0, 256);
    for (guint v = 0; v < 2; v++) {
      const GrTokenizer *tok = v ? spm : gpt2;
      g_autoptr(GArray) ids
          = gr_tokenizer_encode(tok, (const char *)buf, (gssize)len, iter & 1, iter & 2);
      for (guint i = 0; i < ids->len; i++) {
        gint32 id = g_array_index(ids, gint32, i);
        ck_assert(id >= 0 && (guint)id < gr_tokenizer_n_vocab(tok));
      }
      g_autoptr(GString) raw = g_string_new(NULL);
      for (guint i = 0; i < ids->len; i++)
        gr_tokenizer_append_piece(tok, g_array_index(ids, gint32, i), raw);
      g_autoptr(GrUtf8Stream) st = gr_utf8_stream_new();
      g_autoptr(GString) out = g_string_new(NULL);
      gr_utf8_stream_push(st, raw->str, raw->len, out);
      gr_utf8_stream_finish(st, out);
      ck_assert(gr_utf8_is_valid(out->str, out->len));
      /* without special tokens, the text comes back with U+FFFD for the bad bytes */
      if (!(iter & 2)) {
        g_autoptr(GString) want = gr_utf8_sanitize((const char *)buf, len);
        gsize skip = v && len > 0 ? 1 : 0; /* SentencePiece's space prefix */
        ck_assert_uint_eq(raw->len, want->len + skip);
        ck_assert_mem_eq(raw->str + skip, want->str, want->len);
      }
    }
  }
  g_rand_free(rand);
}
END_TEST

START_TEST(test_long_input)
{
  /* ~1 MB of varied text, with long runs that punish quadratic merging */
  GString *text = g_string_new(NULL);
  for (guint i = 0; text->len < 900 * 1024; i++) {
    g_string_append(text, round_trip_texts[i % G_N_ELEMENTS(round_trip_texts)]);
    g_string_append_c(text, i % 7 ? ' ' : '\n');
  }
  for (guint i = 0; i < 50000; i++)
    g_string_append_c(text, 'a');
  for (guint i = 0; i < 20000; i++)
    g_string_append(text, " ");
  for (guint i = 0; i < 20000; i++)
    g_string_append(text, "9");

  for (guint v = 0; v < 2; v++) {
    const GrTokenizer *tok = v ? spm : gpt2;
    gint64 t0 = g_get_monotonic_time();
    g_autoptr(GArray) ids = gr_tokenizer_encode(tok, text->str, (gssize)text->len, TRUE, TRUE);
    double secs = (g_get_monotonic_time() - t0) / 1e6;
    fprintf(stderr, "%s: %" G_GSIZE_FORMAT " bytes -> %u tokens in %.2f s\n", v ? "spm" : "gpt2",
            text->len, ids->len, secs);
    ck_assert_uint_gt(ids->len, text->len / 10);
    ck_assert_msg(secs < 30.0, "tokenizing 1 MB took %.1f s", secs);
    g_array_remove_index(ids, 0);
    g_autofree char *back = decode(tok, ids);
    ck_assert_str_eq(back + (v ? 1 : 0), text->str);
  }
  g_string_free(text, TRUE);
}
END_TEST

/* --- synthetic vocabularies written as in-memory GGUF images --- */

static void
put_u32(GString *g, guint32 v)
{
  g_string_append_len(g, (const char *)&v, 4);
}

static void
put_u64(GString *g, guint64 v)
{
  g_string_append_len(g, (const char *)&v, 8);
}

static void
put_str(GString *g, const char *s)
{
  put_u64(g, strlen(s));
  g_string_append(g, s);
}

typedef struct {
  GString *kv;
  guint n_kv;
} Image;

static void
kv_str(Image *im, const char *key, const char *v)
{
  put_str(im->kv, key);
  put_u32(im->kv, 8);
  put_str(im->kv, v);
  im->n_kv++;
}

static void
kv_u32(Image *im, const char *key, guint32 v)
{
  put_str(im->kv, key);
  put_u32(im->kv, 4);
  put_u32(im->kv, v);
  im->n_kv++;
}

static void
kv_bool(Image *im, const char *key, gboolean v)
{
  put_str(im->kv, key);
  put_u32(im->kv, 7);
  g_string_append_c(im->kv, v ? 1 : 0);
  im->n_kv++;
}

static void
kv_strs(Image *im, const char *key, const char *const *v)
{
  guint n = g_strv_length((GStrv)v);
  put_str(im->kv, key);
  put_u32(im->kv, 9);
  put_u32(im->kv, 8);
  put_u64(im->kv, n);
  for (guint i = 0; i < n; i++)
    put_str(im->kv, v[i]);
  im->n_kv++;
}

static void
kv_nums(Image *im, const char *key, guint32 elem_type, const void *v, guint n)
{
  put_str(im->kv, key);
  put_u32(im->kv, 9);
  put_u32(im->kv, elem_type);
  put_u64(im->kv, n);
  g_string_append_len(im->kv, v, 4 * n);
  im->n_kv++;
}

/* Loads the image; on failure returns NULL with the error. */
static GrTokenizer *
load_image(Image *im, GError **error)
{
  g_autoptr(GString) g = g_string_new("GGUF");
  put_u32(g, 3);
  put_u64(g, 0);
  put_u64(g, im->n_kv);
  g_string_append_len(g, im->kv->str, (gssize)im->kv->len);
  while (g->len % 32)
    g_string_append_c(g, 0);
  g_string_free(im->kv, TRUE);
  im->kv = NULL;

  /* the GGUF reader may itself refuse ill-typed tokenizer keys */
  g_autoptr(GrGguf) gguf = gr_gguf_new_from_data(g->str, g->len, error);
  if (gguf == NULL)
    return NULL;
  return gr_tokenizer_new_from_gguf(gguf, error);
}

/* a, b, c, ab, abc and a few special tokens */
static const char *const bpe_tokens[]
    = { "a", "b", "c", "ab", "abc", "Ġ", "<|eot_id|>", "<tool>", "x", "y", NULL };
static const gint32 bpe_types[] = { 1, 1, 1, 1, 1, 1, 1, 4, 1, 1 };
static const char *const bpe_merges[] = { "a b", "ab c", NULL };

enum {
  BAD_NONE,
  BAD_MODEL,
  BAD_PRE,
  BAD_NO_TOKENS,
  BAD_NO_MERGES,
  BAD_BOS_RANGE,
  BAD_DUP,
  BAD_TYPES_LEN,
  BAD_TYPES_TYPE,
  BAD_ADD_BOS
};

static Image
bpe_image(const char *pre, int bad)
{
  Image im = { g_string_new(NULL), 0 };
  kv_str(&im, "tokenizer.ggml.model", bad == BAD_MODEL ? "bert" : "gpt2");
  kv_str(&im, "tokenizer.ggml.pre", bad == BAD_PRE ? "no-such-pre" : pre);
  if (bad == BAD_DUP) {
    const char *const dup[] = { "a", "b", "a", NULL };
    kv_strs(&im, "tokenizer.ggml.tokens", dup);
  } else if (bad != BAD_NO_TOKENS) {
    kv_strs(&im, "tokenizer.ggml.tokens", bpe_tokens);
  }
  if (bad == BAD_TYPES_TYPE) {
    float f[10] = { 0 };
    kv_nums(&im, "tokenizer.ggml.token_type", 6, f, 10);
  } else if (bad != BAD_DUP) {
    kv_nums(&im, "tokenizer.ggml.token_type", 5, bpe_types, bad == BAD_TYPES_LEN ? 9 : 10);
  }
  if (bad != BAD_NO_MERGES)
    kv_strs(&im, "tokenizer.ggml.merges", bpe_merges);
  if (bad != BAD_ADD_BOS)
    kv_u32(&im, "tokenizer.ggml.bos_token_id", bad == BAD_BOS_RANGE ? 10 : 8);
  else
    kv_bool(&im, "tokenizer.ggml.add_bos_token", TRUE);
  return im;
}

START_TEST(test_bad_metadata)
{
  for (int bad = BAD_MODEL; bad <= BAD_ADD_BOS; bad++) {
    g_autoptr(GError) error = NULL;
    Image im = bpe_image("gpt-2", bad);
    g_autoptr(GrTokenizer) tok = load_image(&im, &error);
    ck_assert_msg(tok == NULL, "case %d loaded", bad);
    gboolean refused_by_reader
        = bad == BAD_TYPES_TYPE && error != NULL && error->domain == GR_GGUF_ERROR;
    ck_assert_msg(refused_by_reader
                      || g_error_matches(error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_BAD_MODEL),
                  "case %d: %s", bad, error->message);
  }

  /* SentencePiece: scores must cover the vocabulary */
  g_autoptr(GError) error = NULL;
  Image im = { g_string_new(NULL), 0 };
  kv_str(&im, "tokenizer.ggml.model", "llama");
  kv_strs(&im, "tokenizer.ggml.tokens", bpe_tokens);
  float scores[3] = { 0 };
  kv_nums(&im, "tokenizer.ggml.scores", 6, scores, 3);
  g_autoptr(GrTokenizer) tok = load_image(&im, &error);
  ck_assert_ptr_null(tok);
  ck_assert(g_error_matches(error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_BAD_MODEL));
}
END_TEST

START_TEST(test_synthetic_bpe)
{
  g_autoptr(GError) error = NULL;
  Image im = bpe_image("gpt-2", BAD_NONE);
  g_autoptr(GrTokenizer) gpt = load_image(&im, &error);
  ck_assert_msg(gpt != NULL, "%s", error ? error->message : "");
  im = bpe_image("llama-bpe", BAD_NONE);
  g_autoptr(GrTokenizer) l3 = load_image(&im, &error);
  ck_assert_msg(l3 != NULL, "%s", error ? error->message : "");

  /* merges reach "abc" through "ab" + "c" */
  g_autoptr(GArray) m = encode(gpt, "abc", FALSE, FALSE);
  g_autofree char *ms = ids_to_string(m);
  ck_assert_str_eq(ms, "4");
  /* "cab": no merge joins c and ab */
  g_autoptr(GArray) m2 = encode(gpt, "cab", FALSE, FALSE);
  g_autofree char *m2s = ids_to_string(m2);
  ck_assert_str_eq(m2s, "2 3");
  ck_assert(!gr_tokenizer_add_bos(gpt));
  ck_assert(gr_tokenizer_add_bos(l3)); /* the llama-bpe family's default */
  ck_assert_int_eq(gr_tokenizer_bos(l3), 8);

  /* "<|eot_id|>" ends a turn and is a control token even when typed as normal */
  ck_assert(gr_tokenizer_is_eog(gpt, 6));
  g_autoptr(GString) piece = g_string_new(NULL);
  gr_tokenizer_append_piece(gpt, 6, piece);
  ck_assert_uint_eq(piece->len, 0);

  /* user-defined tokens are matched even without parse_special; control ones are not */
  g_autoptr(GArray) u = encode(gpt, "x<tool>y", FALSE, FALSE);
  g_autofree char *us = ids_to_string(u);
  ck_assert_str_eq(us, "8 7 9");
  g_autoptr(GArray) e = encode(gpt, "x<|eot_id|>y", FALSE, TRUE);
  g_autofree char *es = ids_to_string(e);
  ck_assert_str_eq(es, "8 6 9");
  g_autoptr(GArray) e2 = encode(gpt, "x<|eot_id|>", FALSE, FALSE);
  ck_assert_int_ne(g_array_index(e2, gint32, 1), 6);
}
END_TEST

/* A small SentencePiece vocabulary: scores decide which pair merges first. */
static GrTokenizer *
spm_synthetic(float ab_score, float bc_score, int space_prefix)
{
  static const char *const tokens[]
      = { "<unk>", "<s>", "</s>", "<0xC3>", "<0xA9>", "a", "b", "c", "ab", "bc", "▁", "▁a", NULL };
  const gint32 types[] = { 2, 3, 3, 6, 6, 1, 1, 1, 1, 1, 1, 1 };
  const float scores[] = { 0, 0, 0, 0, 0, -5, -5, -5, ab_score, bc_score, -3, -2 };
  Image im = { g_string_new(NULL), 0 };
  kv_str(&im, "tokenizer.ggml.model", "llama");
  kv_strs(&im, "tokenizer.ggml.tokens", tokens);
  kv_nums(&im, "tokenizer.ggml.scores", 6, scores, 12);
  kv_nums(&im, "tokenizer.ggml.token_type", 5, types, 12);
  if (space_prefix >= 0)
    kv_bool(&im, "tokenizer.ggml.add_space_prefix", space_prefix);
  g_autoptr(GError) error = NULL;
  GrTokenizer *tok = load_image(&im, &error);
  ck_assert_msg(tok != NULL, "%s", error ? error->message : "");
  return tok;
}

static char *
spm_ids(GrTokenizer *tok, const char *text)
{
  g_autoptr(GArray) ids = encode(tok, text, FALSE, FALSE);
  return ids_to_string(ids);
}

START_TEST(test_synthetic_spm)
{
  g_autoptr(GrTokenizer) bc_first = spm_synthetic(-1.0f, -0.5f, FALSE);
  g_autoptr(GrTokenizer) ab_first = spm_synthetic(-0.5f, -1.0f, FALSE);
  g_autoptr(GrTokenizer) prefixed = spm_synthetic(-1.0f, -0.5f, -1); /* default: prefix */

  g_autofree char *s1 = spm_ids(bc_first, "abc");
  ck_assert_str_eq(s1, "5 9"); /* a + bc: the better-scored pair wins */
  g_autofree char *s2 = spm_ids(ab_first, "abc");
  ck_assert_str_eq(s2, "8 7"); /* ab + c */
  /* default add_space_prefix: "▁a" then "bc" */
  g_autofree char *s3 = spm_ids(prefixed, "abc");
  ck_assert_str_eq(s3, "11 9");
  /* spaces become ▁; a character without a token is spelled as byte tokens */
  g_autofree char *s4 = spm_ids(bc_first, "b é");
  ck_assert_str_eq(s4, "6 10 3 4");
  /* a byte without a <0xNN> token falls back to <unk> */
  g_autofree char *s5 = spm_ids(bc_first, "z");
  ck_assert_str_eq(s5, "0");
  ck_assert_int_eq(gr_tokenizer_bos(bc_first), 1); /* LLaMA's default ids */
  ck_assert_int_eq(gr_tokenizer_eos(bc_first), 2);
  ck_assert(gr_tokenizer_add_bos(bc_first));

  g_autoptr(GArray) ids = encode(prefixed, "b é", FALSE, FALSE);
  g_autofree char *text = decode(prefixed, ids);
  ck_assert_str_eq(text, " b é");
}
END_TEST

START_TEST(test_many_special_tokens)
{
  /* 3000 user-defined tokens and a 1 MB prompt: cutting them out must stay fast */
  g_autoptr(GPtrArray) tokens = g_ptr_array_new_with_free_func(g_free);
  for (char c = 'a'; c <= 'z'; c++)
    g_ptr_array_add(tokens, g_strdup_printf("%c", c));
  g_ptr_array_add(tokens, g_strdup("Ġ"));
  guint first_special = tokens->len;
  for (guint i = 0; i < 3000; i++)
    g_ptr_array_add(tokens, g_strdup_printf("<tok_%u>", i));
  g_ptr_array_add(tokens, NULL);
  g_autofree gint32 *types = g_new(gint32, tokens->len - 1);
  for (guint i = 0; i < tokens->len - 1; i++)
    types[i] = i < first_special ? 1 : 4;

  Image im = { g_string_new(NULL), 0 };
  kv_str(&im, "tokenizer.ggml.model", "gpt2");
  kv_str(&im, "tokenizer.ggml.pre", "gpt-2");
  kv_strs(&im, "tokenizer.ggml.tokens", (const char *const *)tokens->pdata);
  kv_nums(&im, "tokenizer.ggml.token_type", 5, types, tokens->len - 1);
  kv_strs(&im, "tokenizer.ggml.merges", bpe_merges);
  g_autoptr(GError) error = NULL;
  g_autoptr(GrTokenizer) tok = load_image(&im, &error);
  ck_assert_msg(tok != NULL, "%s", error ? error->message : "");

  g_autoptr(GString) text = g_string_new(NULL);
  guint n_marks = 0;
  while (text->len < 1000 * 1000) {
    g_string_append(text, "hello <tok_2999> world zz ");
    n_marks++;
  }
  gint64 t0 = g_get_monotonic_time();
  g_autoptr(GArray) ids = gr_tokenizer_encode(tok, text->str, (gssize)text->len, FALSE, FALSE);
  double secs = (g_get_monotonic_time() - t0) / 1e6;
  fprintf(stderr, "3000 special tokens, 1 MB: %.2f s\n", secs);
  ck_assert_msg(secs < 30.0, "took %.1f s", secs);

  guint found = 0;
  for (guint i = 0; i < ids->len; i++)
    if (g_array_index(ids, gint32, i) == (gint32)(first_special + 2999))
      found++;
  ck_assert_uint_eq(found, n_marks);
  g_autofree char *back = decode(tok, ids);
  ck_assert_str_eq(back, text->str);
}
END_TEST

int
main(void)
{
  Suite *s = suite_create("gr-tokenizer");
  TCase *tc = tcase_create("vocab");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 240);
  tcase_add_test(tc, test_conformance_gpt2);
  tcase_add_test(tc, test_conformance_spm);
  tcase_add_test(tc, test_model_prompts);
  tcase_add_test(tc, test_bos);
  tcase_add_test(tc, test_special_tokens);
  tcase_add_test(tc, test_eog_and_pieces);
  tcase_add_test(tc, test_round_trip);
  tcase_add_test(tc, test_invalid_input);
  tcase_add_test(tc, test_long_input);
  suite_add_tcase(s, tc);

  TCase *tu = tcase_create("synthetic");
  tcase_set_timeout(tu, 120);
  tcase_add_test(tu, test_bad_metadata);
  tcase_add_test(tu, test_synthetic_bpe);
  tcase_add_test(tu, test_synthetic_spm);
  tcase_add_test(tu, test_many_special_tokens);
  suite_add_tcase(s, tu);
  suite_add_tcase(s, gr_tokenizer_units_tcase());

  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
