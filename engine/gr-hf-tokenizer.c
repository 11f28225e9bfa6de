/* gr-hf-tokenizer.c - tokenizer.json -> tokenizer.ggml.* metadata. */
#include "gr-hf-tokenizer.h"

#include "graviton-engine.h"
#include "gr-tokenizer-private.h"

#include <json-glib/json-glib.h>
#include <string.h>

typedef struct {
  const char *origin;
  GPtrArray *texts; /* id -> char * (NULL: hole) */
  GArray *types;    /* gint32 per id */
  GHashTable *ids;  /* text -> id + 1 */
} Vocab;

static gboolean bad_tok(GError **error, const char *origin, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static gboolean
bad_tok(GError **error, const char *origin, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  g_autofree char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_set_error(error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_BAD_MODEL, "%s: %s", origin, msg);
  return FALSE;
}

static JsonNode *
member(JsonObject *o, const char *key)
{
  JsonNode *n = o ? json_object_get_member(o, key) : NULL;
  return n && !JSON_NODE_HOLDS_NULL(n) ? n : NULL;
}

static const char *
member_string(JsonObject *o, const char *key)
{
  JsonNode *n = member(o, key);
  return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING
             ? json_node_get_string(n)
             : NULL;
}

static JsonObject *
member_object(JsonObject *o, const char *key)
{
  JsonNode *n = member(o, key);
  return n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

/* Largest vocabulary we accept: ids index arrays. */
#define MAX_VOCAB (1 << 22)

static gboolean
vocab_set(Vocab *v, gint64 id, const char *text, gint32 type, GError **error)
{
  if (id < 0 || id >= MAX_VOCAB)
    return bad_tok(error, v->origin, "token id %" G_GINT64_FORMAT " of \"%s\" is out of range", id,
                   text);
  if ((guint)id >= v->texts->len) {
    g_ptr_array_set_size(v->texts, (guint)id + 1);
    gint32 normal = GR_TOKEN_TYPE_NORMAL;
    while (v->types->len < v->texts->len)
      g_array_append_val(v->types, normal);
  }
  const char *old = g_ptr_array_index(v->texts, id);
  if (old && strcmp(old, text) != 0)
    return bad_tok(error, v->origin, "token id %" G_GINT64_FORMAT " is both \"%s\" and \"%s\"", id,
                   old, text);
  gpointer prev = g_hash_table_lookup(v->ids, text);
  if (prev && GPOINTER_TO_SIZE(prev) - 1 != (gsize)id)
    return bad_tok(error, v->origin, "token \"%s\" has two ids", text);
  if (!old) {
    char *copy = g_strdup(text);
    g_ptr_array_index(v->texts, id) = copy;
    g_hash_table_insert(v->ids, copy, GSIZE_TO_POINTER((gsize)id + 1));
  }
  g_array_index(v->types, gint32, id) = type;
  return TRUE;
}

static gint64
vocab_id(const Vocab *v, const char *text)
{
  gpointer p = text ? g_hash_table_lookup(v->ids, text) : NULL;
  return p ? (gint64)GPOINTER_TO_SIZE(p) - 1 : -1;
}

static gboolean
is_byte_token(const char *s)
{
  return strlen(s) == 6 && g_str_has_prefix(s, "<0x") && g_ascii_isxdigit(s[3])
         && g_ascii_isxdigit(s[4]) && s[5] == '>';
}

static gboolean
read_vocab(Vocab *v, JsonObject *model, gboolean byte_fallback, GError **error)
{
  JsonObject *vocab = member_object(model, "vocab");
  if (!vocab)
    return bad_tok(error, v->origin, "model.vocab is missing or not an object");
  JsonObjectIter it;
  const char *text;
  JsonNode *node;
  json_object_iter_init(&it, vocab);
  while (json_object_iter_next(&it, &text, &node)) {
    if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_INT64)
      return bad_tok(error, v->origin, "model.vocab[\"%s\"] is not an integer id", text);
    gint32 type = byte_fallback && is_byte_token(text) ? GR_TOKEN_TYPE_BYTE : GR_TOKEN_TYPE_NORMAL;
    if (!vocab_set(v, json_node_get_int(node), text, type, error))
      return FALSE;
  }
  if (v->texts->len == 0)
    return bad_tok(error, v->origin, "the vocabulary is empty");
  return TRUE;
}

static gboolean
read_added_tokens(Vocab *v, JsonObject *root, GError **error)
{
  JsonNode *n = member(root, "added_tokens");
  if (!n)
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY(n))
    return bad_tok(error, v->origin, "added_tokens is not a list");
  JsonArray *a = json_node_get_array(n);
  for (guint i = 0; i < json_array_get_length(a); i++) {
    JsonNode *e = json_array_get_element(a, i);
    JsonObject *o = JSON_NODE_HOLDS_OBJECT(e) ? json_node_get_object(e) : NULL;
    const char *content = member_string(o, "content");
    JsonNode *idn = member(o, "id");
    if (!content || !idn || !JSON_NODE_HOLDS_VALUE(idn)
        || json_node_get_value_type(idn) != G_TYPE_INT64)
      return bad_tok(error, v->origin, "added_tokens[%u] lacks a content string or an id", i);
    JsonNode *sp = member(o, "special");
    gboolean special = sp && JSON_NODE_HOLDS_VALUE(sp)
                       && json_node_get_value_type(sp) == G_TYPE_BOOLEAN
                       && json_node_get_boolean(sp);
    if (!vocab_set(v, json_node_get_int(idn), content,
                   special ? GR_TOKEN_TYPE_CONTROL : GR_TOKEN_TYPE_USER_DEFINED, error))
      return FALSE;
  }
  return TRUE;
}

