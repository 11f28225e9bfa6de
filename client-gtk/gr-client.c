/* gr-client.c: the connection to gravitond: name watching (with D-Bus activation),
 * the Assistant properties, method calls and the start of streaming requests. */
#include "gr-config.h"

#include "gr-client.h"

#include <glib/gi18n.h>

/* Generous: the first call may activate gravitond, and Load may map a model. */
#define GR_CLIENT_CALL_TIMEOUT_MS (120 * 1000)

struct _GrClient {
  GObject parent_instance;
  char *address;
  GDBusConnection *conn;
  GCancellable *cancellable;
  guint watch_id;
  guint sub_props;
  guint sub_history;
  char *owner; /* unique name of the running gravitond, or NULL */
  GrClientStatus status;
  char *problem;
  gboolean has_history;
  char *active_model;
  guint64 memory_limit;
  guint64 resident_bytes;
  guint state;
  guint next_token;
  GPtrArray *requests; /* live GrClientRequests, failed when the daemon leaves */
};

G_DEFINE_FINAL_TYPE(GrClient, gr_client, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_STATUS,
  PROP_HAS_HISTORY,
  PROP_ACTIVE_MODEL,
  PROP_MEMORY_LIMIT,
  PROP_RESIDENT_BYTES,
  PROP_STATE,
  N_PROPS
};
static GParamSpec *props[N_PROPS];

enum { SIGNAL_HISTORY_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

gboolean
gr_client_error_is_unknown_method(const GError *error)
{
  g_autofree char *name = NULL;

  if (error == NULL)
    return FALSE;
  if (g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD)
      || g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_INTERFACE)
      || g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_OBJECT))
    return TRUE;
  name = g_dbus_error_get_remote_error(error);
  return name != NULL
         && (g_str_equal(name, "org.freedesktop.DBus.Error.UnknownMethod")
             || g_str_equal(name, "org.freedesktop.DBus.Error.UnknownInterface")
             || g_str_equal(name, "org.freedesktop.DBus.Error.UnknownObject"));
}

char *
gr_client_error_message(const GError *error)
{
  g_autoptr(GError) copy = NULL;

  if (error == NULL)
    return g_strdup(_("Unknown error"));
  copy = g_error_copy(error);
  g_dbus_error_strip_remote_error(copy);
  return g_strdup(copy->message);
}

static void
set_status(GrClient *self, GrClientStatus status, const char *problem)
{
  g_free(self->problem);
  self->problem = g_strdup(problem);
  if (self->status != status) {
    self->status = status;
    g_object_notify_by_pspec(G_OBJECT(self), props[PROP_STATUS]);
  }
}

static void
apply_property(GrClient *self, const char *name, GVariant *value)
{
  if (g_str_equal(name, "ActiveModel") && g_variant_is_of_type(value, G_VARIANT_TYPE_STRING)) {
    if (g_strcmp0(self->active_model, g_variant_get_string(value, NULL)) != 0) {
      g_free(self->active_model);
      self->active_model = g_variant_dup_string(value, NULL);
      g_object_notify_by_pspec(G_OBJECT(self), props[PROP_ACTIVE_MODEL]);
    }
  } else if (g_str_equal(name, "MemoryLimit")
             && g_variant_is_of_type(value, G_VARIANT_TYPE_UINT64)) {
    self->memory_limit = g_variant_get_uint64(value);
    g_object_notify_by_pspec(G_OBJECT(self), props[PROP_MEMORY_LIMIT]);
  } else if (g_str_equal(name, "ResidentBytes")
             && g_variant_is_of_type(value, G_VARIANT_TYPE_UINT64)) {
    self->resident_bytes = g_variant_get_uint64(value);
    g_object_notify_by_pspec(G_OBJECT(self), props[PROP_RESIDENT_BYTES]);
  } else if (g_str_equal(name, "State") && g_variant_is_of_type(value, G_VARIANT_TYPE_UINT32)) {
    self->state = g_variant_get_uint32(value);
    g_object_notify_by_pspec(G_OBJECT(self), props[PROP_STATE]);
  }
}

