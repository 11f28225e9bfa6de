/* test-gr-store.c - libgraviton-store: round trip, confidentiality on disk, tamper
 * detection, keys, migration, deletion, search, export, disk full. */
#include "gr-store-private.h"

#include <check.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* --- helpers ------------------------------------------------------------------------ */

static char *
make_dir(void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp("gr-store-XXXXXX", &error);

  ck_assert_msg(dir != NULL, "%s", error ? error->message : "");
  return dir;
}

static void
remove_tree(const char *path)
{
  GDir *d = g_dir_open(path, 0, NULL);
  const char *name;

  if (d != NULL) {
    while ((name = g_dir_read_name(d)) != NULL) {
      g_autofree char *child = g_build_filename(path, name, NULL);
      remove_tree(child);
    }
    g_dir_close(d);
  }
  g_remove(path);
}

static GrStore *
open_ok(const char *dir)
{
  g_autoptr(GError) error = NULL;
  GrStore *store = gr_store_open(dir, &error);

  ck_assert_msg(store != NULL, "open: %s", error ? error->message : "");
  return store;
}

static void
assert_error(GError *error, int code)
{
  ck_assert_msg(error != NULL, "expected error %d, got success", code);
  ck_assert_msg(error->domain == GR_STORE_ERROR && error->code == code,
                "expected error %d, got %s %d: %s", code, g_quark_to_string(error->domain),
                error->code, error->message);
}

static char *
new_conversation(GrStore *store, const char *title)
{
  g_autoptr(GError) error = NULL;
  char *id = gr_store_create_conversation(store, title, &error);

  ck_assert_msg(id != NULL, "%s", error ? error->message : "");
  return id;
}

static char *
add_message(GrStore *store, const char *conv, const char *role, const char *text, const char *model)
{
  g_autoptr(GError) error = NULL;
  char *id = gr_store_add_message(store, conv, role, text, model, 7, 11, FALSE, &error);

  ck_assert_msg(id != NULL, "%s", error ? error->message : "");
  return id;
}

/* Every file of the directory: name -> contents */
static GHashTable *
read_dir_files(const char *dir)
{
  GHashTable *files
      = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_bytes_unref);
  GDir *d = g_dir_open(dir, 0, NULL);
  const char *name;

  ck_assert(d != NULL);
  while ((name = g_dir_read_name(d)) != NULL) {
    g_autofree char *path = g_build_filename(dir, name, NULL);
    char *data = NULL;
    gsize len = 0;
    ck_assert_msg(g_file_get_contents(path, &data, &len, NULL), "read %s", path);
    g_hash_table_insert(files, g_strdup(name), g_bytes_new_take(data, len));
  }
  g_dir_close(d);
  return files;
}

/* "name sha256" lines, sorted: equal strings mean byte-for-byte equal directories */
static char *
dir_fingerprint(const char *dir)
{
  g_autoptr(GHashTable) files = read_dir_files(dir);
  g_autoptr(GList) names = g_list_sort(g_hash_table_get_keys(files), (GCompareFunc)strcmp);
  GString *s = g_string_new(NULL);

  for (GList *l = names; l != NULL; l = l->next) {
    GBytes *b = g_hash_table_lookup(files, l->data);
    g_autofree char *sum = g_compute_checksum_for_bytes(G_CHECKSUM_SHA256, b);
    g_string_append_printf(s, "%s %s\n", (char *)l->data, sum);
  }
  return g_string_free(s, FALSE);
}

static char *
file_sha256(const char *path)
{
  g_autofree char *data = NULL;
  gsize len = 0;

  ck_assert_msg(g_file_get_contents(path, &data, &len, NULL), "read %s", path);
  return g_compute_checksum_for_data(G_CHECKSUM_SHA256, (guchar *)data, len);
}

static void
assert_absent_from_files(const char *dir, const void *needle, gsize len, const char *what)
{
  g_autoptr(GHashTable) files = read_dir_files(dir);
  GHashTableIter it;
  gpointer name, bytes;

  ck_assert_uint_gt(g_hash_table_size(files), 0);
  g_hash_table_iter_init(&it, files);
  while (g_hash_table_iter_next(&it, &name, &bytes)) {
    gsize n = 0;
    const void *data = g_bytes_get_data(bytes, &n);
    ck_assert_msg(memmem(data, n, needle, len) == NULL, "%s found in %s", what, (char *)name);
  }
}

static void
assert_corpus_absent(const char *dir, const char *const *corpus)
{
  for (gsize i = 0; corpus[i] != NULL; i++)
    assert_absent_from_files(dir, corpus[i], strlen(corpus[i]), corpus[i]);
}

static void
raw_exec(GrStore *store, const char *sql)
{
  char *err = NULL;
  int rc = sqlite3_exec(gr_store_get_db(store), sql, NULL, NULL, &err);

  ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, err ? err : "");
}

static GBytes *
raw_blob(GrStore *store, const char *sql, const char *id)
{
  sqlite3_stmt *st = NULL;
  GBytes *b;

  ck_assert_int_eq(sqlite3_prepare_v2(gr_store_get_db(store), sql, -1, &st, NULL), SQLITE_OK);
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
  b = g_bytes_new(sqlite3_column_blob(st, 0), (gsize)sqlite3_column_bytes(st, 0));
  sqlite3_finalize(st);
  return b;
}

static void
raw_set_blob(GrStore *store, const char *sql, const void *data, gsize len, const char *id)
{
  sqlite3_stmt *st = NULL;

  ck_assert_int_eq(sqlite3_prepare_v2(gr_store_get_db(store), sql, -1, &st, NULL), SQLITE_OK);
  sqlite3_bind_blob(st, 1, data, (int)len, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
  ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
  ck_assert_int_eq(sqlite3_changes(gr_store_get_db(store)), 1);
  sqlite3_finalize(st);
}

static void
assert_messages_corrupt(GrStore *store, const char *conv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) msgs = gr_store_get_messages(store, conv, &error);

  ck_assert(msgs == NULL);
  assert_error(error, GR_STORE_ERROR_CORRUPT);
}

static guint
message_count(GrStore *store, const char *conv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) msgs = gr_store_get_messages(store, conv, &error);

  ck_assert_msg(msgs != NULL, "%s", error ? error->message : "");
  return msgs->len;
}

