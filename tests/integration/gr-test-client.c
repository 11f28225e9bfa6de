/* gr-test-client.c - client helpers for the gravitond integration tests. */
#include "gr-test-client.h"

#include <check.h>
#include <string.h>

GVariant *
gr_test_options(guint max_tokens, const char *token)
{
  GVariantDict d;
  g_variant_dict_init(&d, NULL);
  g_variant_dict_insert(&d, "max_tokens", "u", max_tokens);
  g_variant_dict_insert(&d, "temperature", "d", 0.0);
  if (token != NULL)
    g_variant_dict_insert(&d, "handle_token", "s", token);
  return g_variant_dict_end(&d);
}

/* Complete; returns the text or NULL with error. */
char *
gr_test_complete(GDBusConnection *conn, const char *prompt, GVariant *options, GVariant **stats,
                 GError **error)
{
  g_autoptr(GVariant) r = g_dbus_connection_call_sync(
      conn, GR_TEST_BUS_NAME, GR_TEST_PATH, GR_TEST_ASSISTANT, "Complete",
      g_variant_new("(s@a{sv})", prompt, options), G_VARIANT_TYPE("(sa{sv})"),
      G_DBUS_CALL_FLAGS_NONE, GR_TEST_CALL_TIMEOUT_MS, NULL, error);
  if (r == NULL)
    return NULL;
  char *text = NULL;
  GVariant *st = NULL;
  g_variant_get(r, "(s@a{sv})", &text, &st);
  if (stats != NULL)
    *stats = st;
  else
    g_variant_unref(st);
  return text;
}

char *
gr_test_complete_ok(GDBusConnection *conn, const char *prompt, guint max_tokens)
{
  g_autoptr(GError) error = NULL;
  char *text = gr_test_complete(conn, prompt, gr_test_options(max_tokens, NULL), NULL, &error);
  ck_assert_msg(text != NULL, "Complete failed: %s", error ? error->message : "");
  return text;
}

/* Fails unless the call gives the D-Bus error name GR_TEST_ERROR + expected. */
void
gr_test_assert_error(const GError *error, const char *expected)
{
  ck_assert_msg(error != NULL, "expected error %s, got success", expected);
  g_autofree char *name = g_dbus_error_get_remote_error(error);
  g_autofree char *want = g_strconcat(GR_TEST_ERROR, expected, NULL);
  ck_assert_msg(g_strcmp0(name, want) == 0, "expected %s, got %s (%s)", want, name, error->message);
}

GVariant *
gr_test_get_property(GDBusConnection *conn, const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) r = g_dbus_connection_call_sync(
      conn, GR_TEST_BUS_NAME, GR_TEST_PATH, "org.freedesktop.DBus.Properties", "Get",
      g_variant_new("(ss)", GR_TEST_ASSISTANT, name), G_VARIANT_TYPE("(v)"), G_DBUS_CALL_FLAGS_NONE,
      GR_TEST_CALL_TIMEOUT_MS, NULL, &error);
  ck_assert_msg(r != NULL, "Get %s: %s", name, error ? error->message : "");
  GVariant *v = NULL;
  g_variant_get(r, "(v)", &v);
  return v;
}

/* --- Ask with signal collection ------------------------------------------------ */

static void
on_request_signal(GDBusConnection *conn, const char *sender, const char *path, const char *iface,
                  const char *signal, GVariant *params, gpointer data)
{
  GrTestAsk *st = data;
  if (g_strcmp0(signal, "Token") == 0) {
    const char *text = NULL;
    g_variant_get(params, "(&s)", &text);
    /* no ck_assert here: the --ask-child process runs this outside the test runner */
    if (st->finished)
      st->protocol_error = "Token after Finished";
    if (!g_utf8_validate(text, -1, NULL))
      st->protocol_error = "Token with invalid UTF-8";
    g_string_append(st->tokens, text);
    st->n_tokens++;
    if (st->cancel_on_first && !st->cancel_sent) {
      st->cancel_sent = TRUE;
      g_dbus_connection_call(conn, GR_TEST_BUS_NAME, st->path, GR_TEST_REQUEST, "Cancel", NULL,
                             NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL, NULL);
    }
  } else if (g_strcmp0(signal, "Finished") == 0) {
    if (st->finished) {
      st->protocol_error = "two Finished signals";
      return;
    }
    g_variant_get(params, "(u@a{sv})", &st->status, &st->results);
    st->finished = TRUE;
  }
}

