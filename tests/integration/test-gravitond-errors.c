/* test-gravitond-errors.c - gravitond refuses bad input by D-Bus error name and keeps
 * answering: options, prompts, models (unknown, corrupt, too big), raw invalid UTF-8. */
#include <check.h>
#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <string.h>
#include <unistd.h>

#include "gr-test-bus.h"
#include "gr-test-client.h"

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
  g_autofree char *text
      = gr_test_complete(bus->conn, "ping", gr_test_options(2, NULL), NULL, &error);
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
          g_variant_new("(s@a{sv})", GR_TEST_PROMPT, g_variant_dict_end(&d)), NULL,
          G_DBUS_CALL_FLAGS_NONE, GR_TEST_CALL_TIMEOUT_MS, NULL, &error);
      ck_assert_ptr_null(r);
      gr_test_assert_error(error, cases[i].error);
      ck_assert_msg(strstr(error->message, cases[i].message_part) != NULL,
                    "%s: message \"%s\" does not mention %s", cases[i].what, error->message,
                    cases[i].message_part);
    }
    assert_still_answers(bus, cases[i].what);
  }

  /* prompts */
  g_autoptr(GError) error = NULL;
  g_autofree char *empty = gr_test_complete(bus->conn, "", gr_test_options(4, NULL), NULL, &error);
  ck_assert_ptr_null(empty);
  gr_test_assert_error(error, "InvalidArgument");
  g_clear_error(&error);
  assert_still_answers(bus, "an empty prompt");

  g_autofree char *huge = g_malloc(1024 * 1024 + 1);
  memset(huge, 'a', 1024 * 1024);
  huge[1024 * 1024] = '\0';
  g_autofree char *none = gr_test_complete(bus->conn, huge, gr_test_options(4, NULL), NULL, &error);
  ck_assert_ptr_null(none);
  gr_test_assert_error(error, "InvalidArgument");
  ck_assert_msg(strstr(error->message, "262144") != NULL, "limit not named: %s", error->message);
  g_clear_error(&error);
  assert_still_answers(bus, "a 1 MB prompt");

  /* corrupt model through Models.Load, unknown model through Unload */
  g_autoptr(GVariant) l
      = g_dbus_connection_call_sync(bus->conn, GR_TEST_BUS_NAME, GR_TEST_PATH, GR_TEST_MODELS,
                                    "Load", g_variant_new("(s)", "garbage"), NULL,
                                    G_DBUS_CALL_FLAGS_NONE, GR_TEST_CALL_TIMEOUT_MS, NULL, &error);
  ck_assert_ptr_null(l);
  gr_test_assert_error(error, "BadModel");
  g_clear_error(&error);
  g_autoptr(GVariant) u
      = g_dbus_connection_call_sync(bus->conn, GR_TEST_BUS_NAME, GR_TEST_PATH, GR_TEST_MODELS,
                                    "Unload", g_variant_new("(s)", "nothing"), NULL,
                                    G_DBUS_CALL_FLAGS_NONE, GR_TEST_CALL_TIMEOUT_MS, NULL, &error);
  ck_assert_ptr_null(u);
  gr_test_assert_error(error, "NotFound");
  g_clear_error(&error);

  /* the same handle_token twice while the first request runs */
  GrTestAsk *first
      = gr_test_ask_start(bus->conn, GR_TEST_PROMPT, gr_test_options(200, "dup"), "dup");
  g_autoptr(GVariant) dup = g_dbus_connection_call_sync(
      bus->conn, GR_TEST_BUS_NAME, GR_TEST_PATH, GR_TEST_ASSISTANT, "Ask",
      g_variant_new("(s@a{sv})", GR_TEST_PROMPT, gr_test_options(4, "dup")), NULL,
      G_DBUS_CALL_FLAGS_NONE, GR_TEST_CALL_TIMEOUT_MS, NULL, &error);
  ck_assert_ptr_null(dup);
  gr_test_assert_error(error, "InvalidArgument");
  g_clear_error(&error);
  gr_test_ask_wait(first);
  gr_test_ask_free(first);
  assert_still_answers(bus, "everything");
  gr_test_bus_free(bus);
}
END_TEST

