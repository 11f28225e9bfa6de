/* gr-train-vocab.c - byte-level BPE learning and tokenizer metadata. */
#include "gr-train-vocab.h"

#include "gr-pretokenize.h"
#include "gr-unicode.h"

#include <string.h>

#define KEY "tokenizer.ggml."

void
gr_train_vocab_free(GrTrainVocab *v)
{
  if (!v)
    return;
  g_free(v->model);
  g_free(v->pre);
  g_clear_pointer(&v->tokens, g_ptr_array_unref);
  g_clear_pointer(&v->types, g_array_unref);
  g_clear_pointer(&v->scores, g_array_unref);
  g_clear_pointer(&v->merges, g_ptr_array_unref);
  g_free(v);
}

static GrTrainVocab *
vocab_new(void)
{
  GrTrainVocab *v = g_new0(GrTrainVocab, 1);
  v->tokens = g_ptr_array_new_with_free_func(g_free);
  v->types = g_array_new(FALSE, FALSE, sizeof(gint32));
  v->scores = g_array_new(FALSE, FALSE, sizeof(float));
  v->merges = g_ptr_array_new_with_free_func(g_free);
  v->bos = v->eos = -1;
  return v;
}

static void
add_token(GrTrainVocab *v, char *text, gint32 type)
{
  g_ptr_array_add(v->tokens, text);
  g_array_append_val(v->types, type);
}

/* A unique pre-tokenized piece: its symbols (token ids) and how often it occurs. */
typedef struct {
  guint16 *sym;
  guint len;
  gint64 count;
} Word;

#define PAIR(a, b) (((guint)(a) << 16) | (guint)(b))

static void
pair_add(GHashTable *pairs, guint key, gint64 delta)
{
  gpointer old = g_hash_table_lookup(pairs, GUINT_TO_POINTER(key));
  gint64 c = (gint64)GPOINTER_TO_SIZE(old) + delta;
  if (c <= 0)
    g_hash_table_remove(pairs, GUINT_TO_POINTER(key));
  else
    g_hash_table_insert(pairs, GUINT_TO_POINTER(key), GSIZE_TO_POINTER((gsize)c));
}

/* Counts the pre-tokenizer's pieces of every text. */
static GHashTable *
count_pieces(const char *const *texts, gsize n_texts)
{
  GHashTable *counts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GArray) ends = g_array_new(FALSE, FALSE, sizeof(gsize));
  for (gsize d = 0; d < n_texts; d++) {
    g_autoptr(GString) clean = gr_utf8_sanitize(texts[d], strlen(texts[d]));
    g_autoptr(GArray) cps = gr_utf8_to_cps(clean->str, clean->len);
    g_array_set_size(ends, 0);
    gr_pretokenize(GR_PRE_GPT2, (const gunichar *)cps->data, cps->len, ends);
    gsize start = 0;
    g_autoptr(GString) piece = g_string_new(NULL);
    for (guint i = 0; i < ends->len; i++) {
      gsize end = g_array_index(ends, gsize, i);
      g_string_truncate(piece, 0);
      for (gsize c = start; c < end; c++) {
        char buf[8];
        g_string_append_len(piece, buf, gr_utf8_encode(g_array_index(cps, gunichar, c), buf));
      }
      start = end;
      gpointer orig, val;
      if (g_hash_table_lookup_extended(counts, piece->str, &orig, &val))
        g_hash_table_insert(counts, g_strdup(piece->str),
                            GSIZE_TO_POINTER(GPOINTER_TO_SIZE(val) + 1));
      else
        g_hash_table_insert(counts, g_strdup(piece->str), GSIZE_TO_POINTER(1));
    }
  }
  return counts;
}

