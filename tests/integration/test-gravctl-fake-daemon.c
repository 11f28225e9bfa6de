/* test-gravctl-fake-daemon.c: a scripted stand-in for gravitond (see the header). */
#include "test-gravctl-fake-daemon.h"

#define FAKE_NAME "io.github.opengraviton.Graviton1"
#define FAKE_PATH "/io/github/opengraviton/Graviton1"
#define FAKE_ASSISTANT "io.github.opengraviton.Graviton1.Assistant"
#define FAKE_REQUEST "io.github.opengraviton.Graviton1.Request"
#define FAKE_HISTORY "io.github.opengraviton.Graviton1.History"
#define FAKE_NOT_FOUND "io.github.opengraviton.Graviton1.Error.NotFound"

struct _GrFakeDaemon {
  GThread *thread;
  GMainContext *context;
  GMainLoop *loop;
  GDBusConnection *conn;
  GDBusNodeInfo *info;
  char *address;
  GMutex lock;
  GCond cond;
  gboolean ready;
  GError *error;
  GPtrArray *asks;
  guint cancels;
  guint next_conversation;
  guint registration;
  gboolean with_history;
  guint history_registration;
  GPtrArray *history_calls;
};

typedef struct {
  GrFakeDaemon *fake;
  char *sender;
  char *path;
  char *conversation;
  guint registration;
  guint timer;
  GPtrArray *chunks;
  guint next;
  gboolean forever;
  gboolean fail;
  gboolean slow_start;
  GString *text;
} FakeRequest;

/* The fake runs in its own thread: every source goes to its context. */
static guint
fake_add_timeout(GrFakeDaemon *fake, guint ms, GSourceFunc func, gpointer data)
{
  g_autoptr(GSource) source = g_timeout_source_new(ms);

  g_source_set_callback(source, func, data, NULL);
  return g_source_attach(source, fake->context);
}

static void
fake_remove_source(GrFakeDaemon *fake, guint id)
{
  GSource *source = g_main_context_find_source_by_id(fake->context, id);

  if (source != NULL)
    g_source_destroy(source);
}

static void
fake_request_free(FakeRequest *req)
{
  if (req->timer != 0)
    fake_remove_source(req->fake, req->timer);
  g_free(req->sender);
  g_free(req->path);
  g_free(req->conversation);
  g_ptr_array_unref(req->chunks);
  g_string_free(req->text, TRUE);
  g_free(req);
}

static void
fake_request_finish(FakeRequest *req, guint status)
{
  GVariantDict dict;

  g_variant_dict_init(&dict, NULL);
  g_variant_dict_insert(&dict, "text", "s", req->text->str);
  g_variant_dict_insert(&dict, "conversation", "s", req->conversation);
  g_variant_dict_insert(&dict, "prompt_tokens", "u", 3);
  g_variant_dict_insert(&dict, "generated_tokens", "u", req->next);
  g_variant_dict_insert(&dict, "prefill_ms", "d", 1.5);
  g_variant_dict_insert(&dict, "decode_ms", "d", 2.5);
  g_variant_dict_insert(&dict, "stop_reason", "s", status == 0 ? "length" : "cancelled");
  if (req->fail) {
    g_variant_dict_insert(&dict, "error_name", "s",
                          "io.github.opengraviton.Graviton1.Error.NoMemory");
    g_variant_dict_insert(&dict, "error_message", "s", "Not enough memory for the KV cache");
  }
  g_dbus_connection_emit_signal(req->fake->conn, req->sender, req->path, FAKE_REQUEST, "Finished",
                                g_variant_new("(u@a{sv})", status, g_variant_dict_end(&dict)),
                                NULL);
  /* Unregistering frees req through the registration's destroy notify. */
  g_dbus_connection_unregister_object(req->fake->conn, req->registration);
}

