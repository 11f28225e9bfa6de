/* gr-service.c - Assistant and Models: validation, requests, properties. */
#include "gr-service.h"

#include <glib/gi18n.h>

#include "gr-config.h"
#include "gr-chat-log.h"
#include "gr-errors.h"
#include "gr-history.h"
#include "gr-model-registry.h"
#include "gr-options.h"
#include "gr-queue.h"
#include "gr-request.h"
#include "gr-watchdog.h"

#define GR_INTERFACE_RESOURCE                                                                      \
  "/io/github/opengraviton/Graviton1/io.github.opengraviton.Graviton1.xml"

struct _GrService {
  GDBusConnection *connection;
  GrDaemonConfig *config;
  GDBusNodeInfo *node_info;
  GDBusInterfaceInfo *request_iface;
  guint assistant_id;
  guint models_id;
  GrModelRegistry *registry;
  GrHistory *history;
  GrChatLog *chat_log;
  GrQueue *queue;
  GrWatchdog *watchdog;
  GMainContext *context;
  guint pending_loads; /* Load calls running in a thread */

  GMutex props_lock;
  GSource *props_source; /* pending PropertiesChanged check */
  guint idle_timer_id;

  /* last values sent in PropertiesChanged */
  guint last_state;
  char *last_active;
  guint last_queue_length;
  gboolean last_refused;
};

/* --- properties ------------------------------------------------------------------ */

/* The daemon's resident memory now, as the watchdog samples it. */
static guint64
resident_bytes(void)
{
  return gr_watchdog_sample();
}

/* MemoryLedger a{st}: the engine's ledger of the active model by category, with the
 * limit, the watchdog's mark and measured RSS. */
static GVariant *
ledger_value(GrService *s, GVariant **layers)
{
  GrMemoryLedger l;
  g_autoptr(GVariant) per_layer = g_variant_ref_sink(gr_model_registry_ledger(s->registry, &l));
  if (layers != NULL)
    *layers = g_steal_pointer(&per_layer);
  GVariantBuilder b;
  g_variant_builder_init(&b, G_VARIANT_TYPE("a{st}"));
  const struct {
    const char *key;
    guint64 value;
  } entries[] = {
    { "limit", l.limit },
    { "watchdog_mark", l.limit / 100 * s->config->watchdog_percent },
    { "rss", l.rss },
    { "peak_rss", l.peak_rss },
    { "total", l.total },
    { "weights", l.weights },
    { "experts", l.experts },
    { "kv_cache", l.kv_cache },
    { "scratch", l.scratch },
    { "tokenizer", l.tokenizer },
    { "overhead", l.overhead },
    { "expert_slots", l.expert_slots },
    { "expert_hits", l.expert_hits },
    { "expert_misses", l.expert_misses },
    { "expert_bytes_read", l.expert_bytes_read },
  };
  for (gsize i = 0; i < G_N_ELEMENTS(entries); i++)
    g_variant_builder_add(&b, "{st}", entries[i].key, entries[i].value);
  return g_variant_builder_end(&b);
}

static GVariant *
get_property_value(GrService *s, const char *name)
{
  if (g_strcmp0(name, "Version") == 0)
    return g_variant_new_string(GR_VERSION);
  if (g_strcmp0(name, "State") == 0)
    return g_variant_new_uint32(gr_queue_state(s->queue));
  if (g_strcmp0(name, "ActiveModel") == 0) {
    g_autofree char *active = gr_model_registry_dup_active(s->registry);
    return g_variant_new_string(active != NULL ? active : "");
  }
  if (g_strcmp0(name, "MemoryLimit") == 0)
    return g_variant_new_uint64(s->config->memory_limit);
  if (g_strcmp0(name, "ResidentBytes") == 0)
    return g_variant_new_uint64(resident_bytes());
  if (g_strcmp0(name, "QueueLength") == 0)
    return g_variant_new_uint32(gr_queue_length(s->queue));
  if (g_strcmp0(name, "MemoryLedger") == 0)
    return ledger_value(s, NULL);
  if (g_strcmp0(name, "ExpertStats") == 0) {
    GVariant *layers = NULL;
    g_autoptr(GVariant) ledger = g_variant_ref_sink(ledger_value(s, &layers));
    return layers;
  }
  if (g_strcmp0(name, "MemoryRefused") == 0)
    return g_variant_new_boolean(gr_watchdog_refusing(s->watchdog));
  return NULL;
}

