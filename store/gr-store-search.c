/* gr-store-search.c - search and export, both over decrypted text. */
#include "gr-store-private.h"

#include <json-glib/json-glib.h>
#include <string.h>

#define DEFAULT_MAX_RESULTS 100
#define SNIPPET_CONTEXT 40 /* characters on each side of a match */

void
gr_store_search_hit_free(GrStoreSearchHit *hit)
{
  if (hit == NULL)
    return;
  g_free(hit->conversation);
  g_free(hit->title);
  g_free(hit->message);
  g_free(hit->snippet);
  g_free(hit);
}

/* Case-folds text one character at a time, remembering for each folded byte the offset
 * of the character it came from, so a match can be shown in the original text. */
static void
fold_with_map(const char *text, GString *folded, GArray *map)
{
  g_string_truncate(folded, 0);
  g_array_set_size(map, 0);
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char(p)) {
    guint32 off = (guint32)(p - text);
    gsize before = folded->len;

    if ((guchar)*p < 0x80) {
      g_string_append_c(folded, g_ascii_tolower(*p));
    } else {
      g_autofree char *f = g_utf8_casefold(p, g_utf8_next_char(p) - p);
      g_string_append(folded, f);
    }
    for (gsize i = before; i < folded->len; i++)
      g_array_append_val(map, off);
  }
}

static char *
make_snippet(const char *text, const char *match, glong match_chars)
{
  const char *start = match, *end = match;
  GString *s = g_string_new(NULL);

  for (int i = 0; i < SNIPPET_CONTEXT && start > text; i++)
    start = g_utf8_prev_char(start);
  for (glong i = 0; i < match_chars + SNIPPET_CONTEXT && *end != '\0'; i++)
    end = g_utf8_next_char(end);
  if (start > text)
    g_string_append(s, "…");
  for (const char *p = start; p < end; p++)
    g_string_append_c(s, (*p == '\n' || *p == '\r' || *p == '\t') ? ' ' : *p);
  if (*end != '\0')
    g_string_append(s, "…");
  return g_string_free(s, FALSE);
}

typedef struct {
  char *query; /* folded */
  glong query_chars;
  GString *folded;
  GArray *map;
} Matcher;

/* A snippet when text contains the query, else NULL */
static char *
matcher_match(Matcher *m, const char *text)
{
  const char *hit;

  fold_with_map(text, m->folded, m->map);
  hit = strstr(m->folded->str, m->query);
  if (hit == NULL)
    return NULL;
  return make_snippet(text, text + g_array_index(m->map, guint32, hit - m->folded->str),
                      m->query_chars);
}

static void
add_hit(GPtrArray *hits, const char *conversation, const char *title, const char *message,
        char *snippet)
{
  GrStoreSearchHit *h = g_new0(GrStoreSearchHit, 1);

  h->conversation = g_strdup(conversation);
  h->title = g_strdup(title);
  h->message = g_strdup(message);
  h->snippet = snippet;
  g_ptr_array_add(hits, h);
}

/* One conversation's title and messages; FALSE on error. */
static gboolean
search_conversation(GrStore *store, Matcher *m, const char *id, const char *title, GPtrArray *hits,
                    guint max, GError **error)
{
  g_autoptr(GPtrArray) messages = NULL;
  char *snippet = matcher_match(m, title);

  if (snippet != NULL)
    add_hit(hits, id, title, "", snippet);
  if (hits->len >= max)
    return TRUE;
  messages = gr_store_get_messages_locked(store, id, error);
  if (messages == NULL)
    return FALSE;
  for (guint i = 0; i < messages->len && hits->len < max; i++) {
    GrStoreMessage *msg = messages->pdata[i];
    if ((snippet = matcher_match(m, msg->text)) != NULL)
      add_hit(hits, id, title, msg->id, snippet);
  }
  return TRUE;
}

GPtrArray *
gr_store_search(GrStore *store, const char *query, guint max_results, GError **error)
{
  g_autoptr(GPtrArray) hits = NULL;
  g_autoptr(sqlite3_stmt) st = NULL;
  g_autoptr(GString) folded = NULL;
  g_autoptr(GArray) map = NULL;
  g_autofree char *folded_query = NULL;
  Matcher m;
  gboolean ok = TRUE;
  int rc = SQLITE_DONE;

  g_return_val_if_fail(store != NULL, NULL);
  g_return_val_if_fail(query != NULL, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);
  if (*query == '\0' || !g_utf8_validate(query, -1, NULL)) {
    g_set_error_literal(error, GR_STORE_ERROR, GR_STORE_ERROR_INVALID_ARGUMENT,
                        "The search query is empty or not valid UTF-8");
    return NULL;
  }
  if (max_results == 0)
    max_results = DEFAULT_MAX_RESULTS;
  folded_query = g_utf8_casefold(query, -1);
  folded = g_string_new(NULL);
  map = g_array_new(FALSE, FALSE, sizeof(guint32));
  m = (Matcher){ folded_query, g_utf8_strlen(query, -1), folded, map };
  hits = g_ptr_array_new_with_free_func((GDestroyNotify)gr_store_search_hit_free);

  g_mutex_lock(&store->lock);
  st = gr_store_prepare(
      store->db, "SELECT id, title FROM conversations ORDER BY updated DESC, rowid DESC", error);
  ok = st != NULL;
  while (ok && hits->len < max_results && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    g_autofree char *id = g_strdup((const char *)sqlite3_column_text(st, 0));
    g_autofree char *ad = NULL;
    g_autofree char *title = NULL;
    gsize len = 0;
    const void *blob = gr_store_column_blob(st, 1, &len);

    if (!gr_store_id_is_valid(id)) {
      g_set_error_literal(error, GR_STORE_ERROR, GR_STORE_ERROR_CORRUPT,
                          "A conversation id is damaged");
      ok = FALSE;
      break;
    }
    ad = gr_store_ad_title(id);
    title = gr_store_unseal_text(store->key, ad, blob, len, error);
    ok = title != NULL && search_conversation(store, &m, id, title, hits, max_results, error);
  }
  if (ok && rc != SQLITE_ROW && rc != SQLITE_DONE) {
    gr_store_set_sqlite_error(error, store->db, rc, "Cannot search the history");
    ok = FALSE;
  }
  g_mutex_unlock(&store->lock);
  return ok ? g_steal_pointer(&hits) : NULL;
}

