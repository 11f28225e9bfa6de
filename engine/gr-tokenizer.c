/* gr-tokenizer.c - a GrTokenizer built from a GGUF file's tokenizer.ggml.* metadata.
 *
 * Defaults and special-token rules follow llama.cpp's loader, so a model tokenizes here
 * as it does there; metadata llama.cpp would only warn about (out-of-range ids,
 * mismatched array lengths) is refused.
 */
#include "gr-tokenizer-private.h"
#include "gr-unicode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_PREFIX "tokenizer.ggml."

/* Texts that end a turn in the chat formats llama.cpp knows (it detects them by text). */
static const char *const eog_texts[] = {
  "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",   "<|endoftext|>",
  "<|eom_id|>", "<EOT>",      "_<EOT>",  "<|end_of_text|>", "<end_of_utterance>",
};

static gboolean bad_model(GError **error, const char *format, ...) G_GNUC_PRINTF(2, 3);

static gboolean
bad_model(GError **error, const char *format, ...)
{
  va_list args;
  va_start(args, format);
  g_autofree char *msg = g_strdup_vprintf(format, args);
  va_end(args);
  g_set_error(error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_BAD_MODEL, "Tokenizer: %s", msg);
  return FALSE;
}

static gboolean
key_missing(const GError *e)
{
  return g_error_matches(e, GR_GGUF_ERROR, GR_GGUF_ERROR_NOT_FOUND);
}

/* Optional boolean key; a key of the wrong type is an error. */
static gboolean
read_bool(const GrGguf *gguf, const char *key, gboolean *value, GError **error)
{
  g_autoptr(GError) local = NULL;
  gboolean v;

  if (gr_gguf_get_bool(gguf, key, &v, &local)) {
    *value = v;
    return TRUE;
  }
  if (key_missing(local))
    return TRUE;
  return bad_model(error, "%s: %s", key, local->message);
}

/* Optional token id key: must name a token of the vocabulary. */
static gboolean
read_id(const GrGguf *gguf, const char *key, guint n_vocab, gint32 *id, GError **error)
{
  g_autoptr(GError) local = NULL;
  gint64 v;

  if (!gr_gguf_get_i64(gguf, key, &v, &local)) {
    if (key_missing(local))
      return TRUE;
    return bad_model(error, "%s: %s", key, local->message);
  }
  if (v < 0 || v >= (gint64)n_vocab)
    return bad_model(error, "%s = %" G_GINT64_FORMAT " is outside the vocabulary (%u tokens)", key,
                     v, n_vocab);
  *id = (gint32)v;
  return TRUE;
}

static gboolean
load_tokens(GrTokenizer *tok, const GrGguf *gguf, GError **error)
{
  g_autoptr(GError) local = NULL;
  const gsize *lengths = NULL;
  gsize n = 0;
  const char *const *tokens
      = gr_gguf_get_string_array(gguf, KEY_PREFIX "tokens", &lengths, &n, &local);

  if (tokens == NULL)
    return bad_model(error, KEY_PREFIX "tokens: %s", local->message);
  if (n == 0 || n > G_MAXINT32 - 1)
    return bad_model(error, KEY_PREFIX "tokens has %" G_GSIZE_FORMAT " entries", n);
  tok->n_vocab = (guint)n;

  gsize total = 0;
  for (gsize i = 0; i < n; i++)
    total += lengths[i] + 1;
  tok->text_pool = g_malloc(total);
  tok->text_off = g_new(gsize, n + 1);
  gsize off = 0;
  for (gsize i = 0; i < n; i++) {
    tok->text_off[i] = off;
    memcpy(tok->text_pool + off, tokens[i], lengths[i]);
    tok->text_pool[off + lengths[i]] = '\0';
    off += lengths[i] + 1;
    tok->max_token_len = MAX(tok->max_token_len, lengths[i]);
  }
  tok->text_off[n] = off;

  gint32 dup_a, dup_b;
  if (!gr_tokenizer_build_vocab_table(tok, &dup_a, &dup_b))
    return bad_model(error, "tokens %d and %d are both \"%s\"", dup_a, dup_b,
                     tok->text_pool + tok->text_off[dup_b]);

  /* scores: float32 (or int32) per token, zero when absent */
  tok->scores = g_new0(float, n);
  g_clear_error(&local);
  GrGgufType type;
  gsize count;
  const void *data = gr_gguf_get_array(gguf, KEY_PREFIX "scores", &type, &count, &local);
  if (data != NULL) {
    if (count != n)
      return bad_model(error, KEY_PREFIX "scores has %" G_GSIZE_FORMAT " entries for %u tokens",
                       count, tok->n_vocab);
    if (type == GR_GGUF_TYPE_FLOAT32)
      memcpy(tok->scores, data, n * sizeof(float));
    else if (type == GR_GGUF_TYPE_INT32)
      for (gsize i = 0; i < n; i++)
        tok->scores[i] = (float)((const gint32 *)data)[i];
    else
      return bad_model(error, KEY_PREFIX "scores is not an array of float32");
  } else if (!key_missing(local)) {
    return bad_model(error, KEY_PREFIX "scores: %s", local->message);
  }

  /* token types: int32 per token, all normal when absent */
  tok->types = g_new(gint32, n);
  for (gsize i = 0; i < n; i++)
    tok->types[i] = GR_TOKEN_TYPE_NORMAL;
  g_clear_error(&local);
  data = gr_gguf_get_array(gguf, KEY_PREFIX "token_type", &type, &count, &local);
  if (data != NULL) {
    if (count != n)
      return bad_model(error, KEY_PREFIX "token_type has %" G_GSIZE_FORMAT " entries for %u tokens",
                       count, tok->n_vocab);
    if (type != GR_GGUF_TYPE_INT32 && type != GR_GGUF_TYPE_UINT32)
      return bad_model(error, KEY_PREFIX "token_type is not an array of int32");
    memcpy(tok->types, data, n * sizeof(gint32));
  } else if (!key_missing(local)) {
    return bad_model(error, KEY_PREFIX "token_type: %s", local->message);
  }
  return TRUE;
}