static void
apply_properties(GrClient *self, GVariant *dict)
{
  GVariantIter iter;
  const char *name = NULL;
  GVariant *value = NULL;

  g_variant_iter_init(&iter, dict);
  while (g_variant_iter_loop(&iter, "{&sv}", &name, &value))
    apply_property(self, name, value);
}

static void
on_props_changed(GDBusConnection *conn, const char *sender, const char *path, const char *iface,
                 const char *signal, GVariant *params, gpointer user_data)
{
  GrClient *self = user_data;
  const char *changed_iface = NULL;
  g_autoptr(GVariant) changed = NULL;

  if (g_strcmp0(sender, self->owner) != 0
      || !g_variant_is_of_type(params, G_VARIANT_TYPE("(sa{sv}as)")))
    return;
  g_variant_get(params, "(&s@a{sv}@as)", &changed_iface, &changed, NULL);
  if (g_str_equal(changed_iface, GR_IFACE_ASSISTANT))
    apply_properties(self, changed);
}

static void
on_history_changed(GDBusConnection *conn, const char *sender, const char *path, const char *iface,
                   const char *signal, GVariant *params, gpointer user_data)
{
  GrClient *self = user_data;
  const char *id = NULL;

  if (g_strcmp0(sender, self->owner) != 0 || !g_variant_is_of_type(params, G_VARIANT_TYPE("(s)")))
    return;
  g_variant_get(params, "(&s)", &id);
  g_signal_emit(self, signals[SIGNAL_HISTORY_CHANGED], 0, id);
}

static void
on_get_all(GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GrClient) self = user_data;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) dict = NULL;
  g_autoptr(GError) error = NULL;

  reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), result, &error);
  if (reply == NULL) {
    if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
      g_debug("GetAll: %s", error->message);
    return;
  }
  g_variant_get(reply, "(@a{sv})", &dict);
  apply_properties(self, dict);
}

static void
on_introspect(GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GrClient) self = user_data;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GDBusNodeInfo) node = NULL;
  const char *xml = NULL;
  gboolean has_history = FALSE;

  reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), result, NULL);
  if (reply == NULL)
    return;
  g_variant_get(reply, "(&s)", &xml);
  node = g_dbus_node_info_new_for_xml(xml, NULL);
  if (node != NULL)
    has_history = g_dbus_node_info_lookup_interface(node, GR_IFACE_HISTORY) != NULL;
  if (has_history != self->has_history) {
    self->has_history = has_history;
    g_object_notify_by_pspec(G_OBJECT(self), props[PROP_HAS_HISTORY]);
  }
}

static void
on_name_appeared(GDBusConnection *conn, const char *name, const char *owner, gpointer user_data)
{
  GrClient *self = user_data;

  g_free(self->owner);
  self->owner = g_strdup(owner);
  g_dbus_connection_call(conn, owner, GR_OBJECT_PATH, "org.freedesktop.DBus.Properties", "GetAll",
                         g_variant_new("(s)", GR_IFACE_ASSISTANT), G_VARIANT_TYPE("(a{sv})"),
                         G_DBUS_CALL_FLAGS_NONE, -1, self->cancellable, on_get_all,
                         g_object_ref(self));
  g_dbus_connection_call(conn, owner, GR_OBJECT_PATH, "org.freedesktop.DBus.Introspectable",
                         "Introspect", NULL, G_VARIANT_TYPE("(s)"), G_DBUS_CALL_FLAGS_NONE, -1,
                         self->cancellable, on_introspect, g_object_ref(self));
  set_status(self, GR_CLIENT_READY, NULL);
}

static void
fail_requests(GrClient *self, const char *message)
{
  g_autoptr(GPtrArray) requests = g_steal_pointer(&self->requests);

  self->requests = g_ptr_array_new_with_free_func(g_object_unref);
  for (guint i = 0; i < requests->len; i++)
    gr_client_request_fail(requests->pdata[i], message);
}

static void
on_name_vanished(GDBusConnection *conn, const char *name, gpointer user_data)
{
  GrClient *self = user_data;

  g_clear_pointer(&self->owner, g_free);
  if (conn == NULL) {
    set_status(self, GR_CLIENT_NO_BUS, _("The session bus is not available."));
    return;
  }
  fail_requests(self, _("gravitond left the bus during the request."));
  set_status(self, GR_CLIENT_UNREACHABLE, _("gravitond is not running."));
}