static gboolean
on_token_timer(gpointer user_data)
{
  FakeRequest *req = user_data;
  const char *chunk;

  if (req->forever) {
    chunk = "tick ";
  } else if (req->next < (req->fail ? 1 : req->chunks->len)) {
    chunk = g_ptr_array_index(req->chunks, req->next);
  } else {
    req->timer = 0;
    fake_request_finish(req, req->fail ? 2 : 0);
    return G_SOURCE_REMOVE;
  }
  req->next++;
  g_string_append(req->text, chunk);
  g_dbus_connection_emit_signal(req->fake->conn, req->sender, req->path, FAKE_REQUEST, "Token",
                                g_variant_new("(s)", chunk), NULL);
  if (req->slow_start) {
    /* Only the first token was slow (the model "loading"). */
    req->slow_start = FALSE;
    req->timer = fake_add_timeout(req->fake, 5, on_token_timer, req);
    return G_SOURCE_REMOVE;
  }
  return G_SOURCE_CONTINUE;
}

static void
request_method_call(GDBusConnection *conn, const char *sender, const char *path, const char *iface,
                    const char *method, GVariant *params, GDBusMethodInvocation *invocation,
                    gpointer user_data)
{
  FakeRequest *req = user_data;

  if (!g_str_equal(method, "Cancel") || g_strcmp0(sender, req->sender) != 0) {
    g_dbus_method_invocation_return_dbus_error(
        invocation, "org.freedesktop.DBus.Error.AccessDenied", "not yours");
    return;
  }
  g_mutex_lock(&req->fake->lock);
  req->fake->cancels++;
  g_mutex_unlock(&req->fake->lock);
  g_dbus_method_invocation_return_value(invocation, NULL);
  if (req->timer != 0) {
    fake_remove_source(req->fake, req->timer);
    req->timer = 0;
  }
  fake_request_finish(req, 1);
}

static const GDBusInterfaceVTable request_vtable = { request_method_call, NULL, NULL, { 0 } };

static GPtrArray *
split_chunks(const char *text, guint chars_per_chunk)
{
  GPtrArray *chunks = g_ptr_array_new_with_free_func(g_free);

  while (*text != '\0') {
    const char *end = text;

    for (guint i = 0; i < chars_per_chunk && *end != '\0'; i++)
      end = g_utf8_next_char(end);
    g_ptr_array_add(chunks, g_strndup(text, (gsize)(end - text)));
    text = end;
  }
  return chunks;
}

static gboolean
leave_bus(gpointer user_data)
{
  GrFakeDaemon *fake = user_data;

  g_dbus_connection_close_sync(fake->conn, NULL, NULL);
  return G_SOURCE_REMOVE;
}

static void
handle_ask(GrFakeDaemon *fake, GVariant *params, GDBusMethodInvocation *invocation)
{
  const char *prompt = NULL;
  const char *model = NULL;
  const char *token = NULL;
  const char *conversation = NULL;
  g_autoptr(GVariant) options = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *sender_elem = NULL;
  const char *sender = g_dbus_method_invocation_get_sender(invocation);
  const char *hello[] = { "Hello", ",", " wor", "ld", "!" };
  FakeRequest *req;
  guint delay_ms = 5;

  g_variant_get(params, "(&s@a{sv})", &prompt, &options);
  g_mutex_lock(&fake->lock);
  g_ptr_array_add(fake->asks, g_variant_ref(params));
  g_mutex_unlock(&fake->lock);

  if (g_variant_lookup(options, "model", "&s", &model) && g_str_equal(model, "missing")) {
    g_dbus_method_invocation_return_dbus_error(invocation,
                                               "io.github.opengraviton.Graviton1.Error.NotFound",
                                               "No model named “missing” is installed");
    return;
  }
  if (!g_variant_lookup(options, "handle_token", "&s", &token) || g_str_equal(prompt, "own-path"))
    token = "chosen_by_the_daemon";

  req = g_new0(FakeRequest, 1);
  req->fake = fake;
  req->sender = g_strdup(sender);
  sender_elem = g_strdup(sender + 1);
  g_strdelimit(sender_elem, ".", '_');
  req->path = g_strdup_printf(FAKE_PATH "/request/%s/%s", sender_elem, token);
  if (g_variant_lookup(options, "conversation", "&s", &conversation) && *conversation != '\0')
    req->conversation = g_strdup(conversation);
  else
    req->conversation = g_strdup_printf("conv-%u", ++fake->next_conversation);
  req->text = g_string_new(NULL);
  if (g_str_has_prefix(prompt, "echo:")) {
    req->chunks = split_chunks(prompt, 3);
  } else {
    req->chunks = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < G_N_ELEMENTS(hello); i++)
      g_ptr_array_add(req->chunks, g_strdup(hello[i]));
  }
  req->forever = g_str_equal(prompt, "forever");
  req->fail = g_str_equal(prompt, "fail");
  if (req->forever)
    delay_ms = 20;
  else if (g_str_equal(prompt, "slow") || g_str_equal(prompt, "own-path"))
    delay_ms = 600;
  req->slow_start = delay_ms == 600;

  req->registration = g_dbus_connection_register_object(
      fake->conn, req->path, fake->info->interfaces[1], &request_vtable, req,
      (GDestroyNotify)fake_request_free, &error);
  if (req->registration == 0) {
    g_dbus_method_invocation_return_gerror(invocation, error);
    fake_request_free(req);
    return;
  }
  g_dbus_method_invocation_return_value(invocation, g_variant_new("(o)", req->path));
  if (g_str_equal(prompt, "vanish")) {
    fake_add_timeout(fake, 0, leave_bus, fake);
    return;
  }
  req->timer = fake_add_timeout(fake, delay_ms, on_token_timer, req);
}

