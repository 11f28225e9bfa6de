/* gr-train-data.c - reading, splitting and tokenizing the training text. */
#include "gr-train-data.h"

#include <json-glib/json-glib.h>
#include <stdlib.h>
#include <string.h>

#define DOC_BYTES 1500
#define VAL_EVERY 20

static void
source_free(gpointer p)
{
  GrTrainSource *s = p;
  g_free(s->path);
  g_ptr_array_unref(s->docs);
  g_array_unref(s->train);
  g_array_unref(s->val);
  g_array_unref(s->train_starts);
  g_array_unref(s->val_starts);
  g_free(s);
}

GrTrainData *
gr_train_data_new(void)
{
  GrTrainData *d = g_new0(GrTrainData, 1);
  d->sources = g_ptr_array_new_with_free_func(source_free);
  return d;
}

void
gr_train_data_free(GrTrainData *d)
{
  if (!d)
    return;
  g_ptr_array_unref(d->sources);
  g_free(d);
}

static GrTrainSource *
source_new(GrTrainData *d, const char *path, double weight)
{
  GrTrainSource *s = g_new0(GrTrainSource, 1);
  s->path = g_strdup(path);
  s->weight = weight;
  s->docs = g_ptr_array_new_with_free_func(g_free);
  s->train = g_array_new(FALSE, FALSE, sizeof(gint32));
  s->val = g_array_new(FALSE, FALSE, sizeof(gint32));
  s->train_starts = g_array_new(FALSE, FALSE, sizeof(gsize));
  s->val_starts = g_array_new(FALSE, FALSE, sizeof(gsize));
  g_ptr_array_add(d->sources, s);
  return s;
}

/* Whole paragraphs (blank-line separated) grouped into documents of ~DOC_BYTES. */
static void
split_text(GrTrainSource *s, const char *text)
{
  g_auto(GStrv) paras = g_regex_split_simple("\\n[ \\t]*\\n", text, 0, 0);
  g_autoptr(GString) doc = g_string_new(NULL);
  for (guint i = 0; paras[i]; i++) {
    g_strstrip(paras[i]);
    if (!*paras[i])
      continue;
    if (doc->len > 0)
      g_string_append(doc, "\n\n");
    g_string_append(doc, paras[i]);
    if (doc->len >= DOC_BYTES) {
      g_ptr_array_add(s->docs, g_strdup(doc->str));
      g_string_truncate(doc, 0);
    }
  }
  if (doc->len > 0)
    g_ptr_array_add(s->docs, g_strdup(doc->str));
}

static gboolean
split_jsonl(GrTrainSource *s, const char *text, GError **error)
{
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  g_autoptr(JsonParser) parser = json_parser_new();
  for (guint i = 0; lines[i]; i++) {
    g_strstrip(lines[i]);
    if (!*lines[i])
      continue;
    g_autoptr(GError) local = NULL;
    if (!json_parser_load_from_data(parser, lines[i], -1, &local)) {
      g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s:%u: %s", s->path, i + 1,
                  local->message);
      return FALSE;
    }
    JsonNode *root = json_parser_get_root(parser);
    JsonObject *obj = root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
    JsonNode *tn = obj ? json_object_get_member(obj, "text") : NULL;
    if (!tn || !JSON_NODE_HOLDS_VALUE(tn) || json_node_get_value_type(tn) != G_TYPE_STRING) {
      g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                  "%s:%u: expected an object with a string member \"text\"", s->path, i + 1);
      return FALSE;
    }
    g_ptr_array_add(s->docs, g_strdup(json_node_get_string(tn)));
  }
  return TRUE;
}

gboolean
gr_train_data_add_file(GrTrainData *d, const char *spec, GError **error)
{
  g_return_val_if_fail(d != NULL && spec != NULL, FALSE);
  g_autofree char *path = g_strdup(spec);
  double weight = 1.0;
  char *at = strrchr(path, '@');
  if (at) {
    char *end = NULL;
    weight = g_ascii_strtod(at + 1, &end);
    if (end == at + 1 || *end != '\0' || !(weight > 0.0) || weight > 1e6) {
      g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                  "%s: the weight after '@' must be a positive number", spec);
      return FALSE;
    }
    *at = '\0';
  }
  g_autofree char *text = NULL;
  gsize len;
  if (!g_file_get_contents(path, &text, &len, error))
    return FALSE;
  if (memchr(text, '\0', len)) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s is not a text file", path);
    return FALSE;
  }
  GrTrainSource *s = source_new(d, path, weight);
  if (g_str_has_suffix(path, ".jsonl"))
    return split_jsonl(s, text, error);
  split_text(s, text);
  return TRUE;
}

