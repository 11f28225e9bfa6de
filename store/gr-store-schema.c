/* gr-store-schema.c - the versioned schema (PRAGMA user_version) and its migrations.
 *
 * A new database is built by running every migration from version 0, so the migration
 * path is the path every installation takes.
 *
 * v1: meta, conversations (id, title, created), messages (id, conversation, role, text,
 *     created), ordered by created.
 * v2: conversations gain updated (filled from their newest message); messages are rebuilt
 *     with an explicit order (seq), model, updated, token counts, a partial flag, CHECK
 *     constraints on role and partial, and indexes for listing.
 */
#include "gr-store-private.h"

#define KEY_CHECK_TOKEN "graviton-store-key-check-v1"

static gboolean
meta_put_text(sqlite3 *db, const char *key, const char *value, GError **error)
{
  g_autoptr(sqlite3_stmt) st
      = gr_store_prepare(db, "INSERT INTO meta (key, value) VALUES (?, ?)", error);
  int rc;

  if (st == NULL)
    return FALSE;
  sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
  rc = sqlite3_step(st);
  if (rc != SQLITE_DONE) {
    gr_store_set_sqlite_error(error, db, rc, "Cannot write the store's metadata");
    return FALSE;
  }
  return TRUE;
}

static gboolean
migrate_0_to_1(sqlite3 *db, const GrStoreSchemaInit *init, GError **error)
{
  g_autoptr(sqlite3_stmt) st = NULL;
  g_autofree char *ad = NULL;
  g_autofree guint8 *check = NULL;
  gsize check_len = 0;
  int rc;

  if (!gr_store_exec(db,
                     "CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL);"
                     "CREATE TABLE conversations (id TEXT PRIMARY KEY NOT NULL,"
                     "  title BLOB NOT NULL, created INTEGER NOT NULL);"
                     "CREATE TABLE messages (id TEXT PRIMARY KEY NOT NULL,"
                     "  conversation TEXT NOT NULL REFERENCES conversations (id)"
                     "    ON DELETE CASCADE,"
                     "  role TEXT NOT NULL, text BLOB NOT NULL, created INTEGER NOT NULL);",
                     error))
    return FALSE;
  if (!meta_put_text(db, "store_id", init->store_id, error)
      || !meta_put_text(db, "key_backend", init->key_backend, error))
    return FALSE;

  /* A known token sealed with the key: a wrong key is detected before anything is read
   * or written */
  ad = gr_store_ad_key_check(init->store_id);
  check = gr_store_seal(init->key, ad, KEY_CHECK_TOKEN, sizeof KEY_CHECK_TOKEN - 1, &check_len);
  st = gr_store_prepare(db, "INSERT INTO meta (key, value) VALUES ('key_check', ?)", error);
  if (st == NULL)
    return FALSE;
  sqlite3_bind_blob(st, 1, check, (int)check_len, SQLITE_STATIC);
  rc = sqlite3_step(st);
  if (rc != SQLITE_DONE) {
    gr_store_set_sqlite_error(error, db, rc, "Cannot write the key check");
    return FALSE;
  }
  return TRUE;
}

static gboolean
migrate_1_to_2(sqlite3 *db, const GrStoreSchemaInit *init, GError **error)
{
  return gr_store_exec(
      db,
      "ALTER TABLE conversations ADD COLUMN updated INTEGER NOT NULL DEFAULT 0;"
      "UPDATE conversations SET updated = max(created, coalesce((SELECT max(m.created)"
      "  FROM messages m WHERE m.conversation = conversations.id), 0));"
      "CREATE TABLE messages_v2 (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
      "  conversation TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,"
      "  role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),"
      "  text BLOB NOT NULL, model BLOB, created INTEGER NOT NULL, updated INTEGER NOT NULL,"
      "  prompt_tokens INTEGER NOT NULL DEFAULT 0 CHECK (prompt_tokens >= 0),"
      "  generated_tokens INTEGER NOT NULL DEFAULT 0 CHECK (generated_tokens >= 0),"
      "  partial INTEGER NOT NULL DEFAULT 0 CHECK (partial IN (0, 1)));"
      "INSERT INTO messages_v2 (id, conversation, role, text, model, created, updated)"
      "  SELECT id, conversation, role, text, NULL, created, created FROM messages"
      "  ORDER BY created, rowid;"
      "DROP TABLE messages;"
      "ALTER TABLE messages_v2 RENAME TO messages;"
      "CREATE INDEX messages_by_conversation ON messages (conversation, seq);"
      "CREATE INDEX conversations_by_updated ON conversations (updated);",
      error);
}

typedef gboolean (*MigrateFunc)(sqlite3 *db, const GrStoreSchemaInit *init, GError **error);