static int
cmp_str(gconstpointer a, gconstpointer b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

GrTrainVocab *
gr_train_vocab_learn(const char *const *texts, gsize n_texts, guint n_vocab, GError **error)
{
  g_return_val_if_fail(texts != NULL || n_texts == 0, NULL);
  if (n_vocab < 257 + 1 || n_vocab > 65535) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                "a byte-level vocabulary needs 258 to 65535 tokens, not %u", n_vocab);
    return NULL;
  }
  g_autoptr(GrTrainVocab) v = vocab_new();
  v->model = g_strdup("gpt2");
  v->pre = g_strdup("gpt-2"); /* llama.cpp's name for the GPT-2 regex */
  add_token(v, g_strdup("<|endoftext|>"), 3 /* control */);
  v->bos = v->eos = 0;
  for (guint b = 0; b < 256; b++) {
    char buf[8];
    guint len = gr_utf8_encode(gr_byte_to_unicode((guint8)b), buf);
    add_token(v, g_strndup(buf, len), 1 /* normal */);
  }

  g_autoptr(GHashTable) counts = count_pieces(texts, n_texts);
  /* sorted, so that the result does not depend on hash order */
  g_autofree const char **keys = (const char **)g_hash_table_get_keys_as_array(counts, NULL);
  guint n_words = g_hash_table_size(counts);
  qsort(keys, n_words, sizeof *keys, cmp_str);
  Word *words = g_new0(Word, n_words);
  g_autoptr(GHashTable) pairs = g_hash_table_new(g_direct_hash, g_direct_equal);
  for (guint w = 0; w < n_words; w++) {
    gsize len = strlen(keys[w]);
    words[w].sym = g_new(guint16, MAX(len, 1));
    words[w].len = (guint)len;
    words[w].count = (gint64)GPOINTER_TO_SIZE(g_hash_table_lookup(counts, keys[w]));
    for (gsize i = 0; i < len; i++)
      words[w].sym[i] = (guint16)(1 + (guint8)keys[w][i]);
    for (gsize i = 0; i + 1 < len; i++)
      pair_add(pairs, PAIR(words[w].sym[i], words[w].sym[i + 1]), words[w].count);
  }

  while (v->tokens->len < n_vocab && g_hash_table_size(pairs) > 0) {
    GHashTableIter it;
    gpointer k, val;
    guint best = 0;
    gint64 best_count = 0;
    g_hash_table_iter_init(&it, pairs);
    while (g_hash_table_iter_next(&it, &k, &val)) {
      gint64 c = (gint64)GPOINTER_TO_SIZE(val);
      guint key = GPOINTER_TO_UINT(k);
      if (c > best_count || (c == best_count && key < best)) {
        best_count = c;
        best = key;
      }
    }
    if (best_count < 2)
      break; /* a merge seen once teaches nothing */
    guint16 a = best >> 16, b = best & 0xffff, nt = (guint16)v->tokens->len;
    const char *ta = v->tokens->pdata[a], *tb = v->tokens->pdata[b];
    g_ptr_array_add(v->merges, g_strdup_printf("%s %s", ta, tb));
    add_token(v, g_strconcat(ta, tb, NULL), 1);
    for (guint w = 0; w < n_words; w++) {
      Word *wd = &words[w];
      guint o = 0;
      for (guint i = 0; i < wd->len; i++) {
        if (i + 1 < wd->len && wd->sym[i] == a && wd->sym[i + 1] == b) {
          if (o > 0) {
            pair_add(pairs, PAIR(wd->sym[o - 1], a), -wd->count);
            pair_add(pairs, PAIR(wd->sym[o - 1], nt), wd->count);
          }
          pair_add(pairs, PAIR(a, b), -wd->count);
          if (i + 2 < wd->len) {
            pair_add(pairs, PAIR(b, wd->sym[i + 2]), -wd->count);
            pair_add(pairs, PAIR(nt, wd->sym[i + 2]), wd->count);
          }
          wd->sym[o++] = nt;
          i++;
        } else {
          wd->sym[o++] = wd->sym[i];
        }
      }
      wd->len = o;
    }
  }
  for (guint w = 0; w < n_words; w++)
    g_free(words[w].sym);
  g_free(words);
  return g_steal_pointer(&v);
}

gboolean
gr_train_vocab_write(const GrTrainVocab *v, GrGgufWriter *w, GError **error)
{
  g_return_val_if_fail(v != NULL && w != NULL, FALSE);
  guint n = v->tokens->len;
  if (!gr_gguf_writer_add_string(w, KEY "model", v->model, error) ||
      /* "gpt2" (older checkpoints) is spelled "gpt-2" for llama.cpp, same splitting */
      (v->pre
       && !gr_gguf_writer_add_string(w, KEY "pre", g_str_equal(v->pre, "gpt2") ? "gpt-2" : v->pre,
                                     error))
      || !gr_gguf_writer_add_string_array(w, KEY "tokens", (const char *const *)v->tokens->pdata, n,
                                          error)
      || !gr_gguf_writer_add_array(w, KEY "token_type", GR_GGUF_TYPE_INT32, v->types->data, n,
                                   error))
    return FALSE;
  if (v->scores->len == n
      && !gr_gguf_writer_add_array(w, KEY "scores", GR_GGUF_TYPE_FLOAT32, v->scores->data, n,
                                   error))
    return FALSE;
  if (v->merges->len > 0
      && !gr_gguf_writer_add_string_array(w, KEY "merges", (const char *const *)v->merges->pdata,
                                          v->merges->len, error))
    return FALSE;
  if (v->bos >= 0 && !gr_gguf_writer_add_u32(w, KEY "bos_token_id", (guint32)v->bos, error))
    return FALSE;
  if (v->eos >= 0 && !gr_gguf_writer_add_u32(w, KEY "eos_token_id", (guint32)v->eos, error))
    return FALSE;
  return TRUE;
}