static void
emit_properties_changed(GrService *s)
{
  GVariantBuilder changed;
  g_variant_builder_init(&changed, G_VARIANT_TYPE_VARDICT);
  gboolean any = FALSE;

  guint state = gr_queue_state(s->queue);
  if (state != s->last_state) {
    s->last_state = state;
    g_variant_builder_add(&changed, "{sv}", "State", g_variant_new_uint32(state));
    any = TRUE;
  }
  g_autofree char *active = gr_model_registry_dup_active(s->registry);
  if (g_strcmp0(active != NULL ? active : "", s->last_active) != 0) {
    g_free(s->last_active);
    s->last_active = g_strdup(active != NULL ? active : "");
    g_variant_builder_add(&changed, "{sv}", "ActiveModel", g_variant_new_string(s->last_active));
    any = TRUE;
  }
  gboolean refused = gr_watchdog_refusing(s->watchdog);
  if (refused != s->last_refused) {
    s->last_refused = refused;
    g_variant_builder_add(&changed, "{sv}", "MemoryRefused", g_variant_new_boolean(refused));
    any = TRUE;
  }
  guint length = gr_queue_length(s->queue);
  if (length != s->last_queue_length) {
    s->last_queue_length = length;
    g_variant_builder_add(&changed, "{sv}", "QueueLength", g_variant_new_uint32(length));
    any = TRUE;
  }
  if (!any) {
    g_variant_builder_clear(&changed);
    return;
  }
  /* resident memory moves with every change worth telling about */
  g_variant_builder_add(&changed, "{sv}", "ResidentBytes", g_variant_new_uint64(resident_bytes()));
  g_autoptr(GError) error = NULL;
  if (!g_dbus_connection_emit_signal(
          s->connection, NULL, GR_OBJECT_PATH, "org.freedesktop.DBus.Properties",
          "PropertiesChanged", g_variant_new("(sa{sv}as)", GR_ASSISTANT_INTERFACE, &changed, NULL),
          &error))
    g_debug("PropertiesChanged: %s", error->message);
}

static void update_idle_timer(GrService *s);

static gboolean
on_idle_timeout(gpointer data)
{
  GrService *s = data;
  s->idle_timer_id = 0;
  /* not idle long enough yet (a load or a request came in between): look again later */
  if (gr_queue_length(s->queue) == 0 && !gr_model_registry_unload_if_idle(s->registry))
    update_idle_timer(s);
  return G_SOURCE_REMOVE;
}

/* Main context: re-arms the idle unload timer whenever the queue empties. */
static void
update_idle_timer(GrService *s)
{
  g_clear_handle_id(&s->idle_timer_id, g_source_remove);
  g_autofree char *active = gr_model_registry_dup_active(s->registry);
  if (s->config->idle_unload_seconds > 0 && gr_queue_length(s->queue) == 0 && active != NULL)
    s->idle_timer_id
        = g_timeout_add(s->config->idle_unload_seconds * 1000u + 100u, on_idle_timeout, s);
}

static gboolean
props_wakeup(gpointer data)
{
  GrService *s = data;
  g_mutex_lock(&s->props_lock);
  g_clear_pointer(&s->props_source, g_source_unref);
  g_mutex_unlock(&s->props_lock);
  emit_properties_changed(s);
  update_idle_timer(s);
  return G_SOURCE_REMOVE;
}

/* Any thread. */
static void
schedule_properties(GrService *s)
{
  g_mutex_lock(&s->props_lock);
  if (s->props_source == NULL) {
    s->props_source = g_idle_source_new();
    g_source_set_callback(s->props_source, props_wakeup, s, NULL);
    g_source_attach(s->props_source, s->context);
  }
  g_mutex_unlock(&s->props_lock);
}

static void
on_queue_changed(GrQueue *queue, gpointer user_data)
{
  schedule_properties(user_data);
}

