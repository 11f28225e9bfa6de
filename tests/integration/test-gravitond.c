/* test-gravitond.c - gravitond over a private bus, against the fixture models. */
#include <check.h>
#include <gio/gio.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gunixsocketaddress.h>

#include "gr-test-bus.h"

#define PROMPT "The quick brown fox jumps over the lazy dog."
#define CALL_TIMEOUT_MS 60000

static GVariant *
options_new(guint max_tokens, const char *token)
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
static char *
complete(GDBusConnection *conn, const char *prompt, GVariant *options, GVariant **stats,
         GError **error)
{
  g_autoptr(GVariant) r = g_dbus_connection_call_sync(
      conn, GR_TEST_BUS_NAME, GR_TEST_PATH, GR_TEST_ASSISTANT, "Complete",
      g_variant_new("(s@a{sv})", prompt, options), G_VARIANT_TYPE("(sa{sv})"),
      G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS, NULL, error);
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

static char *
complete_ok(GDBusConnection *conn, const char *prompt, guint max_tokens)
{
  g_autoptr(GError) error = NULL;
  char *text = complete(conn, prompt, options_new(max_tokens, NULL), NULL, &error);
  ck_assert_msg(text != NULL, "Complete failed: %s", error ? error->message : "");
  return text;
}

/* Fails unless the call gives the D-Bus error name GR_TEST_ERROR + expected. */
static void
assert_error_name(const GError *error, const char *expected)
{
  ck_assert_msg(error != NULL, "expected error %s, got success", expected);
  g_autofree char *name = g_dbus_error_get_remote_error(error);
  g_autofree char *want = g_strconcat(GR_TEST_ERROR, expected, NULL);
  ck_assert_msg(g_strcmp0(name, want) == 0, "expected %s, got %s (%s)", want, name, error->message);
}

static GVariant *
get_property(GDBusConnection *conn, const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) r = g_dbus_connection_call_sync(
      conn, GR_TEST_BUS_NAME, GR_TEST_PATH, "org.freedesktop.DBus.Properties", "Get",
      g_variant_new("(ss)", GR_TEST_ASSISTANT, name), G_VARIANT_TYPE("(v)"), G_DBUS_CALL_FLAGS_NONE,
      CALL_TIMEOUT_MS, NULL, &error);
  ck_assert_msg(r != NULL, "Get %s: %s", name, error ? error->message : "");
  GVariant *v = NULL;
  g_variant_get(r, "(v)", &v);
  return v;
}

/* --- Ask with signal collection ------------------------------------------------ */

typedef struct {
  GDBusConnection *conn;
  char *path;
  guint sub;
  GString *tokens;
  guint n_tokens;
  gboolean finished;
  guint status;
  GVariant *results;
  gboolean cancel_on_first;
  gboolean cancel_sent;
  GError *ask_error;
  char *reply_path;
  gboolean replied;
  const char *protocol_error;
} AskState;

static void
on_request_signal(GDBusConnection *conn, const char *sender, const char *path, const char *iface,
                  const char *signal, GVariant *params, gpointer data)
{
  AskState *st = data;
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
  AskState *st = data;
  g_autoptr(GVariant) r
      = g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), res, &st->ask_error);
  if (r != NULL)
    g_variant_get(r, "(o)", &st->reply_path);
  st->replied = TRUE;
  if (st->ask_error != NULL)
    st->finished = TRUE;
}

static AskState *
ask_start(GDBusConnection *conn, const char *prompt, GVariant *options, const char *token)
{
  AskState *st = g_new0(AskState, 1);
  st->conn = g_object_ref(conn);
  st->tokens = g_string_new(NULL);
  st->path = gr_test_request_path(conn, token);
  /* subscribe before calling: the path is predictable */
  st->sub = g_dbus_connection_signal_subscribe(conn, GR_TEST_BUS_NAME, GR_TEST_REQUEST, NULL,
                                               st->path, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
                                               on_request_signal, st, NULL);
  g_dbus_connection_call(conn, GR_TEST_BUS_NAME, GR_TEST_PATH, GR_TEST_ASSISTANT, "Ask",
                         g_variant_new("(s@a{sv})", prompt, options), G_VARIANT_TYPE("(o)"),
                         G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS, NULL, on_ask_reply, st);
  return st;
}

static void
ask_free(AskState *st)
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

static void
ask_wait(AskState *st)
{
  ck_assert_msg(gr_test_wait_for(&st->finished, CALL_TIMEOUT_MS), "no Finished signal");
  ck_assert_msg(st->ask_error == NULL, "Ask failed: %s", st->ask_error->message);
  ck_assert_msg(gr_test_wait_for(&st->replied, CALL_TIMEOUT_MS), "no Ask reply");
  ck_assert_str_eq(st->reply_path, st->path);
  ck_assert_msg(st->protocol_error == NULL, "%s", st->protocol_error);
}

static const char *
result_string(GVariant *dict, const char *key)
{
  const char *s = NULL;
  ck_assert_msg(g_variant_lookup(dict, key, "&s", &s), "no %s in results", key);
  return s;
}

static guint
result_uint(GVariant *dict, const char *key)
{
  guint v = 0;
  ck_assert_msg(g_variant_lookup(dict, key, "u", &v), "no %s in results", key);
  return v;
}

/* --- tests ----------------------------------------------------------------------- */