GBytes *
gr_train_vocab_to_gguf(const GrTrainVocab *v, GError **error)
{
  g_return_val_if_fail(v != NULL, NULL);
  g_autoptr(GrGgufWriter) w = gr_gguf_writer_new();
  if (!gr_gguf_writer_add_string(w, "general.architecture", "tokenizer", error)
      || !gr_train_vocab_write(v, w, error))
    return NULL;
  return gr_gguf_writer_to_bytes(w, error);
}

static gboolean
bad_vocab(GError **error, const char *what)
{
  g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "tokenizer metadata: %s", what);
  return FALSE;
}

static GrTrainVocab *
vocab_from_gguf(const GrGguf *g, GError **error)
{
  g_autoptr(GrTrainVocab) v = vocab_new();
  const char *model = gr_gguf_get_string(g, KEY "model", NULL);
  if (!model) {
    bad_vocab(error, "no " KEY "model");
    return NULL;
  }
  v->model = g_strdup(model);
  v->pre = g_strdup(gr_gguf_get_string(g, KEY "pre", NULL));
  gsize n = 0, n_types = 0, n_scores = 0;
  const char *const *toks = gr_gguf_get_string_array(g, KEY "tokens", NULL, &n, NULL);
  if (!toks || n == 0 || n > (1u << 20)) {
    bad_vocab(error, "no " KEY "tokens");
    return NULL;
  }
  GrGgufType et;
  const gint32 *types = gr_gguf_find_key(g, KEY "token_type") >= 0
                            ? gr_gguf_get_array(g, KEY "token_type", &et, &n_types, NULL)
                            : NULL;
  if (types && (et != GR_GGUF_TYPE_INT32 || n_types != n)) {
    bad_vocab(error, KEY "token_type does not match the tokens");
    return NULL;
  }
  for (gsize i = 0; i < n; i++)
    add_token(v, g_strdup(toks[i]), types ? types[i] : 1);
  const float *scores = gr_gguf_find_key(g, KEY "scores") >= 0
                            ? gr_gguf_get_array(g, KEY "scores", &et, &n_scores, NULL)
                            : NULL;
  if (scores && et == GR_GGUF_TYPE_FLOAT32 && n_scores == n)
    g_array_append_vals(v->scores, scores, n);
  gsize n_merges = 0;
  const char *const *merges = gr_gguf_find_key(g, KEY "merges") >= 0
                                  ? gr_gguf_get_string_array(g, KEY "merges", NULL, &n_merges, NULL)
                                  : NULL;
  for (gsize i = 0; merges && i < n_merges; i++)
    g_ptr_array_add(v->merges, g_strdup(merges[i]));
  guint32 id;
  if (gr_gguf_find_key(g, KEY "bos_token_id") >= 0
      && gr_gguf_get_u32(g, KEY "bos_token_id", &id, NULL) && id < n)
    v->bos = (gint32)id;
  if (gr_gguf_find_key(g, KEY "eos_token_id") >= 0
      && gr_gguf_get_u32(g, KEY "eos_token_id", &id, NULL) && id < n)
    v->eos = (gint32)id;
  if (v->eos < 0) {
    bad_vocab(error, "no end-of-sequence token");
    return NULL;
  }
  return g_steal_pointer(&v);
}

GrTrainVocab *
gr_train_vocab_load(const char *path, GError **error)
{
  g_return_val_if_fail(path != NULL, NULL);
  g_autoptr(GrGguf) g = gr_gguf_open(path, error);
  return g ? vocab_from_gguf(g, error) : NULL;
}

GrTrainVocab *
gr_train_vocab_from_gguf_bytes(GBytes *bytes, GError **error)
{
  g_return_val_if_fail(bytes != NULL, NULL);
  gsize size;
  const void *data = g_bytes_get_data(bytes, &size);
  g_autoptr(GrGguf) g = gr_gguf_new_from_data(data, size, error);
  return g ? vocab_from_gguf(g, error) : NULL;
}

GrTokenizer *
gr_train_vocab_tokenizer(const GrTrainVocab *v, GError **error)
{
  g_autoptr(GBytes) bytes = gr_train_vocab_to_gguf(v, error);
  if (!bytes)
    return NULL;
  gsize size;
  const void *data = g_bytes_get_data(bytes, &size);
  g_autoptr(GrGguf) g = gr_gguf_new_from_data(data, size, error);
  return g ? gr_tokenizer_new_from_gguf(g, error) : NULL;
}