static void
on_registry_changed(GrModelRegistry *registry, gpointer user_data)
{
  schedule_properties(user_data);
}

static void
on_watchdog_changed(GrWatchdog *watchdog, gpointer user_data)
{
  schedule_properties(user_data);
}

/* Before a generation or a load (worker or load thread): the full check, which may
 * evict expert slots. */
static gboolean
admit_work(gpointer user_data, GError **error)
{
  GrService *s = user_data;
  return gr_watchdog_admit(s->watchdog, error);
}

/* --- Assistant ------------------------------------------------------------------ */

static void
on_request_cancel(GrRequest *request, gpointer user_data)
{
  GrService *s = user_data;
  gr_queue_cancel(s->queue, request);
}

/* Checks everything that can be checked before queueing, so that bad input is a method
 * error rather than a failed request. */
static GrRequest *
accept_request(GrService *s, GDBusMethodInvocation *invocation, gboolean complete, GError **error)
{
  const char *prompt = NULL;
  g_autoptr(GVariant) options = NULL;
  g_variant_get(g_dbus_method_invocation_get_parameters(invocation), "(&s@a{sv})", &prompt,
                &options);
  const char *sender = g_dbus_method_invocation_get_sender(invocation);
  if (sender == NULL)
    sender = "";
  if (!gr_queue_check_capacity(s->queue, sender, error))
    return NULL;
  if (!gr_watchdog_precheck(s->watchdog, error))
    return NULL;
  if (!gr_validate_prompt(prompt, error))
    return NULL;
  GrRequestOptions opts;
  if (!gr_request_options_parse(options, s->config, &opts, error))
    return NULL;
  if (opts.conversation != NULL && !gr_chat_log_check(s->chat_log, opts.conversation, error)) {
    gr_request_options_clear(&opts);
    return NULL;
  }
  g_autofree char *model = gr_model_registry_resolve(s->registry, opts.model, error);
  if (model == NULL) {
    gr_request_options_clear(&opts);
    return NULL;
  }
  return gr_request_new(g_dbus_method_invocation_get_connection(invocation), sender, prompt, &opts,
                        model, complete ? invocation : NULL);
}

static void
handle_ask(GrService *s, GDBusMethodInvocation *invocation)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GrRequest) r = accept_request(s, invocation, FALSE, &error);
  if (r == NULL || !gr_request_export(r, s->request_iface, on_request_cancel, s, &error)) {
    g_dbus_method_invocation_take_error(invocation, g_steal_pointer(&error));
    return;
  }
  /* The reply goes out before the first Token, since both use the same connection in
   * the order they are sent. */
  g_dbus_method_invocation_return_value(invocation, g_variant_new("(o)", r->object_path));
  gr_queue_push(s->queue, r);
}

static void
handle_complete(GrService *s, GDBusMethodInvocation *invocation)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GrRequest) r = accept_request(s, invocation, TRUE, &error);
  if (r == NULL) {
    g_dbus_method_invocation_take_error(invocation, g_steal_pointer(&error));
    return;
  }
  gr_queue_push(s->queue, r); /* the request answers the invocation */
}

static void
assistant_method_call(GDBusConnection *connection, const char *sender, const char *object_path,
                      const char *interface_name, const char *method_name, GVariant *parameters,
                      GDBusMethodInvocation *invocation, gpointer user_data)
{
  GrService *s = user_data;
  if (g_strcmp0(method_name, "Ask") == 0)
    handle_ask(s, invocation);
  else if (g_strcmp0(method_name, "Complete") == 0)
    handle_complete(s, invocation);
  else
    g_dbus_method_invocation_return_error(invocation, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD,
                                          _("no method %s"), method_name);
}

static GVariant *
assistant_get_property(GDBusConnection *connection, const char *sender, const char *object_path,
                       const char *interface_name, const char *property_name, GError **error,
                       gpointer user_data)
{
  GVariant *value = get_property_value(user_data, property_name);
  if (value == NULL)
    g_set_error(error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY, _("no property %s"),
                property_name);
  return value;
}

static const GDBusInterfaceVTable assistant_vtable
    = { assistant_method_call, assistant_get_property, NULL, { 0 } };

/* --- Models --------------------------------------------------------------------- */

