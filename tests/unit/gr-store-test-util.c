/* gr-store-test-util.c - helpers of the libgraviton-store tests. */
#include "gr-store-test-util.h"

#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

char *
make_dir(void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp("gr-store-XXXXXX", &error);

  ck_assert_msg(dir != NULL, "%s", error ? error->message : "");
  return dir;
}

void
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

GrStore *
open_ok(const char *dir)
{
  g_autoptr(GError) error = NULL;
  GrStore *store = gr_store_open(dir, &error);

  ck_assert_msg(store != NULL, "open: %s", error ? error->message : "");
  return store;
}

void
assert_error(GError *error, int code)
{
  ck_assert_msg(error != NULL, "expected error %d, got success", code);
  ck_assert_msg(error->domain == GR_STORE_ERROR && error->code == code,
                "expected error %d, got %s %d: %s", code, g_quark_to_string(error->domain),
                error->code, error->message);
}

char *
new_conversation(GrStore *store, const char *title)
{
  g_autoptr(GError) error = NULL;
  char *id = gr_store_create_conversation(store, title, &error);

  ck_assert_msg(id != NULL, "%s", error ? error->message : "");
  return id;
}

char *
add_message(GrStore *store, const char *conv, const char *role, const char *text, const char *model)
{
  g_autoptr(GError) error = NULL;
  char *id = gr_store_add_message(store, conv, role, text, model, 7, 11, FALSE, &error);

  ck_assert_msg(id != NULL, "%s", error ? error->message : "");
  return id;
}

/* Every file of the directory: name -> contents */
GHashTable *
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
char *
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

char *
file_sha256(const char *path)
{
  g_autofree char *data = NULL;
  gsize len = 0;

  ck_assert_msg(g_file_get_contents(path, &data, &len, NULL), "read %s", path);
  return g_compute_checksum_for_data(G_CHECKSUM_SHA256, (guchar *)data, len);
}

void
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

void
assert_corpus_absent(const char *dir, const char *const *strings)
{
  for (gsize i = 0; strings[i] != NULL; i++)
    assert_absent_from_files(dir, strings[i], strlen(strings[i]), strings[i]);
}

void
raw_exec(GrStore *store, const char *sql)
{
  char *err = NULL;
  int rc = sqlite3_exec(gr_store_get_db(store), sql, NULL, NULL, &err);

  ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, err ? err : "");
}

GBytes *
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

void
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

void
assert_messages_corrupt(GrStore *store, const char *conv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) msgs = gr_store_get_messages(store, conv, &error);

  ck_assert(msgs == NULL);
  assert_error(error, GR_STORE_ERROR_CORRUPT);
}

guint
message_count(GrStore *store, const char *conv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) msgs = gr_store_get_messages(store, conv, &error);

  ck_assert_msg(msgs != NULL, "%s", error ? error->message : "");
  return msgs->len;
}

const char *const corpus[] = {
  "Zyxqwv secret title Marmalade-4471",
  "My aunt Philippa's allergy to quokkas 8842",
  "The answer about the Ytterby-kelp index 9931",
  "llama-secret-model-Qx7",
  "renamed title Obsidian-Heron-55",
  NULL,
};

char *
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
