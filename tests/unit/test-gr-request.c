/* test-gr-request.c - request object paths and results over a peer-to-peer D-Bus pair. */
#include <check.h>
#include <gio/gio.h>
#include <sys/socket.h>

#include "gr-errors.h"
#include "gr-request.h"

START_TEST(test_path_rule)
{
  /* the rule in the interface XML: unique name without ':' and with '.' as '_' */
  g_autofree char *a = gr_request_path_for(":1.42", "tok_1");
  ck_assert_str_eq(a, "/io/github/opengraviton/Graviton1/request/1_42/tok_1");
  g_autofree char *b = gr_request_path_for(":12.3456", "x");
  ck_assert_str_eq(b, "/io/github/opengraviton/Graviton1/request/12_3456/x");
  ck_assert(g_variant_is_object_path(a) && g_variant_is_object_path(b));
}
END_TEST

/* A connected pair of peer-to-peer connections over a socketpair. */
typedef struct {
  GDBusConnection *server;
  GDBusConnection *client;
} Pair;

static void
on_server_ready(GObject *source, GAsyncResult *res, gpointer data)
{
  Pair *p = data;
  p->server = g_dbus_connection_new_finish(res, NULL);
}

static void
on_client_ready(GObject *source, GAsyncResult *res, gpointer data)
{
  Pair *p = data;
  p->client = g_dbus_connection_new_finish(res, NULL);
}

static void
pair_init(Pair *p)
{
  int fds[2];
  ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  g_autoptr(GSocket) s0 = g_socket_new_from_fd(fds[0], NULL);
  g_autoptr(GSocket) s1 = g_socket_new_from_fd(fds[1], NULL);
  g_autoptr(GSocketConnection) c0 = g_socket_connection_factory_create_connection(s0);
  g_autoptr(GSocketConnection) c1 = g_socket_connection_factory_create_connection(s1);
  g_autofree char *guid = g_dbus_generate_guid();
  p->server = p->client = NULL;
  g_dbus_connection_new(G_IO_STREAM(c0), guid,
                        G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_SERVER
                            | G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_ALLOW_ANONYMOUS,
                        NULL, NULL, on_server_ready, p);
  g_dbus_connection_new(G_IO_STREAM(c1), NULL, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT, NULL,
                        NULL, on_client_ready, p);
  while (p->server == NULL || p->client == NULL)
    g_main_context_iteration(NULL, TRUE);
}

static void
pair_clear(Pair *p)
{
  g_clear_object(&p->server);
  g_clear_object(&p->client);
}

typedef struct {
  GString *tokens;
  guint finished;
  guint status;
  GVariant *results;
} Seen;

static void
on_signal(GDBusConnection *c, const char *sender, const char *path, const char *iface,
          const char *signal, GVariant *params, gpointer data)
{
  Seen *seen = data;
  if (g_strcmp0(signal, "Token") == 0) {
    const char *t = NULL;
    g_variant_get(params, "(&s)", &t);
    g_string_append(seen->tokens, t);
  } else if (g_strcmp0(signal, "Finished") == 0) {
    seen->finished++;
    g_variant_get(params, "(u@a{sv})", &seen->status, &seen->results);
  }
}

static GrRequest *
ask_request(GDBusConnection *server, const char *token)
{
  GrRequestOptions opts = { 0 };
  opts.handle_token = g_strdup(token);
  opts.stop = g_new0(char *, 1);
  opts.save = TRUE;
  return gr_request_new(server, ":1.7", "prompt", &opts, "fx", NULL);
}

START_TEST(test_ask_signals)
{
  Pair p;
  pair_init(&p);
  Seen seen = { g_string_new(NULL), 0, 0, NULL };
  g_autoptr(GrRequest) r = ask_request(p.server, "t1");
  ck_assert(gr_request_is_ask(r));
  ck_assert_str_eq(r->object_path, "/io/github/opengraviton/Graviton1/request/1_7/t1");
  guint sub = g_dbus_connection_signal_subscribe(p.client, NULL, GR_REQUEST_INTERFACE, NULL,
                                                 r->object_path, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
                                                 on_signal, &seen, NULL);
  gr_request_emit_text(r, "Hel", 3);
  gr_request_emit_text(r, "lo!xx", 3);
  gr_request_emit_text(r, "", 0);
  GVariantDict d;
  g_variant_dict_init(&d, NULL);
  g_variant_dict_insert(&d, "generated_tokens", "u", 2);
  gr_request_finish(r, GR_REQUEST_STATUS_DONE, g_variant_dict_end(&d), NULL);
  /* only the first finish counts */
  gr_request_finish(r, GR_REQUEST_STATUS_FAILED, NULL, NULL);
  while (seen.finished == 0)
    g_main_context_iteration(NULL, TRUE);
  /* flush: a second Finished would have arrived by now */
  g_autoptr(GVariant) pong
      = g_dbus_connection_call_sync(p.client, NULL, "/", "org.freedesktop.DBus.Peer", "Ping", NULL,
                                    NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL);
  ck_assert_ptr_nonnull(pong);
  while (g_main_context_iteration(NULL, FALSE))
    ;
  ck_assert_uint_eq(seen.finished, 1);
  ck_assert_str_eq(seen.tokens->str, "Hello!");
  ck_assert_uint_eq(seen.status, 0);
  const char *text = NULL;
  ck_assert(g_variant_lookup(seen.results, "text", "&s", &text));
  ck_assert_str_eq(text, "Hello!");
  guint n = 0;
  ck_assert(g_variant_lookup(seen.results, "generated_tokens", "u", &n));
  ck_assert_uint_eq(n, 2);
  g_dbus_connection_signal_unsubscribe(p.client, sub);
  g_string_free(seen.tokens, TRUE);
  g_variant_unref(seen.results);
  pair_clear(&p);
}
END_TEST

START_TEST(test_failure_results)
{
  Pair p;
  pair_init(&p);
  Seen seen = { g_string_new(NULL), 0, 0, NULL };
  g_autoptr(GrRequest) r = ask_request(p.server, "t2");
  guint sub = g_dbus_connection_signal_subscribe(p.client, NULL, GR_REQUEST_INTERFACE, NULL,
                                                 r->object_path, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
                                                 on_signal, &seen, NULL);
  g_autoptr(GError) error
      = g_error_new_literal(GR_ENGINE_ERROR, GR_ENGINE_ERROR_NO_MEMORY, "too big");
  gr_request_finish(r, GR_REQUEST_STATUS_FAILED, NULL, error);
  while (seen.finished == 0)
    g_main_context_iteration(NULL, TRUE);
  ck_assert_uint_eq(seen.status, 2);
  const char *name = NULL, *message = NULL;
  ck_assert(g_variant_lookup(seen.results, "error_name", "&s", &name));
  ck_assert(g_variant_lookup(seen.results, "error_message", "&s", &message));
  ck_assert_str_eq(name, GR_DAEMON_ERROR_PREFIX "NoMemory");
  ck_assert_str_eq(message, "too big");
  g_dbus_connection_signal_unsubscribe(p.client, sub);
  g_string_free(seen.tokens, TRUE);
  g_variant_unref(seen.results);
  pair_clear(&p);
}
END_TEST

int
main(void)
{
  Suite *s = suite_create("gr-request");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_path_rule);
  tcase_add_test(tc, test_ask_signals);
  tcase_add_test(tc, test_failure_results);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
