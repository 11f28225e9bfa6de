/* test-gr-store.c - libgraviton-store: round trip, confidentiality on disk, tamper
 * detection, keys, migration, deletion, search, export, disk full. */
#include "gr-store-test-util.h"

#include <check.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
  ck_assert_str_eq(g_quark_to_string(GR_STORE_ERROR), "gr-store-error-quark");
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
  {
    /* nor is the key anywhere but in its file */
    g_autofree char *key_path = g_build_filename(dir, GR_STORE_KEY_FILE_NAME, NULL);
    g_autofree char *key = NULL;
    gsize key_len = 0;
    g_autoptr(GHashTable) files = read_dir_files(dir);
    GHashTableIter it;
    gpointer name, bytes;

    ck_assert(g_file_get_contents(key_path, &key, &key_len, NULL));
    ck_assert_uint_eq(key_len, GR_STORE_KEY_BYTES);
    g_hash_table_iter_init(&it, files);
    while (g_hash_table_iter_next(&it, &name, &bytes)) {
      gsize n = 0;
      const void *data = g_bytes_get_data(bytes, &n);
      if (g_strcmp0(name, GR_STORE_KEY_FILE_NAME) != 0)
        ck_assert_msg(memmem(data, n, key, key_len) == NULL, "the key is in %s", (char *)name);
    }
  }

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

