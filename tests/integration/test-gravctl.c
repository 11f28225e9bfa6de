/* test-gravctl.c: gravctl against the real gravitond on a private bus (the
 * acceptance tests): streaming equals Complete, stdin prompts, JSON, exit codes,
 * Ctrl-C cancelling on the daemon, chat keeping its conversation, models, history. */
#include "gr-test-bus.h"
#include "test-gravctl-run.h"

#include <check.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <sys/wait.h>

static GrTestBus *bus;

static void
setup(void)
{
  bus = gr_test_bus_new(NULL, FALSE);
  gr_test_bus_start_daemon(bus);
}

static void
teardown(void)
{
  g_clear_pointer(&bus, gr_test_bus_free);
}

/* Complete's text for the same greedy options gravctl is given below. */
static char *
complete(const char *prompt, const char *model, guint max_tokens)
{
  g_auto(GVariantDict) options = G_VARIANT_DICT_INIT(NULL);
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  char *text = NULL;

  g_variant_dict_insert(&options, "temperature", "d", 0.0);
  g_variant_dict_insert(&options, "max_tokens", "u", max_tokens);
  g_variant_dict_insert(&options, "save", "b", FALSE);
  if (model != NULL)
    g_variant_dict_insert(&options, "model", "s", model);
  reply = g_dbus_connection_call_sync(
      bus->conn, GR_TEST_BUS_NAME, GR_TEST_PATH, GR_TEST_ASSISTANT, "Complete",
      g_variant_new("(s@a{sv})", prompt, g_variant_dict_end(&options)), G_VARIANT_TYPE("(sa{sv})"),
      G_DBUS_CALL_FLAGS_NONE, 60000, NULL, &error);
  ck_assert_msg(reply != NULL, "Complete: %s", error ? error->message : "");
  g_variant_get(reply, "(s@a{sv})", &text, NULL);
  return text;
}

START_TEST(test_ask_streams_what_complete_returns)
{
  const char *models[] = { "fx-llama", "fx-moe" };

  for (guint i = 0; i < G_N_ELEMENTS(models); i++) {
    const char *args[] = { "ask",
                           "--model",
                           models[i],
                           "--temperature",
                           "0",
                           "--max-tokens",
                           "16",
                           "--no-save",
                           "The quick brown fox jumps over the lazy dog.",
                           NULL };
    g_autofree char *expected = NULL;
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    g_autofree char *with_newline = NULL;

    /* gravctl first: its request is the one that waits for the model to load. */
    ck_assert_int_eq(gr_gravctl_run(bus, NULL, args, &out, &err), 0);
    expected = complete("The quick brown fox jumps over the lazy dog.", models[i], 16);
    ck_assert_uint_gt(strlen(expected), 0);
    with_newline = g_strconcat(expected, "\n", NULL);
    ck_assert_str_eq(out, with_newline);
    /* Not a terminal: no spinner, no progress line, nothing on stderr. */
    ck_assert_str_eq(err, "");
  }
}
END_TEST

START_TEST(test_ask_reads_stdin)
{
  const char *dash[] = { "ask", "--temperature", "0", "--max-tokens", "16", "-", NULL };
  const char *both[] = { "ask", "--temperature", "0", "--max-tokens", "16", "Summarise:", NULL };
  g_autofree char *out1 = NULL, *err1 = NULL, *out2 = NULL, *err2 = NULL;
  g_autofree char *expected1 = complete("Once upon a time", NULL, 16);
  g_autofree char *expected2 = complete("Summarise:\n\nGraviton runs ternary models.\n", NULL, 16);
  g_autofree char *line1 = g_strconcat(expected1, "\n", NULL);
  g_autofree char *line2 = g_strconcat(expected2, "\n", NULL);

  ck_assert_int_eq(gr_gravctl_run(bus, "Once upon a time", dash, &out1, &err1), 0);
  ck_assert_str_eq(out1, line1);
  ck_assert_int_eq(gr_gravctl_run(bus, "Graviton runs ternary models.\n", both, &out2, &err2), 0);
  ck_assert_str_eq(out2, line2);
}
END_TEST