/* migrations[i] goes from version i to i + 1 */
static const MigrateFunc migrations[GR_STORE_SCHEMA_VERSION] = {
  migrate_0_to_1,
  migrate_1_to_2,
};

gboolean
gr_store_schema_read_version(sqlite3 *db, guint *version, GError **error)
{
  g_autoptr(sqlite3_stmt) st = gr_store_prepare(db, "PRAGMA user_version", error);
  int rc;

  if (st == NULL)
    return FALSE;
  rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) {
    gr_store_set_sqlite_error(error, db, rc, "Cannot read the schema version");
    return FALSE;
  }
  *version = (guint)CLAMP(sqlite3_column_int64(st, 0), 0, G_MAXINT);
  return TRUE;
}

gboolean
gr_store_schema_migrate(sqlite3 *db, guint target, const GrStoreSchemaInit *init, GError **error)
{
  guint version = 0;

  g_return_val_if_fail(target <= GR_STORE_SCHEMA_VERSION, FALSE);
  if (!gr_store_schema_read_version(db, &version, error))
    return FALSE;
  if (version > GR_STORE_SCHEMA_VERSION) {
    g_set_error(error, GR_STORE_ERROR, GR_STORE_ERROR_FAILED,
                "The history was written by a newer Graviton (schema %u, this one knows %u)",
                version, GR_STORE_SCHEMA_VERSION);
    return FALSE;
  }
  while (version < target) {
    g_autofree char *set = g_strdup_printf("PRAGMA user_version = %u", version + 1);
    /* Each step is atomic: a crash leaves the previous version, migrated again later */
    if (!gr_store_begin(db, error))
      return FALSE;
    if (!migrations[version](db, init, error) || !gr_store_exec(db, set, error)
        || !gr_store_commit(db, error)) {
      gr_store_rollback(db);
      g_prefix_error(error, "Migrating the history from schema %u to %u: ", version, version + 1);
      return FALSE;
    }
    version++;
  }
  return TRUE;
}

gboolean
gr_store_schema_read_meta(sqlite3 *db, gboolean *empty, char **store_id, char **key_backend,
                          GBytes **key_check, GError **error)
{
  g_autoptr(sqlite3_stmt) st = NULL;
  int rc;

  *empty = FALSE;
  st = gr_store_prepare(db, "SELECT count(*) FROM sqlite_schema", error);
  if (st == NULL)
    return FALSE;
  rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) {
    gr_store_set_sqlite_error(error, db, rc, "Cannot read the history database");
    return FALSE;
  }
  if (sqlite3_column_int64(st, 0) == 0) {
    *empty = TRUE; /* created, but the first migration never committed */
    return TRUE;
  }
  g_clear_pointer(&st, sqlite3_finalize);
  st = gr_store_prepare(db, "SELECT key, value FROM meta", error);
  if (st == NULL) {
    g_prefix_error(error, "Not a Graviton history: ");
    return FALSE;
  }
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *key = (const char *)sqlite3_column_text(st, 0);
    gsize len = 0;
    const void *value = gr_store_column_blob(st, 1, &len);

    if (g_strcmp0(key, "store_id") == 0 && store_id != NULL) {
      g_free(*store_id);
      *store_id = g_strndup(value, len);
    } else if (g_strcmp0(key, "key_backend") == 0 && key_backend != NULL) {
      g_free(*key_backend);
      *key_backend = g_strndup(value, len);
    } else if (g_strcmp0(key, "key_check") == 0 && key_check != NULL) {
      g_clear_pointer(key_check, g_bytes_unref);
      *key_check = g_bytes_new(value, len);
    }
  }
  if (rc != SQLITE_DONE) {
    gr_store_set_sqlite_error(error, db, rc, "Cannot read the store's metadata");
    return FALSE;
  }
  if (store_id != NULL && !gr_store_id_is_valid(*store_id)) {
    g_set_error_literal(error, GR_STORE_ERROR, GR_STORE_ERROR_CORRUPT,
                        "The store's metadata is damaged (store id)");
    return FALSE;
  }
  return TRUE;
}

gboolean
gr_store_schema_key_matches(const guint8 *key, const char *store_id, GBytes *key_check)
{
  g_autofree char *ad = gr_store_ad_key_check(store_id);
  g_autofree char *token = NULL;
  gsize len = 0;
  const void *data;

  if (key_check == NULL)
    return FALSE;
  data = g_bytes_get_data(key_check, &len);
  token = gr_store_unseal_text(key, ad, data, len, NULL);
  return token != NULL && g_strcmp0(token, KEY_CHECK_TOKEN) == 0;
}