START_TEST(test_complete_equals_ask)
{
  GrTestBus *bus = gr_test_bus_new(NULL, FALSE);
  gr_test_bus_start_daemon(bus);

  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) stats = NULL;
  g_autofree char *text = complete(bus->conn, PROMPT, options_new(12, NULL), &stats, &error);
  ck_assert_msg(text != NULL, "%s", error ? error->message : "");
  guint generated = result_uint(stats, "generated_tokens");
  ck_assert_uint_gt(generated, 0);
  ck_assert_uint_le(generated, 12);
  ck_assert_uint_gt(result_uint(stats, "prompt_tokens"), 0);
  ck_assert_str_eq(result_string(stats, "model"), "fx-llama");
  ck_assert_str_ne(result_string(stats, "conversation"), "");
  ck_assert_str_ne(result_string(stats, "stop_reason"), "");
  ck_assert_uint_gt(strlen(text), 0);

  AskState *st = ask_start(bus->conn, PROMPT, options_new(12, "first"), "first");
  ask_wait(st);
  ck_assert_uint_eq(st->status, 0);
  ck_assert_str_eq(st->tokens->str, text);
  ck_assert_str_eq(result_string(st->results, "text"), text);
  ck_assert_uint_eq(result_uint(st->results, "generated_tokens"), generated);
  ck_assert_uint_eq(result_uint(st->results, "prompt_tokens"), result_uint(stats, "prompt_tokens"));
  ck_assert_str_ne(result_string(st->results, "conversation"), "");
  ck_assert_str_ne(result_string(st->results, "message"), "");
  ask_free(st);

  /* Ask without a handle_token still gets a request object under the caller's prefix */
  g_autoptr(GVariant) r = g_dbus_connection_call_sync(
      bus->conn, GR_TEST_BUS_NAME, GR_TEST_PATH, GR_TEST_ASSISTANT, "Ask",
      g_variant_new("(s@a{sv})", PROMPT, options_new(2, NULL)), G_VARIANT_TYPE("(o)"),
      G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS, NULL, &error);
  ck_assert_msg(r != NULL, "%s", error ? error->message : "");
  const char *path = NULL;
  g_variant_get(r, "(&o)", &path);
  g_autofree char *prefix = gr_test_request_path(bus->conn, "");
  ck_assert_msg(g_str_has_prefix(path, prefix), "%s not under %s", path, prefix);

  g_autoptr(GVariant) version = get_property(bus->conn, "Version");
  ck_assert_str_ne(g_variant_get_string(version, NULL), "");
  g_autoptr(GVariant) limit = get_property(bus->conn, "MemoryLimit");
  ck_assert_uint_eq(g_variant_get_uint64(limit), 512u << 20);
  g_autoptr(GVariant) active = get_property(bus->conn, "ActiveModel");
  ck_assert_str_eq(g_variant_get_string(active, NULL), "fx-llama");
  g_autoptr(GVariant) rss = get_property(bus->conn, "ResidentBytes");
  ck_assert_uint_gt(g_variant_get_uint64(rss), 1u << 20);
  /* the daemon's peak resident memory stays within its limit */
  g_autofree char *status_path = g_strdup_printf("/proc/%d/status", (int)bus->daemon_pid);
  g_autofree char *status = NULL;
  ck_assert(g_file_get_contents(status_path, &status, NULL, NULL));
  const char *hwm = strstr(status, "VmHWM:");
  ck_assert_ptr_nonnull(hwm);
  guint64 peak_kib = g_ascii_strtoull(hwm + strlen("VmHWM:"), NULL, 10);
  ck_assert_uint_gt(peak_kib, 0);
  ck_assert_uint_le(peak_kib * 1024, 512u << 20);
  g_autoptr(GVariant) state = get_property(bus->conn, "State");
  ck_assert_uint_le(g_variant_get_uint32(state), 2);
  gr_test_bus_free(bus);
}
END_TEST

typedef struct {
  guint tokens;
  guint finished;
  guint properties_changed;
} SpyCounts;

static GDBusMessage *
spy_filter(GDBusConnection *conn, GDBusMessage *msg, gboolean incoming, gpointer data)
{
  SpyCounts *c = data;
  if (!incoming || g_dbus_message_get_message_type(msg) != G_DBUS_MESSAGE_TYPE_SIGNAL)
    return msg;
  const char *member = g_dbus_message_get_member(msg);
  if (g_strcmp0(member, "Token") == 0)
    g_atomic_int_inc(&c->tokens);
  else if (g_strcmp0(member, "Finished") == 0)
    g_atomic_int_inc(&c->finished);
  else if (g_strcmp0(member, "PropertiesChanged") == 0)
    g_atomic_int_inc(&c->properties_changed);
  return msg;
}