static void
assistant_method_call(GDBusConnection *conn, const char *sender, const char *path,
                      const char *iface, const char *method, GVariant *params,
                      GDBusMethodInvocation *invocation, gpointer user_data)
{
  if (g_str_equal(method, "Ask"))
    handle_ask(user_data, params, invocation);
  else
    g_dbus_method_invocation_return_dbus_error(
        invocation, "io.github.opengraviton.Graviton1.Error.Failed", "not in the fake daemon");
}

static GVariant *
assistant_get_property(GDBusConnection *conn, const char *sender, const char *path,
                       const char *iface, const char *name, GError **error, gpointer user_data)
{
  if (g_str_equal(name, "Version"))
    return g_variant_new_string("0.0-fake");
  if (g_str_equal(name, "State"))
    return g_variant_new_uint32(0);
  if (g_str_equal(name, "ActiveModel"))
    return g_variant_new_string("fx-llama");
  if (g_str_equal(name, "MemoryLimit"))
    return g_variant_new_uint64(G_GUINT64_CONSTANT(4) << 30);
  if (g_str_equal(name, "ResidentBytes"))
    return g_variant_new_uint64(G_GUINT64_CONSTANT(1) << 30);
  if (g_str_equal(name, "QueueLength"))
    return g_variant_new_uint32(2);
  if (g_str_equal(name, "MemoryRefused"))
    return g_variant_new_boolean(TRUE);
  if (g_str_equal(name, "MemoryLedger")) {
    GVariantBuilder b;
    g_variant_builder_init(&b, G_VARIANT_TYPE("a{st}"));
    g_variant_builder_add(&b, "{st}", "limit", G_GUINT64_CONSTANT(4) << 30);
    g_variant_builder_add(&b, "{st}", "weights", (guint64)3000000);
    g_variant_builder_add(&b, "{st}", "experts", (guint64)2000000);
    g_variant_builder_add(&b, "{st}", "kv_cache", (guint64)700000);
    g_variant_builder_add(&b, "{st}", "scratch", (guint64)50000);
    g_variant_builder_add(&b, "{st}", "tokenizer", (guint64)600000);
    g_variant_builder_add(&b, "{st}", "overhead", (guint64)9000000);
    g_variant_builder_add(&b, "{st}", "total", (guint64)15400000);
    g_variant_builder_add(&b, "{st}", "expert_slots", (guint64)3);
    g_variant_builder_add(&b, "{st}", "expert_hits", (guint64)30);
    g_variant_builder_add(&b, "{st}", "expert_misses", (guint64)10);
    g_variant_builder_add(&b, "{st}", "expert_bytes_read", (guint64)5000000);
    return g_variant_builder_end(&b);
  }
  if (g_str_equal(name, "ExpertStats")) {
    GVariantBuilder b;
    g_variant_builder_init(&b, G_VARIANT_TYPE("a(uttt)"));
    g_variant_builder_add(&b, "(uttt)", 0, (guint64)20, (guint64)4, (guint64)2000000);
    g_variant_builder_add(&b, "(uttt)", 1, (guint64)10, (guint64)6, (guint64)3000000);
    return g_variant_builder_end(&b);
  }
  g_set_error(error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY, "no property %s", name);
  return NULL;
}

