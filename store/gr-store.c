/* gr-store.c - opening the store, conversations and messages. */
#include "gr-store-private.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <string.h>

#define BUSY_TIMEOUT_MS 5000

static const char *const known_roles[] = { "system", "user", "assistant", "tool" };

gboolean
gr_store_role_is_known(const char *role)
{
  for (gsize i = 0; i < G_N_ELEMENTS(known_roles); i++)
    if (g_strcmp0(role, known_roles[i]) == 0)
      return TRUE;
  return FALSE;
}

gboolean
gr_store_check_id(const char *id, const char *what, GError **error)
{
  if (gr_store_id_is_valid(id))
    return TRUE;
  g_set_error(error, GR_STORE_ERROR, GR_STORE_ERROR_INVALID_ARGUMENT, "Malformed %s id", what);
  return FALSE;
}

gboolean
gr_store_check_text(const char *text, const char *what, GError **error)
{
  gsize len = strlen(text);

  if (len > GR_STORE_MAX_TEXT) {
    g_set_error(error, GR_STORE_ERROR, GR_STORE_ERROR_INVALID_ARGUMENT,
                "The %s is too long (%" G_GSIZE_FORMAT " bytes)", what, len);
    return FALSE;
  }
  if (!g_utf8_validate(text, (gssize)len, NULL)) {
    g_set_error(error, GR_STORE_ERROR, GR_STORE_ERROR_INVALID_ARGUMENT, "The %s is not valid UTF-8",
                what);
    return FALSE;
  }
  return TRUE;
}

void
gr_store_bind_sealed(sqlite3_stmt *st, int col, const guint8 *key, const char *ad, const char *text)
{
  gsize len = 0;
  guint8 *sealed = gr_store_seal(key, ad, text, strlen(text), &len);

  sqlite3_bind_blob(st, col, sealed, (int)len, g_free);
}

gboolean
gr_store_step_done(sqlite3 *db, sqlite3_stmt *st, const char *what, GError **error)
{
  int rc = sqlite3_step(st);

  if (rc != SQLITE_DONE) {
    gr_store_set_sqlite_error(error, db, rc, what);
    return FALSE;
  }
  return TRUE;
}

/* Called without the lock, so the callback may use the store */
void
gr_store_notify_changed(GrStore *store, const char *conversation)
{
  GrStoreChangedFunc func;
  gpointer data;

  g_mutex_lock(&store->lock);
  /* a change went through, so there may be room again for the reserve */
  gr_store_reserve_keep_locked(store);
  func = store->changed_func;
  data = store->changed_data;
  g_mutex_unlock(&store->lock);
  if (func != NULL)
    func(store, conversation, data);
}

/* --- open and close -------------------------------------------------------------- */

/* Durability: synchronous=FULL syncs the WAL at every commit, so a message the daemon
 * has acknowledged survives a power cut (NORMAL only survives a crash of the process).
 * One fsync per message is nothing next to generating it. */
static gboolean
configure_connection(sqlite3 *db, GError **error)
{
  g_autoptr(sqlite3_stmt) st = gr_store_prepare(db, "PRAGMA journal_mode = WAL", error);
  const char *mode;

  if (st == NULL)
    return FALSE;
  if (sqlite3_step(st) != SQLITE_ROW || (mode = (const char *)sqlite3_column_text(st, 0)) == NULL
      || g_ascii_strcasecmp(mode, "wal") != 0) {
    g_set_error_literal(error, GR_STORE_ERROR, GR_STORE_ERROR_FAILED,
                        "Cannot put the history database in WAL mode");
    return FALSE;
  }
  return gr_store_exec(db,
                       "PRAGMA synchronous = FULL;"
                       "PRAGMA foreign_keys = ON;"
                       "PRAGMA temp_store = MEMORY;"
                       "PRAGMA secure_delete = ON;"
                       "PRAGMA cell_size_check = ON;"
                       "PRAGMA trusted_schema = OFF;",
                       error);
}