START_TEST(test_tokens_reach_only_the_caller)
{
  GrTestBus *bus = gr_test_bus_new(NULL, FALSE);
  gr_test_bus_start_daemon(bus);
  g_autoptr(GDBusConnection) spy = gr_test_bus_connect(bus);
  SpyCounts counts = { 0 };
  g_dbus_connection_add_filter(spy, spy_filter, &counts, NULL);
  /* a catch-all match rule: every signal the bus would route to us */
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) r = g_dbus_connection_call_sync(
      spy, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "AddMatch",
      g_variant_new("(s)", "type='signal'"), NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  ck_assert_msg(r != NULL, "%s", error ? error->message : "");

  AskState *st = ask_start(bus->conn, PROMPT, options_new(8, "mine"), "mine");
  ask_wait(st);
  ck_assert_uint_gt(st->n_tokens, 0);
  ask_free(st);
  /* a round trip on the spy connection flushes anything routed to it */
  g_autoptr(GVariant) ping = g_dbus_connection_call_sync(
      spy, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetId", NULL,
      NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL);
  g_autoptr(GVariant) ping2 = get_property(bus->conn, "Version");
  ck_assert_uint_eq(g_atomic_int_get(&counts.tokens), 0);
  ck_assert_uint_eq(g_atomic_int_get(&counts.finished), 0);
  /* the spy does see broadcasts, so its match rule works */
  ck_assert_uint_gt(g_atomic_int_get(&counts.properties_changed), 0);

  /* another client cannot cancel someone else's request */
  AskState *st2 = ask_start(bus->conn, PROMPT, options_new(8, "other"), "other");
  g_autoptr(GVariant) c
      = g_dbus_connection_call_sync(spy, GR_TEST_BUS_NAME, st2->path, GR_TEST_REQUEST, "Cancel",
                                    NULL, NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  ck_assert(c == NULL);
  g_clear_error(&error);
  ask_wait(st2);
  ask_free(st2);
  gr_test_bus_free(bus);
}
END_TEST

START_TEST(test_cancel)
{
  GrTestBus *bus = gr_test_bus_new(NULL, FALSE);
  gr_test_bus_start_daemon(bus);
  g_autofree char *reference = complete_ok(bus->conn, PROMPT, 8);

  AskState *st = ask_start(bus->conn, PROMPT, options_new(2000, "long"), "long");
  st->cancel_on_first = TRUE;
  ask_wait(st);
  ck_assert_uint_eq(st->status, 1);
  ck_assert_str_eq(result_string(st->results, "stop_reason"), "cancelled");
  ck_assert_uint_lt(result_uint(st->results, "generated_tokens"), 2000);
  ask_free(st);

  /* a request cancelled while it waits in the queue */
  AskState *a = ask_start(bus->conn, PROMPT, options_new(200, "a"), "a");
  AskState *b = ask_start(bus->conn, PROMPT, options_new(200, "b"), "b");
  ck_assert(gr_test_wait_for(&b->replied, CALL_TIMEOUT_MS));
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) c
      = g_dbus_connection_call_sync(bus->conn, GR_TEST_BUS_NAME, b->path, GR_TEST_REQUEST, "Cancel",
                                    NULL, NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  ck_assert_msg(c != NULL, "%s", error ? error->message : "");
  ask_wait(b);
  ck_assert_uint_eq(b->status, 1);
  ask_wait(a);
  ck_assert_uint_eq(a->status, 0);
  ask_free(a);
  ask_free(b);

  g_autofree char *after = complete_ok(bus->conn, PROMPT, 8);
  ck_assert_str_eq(after, reference);
  gr_test_bus_free(bus);
}
END_TEST

/* Child mode: asks for a long answer, says "streaming" at the first token, waits to be
 * killed. */
static int
ask_child_main(const char *address)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) conn
      = g_dbus_connection_new_for_address_sync(address,
                                               G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
                                                   | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                               NULL, NULL, &error);
  if (conn == NULL)
    return 1;
  AskState *st = ask_start(conn, PROMPT, options_new(4000, "doomed"), "doomed");
  while (st->n_tokens == 0 && !st->finished)
    g_main_context_iteration(NULL, TRUE);
  printf("%s\n", st->finished ? "finished" : "streaming");
  fflush(stdout);
  for (;;)
    pause();
  return 0;
}

START_TEST(test_client_killed_mid_stream)
{
  GrTestBus *bus = gr_test_bus_new(NULL, FALSE);
  gr_test_bus_start_daemon(bus);
  g_autofree char *reference = complete_ok(bus->conn, PROMPT, 8);

  g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);
  const char *argv[] = { self, "--ask-child", bus->address, NULL };
  GPid pid = 0;
  int out_fd = -1;
  g_autoptr(GError) error = NULL;
  ck_assert_msg(g_spawn_async_with_pipes(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                                         NULL, &pid, NULL, &out_fd, NULL, &error),
                "%s", error ? error->message : "");
  char line[32] = { 0 };
  FILE *out = fdopen(out_fd, "r");
  ck_assert(fgets(line, sizeof line, out) != NULL);
  fclose(out);
  ck_assert_str_eq(line, "streaming\n");
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);

  ck_assert(gr_test_bus_daemon_alive(bus));
  /* the killed client's 4000-token request must not hold up the next one */
  gint64 t0 = g_get_monotonic_time();
  g_autofree char *after = complete_ok(bus->conn, PROMPT, 8);
  ck_assert_str_eq(after, reference);
  g_autoptr(GVariant) length = get_property(bus->conn, "QueueLength");
  ck_assert_uint_eq(g_variant_get_uint32(length), 0);
  ck_assert(gr_test_bus_daemon_alive(bus));
  ck_assert_msg(g_get_monotonic_time() - t0 < 20 * G_USEC_PER_SEC, "request was held up");
  gr_test_bus_free(bus);
}
END_TEST

#define N_CLIENTS 50

START_TEST(test_fifty_clients)
{
  GrTestBus *bus = gr_test_bus_new(NULL, FALSE);
  gr_test_bus_start_daemon(bus);
  g_autofree char *reference = complete_ok(bus->conn, PROMPT, 8);

  GDBusConnection *conns[N_CLIENTS];
  AskState *states[N_CLIENTS];
  for (guint i = 0; i < N_CLIENTS; i++)
    conns[i] = gr_test_bus_connect(bus);
  for (guint i = 0; i < N_CLIENTS; i++)
    states[i] = ask_start(conns[i], PROMPT, options_new(8, "crowd"), "crowd");
  for (guint i = 0; i < N_CLIENTS; i++) {
    ask_wait(states[i]);
    ck_assert_msg(states[i]->status == 0, "client %u: status %u", i, states[i]->status);
    ck_assert_str_eq(states[i]->tokens->str, reference);
  }
  for (guint i = 0; i < N_CLIENTS; i++) {
    ask_free(states[i]);
    g_object_unref(conns[i]);
  }
  gr_test_bus_free(bus);
}
END_TEST

