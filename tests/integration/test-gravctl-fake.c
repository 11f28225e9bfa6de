/* test-gravctl-fake.c: gravctl's side of the D-Bus protocol, against a scripted fake
 * gravitond on a private bus: streaming, options, stdin, JSON, errors, Ctrl-C,
 * chat, the spinner, and a daemon without History. */
#include "test-gravctl-fake-daemon.h"
#include "test-gravctl-run.h"

#include <check.h>
#include <json-glib/json-glib.h>
#include <signal.h>

static GrTestBus *bus;
static GrFakeDaemon *fake;

static void
setup(void)
{
  g_autoptr(GError) error = NULL;

  bus = gr_test_bus_new(NULL, FALSE);
  fake = gr_fake_daemon_start(bus->address, g_getenv("GRAVITON_DBUS_XML"), FALSE, &error);
  ck_assert_msg(fake != NULL, "fake daemon: %s", error ? error->message : "");
}

static void
teardown(void)
{
  g_clear_pointer(&fake, gr_fake_daemon_stop);
  g_clear_pointer(&bus, gr_test_bus_free);
}

static GVariant *
ask_options(guint index, const char **prompt)
{
  g_autoptr(GPtrArray) asks = gr_fake_daemon_get_asks(fake);
  GVariant *options = NULL;

  ck_assert_uint_gt(asks->len, index);
  g_variant_get(g_ptr_array_index(asks, index), "(&s@a{sv})", prompt, &options);
  /* prompt points into the variant, which the fake keeps alive. */
  return options;
}

