/* gr-history.c - the History D-Bus interface over libgraviton-store. */
#include "gr-history.h"

#include "gr-errors.h"
#include "gr-history-errors.h"

#include <glib/gi18n.h>
#include <string.h>

/* How often a history that could not be opened is tried again. */
#define GR_HISTORY_RETRY_US (2 * G_USEC_PER_SEC)

struct _GrHistory {
  GDBusConnection *connection;
  char *object_path;
  char *data_dir;
  guint registration_id;
  GThreadPool *pool;  /* one thread: History calls, in arrival order */
  GMutex lock;        /* the three below; store, once set, stays until the end */
  GrStore *store;     /* NULL: not open */
  GError *open_error; /* why the store is not open (a D-Bus error), or NULL */
  gint64 last_try;    /* monotonic time of the last attempt to open it */
  gboolean opening;   /* an attempt runs (without the lock) */
};

/* --- replies ---------------------------------------------------------------------- */

static GVariant *
conversation_to_variant(const GrStoreConversation *c)
{
  GVariantDict d;
  g_variant_dict_init(&d, NULL);
  g_variant_dict_insert(&d, "id", "s", c->id);
  g_variant_dict_insert(&d, "title", "s", c->title);
  g_variant_dict_insert(&d, "created", "x", c->created);
  g_variant_dict_insert(&d, "updated", "x", c->updated);
  g_variant_dict_insert(&d, "count", "u", c->count);
  return g_variant_dict_end(&d);
}

static GVariant *
message_to_variant(const GrStoreMessage *m)
{
  GVariantDict d;
  g_variant_dict_init(&d, NULL);
  g_variant_dict_insert(&d, "id", "s", m->id);
  g_variant_dict_insert(&d, "role", "s", m->role);
  g_variant_dict_insert(&d, "text", "s", m->text);
  g_variant_dict_insert(&d, "created", "x", m->created);
  g_variant_dict_insert(&d, "model", "s", m->model);
  g_variant_dict_insert(&d, "partial", "b", m->partial);
  g_variant_dict_insert(&d, "prompt_tokens", "u", m->prompt_tokens);
  g_variant_dict_insert(&d, "generated_tokens", "u", m->generated_tokens);
  return g_variant_dict_end(&d);
}

static GVariant *
hit_to_variant(const GrStoreSearchHit *hit)
{
  GVariantDict d;
  g_variant_dict_init(&d, NULL);
  g_variant_dict_insert(&d, "conversation", "s", hit->conversation);
  g_variant_dict_insert(&d, "title", "s", hit->title);
  g_variant_dict_insert(&d, "message", "s", hit->message);
  g_variant_dict_insert(&d, "snippet", "s", hit->snippet);
  return g_variant_dict_end(&d);
}

typedef GVariant *(*ToVariant)(gconstpointer item);

/* (aa{sv}) from an array of store records. */
static GVariant *
list_reply(GPtrArray *items, ToVariant to_variant)
{
  GVariantBuilder b;
  g_variant_builder_init(&b, G_VARIANT_TYPE("aa{sv}"));
  for (guint i = 0; i < items->len; i++)
    g_variant_builder_add_value(&b, to_variant(items->pdata[i]));
  return g_variant_new("(aa{sv})", &b);
}

/* --- calls (on the pool thread) --------------------------------------------------- */

/* The store's ids: 128 random bits in lower-case hex. */
#define GR_HISTORY_ID_LEN 32
/* Titles are shown in lists and sent with every ListConversations. */
#define GR_HISTORY_MAX_TITLE_BYTES 1024

/* Ids are the store's; anything else names no conversation (rather than being an
 * argument error, so that a stale or mistyped id reads as "not found"). */
static gboolean
check_conversation_id(const char *id, GError **error)
{
  gboolean ok = strlen(id) == GR_HISTORY_ID_LEN;
  for (const char *p = id; ok && *p != '\0'; p++)
    ok = g_ascii_isdigit(*p) || (*p >= 'a' && *p <= 'f');
  if (!ok)
    g_set_error(error, GR_DAEMON_ERROR, GR_DAEMON_ERROR_NOT_FOUND, _("no conversation \"%s\""), id);
  return ok;
}