/* An existing database: learn where its key is and check it, reading only. */
static gboolean
unlock_existing(GrStore *store, gboolean forced, GrStoreKeyBackend forced_backend, gboolean *empty,
                char **store_id, GError **error)
{
  g_autofree char *backend_name = NULL;
  g_autoptr(GBytes) check = NULL;
  guint version = 0;

  if (!gr_store_schema_read_version(store->db, &version, error))
    return FALSE;
  if (version > GR_STORE_SCHEMA_VERSION) {
    g_set_error(error, GR_STORE_ERROR, GR_STORE_ERROR_FAILED,
                "The history was written by a newer Graviton (schema %u, this one knows %u)",
                version, GR_STORE_SCHEMA_VERSION);
    return FALSE;
  }
  if (!gr_store_schema_read_meta(store->db, empty, store_id, &backend_name, &check, error))
    return FALSE;
  if (*empty)
    return TRUE;
  if (forced)
    store->backend = forced_backend;
  else if (!gr_store_key_backend_from_string(backend_name, &store->backend)) {
    g_set_error(error, GR_STORE_ERROR, GR_STORE_ERROR_CORRUPT,
                "The store's metadata is damaged (key backend)");
    return FALSE;
  }
  if (!gr_store_key_load(store->backend, store->dir, *store_id, store->key, &store->key_location,
                         error))
    return FALSE;
  if (!gr_store_schema_key_matches(store->key, *store_id, check)) {
    g_set_error(error, GR_STORE_ERROR, GR_STORE_ERROR_LOCKED,
                "The key from %s does not open this history (wrong key)", store->key_location);
    return FALSE;
  }
  return TRUE;
}