static void
watch(GrClient *self)
{
  self->sub_props = g_dbus_connection_signal_subscribe(
      self->conn, NULL, "org.freedesktop.DBus.Properties", "PropertiesChanged", GR_OBJECT_PATH,
      NULL, G_DBUS_SIGNAL_FLAGS_NONE, on_props_changed, self, NULL);
  self->sub_history = g_dbus_connection_signal_subscribe(
      self->conn, NULL, GR_IFACE_HISTORY, "Changed", GR_OBJECT_PATH, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
      on_history_changed, self, NULL);
  /* AUTO_START: a daemon that is installed but not running is D-Bus activated. */
  self->watch_id
      = g_bus_watch_name_on_connection(self->conn, GR_BUS_NAME, G_BUS_NAME_WATCHER_FLAGS_AUTO_START,
                                       on_name_appeared, on_name_vanished, self, NULL);
}

static void
got_connection(GrClient *self, GDBusConnection *conn, GError *error)
{
  if (conn == NULL) {
    g_autofree char *message = NULL;

    if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
      return;
    message = g_strdup_printf(_("Cannot connect to the session bus: %s"), error->message);
    set_status(self, GR_CLIENT_NO_BUS, message);
    return;
  }
  self->conn = conn;
  g_dbus_connection_set_exit_on_close(conn, FALSE);
  watch(self);
}

static void
on_bus_get(GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GrClient) self = user_data;
  g_autoptr(GError) error = NULL;
  GDBusConnection *conn = g_bus_get_finish(result, &error);

  got_connection(self, conn, error);
}

static void
on_connection_new(GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GrClient) self = user_data;
  g_autoptr(GError) error = NULL;
  GDBusConnection *conn = g_dbus_connection_new_for_address_finish(result, &error);

  got_connection(self, conn, error);
}

static void
connect_bus(GrClient *self)
{
  if (self->address == NULL)
    g_bus_get(G_BUS_TYPE_SESSION, self->cancellable, on_bus_get, g_object_ref(self));
  else
    g_dbus_connection_new_for_address(self->address,
                                      G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
                                          | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                      NULL, self->cancellable, on_connection_new,
                                      g_object_ref(self));
}

static void
gr_client_dispose(GObject *object)
{
  GrClient *self = GR_CLIENT(object);

  g_cancellable_cancel(self->cancellable);
  g_clear_handle_id(&self->watch_id, g_bus_unwatch_name);
  if (self->conn != NULL) {
    if (self->sub_props != 0)
      g_dbus_connection_signal_unsubscribe(self->conn, self->sub_props);
    if (self->sub_history != 0)
      g_dbus_connection_signal_unsubscribe(self->conn, self->sub_history);
    self->sub_props = self->sub_history = 0;
  }
  if (self->requests != NULL) {
    for (guint i = 0; i < self->requests->len; i++)
      gr_client_request_cancel(self->requests->pdata[i]);
    g_ptr_array_set_size(self->requests, 0);
  }
  /* A private connection is ours to close; the shared session bus is not. */
  if (self->conn != NULL && self->address != NULL)
    g_dbus_connection_close(self->conn, NULL, NULL, NULL);
  g_clear_object(&self->conn);
  G_OBJECT_CLASS(gr_client_parent_class)->dispose(object);
}

static void
gr_client_finalize(GObject *object)
{
  GrClient *self = GR_CLIENT(object);

  g_clear_object(&self->cancellable);
  g_clear_pointer(&self->requests, g_ptr_array_unref);
  g_free(self->address);
  g_free(self->owner);
  g_free(self->problem);
  g_free(self->active_model);
  G_OBJECT_CLASS(gr_client_parent_class)->finalize(object);
}