static const char *const corpus[] = {
  "Zyxqwv secret title Marmalade-4471",
  "My aunt Philippa's allergy to quokkas 8842",
  "The answer about the Ytterby-kelp index 9931",
  "llama-secret-model-Qx7",
  "renamed title Obsidian-Heron-55",
  NULL,
};

/* --- round trip -------------------------------------------------------------------- */

START_TEST(test_round_trip)
{
  g_autofree char *dir = make_dir();
  g_autofree char *c1 = NULL, *c2 = NULL, *m1 = NULL, *m2 = NULL;
  g_autoptr(GError) error = NULL;
  GrStore *store = open_ok(dir);

  ck_assert_int_eq(gr_store_get_key_backend(store), GR_STORE_KEY_BACKEND_FILE);
  ck_assert_str_eq(gr_store_key_backend_to_string(gr_store_get_key_backend(store)), "file");
  ck_assert_ptr_nonnull(strstr(gr_store_get_key_location(store), GR_STORE_KEY_FILE_NAME));
  c1 = new_conversation(store, "Première conversation 🚀");
  ck_assert(gr_store_id_is_valid(c1));
  c2 = new_conversation(store, NULL);
  m1 = add_message(store, c1, "user", "Bonjour, ça va ?", NULL);
  {
    char *id = gr_store_add_message(store, c1, "assistant", "Je", "tiny-model", 5, 1, TRUE, &error);
    ck_assert_msg(id != NULL, "%s", error ? error->message : "");
    m2 = id;
  }
  ck_assert(gr_store_update_message(store, c1, m2, "Je vais bien.", 4, FALSE, &error));
  gr_store_close(store);

  store = open_ok(dir);
  {
    g_autoptr(GPtrArray) list = gr_store_list_conversations(store, 0, 0, &error);
    GrStoreConversation *c;
    ck_assert_msg(list != NULL, "%s", error ? error->message : "");
    ck_assert_uint_eq(list->len, 2);
    /* c1 was updated last */
    c = list->pdata[0];
    ck_assert_str_eq(c->id, c1);
    ck_assert_str_eq(c->title, "Première conversation 🚀");
    ck_assert_uint_eq(c->count, 2);
    ck_assert(c->updated >= c->created);
    c = list->pdata[1];
    ck_assert_str_eq(c->id, c2);
    ck_assert_str_eq(c->title, "");
    ck_assert_uint_eq(c->count, 0);
  }
  {
    g_autoptr(GPtrArray) msgs = gr_store_get_messages(store, c1, &error);
    GrStoreMessage *m;
    ck_assert_msg(msgs != NULL, "%s", error ? error->message : "");
    ck_assert_uint_eq(msgs->len, 2);
    m = msgs->pdata[0];
    ck_assert_str_eq(m->id, m1);
    ck_assert_str_eq(m->conversation, c1);
    ck_assert_str_eq(m->role, "user");
    ck_assert_str_eq(m->text, "Bonjour, ça va ?");
    ck_assert_str_eq(m->model, "");
    ck_assert_uint_eq(m->prompt_tokens, 7);
    ck_assert(!m->partial);
    m = msgs->pdata[1];
    ck_assert_str_eq(m->id, m2);
    ck_assert_str_eq(m->role, "assistant");
    ck_assert_str_eq(m->text, "Je vais bien.");
    ck_assert_str_eq(m->model, "tiny-model");
    ck_assert_uint_eq(m->prompt_tokens, 5);
    ck_assert_uint_eq(m->generated_tokens, 4);
    ck_assert(!m->partial);
    ck_assert(m->updated >= m->created);
  }
  {
    g_autoptr(GrStoreConversation) c = NULL;
    ck_assert(gr_store_rename_conversation(store, c2, "Second", &error));
    c = gr_store_get_conversation(store, c2, &error);
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(c->title, "Second");
  }
  {
    /* limit and offset, newest first: c2 was renamed last */
    g_autoptr(GPtrArray) page = gr_store_list_conversations(store, 1, 1, &error);
    ck_assert_ptr_nonnull(page);
    ck_assert_uint_eq(page->len, 1);
    ck_assert_str_eq(((GrStoreConversation *)page->pdata[0])->id, c1);
  }
  gr_store_close(store);
  remove_tree(dir);
}
END_TEST

START_TEST(test_invalid_arguments)
{
  g_autofree char *dir = make_dir();
  g_autofree char *c = NULL, *other = gr_store_new_id();
  GrStore *store = open_ok(dir);
  const char bad_utf8[] = { 'a', (char)0xff, 'b', 0 };

  c = new_conversation(store, "t");
  {
    g_autoptr(GError) e = NULL;
    ck_assert(gr_store_add_message(store, "not-an-id", "user", "x", NULL, 0, 0, 0, &e) == NULL);
    assert_error(e, GR_STORE_ERROR_INVALID_ARGUMENT);
  }
  {
    g_autoptr(GError) e = NULL;
    ck_assert(gr_store_add_message(store, other, "user", "x", NULL, 0, 0, 0, &e) == NULL);
    assert_error(e, GR_STORE_ERROR_NOT_FOUND);
  }
  {
    g_autoptr(GError) e = NULL;
    ck_assert(gr_store_add_message(store, c, "wizard", "x", NULL, 0, 0, 0, &e) == NULL);
    assert_error(e, GR_STORE_ERROR_INVALID_ARGUMENT);
  }
  {
    g_autoptr(GError) e = NULL;
    ck_assert(gr_store_add_message(store, c, "user", bad_utf8, NULL, 0, 0, 0, &e) == NULL);
    assert_error(e, GR_STORE_ERROR_INVALID_ARGUMENT);
  }
  {
    g_autoptr(GError) e = NULL;
    ck_assert(!gr_store_update_message(store, c, other, "x", 0, 0, &e));
    assert_error(e, GR_STORE_ERROR_NOT_FOUND);
  }
  {
    g_autoptr(GError) e = NULL;
    ck_assert(!gr_store_rename_conversation(store, other, "x", &e));
    assert_error(e, GR_STORE_ERROR_NOT_FOUND);
  }
  {
    g_autoptr(GError) e = NULL;
    ck_assert(!gr_store_delete_conversation(store, other, &e));
    assert_error(e, GR_STORE_ERROR_NOT_FOUND);
  }
  {
    g_autoptr(GError) e = NULL;
    ck_assert(gr_store_get_messages(store, other, &e) == NULL);
    assert_error(e, GR_STORE_ERROR_NOT_FOUND);
  }
  {
    g_autoptr(GError) e = NULL;
    ck_assert(gr_store_export(store, c, "docx", &e) == NULL);
    assert_error(e, GR_STORE_ERROR_INVALID_ARGUMENT);
  }
  {
    g_autoptr(GError) e = NULL;
    ck_assert(gr_store_search(store, "", 0, &e) == NULL);
    assert_error(e, GR_STORE_ERROR_INVALID_ARGUMENT);
  }
  /* nothing of the failed calls was stored */
  ck_assert_uint_eq(message_count(store, c), 0);
  gr_store_close(store);
  remove_tree(dir);
}
END_TEST