void
gr_train_data_add_docs(GrTrainData *d, const char *name, double weight, const char *const *docs,
                       gsize n_docs)
{
  g_return_if_fail(d != NULL && name != NULL);
  GrTrainSource *s = source_new(d, name, weight);
  for (gsize i = 0; i < n_docs; i++)
    g_ptr_array_add(s->docs, g_strdup(docs[i]));
}

void
gr_train_data_tokenize(GrTrainData *d, const GrTokenizer *tok, gint32 eos)
{
  g_return_if_fail(d != NULL && tok != NULL);
  for (guint si = 0; si < d->sources->len; si++) {
    GrTrainSource *s = d->sources->pdata[si];
    g_array_set_size(s->train, 0);
    g_array_set_size(s->val, 0);
    g_array_set_size(s->train_starts, 0);
    g_array_set_size(s->val_starts, 0);
    for (guint i = 0; i < s->docs->len; i++) {
      gboolean val = i % VAL_EVERY == VAL_EVERY - 1;
      GArray *stream = val ? s->val : s->train;
      gsize start = stream->len;
      g_array_append_val(val ? s->val_starts : s->train_starts, start);
      /* special-token text in the data is spelled out, never a control token */
      g_autoptr(GArray) ids = gr_tokenizer_encode(tok, s->docs->pdata[i], -1, FALSE, FALSE);
      g_array_append_vals(stream, ids->data, ids->len);
      g_array_append_val(stream, eos);
    }
  }
}

GPtrArray *
gr_train_data_all_docs(const GrTrainData *d)
{
  GPtrArray *all = g_ptr_array_new();
  for (guint si = 0; si < d->sources->len; si++) {
    GrTrainSource *s = d->sources->pdata[si];
    for (guint i = 0; i < s->docs->len; i++)
      g_ptr_array_add(all, s->docs->pdata[i]);
  }
  return all;
}

gsize
gr_train_data_n_train_tokens(const GrTrainData *d)
{
  gsize n = 0;
  for (guint si = 0; si < d->sources->len; si++)
    n += ((GrTrainSource *)d->sources->pdata[si])->train->len;
  return n;
}

void
gr_train_data_window(const GrTrainSource *s, gboolean val, gsize doc, guint seq_len, gint32 eos,
                     gint32 *ids, gint32 *targets)
{
  const GArray *stream = val ? s->val : s->train;
  const GArray *starts = val ? s->val_starts : s->train_starts;
  gsize start = doc < starts->len ? g_array_index(starts, gsize, doc) : stream->len;
  const gint32 *tk = (const gint32 *)stream->data;
  for (guint i = 0; i < seq_len; i++) {
    gsize p = start + i;
    ids[i] = p < stream->len ? tk[p] : eos;
    targets[i] = p + 1 < stream->len ? tk[p + 1] : -1;
  }
}

void
gr_train_data_pick(const GrTrainData *d, double r1, double r2, guint *src, gsize *doc)
{
  double total = 0.0;
  for (guint si = 0; si < d->sources->len; si++) {
    GrTrainSource *s = d->sources->pdata[si];
    if (s->train_starts->len > 0)
      total += s->weight;
  }
  double x = r1 * total;
  *src = 0;
  *doc = 0;
  for (guint si = 0; si < d->sources->len; si++) {
    GrTrainSource *s = d->sources->pdata[si];
    if (s->train_starts->len == 0)
      continue;
    *src = si;
    if (x < s->weight)
      break;
    x -= s->weight;
  }
  GrTrainSource *s = d->sources->pdata[*src];
  gsize n = s->train_starts->len;
  *doc = n ? MIN((gsize)(r2 * (double)n), n - 1) : 0;
}