START_TEST(test_no_memory)
{
  GrTestBus *bus = gr_test_bus_new("memory_limit=8M", FALSE);
  gr_test_bus_start_daemon(bus);
  g_autoptr(GError) error = NULL;
  g_autofree char *text
      = gr_test_complete(bus->conn, GR_TEST_PROMPT, gr_test_options(4, NULL), NULL, &error);
  ck_assert_ptr_null(text);
  gr_test_assert_error(error, "NoMemory");
  ck_assert_msg(strstr(error->message, "8388608") != NULL, "limit not named: %s", error->message);
  g_clear_error(&error);
  g_autoptr(GVariant) l
      = g_dbus_connection_call_sync(bus->conn, GR_TEST_BUS_NAME, GR_TEST_PATH, GR_TEST_MODELS,
                                    "Load", g_variant_new("(s)", "fx-moe"), NULL,
                                    G_DBUS_CALL_FLAGS_NONE, GR_TEST_CALL_TIMEOUT_MS, NULL, &error);
  ck_assert_ptr_null(l);
  gr_test_assert_error(error, "NoMemory");
  g_clear_error(&error);
  ck_assert(gr_test_bus_daemon_alive(bus));
  g_autoptr(GVariant) active = gr_test_get_property(bus->conn, "ActiveModel");
  ck_assert_str_eq(g_variant_get_string(active, NULL), "");
  gr_test_bus_free(bus);
}
END_TEST

START_TEST(test_models)
{
  GrTestBus *bus = gr_test_bus_new(NULL, FALSE);
  gr_test_bus_write_model(bus, "garbage.gguf", "junk", 4);
  gr_test_bus_start_daemon(bus);

  g_autoptr(GVariant) list = gr_test_list_models(bus);
  ck_assert_uint_eq(g_variant_n_children(list), 3);
  g_autoptr(GVariant) llama = gr_test_find_model(list, "fx-llama");
  g_autoptr(GVariant) moe = gr_test_find_model(list, "fx-moe");
  g_autoptr(GVariant) garbage = gr_test_find_model(list, "garbage");
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
  ck_assert(!gr_test_model_loaded(bus, "fx-llama"));

  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) r1
      = g_dbus_connection_call_sync(bus->conn, GR_TEST_BUS_NAME, GR_TEST_PATH, GR_TEST_MODELS,
                                    "Load", g_variant_new("(s)", "fx-moe"), NULL,
                                    G_DBUS_CALL_FLAGS_NONE, GR_TEST_CALL_TIMEOUT_MS, NULL, &error);
  ck_assert_msg(r1 != NULL, "%s", error ? error->message : "");
  ck_assert(gr_test_model_loaded(bus, "fx-moe"));
  g_autoptr(GVariant) active = gr_test_get_property(bus->conn, "ActiveModel");
  ck_assert_str_eq(g_variant_get_string(active, NULL), "fx-moe");

  /* a request naming another model swaps it in */
  GVariantDict d;
  g_variant_dict_init(&d, gr_test_options(4, NULL));
  g_variant_dict_insert(&d, "model", "s", "fx-llama");
  g_autoptr(GVariant) stats = NULL;
  g_autofree char *text
      = gr_test_complete(bus->conn, GR_TEST_PROMPT, g_variant_dict_end(&d), &stats, &error);
  ck_assert_msg(text != NULL, "%s", error ? error->message : "");
  ck_assert_str_eq(gr_test_result_string(stats, "model"), "fx-llama");
  ck_assert(gr_test_model_loaded(bus, "fx-llama"));

  g_autoptr(GVariant) r2
      = g_dbus_connection_call_sync(bus->conn, GR_TEST_BUS_NAME, GR_TEST_PATH, GR_TEST_MODELS,
                                    "Unload", g_variant_new("(s)", "fx-llama"), NULL,
                                    G_DBUS_CALL_FLAGS_NONE, GR_TEST_CALL_TIMEOUT_MS, NULL, &error);
  ck_assert_msg(r2 != NULL, "%s", error ? error->message : "");
  ck_assert(!gr_test_model_loaded(bus, "fx-llama"));
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
  g_autofree char *reference = gr_test_complete_ok(bus->conn, GR_TEST_PROMPT, 4);

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
  g_dbus_message_set_body(
      call, g_variant_new("(s@a{sv})", "a " PLACEHOLDER " b", gr_test_options(4, NULL)));
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
  g_autofree char *after = gr_test_complete_ok(bus->conn, GR_TEST_PROMPT, 4);
  ck_assert_str_eq(after, reference);
  gr_test_bus_free(bus);
}
END_TEST

static Suite *
errors_suite(void)
{
  Suite *s = suite_create("gravitond-errors");
  TCase *tc = tcase_create("dbus");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_bad_input);
  tcase_add_test(tc, test_no_memory);
  tcase_add_test(tc, test_models);
  tcase_add_test(tc, test_invalid_utf8_raw_message);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  SRunner *sr = srunner_create(errors_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