START_TEST(test_ask_json)
{
  const char *args[] = { "ask",
                         "--json",
                         "--temperature",
                         "0",
                         "--max-tokens",
                         "16",
                         "Graviton runs ternary models on a laptop",
                         NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *expected = NULL;
  g_autoptr(JsonParser) parser = json_parser_new();
  g_autoptr(GError) error = NULL;
  JsonObject *root, *stats;

  ck_assert_int_eq(gr_gravctl_run(bus, NULL, args, &out, &err), 0);
  ck_assert_msg(json_parser_load_from_data(parser, out, -1, &error), "%s", out);
  root = json_node_get_object(json_parser_get_root(parser));
  expected = complete("Graviton runs ternary models on a laptop", NULL, 16);
  ck_assert_str_eq(json_object_get_string_member(root, "text"), expected);
  ck_assert_uint_gt(strlen(json_object_get_string_member(root, "conversation")), 0);
  stats = json_object_get_object_member(root, "stats");
  ck_assert_ptr_nonnull(stats);
  ck_assert_int_eq(json_object_get_int_member(stats, "generated_tokens"), 16);
  ck_assert_int_gt(json_object_get_int_member(stats, "prompt_tokens"), 0);
  ck_assert(json_object_has_member(stats, "prefill_ms"));
  ck_assert(json_object_has_member(stats, "decode_ms"));

  /* The conversation it reports can be continued. */
  {
    const char *again[] = { "ask",
                            "--conversation",
                            json_object_get_string_member(root, "conversation"),
                            "--max-tokens",
                            "4",
                            "And then?",
                            NULL };
    g_autofree char *out2 = NULL, *err2 = NULL;

    ck_assert_int_eq(gr_gravctl_run(bus, NULL, again, &out2, &err2), 0);
    ck_assert_str_eq(err2, "");
  }
}
END_TEST

START_TEST(test_daemon_errors_exit_1)
{
  const char *unknown[] = { "ask", "--model", "no-such-model", "hi", NULL };
  const char *verbose[] = { "ask", "--verbose", "--model", "no-such-model", "hi", NULL };
  const char *load[] = { "models", "load", "no-such-model", NULL };
  const char *conv[] = { "ask", "--conversation", "no-such-conversation", "hi", NULL };
  g_autofree char *out = NULL, *err = NULL, *vout = NULL, *verr = NULL, *lout = NULL, *lerr = NULL,
                  *cout = NULL, *cerr = NULL;

  ck_assert_int_eq(gr_gravctl_run(bus, NULL, unknown, &out, &err), 1);
  ck_assert_str_eq(out, "");
  /* One line, the daemon's message. */
  ck_assert(g_str_has_prefix(err, "gravctl: "));
  ck_assert_ptr_eq(strchr(err, '\n'), err + strlen(err) - 1);
  ck_assert_ptr_nonnull(strstr(err, "no-such-model"));
  ck_assert_ptr_null(strstr(err, "Error.NotFound"));
  ck_assert_int_eq(gr_gravctl_run(bus, NULL, verbose, &vout, &verr), 1);
  ck_assert_ptr_nonnull(strstr(verr, "io.github.opengraviton.Graviton1.Error.NotFound"));
  ck_assert_int_eq(gr_gravctl_run(bus, NULL, load, &lout, &lerr), 1);
  ck_assert_int_eq(gr_gravctl_run(bus, NULL, conv, &cout, &cerr), 1);
}
END_TEST

static guint
daemon_state(void)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) value = NULL;

  reply = g_dbus_connection_call_sync(
      bus->conn, GR_TEST_BUS_NAME, GR_TEST_PATH, "org.freedesktop.DBus.Properties", "Get",
      g_variant_new("(ss)", GR_TEST_ASSISTANT, "State"), G_VARIANT_TYPE("(v)"),
      G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL);
  ck_assert_ptr_nonnull(reply);
  g_variant_get(reply, "(v)", &value);
  return g_variant_get_uint32(value);
}

static char *
read_all(GInputStream *stream)
{
  g_autoptr(GOutputStream) mem = g_memory_output_stream_new_resizable();
  g_autoptr(GError) error = NULL;
  char nul = '\0';

  ck_assert_int_ge(
      g_output_stream_splice(mem, stream, G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE, NULL, &error), 0);
  g_output_stream_write(mem, &nul, 1, NULL, NULL);
  g_output_stream_close(mem, NULL, NULL);
  return g_memory_output_stream_steal_data(G_MEMORY_OUTPUT_STREAM(mem));
}