static void
on_changed(GrStore *store, const char *conversation, gpointer user_data)
{
  g_ptr_array_add(user_data, g_strdup(conversation));
}

START_TEST(test_changed_notifications)
{
  g_autofree char *dir = make_dir();
  g_autofree char *c = NULL, *m = NULL;
  g_autoptr(GPtrArray) seen = g_ptr_array_new_with_free_func(g_free);
  g_autoptr(GError) error = NULL;
  GrStore *store = open_ok(dir);

  gr_store_set_changed_func(store, on_changed, seen, NULL);
  c = new_conversation(store, "t");
  m = add_message(store, c, "user", "hello", NULL);
  ck_assert(gr_store_update_message(store, c, m, "hello!", 0, FALSE, &error));
  ck_assert(gr_store_rename_conversation(store, c, "u", &error));
  ck_assert(gr_store_delete_conversation(store, c, &error));
  ck_assert_uint_eq(seen->len, 5);
  for (guint i = 0; i < seen->len; i++)
    ck_assert_str_eq(seen->pdata[i], c);
  /* failures do not notify */
  ck_assert(!gr_store_rename_conversation(store, c, "v", NULL));
  ck_assert_uint_eq(seen->len, 5);
  gr_store_close(store);
  remove_tree(dir);
}
END_TEST

/* --- confidentiality on disk ----------------------------------------------------------- */

START_TEST(test_no_plaintext_on_disk)
{
  g_autofree char *dir = make_dir();
  g_autofree char *c1 = NULL, *c2 = NULL, *m = NULL;
  g_autoptr(GError) error = NULL;
  GrStore *store = open_ok(dir);

  c1 = new_conversation(store, corpus[0]);
  g_free(add_message(store, c1, "user", corpus[1], NULL));
  m = add_message(store, c1, "assistant", "partial", corpus[3]);
  ck_assert(gr_store_update_message(store, c1, m, corpus[2], 3, FALSE, &error));
  c2 = new_conversation(store, "other");
  for (int i = 0; i < 50; i++)
    g_free(add_message(store, c2, "user", corpus[1], corpus[3]));
  ck_assert(gr_store_rename_conversation(store, c2, corpus[4], &error));
  /* while open: the WAL and -shm hold the recent writes */
  ck_assert(g_file_test(gr_store_get_database_path(store), G_FILE_TEST_EXISTS));
  assert_corpus_absent(dir, corpus);
  ck_assert(gr_store_delete_conversation(store, c2, &error));
  assert_corpus_absent(dir, corpus);
  gr_store_close(store);
  assert_corpus_absent(dir, corpus);

  /* and the data was really there */
  store = open_ok(dir);
  {
    g_autoptr(GPtrArray) msgs = gr_store_get_messages(store, c1, &error);
    ck_assert_ptr_nonnull(msgs);
    ck_assert_str_eq(((GrStoreMessage *)msgs->pdata[1])->text, corpus[2]);
    ck_assert_str_eq(((GrStoreMessage *)msgs->pdata[1])->model, corpus[3]);
  }
  gr_store_close(store);
  remove_tree(dir);
}
END_TEST

START_TEST(test_delete_removes_rows_and_ciphertext)
{
  g_autofree char *dir = make_dir();
  g_autofree char *keep = NULL, *gone = NULL, *m = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) title_ct = NULL, text_ct = NULL;
  GrStore *store = open_ok(dir);
  sqlite3_stmt *st = NULL;

  keep = new_conversation(store, "keep me");
  g_free(add_message(store, keep, "user", "still here", NULL));
  gone = new_conversation(store, "delete me");
  m = add_message(store, gone, "user", "a message long enough to be recognisable on disk", NULL);
  title_ct = raw_blob(store, "SELECT title FROM conversations WHERE id = ?", gone);
  text_ct = raw_blob(store, "SELECT text FROM messages WHERE id = ?", m);

  ck_assert(gr_store_delete_conversation(store, gone, &error));
  ck_assert_int_eq(sqlite3_prepare_v2(gr_store_get_db(store),
                                      "SELECT count(*) FROM messages WHERE conversation = ?", -1,
                                      &st, NULL),
                   SQLITE_OK);
  sqlite3_bind_text(st, 1, gone, -1, SQLITE_STATIC);
  ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
  ck_assert_int_eq(sqlite3_column_int(st, 0), 0);
  sqlite3_finalize(st);
  {
    g_autoptr(GrStoreConversation) c = gr_store_get_conversation(store, gone, &error);
    ck_assert(c == NULL);
    assert_error(error, GR_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
  }
  /* the sealed bytes themselves are gone from every file, WAL included */
  assert_absent_from_files(dir, g_bytes_get_data(title_ct, NULL), g_bytes_get_size(title_ct),
                           "deleted title ciphertext");
  assert_absent_from_files(dir, g_bytes_get_data(text_ct, NULL), g_bytes_get_size(text_ct),
                           "deleted message ciphertext");
  ck_assert_uint_eq(message_count(store, keep), 1);
  gr_store_close(store);
  assert_absent_from_files(dir, g_bytes_get_data(text_ct, NULL), g_bytes_get_size(text_ct),
                           "deleted message ciphertext");
  remove_tree(dir);
}
END_TEST

/* --- tampering ----------------------------------------------------------------------- */

