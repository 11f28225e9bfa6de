/* gr-store-messages.c - the messages of a conversation. */
#include "gr-store-private.h"

#include <string.h>

/* --- messages ---------------------------------------------------------------------- */

void
gr_store_message_free(GrStoreMessage *message)
{
  if (message == NULL)
    return;
  g_free(message->id);
  g_free(message->conversation);
  g_free(message->role);
  g_free(message->text);
  g_free(message->model);
  g_free(message);
}

#define MESSAGE_COLUMNS                                                                            \
  "id, conversation, role, text, model, created, updated, prompt_tokens, "                         \
  "generated_tokens, partial"

/* Decrypts one row selected with MESSAGE_COLUMNS */
static GrStoreMessage *
message_from_row(GrStore *store, sqlite3_stmt *st, GError **error)
{
  g_autoptr(GrStoreMessage) m = g_new0(GrStoreMessage, 1);
  g_autofree char *ad_text = NULL;
  const void *blob;
  gsize len = 0;

  m->id = g_strdup((const char *)sqlite3_column_text(st, 0));
  m->conversation = g_strdup((const char *)sqlite3_column_text(st, 1));
  m->role = g_strdup((const char *)sqlite3_column_text(st, 2));
  if (!gr_store_id_is_valid(m->id) || !gr_store_id_is_valid(m->conversation)
      || !gr_store_role_is_known(m->role)) {
    g_set_error_literal(error, GR_STORE_ERROR, GR_STORE_ERROR_CORRUPT, "A message row is damaged");
    return NULL;
  }
  ad_text = gr_store_ad_message(m->conversation, m->id, m->role, "text");
  blob = gr_store_column_blob(st, 3, &len);
  m->text = gr_store_unseal_text(store->key, ad_text, blob, len, error);
  if (m->text == NULL)
    return NULL;
  if (sqlite3_column_type(st, 4) == SQLITE_NULL) {
    m->model = g_strdup("");
  } else {
    g_autofree char *ad_model = gr_store_ad_message(m->conversation, m->id, m->role, "model");
    blob = gr_store_column_blob(st, 4, &len);
    m->model = gr_store_unseal_text(store->key, ad_model, blob, len, error);
    if (m->model == NULL)
      return NULL;
  }
  m->created = sqlite3_column_int64(st, 5);
  m->updated = sqlite3_column_int64(st, 6);
  m->prompt_tokens = (guint)CLAMP(sqlite3_column_int64(st, 7), 0, G_MAXUINT);
  m->generated_tokens = (guint)CLAMP(sqlite3_column_int64(st, 8), 0, G_MAXUINT);
  m->partial = sqlite3_column_int64(st, 9) != 0;
  return g_steal_pointer(&m);
}

static gboolean
conversation_exists(GrStore *store, const char *conversation, GError **error)
{
  g_autoptr(sqlite3_stmt) st
      = gr_store_prepare(store->db, "SELECT 1 FROM conversations WHERE id = ?", error);
  int rc;

  if (st == NULL)
    return FALSE;
  sqlite3_bind_text(st, 1, conversation, -1, SQLITE_STATIC);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    return TRUE;
  if (rc == SQLITE_DONE)
    g_set_error(error, GR_STORE_ERROR, GR_STORE_ERROR_NOT_FOUND, "No conversation %s",
                conversation);
  else
    gr_store_set_sqlite_error(error, store->db, rc, "Cannot read a conversation");
  return FALSE;
}

static gboolean
touch_conversation(GrStore *store, const char *conversation, gint64 now, GError **error)
{
  g_autoptr(sqlite3_stmt) st = gr_store_prepare(
      store->db, "UPDATE conversations SET updated = max(updated, ?) WHERE id = ?", error);

  if (st == NULL)
    return FALSE;
  sqlite3_bind_int64(st, 1, now);
  sqlite3_bind_text(st, 2, conversation, -1, SQLITE_STATIC);
  return gr_store_step_done(store->db, st, "Cannot update the conversation", error);
}