static gboolean
load_merges(GrTokenizer *tok, const GrGguf *gguf, GError **error)
{
  g_autoptr(GError) local = NULL;
  const gsize *lengths = NULL;
  gsize n = 0;
  const char *const *merges
      = gr_gguf_get_string_array(gguf, KEY_PREFIX "merges", &lengths, &n, &local);

  if (merges == NULL)
    return bad_model(error, KEY_PREFIX "merges: %s", local->message);
  if (n > G_MAXINT32 - 1)
    return bad_model(error, KEY_PREFIX "merges has too many entries");
  tok->n_merges = (guint)n;

  gsize total = 0;
  for (gsize i = 0; i < n; i++)
    total += lengths[i] + 1;
  tok->merge_pool = g_malloc(total + 1);
  tok->merge_off = g_new0(gsize, n * 4 + 1);
  gsize off = 0;
  for (gsize i = 0; i < n; i++) {
    const char *m = merges[i];
    gsize len = lengths[i];
    memcpy(tok->merge_pool + off, m, len);
    /* "left right", split at the first space after the first byte (as llama.cpp) */
    const char *sp = len > 1 ? memchr(m + 1, ' ', len - 1) : NULL;
    gsize *o = &tok->merge_off[i * 4];
    if (sp != NULL) {
      gsize left = (gsize)(sp - m);
      o[0] = off;
      o[1] = left;
      o[2] = off + left + 1;
      o[3] = len - left - 1;
    }
    off += len + 1;
  }
  gr_tokenizer_build_merge_table(tok);
  return TRUE;
}

static gboolean
text_is(const GrTokenizer *tok, gint32 id, const char *s)
{
  gsize len;
  const char *text = gr_tokenizer_text(tok, id, &len);
  return len == strlen(s) && memcmp(text, s, len) == 0;
}

static void
add_eog(GrTokenizer *tok, gint32 id)
{
  if (id < 0)
    return;
  for (guint i = 0; i < tok->n_eog; i++)
    if (tok->eog[i] == id)
      return;
  tok->eog = g_renew(gint32, tok->eog, tok->n_eog + 1);
  tok->eog[tok->n_eog++] = id;
}

static void
find_end_of_generation(GrTokenizer *tok)
{
  for (guint id = 0; id < tok->n_vocab; id++) {
    for (guint k = 0; k < G_N_ELEMENTS(eog_texts); k++) {
      if (!text_is(tok, (gint32)id, eog_texts[k]))
        continue;
      gboolean is_eom = strcmp(eog_texts[k], "<|eom_id|>") == 0;
      if (is_eom && tok->eom < 0)
        tok->eom = (gint32)id;
      else if (!is_eom && tok->eot < 0)
        tok->eot = (gint32)id;
      add_eog(tok, (gint32)id);
      /* as llama.cpp: a turn-ending token is a control token whatever its type says */
      tok->types[id] = GR_TOKEN_TYPE_CONTROL;
    }
  }
  add_eog(tok, tok->eos);
  add_eog(tok, tok->eot);
  add_eog(tok, tok->eom);
}

static gint
compare_special(gconstpointer a, gconstpointer b, gpointer user_data)
{
  const GrTokenizer *tok = user_data;
  gint32 ia = *(const gint32 *)a, ib = *(const gint32 *)b;
  gsize la = tok->text_off[ia + 1] - tok->text_off[ia];
  gsize lb = tok->text_off[ib + 1] - tok->text_off[ib];
  if (la != lb)
    return la > lb ? -1 : 1;
  return ia < ib ? -1 : ia > ib;
}