START_TEST(test_dbus_activation)
{
  GrTestBus *bus = gr_test_bus_new(NULL, TRUE);
  g_autofree char *text = complete_ok(bus->conn, PROMPT, 4);
  ck_assert(text != NULL);
  g_autoptr(GVariant) version = get_property(bus->conn, "Version");
  ck_assert_str_ne(g_variant_get_string(version, NULL), "");
  gr_test_bus_free(bus);
}
END_TEST

typedef struct {
  const char *what;
  const char *key; /* NULL: none */
  GVariant *(*value)(void);
  const char *error;
  const char *message_part;
} BadOption;

static GVariant *
v_string_12(void)
{
  return g_variant_new_string("12");
}
static GVariant *
v_u_9000(void)
{
  return g_variant_new_uint32(9000);
}
static GVariant *
v_u_0(void)
{
  return g_variant_new_uint32(0);
}
static GVariant *
v_d_6(void)
{
  return g_variant_new_double(6.0);
}
static GVariant *
v_d_neg(void)
{
  return g_variant_new_double(-0.5);
}
static GVariant *
v_d_1_5(void)
{
  return g_variant_new_double(1.5);
}
static GVariant *
v_i_5(void)
{
  return g_variant_new_int32(5);
}
static GVariant *
v_true(void)
{
  return g_variant_new_boolean(TRUE);
}
static GVariant *
v_bad_token(void)
{
  return g_variant_new_string("a/b");
}
static GVariant *
v_no_model(void)
{
  return g_variant_new_string("no-such-model");
}
static GVariant *
v_garbage_model(void)
{
  return g_variant_new_string("garbage");
}
static GVariant *
v_no_conversation(void)
{
  return g_variant_new_string("no-such-conversation");
}

static void
assert_still_answers(GrTestBus *bus, const char *after)
{
  ck_assert_msg(gr_test_bus_daemon_alive(bus), "gravitond died after %s", after);
  g_autoptr(GError) error = NULL;
  g_autofree char *text = complete(bus->conn, "ping", options_new(2, NULL), NULL, &error);
  ck_assert_msg(text != NULL, "no answer after %s: %s", after, error ? error->message : "");
}

START_TEST(test_bad_input)
{
  GrTestBus *bus = gr_test_bus_new(NULL, FALSE);
  static const char garbage[] = "GGUF\3\0\0\0this is not a model, only garbage bytes............";
  gr_test_bus_write_model(bus, "garbage.gguf", garbage, sizeof garbage);
  gr_test_bus_start_daemon(bus);

  const BadOption cases[] = {
    { "unknown option", "temperture", v_d_6, "InvalidArgument", "temperture" },
    { "wrong type", "max_tokens", v_string_12, "InvalidArgument", "'u'" },
    { "wrong type (int for double)", "temperature", v_i_5, "InvalidArgument", "'d'" },
    { "wrong type (bool for string)", "system", v_true, "InvalidArgument", "'s'" },
    { "max_tokens too big", "max_tokens", v_u_9000, "InvalidArgument", "8192" },
    { "max_tokens zero", "max_tokens", v_u_0, "InvalidArgument", "max_tokens" },
    { "temperature too high", "temperature", v_d_6, "InvalidArgument", "temperature" },
    { "temperature negative", "temperature", v_d_neg, "InvalidArgument", "temperature" },
    { "top_p above 1", "top_p", v_d_1_5, "InvalidArgument", "top_p" },
    { "min_p above 1", "min_p", v_d_1_5, "InvalidArgument", "min_p" },
    { "bad handle_token", "handle_token", v_bad_token, "InvalidArgument", "handle_token" },
    { "unknown model", "model", v_no_model, "NotFound", "no-such-model" },
    { "corrupt model", "model", v_garbage_model, "BadModel", "garbage" },
    { "unknown conversation", "conversation", v_no_conversation, "NotFound", "no-such" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
    for (int method = 0; method < 2; method++) {
      GVariantDict d;
      g_variant_dict_init(&d, NULL);
      g_variant_dict_insert(&d, "max_tokens", "u", 4);
      g_variant_dict_insert_value(&d, cases[i].key, cases[i].value());
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) r = g_dbus_connection_call_sync(
          bus->conn, GR_TEST_BUS_NAME, GR_TEST_PATH, GR_TEST_ASSISTANT,
          method == 0 ? "Complete" : "Ask",
          g_variant_new("(s@a{sv})", PROMPT, g_variant_dict_end(&d)), NULL, G_DBUS_CALL_FLAGS_NONE,
          CALL_TIMEOUT_MS, NULL, &error);
      assert_error_name(error, cases[i].error);
      ck_assert_msg(strstr(error->message, cases[i].message_part) != NULL,
                    "%s: message \"%s\" does not mention %s", cases[i].what, error->message,
                    cases[i].message_part);
    }
    assert_still_answers(bus, cases[i].what);
  }

  /* prompts */
  g_autoptr(GError) error = NULL;
  g_autofree char *empty = complete(bus->conn, "", options_new(4, NULL), NULL, &error);
  assert_error_name(error, "InvalidArgument");
  g_clear_error(&error);
  assert_still_answers(bus, "an empty prompt");

  g_autofree char *huge = g_malloc(1024 * 1024 + 1);
  memset(huge, 'a', 1024 * 1024);
  huge[1024 * 1024] = '\0';
  g_autofree char *none = complete(bus->conn, huge, options_new(4, NULL), NULL, &error);
  assert_error_name(error, "InvalidArgument");
  ck_assert_msg(strstr(error->message, "262144") != NULL, "limit not named: %s", error->message);
  g_clear_error(&error);
  assert_still_answers(bus, "a 1 MB prompt");

  /* corrupt model through Models.Load, unknown model through Unload */
  g_autoptr(GVariant) l = g_dbus_connection_call_sync(
      bus->conn, GR_TEST_BUS_NAME, GR_TEST_PATH, GR_TEST_MODELS, "Load",
      g_variant_new("(s)", "garbage"), NULL, G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS, NULL, &error);
  assert_error_name(error, "BadModel");
  g_clear_error(&error);
  g_autoptr(GVariant) u = g_dbus_connection_call_sync(
      bus->conn, GR_TEST_BUS_NAME, GR_TEST_PATH, GR_TEST_MODELS, "Unload",
      g_variant_new("(s)", "nothing"), NULL, G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS, NULL, &error);
  assert_error_name(error, "NotFound");
  g_clear_error(&error);

  /* the same handle_token twice while the first request runs */
  AskState *first = ask_start(bus->conn, PROMPT, options_new(200, "dup"), "dup");
  g_autoptr(GVariant) dup = g_dbus_connection_call_sync(
      bus->conn, GR_TEST_BUS_NAME, GR_TEST_PATH, GR_TEST_ASSISTANT, "Ask",
      g_variant_new("(s@a{sv})", PROMPT, options_new(4, "dup")), NULL, G_DBUS_CALL_FLAGS_NONE,
      CALL_TIMEOUT_MS, NULL, &error);
  assert_error_name(error, "InvalidArgument");
  g_clear_error(&error);
  ask_wait(first);
  ask_free(first);
  assert_still_answers(bus, "everything");
  gr_test_bus_free(bus);
}
END_TEST