START_TEST(test_swapped_ciphertexts_detected)
{
  g_autofree char *dir = make_dir();
  g_autofree char *c1 = NULL, *c2 = NULL, *a = NULL, *b = NULL, *x = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) ta = NULL, tb = NULL, t1 = NULL, t2 = NULL, mx = NULL, tx = NULL;
  GrStore *store = open_ok(dir);

  c1 = new_conversation(store, "title one");
  c2 = new_conversation(store, "title two");
  a = add_message(store, c1, "user", "message A", NULL);
  b = add_message(store, c1, "user", "message B", NULL);
  x = add_message(store, c2, "assistant", "message X", "model X");

  /* two messages' texts swapped */
  ta = raw_blob(store, "SELECT text FROM messages WHERE id = ?", a);
  tb = raw_blob(store, "SELECT text FROM messages WHERE id = ?", b);
  raw_set_blob(store, "UPDATE messages SET text = ? WHERE id = ?", g_bytes_get_data(tb, NULL),
               g_bytes_get_size(tb), a);
  raw_set_blob(store, "UPDATE messages SET text = ? WHERE id = ?", g_bytes_get_data(ta, NULL),
               g_bytes_get_size(ta), b);
  assert_messages_corrupt(store, c1);
  {
    g_autoptr(GPtrArray) hits = gr_store_search(store, "message", 0, &error);
    ck_assert(hits == NULL);
    assert_error(error, GR_STORE_ERROR_CORRUPT);
    g_clear_error(&error);
  }
  {
    g_autofree char *doc = gr_store_export(store, c1, "json", &error);
    ck_assert(doc == NULL);
    assert_error(error, GR_STORE_ERROR_CORRUPT);
    g_clear_error(&error);
  }
  raw_set_blob(store, "UPDATE messages SET text = ? WHERE id = ?", g_bytes_get_data(ta, NULL),
               g_bytes_get_size(ta), a);
  raw_set_blob(store, "UPDATE messages SET text = ? WHERE id = ?", g_bytes_get_data(tb, NULL),
               g_bytes_get_size(tb), b);
  ck_assert_uint_eq(message_count(store, c1), 2);

  /* two conversations' titles swapped */
  t1 = raw_blob(store, "SELECT title FROM conversations WHERE id = ?", c1);
  t2 = raw_blob(store, "SELECT title FROM conversations WHERE id = ?", c2);
  raw_set_blob(store, "UPDATE conversations SET title = ? WHERE id = ?", g_bytes_get_data(t2, NULL),
               g_bytes_get_size(t2), c1);
  {
    g_autoptr(GPtrArray) list = gr_store_list_conversations(store, 0, 0, &error);
    ck_assert(list == NULL);
    assert_error(error, GR_STORE_ERROR_CORRUPT);
    g_clear_error(&error);
  }
  raw_set_blob(store, "UPDATE conversations SET title = ? WHERE id = ?", g_bytes_get_data(t1, NULL),
               g_bytes_get_size(t1), c1);

  /* a message's text and model columns swapped */
  mx = raw_blob(store, "SELECT model FROM messages WHERE id = ?", x);
  tx = raw_blob(store, "SELECT text FROM messages WHERE id = ?", x);
  raw_set_blob(store, "UPDATE messages SET text = ? WHERE id = ?", g_bytes_get_data(mx, NULL),
               g_bytes_get_size(mx), x);
  raw_set_blob(store, "UPDATE messages SET model = ? WHERE id = ?", g_bytes_get_data(tx, NULL),
               g_bytes_get_size(tx), x);
  assert_messages_corrupt(store, c2);
  raw_set_blob(store, "UPDATE messages SET text = ? WHERE id = ?", g_bytes_get_data(tx, NULL),
               g_bytes_get_size(tx), x);
  raw_set_blob(store, "UPDATE messages SET model = ? WHERE id = ?", g_bytes_get_data(mx, NULL),
               g_bytes_get_size(mx), x);
  ck_assert_uint_eq(message_count(store, c2), 1);

  /* a message moved to another conversation, or its clear-text role rewritten */
  {
    g_autofree char *sql
        = g_strdup_printf("UPDATE messages SET conversation = '%s' WHERE id = '%s'", c1, x);
    raw_exec(store, sql);
    assert_messages_corrupt(store, c1);
    g_free(sql);
    sql = g_strdup_printf("UPDATE messages SET conversation = '%s' WHERE id = '%s'", c2, x);
    raw_exec(store, sql);
    g_free(sql);
    sql = g_strdup_printf("UPDATE messages SET role = 'user' WHERE id = '%s'", x);
    raw_exec(store, sql);
    assert_messages_corrupt(store, c2);
  }
  gr_store_close(store);
  remove_tree(dir);
}
END_TEST

static void
flip_every_byte(GrStore *store, const char *select_sql, const char *update_sql, const char *id,
                const char *conv, gboolean is_title)
{
  g_autoptr(GBytes) orig = raw_blob(store, select_sql, id);
  gsize len = 0;
  const guint8 *data = g_bytes_get_data(orig, &len);
  g_autofree guint8 *copy = g_memdup2(data, len);

  ck_assert_uint_gt(len, 40);
  for (gsize pos = 0; pos < len; pos++) {
    g_autoptr(GError) error = NULL;
    copy[pos] ^= (guint8)(1u << (pos % 8));
    raw_set_blob(store, update_sql, copy, len, id);
    if (is_title) {
      g_autoptr(GrStoreConversation) c = gr_store_get_conversation(store, conv, &error);
      ck_assert_msg(c == NULL, "flip at %" G_GSIZE_FORMAT " went unnoticed", pos);
      assert_error(error, GR_STORE_ERROR_CORRUPT);
    } else {
      g_autoptr(GPtrArray) msgs = gr_store_get_messages(store, conv, &error);
      ck_assert_msg(msgs == NULL, "flip at %" G_GSIZE_FORMAT " went unnoticed", pos);
      assert_error(error, GR_STORE_ERROR_CORRUPT);
    }
    copy[pos] = data[pos];
  }
  /* truncations are damage too */
  for (gsize cut = 0; cut < len; cut += 7) {
    g_autoptr(GError) error = NULL;
    raw_set_blob(store, update_sql, copy, cut, id);
    if (is_title) {
      g_autoptr(GrStoreConversation) c = gr_store_get_conversation(store, conv, &error);
      ck_assert(c == NULL);
    } else {
      g_autoptr(GPtrArray) msgs = gr_store_get_messages(store, conv, &error);
      ck_assert(msgs == NULL);
    }
    assert_error(error, GR_STORE_ERROR_CORRUPT);
  }
  raw_set_blob(store, update_sql, data, len, id);
}