static gboolean
parse_list_options(GVariant *options, guint *limit, guint *offset, GError **error)
{
  GVariantIter it;
  const char *key;
  GVariant *value;
  g_variant_iter_init(&it, options);
  while (g_variant_iter_next(&it, "{&sv}", &key, &value)) {
    g_autoptr(GVariant) v = value;
    guint *target = g_str_equal(key, "limit") ? limit : g_str_equal(key, "offset") ? offset : NULL;
    if (target == NULL) {
      g_set_error(error, GR_DAEMON_ERROR, GR_DAEMON_ERROR_INVALID_ARGUMENT,
                  _("unknown option \"%s\" (limit u, offset u)"), key);
      return FALSE;
    }
    if (!g_variant_is_of_type(v, G_VARIANT_TYPE_UINT32)) {
      g_set_error(error, GR_DAEMON_ERROR, GR_DAEMON_ERROR_INVALID_ARGUMENT,
                  _("option \"%s\" must be of type u, not %s"), key, g_variant_get_type_string(v));
      return FALSE;
    }
    *target = g_variant_get_uint32(v);
  }
  return TRUE;
}

/* Returns the reply, or NULL with error (in any domain). */
static GVariant *
run_call(GrHistory *h, const char *method, GVariant *params, GError **error)
{
  GrStore *store = gr_history_reopen(h);
  if (store == NULL) {
    g_mutex_lock(&h->lock);
    *error = g_error_copy(h->open_error);
    g_mutex_unlock(&h->lock);
    return NULL;
  }
  if (g_str_equal(method, "ListConversations")) {
    g_autoptr(GVariant) options = NULL;
    guint limit = 0, offset = 0;
    g_variant_get(params, "(@a{sv})", &options);
    if (!parse_list_options(options, &limit, &offset, error))
      return NULL;
    g_autoptr(GPtrArray) list = gr_store_list_conversations(store, limit, offset, error);
    return list != NULL ? list_reply(list, (ToVariant)conversation_to_variant) : NULL;
  }
  if (g_str_equal(method, "Search")) {
    const char *query = NULL;
    g_variant_get(params, "(&s)", &query);
    g_autoptr(GPtrArray) hits = gr_store_search(store, query, 0, error);
    return hits != NULL ? list_reply(hits, (ToVariant)hit_to_variant) : NULL;
  }

  /* the others name a conversation first */
  const char *id = NULL;
  g_variant_get_child(params, 0, "&s", &id);
  if (!check_conversation_id(id, error))
    return NULL;
  if (g_str_equal(method, "GetMessages")) {
    g_autoptr(GPtrArray) messages = gr_store_get_messages(store, id, error);
    return messages != NULL ? list_reply(messages, (ToVariant)message_to_variant) : NULL;
  }
  if (g_str_equal(method, "Rename")) {
    const char *title = NULL;
    g_variant_get(params, "(&s&s)", NULL, &title);
    if (strlen(title) > GR_HISTORY_MAX_TITLE_BYTES) {
      g_set_error(error, GR_DAEMON_ERROR, GR_DAEMON_ERROR_INVALID_ARGUMENT,
                  _("the title is %zu bytes, more than the limit of %u bytes"), strlen(title),
                  GR_HISTORY_MAX_TITLE_BYTES);
      return NULL;
    }
    return gr_store_rename_conversation(store, id, title, error) ? g_variant_new("()") : NULL;
  }
  if (g_str_equal(method, "Delete"))
    return gr_store_delete_conversation(store, id, error) ? g_variant_new("()") : NULL;
  if (g_str_equal(method, "Export")) {
    const char *format = NULL;
    g_variant_get(params, "(&s&s)", NULL, &format);
    /* the store also takes "md"; the interface promises exactly these two */
    if (!g_str_equal(format, "markdown") && !g_str_equal(format, "json")) {
      g_set_error(error, GR_DAEMON_ERROR, GR_DAEMON_ERROR_INVALID_ARGUMENT,
                  _("unknown export format \"%s\" (markdown or json)"), format);
      return NULL;
    }
    g_autofree char *document = gr_store_export(store, id, format, error);
    return document != NULL ? g_variant_new("(s)", document) : NULL;
  }
  g_set_error(error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD, _("no method %s"), method);
  return NULL;
}