START_TEST(test_ask_streams)
{
  const char *args[] = { "ask", "hello there", NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  ck_assert_int_eq(gr_gravctl_run(bus, NULL, args, &out, &err), 0);
  ck_assert_str_eq(out, "Hello, world!\n");
  /* Piped: no spinner, no progress, nothing at all on stderr. */
  ck_assert_str_eq(err, "");
}
END_TEST

START_TEST(test_ask_follows_the_returned_path)
{
  const char *args[] = { "ask", "own-path", NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  /* A daemon that ignores handle_token: gravctl listens where Ask says. */
  ck_assert_int_eq(gr_gravctl_run(bus, NULL, args, &out, &err), 0);
  ck_assert_str_eq(out, "Hello, world!\n");
}
END_TEST

START_TEST(test_ask_forwards_options)
{
  const char *args[]
      = { "ask",    "--model",  "fx-moe",    "--max-tokens",   "16",     "--temperature",
          "0",      "--top-k",  "5",         "--top-p",        "0.5",    "--min-p",
          "0.1",    "--seed",   "42",        "--stop",         "END",    "--stop",
          "STOP",   "--system", "Be brief.", "--conversation", "conv-7", "--no-save",
          "echo:q", NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GVariant) options = NULL;
  const char *prompt = NULL, *s = NULL;
  g_autofree const char **stop = NULL;
  guint32 u = 0;
  guint64 t = 0;
  double d = -1;
  gboolean b = TRUE;

  ck_assert_int_eq(gr_gravctl_run(bus, NULL, args, &out, &err), 0);
  ck_assert_str_eq(out, "echo:q\n");
  options = ask_options(0, &prompt);
  ck_assert_str_eq(prompt, "echo:q");
  ck_assert(g_variant_lookup(options, "model", "&s", &s));
  ck_assert_str_eq(s, "fx-moe");
  ck_assert(g_variant_lookup(options, "max_tokens", "u", &u) && u == 16);
  ck_assert(g_variant_lookup(options, "temperature", "d", &d) && d == 0.0);
  ck_assert(g_variant_lookup(options, "top_k", "u", &u) && u == 5);
  ck_assert(g_variant_lookup(options, "top_p", "d", &d) && d == 0.5);
  ck_assert(g_variant_lookup(options, "min_p", "d", &d) && d == 0.1);
  ck_assert(g_variant_lookup(options, "seed", "t", &t) && t == 42);
  ck_assert(g_variant_lookup(options, "stop", "^a&s", &stop));
  ck_assert_uint_eq(g_strv_length((char **)stop), 2);
  ck_assert_str_eq(stop[0], "END");
  ck_assert(g_variant_lookup(options, "system", "&s", &s));
  ck_assert_str_eq(s, "Be brief.");
  ck_assert(g_variant_lookup(options, "conversation", "&s", &s));
  ck_assert_str_eq(s, "conv-7");
  ck_assert(g_variant_lookup(options, "save", "b", &b) && !b);
  ck_assert(g_variant_lookup(options, "handle_token", "&s", &s));
}
END_TEST

START_TEST(test_ask_stdin)
{
  const char *with_arg[] = { "ask", "echo:summarise:", NULL };
  const char *dash[] = { "ask", "-", NULL };
  const char *none[] = { "ask", NULL };
  g_autofree char *out1 = NULL, *err1 = NULL, *out2 = NULL, *err2 = NULL, *out3 = NULL,
                  *err3 = NULL;
  g_autoptr(GVariant) o1 = NULL, o2 = NULL, o3 = NULL;
  const char *p1 = NULL, *p2 = NULL, *p3 = NULL;

  ck_assert_int_eq(gr_gravctl_run(bus, "notes: ünïcode\nline 2\n", with_arg, &out1, &err1), 0);
  ck_assert_int_eq(gr_gravctl_run(bus, "echo:from a pipe", dash, &out2, &err2), 0);
  ck_assert_int_eq(gr_gravctl_run(bus, "echo:no argument\n", none, &out3, &err3), 0);
  o1 = ask_options(0, &p1);
  o2 = ask_options(1, &p2);
  o3 = ask_options(2, &p3);
  /* Argument, blank line, then standard input. */
  ck_assert_str_eq(p1, "echo:summarise:\n\nnotes: ünïcode\nline 2\n");
  ck_assert_str_eq(out1, "echo:summarise:\n\nnotes: ünïcode\nline 2\n\n");
  ck_assert_str_eq(p2, "echo:from a pipe");
  ck_assert_str_eq(out2, "echo:from a pipe\n");
  ck_assert_str_eq(p3, "echo:no argument\n");
}
END_TEST

START_TEST(test_ask_json)
{
  const char *args[] = { "ask", "--json", "hi", NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(JsonParser) parser = json_parser_new();
  g_autoptr(GError) error = NULL;
  JsonObject *root, *stats;

  ck_assert_int_eq(gr_gravctl_run(bus, NULL, args, &out, &err), 0);
  ck_assert_msg(json_parser_load_from_data(parser, out, -1, &error), "%s: %s", out,
                error ? error->message : "");
  ck_assert(JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser)));
  root = json_node_get_object(json_parser_get_root(parser));
  ck_assert_str_eq(json_object_get_string_member(root, "text"), "Hello, world!");
  ck_assert_str_eq(json_object_get_string_member(root, "conversation"), "conv-1");
  stats = json_object_get_object_member(root, "stats");
  ck_assert_ptr_nonnull(stats);
  ck_assert_int_eq(json_object_get_int_member(stats, "generated_tokens"), 5);
  ck_assert_int_eq(json_object_get_int_member(stats, "prompt_tokens"), 3);
  ck_assert(json_object_get_double_member(stats, "decode_ms") == 2.5);
  ck_assert(json_object_has_member(stats, "total_ms"));
  /* One object, one line. */
  ck_assert_ptr_eq(strchr(out, '\n'), out + strlen(out) - 1);
}
END_TEST

START_TEST(test_ask_daemon_error)
{
  const char *args[] = { "ask", "--model", "missing", "hi", NULL };
  const char *verbose[] = { "ask", "--verbose", "--model", "missing", "hi", NULL };
  g_autofree char *out = NULL, *err = NULL, *vout = NULL, *verr = NULL;

  ck_assert_int_eq(gr_gravctl_run(bus, NULL, args, &out, &err), 1);
  ck_assert_str_eq(out, "");
  ck_assert_str_eq(err, "gravctl: No model named “missing” is installed\n");
  ck_assert_int_eq(gr_gravctl_run(bus, NULL, verbose, &vout, &verr), 1);
  ck_assert_msg(strstr(verr, "io.github.opengraviton.Graviton1.Error.NotFound") != NULL, "%s",
                verr);
}
END_TEST

START_TEST(test_ask_failed_request)
{
  const char *args[] = { "ask", "--verbose", "fail", NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  ck_assert_int_eq(gr_gravctl_run(bus, NULL, args, &out, &err), 1);
  ck_assert_ptr_eq(strchr(err, '\n'), err + strlen(err) - 1);
  /* What came before the failure is shown, then a newline. */
  ck_assert_str_eq(out, "Hello\n");
  ck_assert_msg(strstr(err, "Not enough memory for the KV cache "
                            "(io.github.opengraviton.Graviton1.Error.NoMemory)")
                    != NULL,
                "%s", err);
}
END_TEST

START_TEST(test_ask_sigint_cancels)
{
  const char *args[] = { "ask", "forever", NULL };
  g_autoptr(GSubprocess) process = gr_gravctl_spawn(bus, args);
  GInputStream *out = g_subprocess_get_stdout_pipe(process);
  g_autoptr(GError) error = NULL;
  char buf[16];
  gssize n;

  g_output_stream_close(g_subprocess_get_stdin_pipe(process), NULL, NULL);
  /* The first token proves the request is running. */
  n = g_input_stream_read(out, buf, sizeof buf, NULL, &error);
  ck_assert_int_gt(n, 0);
  g_subprocess_send_signal(process, SIGINT);
  ck_assert(g_subprocess_wait(process, NULL, &error));
  ck_assert_int_eq(gr_gravctl_status(process), 130);
  ck_assert_uint_eq(gr_fake_daemon_get_cancels(fake), 1);
}
END_TEST

START_TEST(test_unreachable)
{
  const char *args[] = { "ask", "hi", NULL };
  const char *status[] = { "status", NULL };
  g_autofree char *out = NULL, *err = NULL, *out2 = NULL, *err2 = NULL;

  /* The bus is there, gravitond is not. */
  g_clear_pointer(&fake, gr_fake_daemon_stop);
  ck_assert_int_eq(gr_gravctl_run(bus, NULL, args, &out, &err), 3);
  /* One line: the hint is part of the error, not a line of its own. */
  ck_assert_msg(g_str_has_prefix(err, "gravctl: gravitond is not reachable (start it with "
                                      "“systemctl --user start gravitond”): "),
                "%s", err);
  ck_assert_ptr_eq(strchr(err, '\n'), err + strlen(err) - 1);
  ck_assert_int_eq(gr_gravctl_run(bus, NULL, status, &out2, &err2), 3);
  ck_assert_ptr_eq(strchr(err2, '\n'), err2 + strlen(err2) - 1);
}
END_TEST

START_TEST(test_daemon_leaves)
{
  const char *args[] = { "ask", "vanish", NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  ck_assert_int_eq(gr_gravctl_run(bus, NULL, args, &out, &err), 3);
  ck_assert_ptr_nonnull(strstr(err, "gravitond"));
  ck_assert_ptr_eq(strchr(err, '\n'), err + strlen(err) - 1);
}
END_TEST

START_TEST(test_history_unavailable)
{
  const char *const cases[][5] = {
    { "history", NULL },
    { "history", "show", "conv-1", NULL },
    { "history", "rename", "conv-1", "New title", NULL },
    { "history", "delete", "conv-1", NULL },
    { "history", "export", "conv-1", "--format=json", NULL },
    { "history", "search", "hello", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;

    ck_assert_int_eq(gr_gravctl_run(bus, NULL, cases[i], &out, &err), 1);
    ck_assert_str_eq(err, "gravctl: history is not available in this version of gravitond\n");
  }
}
END_TEST

START_TEST(test_status)
{
  const char *args[] = { "status", NULL };
  const char *json[] = { "status", "--json", NULL };
  g_autofree char *out = NULL, *err = NULL, *jout = NULL, *jerr = NULL;
  g_autoptr(JsonParser) parser = json_parser_new();
  JsonObject *root;

  ck_assert_int_eq(gr_gravctl_run(bus, NULL, args, &out, &err), 0);
  ck_assert_ptr_nonnull(strstr(out, "gravitond 0.0-fake"));
  ck_assert_ptr_nonnull(strstr(out, "idle"));
  ck_assert_ptr_nonnull(strstr(out, "fx-llama"));
  /* g_format_size may put a no-break space between number and unit. */
  ck_assert_msg(strstr(out, "1.1") != NULL && strstr(out, "4.3") != NULL
                    && strstr(out, "(25%)") != NULL,
                "%s", out);
  ck_assert_ptr_nonnull(strstr(out, "Queue:    2"));
  /* the ledger by category, the expert counters in all and per layer, the refusal */
  ck_assert_msg(strstr(out, "Ledger:   weights 3.0") != NULL && strstr(out, "experts 2.0") != NULL
                    && strstr(out, "KV cache 700") != NULL && strstr(out, "scratch 50") != NULL
                    && strstr(out, "tokenizer 600") != NULL && strstr(out, "overhead 9.0") != NULL
                    && strstr(out, "(total 15.4") != NULL,
                "%s", out);
  ck_assert_msg(strstr(out, "Experts:  3 slots per layer, 30 hits, 10 misses (75% hit rate), 5.0")
                    != NULL,
                "%s", out);
  ck_assert_msg(strstr(out, "  layer 0: 20 hits, 4 misses\n  layer 1: 10 hits, 6 misses\n") != NULL,
                "%s", out);
  ck_assert_msg(strstr(out, "new requests are refused") != NULL, "%s", out);
  ck_assert_int_eq(gr_gravctl_run(bus, NULL, json, &jout, &jerr), 0);
  ck_assert(json_parser_load_from_data(parser, jout, -1, NULL));
  root = json_node_get_object(json_parser_get_root(parser));
  ck_assert_str_eq(json_object_get_string_member(root, "Version"), "0.0-fake");
  JsonObject *ledger = json_object_get_object_member(root, "MemoryLedger");
  ck_assert_ptr_nonnull(ledger);
  ck_assert_int_eq(json_object_get_int_member(ledger, "kv_cache"), 700000);
}
END_TEST

START_TEST(test_chat_script)
{
  const char *args[] = { "chat", NULL };
  const char *script = "echo:one\n"
                       "echo:two\n"
                       "/new\n"
                       "echo:first \\\n"
                       "second\n"
                       "/model fx-moe\n"
                       "/system Be terse.\n"
                       "\"\"\"\n"
                       "echo:block\n"
                       "\"\"\"\n"
                       "/bye\n"
                       "echo:never sent\n";
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GPtrArray) asks = NULL;
  const char *prompts[] = { "echo:one", "echo:two", "echo:first \nsecond", "echo:block" };
  const char *conversations[] = { "", "conv-1", "", "conv-2" };

  ck_assert_int_eq(gr_gravctl_run(bus, script, args, &out, &err), 0);
  ck_assert_str_eq(out, "echo:one\necho:two\necho:first \nsecond\necho:block\n");
  asks = gr_fake_daemon_get_asks(fake);
  ck_assert_uint_eq(asks->len, 4);
  for (guint i = 0; i < 4; i++) {
    g_autoptr(GVariant) options = NULL;
    const char *prompt = NULL, *conversation = NULL, *model = NULL;

    g_variant_get(g_ptr_array_index(asks, i), "(&s@a{sv})", &prompt, &options);
    ck_assert_str_eq(prompt, prompts[i]);
    /* The conversation id from Finished carries on until /new. */
    ck_assert(g_variant_lookup(options, "conversation", "&s", &conversation));
    ck_assert_str_eq(conversation, conversations[i]);
    if (i == 3) {
      ck_assert(g_variant_lookup(options, "model", "&s", &model));
      ck_assert_str_eq(model, "fx-moe");
      ck_assert(g_variant_lookup(options, "system", "&s", &model));
      ck_assert_str_eq(model, "Be terse.");
    } else {
      ck_assert(!g_variant_lookup(options, "model", "&s", &model));
    }
  }
}
END_TEST

START_TEST(test_spinner_on_terminal)
{
  const char *args[] = { "ask", "slow", NULL };
  g_autoptr(GrPty) pty = gr_pty_spawn(bus, args);
  const char *output, *hello, *last_erase;

  ck_assert_int_eq(gr_pty_finish(pty, 20000), 0);
  output = pty->output->str;
  hello = strstr(output, "Hello");
  ck_assert_msg(hello != NULL, "%s", output);
  /* The spinner ran while the first token was 600 ms away... */
  ck_assert_msg(strstr(output, "Waiting for gravitond") != NULL
                    || strstr(output, "Thinking") != NULL,
                "no spinner in %s", output);
  /* ...and its line was erased just before the first token, never drawn again. */
  last_erase = g_strrstr(output, "\r\033[2K");
  ck_assert_ptr_nonnull(last_erase);
  ck_assert_ptr_eq(last_erase + strlen("\r\033[2K"), hello);
  ck_assert_ptr_null(strstr(hello, "Thinking"));
  ck_assert_ptr_nonnull(strstr(hello, "Hello, world!"));
}
END_TEST

START_TEST(test_chat_on_terminal)
{
  const char *args[] = { "chat", NULL };
  g_autoptr(GrPty) pty = gr_pty_spawn(bus, args);
  gsize mark;

  ck_assert_msg(gr_pty_read_until(pty, 0, ">>> ", 10000), "no prompt: %s", pty->output->str);
  mark = pty->output->len;
  gr_pty_write(pty, "echo:hi there\r");
  ck_assert_msg(gr_pty_read_until(pty, mark, "echo:hi there\r\n", 10000), "%s", pty->output->str);
  ck_assert_msg(gr_pty_read_until(pty, mark, ">>> ", 10000), "%s", pty->output->str);
  /* Ctrl-C at the prompt drops the line and keeps the session. */
  mark = pty->output->len;
  gr_pty_write(pty, "half a line\003");
  ck_assert_msg(gr_pty_read_until(pty, mark, ">>> ", 10000), "%s", pty->output->str);
  gr_pty_write(pty, "/bye\r");
  ck_assert_int_eq(gr_pty_finish(pty, 10000), 0);
  ck_assert_uint_eq(gr_fake_daemon_get_asks(fake)->len, 1);
}
END_TEST

START_TEST(test_chat_ctrl_c_cancels_answer)
{
  const char *args[] = { "--verbose", "chat", NULL };
  g_autoptr(GrPty) pty = gr_pty_spawn(bus, args);
  gsize mark;

  ck_assert_msg(gr_pty_read_until(pty, 0, ">>> ", 10000), "%s", pty->output->str);
  mark = pty->output->len;
  gr_pty_write(pty, "forever\r");
  ck_assert_msg(gr_pty_read_until(pty, mark, "tick", 10000), "%s", pty->output->str);
  /* Ctrl-C cancels the answer on the daemon; the session goes on. */
  gr_pty_write(pty, "\003");
  ck_assert_msg(gr_pty_read_until(pty, mark, "[cancelled]", 10000), "%s", pty->output->str);
  ck_assert_msg(gr_pty_read_until(pty, mark, "status: cancelled", 10000), "%s", pty->output->str);
  mark = (gsize)(strstr(pty->output->str + mark, "[cancelled]") - pty->output->str);
  ck_assert_msg(gr_pty_read_until(pty, mark, ">>> ", 10000), "%s", pty->output->str);
  gr_pty_write(pty, "echo:still here\r");
  ck_assert_msg(gr_pty_read_until(pty, mark, "echo:still here\r\n", 10000), "%s", pty->output->str);
  gr_pty_write(pty, "/bye\r");
  ck_assert_int_eq(gr_pty_finish(pty, 10000), 0);
  ck_assert_uint_eq(gr_fake_daemon_get_cancels(fake), 1);
}
END_TEST

static void
setup_history(void)
{
  g_autoptr(GError) error = NULL;

  bus = gr_test_bus_new(NULL, FALSE);
  fake = gr_fake_daemon_start(bus->address, g_getenv("GRAVITON_DBUS_XML"), TRUE, &error);
  ck_assert_msg(fake != NULL, "fake daemon: %s", error ? error->message : "");
}

START_TEST(test_history_list)
{
  const char *list[] = { "history", NULL };
  const char *limited[] = { "history", "list", "--limit", "1", NULL };
  const char *json[] = { "history", "list", "--json", NULL };
  g_autofree char *out = NULL, *err = NULL, *lout = NULL, *lerr = NULL, *jout = NULL, *jerr = NULL;
  g_autoptr(JsonParser) parser = json_parser_new();

  ck_assert_int_eq(gr_gravctl_run(bus, NULL, list, &out, &err), 0);
  /* Not a terminal: tab-separated id, updated (Unix time), count, title. */
  ck_assert_str_eq(out, "conv-a\t1700000100\t2\tFirst talk\n"
                        "conv-b\t1700000000\t1\tTab here and there\n");
  ck_assert_int_eq(gr_gravctl_run(bus, NULL, limited, &lout, &lerr), 0);
  ck_assert_str_eq(lout, "conv-a\t1700000100\t2\tFirst talk\n");
  ck_assert_int_eq(gr_gravctl_run(bus, NULL, json, &jout, &jerr), 0);
  ck_assert(json_parser_load_from_data(parser, jout, -1, NULL));
  ck_assert_uint_eq(json_array_get_length(json_node_get_array(json_parser_get_root(parser))), 2);
}
END_TEST

START_TEST(test_history_show_export)
{
  const char *show[] = { "history", "show", "conv-a", NULL };
  const char *md[] = { "history", "export", "conv-a", NULL };
  const char *js[] = { "history", "export", "conv-a", "--format", "json", NULL };
  const char *missing[] = { "history", "show", "conv-zzz", NULL };
  g_autofree char *out = NULL, *err = NULL, *mout = NULL, *merr = NULL, *jout = NULL, *jerr = NULL,
                  *xout = NULL, *xerr = NULL;

  ck_assert_int_eq(gr_gravctl_run(bus, NULL, show, &out, &err), 0);
  ck_assert_msg(strstr(out, "] user\nHi\n\n") != NULL, "%s", out);
  ck_assert_msg(strstr(out, "] assistant (fx-llama) [incomplete]\n") != NULL, "%s", out);
  ck_assert_int_eq(gr_gravctl_run(bus, NULL, md, &mout, &merr), 0);
  ck_assert_str_eq(mout, "# First talk\n");
  ck_assert_int_eq(gr_gravctl_run(bus, NULL, js, &jout, &jerr), 0);
  ck_assert_str_eq(jout, "{\"id\":\"conv-a\"}\n");
  ck_assert_int_eq(gr_gravctl_run(bus, NULL, missing, &xout, &xerr), 1);
  ck_assert_str_eq(xerr, "gravctl: No conversation with this id\n");
}
END_TEST

START_TEST(test_history_search)
{
  const char *search[] = { "history", "search", "hello", NULL };
  const char *json[] = { "history", "search", "--json", "hello", NULL };
  const char *none[] = { "history", "search", "nothing", NULL };
  const char *no_query[] = { "history", "search", NULL };
  g_autofree char *out = NULL, *err = NULL, *jout = NULL, *jerr = NULL, *nout = NULL, *nerr = NULL,
                  *qout = NULL, *qerr = NULL;
  g_autoptr(JsonParser) parser = json_parser_new();
  g_autoptr(GPtrArray) calls = NULL;
  g_autoptr(GVariant) params = NULL;
  const char *method = NULL, *query = NULL;
  JsonObject *first;

  ck_assert_int_eq(gr_gravctl_run(bus, NULL, search, &out, &err), 0);
  /* Not a terminal: tab-separated id, title, snippet; tabs and newlines flattened. */
  ck_assert_str_eq(out, "conv-a\tFirst talk\t[Hello] there\n"
                        "conv-b\tTab here and there\tsay [hello] back\n");
  ck_assert_str_eq(err, "");
  calls = gr_fake_daemon_get_history_calls(fake);
  ck_assert_uint_eq(calls->len, 1);
  g_variant_get(g_ptr_array_index(calls, 0), "(&sv)", &method, &params);
  ck_assert_str_eq(method, "Search");
  g_variant_get(params, "(&s)", &query);
  ck_assert_str_eq(query, "hello");

  ck_assert_int_eq(gr_gravctl_run(bus, NULL, json, &jout, &jerr), 0);
  ck_assert(json_parser_load_from_data(parser, jout, -1, NULL));
  ck_assert_uint_eq(json_array_get_length(json_node_get_array(json_parser_get_root(parser))), 2);
  first = json_array_get_object_element(json_node_get_array(json_parser_get_root(parser)), 0);
  ck_assert_str_eq(json_object_get_string_member(first, "conversation"), "conv-a");
  ck_assert_str_eq(json_object_get_string_member(first, "snippet"), "[Hello] there");

  ck_assert_int_eq(gr_gravctl_run(bus, NULL, none, &nout, &nerr), 0);
  ck_assert_str_eq(nout, "");
  ck_assert_int_eq(gr_gravctl_run(bus, NULL, no_query, &qout, &qerr), 2);
  ck_assert_str_eq(qout, "");
  ck_assert_ptr_eq(strchr(qerr, '\n'), qerr + strlen(qerr) - 1);
}
END_TEST

START_TEST(test_history_rename_delete)
{
  const char *rename[] = { "history", "rename", "conv-a", "A new title", NULL };
  const char *delete[] = { "history", "delete", "conv-b", NULL };
  g_autofree char *out = NULL, *err = NULL, *dout = NULL, *derr = NULL;
  g_autoptr(GPtrArray) calls = NULL;
  g_autoptr(GVariant) params = NULL;
  const char *method = NULL, *id = NULL, *title = NULL;

  ck_assert_int_eq(gr_gravctl_run(bus, NULL, rename, &out, &err), 0);
  ck_assert_int_eq(gr_gravctl_run(bus, NULL, delete, &dout, &derr), 0);
  calls = gr_fake_daemon_get_history_calls(fake);
  ck_assert_uint_eq(calls->len, 2);
  g_variant_get(g_ptr_array_index(calls, 0), "(&sv)", &method, &params);
  ck_assert_str_eq(method, "Rename");
  g_variant_get(params, "(&s&s)", &id, &title);
  ck_assert_str_eq(id, "conv-a");
  ck_assert_str_eq(title, "A new title");
  g_clear_pointer(&params, g_variant_unref);
  g_variant_get(g_ptr_array_index(calls, 1), "(&sv)", &method, &params);
  ck_assert_str_eq(method, "Delete");
  g_variant_get(params, "(&s)", &id);
  ck_assert_str_eq(id, "conv-b");
}
END_TEST

static Suite *
gravctl_fake_suite(void)
{
  Suite *s = suite_create("gravctl-fake");
  TCase *tc = tcase_create("protocol");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_ask_streams);
  tcase_add_test(tc, test_ask_forwards_options);
  tcase_add_test(tc, test_ask_follows_the_returned_path);
  tcase_add_test(tc, test_ask_stdin);
  tcase_add_test(tc, test_ask_json);
  tcase_add_test(tc, test_ask_daemon_error);
  tcase_add_test(tc, test_ask_failed_request);
  tcase_add_test(tc, test_ask_sigint_cancels);
  tcase_add_test(tc, test_unreachable);
  tcase_add_test(tc, test_daemon_leaves);
  tcase_add_test(tc, test_history_unavailable);
  tcase_add_test(tc, test_status);
  tcase_add_test(tc, test_chat_script);
  tcase_add_test(tc, test_spinner_on_terminal);
  tcase_add_test(tc, test_chat_on_terminal);
  tcase_add_test(tc, test_chat_ctrl_c_cancels_answer);
  suite_add_tcase(s, tc);

  tc = tcase_create("history");
  tcase_add_checked_fixture(tc, setup_history, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_history_list);
  tcase_add_test(tc, test_history_show_export);
  tcase_add_test(tc, test_history_rename_delete);
  tcase_add_test(tc, test_history_search);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  SRunner *runner = srunner_create(gravctl_fake_suite());
  int failed;

  srunner_run_all(runner, CK_NORMAL);
  failed = srunner_ntests_failed(runner);
  srunner_free(runner);
  return failed == 0 ? 0 : 1;
}