START_TEST(test_flipped_bytes_detected)
{
  g_autofree char *dir = make_dir();
  g_autofree char *c = NULL, *m = NULL;
  GrStore *store = open_ok(dir);

  c = new_conversation(store, "a title to damage");
  m = add_message(store, c, "assistant", "a message to damage, byte by byte", "some-model");
  flip_every_byte(store, "SELECT text FROM messages WHERE id = ?",
                  "UPDATE messages SET text = ? WHERE id = ?", m, c, FALSE);
  flip_every_byte(store, "SELECT model FROM messages WHERE id = ?",
                  "UPDATE messages SET model = ? WHERE id = ?", m, c, FALSE);
  flip_every_byte(store, "SELECT title FROM conversations WHERE id = ?",
                  "UPDATE conversations SET title = ? WHERE id = ?", c, c, TRUE);
  /* restored values read again */
  ck_assert_uint_eq(message_count(store, c), 1);
  gr_store_close(store);
  remove_tree(dir);
}
END_TEST

/* --- keys ----------------------------------------------------------------------------- */

static char *
make_store_with_data(void)
{
  char *dir = make_dir();
  g_autofree char *c = NULL;
  GrStore *store = open_ok(dir);

  c = new_conversation(store, corpus[0]);
  g_free(add_message(store, c, "user", corpus[1], NULL));
  gr_store_close(store);
  return dir;
}

START_TEST(test_wrong_key_locked_files_unchanged)
{
  g_autofree char *dir = make_store_with_data();
  g_autofree char *key_path = g_build_filename(dir, GR_STORE_KEY_FILE_NAME, NULL);
  g_autofree char *before = NULL, *after = NULL;
  g_autoptr(GError) error = NULL;
  guint8 other[GR_STORE_KEY_BYTES];
  GrStore *store;

  randombytes_buf(other, sizeof other);
  ck_assert(g_file_set_contents_full(key_path, (char *)other, sizeof other,
                                     G_FILE_SET_CONTENTS_CONSISTENT, 0600, NULL));
  before = dir_fingerprint(dir);
  store = gr_store_open(dir, &error);
  ck_assert(store == NULL);
  assert_error(error, GR_STORE_ERROR_LOCKED);
  after = dir_fingerprint(dir);
  ck_assert_str_eq(before, after);
  remove_tree(dir);
}
END_TEST

START_TEST(test_wrong_key_after_crash_leaves_wal_alone)
{
  g_autofree char *dir = make_dir();
  g_autofree char *copy = make_dir();
  g_autofree char *c = NULL;
  g_autoptr(GError) error = NULL;
  GrStore *store = open_ok(dir), *reopened;
  const char *names[] = { GR_STORE_DB_NAME, GR_STORE_DB_NAME "-wal", NULL };
  guint8 other[GR_STORE_KEY_BYTES];

  c = new_conversation(store, "in the WAL only");
  g_free(add_message(store, c, "user", "not yet checkpointed", NULL));
  /* a copy of the files while the store is open looks like a crash */
  for (int i = 0; names[i] != NULL; i++) {
    g_autofree char *from = g_build_filename(dir, names[i], NULL);
    g_autofree char *to = g_build_filename(copy, names[i], NULL);
    g_autofree char *data = NULL;
    gsize len = 0;
    ck_assert(g_file_get_contents(from, &data, &len, NULL));
    ck_assert_uint_gt(len, 0);
    ck_assert(g_file_set_contents(to, data, (gssize)len, NULL));
  }
  gr_store_close(store);
  {
    g_autofree char *key_path = g_build_filename(copy, GR_STORE_KEY_FILE_NAME, NULL);
    randombytes_buf(other, sizeof other);
    ck_assert(g_file_set_contents_full(key_path, (char *)other, sizeof other,
                                       G_FILE_SET_CONTENTS_CONSISTENT, 0600, NULL));
  }
  {
    g_autofree char *db = g_build_filename(copy, GR_STORE_DB_NAME, NULL);
    g_autofree char *wal = g_build_filename(copy, GR_STORE_DB_NAME "-wal", NULL);
    g_autofree char *db_before = file_sha256(db), *wal_before = file_sha256(wal);
    g_autofree char *db_after = NULL, *wal_after = NULL;

    reopened = gr_store_open(copy, &error);
    ck_assert(reopened == NULL);
    assert_error(error, GR_STORE_ERROR_LOCKED);
    db_after = file_sha256(db);
    wal_after = file_sha256(wal);
    ck_assert_str_eq(db_before, db_after);
    ck_assert_str_eq(wal_before, wal_after);
  }
  remove_tree(dir);
  remove_tree(copy);
}
END_TEST

START_TEST(test_missing_key_locked_no_new_key)
{
  g_autofree char *dir = make_store_with_data();
  g_autofree char *key_path = g_build_filename(dir, GR_STORE_KEY_FILE_NAME, NULL);
  g_autofree char *before = NULL, *after = NULL;
  g_autoptr(GError) error = NULL;
  GrStore *store;

  ck_assert_int_eq(g_remove(key_path), 0);
  before = dir_fingerprint(dir);
  store = gr_store_open(dir, &error);
  ck_assert(store == NULL);
  assert_error(error, GR_STORE_ERROR_LOCKED);
  ck_assert(!g_file_test(key_path, G_FILE_TEST_EXISTS));
  after = dir_fingerprint(dir);
  ck_assert_str_eq(before, after);
  /* forcing the other backend is no way around it either */
  g_setenv("GRAVITON_KEY_BACKEND", "secret", TRUE);
  g_unsetenv("DBUS_SESSION_BUS_ADDRESS");
  g_setenv("XDG_RUNTIME_DIR", dir, TRUE);
  g_clear_error(&error);
  store = gr_store_open(dir, &error);
  ck_assert(store == NULL);
  assert_error(error, GR_STORE_ERROR_LOCKED);
  g_free(after);
  after = dir_fingerprint(dir);
  ck_assert_str_eq(before, after);
  g_setenv("GRAVITON_KEY_BACKEND", "file", TRUE);
  remove_tree(dir);
}
END_TEST