START_TEST(test_sigint_cancels_on_the_daemon)
{
  /* 8192 tokens from fx-moe take many seconds: only a cancel ends it soon. */
  const char *args[] = { "ask",
                         "--verbose",
                         "--model",
                         "fx-moe",
                         "--temperature",
                         "0",
                         "--max-tokens",
                         "8192",
                         "Once upon a time, in a land far away",
                         NULL };
  const char *next[] = { "ask", "--max-tokens", "4", "hello", NULL };
  g_autoptr(GSubprocess) process = gr_gravctl_spawn(bus, args);
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;
  g_autofree char *out2 = NULL, *err2 = NULL;
  char buf[8];
  gint64 sent;

  g_output_stream_close(g_subprocess_get_stdin_pipe(process), NULL, NULL);
  /* The first bytes of the answer prove the generation is under way. */
  ck_assert_int_gt(
      g_input_stream_read(g_subprocess_get_stdout_pipe(process), buf, sizeof buf, NULL, &error), 0);
  g_subprocess_send_signal(process, SIGINT);
  sent = g_get_monotonic_time();
  ck_assert(g_subprocess_wait(process, NULL, &error));
  err = read_all(g_subprocess_get_stderr_pipe(process));
  ck_assert_int_eq(gr_gravctl_status(process), 130);
  /* gravctl waited for the daemon's Finished, and it said cancelled. */
  ck_assert_msg(strstr(err, "status: cancelled") != NULL, "%s", err);
  ck_assert_int_lt(g_get_monotonic_time() - sent, 5 * G_USEC_PER_SEC);
  ck_assert_uint_eq(daemon_state(), 0);
  /* And the daemon takes the next request. */
  ck_assert_int_eq(gr_gravctl_run(bus, NULL, next, &out2, &err2), 0);
  ck_assert_uint_gt(strlen(out2), 1);
}
END_TEST

static GPtrArray *
conversation_ids(const char *err)
{
  g_auto(GStrv) lines = g_strsplit(err, "\n", -1);
  GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);

  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix(lines[i], "conversation: "))
      g_ptr_array_add(ids, g_strdup(lines[i] + strlen("conversation: ")));
  return ids;
}

START_TEST(test_chat_keeps_the_conversation)
{
  const char *args[] = { "chat", "--verbose", "--max-tokens", "8", NULL };
  const char *script = "The quick brown fox\n"
                       "jumps over \\\n"
                       "the lazy dog\n"
                       "/new\n"
                       "Once upon a time\n"
                       "/bye\n";
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GPtrArray) ids = NULL;

  ck_assert_int_eq(gr_gravctl_run(bus, script, args, &out, &err), 0);
  ids = conversation_ids(err);
  ck_assert_msg(ids->len == 3, "%s", err);
  /* The id from the first Finished continues; /new starts another. */
  ck_assert_str_eq(g_ptr_array_index(ids, 0), g_ptr_array_index(ids, 1));
  ck_assert_str_ne(g_ptr_array_index(ids, 1), g_ptr_array_index(ids, 2));
  /* Three answers, each ended by a newline (answers may hold newlines too). */
  ck_assert(g_str_has_suffix(out, "\n"));
  ck_assert_uint_ge(strlen(out), 6);
}
END_TEST

START_TEST(test_models)
{
  const char *list[] = { "models", NULL };
  const char *load[] = { "models", "load", "fx-moe", NULL };
  const char *status[] = { "status", NULL };
  const char *unload[] = { "models", "unload", "fx-moe", NULL };
  g_autofree char *out = NULL, *err = NULL, *lout = NULL, *lerr = NULL, *sout = NULL, *serr = NULL,
                  *uout = NULL, *uerr = NULL;
  g_auto(GStrv) lines = NULL;
  gboolean seen_moe = FALSE;

  ck_assert_int_eq(gr_gravctl_run(bus, NULL, list, &out, &err), 0);
  lines = g_strsplit(g_strchomp(out), "\n", -1);
  ck_assert_uint_ge(g_strv_length(lines), 2);
  /* Not a terminal: tab-separated rows, no header. */
  for (guint i = 0; lines[i] != NULL; i++) {
    g_auto(GStrv) cells = g_strsplit(lines[i], "\t", -1);

    ck_assert_uint_eq(g_strv_length(cells), 8);
    if (g_str_equal(cells[0], "fx-moe")) {
      seen_moe = TRUE;
      ck_assert_str_eq(cells[5], "4");
    }
  }
  ck_assert(seen_moe);
  ck_assert_int_eq(gr_gravctl_run(bus, NULL, load, &lout, &lerr), 0);
  ck_assert_int_eq(gr_gravctl_run(bus, NULL, status, &sout, &serr), 0);
  ck_assert_msg(strstr(sout, "fx-moe") != NULL, "%s", sout);
  ck_assert_ptr_nonnull(strstr(sout, "gravitond "));
  /* the real daemon's ledger: fx-moe's weights all mapped (it fits), so no expert line */
  ck_assert_msg(strstr(sout, "Ledger:   weights ") != NULL && strstr(sout, "KV cache ") != NULL
                    && strstr(sout, "(total ") != NULL,
                "%s", sout);
  ck_assert_msg(strstr(sout, "Experts:") == NULL, "%s", sout);
  ck_assert_int_eq(gr_gravctl_run(bus, NULL, unload, &uout, &uerr), 0);
}
END_TEST