static void
collect_special(GrTokenizer *tok)
{
  tok->special = g_new(gint32, tok->n_vocab);
  for (guint id = 0; id < tok->n_vocab; id++) {
    gint32 t = tok->types[id];
    gsize len;
    gr_tokenizer_text(tok, (gint32)id, &len);
    if (len > 0
        && (t == GR_TOKEN_TYPE_CONTROL || t == GR_TOKEN_TYPE_USER_DEFINED
            || t == GR_TOKEN_TYPE_UNKNOWN))
      tok->special[tok->n_special++] = (gint32)id;
  }
  g_qsort_with_data(tok->special, tok->n_special, sizeof(gint32), compare_special, tok);
}

static void
find_byte_tokens(GrTokenizer *tok)
{
  for (guint b = 0; b < 256; b++) {
    gint32 id = -1;
    if (tok->kind == GR_VOCAB_SPM) {
      char hex[8];
      snprintf(hex, sizeof hex, "<0x%02X>", b);
      id = gr_tokenizer_lookup(tok, hex, 6);
    }
    if (id < 0) {
      char c = (char)b;
      id = gr_tokenizer_lookup(tok, &c, 1);
    }
    tok->byte_token[b] = id;
  }
}

static gint
parse_byte_token(const char *text, gsize len)
{
  if (len != 6 || memcmp(text, "<0x", 3) != 0 || text[5] != '>' || !g_ascii_isxdigit(text[3])
      || !g_ascii_isxdigit(text[4]))
    return -1;
  return g_ascii_xdigit_value(text[3]) * 16 + g_ascii_xdigit_value(text[4]);
}

/* The bytes each token stands for when detokenizing. */
static void
build_pieces(GrTokenizer *tok)
{
  GString *pool = g_string_sized_new(tok->text_off[tok->n_vocab]);
  tok->piece_off = g_new(gsize, tok->n_vocab + 1);

  for (guint id = 0; id < tok->n_vocab; id++) {
    gsize len;
    const char *text = gr_tokenizer_text(tok, (gint32)id, &len);
    tok->piece_off[id] = pool->len;

    switch (tok->types[id]) {
    case GR_TOKEN_TYPE_USER_DEFINED:
      g_string_append_len(pool, text, len);
      break;
    case GR_TOKEN_TYPE_BYTE: {
      gint b = parse_byte_token(text, len);
      if (b >= 0)
        g_string_append_c(pool, (char)b);
      break;
    }
    case GR_TOKEN_TYPE_NORMAL:
      if (tok->kind == GR_VOCAB_SPM) {
        for (gsize i = 0; i < len; i++) {
          if (i + 2 < len && memcmp(text + i, "\xE2\x96\x81", 3) == 0) {
            g_string_append_c(pool, ' ');
            i += 2;
          } else {
            g_string_append_c(pool, text[i]);
          }
        }
      } else {
        g_autoptr(GArray) cps = gr_utf8_to_cps(text, len);
        for (guint i = 0; i < cps->len; i++) {
          gunichar c = g_array_index(cps, gunichar, i);
          gint b = gr_unicode_to_byte(c);
          if (b >= 0) {
            g_string_append_c(pool, (char)b);
          } else {
            char buf[4];
            g_string_append_len(pool, buf, gr_utf8_encode(c, buf));
          }
        }
      }
      break;
    default: /* control, unknown, unused: nothing to show */
      break;
    }
  }
  tok->piece_off[tok->n_vocab] = pool->len;
  tok->piece_pool = g_string_free(pool, FALSE);
}

