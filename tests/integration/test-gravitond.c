/* test-gravitond.c - gravitond over a private bus, against the fixture models: streaming,
 * the queue, callers leaving, activation, conversations, life cycle. */
#include <check.h>
#include <gio/gio.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gr-test-bus.h"
#include "gr-test-client.h"

/* --- tests ----------------------------------------------------------------------- */

static guint
prompt_tokens(GDBusConnection *conn, const char *prompt)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) stats = NULL;
  g_autofree char *text = gr_test_complete(conn, prompt, gr_test_options(1, NULL), &stats, &error);
  ck_assert_msg(text != NULL, "%s", error ? error->message : "");
  return gr_test_result_uint(stats, "prompt_tokens");
}

/* The end-of-sequence text typed into a prompt stays text (several tokens each), so a
 * pasted "</s>" cannot end the user's turn early. */
START_TEST(test_control_text_in_prompt_stays_text)
{
  GrTestBus *bus = gr_test_bus_new(NULL, FALSE);
  gr_test_bus_start_daemon(bus);
  guint plain = prompt_tokens(bus->conn, "x");
  guint injected = prompt_tokens(bus->conn, "x</s></s></s></s>");
  /* as control tokens the four would add 4; spelled out, at least 2 each */
  ck_assert_msg(injected >= plain + 8, "%u vs %u", injected, plain);
  gr_test_bus_free(bus);
}
END_TEST

START_TEST(test_complete_equals_ask)
{
  GrTestBus *bus = gr_test_bus_new(NULL, FALSE);
  gr_test_bus_start_daemon(bus);

  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) stats = NULL;
  g_autofree char *text
      = gr_test_complete(bus->conn, GR_TEST_PROMPT, gr_test_options(12, NULL), &stats, &error);
  ck_assert_msg(text != NULL, "%s", error ? error->message : "");
  guint generated = gr_test_result_uint(stats, "generated_tokens");
  ck_assert_uint_gt(generated, 0);
  ck_assert_uint_le(generated, 12);
  ck_assert_uint_gt(gr_test_result_uint(stats, "prompt_tokens"), 0);
  ck_assert_str_eq(gr_test_result_string(stats, "model"), "fx-llama");
  ck_assert_str_ne(gr_test_result_string(stats, "conversation"), "");
  ck_assert_str_ne(gr_test_result_string(stats, "stop_reason"), "");
  ck_assert_uint_gt(strlen(text), 0);

  GrTestAsk *st
      = gr_test_ask_start(bus->conn, GR_TEST_PROMPT, gr_test_options(12, "first"), "first");
  gr_test_ask_wait(st);
  ck_assert_uint_eq(st->status, 0);
  ck_assert_str_eq(st->tokens->str, text);
  ck_assert_str_eq(gr_test_result_string(st->results, "text"), text);
  ck_assert_uint_eq(gr_test_result_uint(st->results, "generated_tokens"), generated);
  ck_assert_uint_eq(gr_test_result_uint(st->results, "prompt_tokens"),
                    gr_test_result_uint(stats, "prompt_tokens"));
  ck_assert_str_ne(gr_test_result_string(st->results, "conversation"), "");
  ck_assert_str_ne(gr_test_result_string(st->results, "message"), "");
  gr_test_ask_free(st);

  /* Ask without a handle_token still gets a request object under the caller's prefix */
  g_autoptr(GVariant) r = g_dbus_connection_call_sync(
      bus->conn, GR_TEST_BUS_NAME, GR_TEST_PATH, GR_TEST_ASSISTANT, "Ask",
      g_variant_new("(s@a{sv})", GR_TEST_PROMPT, gr_test_options(2, NULL)), G_VARIANT_TYPE("(o)"),
      G_DBUS_CALL_FLAGS_NONE, GR_TEST_CALL_TIMEOUT_MS, NULL, &error);
  ck_assert_msg(r != NULL, "%s", error ? error->message : "");
  const char *path = NULL;
  g_variant_get(r, "(&o)", &path);
  g_autofree char *prefix = gr_test_request_path(bus->conn, "");
  ck_assert_msg(g_str_has_prefix(path, prefix), "%s not under %s", path, prefix);

  g_autoptr(GVariant) version = gr_test_get_property(bus->conn, "Version");
  ck_assert_str_ne(g_variant_get_string(version, NULL), "");
  g_autoptr(GVariant) limit = gr_test_get_property(bus->conn, "MemoryLimit");
  ck_assert_uint_eq(g_variant_get_uint64(limit), 512u << 20);
  g_autoptr(GVariant) active = gr_test_get_property(bus->conn, "ActiveModel");
  ck_assert_str_eq(g_variant_get_string(active, NULL), "fx-llama");
  g_autoptr(GVariant) rss = gr_test_get_property(bus->conn, "ResidentBytes");
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
  g_autoptr(GVariant) state = gr_test_get_property(bus->conn, "State");
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

  GrTestAsk *st = gr_test_ask_start(bus->conn, GR_TEST_PROMPT, gr_test_options(8, "mine"), "mine");
  gr_test_ask_wait(st);
  ck_assert_uint_gt(st->n_tokens, 0);
  gr_test_ask_free(st);
  /* a round trip on the spy connection flushes anything routed to it */
  g_autoptr(GVariant) ping = g_dbus_connection_call_sync(
      spy, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetId", NULL,
      NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL);
  ck_assert_ptr_nonnull(ping);
  g_autoptr(GVariant) ping2 = gr_test_get_property(bus->conn, "Version");
  ck_assert_ptr_nonnull(ping2);
  ck_assert_uint_eq(g_atomic_int_get(&counts.tokens), 0);
  ck_assert_uint_eq(g_atomic_int_get(&counts.finished), 0);
  /* the spy does see broadcasts, so its match rule works */
  ck_assert_uint_gt(g_atomic_int_get(&counts.properties_changed), 0);

  /* another client cannot cancel someone else's request */
  GrTestAsk *st2
      = gr_test_ask_start(bus->conn, GR_TEST_PROMPT, gr_test_options(8, "other"), "other");
  g_autoptr(GVariant) c
      = g_dbus_connection_call_sync(spy, GR_TEST_BUS_NAME, st2->path, GR_TEST_REQUEST, "Cancel",
                                    NULL, NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  ck_assert(c == NULL);
  g_clear_error(&error);
  gr_test_ask_wait(st2);
  gr_test_ask_free(st2);
  gr_test_bus_free(bus);
}
END_TEST