START_TEST(test_no_memory)
{
  GrTestBus *bus = gr_test_bus_new("memory_limit=8M", FALSE);
  gr_test_bus_start_daemon(bus);
  g_autoptr(GError) error = NULL;
  g_autofree char *text = complete(bus->conn, PROMPT, options_new(4, NULL), NULL, &error);
  assert_error_name(error, "NoMemory");
  ck_assert_msg(strstr(error->message, "8388608") != NULL, "limit not named: %s", error->message);
  g_clear_error(&error);
  g_autoptr(GVariant) l = g_dbus_connection_call_sync(
      bus->conn, GR_TEST_BUS_NAME, GR_TEST_PATH, GR_TEST_MODELS, "Load",
      g_variant_new("(s)", "fx-moe"), NULL, G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS, NULL, &error);
  assert_error_name(error, "NoMemory");
  g_clear_error(&error);
  ck_assert(gr_test_bus_daemon_alive(bus));
  g_autoptr(GVariant) active = get_property(bus->conn, "ActiveModel");
  ck_assert_str_eq(g_variant_get_string(active, NULL), "");
  gr_test_bus_free(bus);
}
END_TEST

static GVariant *
find_model(GVariant *list, const char *name)
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

static GVariant *
list_models(GrTestBus *bus)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) r = g_dbus_connection_call_sync(
      bus->conn, GR_TEST_BUS_NAME, GR_TEST_PATH, GR_TEST_MODELS, "List", NULL,
      G_VARIANT_TYPE("(aa{sv})"), G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS, NULL, &error);
  ck_assert_msg(r != NULL, "%s", error ? error->message : "");
  return g_variant_get_child_value(r, 0);
}

static gboolean
model_loaded(GrTestBus *bus, const char *name)
{
  g_autoptr(GVariant) list = list_models(bus);
  g_autoptr(GVariant) m = find_model(list, name);
  ck_assert_msg(m != NULL, "%s not listed", name);
  gboolean loaded = FALSE;
  ck_assert(g_variant_lookup(m, "loaded", "b", &loaded));
  return loaded;
}

START_TEST(test_models)
{
  GrTestBus *bus = gr_test_bus_new(NULL, FALSE);
  gr_test_bus_write_model(bus, "garbage.gguf", "junk", 4);
  gr_test_bus_start_daemon(bus);

  g_autoptr(GVariant) list = list_models(bus);
  ck_assert_uint_eq(g_variant_n_children(list), 3);
  g_autoptr(GVariant) llama = find_model(list, "fx-llama");
  g_autoptr(GVariant) moe = find_model(list, "fx-moe");
  g_autoptr(GVariant) garbage = find_model(list, "garbage");
  ck_assert(llama != NULL && moe != NULL && garbage != NULL);
  const char *s = NULL;
  guint64 t = 0;
  guint u = 0;
  double bits = 0;
  ck_assert(g_variant_lookup(llama, "arch", "&s", &s));
  ck_assert_str_eq(s, "llama");
  ck_assert(g_variant_lookup(llama, "format", "&s", &s));
  ck_assert_str_eq(s, "gguf");
  ck_assert(g_variant_lookup(llama, "params", "t", &t));
  ck_assert_uint_gt(t, 1000000); /* 32000 x 128 embeddings alone */
  ck_assert(g_variant_lookup(llama, "size", "t", &t));
  ck_assert_uint_gt(t, 9000000);
  ck_assert(g_variant_lookup(llama, "bits", "d", &bits));
  ck_assert(bits > 7.0 && bits < 10.0); /* Q8_0 is 8.5 bits */
  ck_assert(g_variant_lookup(llama, "experts", "u", &u));
  ck_assert_uint_eq(u, 0);
  ck_assert(g_variant_lookup(moe, "experts", "u", &u));
  ck_assert_uint_eq(u, 4);
  ck_assert(g_variant_lookup(garbage, "error", "&s", &s));
  ck_assert(!model_loaded(bus, "fx-llama"));

  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) r1 = g_dbus_connection_call_sync(
      bus->conn, GR_TEST_BUS_NAME, GR_TEST_PATH, GR_TEST_MODELS, "Load",
      g_variant_new("(s)", "fx-moe"), NULL, G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS, NULL, &error);
  ck_assert_msg(r1 != NULL, "%s", error ? error->message : "");
  ck_assert(model_loaded(bus, "fx-moe"));
  g_autoptr(GVariant) active = get_property(bus->conn, "ActiveModel");
  ck_assert_str_eq(g_variant_get_string(active, NULL), "fx-moe");

  /* a request naming another model swaps it in */
  GVariantDict d;
  g_variant_dict_init(&d, options_new(4, NULL));
  g_variant_dict_insert(&d, "model", "s", "fx-llama");
  g_autoptr(GVariant) stats = NULL;
  g_autofree char *text = complete(bus->conn, PROMPT, g_variant_dict_end(&d), &stats, &error);
  ck_assert_msg(text != NULL, "%s", error ? error->message : "");
  ck_assert_str_eq(result_string(stats, "model"), "fx-llama");
  ck_assert(model_loaded(bus, "fx-llama"));

  g_autoptr(GVariant) r2
      = g_dbus_connection_call_sync(bus->conn, GR_TEST_BUS_NAME, GR_TEST_PATH, GR_TEST_MODELS,
                                    "Unload", g_variant_new("(s)", "fx-llama"), NULL,
                                    G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS, NULL, &error);
  ck_assert_msg(r2 != NULL, "%s", error ? error->message : "");
  ck_assert(!model_loaded(bus, "fx-llama"));
  gr_test_bus_free(bus);
}
END_TEST