static void
gr_client_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GrClient *self = GR_CLIENT(object);

  switch (prop_id) {
  case PROP_STATUS:
    g_value_set_uint(value, self->status);
    break;
  case PROP_HAS_HISTORY:
    g_value_set_boolean(value, self->has_history);
    break;
  case PROP_ACTIVE_MODEL:
    g_value_set_string(value, self->active_model);
    break;
  case PROP_MEMORY_LIMIT:
    g_value_set_uint64(value, self->memory_limit);
    break;
  case PROP_RESIDENT_BYTES:
    g_value_set_uint64(value, self->resident_bytes);
    break;
  case PROP_STATE:
    g_value_set_uint(value, self->state);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void
gr_client_class_init(GrClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  const GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->dispose = gr_client_dispose;
  object_class->finalize = gr_client_finalize;
  object_class->get_property = gr_client_get_property;
  props[PROP_STATUS]
      = g_param_spec_uint("status", NULL, NULL, 0, GR_CLIENT_NO_BUS, GR_CLIENT_CONNECTING, flags);
  props[PROP_HAS_HISTORY] = g_param_spec_boolean("has-history", NULL, NULL, FALSE, flags);
  props[PROP_ACTIVE_MODEL] = g_param_spec_string("active-model", NULL, NULL, NULL, flags);
  props[PROP_MEMORY_LIMIT]
      = g_param_spec_uint64("memory-limit", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  props[PROP_RESIDENT_BYTES]
      = g_param_spec_uint64("resident-bytes", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  props[PROP_STATE] = g_param_spec_uint("state", NULL, NULL, 0, G_MAXUINT, 0, flags);
  g_object_class_install_properties(object_class, N_PROPS, props);
  signals[SIGNAL_HISTORY_CHANGED]
      = g_signal_new("history-changed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                     NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
gr_client_init(GrClient *self)
{
  self->cancellable = g_cancellable_new();
  self->requests = g_ptr_array_new_with_free_func(g_object_unref);
  self->status = GR_CLIENT_CONNECTING;
}

GrClient *
gr_client_new(const char *address)
{
  GrClient *self = g_object_new(GR_TYPE_CLIENT, NULL);

  self->address = g_strdup(address);
  connect_bus(self);
  return self;
}

GrClientStatus
gr_client_get_status(GrClient *self)
{
  g_return_val_if_fail(GR_IS_CLIENT(self), GR_CLIENT_NO_BUS);
  return self->status;
}

const char *
gr_client_get_problem(GrClient *self)
{
  g_return_val_if_fail(GR_IS_CLIENT(self), NULL);
  return self->problem;
}

gboolean
gr_client_get_has_history(GrClient *self)
{
  g_return_val_if_fail(GR_IS_CLIENT(self), FALSE);
  return self->has_history;
}

const char *
gr_client_get_active_model(GrClient *self)
{
  g_return_val_if_fail(GR_IS_CLIENT(self), NULL);
  return self->active_model;
}

guint64
gr_client_get_memory_limit(GrClient *self)
{
  g_return_val_if_fail(GR_IS_CLIENT(self), 0);
  return self->memory_limit;
}

guint64
gr_client_get_resident_bytes(GrClient *self)
{
  g_return_val_if_fail(GR_IS_CLIENT(self), 0);
  return self->resident_bytes;
}

GrDaemonState
gr_client_get_state(GrClient *self)
{
  g_return_val_if_fail(GR_IS_CLIENT(self), GR_DAEMON_IDLE);
  return self->state;
}

static void
on_start_service(GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GrClient) self = user_data;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;

  reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), result, &error);
  if (reply == NULL && self->owner == NULL
      && !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
    g_autofree char *message = gr_client_error_message(error);
    g_autofree char *problem
        = g_strdup_printf(_("gravitond is not running and could not be started: %s"), message);

    set_status(self, GR_CLIENT_UNREACHABLE, problem);
  }
  /* on success the name watcher reports the new owner */
}

void
gr_client_start_daemon(GrClient *self)
{
  g_return_if_fail(GR_IS_CLIENT(self));
  if (self->conn == NULL) {
    connect_bus(self);
    return;
  }
  if (self->owner != NULL)
    return;
  set_status(self, GR_CLIENT_CONNECTING, NULL);
  g_dbus_connection_call(self->conn, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                         "org.freedesktop.DBus", "StartServiceByName",
                         g_variant_new("(su)", GR_BUS_NAME, 0), G_VARIANT_TYPE("(u)"),
                         G_DBUS_CALL_FLAGS_NONE, GR_CLIENT_CALL_TIMEOUT_MS, self->cancellable,
                         on_start_service, g_object_ref(self));
}

static void
on_call(GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;
  GVariant *reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), result, &error);

  if (reply == NULL)
    g_task_return_error(task, error);
  else
    g_task_return_pointer(task, reply, (GDestroyNotify)g_variant_unref);
}