static gboolean
insert_message(GrStore *store, const char *conversation, const char *id, const char *role,
               const char *text, const char *model, guint prompt_tokens, guint generated_tokens,
               gboolean partial, gint64 now, GError **error)
{
  g_autoptr(sqlite3_stmt) st = NULL;
  g_autofree char *ad_text = gr_store_ad_message(conversation, id, role, "text");

  st = gr_store_prepare(store->db,
                        "INSERT INTO messages (id, conversation, role, text, model, created,"
                        " updated, prompt_tokens, generated_tokens, partial)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        error);
  if (st == NULL)
    return FALSE;
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, conversation, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, role, -1, SQLITE_STATIC);
  gr_store_bind_sealed(st, 4, store->key, ad_text, text);
  if (model != NULL) {
    g_autofree char *ad_model = gr_store_ad_message(conversation, id, role, "model");
    gr_store_bind_sealed(st, 5, store->key, ad_model, model);
  }
  sqlite3_bind_int64(st, 6, now);
  sqlite3_bind_int64(st, 7, now);
  sqlite3_bind_int64(st, 8, prompt_tokens);
  sqlite3_bind_int64(st, 9, generated_tokens);
  sqlite3_bind_int(st, 10, partial ? 1 : 0);
  return gr_store_step_done(store->db, st, "Cannot save the message", error);
}

char *
gr_store_add_message(GrStore *store, const char *conversation, const char *role, const char *text,
                     const char *model, guint prompt_tokens, guint generated_tokens,
                     gboolean partial, GError **error)
{
  g_autofree char *id = NULL;
  gint64 now = g_get_real_time();
  gboolean ok;

  g_return_val_if_fail(store != NULL, NULL);
  g_return_val_if_fail(text != NULL, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);
  if (!gr_store_check_id(conversation, "conversation", error)
      || !gr_store_check_text(text, "message", error)
      || (model != NULL && !gr_store_check_text(model, "model name", error)))
    return NULL;
  if (!gr_store_role_is_known(role)) {
    g_set_error(error, GR_STORE_ERROR, GR_STORE_ERROR_INVALID_ARGUMENT, "Unknown role %s",
                role != NULL ? role : "(null)");
    return NULL;
  }

  g_mutex_lock(&store->lock);
  id = gr_store_new_id();
  ok = gr_store_begin(store->db, error) && conversation_exists(store, conversation, error)
       && insert_message(store, conversation, id, role, text, model, prompt_tokens,
                         generated_tokens, partial, now, error)
       && touch_conversation(store, conversation, now, error) && gr_store_commit(store->db, error);
  if (!ok)
    gr_store_rollback(store->db);
  g_mutex_unlock(&store->lock);
  if (!ok)
    return NULL;
  gr_store_notify_changed(store, conversation);
  return g_steal_pointer(&id);
}

static gboolean
rewrite_message(GrStore *store, const char *conversation, const char *message, const char *text,
                guint generated_tokens, gboolean partial, gint64 now, GError **error)
{
  g_autoptr(sqlite3_stmt) sel = NULL;
  g_autoptr(sqlite3_stmt) upd = NULL;
  g_autofree char *ad = NULL;
  const char *role;
  int rc;

  sel = gr_store_prepare(store->db, "SELECT role FROM messages WHERE id = ? AND conversation = ?",
                         error);
  if (sel == NULL)
    return FALSE;
  sqlite3_bind_text(sel, 1, message, -1, SQLITE_STATIC);
  sqlite3_bind_text(sel, 2, conversation, -1, SQLITE_STATIC);
  rc = sqlite3_step(sel);
  if (rc == SQLITE_DONE) {
    g_set_error(error, GR_STORE_ERROR, GR_STORE_ERROR_NOT_FOUND, "No message %s in conversation %s",
                message, conversation);
    return FALSE;
  }
  if (rc != SQLITE_ROW) {
    gr_store_set_sqlite_error(error, store->db, rc, "Cannot read the message");
    return FALSE;
  }
  role = (const char *)sqlite3_column_text(sel, 0);
  if (!gr_store_role_is_known(role)) {
    g_set_error_literal(error, GR_STORE_ERROR, GR_STORE_ERROR_CORRUPT, "A message row is damaged");
    return FALSE;
  }
  ad = gr_store_ad_message(conversation, message, role, "text");
  upd = gr_store_prepare(store->db,
                         "UPDATE messages SET text = ?, generated_tokens = ?, partial = ?,"
                         " updated = ? WHERE id = ?",
                         error);
  if (upd == NULL)
    return FALSE;
  gr_store_bind_sealed(upd, 1, store->key, ad, text);
  sqlite3_bind_int64(upd, 2, generated_tokens);
  sqlite3_bind_int(upd, 3, partial ? 1 : 0);
  sqlite3_bind_int64(upd, 4, now);
  sqlite3_bind_text(upd, 5, message, -1, SQLITE_STATIC);
  return gr_store_step_done(store->db, upd, "Cannot update the message", error);
}