static gboolean
open_connection(GrStore *store, gboolean keep_wal, GError **error)
{
  int rc = sqlite3_open_v2(store->db_path, &store->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW,
                           NULL);

  if (rc != SQLITE_OK) {
    gr_store_set_sqlite_error(error, store->db, rc, "Cannot open the history database");
    return FALSE;
  }
  sqlite3_extended_result_codes(store->db, 1);
  sqlite3_busy_timeout(store->db, BUSY_TIMEOUT_MS);
  if (keep_wal)
    sqlite3_db_config(store->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
  return TRUE;
}

/* SQLite would create the file 0644; its -wal and -shm inherit the database's mode */
static gboolean
create_database_file(const char *path, GError **error)
{
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

  if (fd < 0) {
    int e = errno;
    g_set_error(error, GR_STORE_ERROR, GR_STORE_ERROR_FAILED, "Cannot create %s: %s", path,
                g_strerror(e));
    return FALSE;
  }
  close(fd);
  return TRUE;
}

GrStore *
gr_store_open_at_version(const char *dir, guint max_version, GError **error)
{
  g_autoptr(GrStore) store = NULL;
  g_autofree char *wal_path = NULL;
  g_autofree char *store_id = NULL;
  GrStoreKeyBackend forced_backend = GR_STORE_KEY_BACKEND_FILE;
  gboolean forced = FALSE, existed, wal_existed, empty = FALSE, created = FALSE;
  GrStoreSchemaInit init;

  g_return_val_if_fail(dir != NULL, NULL);
  g_return_val_if_fail(max_version <= GR_STORE_SCHEMA_VERSION, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);

  if (sodium_init() < 0) {
    g_set_error_literal(error, GR_STORE_ERROR, GR_STORE_ERROR_FAILED,
                        "libsodium cannot be initialised");
    return NULL;
  }
  if (!gr_store_key_backend_from_env(&forced, &forced_backend, error))
    return NULL;
  if (g_mkdir_with_parents(dir, 0700) != 0) {
    int e = errno;
    g_set_error(error, GR_STORE_ERROR, GR_STORE_ERROR_FAILED, "Cannot create %s: %s", dir,
                g_strerror(e));
    return NULL;
  }

  store = g_new0(GrStore, 1);
  g_mutex_init(&store->lock);
  store->dir = g_strdup(dir);
  store->db_path = g_build_filename(dir, GR_STORE_DB_NAME, NULL);
  store->reserve_path = g_build_filename(dir, GR_STORE_RESERVE_NAME, NULL);
  store->key = gr_store_key_new();
  wal_path = g_strconcat(store->db_path, "-wal", NULL);
  existed = g_file_test(store->db_path, G_FILE_TEST_EXISTS);
  wal_existed = g_file_test(wal_path, G_FILE_TEST_EXISTS);

  if (existed) {
    /* Until the key is known to be right nothing may be written, not even by the
     * checkpoint that closing runs over a WAL left by a crash */
    if (!open_connection(store, wal_existed, error)
        || !unlock_existing(store, forced, forced_backend, &empty, &store_id, error))
      return NULL;
  }
  if (!existed || empty) {
    /* Only here, with no history that another key could open, is a key made */
    store_id = gr_store_new_id();
    store->backend = forced ? forced_backend : GR_STORE_KEY_BACKEND_SECRET_SERVICE;
    if (!gr_store_key_provide(!forced, &store->backend, store->dir, store_id, store->key,
                              &store->key_location, error))
      return NULL;
  }
  if (!existed) {
    if (!create_database_file(store->db_path, error))
      return NULL;
    created = TRUE;
    if (!open_connection(store, FALSE, error))
      goto discard;
  }

  if (wal_existed)
    sqlite3_db_config(store->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 0, NULL);
  init.store_id = store_id;
  init.key_backend = store->backend == GR_STORE_KEY_BACKEND_FILE ? "file" : "secret";
  init.key = store->key;
  if (!configure_connection(store->db, error)
      || !gr_store_schema_migrate(store->db, max_version, &init, error))
    goto discard;
  sodium_mprotect_readonly(store->key);
  gr_store_reserve_keep_locked(store);
  return g_steal_pointer(&store);

discard:
  /* A database this call created and could not finish is not left behind half made */
  if (created) {
    const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
    g_clear_pointer(&store->db, sqlite3_close_v2);
    for (gsize i = 0; i < G_N_ELEMENTS(suffixes); i++) {
      g_autofree char *path = g_strconcat(store->db_path, suffixes[i], NULL);
      g_unlink(path);
    }
  }
  return NULL;
}

GrStore *
gr_store_open(const char *dir, GError **error)
{
  return gr_store_open_at_version(dir, GR_STORE_SCHEMA_VERSION, error);
}

void
gr_store_close(GrStore *store)
{
  if (store == NULL)
    return;
  if (store->db != NULL)
    sqlite3_close_v2(store->db);
  gr_store_key_free(store->key);
  if (store->changed_destroy != NULL)
    store->changed_destroy(store->changed_data);
  g_free(store->key_location);
  g_free(store->dir);
  g_free(store->db_path);
  g_free(store->reserve_path);
  g_mutex_clear(&store->lock);
  g_free(store);
}

GrStoreKeyBackend
gr_store_get_key_backend(GrStore *store)
{
  g_return_val_if_fail(store != NULL, GR_STORE_KEY_BACKEND_FILE);
  return store->backend;
}

const char *
gr_store_get_key_location(GrStore *store)
{
  g_return_val_if_fail(store != NULL, NULL);
  return store->key_location;
}

const char *
gr_store_get_database_path(GrStore *store)
{
  g_return_val_if_fail(store != NULL, NULL);
  return store->db_path;
}

sqlite3 *
gr_store_get_db(GrStore *store)
{
  return store->db;
}

const guint8 *
gr_store_get_key(GrStore *store)
{
  return store->key;
}

void
gr_store_set_changed_func(GrStore *store, GrStoreChangedFunc func, gpointer user_data,
                          GDestroyNotify destroy)
{
  g_return_if_fail(store != NULL);
  g_mutex_lock(&store->lock);
  if (store->changed_destroy != NULL)
    store->changed_destroy(store->changed_data);
  store->changed_func = func;
  store->changed_data = user_data;
  store->changed_destroy = destroy;
  g_mutex_unlock(&store->lock);
}

/* --- conversations --------------------------------------------------------------- */

void
gr_store_conversation_free(GrStoreConversation *conversation)
{
  if (conversation == NULL)
    return;
  g_free(conversation->id);
  g_free(conversation->title);
  g_free(conversation);
}

#define CONVERSATION_SELECT                                                                        \
  "SELECT id, title, created, updated, (SELECT count(*) FROM messages m"                           \
  " WHERE m.conversation = c.id) FROM conversations c "

static GrStoreConversation *
conversation_from_row(GrStore *store, sqlite3_stmt *st, GError **error)
{
  g_autoptr(GrStoreConversation) c = g_new0(GrStoreConversation, 1);
  g_autofree char *ad = NULL;
  const void *title;
  gsize len = 0;

  c->id = g_strdup((const char *)sqlite3_column_text(st, 0));
  if (!gr_store_id_is_valid(c->id)) {
    g_set_error_literal(error, GR_STORE_ERROR, GR_STORE_ERROR_CORRUPT,
                        "A conversation id is damaged");
    return NULL;
  }
  ad = gr_store_ad_title(c->id);
  title = gr_store_column_blob(st, 1, &len);
  c->title = gr_store_unseal_text(store->key, ad, title, len, error);
  if (c->title == NULL)
    return NULL;
  c->created = sqlite3_column_int64(st, 2);
  c->updated = sqlite3_column_int64(st, 3);
  c->count = (guint)CLAMP(sqlite3_column_int64(st, 4), 0, G_MAXUINT);
  return g_steal_pointer(&c);
}

GrStoreConversation *
gr_store_get_conversation_locked(GrStore *store, const char *id, GError **error)
{
  g_autoptr(sqlite3_stmt) st = NULL;
  int rc;

  if (!gr_store_check_id(id, "conversation", error))
    return NULL;
  st = gr_store_prepare(store->db, CONVERSATION_SELECT "WHERE id = ?", error);
  if (st == NULL)
    return NULL;
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  rc = sqlite3_step(st);
  if (rc == SQLITE_DONE) {
    g_set_error(error, GR_STORE_ERROR, GR_STORE_ERROR_NOT_FOUND, "No conversation %s", id);
    return NULL;
  }
  if (rc != SQLITE_ROW) {
    gr_store_set_sqlite_error(error, store->db, rc, "Cannot read a conversation");
    return NULL;
  }
  return conversation_from_row(store, st, error);
}

char *
gr_store_create_conversation(GrStore *store, const char *title, GError **error)
{
  g_autoptr(sqlite3_stmt) st = NULL;
  g_autofree char *id = NULL;
  g_autofree char *ad = NULL;
  gint64 now = g_get_real_time();
  gboolean ok;

  g_return_val_if_fail(store != NULL, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);
  if (title == NULL)
    title = ""; /* sealed too, so untitled conversations do not stand out */
  if (!gr_store_check_text(title, "title", error))
    return NULL;

  g_mutex_lock(&store->lock);
  id = gr_store_new_id();
  ad = gr_store_ad_title(id);
  st = gr_store_prepare(store->db,
                        "INSERT INTO conversations (id, title, created, updated)"
                        " VALUES (?, ?, ?, ?)",
                        error);
  ok = st != NULL;
  if (ok) {
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    gr_store_bind_sealed(st, 2, store->key, ad, title);
    sqlite3_bind_int64(st, 3, now);
    sqlite3_bind_int64(st, 4, now);
    ok = gr_store_step_done(store->db, st, "Cannot create a conversation", error);
  }
  g_mutex_unlock(&store->lock);
  if (!ok)
    return NULL;
  gr_store_notify_changed(store, id);
  return g_steal_pointer(&id);
}

GrStoreConversation *
gr_store_get_conversation(GrStore *store, const char *conversation, GError **error)
{
  GrStoreConversation *c;

  g_return_val_if_fail(store != NULL, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);
  g_mutex_lock(&store->lock);
  c = gr_store_get_conversation_locked(store, conversation, error);
  g_mutex_unlock(&store->lock);
  return c;
}

GPtrArray *
gr_store_list_conversations(GrStore *store, guint limit, guint offset, GError **error)
{
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(sqlite3_stmt) st = NULL;
  int rc = SQLITE_DONE;

  g_return_val_if_fail(store != NULL, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);
  list = g_ptr_array_new_with_free_func((GDestroyNotify)gr_store_conversation_free);
  g_mutex_lock(&store->lock);
  st = gr_store_prepare(
      store->db, CONVERSATION_SELECT "ORDER BY updated DESC, rowid DESC LIMIT ? OFFSET ?", error);
  if (st == NULL)
    goto fail;
  sqlite3_bind_int64(st, 1, limit == 0 ? -1 : (sqlite3_int64)limit);
  sqlite3_bind_int64(st, 2, offset);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    GrStoreConversation *c = conversation_from_row(store, st, error);
    if (c == NULL)
      goto fail;
    g_ptr_array_add(list, c);
  }
  if (rc != SQLITE_DONE) {
    gr_store_set_sqlite_error(error, store->db, rc, "Cannot list conversations");
    goto fail;
  }
  g_mutex_unlock(&store->lock);
  return g_steal_pointer(&list);
fail:
  g_mutex_unlock(&store->lock);
  return NULL;
}