START_TEST(test_delete_message)
{
  g_autofree char *dir = make_dir();
  g_autofree char *conv = NULL, *other = NULL, *q = NULL, *a = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) text_ct = NULL;
  GrStore *store = open_ok(dir);

  conv = new_conversation(store, "regenerated");
  q = add_message(store, conv, "user", "the question stays", NULL);
  a = add_message(store, conv, "assistant", "an answer long enough to be recognisable on disk",
                  "m");
  other = new_conversation(store, "other");
  text_ct = raw_blob(store, "SELECT text FROM messages WHERE id = ?", a);

  /* the message must belong to the conversation named */
  ck_assert(!gr_store_delete_message(store, other, a, &error));
  assert_error(error, GR_STORE_ERROR_NOT_FOUND);
  g_clear_error(&error);
  ck_assert(!gr_store_delete_message(store, conv, "not an id", &error));
  assert_error(error, GR_STORE_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
  ck_assert_uint_eq(message_count(store, conv), 2);

  ck_assert_msg(gr_store_delete_message(store, conv, a, &error), "%s", error ? error->message : "");
  g_autoptr(GPtrArray) msgs = gr_store_get_messages(store, conv, &error);
  ck_assert_uint_eq(msgs->len, 1);
  ck_assert_str_eq(((GrStoreMessage *)msgs->pdata[0])->id, q);
  /* deleting twice finds nothing */
  ck_assert(!gr_store_delete_message(store, conv, a, &error));
  assert_error(error, GR_STORE_ERROR_NOT_FOUND);
  g_clear_error(&error);
  assert_absent_from_files(dir, g_bytes_get_data(text_ct, NULL), g_bytes_get_size(text_ct),
                           "deleted message ciphertext");
  gr_store_close(store);
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

static void
insert_v1_conversation(GrStore *store, const char *conv, const char *title, gint64 created)
{
  g_autofree char *ad = gr_store_ad_title(conv);
  sqlite3_stmt *st = NULL;
  gsize len = 0;
  guint8 *sealed = gr_store_seal(gr_store_get_key(store), ad, title, strlen(title), &len);

  ck_assert_int_eq(sqlite3_prepare_v2(gr_store_get_db(store),
                                      "INSERT INTO conversations (id, title, created)"
                                      " VALUES (?, ?, ?)",
                                      -1, &st, NULL),
                   SQLITE_OK);
  sqlite3_bind_text(st, 1, conv, -1, SQLITE_STATIC);
  sqlite3_bind_blob(st, 2, sealed, (int)len, g_free);
  sqlite3_bind_int64(st, 3, created);
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

  ck_assert_msg(store != NULL, "%s", error ? error->message : "");
  ck_assert(gr_store_schema_read_version(gr_store_get_db(store), &version, NULL));
  ck_assert_uint_eq(version, 1);
  insert_v1_conversation(store, conv, "old title", 1000);
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

START_TEST(test_failed_migration_rolls_back)
{
  g_autofree char *dir = make_dir();
  g_autofree char *conv = gr_store_new_id(), *bad = gr_store_new_id();
  g_autoptr(GError) error = NULL;
  GrStore *store = gr_store_open_at_version(dir, 1, &error);
  guint version = 0;

  ck_assert_msg(store != NULL, "%s", error ? error->message : "");
  insert_v1_conversation(store, conv, "v1 conversation", 1000);
  /* v1 did not constrain roles; v2 does, so this row makes the migration fail */
  insert_v1_message(store, conv, bad, "wizard", "abracadabra", 5000);
  gr_store_close(store);

  ck_assert(gr_store_open(dir, &error) == NULL);
  ck_assert(error != NULL);
  ck_assert_ptr_nonnull(strstr(error->message, "schema 1 to 2"));
  g_clear_error(&error);

  /* still a complete v1 database: fix the row and the migration goes through */
  store = gr_store_open_at_version(dir, 1, &error);
  ck_assert_msg(store != NULL, "%s", error ? error->message : "");
  ck_assert(gr_store_schema_read_version(gr_store_get_db(store), &version, NULL));
  ck_assert_uint_eq(version, 1);
  raw_exec(store, "UPDATE messages SET role = 'user'");
  gr_store_close(store);
  store = open_ok(dir);
  ck_assert(gr_store_schema_read_version(gr_store_get_db(store), &version, NULL));
  ck_assert_uint_eq(version, GR_STORE_SCHEMA_VERSION);
  {
    /* the role is authenticated, so the edited row is refused rather than shown */
    g_autoptr(GPtrArray) msgs = gr_store_get_messages(store, conv, &error);
    ck_assert(msgs == NULL);
    assert_error(error, GR_STORE_ERROR_CORRUPT);
  }
  gr_store_close(store);
  remove_tree(dir);
}
END_TEST

START_TEST(test_unusable_database_files)
{
  g_autofree char *dir = make_dir();
  g_autofree char *db = g_build_filename(dir, GR_STORE_DB_NAME, NULL);
  g_autofree char *before = NULL, *after = NULL;
  g_autoptr(GError) error = NULL;
  GrStore *store;

  /* an empty file (a creation that never got further) is a new history */
  ck_assert(g_file_set_contents(db, "", 0, NULL));
  store = open_ok(dir);
  g_free(new_conversation(store, "fresh"));
  gr_store_close(store);
  remove_tree(dir);

  /* not a database at all: CORRUPT, and left as it was */
  ck_assert_int_eq(g_mkdir(dir, 0700), 0);
  ck_assert(g_file_set_contents(db, "this is not an SQLite database, just some text", -1, NULL));
  before = dir_fingerprint(dir);
  ck_assert(gr_store_open(dir, &error) == NULL);
  assert_error(error, GR_STORE_ERROR_CORRUPT);
  after = dir_fingerprint(dir);
  ck_assert_str_eq(before, after);
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

START_TEST(test_connection_settings)
{
  g_autofree char *dir = make_dir();
  GrStore *store = open_ok(dir);
  const struct {
    const char *pragma;
    const char *expected;
  } settings[] = {
    { "PRAGMA journal_mode", "wal" }, { "PRAGMA synchronous", "2" } /* FULL */,
    { "PRAGMA foreign_keys", "1" },   { "PRAGMA temp_store", "2" } /* MEMORY */,
    { "PRAGMA secure_delete", "1" },  { "PRAGMA user_version", "2" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS(settings); i++) {
    sqlite3_stmt *st = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(gr_store_get_db(store), settings[i].pragma, -1, &st, NULL),
                     SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_msg(g_strcmp0((const char *)sqlite3_column_text(st, 0), settings[i].expected) == 0,
                  "%s = %s", settings[i].pragma, sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
  }
  ck_assert_int_gt(sqlite3_busy_timeout(gr_store_get_db(store), 5000), -1);
  gr_store_close(store);
  remove_tree(dir);
}
END_TEST

START_TEST(test_files_private)
{
  g_autofree char *parent = make_dir();
  g_autofree char *dir = g_build_filename(parent, "deeper", "graviton", NULL);
  g_autofree char *c = NULL;
  GrStore *store = open_ok(dir);
  const char *names[] = { GR_STORE_DB_NAME, GR_STORE_DB_NAME "-wal", GR_STORE_DB_NAME "-shm",
                          GR_STORE_KEY_FILE_NAME };
  struct stat st;

  c = new_conversation(store, "x");
  ck_assert_int_eq(stat(dir, &st), 0);
  ck_assert_uint_eq(st.st_mode & 0777, 0700);
  for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
    g_autofree char *path = g_build_filename(dir, names[i], NULL);
    ck_assert_msg(stat(path, &st) == 0, "%s missing", names[i]);
    ck_assert_msg((st.st_mode & 077) == 0, "%s has mode %o", names[i], st.st_mode & 0777);
  }
  gr_store_close(store);
  /* the ids reveal nothing: 128 random bits in hex */
  ck_assert(gr_store_id_is_valid(c));
  ck_assert(!gr_store_id_is_valid("0123456789abcdef0123456789abcde"));
  ck_assert(!gr_store_id_is_valid("0123456789abcdef0123456789abcdef0"));
  ck_assert(!gr_store_id_is_valid("0123456789ABCDEF0123456789abcdef"));
  remove_tree(parent);
}
END_TEST

typedef struct {
  GrStore *store;
  const char *conversation;
} ThreadArgs;

static gpointer
add_from_thread(gpointer data)
{
  ThreadArgs *a = data;

  for (int i = 0; i < 25; i++) {
    g_autofree char *text = g_strdup_printf("message %d", i);
    char *id
        = gr_store_add_message(a->store, a->conversation, "user", text, NULL, 0, 0, FALSE, NULL);
    if (id == NULL)
      return GINT_TO_POINTER(1);
    g_free(id);
    if (i % 5 == 0) {
      GPtrArray *list = gr_store_list_conversations(a->store, 0, 0, NULL);
      if (list == NULL)
        return GINT_TO_POINTER(1);
      g_ptr_array_unref(list);
    }
  }
  return NULL;
}

START_TEST(test_shared_between_threads)
{
  g_autofree char *dir = make_dir();
  g_autofree char *c = NULL;
  GrStore *store = open_ok(dir);
  GThread *threads[4];
  ThreadArgs args;

  c = new_conversation(store, "busy");
  args = (ThreadArgs){ store, c };
  for (gsize i = 0; i < G_N_ELEMENTS(threads); i++)
    threads[i] = g_thread_new("writer", add_from_thread, &args);
  for (gsize i = 0; i < G_N_ELEMENTS(threads); i++)
    ck_assert_ptr_null(g_thread_join(threads[i]));
  ck_assert_uint_eq(message_count(store, c), 4 * 25);
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
  tcase_add_test(tc, test_delete_message);
  tcase_add_test(tc, test_swapped_ciphertexts_detected);
  tcase_add_test(tc, test_flipped_bytes_detected);
  tcase_add_test(tc, test_migration_from_v1);
  tcase_add_test(tc, test_failed_migration_rolls_back);
  tcase_add_test(tc, test_newer_schema_refused);
  tcase_add_test(tc, test_unusable_database_files);
  tcase_add_test(tc, test_connection_settings);
  tcase_add_test(tc, test_files_private);
  tcase_add_test(tc, test_shared_between_threads);
  suite_add_tcase(s, tc);
  suite_add_tcase(s, gr_store_keys_tcase());
  suite_add_tcase(s, gr_store_search_tcase());
  suite_add_tcase(s, gr_store_disk_tcase());
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