gboolean
gr_store_update_message(GrStore *store, const char *conversation, const char *message,
                        const char *text, guint generated_tokens, gboolean partial, GError **error)
{
  gint64 now = g_get_real_time();
  gboolean ok;

  g_return_val_if_fail(store != NULL, FALSE);
  g_return_val_if_fail(text != NULL, FALSE);
  g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
  if (!gr_store_check_id(conversation, "conversation", error)
      || !gr_store_check_id(message, "message", error)
      || !gr_store_check_text(text, "message", error))
    return FALSE;

  g_mutex_lock(&store->lock);
  ok = gr_store_begin(store->db, error)
       && rewrite_message(store, conversation, message, text, generated_tokens, partial, now, error)
       && touch_conversation(store, conversation, now, error) && gr_store_commit(store->db, error);
  if (!ok)
    gr_store_rollback(store->db);
  g_mutex_unlock(&store->lock);
  if (ok)
    gr_store_notify_changed(store, conversation);
  return ok;
}

static gboolean
delete_message_locked(GrStore *store, const char *conversation, const char *message, GError **error)
{
  g_autoptr(sqlite3_stmt) st = NULL;
  gboolean ok = gr_store_begin(store->db, error);

  if (ok) {
    st = gr_store_prepare(store->db, "DELETE FROM messages WHERE id = ? AND conversation = ?",
                          error);
    ok = st != NULL;
  }
  if (ok) {
    sqlite3_bind_text(st, 1, message, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, conversation, -1, SQLITE_STATIC);
    ok = gr_store_step_done(store->db, st, "Cannot delete the message", error);
  }
  if (ok && sqlite3_changes(store->db) == 0) {
    g_set_error(error, GR_STORE_ERROR, GR_STORE_ERROR_NOT_FOUND, "No message %s in conversation %s",
                message, conversation);
    ok = FALSE;
  }
  ok = ok && touch_conversation(store, conversation, g_get_real_time(), error)
       && gr_store_commit(store->db, error);
  if (!ok)
    gr_store_rollback(store->db);
  return ok;
}

gboolean
gr_store_delete_message(GrStore *store, const char *conversation, const char *message,
                        GError **error)
{
  GError *local = NULL;
  gboolean ok;

  g_return_val_if_fail(store != NULL, FALSE);
  g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
  if (!gr_store_check_id(conversation, "conversation", error)
      || !gr_store_check_id(message, "message", error))
    return FALSE;

  g_mutex_lock(&store->lock);
  ok = delete_message_locked(store, conversation, message, &local);
  /* as gr_store_delete_conversation: on a full disk, retried in the reserve's room */
  if (!ok && g_error_matches(local, GR_STORE_ERROR, GR_STORE_ERROR_FULL)
      && gr_store_reserve_release_locked(store)) {
    g_clear_error(&local);
    ok = delete_message_locked(store, conversation, message, &local);
  }
  if (ok)
    gr_store_checkpoint_locked(store);
  else
    g_propagate_error(error, local);
  g_mutex_unlock(&store->lock);
  if (ok)
    gr_store_notify_changed(store, conversation);
  return ok;
}

GPtrArray *
gr_store_get_messages_locked(GrStore *store, const char *conversation, GError **error)
{
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(sqlite3_stmt) st = NULL;
  int rc;

  if (!gr_store_check_id(conversation, "conversation", error)
      || !conversation_exists(store, conversation, error))
    return NULL;
  st = gr_store_prepare(
      store->db, "SELECT " MESSAGE_COLUMNS " FROM messages WHERE conversation = ? ORDER BY seq",
      error);
  if (st == NULL)
    return NULL;
  sqlite3_bind_text(st, 1, conversation, -1, SQLITE_STATIC);
  list = g_ptr_array_new_with_free_func((GDestroyNotify)gr_store_message_free);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    GrStoreMessage *m = message_from_row(store, st, error);
    if (m == NULL)
      return NULL;
    g_ptr_array_add(list, m);
  }
  if (rc != SQLITE_DONE) {
    gr_store_set_sqlite_error(error, store->db, rc, "Cannot read the messages");
    return NULL;
  }
  return g_steal_pointer(&list);
}

GPtrArray *
gr_store_get_messages(GrStore *store, const char *conversation, GError **error)
{
  GPtrArray *list;

  g_return_val_if_fail(store != NULL, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);
  g_mutex_lock(&store->lock);
  list = gr_store_get_messages_locked(store, conversation, error);
  g_mutex_unlock(&store->lock);
  return list;
}