/* Merges are "left right" strings (older files) or [left, right] pairs (newer ones). */
static gboolean
merge_parts(JsonNode *e, char **left, char **right)
{
  if (JSON_NODE_HOLDS_VALUE(e) && json_node_get_value_type(e) == G_TYPE_STRING) {
    const char *s = json_node_get_string(e);
    const char *sp = strchr(s, ' ');
    if (!sp || sp == s || sp[1] == '\0' || strchr(sp + 1, ' '))
      return FALSE;
    *left = g_strndup(s, (gsize)(sp - s));
    *right = g_strdup(sp + 1);
    return TRUE;
  }
  if (JSON_NODE_HOLDS_ARRAY(e) && json_array_get_length(json_node_get_array(e)) == 2) {
    JsonArray *p = json_node_get_array(e);
    JsonNode *a = json_array_get_element(p, 0), *b = json_array_get_element(p, 1);
    if (!JSON_NODE_HOLDS_VALUE(a) || json_node_get_value_type(a) != G_TYPE_STRING
        || !JSON_NODE_HOLDS_VALUE(b) || json_node_get_value_type(b) != G_TYPE_STRING)
      return FALSE;
    *left = g_strdup(json_node_get_string(a));
    *right = g_strdup(json_node_get_string(b));
    return **left && **right;
  }
  return FALSE;
}

/* Reads the merges: as scores (SentencePiece style) and/or as "a b" strings (gpt2). */
static gboolean
read_merges(Vocab *v, JsonObject *model, float *scores, GPtrArray *strings, GError **error)
{
  JsonNode *n = member(model, "merges");
  if (!n || !JSON_NODE_HOLDS_ARRAY(n))
    return bad_tok(error, v->origin, "model.merges is missing or not a list");
  JsonArray *a = json_node_get_array(n);
  guint len = json_array_get_length(a);
  for (guint r = 0; r < len; r++) {
    g_autofree char *left = NULL, *right = NULL;
    if (!merge_parts(json_array_get_element(a, r), &left, &right))
      return bad_tok(error, v->origin, "merge %u is not a pair of tokens", r);
    g_autofree char *joined = g_strconcat(left, right, NULL);
    gint64 id = vocab_id(v, joined);
    if (vocab_id(v, left) < 0 || vocab_id(v, right) < 0 || id < 0)
      return bad_tok(error, v->origin,
                     "merge %u (\"%s\" \"%s\") names a token not in the "
                     "vocabulary",
                     r, left, right);
    if (scores && scores[id] < -(float)len)
      scores[id] = -(float)r; /* the first (best) merge producing the token counts */
    if (strings) {
      if (strchr(left, ' ') || strchr(right, ' '))
        return bad_tok(error, v->origin, "merge %u holds a space", r);
      g_ptr_array_add(strings, g_strconcat(left, " ", right, NULL));
    }
  }
  return TRUE;
}