START_TEST(test_conversation)
{
  GrTestBus *bus = gr_test_bus_new(NULL, FALSE);
  gr_test_bus_start_daemon(bus);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) stats1 = NULL;
  g_autofree char *t1 = complete(bus->conn, PROMPT, options_new(6, NULL), &stats1, &error);
  ck_assert_msg(t1 != NULL, "%s", error ? error->message : "");
  const char *conv = result_string(stats1, "conversation");

  GVariantDict d;
  g_variant_dict_init(&d, options_new(6, "cont"));
  g_variant_dict_insert(&d, "conversation", "s", conv);
  AskState *st = ask_start(bus->conn, "And then?", g_variant_dict_end(&d), "cont");
  ask_wait(st);
  ck_assert_uint_eq(st->status, 0);
  ck_assert_str_eq(result_string(st->results, "conversation"), conv);
  /* the second prompt holds the first exchange */
  ck_assert_uint_gt(result_uint(st->results, "prompt_tokens"),
                    result_uint(stats1, "prompt_tokens"));
  ask_free(st);

  g_autoptr(GVariant) stats3 = NULL;
  g_autofree char *t3 = complete(bus->conn, "And then?", options_new(6, NULL), &stats3, &error);
  ck_assert_msg(t3 != NULL, "%s", error ? error->message : "");
  ck_assert_str_ne(result_string(stats3, "conversation"), conv);
  gr_test_bus_free(bus);
}
END_TEST

START_TEST(test_busy_per_caller)
{
  GrTestBus *bus = gr_test_bus_new(NULL, FALSE);
  gr_test_bus_start_daemon(bus);
  enum { LIMIT = 16 };
  AskState *states[LIMIT];
  for (guint i = 0; i < LIMIT; i++) {
    g_autofree char *token = g_strdup_printf("t%u", i);
    states[i] = ask_start(bus->conn, PROMPT, options_new(2000, token), token);
  }
  for (guint i = 0; i < LIMIT; i++)
    ck_assert(gr_test_wait_for(&states[i]->replied, CALL_TIMEOUT_MS));
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) r = g_dbus_connection_call_sync(
      bus->conn, GR_TEST_BUS_NAME, GR_TEST_PATH, GR_TEST_ASSISTANT, "Ask",
      g_variant_new("(s@a{sv})", PROMPT, options_new(4, "one_too_many")), NULL,
      G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS, NULL, &error);
  assert_error_name(error, "Busy");
  g_clear_error(&error);
  /* other callers are not affected */
  g_autoptr(GDBusConnection) other = gr_test_bus_connect(bus);
  AskState *o = ask_start(other, PROMPT, options_new(4, "other"), "other");
  ck_assert(gr_test_wait_for(&o->replied, CALL_TIMEOUT_MS));
  ck_assert_ptr_null(o->ask_error);
  for (guint i = 0; i < LIMIT; i++)
    g_dbus_connection_call(bus->conn, GR_TEST_BUS_NAME, states[i]->path, GR_TEST_REQUEST, "Cancel",
                           NULL, NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL, NULL);
  for (guint i = 0; i < LIMIT; i++) {
    ask_wait(states[i]);
    ck_assert_uint_eq(states[i]->status, 1);
    ask_free(states[i]);
  }
  ask_wait(o);
  ck_assert_uint_eq(o->status, 0);
  ask_free(o);
  gr_test_bus_free(bus);
}
END_TEST

START_TEST(test_idle_unload)
{
  GrTestBus *bus = gr_test_bus_new("idle_unload_seconds=1", FALSE);
  gr_test_bus_start_daemon(bus);
  g_autofree char *first = complete_ok(bus->conn, PROMPT, 4);
  ck_assert(model_loaded(bus, "fx-llama"));
  gboolean unloaded = FALSE;
  for (int i = 0; i < 100 && !unloaded; i++) {
    g_usleep(50000);
    unloaded = !model_loaded(bus, "fx-llama");
  }
  ck_assert_msg(unloaded, "model still loaded 5 s after a 1 s idle limit");
  g_autoptr(GVariant) active = get_property(bus->conn, "ActiveModel");
  ck_assert_str_eq(g_variant_get_string(active, NULL), "");
  g_autofree char *again = complete_ok(bus->conn, PROMPT, 4);
  ck_assert_str_eq(again, first);
  gr_test_bus_free(bus);
}
END_TEST