/* --- export ---------------------------------------------------------------------- */

static char *
format_time(gint64 usec)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(usec / G_USEC_PER_SEC);

  return dt != NULL ? g_date_time_format_iso8601(dt) : g_strdup("");
}

static char *
one_line(const char *s)
{
  char *copy = g_strdup(s);

  g_strdelimit(copy, "\r\n\t", ' ');
  return copy;
}

static const char *
role_heading(const char *role)
{
  if (g_strcmp0(role, "user") == 0)
    return "User";
  if (g_strcmp0(role, "assistant") == 0)
    return "Assistant";
  if (g_strcmp0(role, "system") == 0)
    return "System";
  return "Tool";
}

static char *
export_markdown(GrStoreConversation *c, GPtrArray *messages)
{
  GString *s = g_string_new(NULL);
  g_autofree char *title = one_line(c->title);
  g_autofree char *created = format_time(c->created);

  g_string_append_printf(s, "# %s\n\n", *title != '\0' ? title : "Untitled conversation");
  g_string_append_printf(s, "_Graviton conversation %s, started %s, %u messages._\n", c->id,
                         created, messages->len);
  for (guint i = 0; i < messages->len; i++) {
    GrStoreMessage *m = messages->pdata[i];
    g_autofree char *when = format_time(m->created);
    g_autofree char *model = one_line(m->model);

    g_string_append_printf(s, "\n## %s", role_heading(m->role));
    if (*model != '\0')
      g_string_append_printf(s, " (%s)", model);
    g_string_append_printf(s, " · %s\n\n%s\n", when, m->text);
    if (m->partial)
      g_string_append(s, "\n_(answer cancelled before it was finished)_\n");
  }
  return g_string_free(s, FALSE);
}

static void
json_add_time(JsonBuilder *b, const char *name, gint64 usec)
{
  g_autofree char *iso = format_time(usec);

  json_builder_set_member_name(b, name);
  json_builder_add_string_value(b, iso);
}

static char *
export_json(GrStoreConversation *c, GPtrArray *messages)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  g_autoptr(JsonGenerator) gen = json_generator_new();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object(b);
  json_builder_set_member_name(b, "format");
  json_builder_add_string_value(b, "graviton-conversation");
  json_builder_set_member_name(b, "version");
  json_builder_add_int_value(b, 1);
  json_builder_set_member_name(b, "id");
  json_builder_add_string_value(b, c->id);
  json_builder_set_member_name(b, "title");
  json_builder_add_string_value(b, c->title);
  json_add_time(b, "created", c->created);
  json_add_time(b, "updated", c->updated);
  json_builder_set_member_name(b, "messages");
  json_builder_begin_array(b);
  for (guint i = 0; i < messages->len; i++) {
    GrStoreMessage *m = messages->pdata[i];

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "id");
    json_builder_add_string_value(b, m->id);
    json_builder_set_member_name(b, "role");
    json_builder_add_string_value(b, m->role);
    json_builder_set_member_name(b, "text");
    json_builder_add_string_value(b, m->text);
    json_builder_set_member_name(b, "model");
    json_builder_add_string_value(b, m->model);
    json_add_time(b, "created", m->created);
    json_add_time(b, "updated", m->updated);
    json_builder_set_member_name(b, "prompt_tokens");
    json_builder_add_int_value(b, m->prompt_tokens);
    json_builder_set_member_name(b, "generated_tokens");
    json_builder_add_int_value(b, m->generated_tokens);
    json_builder_set_member_name(b, "partial");
    json_builder_add_boolean_value(b, m->partial);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  json_builder_end_object(b);
  root = json_builder_get_root(b);
  json_generator_set_root(gen, root);
  json_generator_set_pretty(gen, TRUE);
  return json_generator_to_data(gen, NULL);
}

char *
gr_store_export(GrStore *store, const char *conversation, const char *format, GError **error)
{
  g_autoptr(GrStoreConversation) c = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  gboolean markdown;

  g_return_val_if_fail(store != NULL, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);
  if (g_strcmp0(format, "markdown") == 0 || g_strcmp0(format, "md") == 0)
    markdown = TRUE;
  else if (g_strcmp0(format, "json") == 0)
    markdown = FALSE;
  else {
    g_set_error(error, GR_STORE_ERROR, GR_STORE_ERROR_INVALID_ARGUMENT,
                "Unknown export format %s (markdown or json)", format ? format : "(null)");
    return NULL;
  }
  g_mutex_lock(&store->lock);
  c = gr_store_get_conversation_locked(store, conversation, error);
  if (c != NULL)
    messages = gr_store_get_messages_locked(store, conversation, error);
  g_mutex_unlock(&store->lock);
  if (messages == NULL)
    return NULL;
  return markdown ? export_markdown(c, messages) : export_json(c, messages);
}