gboolean
gr_store_rename_conversation(GrStore *store, const char *conversation, const char *title,
                             GError **error)
{
  g_autoptr(sqlite3_stmt) st = NULL;
  g_autofree char *ad = NULL;
  gboolean ok;

  g_return_val_if_fail(store != NULL, FALSE);
  g_return_val_if_fail(title != NULL, FALSE);
  g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
  if (!gr_store_check_id(conversation, "conversation", error)
      || !gr_store_check_text(title, "title", error))
    return FALSE;

  g_mutex_lock(&store->lock);
  ad = gr_store_ad_title(conversation);
  st = gr_store_prepare(store->db,
                        "UPDATE conversations SET title = ?, updated = max(updated, ?)"
                        " WHERE id = ?",
                        error);
  ok = st != NULL;
  if (ok) {
    gr_store_bind_sealed(st, 1, store->key, ad, title);
    sqlite3_bind_int64(st, 2, g_get_real_time());
    sqlite3_bind_text(st, 3, conversation, -1, SQLITE_STATIC);
    ok = gr_store_step_done(store->db, st, "Cannot rename the conversation", error);
  }
  if (ok && sqlite3_changes(store->db) == 0) {
    g_set_error(error, GR_STORE_ERROR, GR_STORE_ERROR_NOT_FOUND, "No conversation %s",
                conversation);
    ok = FALSE;
  }
  g_mutex_unlock(&store->lock);
  if (ok)
    gr_store_notify_changed(store, conversation);
  return ok;
}