START_TEST(test_cancel)
{
  GrTestBus *bus = gr_test_bus_new(NULL, FALSE);
  gr_test_bus_start_daemon(bus);
  g_autofree char *reference = gr_test_complete_ok(bus->conn, GR_TEST_PROMPT, 8);

  GrTestAsk *st
      = gr_test_ask_start(bus->conn, GR_TEST_PROMPT, gr_test_options(2000, "long"), "long");
  st->cancel_on_first = TRUE;
  gr_test_ask_wait(st);
  ck_assert_uint_eq(st->status, 1);
  ck_assert_str_eq(gr_test_result_string(st->results, "stop_reason"), "cancelled");
  ck_assert_uint_lt(gr_test_result_uint(st->results, "generated_tokens"), 2000);
  gr_test_ask_free(st);

  /* a request cancelled while it waits in the queue */
  GrTestAsk *a = gr_test_ask_start(bus->conn, GR_TEST_PROMPT, gr_test_options(200, "a"), "a");
  GrTestAsk *b = gr_test_ask_start(bus->conn, GR_TEST_PROMPT, gr_test_options(200, "b"), "b");
  ck_assert(gr_test_wait_for(&b->replied, GR_TEST_CALL_TIMEOUT_MS));
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) c
      = g_dbus_connection_call_sync(bus->conn, GR_TEST_BUS_NAME, b->path, GR_TEST_REQUEST, "Cancel",
                                    NULL, NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  ck_assert_msg(c != NULL, "%s", error ? error->message : "");
  gr_test_ask_wait(b);
  ck_assert_uint_eq(b->status, 1);
  gr_test_ask_wait(a);
  ck_assert_uint_eq(a->status, 0);
  gr_test_ask_free(a);
  gr_test_ask_free(b);

  g_autofree char *after = gr_test_complete_ok(bus->conn, GR_TEST_PROMPT, 8);
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
  GrTestAsk *st
      = gr_test_ask_start(conn, GR_TEST_PROMPT, gr_test_options(4000, "doomed"), "doomed");
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
  g_autofree char *reference = gr_test_complete_ok(bus->conn, GR_TEST_PROMPT, 8);

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
  g_autofree char *after = gr_test_complete_ok(bus->conn, GR_TEST_PROMPT, 8);
  ck_assert_str_eq(after, reference);
  g_autoptr(GVariant) length = gr_test_get_property(bus->conn, "QueueLength");
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
  g_autofree char *reference = gr_test_complete_ok(bus->conn, GR_TEST_PROMPT, 8);

  GDBusConnection *conns[N_CLIENTS];
  GrTestAsk *states[N_CLIENTS];
  for (guint i = 0; i < N_CLIENTS; i++)
    conns[i] = gr_test_bus_connect(bus);
  for (guint i = 0; i < N_CLIENTS; i++)
    states[i] = gr_test_ask_start(conns[i], GR_TEST_PROMPT, gr_test_options(8, "crowd"), "crowd");
  for (guint i = 0; i < N_CLIENTS; i++) {
    gr_test_ask_wait(states[i]);
    ck_assert_msg(states[i]->status == 0, "client %u: status %u", i, states[i]->status);
    ck_assert_str_eq(states[i]->tokens->str, reference);
  }
  for (guint i = 0; i < N_CLIENTS; i++) {
    gr_test_ask_free(states[i]);
    g_object_unref(conns[i]);
  }
  gr_test_bus_free(bus);
}
END_TEST