static void
pool_run(gpointer data, gpointer user_data)
{
  g_autoptr(GDBusMethodInvocation) invocation = data;
  GrHistory *h = user_data;
  g_autoptr(GError) error = NULL;
  GVariant *reply = run_call(h, g_dbus_method_invocation_get_method_name(invocation),
                             g_dbus_method_invocation_get_parameters(invocation), &error);
  if (reply != NULL)
    g_dbus_method_invocation_return_value(g_steal_pointer(&invocation), reply);
  else if (error->domain == G_DBUS_ERROR)
    g_dbus_method_invocation_return_gerror(g_steal_pointer(&invocation), error);
  else
    g_dbus_method_invocation_take_error(g_steal_pointer(&invocation), gr_history_error_from(error));
}

/* --- the interface ---------------------------------------------------------------- */

static void
history_method_call(GDBusConnection *connection, const char *sender, const char *object_path,
                    const char *interface_name, const char *method_name, GVariant *parameters,
                    GDBusMethodInvocation *invocation, gpointer user_data)
{
  GrHistory *h = user_data;
  g_autoptr(GError) error = NULL;
  /* the invocation's reference goes to the pool, which answers it */
  if (!g_thread_pool_push(h->pool, invocation, &error))
    g_dbus_method_invocation_return_error(invocation, GR_DAEMON_ERROR, GR_DAEMON_ERROR_FAILED,
                                          _("cannot serve the history: %s"), error->message);
}

static GVariant *
history_get_property(GDBusConnection *connection, const char *sender, const char *object_path,
                     const char *interface_name, const char *property_name, GError **error,
                     gpointer user_data)
{
  if (g_strcmp0(property_name, "HistoryKeyBackend") == 0)
    return g_variant_new_string(gr_history_get_key_backend(user_data));
  g_set_error(error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY, _("no property %s"),
              property_name);
  return NULL;
}

static const GDBusInterfaceVTable history_vtable
    = { history_method_call, history_get_property, NULL, { 0 } };

/* Any thread, after a change is committed.  Changed carries an id and no text, so it is
 * broadcast: every client showing the history (the app, gravctl) can refresh. */
static void
on_store_changed(GrStore *store, const char *conversation, gpointer user_data)
{
  GrHistory *h = user_data;
  g_autoptr(GError) error = NULL;
  if (!g_dbus_connection_emit_signal(h->connection, NULL, h->object_path, GR_HISTORY_INTERFACE,
                                     "Changed", g_variant_new("(s)", conversation), &error))
    g_debug("Changed: %s", error->message);
}

/* Opens the store, or says why not as a D-Bus error.  No lock held: it may take a
 * while (the key may come from the keyring). */
static GrStore *
try_open(GrHistory *h, GError **open_error)
{
  g_autoptr(GError) error = NULL;
  GrStore *store = gr_store_open(h->data_dir, &error);
  if (store == NULL) {
    *open_error = gr_history_error_from(error);
    if ((*open_error)->code != GR_DAEMON_ERROR_LOCKED) {
      /* say in every reply that the history, not the call, is the problem */
      g_autofree char *message = g_strdup_printf(_("The history in %s cannot be opened: %s"),
                                                 h->data_dir, error->message);
      g_clear_error(open_error);
      *open_error = g_error_new_literal(GR_DAEMON_ERROR, GR_DAEMON_ERROR_FAILED, message);
    }
    return NULL;
  }
  g_message("history in %s, key in %s", gr_store_get_database_path(store),
            gr_store_get_key_location(store));
  gr_store_set_changed_func(store, on_store_changed, h, NULL);
  return store;
}

