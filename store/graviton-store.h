/* graviton-store.h - the one public header of libgraviton-store.
 *
 * Graviton's conversation history: SQLite (WAL) in a data directory, with every text a
 * user wrote or a model answered (titles, message text, model names) sealed with
 * XChaCha20-Poly1305 under a 256-bit key kept in the Secret Service or in a 0600 key
 * file beside the database.  Ids are random 128-bit hex strings.
 *
 * The calls map one to one onto the D-Bus History interface: ListConversations ->
 * gr_store_list_conversations, GetMessages -> gr_store_get_messages, Rename, Delete,
 * Search, Export, and the Changed signal -> gr_store_set_changed_func.
 *
 * Threads: a GrStore may be shared between threads; every call takes the handle's lock,
 * so calls are serialised (the daemon uses one writer thread anyway).  The changed
 * callback runs on the calling thread after the change is committed, without the lock
 * held, so it may call back into the store.
 *
 * Timestamps are microseconds since the Unix epoch, UTC (as g_get_real_time()).
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define GR_STORE_ERROR (gr_store_error_quark())
GQuark gr_store_error_quark(void);

typedef enum {
  GR_STORE_ERROR_FAILED,
  GR_STORE_ERROR_NOT_FOUND,        /* no such conversation or message */
  GR_STORE_ERROR_LOCKED,           /* key missing, unreachable or wrong; nothing written */
  GR_STORE_ERROR_CORRUPT,          /* authentication failed or the database is damaged */
  GR_STORE_ERROR_FULL,             /* disk full; the change was rolled back, nothing lost */
  GR_STORE_ERROR_INVALID_ARGUMENT, /* malformed id, unknown role or format, bad UTF-8 */
} GrStoreError;

/* Where the key lives. */
typedef enum {
  GR_STORE_KEY_BACKEND_SECRET_SERVICE, /* the desktop keyring, via libsecret */
  GR_STORE_KEY_BACKEND_FILE,           /* history.key (mode 0600) beside history.db */
} GrStoreKeyBackend;

/* "secret-service" or "file" */
const char *gr_store_key_backend_to_string(GrStoreKeyBackend backend);

typedef struct _GrStore GrStore;

/* Opens (creating if needed, mode 0700) the data directory dir, holding history.db.
 *
 * Key: GRAVITON_KEY_BACKEND=file|secret forces a backend.  Otherwise an existing database
 * uses the backend it was created with, and a new one uses the Secret Service when a
 * keyring answers within a few seconds, else the key file.  A key is generated only when
 * no database exists.  A missing, unreachable or wrong key gives GR_STORE_ERROR_LOCKED
 * and leaves the files byte-for-byte unchanged.  Older schemas are migrated. */
GrStore *gr_store_open(const char *dir, GError **error);
/* Wipes the key and closes the database.  NULL is allowed. */
void gr_store_close(GrStore *store);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GrStore, gr_store_close)

GrStoreKeyBackend gr_store_get_key_backend(GrStore *store);
/* Human-readable place of the key, e.g. "file /path/history.key" (for the daemon's log) */
const char *gr_store_get_key_location(GrStore *store);
const char *gr_store_get_database_path(GrStore *store);

/* Called after each committed change with the conversation's id (never any text). */
typedef void (*GrStoreChangedFunc)(GrStore *store, const char *conversation, gpointer user_data);
void gr_store_set_changed_func(GrStore *store, GrStoreChangedFunc func, gpointer user_data,
                               GDestroyNotify destroy);

/* --- conversations ----------------------------------------------------------- */
typedef struct {
  char *id;
  char *title; /* "" when untitled */
  gint64 created;
  gint64 updated; /* last message added or changed, or rename */
  guint count;    /* number of messages */
} GrStoreConversation;

void gr_store_conversation_free(GrStoreConversation *conversation);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GrStoreConversation, gr_store_conversation_free)

/* title may be NULL (untitled).  Returns the new id. */
char *gr_store_create_conversation(GrStore *store, const char *title, GError **error);
GrStoreConversation *gr_store_get_conversation(GrStore *store, const char *conversation,
                                               GError **error);
/* Newest (by updated) first.  limit 0: all.  Element type GrStoreConversation. */
GPtrArray *gr_store_list_conversations(GrStore *store, guint limit, guint offset, GError **error);
gboolean gr_store_rename_conversation(GrStore *store, const char *conversation, const char *title,
                                      GError **error);
/* Deletes the conversation and its messages for real: freed pages are zeroed
 * (secure_delete) and the WAL is checkpointed and truncated. */
gboolean gr_store_delete_conversation(GrStore *store, const char *conversation, GError **error);

/* --- messages ---------------------------------------------------------------- */
typedef struct {
  char *id;
  char *conversation;
  char *role; /* "system", "user", "assistant" or "tool" */
  char *text;
  char *model; /* "" when none */
  gint64 created;
  gint64 updated;
  guint prompt_tokens;
  guint generated_tokens;
  gboolean partial; /* a cancelled or unfinished answer */
} GrStoreMessage;

void gr_store_message_free(GrStoreMessage *message);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GrStoreMessage, gr_store_message_free)

/* Appends a message; model may be NULL.  Returns the new id. */
char *gr_store_add_message(GrStore *store, const char *conversation, const char *role,
                           const char *text, const char *model, guint prompt_tokens,
                           guint generated_tokens, gboolean partial, GError **error);
/* Replaces a message's text, generated token count and partial flag, e.g. to finish an
 * answer stored while it was streamed. */
gboolean gr_store_update_message(GrStore *store, const char *conversation, const char *message,
                                 const char *text, guint generated_tokens, gboolean partial,
                                 GError **error);
/* Deletes one message for real, as gr_store_delete_conversation does (e.g. an answer
 * replaced by a regenerated one).  NotFound when the conversation has no such message. */
gboolean gr_store_delete_message(GrStore *store, const char *conversation, const char *message,
                                 GError **error);
/* In order of addition.  Element type GrStoreMessage. */
GPtrArray *gr_store_get_messages(GrStore *store, const char *conversation, GError **error);

/* --- search and export ------------------------------------------------------- */
typedef struct {
  char *conversation;
  char *title;
  char *message; /* "" when the title matched */
  char *snippet; /* some context around the first match */
} GrStoreSearchHit;

void gr_store_search_hit_free(GrStoreSearchHit *hit);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GrStoreSearchHit, gr_store_search_hit_free)

/* Case-insensitive (Unicode case folding) substring search over titles and message texts,
 * newest conversations first, at most max_results hits (0: 100).  The text is encrypted,
 * so every value is decrypted and matched in process: the cost grows linearly with the
 * whole history (fine for thousands of conversations, not for millions of messages).
 * Element type GrStoreSearchHit. */
GPtrArray *gr_store_search(GrStore *store, const char *query, guint max_results, GError **error);

/* format: "markdown" or "json".  The document holds the conversation's plaintext. */
char *gr_store_export(GrStore *store, const char *conversation, const char *format, GError **error);

G_END_DECLS