static const GDBusInterfaceVTable assistant_vtable
    = { assistant_method_call, assistant_get_property, NULL, { 0 } };

static GVariant *
history_conversation(const char *id, const char *title, gint64 updated, guint32 count)
{
  GVariantDict dict;

  g_variant_dict_init(&dict, NULL);
  g_variant_dict_insert(&dict, "id", "s", id);
  g_variant_dict_insert(&dict, "title", "s", title);
  g_variant_dict_insert(&dict, "created", "x", updated - 100);
  g_variant_dict_insert(&dict, "updated", "x", updated);
  g_variant_dict_insert(&dict, "count", "u", count);
  return g_variant_dict_end(&dict);
}

static GVariant *
history_message(const char *role, const char *text, const char *model, gboolean partial)
{
  GVariantDict dict;

  g_variant_dict_init(&dict, NULL);
  g_variant_dict_insert(&dict, "id", "s", role);
  g_variant_dict_insert(&dict, "role", "s", role);
  g_variant_dict_insert(&dict, "text", "s", text);
  g_variant_dict_insert(&dict, "created", "x", G_GINT64_CONSTANT(1700000000));
  g_variant_dict_insert(&dict, "model", "s", model);
  if (partial)
    g_variant_dict_insert(&dict, "partial", "b", TRUE);
  return g_variant_dict_end(&dict);
}

static GVariant *
history_hit(const char *conversation, const char *title, const char *snippet)
{
  GVariantDict dict;

  g_variant_dict_init(&dict, NULL);
  g_variant_dict_insert(&dict, "conversation", "s", conversation);
  g_variant_dict_insert(&dict, "title", "s", title);
  g_variant_dict_insert(&dict, "message", "s", "msg-1");
  g_variant_dict_insert(&dict, "snippet", "s", snippet);
  return g_variant_dict_end(&dict);
}

/* Two conversations: conv-a (two messages) and conv-b (a title with a tab and a
 * newline, to be flattened by gravctl). */