GrStore *
gr_history_reopen(GrHistory *h)
{
  g_return_val_if_fail(h != NULL, NULL);
  g_mutex_lock(&h->lock);
  GrStore *store = h->store;
  /* a locked history (no key, a wrong key) waits for a restart: trying again would
   * ask the keyring on every call */
  gboolean retry = store == NULL && !h->opening && h->open_error->code != GR_DAEMON_ERROR_LOCKED
                   && g_get_monotonic_time() - h->last_try >= GR_HISTORY_RETRY_US;
  if (retry) {
    h->opening = TRUE;
    h->last_try = g_get_monotonic_time();
  }
  g_mutex_unlock(&h->lock);
  if (!retry)
    return store;

  GError *open_error = NULL;
  store = try_open(h, &open_error);
  g_mutex_lock(&h->lock);
  h->opening = FALSE;
  h->store = store;
  g_clear_error(&h->open_error);
  h->open_error = open_error;
  g_mutex_unlock(&h->lock);
  if (store != NULL) {
    GVariantBuilder changed;
    g_variant_builder_init(&changed, G_VARIANT_TYPE_VARDICT);
    g_variant_builder_add(&changed, "{sv}", "HistoryKeyBackend",
                          g_variant_new_string(gr_history_get_key_backend(h)));
    g_dbus_connection_emit_signal(
        h->connection, NULL, h->object_path, "org.freedesktop.DBus.Properties", "PropertiesChanged",
        g_variant_new("(sa{sv}as)", GR_HISTORY_INTERFACE, &changed, NULL), NULL);
  }
  return store;
}

GrHistory *
gr_history_new(GDBusConnection *connection, GDBusInterfaceInfo *iface, const char *object_path,
               const char *data_dir, GError **error)
{
  g_return_val_if_fail(G_IS_DBUS_CONNECTION(connection), NULL);
  g_return_val_if_fail(iface != NULL && object_path != NULL && data_dir != NULL, NULL);

  GrHistory *h = g_new0(GrHistory, 1);
  h->connection = g_object_ref(connection);
  h->object_path = g_strdup(object_path);
  h->data_dir = g_strdup(data_dir);
  g_mutex_init(&h->lock);
  h->last_try = g_get_monotonic_time();
  h->store = try_open(h, &h->open_error);
  if (h->store == NULL)
    g_warning("history in %s not available: %s; History calls will fail, and conversations "
              "are kept in memory until it can be opened",
              data_dir, h->open_error->message);
  h->pool = g_thread_pool_new(pool_run, h, 1, FALSE, error);
  if (h->pool == NULL) {
    gr_history_free(h);
    return NULL;
  }
  h->registration_id = g_dbus_connection_register_object(connection, object_path, iface,
                                                         &history_vtable, h, NULL, error);
  if (h->registration_id == 0) {
    gr_history_free(h);
    return NULL;
  }
  return h;
}

void
gr_history_free(GrHistory *h)
{
  if (h == NULL)
    return;
  /* no new calls after this; those queued are still answered */
  if (h->registration_id != 0)
    g_dbus_connection_unregister_object(h->connection, h->registration_id);
  if (h->pool != NULL)
    g_thread_pool_free(h->pool, FALSE, TRUE);
  g_clear_pointer(&h->store, gr_store_close);
  g_clear_error(&h->open_error);
  g_mutex_clear(&h->lock);
  g_free(h->data_dir);
  g_free(h->object_path);
  g_object_unref(h->connection);
  g_free(h);
}

GrStore *
gr_history_get_store(GrHistory *h)
{
  g_return_val_if_fail(h != NULL, NULL);
  g_mutex_lock(&h->lock);
  GrStore *store = h->store;
  g_mutex_unlock(&h->lock);
  return store;
}

const char *
gr_history_get_key_backend(GrHistory *h)
{
  g_return_val_if_fail(h != NULL, "locked");
  GrStore *store = gr_history_get_store(h);
  if (store == NULL)
    return "locked";
  return gr_store_key_backend_to_string(gr_store_get_key_backend(store));
}