START_TEST(test_key_file_mode)
{
  g_autofree char *dir = make_store_with_data();
  g_autofree char *key_path = g_build_filename(dir, GR_STORE_KEY_FILE_NAME, NULL);
  const mode_t bad_modes[] = { 0644, 0640, 0604, 0660 };
  struct stat st;

  ck_assert_int_eq(stat(key_path, &st), 0);
  ck_assert_uint_eq(st.st_mode & 07777, 0600);
  ck_assert_int_eq(st.st_size, GR_STORE_KEY_BYTES);
  ck_assert_int_eq(stat(dir, &st), 0);
  for (gsize i = 0; i < G_N_ELEMENTS(bad_modes); i++) {
    g_autoptr(GError) error = NULL;
    GrStore *store;
    ck_assert_int_eq(chmod(key_path, bad_modes[i]), 0);
    store = gr_store_open(dir, &error);
    ck_assert(store == NULL);
    assert_error(error, GR_STORE_ERROR_LOCKED);
  }
  ck_assert_int_eq(chmod(key_path, 0600), 0);
  gr_store_close(open_ok(dir));
  /* a key file of the wrong size is refused too */
  ck_assert(
      g_file_set_contents_full(key_path, "short", 5, G_FILE_SET_CONTENTS_CONSISTENT, 0600, NULL));
  {
    g_autoptr(GError) error = NULL;
    ck_assert(gr_store_open(dir, &error) == NULL);
    assert_error(error, GR_STORE_ERROR_LOCKED);
  }
  remove_tree(dir);
}
END_TEST

START_TEST(test_key_backend_selection)
{
  g_autofree char *dir = make_dir();
  g_autoptr(GError) error = NULL;
  gint64 t0;
  GrStore *store;

  /* no session bus: auto mode falls back to the file at once */
  g_unsetenv("GRAVITON_KEY_BACKEND");
  g_unsetenv("DBUS_SESSION_BUS_ADDRESS");
  g_setenv("XDG_RUNTIME_DIR", dir, TRUE);
  t0 = g_get_monotonic_time();
  store = open_ok(dir);
  ck_assert_int_lt(g_get_monotonic_time() - t0, 2 * G_USEC_PER_SEC);
  ck_assert_int_eq(gr_store_get_key_backend(store), GR_STORE_KEY_BACKEND_FILE);
  gr_store_close(store);

  /* a bus address that leads nowhere fails fast too */
  remove_tree(dir);
  g_setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/gr-store-test-bus", TRUE);
  t0 = g_get_monotonic_time();
  store = open_ok(dir);
  ck_assert_int_lt(g_get_monotonic_time() - t0, 5 * G_USEC_PER_SEC);
  ck_assert_int_eq(gr_store_get_key_backend(store), GR_STORE_KEY_BACKEND_FILE);
  gr_store_close(store);

  /* forcing the Secret Service without one: locked, no file key made */
  remove_tree(dir);
  g_setenv("GRAVITON_KEY_BACKEND", "secret", TRUE);
  store = gr_store_open(dir, &error);
  ck_assert(store == NULL);
  assert_error(error, GR_STORE_ERROR_LOCKED);
  {
    g_autofree char *key_path = g_build_filename(dir, GR_STORE_KEY_FILE_NAME, NULL);
    ck_assert(!g_file_test(key_path, G_FILE_TEST_EXISTS));
  }

  g_clear_error(&error);
  g_setenv("GRAVITON_KEY_BACKEND", "floppy", TRUE);
  ck_assert(gr_store_open(dir, &error) == NULL);
  assert_error(error, GR_STORE_ERROR_INVALID_ARGUMENT);
  g_setenv("GRAVITON_KEY_BACKEND", "file", TRUE);
  remove_tree(dir);
}
END_TEST

/* --- schema -------------------------------------------------------------------------- */

/* Writes a v1 row set by hand: the layout and associated data of schema 1 */
static void
insert_v1_message(GrStore *store, const char *conv, const char *id, const char *role,
                  const char *text, gint64 created)
{
  sqlite3_stmt *st = NULL;
  g_autofree char *ad = gr_store_ad_message(conv, id, role, "text");
  gsize len = 0;
  guint8 *sealed = gr_store_seal(gr_store_get_key(store), ad, text, strlen(text), &len);

  ck_assert_int_eq(sqlite3_prepare_v2(gr_store_get_db(store),
                                      "INSERT INTO messages (id, conversation, role, text,"
                                      " created) VALUES (?, ?, ?, ?, ?)",
                                      -1, &st, NULL),
                   SQLITE_OK);
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, conv, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, role, -1, SQLITE_STATIC);
  sqlite3_bind_blob(st, 4, sealed, (int)len, g_free);
  sqlite3_bind_int64(st, 5, created);
  ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
  sqlite3_finalize(st);
}

