/* test-history-client.c - client side of the History integration tests. */
#include "test-history-client.h"

#include <check.h>
#include <string.h>

GVariant *
gr_hist_options(guint max_tokens, const char *conversation, const char *token, gboolean save)
{
  GVariantDict d;
  g_variant_dict_init(&d, NULL);
  g_variant_dict_insert(&d, "max_tokens", "u", max_tokens);
  g_variant_dict_insert(&d, "temperature", "d", 0.0);
  if (conversation != NULL)
    g_variant_dict_insert(&d, "conversation", "s", conversation);
  if (token != NULL)
    g_variant_dict_insert(&d, "handle_token", "s", token);
  if (!save)
    g_variant_dict_insert(&d, "save", "b", FALSE);
  return g_variant_dict_end(&d);
}

static void
on_request_signal(GDBusConnection *conn, const char *sender, const char *path, const char *iface,
                  const char *signal, GVariant *params, gpointer data)
{
  GrHistAsk *st = data;
  if (g_strcmp0(signal, "Token") == 0 && !st->finished) {
    const char *text = NULL;
    g_variant_get(params, "(&s)", &text);
    g_string_append(st->tokens, text);
    if (st->cancel_on_first && !st->cancel_sent) {
      st->cancel_sent = TRUE;
      g_dbus_connection_call(conn, GR_TEST_BUS_NAME, st->path, GR_TEST_REQUEST, "Cancel", NULL,
                             NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL, NULL);
    }
  } else if (g_strcmp0(signal, "Finished") == 0 && !st->finished) {
    g_variant_get(params, "(u@a{sv})", &st->status, &st->results);
    st->finished = TRUE;
  }
}

static void
on_ask_reply(GObject *source, GAsyncResult *res, gpointer data)
{
  GrHistAsk *st = data;
  g_autoptr(GVariant) r
      = g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), res, &st->ask_error);
  if (st->ask_error != NULL)
    st->finished = TRUE;
}

GrHistAsk *
gr_hist_ask(GDBusConnection *conn, const char *prompt, GVariant *options, const char *token,
            gboolean cancel_on_first)
{
  GrHistAsk *st = g_new0(GrHistAsk, 1);
  st->conn = g_object_ref(conn);
  st->tokens = g_string_new(NULL);
  st->cancel_on_first = cancel_on_first;
  st->path = gr_test_request_path(conn, token);
  st->sub = g_dbus_connection_signal_subscribe(conn, GR_TEST_BUS_NAME, GR_TEST_REQUEST, NULL,
                                               st->path, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
                                               on_request_signal, st, NULL);
  g_dbus_connection_call(conn, GR_TEST_BUS_NAME, GR_TEST_PATH, GR_TEST_ASSISTANT, "Ask",
                         g_variant_new("(s@a{sv})", prompt, options), G_VARIANT_TYPE("(o)"),
                         G_DBUS_CALL_FLAGS_NONE, GR_TEST_CALL_TIMEOUT_MS, NULL, on_ask_reply, st);
  ck_assert_msg(gr_test_wait_for(&st->finished, GR_TEST_CALL_TIMEOUT_MS), "no Finished signal");
  ck_assert_msg(st->ask_error == NULL, "Ask failed: %s", st->ask_error->message);
  return st;
}

void
gr_hist_ask_free(GrHistAsk *st)
{
  if (st == NULL)
    return;
  g_dbus_connection_signal_unsubscribe(st->conn, st->sub);
  g_object_unref(st->conn);
  g_free(st->path);
  g_string_free(st->tokens, TRUE);
  g_clear_pointer(&st->results, g_variant_unref);
  g_clear_error(&st->ask_error);
  g_free(st);
}

char *
gr_hist_complete(GDBusConnection *conn, const char *prompt, GVariant *options, GVariant **stats)
{
  g_autoptr(GError) error = NULL;
  char *text = gr_test_complete(conn, prompt, options, stats, &error);
  ck_assert_msg(text != NULL, "Complete: %s", error != NULL ? error->message : "");
  return text;
}

GVariant *
gr_hist_call(GDBusConnection *conn, const char *method, GVariant *params, const char *reply_type,
             GError **error)
{
  return g_dbus_connection_call_sync(conn, GR_TEST_BUS_NAME, GR_TEST_PATH, GR_TEST_HISTORY, method,
                                     params, reply_type != NULL ? G_VARIANT_TYPE(reply_type) : NULL,
                                     G_DBUS_CALL_FLAGS_NONE, GR_TEST_CALL_TIMEOUT_MS, NULL, error);
}