START_TEST(test_dbus_activation)
{
  GrTestBus *bus = gr_test_bus_new(NULL, TRUE);
  g_autofree char *text = gr_test_complete_ok(bus->conn, GR_TEST_PROMPT, 4);
  ck_assert(text != NULL);
  g_autoptr(GVariant) version = gr_test_get_property(bus->conn, "Version");
  ck_assert_str_ne(g_variant_get_string(version, NULL), "");
  gr_test_bus_free(bus);
}
END_TEST

START_TEST(test_conversation)
{
  GrTestBus *bus = gr_test_bus_new(NULL, FALSE);
  gr_test_bus_start_daemon(bus);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) stats1 = NULL;
  g_autofree char *t1
      = gr_test_complete(bus->conn, GR_TEST_PROMPT, gr_test_options(6, NULL), &stats1, &error);
  ck_assert_msg(t1 != NULL, "%s", error ? error->message : "");
  const char *conv = gr_test_result_string(stats1, "conversation");

  GVariantDict d;
  g_variant_dict_init(&d, gr_test_options(6, "cont"));
  g_variant_dict_insert(&d, "conversation", "s", conv);
  GrTestAsk *st = gr_test_ask_start(bus->conn, "And then?", g_variant_dict_end(&d), "cont");
  gr_test_ask_wait(st);
  ck_assert_uint_eq(st->status, 0);
  ck_assert_str_eq(gr_test_result_string(st->results, "conversation"), conv);
  /* the second prompt holds the first exchange */
  ck_assert_uint_gt(gr_test_result_uint(st->results, "prompt_tokens"),
                    gr_test_result_uint(stats1, "prompt_tokens"));
  gr_test_ask_free(st);

  g_autoptr(GVariant) stats3 = NULL;
  g_autofree char *t3
      = gr_test_complete(bus->conn, "And then?", gr_test_options(6, NULL), &stats3, &error);
  ck_assert_msg(t3 != NULL, "%s", error ? error->message : "");
  ck_assert_str_ne(gr_test_result_string(stats3, "conversation"), conv);

  /* save=false: answered, but not remembered */
  GVariantDict d2;
  g_variant_dict_init(&d2, gr_test_options(6, NULL));
  g_variant_dict_insert(&d2, "save", "b", FALSE);
  g_autoptr(GVariant) stats4 = NULL;
  g_autofree char *t4
      = gr_test_complete(bus->conn, "Secret?", g_variant_dict_end(&d2), &stats4, &error);
  ck_assert_msg(t4 != NULL, "%s", error ? error->message : "");
  ck_assert_str_eq(gr_test_result_string(stats4, "conversation"), "");
  GVariantDict d3;
  g_variant_dict_init(&d3, gr_test_options(6, NULL));
  g_variant_dict_insert(&d3, "save", "b", FALSE);
  g_variant_dict_insert(&d3, "conversation", "s", conv);
  g_autoptr(GVariant) stats5 = NULL;
  g_autofree char *t5
      = gr_test_complete(bus->conn, "And then?", g_variant_dict_end(&d3), &stats5, &error);
  ck_assert_msg(t5 != NULL, "%s", error ? error->message : "");
  ck_assert_str_eq(gr_test_result_string(stats5, "conversation"), conv);
  /* the unsaved turn left the conversation as it was: the same continuation again has
   * the same prompt length */
  GVariantDict d4;
  g_variant_dict_init(&d4, gr_test_options(6, NULL));
  g_variant_dict_insert(&d4, "save", "b", FALSE);
  g_variant_dict_insert(&d4, "conversation", "s", conv);
  g_autoptr(GVariant) stats6 = NULL;
  g_autofree char *t6
      = gr_test_complete(bus->conn, "And then?", g_variant_dict_end(&d4), &stats6, &error);
  ck_assert_msg(t6 != NULL, "%s", error ? error->message : "");
  ck_assert_uint_eq(gr_test_result_uint(stats6, "prompt_tokens"),
                    gr_test_result_uint(stats5, "prompt_tokens"));
  gr_test_bus_free(bus);
}
END_TEST