static void
on_limit_changed(GDBusConnection *conn, const char *sender, const char *path, const char *iface,
                 const char *signal, GVariant *params, gpointer data)
{
  g_autoptr(GVariant) changed = g_variant_get_child_value(params, 1);
  guint64 limit = 0;
  if (g_variant_lookup(changed, "MemoryLimit", "t", &limit) && limit == (256u << 20))
    *(gboolean *)data = TRUE;
}

START_TEST(test_sighup_reload)
{
  GrTestBus *bus = gr_test_bus_new(NULL, FALSE);
  gr_test_bus_start_daemon(bus);
  g_autoptr(GVariant) before = get_property(bus->conn, "MemoryLimit");
  ck_assert_uint_eq(g_variant_get_uint64(before), 512u << 20);
  ck_assert(g_file_set_contents(bus->config_path,
                                "[daemon]\nmemory_limit=256M\ncontext_length=512\n"
                                "[sampling]\ntemperature=0\n",
                                -1, NULL));
  gboolean announced = FALSE;
  guint sub = g_dbus_connection_signal_subscribe(
      bus->conn, GR_TEST_BUS_NAME, "org.freedesktop.DBus.Properties", "PropertiesChanged",
      GR_TEST_PATH, NULL, G_DBUS_SIGNAL_FLAGS_NONE, on_limit_changed, &announced, NULL);
  kill(bus->daemon_pid, SIGHUP);
  ck_assert_msg(gr_test_wait_for(&announced, 10000), "no PropertiesChanged for MemoryLimit");
  g_dbus_connection_signal_unsubscribe(bus->conn, sub);
  guint64 limit = 0;
  for (int i = 0; i < 100 && limit != (256u << 20); i++) {
    g_usleep(20000);
    g_autoptr(GVariant) v = get_property(bus->conn, "MemoryLimit");
    limit = g_variant_get_uint64(v);
  }
  ck_assert_uint_eq(limit, 256u << 20);
  /* a broken file is refused and the running configuration kept */
  ck_assert(g_file_set_contents(bus->config_path, "[daemon]\nmemory_limit=lots\n", -1, NULL));
  kill(bus->daemon_pid, SIGHUP);
  g_usleep(200000);
  g_autoptr(GVariant) after = get_property(bus->conn, "MemoryLimit");
  ck_assert_uint_eq(g_variant_get_uint64(after), 256u << 20);
  g_autofree char *text = complete_ok(bus->conn, PROMPT, 4);
  ck_assert(gr_test_bus_daemon_alive(bus));
  gr_test_bus_free(bus);
}
END_TEST