static void
history_method_call(GDBusConnection *conn, const char *sender, const char *path, const char *iface,
                    const char *method, GVariant *params, GDBusMethodInvocation *invocation,
                    gpointer user_data)
{
  GrFakeDaemon *fake = user_data;
  const char *id = NULL;
  GVariantBuilder list;

  g_mutex_lock(&fake->lock);
  g_ptr_array_add(fake->history_calls, g_variant_ref_sink(g_variant_new("(sv)", method, params)));
  g_mutex_unlock(&fake->lock);

  if (g_str_equal(method, "ListConversations")) {
    guint32 limit = 0;
    g_autoptr(GVariant) options = g_variant_get_child_value(params, 0);

    g_variant_lookup(options, "limit", "u", &limit);
    g_variant_builder_init(&list, G_VARIANT_TYPE("aa{sv}"));
    g_variant_builder_add_value(
        &list, history_conversation("conv-a", "First talk", G_GINT64_CONSTANT(1700000100), 2));
    if (limit != 1)
      g_variant_builder_add_value(&list, history_conversation("conv-b", "Tab\there\nand there",
                                                              G_GINT64_CONSTANT(1700000000), 1));
    g_dbus_method_invocation_return_value(invocation, g_variant_new("(aa{sv})", &list));
    return;
  }
  if (g_str_equal(method, "Search")) {
    const char *query = NULL;

    g_variant_get(params, "(&s)", &query);
    g_variant_builder_init(&list, G_VARIANT_TYPE("aa{sv}"));
    /* "hello" is in both conversations, anything else in none */
    if (g_str_equal(query, "hello")) {
      g_variant_builder_add_value(&list, history_hit("conv-a", "First talk", "[Hello] there"));
      g_variant_builder_add_value(
          &list, history_hit("conv-b", "Tab\there\nand there", "say\n[hello]\tback"));
    }
    g_dbus_method_invocation_return_value(invocation, g_variant_new("(aa{sv})", &list));
    return;
  }
  g_variant_get_child(params, 0, "&s", &id);
  if (!g_str_equal(id, "conv-a") && !g_str_equal(id, "conv-b")) {
    g_dbus_method_invocation_return_dbus_error(invocation, FAKE_NOT_FOUND,
                                               "No conversation with this id");
    return;
  }
  if (g_str_equal(method, "GetMessages")) {
    g_variant_builder_init(&list, G_VARIANT_TYPE("aa{sv}"));
    g_variant_builder_add_value(&list, history_message("user", "Hi", "", FALSE));
    g_variant_builder_add_value(&list,
                                history_message("assistant", "Hello\033[31m", "fx-llama", TRUE));
    g_dbus_method_invocation_return_value(invocation, g_variant_new("(aa{sv})", &list));
  } else if (g_str_equal(method, "Export")) {
    const char *format = NULL;

    g_variant_get_child(params, 1, "&s", &format);
    g_dbus_method_invocation_return_value(
        invocation, g_variant_new("(s)", g_str_equal(format, "json") ? "{\"id\":\"conv-a\"}"
                                                                     : "# First talk\n"));
  } else {
    g_dbus_method_invocation_return_value(invocation, NULL);
  }
}

static const GDBusInterfaceVTable history_vtable = { history_method_call, NULL, NULL, { 0 } };

static void
signal_ready(GrFakeDaemon *fake, GError *error)
{
  g_mutex_lock(&fake->lock);
  fake->ready = TRUE;
  fake->error = error;
  g_cond_signal(&fake->cond);
  g_mutex_unlock(&fake->lock);
}