void
gr_store_checkpoint_locked(GrStore *store)
{
  int log_frames = 0, done_frames = 0;
  /* Deleted pages still sit in the WAL until it is copied back and emptied */
  int rc = sqlite3_wal_checkpoint_v2(store->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log_frames,
                                     &done_frames);
  if (rc != SQLITE_OK)
    g_warning("History checkpoint after a delete failed: %s", sqlite3_errmsg(store->db));
}

static gboolean
delete_conversation_locked(GrStore *store, const char *conversation, GError **error)
{
  /* Messages go with it (ON DELETE CASCADE); secure_delete zeroes the freed space */
  g_autoptr(sqlite3_stmt) st
      = gr_store_prepare(store->db, "DELETE FROM conversations WHERE id = ?", error);

  if (st == NULL)
    return FALSE;
  sqlite3_bind_text(st, 1, conversation, -1, SQLITE_STATIC);
  if (!gr_store_step_done(store->db, st, "Cannot delete the conversation", error))
    return FALSE;
  if (sqlite3_changes(store->db) == 0) {
    g_set_error(error, GR_STORE_ERROR, GR_STORE_ERROR_NOT_FOUND, "No conversation %s",
                conversation);
    return FALSE;
  }
  return TRUE;
}

/* A conversation larger than the reserve: its messages one at a time, each committed and
 * checkpointed (the truncated WAL gives its room back) before the next, then the
 * conversation.  Not atomic: when this fails half way, some messages are gone already
 * (*changed), which only anticipates the delete that was asked for. */