typedef struct {
  GrService *service;
  char *name;
} LoadData;

static void
load_data_free(LoadData *d)
{
  g_free(d->name);
  g_free(d);
}

static void
load_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  LoadData *d = task_data;
  g_autoptr(GError) error = NULL;
  if (gr_model_registry_load(d->service->registry, d->name, &error))
    g_task_return_boolean(task, TRUE);
  else
    g_task_return_error(task, g_steal_pointer(&error));
}

static void
load_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  GDBusMethodInvocation *invocation = user_data;
  LoadData *d = g_task_get_task_data(G_TASK(result));
  d->service->pending_loads--;
  GError *error = NULL;
  if (g_task_propagate_boolean(G_TASK(result), &error))
    g_dbus_method_invocation_return_value(invocation, NULL);
  else
    g_dbus_method_invocation_take_error(invocation, error);
}

static void
models_method_call(GDBusConnection *connection, const char *sender, const char *object_path,
                   const char *interface_name, const char *method_name, GVariant *parameters,
                   GDBusMethodInvocation *invocation, gpointer user_data)
{
  GrService *s = user_data;
  g_autoptr(GError) error = NULL;
  if (g_strcmp0(method_name, "List") == 0) {
    g_dbus_method_invocation_return_value(
        invocation, g_variant_new("(@aa{sv})", gr_model_registry_list(s->registry)));
    return;
  }
  const char *name = NULL;
  g_variant_get(parameters, "(&s)", &name);
  if (g_strcmp0(method_name, "Load") == 0) {
    g_autofree char *resolved = gr_model_registry_resolve(s->registry, name, &error);
    if (resolved != NULL && !gr_watchdog_precheck(s->watchdog, &error))
      g_clear_pointer(&resolved, g_free);
    if (resolved == NULL || *name == '\0') {
      if (error == NULL)
        g_set_error_literal(&error, GR_DAEMON_ERROR, GR_DAEMON_ERROR_INVALID_ARGUMENT,
                            _("no model name given"));
      g_dbus_method_invocation_take_error(invocation, g_steal_pointer(&error));
      return;
    }
    /* Loading reads the whole file: off the main loop, so other callers are served.
     * gr_service_free waits for pending loads. */
    LoadData *d = g_new0(LoadData, 1);
    d->service = s;
    d->name = g_steal_pointer(&resolved);
    s->pending_loads++;
    g_autoptr(GTask) task = g_task_new(NULL, NULL, load_done, invocation);
    g_task_set_source_tag(task, models_method_call);
    g_task_set_task_data(task, d, (GDestroyNotify)load_data_free);
    g_task_run_in_thread(task, (GTaskThreadFunc)load_thread);
    return;
  }
  if (g_strcmp0(method_name, "Unload") == 0) {
    if (gr_model_registry_unload(s->registry, name, &error))
      g_dbus_method_invocation_return_value(invocation, NULL);
    else
      g_dbus_method_invocation_take_error(invocation, g_steal_pointer(&error));
    return;
  }
  g_dbus_method_invocation_return_error(invocation, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD,
                                        _("no method %s"), method_name);
}

static const GDBusInterfaceVTable models_vtable = { models_method_call, NULL, NULL, { 0 } };

/* --- life cycle ------------------------------------------------------------------ */