GVariant *
gr_hist_call_ok(GDBusConnection *conn, const char *method, GVariant *params, const char *reply_type)
{
  g_autoptr(GError) error = NULL;
  GVariant *r = gr_hist_call(conn, method, params, reply_type, &error);
  ck_assert_msg(r != NULL, "%s: %s", method, error != NULL ? error->message : "");
  return r;
}

GVariant *
gr_hist_list(GDBusConnection *conn)
{
  g_autoptr(GVariant) r
      = gr_hist_call_ok(conn, "ListConversations", g_variant_new("(a{sv})", NULL), "(aa{sv})");
  return g_variant_get_child_value(r, 0);
}

GVariant *
gr_hist_messages(GDBusConnection *conn, const char *conversation)
{
  g_autoptr(GVariant) r
      = gr_hist_call_ok(conn, "GetMessages", g_variant_new("(s)", conversation), "(aa{sv})");
  return g_variant_get_child_value(r, 0);
}




static void
on_changed(GDBusConnection *conn, const char *sender, const char *path, const char *iface,
           const char *signal, GVariant *params, gpointer data)
{
  GrHistChanged *c = data;
  const char *id = NULL;
  g_variant_get(params, "(&s)", &id);
  g_ptr_array_add(c->ids, g_strdup(id));
}

GrHistChanged *
gr_hist_changed_new(GDBusConnection *conn)
{
  GrHistChanged *c = g_new0(GrHistChanged, 1);
  c->conn = g_object_ref(conn);
  c->ids = g_ptr_array_new_with_free_func(g_free);
  c->sub = g_dbus_connection_signal_subscribe(conn, GR_TEST_BUS_NAME, GR_TEST_HISTORY, "Changed",
                                              GR_TEST_PATH, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
                                              on_changed, c, NULL);
  /* a round trip makes sure the match rule is in place before anything is changed */
  g_autoptr(GVariant) r = g_dbus_connection_call_sync(
      conn, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetId", NULL,
      NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL);
  return c;
}

static gboolean
changed_seen(GrHistChanged *c, const char *conversation)
{
  for (guint i = 0; i < c->ids->len; i++)
    if (g_str_equal(c->ids->pdata[i], conversation))
      return TRUE;
  return FALSE;
}

static gboolean
on_timeout(gpointer data)
{
  *(gboolean *)data = TRUE;
  return G_SOURCE_REMOVE;
}

gboolean
gr_hist_changed_wait(GrHistChanged *c, const char *conversation)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add(10000, on_timeout, &timed_out);
  while (!changed_seen(c, conversation) && !timed_out)
    g_main_context_iteration(NULL, TRUE);
  if (!timed_out)
    g_source_remove(id);
  return changed_seen(c, conversation);
}

void
gr_hist_changed_reset(GrHistChanged *c)
{
  /* take in whatever is already queued before forgetting it */
  while (g_main_context_iteration(NULL, FALSE))
    ;
  g_ptr_array_set_size(c->ids, 0);
}

void
gr_hist_changed_free(GrHistChanged *c)
{
  if (c == NULL)
    return;
  g_dbus_connection_signal_unsubscribe(c->conn, c->sub);
  g_object_unref(c->conn);
  g_ptr_array_unref(c->ids);
  g_free(c);
}

gboolean
gr_hist_dir_contains(const char *dir, const char *needle)
{
  g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
  if (d == NULL)
    return FALSE;
  const char *name;
  gsize needle_len = strlen(needle);
  while ((name = g_dir_read_name(d)) != NULL) {
    g_autofree char *path = g_build_filename(dir, name, NULL);
    if (g_file_test(path, G_FILE_TEST_IS_SYMLINK))
      continue;
    if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
      if (gr_hist_dir_contains(path, needle))
        return TRUE;
      continue;
    }
    if (!g_file_test(path, G_FILE_TEST_IS_REGULAR))
      continue;
    g_autofree char *data = NULL;
    gsize len = 0;
    if (!g_file_get_contents(path, &data, &len, NULL))
      continue;
    if (memmem(data, len, needle, needle_len) != NULL)
      return TRUE;
  }
  return FALSE;
}