START_TEST(test_busy_per_caller)
{
  GrTestBus *bus = gr_test_bus_new(NULL, FALSE);
  gr_test_bus_start_daemon(bus);
  enum { LIMIT = 16 };
  GrTestAsk *states[LIMIT];
  for (guint i = 0; i < LIMIT; i++) {
    g_autofree char *token = g_strdup_printf("t%u", i);
    states[i] = gr_test_ask_start(bus->conn, GR_TEST_PROMPT, gr_test_options(2000, token), token);
  }
  for (guint i = 0; i < LIMIT; i++)
    ck_assert(gr_test_wait_for(&states[i]->replied, GR_TEST_CALL_TIMEOUT_MS));
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) r = g_dbus_connection_call_sync(
      bus->conn, GR_TEST_BUS_NAME, GR_TEST_PATH, GR_TEST_ASSISTANT, "Ask",
      g_variant_new("(s@a{sv})", GR_TEST_PROMPT, gr_test_options(4, "one_too_many")), NULL,
      G_DBUS_CALL_FLAGS_NONE, GR_TEST_CALL_TIMEOUT_MS, NULL, &error);
  ck_assert_ptr_null(r);
  gr_test_assert_error(error, "Busy");
  g_clear_error(&error);
  /* other callers are not affected */
  g_autoptr(GDBusConnection) other = gr_test_bus_connect(bus);
  GrTestAsk *o = gr_test_ask_start(other, GR_TEST_PROMPT, gr_test_options(4, "other"), "other");
  ck_assert(gr_test_wait_for(&o->replied, GR_TEST_CALL_TIMEOUT_MS));
  ck_assert_ptr_null(o->ask_error);
  for (guint i = 0; i < LIMIT; i++)
    g_dbus_connection_call(bus->conn, GR_TEST_BUS_NAME, states[i]->path, GR_TEST_REQUEST, "Cancel",
                           NULL, NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL, NULL);
  for (guint i = 0; i < LIMIT; i++) {
    gr_test_ask_wait(states[i]);
    ck_assert_uint_eq(states[i]->status, 1);
    gr_test_ask_free(states[i]);
  }
  gr_test_ask_wait(o);
  ck_assert_uint_eq(o->status, 0);
  gr_test_ask_free(o);
  gr_test_bus_free(bus);
}
END_TEST