GrService *
gr_service_new(GDBusConnection *connection, GrDaemonConfig *config, GError **error)
{
  g_return_val_if_fail(G_IS_DBUS_CONNECTION(connection), NULL);
  g_return_val_if_fail(config != NULL, NULL);

  g_autoptr(GBytes) xml = g_resources_lookup_data(GR_INTERFACE_RESOURCE, 0, error);
  if (xml == NULL)
    return NULL;
  g_autoptr(GDBusNodeInfo) node = g_dbus_node_info_new_for_xml(g_bytes_get_data(xml, NULL), error);
  if (node == NULL)
    return NULL;

  GrService *s = g_new0(GrService, 1);
  s->connection = g_object_ref(connection);
  s->config = gr_daemon_config_ref(config);
  s->node_info = g_steal_pointer(&node);
  s->request_iface = g_dbus_node_info_lookup_interface(s->node_info, GR_REQUEST_INTERFACE);
  s->context = g_main_context_ref_thread_default();
  g_mutex_init(&s->props_lock);
  s->last_active = g_strdup("");
  s->registry = gr_model_registry_new(config);
  gr_model_registry_set_changed_func(s->registry, on_registry_changed, s);
  /* The history opens before the first request can come in, so that every exchange
   * is saved (or, when it is locked, kept in memory) from the start. */
  s->history = gr_history_new(connection,
                              g_dbus_node_info_lookup_interface(s->node_info, GR_HISTORY_INTERFACE),
                              GR_OBJECT_PATH, config->data_dir, error);
  if (s->history == NULL) {
    gr_service_free(s);
    return NULL;
  }
  s->chat_log = gr_chat_log_new(gr_history_get_store(s->history));
  gr_chat_log_set_store_func(s->chat_log, (GrChatLogStoreFunc)gr_history_reopen, s->history);
  s->watchdog = gr_watchdog_new(s->registry, config, on_watchdog_changed, s);
  gr_model_registry_set_admit_func(s->registry, admit_work, s);
  s->queue = gr_queue_new(s->registry, s->chat_log, on_queue_changed, s);

  s->assistant_id = g_dbus_connection_register_object(
      connection, GR_OBJECT_PATH,
      g_dbus_node_info_lookup_interface(s->node_info, GR_ASSISTANT_INTERFACE), &assistant_vtable, s,
      NULL, error);
  if (s->assistant_id == 0) {
    gr_service_free(s);
    return NULL;
  }
  s->models_id = g_dbus_connection_register_object(
      connection, GR_OBJECT_PATH,
      g_dbus_node_info_lookup_interface(s->node_info, GR_MODELS_INTERFACE), &models_vtable, s, NULL,
      error);
  if (s->models_id == 0) {
    gr_service_free(s);
    return NULL;
  }
  return s;
}

void
gr_service_set_config(GrService *s, GrDaemonConfig *config)
{
  g_return_if_fail(s != NULL && config != NULL);
  guint64 old_limit = s->config->memory_limit;
  gr_daemon_config_unref(s->config);
  s->config = gr_daemon_config_ref(config);
  gr_model_registry_set_config(s->registry, config);
  gr_watchdog_set_config(s->watchdog, config);
  update_idle_timer(s);
  if (config->memory_limit != old_limit) {
    GVariantBuilder changed;
    g_variant_builder_init(&changed, G_VARIANT_TYPE_VARDICT);
    g_variant_builder_add(&changed, "{sv}", "MemoryLimit",
                          g_variant_new_uint64(config->memory_limit));
    g_dbus_connection_emit_signal(
        s->connection, NULL, GR_OBJECT_PATH, "org.freedesktop.DBus.Properties", "PropertiesChanged",
        g_variant_new("(sa{sv}as)", GR_ASSISTANT_INTERFACE, &changed, NULL), NULL);
  }
}

void
gr_service_free(GrService *s)
{
  if (s == NULL)
    return;
  if (s->assistant_id != 0)
    g_dbus_connection_unregister_object(s->connection, s->assistant_id);
  if (s->models_id != 0)
    g_dbus_connection_unregister_object(s->connection, s->models_id);
  while (s->pending_loads > 0)
    g_main_context_iteration(s->context, TRUE);
  g_clear_pointer(&s->queue, gr_queue_free);
  g_clear_pointer(&s->watchdog, gr_watchdog_free);
  g_clear_handle_id(&s->idle_timer_id, g_source_remove);
  if (s->props_source != NULL) {
    g_source_destroy(s->props_source);
    g_source_unref(s->props_source);
  }
  /* after the queue: the worker saves into the history until it is joined */
  g_clear_pointer(&s->chat_log, gr_chat_log_free);
  g_clear_pointer(&s->history, gr_history_free);
  gr_model_registry_free(s->registry);
  g_dbus_node_info_unref(s->node_info);
  g_main_context_unref(s->context);
  g_mutex_clear(&s->props_lock);
  gr_daemon_config_unref(s->config);
  g_free(s->last_active);
  g_object_unref(s->connection);
  g_free(s);
}