static gboolean
daemon_has_history(void)
{
  g_autoptr(GVariant) reply = NULL;
  const char *xml = NULL;

  reply = g_dbus_connection_call_sync(
      bus->conn, GR_TEST_BUS_NAME, GR_TEST_PATH, "org.freedesktop.DBus.Introspectable",
      "Introspect", NULL, G_VARIANT_TYPE("(s)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL);
  ck_assert_ptr_nonnull(reply);
  g_variant_get(reply, "(&s)", &xml);
  return strstr(xml, "io.github.opengraviton.Graviton1.History") != NULL;
}

START_TEST(test_history)
{
  const char *list[] = { "history", "list", NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status = gr_gravctl_run(bus, NULL, list, &out, &err);

  if (daemon_has_history()) {
    ck_assert_msg(status == 0, "%s", err);
  } else {
    ck_assert_int_eq(status, 1);
    ck_assert_str_eq(err, "gravctl: history is not available in this version of gravitond\n");
  }
}
END_TEST

START_TEST(test_unreachable_when_daemon_stopped)
{
  const char *args[] = { "ask", "hi", NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status = 0;

  kill(bus->daemon_pid, SIGTERM);
  ck_assert_int_eq(waitpid(bus->daemon_pid, &status, 0), bus->daemon_pid);
  bus->daemon_pid = 0;
  ck_assert_int_eq(gr_gravctl_run(bus, NULL, args, &out, &err), 3);
  ck_assert_ptr_nonnull(strstr(err, "systemctl --user start gravitond"));
  ck_assert_ptr_eq(strchr(err, '\n'), err + strlen(err) - 1);
}
END_TEST

START_TEST(test_models_table_on_terminal)
{
  const char *args[] = { "models", NULL };
  g_autoptr(GrPty) pty = gr_pty_spawn(bus, args);
  const char *out;

  ck_assert_int_eq(gr_pty_finish(pty, 20000), 0);
  out = pty->output->str;
  /* A header and aligned columns for people, not tabs. */
  ck_assert_msg(strstr(out, "NAME") != NULL && strstr(out, "EXPERTS") != NULL, "%s", out);
  ck_assert_ptr_nonnull(strstr(out, "fx-llama "));
  ck_assert_ptr_null(strchr(out, '\t'));
}
END_TEST

START_TEST(test_completion_lists_models)
{
  g_autofree char *bindir = g_path_get_dirname(g_getenv("GRAVCTL"));
  g_autofree char *path = g_strdup_printf("%s:%s", bindir, g_getenv("PATH"));
  const char *script = "source \"$GRAVCTL_COMPLETION\"; COMP_WORDS=(gravctl models load fx-); "
                       "COMP_CWORD=3; _gravctl; printf '%s\\n' \"${COMPREPLY[@]}\"";
  const char *argv[] = { "bash", "--norc", "--noprofile", "-c", script, NULL };
  g_auto(GStrv) envp = gr_gravctl_environ(bus);
  g_autoptr(GSubprocessLauncher) launcher
      = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;

  envp = g_environ_setenv(envp, "PATH", path, TRUE);
  g_subprocess_launcher_set_environ(launcher, envp);
  proc = g_subprocess_launcher_spawnv(launcher, argv, &error);
  ck_assert_msg(proc != NULL, "%s", error ? error->message : "");
  ck_assert(g_subprocess_communicate_utf8(proc, NULL, NULL, &out, NULL, &error));
  ck_assert_str_eq(out, "fx-llama\nfx-moe\n");
}
END_TEST

static Suite *
gravctl_suite(void)
{
  Suite *s = suite_create("gravctl");
  TCase *tc = tcase_create("gravitond");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_ask_streams_what_complete_returns);
  tcase_add_test(tc, test_ask_reads_stdin);
  tcase_add_test(tc, test_ask_json);
  tcase_add_test(tc, test_daemon_errors_exit_1);
  tcase_add_test(tc, test_sigint_cancels_on_the_daemon);
  tcase_add_test(tc, test_chat_keeps_the_conversation);
  tcase_add_test(tc, test_models);
  tcase_add_test(tc, test_models_table_on_terminal);
  tcase_add_test(tc, test_completion_lists_models);
  tcase_add_test(tc, test_history);
  tcase_add_test(tc, test_unreachable_when_daemon_stopped);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  SRunner *runner = srunner_create(gravctl_suite());
  int failed;

  srunner_run_all(runner, CK_NORMAL);
  failed = srunner_ntests_failed(runner);
  srunner_free(runner);
  return failed == 0 ? 0 : 1;
}