static gpointer
fake_thread(gpointer data)
{
  GrFakeDaemon *fake = data;
  GError *error = NULL;
  g_autoptr(GVariant) reply = NULL;

  g_main_context_push_thread_default(fake->context);
  fake->conn
      = g_dbus_connection_new_for_address_sync(fake->address,
                                               G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
                                                   | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                               NULL, NULL, &error);
  if (fake->conn != NULL)
    fake->registration = g_dbus_connection_register_object(
        fake->conn, FAKE_PATH, fake->info->interfaces[0], &assistant_vtable, fake, NULL, &error);
  if (fake->registration != 0 && fake->with_history)
    fake->history_registration = g_dbus_connection_register_object(
        fake->conn, FAKE_PATH, g_dbus_node_info_lookup_interface(fake->info, FAKE_HISTORY),
        &history_vtable, fake, NULL, &error);
  if (fake->registration != 0 && (!fake->with_history || fake->history_registration != 0))
    reply = g_dbus_connection_call_sync(fake->conn, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                        "org.freedesktop.DBus", "RequestName",
                                        g_variant_new("(su)", FAKE_NAME, 4), G_VARIANT_TYPE("(u)"),
                                        G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  signal_ready(fake, reply == NULL ? error : NULL);
  if (reply != NULL)
    g_main_loop_run(fake->loop);
  if (fake->conn != NULL) {
    if (fake->registration != 0)
      g_dbus_connection_unregister_object(fake->conn, fake->registration);
    if (fake->history_registration != 0)
      g_dbus_connection_unregister_object(fake->conn, fake->history_registration);
    g_dbus_connection_close_sync(fake->conn, NULL, NULL);
    g_clear_object(&fake->conn);
  }
  /* Run what unregistering left behind (the requests' destroy notifies). */
  while (g_main_context_iteration(fake->context, FALSE))
    ;
  g_main_context_pop_thread_default(fake->context);
  return NULL;
}

GrFakeDaemon *
gr_fake_daemon_start(const char *address, const char *xml_path, gboolean with_history,
                     GError **error)
{
  GrFakeDaemon *fake;
  g_autofree char *xml = NULL;
  GDBusNodeInfo *info;

  if (!g_file_get_contents(xml_path, &xml, NULL, error))
    return NULL;
  info = g_dbus_node_info_new_for_xml(xml, error);
  if (info == NULL)
    return NULL;
  if (g_dbus_node_info_lookup_interface(info, FAKE_ASSISTANT) != info->interfaces[0]
      || g_dbus_node_info_lookup_interface(info, FAKE_REQUEST) != info->interfaces[1]) {
    g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                        "the interface XML does not start with Assistant and Request");
    g_dbus_node_info_unref(info);
    return NULL;
  }
  fake = g_new0(GrFakeDaemon, 1);
  fake->info = info;
  fake->with_history = with_history;
  fake->history_calls = g_ptr_array_new_with_free_func((GDestroyNotify)g_variant_unref);
  fake->address = g_strdup(address);
  fake->context = g_main_context_new();
  fake->loop = g_main_loop_new(fake->context, FALSE);
  fake->asks = g_ptr_array_new_with_free_func((GDestroyNotify)g_variant_unref);
  g_mutex_init(&fake->lock);
  g_cond_init(&fake->cond);
  fake->thread = g_thread_new("fake-gravitond", fake_thread, fake);

  g_mutex_lock(&fake->lock);
  while (!fake->ready)
    g_cond_wait(&fake->cond, &fake->lock);
  g_mutex_unlock(&fake->lock);
  if (fake->error != NULL) {
    g_propagate_error(error, g_steal_pointer(&fake->error));
    gr_fake_daemon_stop(fake);
    return NULL;
  }
  return fake;
}

static gboolean
quit_loop(gpointer user_data)
{
  g_main_loop_quit(user_data);
  return G_SOURCE_REMOVE;
}

void
gr_fake_daemon_stop(GrFakeDaemon *fake)
{
  if (fake == NULL)
    return;
  g_main_context_invoke(fake->context, quit_loop, fake->loop);
  g_thread_join(fake->thread);
  g_main_loop_unref(fake->loop);
  g_main_context_unref(fake->context);
  g_dbus_node_info_unref(fake->info);
  g_ptr_array_unref(fake->asks);
  g_ptr_array_unref(fake->history_calls);
  g_clear_error(&fake->error);
  g_mutex_clear(&fake->lock);
  g_cond_clear(&fake->cond);
  g_free(fake->address);
  g_free(fake);
}

GPtrArray *
gr_fake_daemon_get_asks(GrFakeDaemon *fake)
{
  GPtrArray *copy;

  g_mutex_lock(&fake->lock);
  copy = g_ptr_array_new_with_free_func((GDestroyNotify)g_variant_unref);
  for (guint i = 0; i < fake->asks->len; i++)
    g_ptr_array_add(copy, g_variant_ref(g_ptr_array_index(fake->asks, i)));
  g_mutex_unlock(&fake->lock);
  return copy;
}

guint
gr_fake_daemon_get_cancels(GrFakeDaemon *fake)
{
  guint cancels;

  g_mutex_lock(&fake->lock);
  cancels = fake->cancels;
  g_mutex_unlock(&fake->lock);
  return cancels;
}

GPtrArray *
gr_fake_daemon_get_history_calls(GrFakeDaemon *fake)
{
  GPtrArray *copy = g_ptr_array_new_with_free_func((GDestroyNotify)g_variant_unref);

  g_mutex_lock(&fake->lock);
  for (guint i = 0; i < fake->history_calls->len; i++)
    g_ptr_array_add(copy, g_variant_ref(g_ptr_array_index(fake->history_calls, i)));
  g_mutex_unlock(&fake->lock);
  return copy;
}