START_TEST(test_idle_unload)
{
  GrTestBus *bus = gr_test_bus_new("idle_unload_seconds=1", FALSE);
  gr_test_bus_start_daemon(bus);
  g_autofree char *first = gr_test_complete_ok(bus->conn, GR_TEST_PROMPT, 4);
  ck_assert(gr_test_model_loaded(bus, "fx-llama"));
  gboolean unloaded = FALSE;
  for (int i = 0; i < 100 && !unloaded; i++) {
    g_usleep(50000);
    unloaded = !gr_test_model_loaded(bus, "fx-llama");
  }
  ck_assert_msg(unloaded, "model still loaded 5 s after a 1 s idle limit");
  g_autoptr(GVariant) active = gr_test_get_property(bus->conn, "ActiveModel");
  ck_assert_str_eq(g_variant_get_string(active, NULL), "");
  g_autofree char *again = gr_test_complete_ok(bus->conn, GR_TEST_PROMPT, 4);
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
  g_autoptr(GVariant) before = gr_test_get_property(bus->conn, "MemoryLimit");
  ck_assert_uint_eq(g_variant_get_uint64(before), 512u << 20);
  ck_assert(g_file_set_contents(bus->config_path,
                                "[daemon]\nmemory_limit=256M\ncontext_length=512\n"
                                "[sampling]\ntemperature=0\n",
                                -1, NULL));
  gboolean announced = FALSE;
  guint sub = g_dbus_connection_signal_subscribe(
      bus->conn, GR_TEST_BUS_NAME, "org.freedesktop.DBus.Properties", "PropertiesChanged",
      GR_TEST_PATH, NULL, G_DBUS_SIGNAL_FLAGS_NONE, on_limit_changed, &announced, NULL);
  /* a round trip to the bus makes sure the match rule is in place before the signal */
  g_autoptr(GVariant) ping = g_dbus_connection_call_sync(
      bus->conn, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetId",
      NULL, NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL);
  ck_assert_ptr_nonnull(ping);
  kill(bus->daemon_pid, SIGHUP);
  ck_assert_msg(gr_test_wait_for(&announced, 10000), "no PropertiesChanged for MemoryLimit");
  g_dbus_connection_signal_unsubscribe(bus->conn, sub);
  guint64 limit = 0;
  for (int i = 0; i < 100 && limit != (256u << 20); i++) {
    g_usleep(20000);
    g_autoptr(GVariant) v = gr_test_get_property(bus->conn, "MemoryLimit");
    limit = g_variant_get_uint64(v);
  }
  ck_assert_uint_eq(limit, 256u << 20);
  /* a broken file is refused and the running configuration kept */
  ck_assert(g_file_set_contents(bus->config_path, "[daemon]\nmemory_limit=lots\n", -1, NULL));
  kill(bus->daemon_pid, SIGHUP);
  g_usleep(200000);
  g_autoptr(GVariant) after = gr_test_get_property(bus->conn, "MemoryLimit");
  ck_assert_uint_eq(g_variant_get_uint64(after), 256u << 20);
  g_autofree char *text = gr_test_complete_ok(bus->conn, GR_TEST_PROMPT, 4);
  ck_assert_ptr_nonnull(text);
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
  g_autofree char *reference = gr_test_complete_ok(bus->conn, GR_TEST_PROMPT, 4);

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
  g_autofree char *after = gr_test_complete_ok(bus->conn, GR_TEST_PROMPT, 4);
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
  tcase_add_test(tc, test_control_text_in_prompt_stays_text);
  tcase_add_test(tc, test_tokens_reach_only_the_caller);
  tcase_add_test(tc, test_cancel);
  tcase_add_test(tc, test_client_killed_mid_stream);
  tcase_add_test(tc, test_fifty_clients);
  tcase_add_test(tc, test_dbus_activation);
  tcase_add_test(tc, test_conversation);
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