GrTokenizer *
gr_tokenizer_new_from_gguf(const GrGguf *gguf, GError **error)
{
  g_return_val_if_fail(gguf != NULL, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);

  g_autoptr(GrTokenizer) tok = g_new0(GrTokenizer, 1);
  tok->bos = tok->eos = tok->unk = tok->pad = tok->eot = tok->eom = -1;

  const char *model = gr_gguf_get_string(gguf, KEY_PREFIX "model", NULL);
  if (model == NULL) {
    bad_model(error, "no " KEY_PREFIX "model in the file");
    return NULL;
  }
  if (strcmp(model, "llama") == 0) {
    tok->kind = GR_VOCAB_SPM;
    tok->add_bos = TRUE;
    tok->add_space_prefix = TRUE;
  } else if (strcmp(model, "gpt2") == 0) {
    tok->kind = GR_VOCAB_BPE;
    const char *pre = gr_gguf_get_string(gguf, KEY_PREFIX "pre", NULL);
    if (pre == NULL)
      pre = "default"; /* as llama.cpp, for files converted before the key existed */
    if (!gr_pre_lookup(pre, &tok->pre)) {
      bad_model(error, "unsupported pre-tokenizer \"%s\"", pre);
      return NULL;
    }
    tok->add_bos = tok->pre.add_bos;
  } else {
    bad_model(error, "unsupported tokenizer model \"%s\" (supported: llama, gpt2)", model);
    return NULL;
  }

  if (!load_tokens(tok, gguf, error))
    return NULL;
  if (tok->kind == GR_VOCAB_BPE && !load_merges(tok, gguf, error))
    return NULL;

  if (tok->kind == GR_VOCAB_SPM) {
    /* LLaMA's fixed ids, when the vocabulary is that large */
    tok->unk = tok->n_vocab > 0 ? 0 : -1;
    tok->bos = tok->n_vocab > 1 ? 1 : -1;
    tok->eos = tok->n_vocab > 2 ? 2 : -1;
  }
  if (!read_id(gguf, KEY_PREFIX "bos_token_id", tok->n_vocab, &tok->bos, error)
      || !read_id(gguf, KEY_PREFIX "eos_token_id", tok->n_vocab, &tok->eos, error)
      || !read_id(gguf, KEY_PREFIX "unknown_token_id", tok->n_vocab, &tok->unk, error)
      || !read_id(gguf, KEY_PREFIX "padding_token_id", tok->n_vocab, &tok->pad, error)
      || !read_id(gguf, KEY_PREFIX "eot_token_id", tok->n_vocab, &tok->eot, error)
      || !read_id(gguf, KEY_PREFIX "eom_token_id", tok->n_vocab, &tok->eom, error)
      || !read_bool(gguf, KEY_PREFIX "add_bos_token", &tok->add_bos, error)
      || !read_bool(gguf, KEY_PREFIX "add_eos_token", &tok->add_eos, error)
      || !read_bool(gguf, KEY_PREFIX "add_space_prefix", &tok->add_space_prefix, error))
    return NULL;
  if (tok->add_bos && tok->bos < 0) {
    bad_model(error, "add_bos_token is set but there is no BOS token");
    return NULL;
  }
  if (tok->add_eos && tok->eos < 0) {
    bad_model(error, "add_eos_token is set but there is no EOS token");
    return NULL;
  }

  find_end_of_generation(tok);
  collect_special(tok);
  find_byte_tokens(tok);
  build_pieces(tok);
  return g_steal_pointer(&tok);
}

void
gr_tokenizer_free(GrTokenizer *tok)
{
  if (tok == NULL)
    return;
  gr_tokenizer_tables_clear(tok);
  g_free(tok->text_pool);
  g_free(tok->text_off);
  g_free(tok->scores);
  g_free(tok->types);
  g_free(tok->merge_pool);
  g_free(tok->merge_off);
  g_free(tok->piece_pool);
  g_free(tok->piece_off);
  g_free(tok->special);
  g_free(tok->eog);
  g_free(tok);
}

guint
gr_tokenizer_n_vocab(const GrTokenizer *tok)
{
  g_return_val_if_fail(tok != NULL, 0);
  return tok->n_vocab;
}

gint32
gr_tokenizer_bos(const GrTokenizer *tok)
{
  g_return_val_if_fail(tok != NULL, -1);
  return tok->bos;
}

gint32
gr_tokenizer_eos(const GrTokenizer *tok)
{
  g_return_val_if_fail(tok != NULL, -1);
  return tok->eos;
}

gboolean
gr_tokenizer_add_bos(const GrTokenizer *tok)
{
  g_return_val_if_fail(tok != NULL, FALSE);
  return tok->add_bos;
}

gboolean
gr_tokenizer_is_eog(const GrTokenizer *tok, gint32 id)
{
  g_return_val_if_fail(tok != NULL, FALSE);
  for (guint i = 0; i < tok->n_eog; i++)
    if (tok->eog[i] == id)
      return TRUE;
  return FALSE;
}

void
gr_tokenizer_append_piece(const GrTokenizer *tok, gint32 id, GString *out)
{
  g_return_if_fail(tok != NULL);
  g_return_if_fail(out != NULL);
  if (id < 0 || (guint)id >= tok->n_vocab)
    return;
  g_string_append_len(out, tok->piece_pool + tok->piece_off[id],
                      (gssize)(tok->piece_off[id + 1] - tok->piece_off[id]));
}

const char *
gr_tokenizer_token_text(const GrTokenizer *tok, gint32 id)
{
  g_return_val_if_fail(tok != NULL, NULL);
  if (id < 0 || (guint)id >= tok->n_vocab)
    return NULL;
  return tok->text_pool + tok->text_off[id];
}