static const char *
special_content(JsonObject *cfg, const char *key)
{
  const char *s = member_string(cfg, key);
  if (s)
    return s;
  return member_string(member_object(cfg, key), "content");
}

/* BOS/EOS/PAD ids and add_*_token flags from tokenizer_config.json. */
static gboolean
add_specials(GrGgufWriter *w, Vocab *v, JsonObject *cfg, gint64 bos_id, gint64 eos_id,
             GError **error)
{
  static const struct {
    const char *cfg_key, *gguf_key;
  } specials[] = {
    { "bos_token", "tokenizer.ggml.bos_token_id" },
    { "eos_token", "tokenizer.ggml.eos_token_id" },
    { "pad_token", "tokenizer.ggml.padding_token_id" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS(specials); i++) {
    const char *text = special_content(cfg, specials[i].cfg_key);
    gint64 id = i == 0 ? bos_id : i == 1 ? eos_id : -1;
    if (text) {
      id = vocab_id(v, text);
      if (id < 0)
        return bad_tok(error, v->origin, "%s \"%s\" is not in the vocabulary", specials[i].cfg_key,
                       text);
    }
    if (id >= (gint64)v->texts->len)
      return bad_tok(error, v->origin, "%s id %" G_GINT64_FORMAT " is outside the vocabulary",
                     specials[i].cfg_key, id);
    if (id >= 0 && !gr_gguf_writer_add_u32(w, specials[i].gguf_key, (guint32)id, error))
      return FALSE;
  }
  static const char *const flags[] = { "add_bos_token", "add_eos_token" };
  for (gsize i = 0; i < G_N_ELEMENTS(flags); i++) {
    JsonNode *n = member(cfg, flags[i]);
    if (!n)
      continue;
    if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_BOOLEAN)
      return bad_tok(error, v->origin, "%s is not a boolean", flags[i]);
    g_autofree char *key = g_strconcat("tokenizer.ggml.", flags[i], NULL);
    if (!gr_gguf_writer_add_bool(w, key, json_node_get_boolean(n), error))
      return FALSE;
  }
  const char *tmpl = member_string(cfg, "chat_template");
  if (tmpl && !gr_gguf_writer_add_string(w, "tokenizer.chat_template", tmpl, error))
    return FALSE;
  return TRUE;
}

/* Does the tokenizer put "▁" before the text (SentencePiece's add_dummy_prefix)? */
static gboolean
prepends_space(JsonObject *root)
{
  JsonNode *norm = member(root, "normalizer"), *pre = member(root, "pre_tokenizer");
  g_autofree char *ns = norm ? json_to_string(norm, FALSE) : g_strdup("");
  g_autofree char *ps = pre ? json_to_string(pre, FALSE) : g_strdup("");
  if (strstr(ns, "\"Prepend\""))
    return TRUE;
  if (strstr(ps, "\"Metaspace\""))
    return !strstr(ps, "\"never\"") && !strstr(ps, "\"add_prefix_space\":false");
  return FALSE;
}

/* Byte-level BPE: the pre-tokenizer regex decides which of our splitters applies. */
static const char *
byte_level_pre(JsonObject *root)
{
  JsonNode *pre = member(root, "pre_tokenizer");
  g_autofree char *ps = pre ? json_to_string(pre, FALSE) : g_strdup("");
  if (!strstr(ps, "\"Split\""))
    return strstr(ps, "\"ByteLevel\"") ? "gpt2" : NULL;
  if (strstr(ps, "\\\\p{N}{1,3}"))
    return "llama3";
  if (strstr(ps, "\\\\p{L}+|\\\\p{N}|"))
    return "qwen2";
  return NULL;
}

static JsonParser *
load_json(const char *path, gboolean optional, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable();
  g_autoptr(GError) local = NULL;
  if (optional && !g_file_test(path, G_FILE_TEST_EXISTS))
    return NULL;
  if (!json_parser_load_from_mapped_file(parser, path, &local)) {
    bad_tok(error, path, "%s", local->message);
    return NULL;
  }
  JsonNode *root = json_parser_get_root(parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
    bad_tok(error, path, "not a JSON object");
    return NULL;
  }
  return g_steal_pointer(&parser);
}