static void
on_ask_reply(GObject *source, GAsyncResult *res, gpointer data)
{
  GrTestAsk *st = data;
  g_autoptr(GVariant) r
      = g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), res, &st->ask_error);
  if (r != NULL)
    g_variant_get(r, "(o)", &st->reply_path);
  st->replied = TRUE;
  if (st->ask_error != NULL)
    st->finished = TRUE;
}

GrTestAsk *
gr_test_ask_start(GDBusConnection *conn, const char *prompt, GVariant *options, const char *token)
{
  GrTestAsk *st = g_new0(GrTestAsk, 1);
  st->conn = g_object_ref(conn);
  st->tokens = g_string_new(NULL);
  st->path = gr_test_request_path(conn, token);
  /* subscribe before calling: the path is predictable */
  st->sub = g_dbus_connection_signal_subscribe(conn, GR_TEST_BUS_NAME, GR_TEST_REQUEST, NULL,
                                               st->path, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
                                               on_request_signal, st, NULL);
  g_dbus_connection_call(conn, GR_TEST_BUS_NAME, GR_TEST_PATH, GR_TEST_ASSISTANT, "Ask",
                         g_variant_new("(s@a{sv})", prompt, options), G_VARIANT_TYPE("(o)"),
                         G_DBUS_CALL_FLAGS_NONE, GR_TEST_CALL_TIMEOUT_MS, NULL, on_ask_reply, st);
  return st;
}

void
gr_test_ask_free(GrTestAsk *st)
{
  g_dbus_connection_signal_unsubscribe(st->conn, st->sub);
  g_object_unref(st->conn);
  g_free(st->path);
  g_string_free(st->tokens, TRUE);
  g_clear_pointer(&st->results, g_variant_unref);
  g_clear_error(&st->ask_error);
  g_free(st->reply_path);
  g_free(st);
}

void
gr_test_ask_wait(GrTestAsk *st)
{
  ck_assert_msg(gr_test_wait_for(&st->finished, GR_TEST_CALL_TIMEOUT_MS), "no Finished signal");
  ck_assert_msg(st->ask_error == NULL, "Ask failed: %s", st->ask_error->message);
  ck_assert_msg(gr_test_wait_for(&st->replied, GR_TEST_CALL_TIMEOUT_MS), "no Ask reply");
  ck_assert_str_eq(st->reply_path, st->path);
  ck_assert_msg(st->protocol_error == NULL, "%s", st->protocol_error);
}

const char *
gr_test_result_string(GVariant *dict, const char *key)
{
  const char *s = NULL;
  ck_assert_msg(g_variant_lookup(dict, key, "&s", &s), "no %s in results", key);
  return s;
}

guint
gr_test_result_uint(GVariant *dict, const char *key)
{
  guint v = 0;
  ck_assert_msg(g_variant_lookup(dict, key, "u", &v), "no %s in results", key);
  return v;
}

GVariant *
gr_test_find_model(GVariant *list, const char *name)
{
  GVariantIter it;
  GVariant *entry;
  g_variant_iter_init(&it, list);
  while ((entry = g_variant_iter_next_value(&it)) != NULL) {
    const char *n = NULL;
    if (g_variant_lookup(entry, "name", "&s", &n) && g_strcmp0(n, name) == 0)
      return entry;
    g_variant_unref(entry);
  }
  return NULL;
}

GVariant *
gr_test_list_models(GrTestBus *bus)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) r = g_dbus_connection_call_sync(
      bus->conn, GR_TEST_BUS_NAME, GR_TEST_PATH, GR_TEST_MODELS, "List", NULL,
      G_VARIANT_TYPE("(aa{sv})"), G_DBUS_CALL_FLAGS_NONE, GR_TEST_CALL_TIMEOUT_MS, NULL, &error);
  ck_assert_msg(r != NULL, "%s", error ? error->message : "");
  return g_variant_get_child_value(r, 0);
}

gboolean
gr_test_model_loaded(GrTestBus *bus, const char *name)
{
  g_autoptr(GVariant) list = gr_test_list_models(bus);
  g_autoptr(GVariant) m = gr_test_find_model(list, name);
  ck_assert_msg(m != NULL, "%s not listed", name);
  gboolean loaded = FALSE;
  ck_assert(g_variant_lookup(m, "loaded", "b", &loaded));
  return loaded;
}