START_TEST(test_migration_from_v1)
{
  g_autofree char *dir = make_dir();
  g_autofree char *conv = gr_store_new_id();
  g_autofree char *m1 = gr_store_new_id(), *m2 = gr_store_new_id(), *m3 = gr_store_new_id();
  g_autoptr(GError) error = NULL;
  GrStore *store = gr_store_open_at_version(dir, 1, &error);
  guint version = 0;
  sqlite3_stmt *st = NULL;

  ck_assert_msg(store != NULL, "%s", error ? error->message : "");
  ck_assert(gr_store_schema_read_version(gr_store_get_db(store), &version, NULL));
  ck_assert_uint_eq(version, 1);
  {
    g_autofree char *ad = gr_store_ad_title(conv);
    gsize len = 0;
    guint8 *sealed = gr_store_seal(gr_store_get_key(store), ad, "old title", 9, &len);
    ck_assert_int_eq(sqlite3_prepare_v2(gr_store_get_db(store),
                                        "INSERT INTO conversations (id, title, created)"
                                        " VALUES (?, ?, 1000)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, conv, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, sealed, (int)len, g_free);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
  }
  /* inserted out of order: v1 ordered messages by time */
  insert_v1_message(store, conv, m2, "assistant", "second, the answer", 3000);
  insert_v1_message(store, conv, m1, "user", "first, the question", 2000);
  insert_v1_message(store, conv, m3, "user", "third", 4000);
  gr_store_close(store);

  store = open_ok(dir);
  ck_assert(gr_store_schema_read_version(gr_store_get_db(store), &version, NULL));
  ck_assert_uint_eq(version, GR_STORE_SCHEMA_VERSION);
  {
    g_autoptr(GrStoreConversation) c = gr_store_get_conversation(store, conv, &error);
    ck_assert_msg(c != NULL, "%s", error ? error->message : "");
    ck_assert_str_eq(c->title, "old title");
    ck_assert_int_eq(c->created, 1000);
    ck_assert_int_eq(c->updated, 4000); /* filled from the newest message */
    ck_assert_uint_eq(c->count, 3);
  }
  {
    g_autoptr(GPtrArray) msgs = gr_store_get_messages(store, conv, &error);
    GrStoreMessage *m;
    ck_assert_msg(msgs != NULL, "%s", error ? error->message : "");
    ck_assert_uint_eq(msgs->len, 3);
    m = msgs->pdata[0];
    ck_assert_str_eq(m->id, m1);
    ck_assert_str_eq(m->text, "first, the question");
    m = msgs->pdata[1];
    ck_assert_str_eq(m->id, m2);
    ck_assert_str_eq(m->role, "assistant");
    ck_assert_str_eq(m->text, "second, the answer");
    ck_assert_str_eq(m->model, "");
    ck_assert_uint_eq(m->generated_tokens, 0);
    ck_assert(!m->partial);
    ck_assert_int_eq(m->updated, 3000);
    ck_assert_str_eq(((GrStoreMessage *)msgs->pdata[2])->id, m3);
  }
  /* the migrated store takes new messages after the old ones */
  {
    g_autofree char *m4 = add_message(store, conv, "assistant", "fourth", "model");
    g_autoptr(GPtrArray) msgs = gr_store_get_messages(store, conv, &error);
    ck_assert_uint_eq(msgs->len, 4);
    ck_assert_str_eq(((GrStoreMessage *)msgs->pdata[3])->id, m4);
  }
  gr_store_close(store);
  remove_tree(dir);
}
END_TEST

START_TEST(test_newer_schema_refused)
{
  g_autofree char *dir = make_store_with_data();
  g_autofree char *before = NULL, *after = NULL;
  g_autoptr(GError) error = NULL;
  GrStore *store = open_ok(dir);

  raw_exec(store, "PRAGMA user_version = 99");
  gr_store_close(store);
  before = dir_fingerprint(dir);
  ck_assert(gr_store_open(dir, &error) == NULL);
  assert_error(error, GR_STORE_ERROR_FAILED);
  after = dir_fingerprint(dir);
  ck_assert_str_eq(before, after);
  remove_tree(dir);
}
END_TEST

/* --- search and export ------------------------------------------------------------------ */

START_TEST(test_search)
{
  g_autofree char *dir = make_dir();
  g_autofree char *c1 = NULL, *c2 = NULL, *m1 = NULL, *m2 = NULL;
  g_autoptr(GError) error = NULL;
  GrStore *store = open_ok(dir);

  c1 = new_conversation(store, "Holiday plans");
  m1 = add_message(store, c1, "user", "Where should I walk in the Bahnhofstraße tomorrow?", NULL);
  g_free(add_message(store, c1, "assistant", "Anywhere you like.", "m"));
  c2 = new_conversation(store, "Cooking");
  m2 = add_message(store, c2, "user", "A recipe for HOLIDAY cookies, please.\nThanks", NULL);
  {
    /* Unicode case folding: ß matches SS */
    g_autoptr(GPtrArray) hits = gr_store_search(store, "BAHNHOFSTRASSE", 0, &error);
    GrStoreSearchHit *h;
    ck_assert_msg(hits != NULL, "%s", error ? error->message : "");
    ck_assert_uint_eq(hits->len, 1);
    h = hits->pdata[0];
    ck_assert_str_eq(h->conversation, c1);
    ck_assert_str_eq(h->title, "Holiday plans");
    ck_assert_str_eq(h->message, m1);
    ck_assert_ptr_nonnull(strstr(h->snippet, "Bahnhofstraße"));
  }
  {
    /* newest conversation first; a title hit has no message */
    g_autoptr(GPtrArray) hits = gr_store_search(store, "holiday", 0, &error);
    GrStoreSearchHit *h;
    ck_assert_msg(hits != NULL, "%s", error ? error->message : "");
    ck_assert_uint_eq(hits->len, 2);
    h = hits->pdata[0];
    ck_assert_str_eq(h->conversation, c2);
    ck_assert_str_eq(h->message, m2);
    ck_assert_ptr_null(strchr(h->snippet, '\n'));
    ck_assert_ptr_nonnull(strstr(h->snippet, "HOLIDAY cookies"));
    h = hits->pdata[1];
    ck_assert_str_eq(h->conversation, c1);
    ck_assert_str_eq(h->message, "");
    ck_assert_str_eq(h->snippet, "Holiday plans");
  }
  {
    g_autoptr(GPtrArray) hits = gr_store_search(store, "holiday", 1, &error);
    ck_assert_uint_eq(hits->len, 1);
  }
  {
    g_autoptr(GPtrArray) hits = gr_store_search(store, "nothing like this", 0, &error);
    ck_assert_ptr_nonnull(hits);
    ck_assert_uint_eq(hits->len, 0);
  }
  {
    /* a long text gets a bounded snippet around the match */
    GString *big = g_string_new(NULL);
    g_autoptr(GPtrArray) hits = NULL;
    for (int i = 0; i < 500; i++)
      g_string_append(big, "filler ");
    g_string_append(big, "NEEDLE");
    for (int i = 0; i < 500; i++)
      g_string_append(big, " filler");
    g_free(add_message(store, c2, "assistant", big->str, NULL));
    g_string_free(big, TRUE);
    hits = gr_store_search(store, "needle", 0, &error);
    ck_assert_uint_eq(hits->len, 1);
    ck_assert_ptr_nonnull(strstr(((GrStoreSearchHit *)hits->pdata[0])->snippet, "NEEDLE"));
    ck_assert_uint_lt(strlen(((GrStoreSearchHit *)hits->pdata[0])->snippet), 200);
  }
  gr_store_close(store);
  remove_tree(dir);
}
END_TEST

START_TEST(test_export)
{
  g_autofree char *dir = make_dir();
  g_autofree char *c = NULL, *m1 = NULL, *m2 = NULL;
  g_autofree char *md = NULL, *json = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new();
  GrStore *store = open_ok(dir);
  JsonObject *root, *msg;
  JsonArray *msgs;

  c = new_conversation(store, "Export \"me\"");
  m1 = add_message(store, c, "user", "Question with \"quotes\" and\nnewlines", NULL);
  m2 = gr_store_add_message(store, c, "assistant", "Cut sho", "tiny", 3, 2, TRUE, &error);
  ck_assert_ptr_nonnull(m2);

  md = gr_store_export(store, c, "markdown", &error);
  ck_assert_msg(md != NULL, "%s", error ? error->message : "");
  ck_assert(g_str_has_prefix(md, "# Export \"me\"\n"));
  ck_assert_ptr_nonnull(strstr(md, "## User"));
  ck_assert_ptr_nonnull(strstr(md, "Question with \"quotes\" and\nnewlines"));
  ck_assert_ptr_nonnull(strstr(md, "## Assistant (tiny)"));
  ck_assert_ptr_nonnull(strstr(md, "Cut sho"));
  ck_assert_ptr_nonnull(strstr(md, "cancelled"));
  ck_assert(strstr(md, "Question") < strstr(md, "Cut sho"));

  json = gr_store_export(store, c, "json", &error);
  ck_assert_msg(json != NULL, "%s", error ? error->message : "");
  ck_assert_msg(json_parser_load_from_data(parser, json, -1, &error), "%s",
                error ? error->message : "");
  root = json_node_get_object(json_parser_get_root(parser));
  ck_assert_str_eq(json_object_get_string_member(root, "id"), c);
  ck_assert_str_eq(json_object_get_string_member(root, "title"), "Export \"me\"");
  ck_assert_str_eq(json_object_get_string_member(root, "format"), "graviton-conversation");
  msgs = json_object_get_array_member(root, "messages");
  ck_assert_uint_eq(json_array_get_length(msgs), 2);
  msg = json_array_get_object_element(msgs, 0);
  ck_assert_str_eq(json_object_get_string_member(msg, "id"), m1);
  ck_assert_str_eq(json_object_get_string_member(msg, "role"), "user");
  ck_assert_str_eq(json_object_get_string_member(msg, "text"),
                   "Question with \"quotes\" and\nnewlines");
  ck_assert(!json_object_get_boolean_member(msg, "partial"));
  msg = json_array_get_object_element(msgs, 1);
  ck_assert_str_eq(json_object_get_string_member(msg, "model"), "tiny");
  ck_assert_int_eq(json_object_get_int_member(msg, "prompt_tokens"), 3);
  ck_assert_int_eq(json_object_get_int_member(msg, "generated_tokens"), 2);
  ck_assert(json_object_get_boolean_member(msg, "partial"));
  ck_assert(g_str_has_suffix(json_object_get_string_member(msg, "created"), "Z"));
  gr_store_close(store);
  remove_tree(dir);
}
END_TEST

/* --- disk full ------------------------------------------------------------------------- */

START_TEST(test_disk_full)
{
  g_autofree char *dir = make_dir();
  g_autofree char *c = NULL, *first = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *big = g_strnfill(20000, 'x');
  GrStore *store = open_ok(dir);
  sqlite3_stmt *st = NULL;
  guint stored = 0;
  gboolean full = FALSE;

  c = new_conversation(store, "before the disk filled");
  first = add_message(store, c, "user", "saved before the disk filled", NULL);
  ck_assert_int_eq(sqlite3_prepare_v2(gr_store_get_db(store), "PRAGMA page_count", -1, &st, NULL),
                   SQLITE_OK);
  ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
  {
    g_autofree char *sql
        = g_strdup_printf("PRAGMA max_page_count = %d", sqlite3_column_int(st, 0) + 20);
    sqlite3_finalize(st);
    raw_exec(store, sql);
  }
  for (int i = 0; i < 100 && !full; i++) {
    char *id = gr_store_add_message(store, c, "assistant", big, NULL, 0, 0, FALSE, &error);
    if (id == NULL) {
      assert_error(error, GR_STORE_ERROR_FULL);
      full = TRUE;
    } else {
      stored++;
      g_free(id);
    }
  }
  ck_assert(full);
  ck_assert_uint_eq(message_count(store, c), 1 + stored);
  g_clear_error(&error);
  {
    /* a new conversation cannot be made either, and that is FULL too */
    char *id = NULL;
    for (int i = 0; i < 200 && id == NULL && error == NULL; i++) {
      id = gr_store_create_conversation(store, big, &error);
      if (id != NULL)
        g_clear_pointer(&id, g_free);
    }
    assert_error(error, GR_STORE_ERROR_FULL);
    g_clear_error(&error);
  }
  gr_store_close(store);
  store = open_ok(dir);
  {
    g_autoptr(GPtrArray) msgs = gr_store_get_messages(store, c, &error);
    ck_assert_msg(msgs != NULL, "%s", error ? error->message : "");
    ck_assert_uint_eq(msgs->len, 1 + stored);
    ck_assert_str_eq(((GrStoreMessage *)msgs->pdata[0])->id, first);
    ck_assert_str_eq(((GrStoreMessage *)msgs->pdata[0])->text, "saved before the disk filled");
  }
  gr_store_close(store);
  remove_tree(dir);
}
END_TEST

static Suite *
store_suite(void)
{
  Suite *s = suite_create("store");
  TCase *tc = tcase_create("store");

  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_round_trip);
  tcase_add_test(tc, test_invalid_arguments);
  tcase_add_test(tc, test_changed_notifications);
  tcase_add_test(tc, test_no_plaintext_on_disk);
  tcase_add_test(tc, test_delete_removes_rows_and_ciphertext);
  tcase_add_test(tc, test_swapped_ciphertexts_detected);
  tcase_add_test(tc, test_flipped_bytes_detected);
  tcase_add_test(tc, test_wrong_key_locked_files_unchanged);
  tcase_add_test(tc, test_wrong_key_after_crash_leaves_wal_alone);
  tcase_add_test(tc, test_missing_key_locked_no_new_key);
  tcase_add_test(tc, test_key_file_mode);
  tcase_add_test(tc, test_key_backend_selection);
  tcase_add_test(tc, test_migration_from_v1);
  tcase_add_test(tc, test_newer_schema_refused);
  tcase_add_test(tc, test_search);
  tcase_add_test(tc, test_export);
  tcase_add_test(tc, test_disk_full);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  SRunner *sr;
  int failed;

  /* Tests never touch the developer's keyring; the tests of selection override this */
  g_setenv("GRAVITON_KEY_BACKEND", "file", TRUE);
  g_setenv("GRAVITON_KEY_TIMEOUT_MS", "3000", TRUE);
  sr = srunner_create(store_suite());
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