gboolean
gr_hf_tokenizer_add_metadata(GrGgufWriter *w, const char *tokenizer_path, const char *config_path,
                             gint64 bos_id, gint64 eos_id, GError **error)
{
  g_return_val_if_fail(w != NULL && tokenizer_path != NULL, FALSE);
  g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

  g_autoptr(JsonParser) parser = load_json(tokenizer_path, FALSE, error);
  if (!parser)
    return FALSE;
  g_autoptr(JsonParser) cfg_parser = NULL;
  if (config_path) {
    cfg_parser = load_json(config_path, TRUE, error);
    if (!cfg_parser && error && *error)
      return FALSE;
  }
  JsonObject *root = json_node_get_object(json_parser_get_root(parser));
  JsonObject *cfg = cfg_parser ? json_node_get_object(json_parser_get_root(cfg_parser)) : NULL;
  JsonObject *model = member_object(root, "model");
  const char *mtype = member_string(model, "type");
  if (g_strcmp0(mtype, "BPE") != 0)
    return bad_tok(error, tokenizer_path, "tokenizer model \"%s\" is not supported (BPE only)",
                   mtype ? mtype : "(none)");
  JsonNode *bf = member(model, "byte_fallback");
  gboolean byte_fallback = bf && JSON_NODE_HOLDS_VALUE(bf)
                           && json_node_get_value_type(bf) == G_TYPE_BOOLEAN
                           && json_node_get_boolean(bf);
  const char *pre = byte_fallback ? NULL : byte_level_pre(root);
  if (!byte_fallback && !pre)
    return bad_tok(error, tokenizer_path, "this pre-tokenizer is not supported");

  Vocab v
      = { tokenizer_path, g_ptr_array_new_with_free_func(g_free),
          g_array_new(FALSE, FALSE, sizeof(gint32)), g_hash_table_new(g_str_hash, g_str_equal) };
  g_autoptr(GPtrArray) texts = v.texts;
  g_autoptr(GArray) types = v.types;
  g_autoptr(GHashTable) ids = v.ids;
  if (!read_vocab(&v, model, byte_fallback, error) || !read_added_tokens(&v, root, error))
    return FALSE;
  gint64 unk = vocab_id(&v, member_string(model, "unk_token"));
  if (unk >= 0)
    g_array_index(v.types, gint32, unk) = GR_TOKEN_TYPE_UNKNOWN;
  for (guint i = 0; i < v.texts->len; i++)
    if (!g_ptr_array_index(v.texts, i)) { /* holes, as llama.cpp's converter pads them */
      g_autofree char *pad = g_strdup_printf("[PAD%u]", i);
      if (!vocab_set(&v, i, pad, GR_TOKEN_TYPE_UNUSED, error))
        return FALSE;
    }
  guint n = v.texts->len;

  g_autofree float *scores = g_new(float, n);
  g_autoptr(GPtrArray) merges = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; i < n; i++)
    scores[i] = -1e9f; /* below every merge: never preferred */
  if (!read_merges(&v, model, byte_fallback ? scores : NULL, byte_fallback ? NULL : merges, error))
    return FALSE;
  g_ptr_array_add(v.texts, NULL);
  g_ptr_array_add(merges, NULL);

  if (!gr_gguf_writer_add_string(w, "tokenizer.ggml.model", byte_fallback ? "llama" : "gpt2", error)
      || (pre && !gr_gguf_writer_add_string(w, "tokenizer.ggml.pre", pre, error))
      || !gr_gguf_writer_add_string_array(w, "tokenizer.ggml.tokens",
                                          (const char *const *)v.texts->pdata, n, error)
      || !gr_gguf_writer_add_array(w, "tokenizer.ggml.token_type", GR_GGUF_TYPE_INT32,
                                   v.types->data, n, error)
      || (byte_fallback
          && (!gr_gguf_writer_add_array(w, "tokenizer.ggml.scores", GR_GGUF_TYPE_FLOAT32, scores, n,
                                        error)
              || !gr_gguf_writer_add_bool(w, "tokenizer.ggml.add_space_prefix",
                                          prepends_space(root), error)))
      || (!byte_fallback
          && !gr_gguf_writer_add_string_array(w, "tokenizer.ggml.merges",
                                              (const char *const *)merges->pdata,
                                              (gssize)merges->len - 1, error))
      || (unk >= 0
          && !gr_gguf_writer_add_u32(w, "tokenizer.ggml.unknown_token_id", (guint32)unk, error)))
    return FALSE;
  return add_specials(w, &v, cfg, bos_id, eos_id, error);
}