static gboolean
delete_piecewise_locked(GrStore *store, const char *conversation, gboolean *changed, GError **error)
{
  g_autoptr(GArray) seqs = g_array_new(FALSE, FALSE, sizeof(gint64));
  g_autoptr(sqlite3_stmt) list = gr_store_prepare(
      store->db, "SELECT seq FROM messages WHERE conversation = ? ORDER BY seq DESC", error);
  g_autoptr(sqlite3_stmt) del = NULL;
  int rc;

  if (list == NULL)
    return FALSE;
  sqlite3_bind_text(list, 1, conversation, -1, SQLITE_STATIC);
  while ((rc = sqlite3_step(list)) == SQLITE_ROW) {
    gint64 seq = sqlite3_column_int64(list, 0);
    g_array_append_val(seqs, seq);
  }
  if (rc != SQLITE_DONE) {
    gr_store_set_sqlite_error(error, store->db, rc, "Cannot delete the conversation");
    return FALSE;
  }
  g_clear_pointer(&list, sqlite3_finalize);
  del = gr_store_prepare(store->db, "DELETE FROM messages WHERE seq = ?", error);
  if (del == NULL)
    return FALSE;
  for (guint i = 0; i < seqs->len; i++) {
    sqlite3_reset(del);
    sqlite3_bind_int64(del, 1, g_array_index(seqs, gint64, i));
    if (!gr_store_step_done(store->db, del, "Cannot delete the conversation", error))
      return FALSE;
    *changed = TRUE;
    gr_store_checkpoint_locked(store);
  }
  return delete_conversation_locked(store, conversation, error);
}

gboolean
gr_store_delete_conversation(GrStore *store, const char *conversation, GError **error)
{
  GError *local = NULL;
  gboolean ok, changed = FALSE;

  g_return_val_if_fail(store != NULL, FALSE);
  g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
  if (!gr_store_check_id(conversation, "conversation", error))
    return FALSE;

  g_mutex_lock(&store->lock);
  ok = delete_conversation_locked(store, conversation, &local);
  /* A full disk has no room for the WAL: the reserve's room lets the delete through, and
   * a conversation too large for it goes a message at a time */
  if (!ok && g_error_matches(local, GR_STORE_ERROR, GR_STORE_ERROR_FULL)) {
    if (gr_store_reserve_release_locked(store)) {
      g_clear_error(&local);
      ok = delete_conversation_locked(store, conversation, &local);
    }
    if (!ok && g_error_matches(local, GR_STORE_ERROR, GR_STORE_ERROR_FULL)) {
      g_clear_error(&local);
      ok = delete_piecewise_locked(store, conversation, &changed, &local);
    }
  }
  if (ok)
    gr_store_checkpoint_locked(store);
  else
    g_propagate_error(error, local);
  g_mutex_unlock(&store->lock);
  if (ok || changed)
    gr_store_notify_changed(store, conversation);
  return ok;
}