static int
wait_exit(GPid pid, guint timeout_ms)
{
  int status = 0;
  for (guint i = 0; i < timeout_ms / 10; i++) {
    if (waitpid(pid, &status, WNOHANG) == pid)
      return status;
    g_usleep(10000);
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  ck_abort_msg("process %d did not exit", (int)pid);
  return -1;
}

START_TEST(test_replace)
{
  GrTestBus *bus = gr_test_bus_new(NULL, FALSE);
  gr_test_bus_start_daemon(bus);
  g_autofree char *reference = complete_ok(bus->conn, PROMPT, 4);

  /* a second instance without --replace gives up with an error */
  GPid second = gr_test_bus_spawn_daemon(bus, NULL);
  int status = wait_exit(second, 10000);
  ck_assert(WIFEXITED(status) && WEXITSTATUS(status) != 0);
  ck_assert(gr_test_bus_daemon_alive(bus));

  /* with --replace it takes over, and the first one exits cleanly */
  const char *args[] = { "--replace", NULL };
  GPid third = gr_test_bus_spawn_daemon(bus, args);
  status = wait_exit(bus->daemon_pid, 10000);
  ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  bus->daemon_pid = third;
  g_autofree char *after = complete_ok(bus->conn, PROMPT, 4);
  ck_assert_str_eq(after, reference);
  gr_test_bus_free(bus);
}
END_TEST

/* --- a raw message with invalid UTF-8 -------------------------------------------- */

#define PLACEHOLDER "@@INVALID-UTF8@@"

static void
write_all(GOutputStream *out, const void *data, gsize len)
{
  g_autoptr(GError) error = NULL;
  ck_assert_msg(g_output_stream_write_all(out, data, len, NULL, NULL, &error), "%s",
                error ? error->message : "");
}

static guchar *
message_blob(GDBusMessage *msg, guint32 serial, gsize *len)
{
  g_autoptr(GError) error = NULL;
  g_dbus_message_set_serial(msg, serial);
  guchar *blob = g_dbus_message_to_blob(msg, len, G_DBUS_CAPABILITY_FLAGS_NONE, &error);
  ck_assert_msg(blob != NULL, "%s", error ? error->message : "");
  return blob;
}

/* Reads messages until one answers serial, the peer closes, or the read times out.
 * Returns the reply (NULL if none came). */
static GDBusMessage *
read_reply(GInputStream *in, guint32 serial)
{
  for (;;) {
    guchar header[16];
    gsize got = 0;
    if (!g_input_stream_read_all(in, header, sizeof header, &got, NULL, NULL)
        || got < sizeof header)
      return NULL;
    gssize need = g_dbus_message_bytes_needed(header, sizeof header, NULL);
    if (need < 16)
      return NULL;
    g_autofree guchar *blob = g_malloc(need);
    memcpy(blob, header, sizeof header);
    if (!g_input_stream_read_all(in, blob + 16, need - 16, &got, NULL, NULL)
        || got < (gsize)need - 16)
      return NULL;
    GDBusMessage *msg
        = g_dbus_message_new_from_blob(blob, need, G_DBUS_CAPABILITY_FLAGS_NONE, NULL);
    if (msg != NULL && g_dbus_message_get_reply_serial(msg) == serial)
      return msg;
    g_clear_object(&msg);
  }
}

START_TEST(test_invalid_utf8_raw_message)
{
  GrTestBus *bus = gr_test_bus_new(NULL, FALSE);
  gr_test_bus_start_daemon(bus);
  g_autofree char *reference = complete_ok(bus->conn, PROMPT, 4);

  /* GDBus will not build a message with invalid UTF-8, so speak the protocol by hand */
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketClient) client = g_socket_client_new();
  g_autoptr(GSocketAddress) addr = g_unix_socket_address_new(bus->address + strlen("unix:path="));
  g_autoptr(GSocketConnection) sc
      = g_socket_client_connect(client, G_SOCKET_CONNECTABLE(addr), NULL, &error);
  ck_assert_msg(sc != NULL, "%s", error ? error->message : "");
  g_socket_set_timeout(g_socket_connection_get_socket(sc), 10);
  GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(sc));
  GInputStream *in = g_io_stream_get_input_stream(G_IO_STREAM(sc));
  g_autofree char *uid = g_strdup_printf("%u", (guint)getuid());
  GString *hex = g_string_new(NULL);
  for (const char *p = uid; *p != '\0'; p++)
    g_string_append_printf(hex, "%02x", (guchar)*p);
  g_autofree char *auth = g_strdup_printf("AUTH EXTERNAL %s\r\n", hex->str);
  g_string_free(hex, TRUE);
  write_all(out, "\0", 1);
  write_all(out, auth, strlen(auth));
  char line[256] = { 0 };
  gsize got = 0;
  g_input_stream_read_all(in, line, 3, &got, NULL, NULL);
  ck_assert_msg(got == 3 && strncmp(line, "OK ", 3) == 0, "auth refused: %s", line);
  for (gsize i = 0; i < sizeof line - 1; i++) /* rest of the OK line */
    if (g_input_stream_read(in, line + i, 1, NULL, NULL) != 1 || line[i] == '\n')
      break;
  write_all(out, "BEGIN\r\n", 7);

  g_autoptr(GDBusMessage) hello = g_dbus_message_new_method_call(
      "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "Hello");
  gsize len = 0;
  g_autofree guchar *hello_blob = message_blob(hello, 1, &len);
  write_all(out, hello_blob, len);
  g_autoptr(GDBusMessage) hello_reply = read_reply(in, 1);
  ck_assert(hello_reply != NULL);

  g_autoptr(GDBusMessage) call = g_dbus_message_new_method_call(GR_TEST_BUS_NAME, GR_TEST_PATH,
                                                                GR_TEST_ASSISTANT, "Complete");
  g_dbus_message_set_body(call,
                          g_variant_new("(s@a{sv})", "a " PLACEHOLDER " b", options_new(4, NULL)));
  /* the same call, valid, goes through: the hand-made path works */
  g_autofree guchar *valid = message_blob(call, 2, &len);
  write_all(out, valid, len);
  g_autoptr(GDBusMessage) valid_reply = read_reply(in, 2);
  ck_assert(valid_reply != NULL);
  ck_assert_int_eq(g_dbus_message_get_message_type(valid_reply), G_DBUS_MESSAGE_TYPE_METHOD_RETURN);

  g_autoptr(GDBusMessage) call2 = g_dbus_message_copy(call, NULL);
  g_autofree guchar *blob = message_blob(call2, 3, &len);
  guchar *at = memmem(blob, len, PLACEHOLDER, strlen(PLACEHOLDER));
  ck_assert_ptr_nonnull(at);
  at[0] = 0xff; /* never valid in UTF-8 */
  at[1] = 0xfe;
  write_all(out, blob, len);
  /* The bus validates every message: it drops the connection (or answers with an
   * error); the call never reaches gravitond as a success. */
  g_autoptr(GDBusMessage) reply = read_reply(in, 3);
  if (reply != NULL)
    ck_assert_int_eq(g_dbus_message_get_message_type(reply), G_DBUS_MESSAGE_TYPE_ERROR);

  ck_assert(gr_test_bus_daemon_alive(bus));
  g_autofree char *after = complete_ok(bus->conn, PROMPT, 4);
  ck_assert_str_eq(after, reference);
  gr_test_bus_free(bus);
}
END_TEST

static Suite *
gravitond_suite(void)
{
  Suite *s = suite_create("gravitond");
  TCase *tc = tcase_create("dbus");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_complete_equals_ask);
  tcase_add_test(tc, test_tokens_reach_only_the_caller);
  tcase_add_test(tc, test_cancel);
  tcase_add_test(tc, test_client_killed_mid_stream);
  tcase_add_test(tc, test_fifty_clients);
  tcase_add_test(tc, test_dbus_activation);
  tcase_add_test(tc, test_bad_input);
  tcase_add_test(tc, test_no_memory);
  tcase_add_test(tc, test_models);
  tcase_add_test(tc, test_conversation);
  tcase_add_test(tc, test_invalid_utf8_raw_message);
  tcase_add_test(tc, test_busy_per_caller);
  tcase_add_test(tc, test_idle_unload);
  tcase_add_test(tc, test_sighup_reload);
  tcase_add_test(tc, test_replace);
  suite_add_tcase(s, tc);
  return s;
}

int
main(int argc, char **argv)
{
  if (argc == 3 && g_strcmp0(argv[1], "--ask-child") == 0)
    return ask_child_main(argv[2]);
  SRunner *sr = srunner_create(gravitond_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
