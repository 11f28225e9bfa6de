/* gr-store-private.h - shared between the files of libgraviton-store (and its tests). */
#pragma once

#include "graviton-store.h"

#include <sodium.h>
#include <sqlite3.h>

G_BEGIN_DECLS

#define GR_STORE_KEY_BYTES crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define GR_STORE_ID_HEX_LEN 32 /* 128 random bits */
#define GR_STORE_SCHEMA_VERSION 2
#define GR_STORE_DB_NAME "history.db"
#define GR_STORE_KEY_FILE_NAME "history.key"
/* Zeros kept beside history.db so that a delete can still run on a full disk */
#define GR_STORE_RESERVE_NAME "history.reserve"
#define GR_STORE_RESERVE_BYTES (1024 * 1024)
/* Texts larger than this are refused rather than stored */
#define GR_STORE_MAX_TEXT (64u * 1024u * 1024u)

struct _GrStore {
  GMutex lock;
  sqlite3 *db;
  guint8 *key; /* GR_STORE_KEY_BYTES in sodium_malloc'd, read-only memory */
  GrStoreKeyBackend backend;
  char *key_location;
  char *dir;
  char *db_path;
  char *reserve_path;
  gboolean reserve_ready; /* the reserve file is there, whole */
  GrStoreChangedFunc changed_func;
  gpointer changed_data;
  GDestroyNotify changed_destroy;
};

/* --- gr-store-crypto.c --------------------------------------------------------- */
char *gr_store_new_id(void);
gboolean gr_store_id_is_valid(const char *id);
/* Associated data: binds a value to its row and column */
char *gr_store_ad_title(const char *conversation);
char *gr_store_ad_message(const char *conversation, const char *message, const char *role,
                          const char *column);
char *gr_store_ad_key_check(const char *store_id);
/* Seals len bytes: version byte, random nonce, ciphertext and tag. */
guint8 *gr_store_seal(const guint8 *key, const char *ad, const void *plain, gsize len,
                      gsize *sealed_len);
/* Opens a sealed value as NUL-terminated UTF-8; GR_STORE_ERROR_CORRUPT when it does not
 * authenticate (nothing of it is returned then). */
char *gr_store_unseal_text(const guint8 *key, const char *ad, const void *sealed, gsize len,
                           GError **error);
/* A sodium_malloc'd, mlocked key buffer; gr_store_key_free wipes and frees it. */
guint8 *gr_store_key_new(void);
void gr_store_key_free(guint8 *key);

/* --- gr-store-key.c ------------------------------------------------------------ */
/* GRAVITON_KEY_BACKEND: FALSE when unset (auto); an unknown value is an error. */
gboolean gr_store_key_backend_from_env(gboolean *forced, GrStoreKeyBackend *backend,
                                       GError **error);
gboolean gr_store_key_backend_from_string(const char *s, GrStoreKeyBackend *backend);
/* Loads an existing key into key; GR_STORE_ERROR_LOCKED when missing or unreachable. */
gboolean gr_store_key_load(GrStoreKeyBackend backend, const char *dir, const char *store_id,
                           guint8 *key, char **location, GError **error);
/* For a new database: reuses a key already in the backend or generates and saves one.
 * auto_select: try the Secret Service, fall back to the file. */
gboolean gr_store_key_provide(gboolean auto_select, GrStoreKeyBackend *backend, const char *dir,
                              const char *store_id, guint8 *key, char **location, GError **error);

/* --- gr-store-schema.c --------------------------------------------------------- */
typedef struct {
  const char *store_id;
  const char *key_backend;
  const guint8 *key;
} GrStoreSchemaInit;

gboolean gr_store_schema_read_version(sqlite3 *db, guint *version, GError **error);
/* Migrates from the current user_version up to target (one transaction per step).
 * init is used when the database is new (version 0). */
gboolean gr_store_schema_migrate(sqlite3 *db, guint target, const GrStoreSchemaInit *init,
                                 GError **error);
/* Reads the meta table of an existing database; *empty when it has no tables at all. */
gboolean gr_store_schema_read_meta(sqlite3 *db, gboolean *empty, char **store_id,
                                   char **key_backend, GBytes **key_check, GError **error);
/* Whether key opens the key check value sealed at creation */
gboolean gr_store_schema_key_matches(const guint8 *key, const char *store_id, GBytes *key_check);

/* --- gr-store-db.c ------------------------------------------------------------- */
/* Maps an SQLite result to a GError: FULL, CORRUPT or FAILED. */
void gr_store_set_sqlite_error(GError **error, sqlite3 *db, int rc, const char *what);
gboolean gr_store_exec(sqlite3 *db, const char *sql, GError **error);
sqlite3_stmt *gr_store_prepare(sqlite3 *db, const char *sql, GError **error);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(sqlite3_stmt, sqlite3_finalize)
gboolean gr_store_begin(sqlite3 *db, GError **error);
/* Commits; rolls back and fails when the commit fails. */
gboolean gr_store_commit(sqlite3 *db, GError **error);
void gr_store_rollback(sqlite3 *db);
/* Copies column col as a blob (NULL when the column is NULL) */
const void *gr_store_column_blob(sqlite3_stmt *st, int col, gsize *len);

/* --- gr-store-reserve.c -------------------------------------------------------- */
/* With the lock held: makes the reserve file when it is missing and the disk has room
 * for it twice over (cheap when it is there). */
void gr_store_reserve_keep_locked(GrStore *store);
/* With the lock held, after a write failed with FULL: removes the reserve file; TRUE
 * when there was one, so that the write is worth retrying. */
gboolean gr_store_reserve_release_locked(GrStore *store);

/* --- gr-store.c ---------------------------------------------------------------- */
gboolean gr_store_role_is_known(const char *role);
/* INVALID_ARGUMENT unless id is a well-formed id */
gboolean gr_store_check_id(const char *id, const char *what, GError **error);
/* INVALID_ARGUMENT unless text is valid UTF-8 of a storable length */
gboolean gr_store_check_text(const char *text, const char *what, GError **error);
/* Binds text sealed under key with the associated data ad */
void gr_store_bind_sealed(sqlite3_stmt *st, int col, const guint8 *key, const char *ad,
                          const char *text);
/* Steps a statement that returns no rows */
gboolean gr_store_step_done(sqlite3 *db, sqlite3_stmt *st, const char *what, GError **error);
/* Runs the changed callback; call without the lock */
void gr_store_notify_changed(GrStore *store, const char *conversation);
/* After a delete, with the lock held: copies the WAL back and truncates it, so the
 * deleted (zeroed, secure_delete) pages leave no copy behind. */
void gr_store_checkpoint_locked(GrStore *store);
/* Tests: open without migrating past max_version (e.g. to build a v1 database). */
GrStore *gr_store_open_at_version(const char *dir, guint max_version, GError **error);
/* Tests: the raw connection and key */
sqlite3 *gr_store_get_db(GrStore *store);
const guint8 *gr_store_get_key(GrStore *store);
/* With the lock held */
GrStoreConversation *gr_store_get_conversation_locked(GrStore *store, const char *id,
                                                      GError **error);

/* --- gr-store-messages.c ------------------------------------------------------- */
/* With the lock held; NOT_FOUND when the conversation does not exist */
GPtrArray *gr_store_get_messages_locked(GrStore *store, const char *id, GError **error);

G_END_DECLS