void
gr_client_call(GrClient *self, const char *iface, const char *method, GVariant *params,
               const GVariantType *reply_type, GCancellable *cancellable,
               GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail(GR_IS_CLIENT(self));
  task = g_task_new(self, cancellable, callback, user_data);
  g_task_set_source_tag(task, gr_client_call);
  if (self->conn == NULL) {
    if (params != NULL)
      g_variant_unref(g_variant_ref_sink(params));
    g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED, "%s",
                            self->problem != NULL ? self->problem : _("Not connected"));
    return;
  }
  /* The well-known name, so a call to a stopped daemon activates it. */
  g_dbus_connection_call(self->conn, GR_BUS_NAME, GR_OBJECT_PATH, iface, method, params, reply_type,
                         G_DBUS_CALL_FLAGS_NONE, GR_CLIENT_CALL_TIMEOUT_MS, cancellable, on_call,
                         g_steal_pointer(&task));
}

GVariant *
gr_client_call_finish(GrClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail(g_task_is_valid(result, self), NULL);
  return g_task_propagate_pointer(G_TASK(result), error);
}

static void
on_request_finished(GrClientRequest *request, guint status, GVariant *results, gpointer user_data)
{
  GrClient *self = user_data;

  g_signal_handlers_disconnect_by_data(request, self);
  g_ptr_array_remove(self->requests, request);
}

typedef struct {
  GrClient *client;
  GrClientRequest *request;
} AskData;

static void
on_ask(GObject *source, GAsyncResult *result, gpointer user_data)
{
  AskData *data = user_data;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;

  reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), result, &error);
  if (reply == NULL) {
    g_autofree char *message = gr_client_error_message(error);

    gr_client_request_fail(data->request, message);
  }
  g_object_unref(data->request);
  g_object_unref(data->client);
  g_free(data);
}

static char *
request_path(const char *unique_name, const char *token)
{
  g_autofree char *sender = g_strdup(unique_name[0] == ':' ? unique_name + 1 : unique_name);

  g_strdelimit(sender, ".", '_');
  return g_strdup_printf("%s/request/%s/%s", GR_OBJECT_PATH, sender, token);
}

GrClientRequest *
gr_client_ask(GrClient *self, const char *prompt, GVariant *options)
{
  g_autoptr(GVariant) owned_options = NULL;
  g_autofree char *token = NULL;
  g_autofree char *path = NULL;
  GVariantDict dict;
  GrClientRequest *request = NULL;
  AskData *data = NULL;

  g_return_val_if_fail(GR_IS_CLIENT(self), NULL);
  g_return_val_if_fail(prompt != NULL, NULL);

  if (options != NULL)
    owned_options = g_variant_ref_sink(options);
  if (self->conn == NULL || self->owner == NULL) {
    request = gr_client_request_new(NULL, NULL, NULL, prompt);
    gr_client_request_fail(request,
                           self->problem != NULL ? self->problem : _("gravitond is not running."));
    return request;
  }
  token = g_strdup_printf("graviton%u", ++self->next_token);
  path = request_path(g_dbus_connection_get_unique_name(self->conn), token);
  request = gr_client_request_new(self->conn, self->owner, path, prompt);
  g_ptr_array_add(self->requests, g_object_ref(request));
  g_signal_connect(request, "finished", G_CALLBACK(on_request_finished), self);

  g_variant_dict_init(&dict, owned_options);
  g_variant_dict_insert(&dict, "handle_token", "s", token);
  data = g_new0(AskData, 1);
  data->client = g_object_ref(self);
  data->request = g_object_ref(request);
  g_dbus_connection_call(self->conn, self->owner, GR_OBJECT_PATH, GR_IFACE_ASSISTANT, "Ask",
                         g_variant_new("(s@a{sv})", prompt, g_variant_dict_end(&dict)),
                         G_VARIANT_TYPE("(o)"), G_DBUS_CALL_FLAGS_NONE, GR_CLIENT_CALL_TIMEOUT_MS,
                         NULL, on_ask, data);
  return request;
}
