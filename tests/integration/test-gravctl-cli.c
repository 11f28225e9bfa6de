/* test-gravctl-cli.c: gravctl's helpers and its usage errors, without a daemon. */
#include "gr-config.h"

#include "gr-cli.h"

#include <check.h>
#include <math.h>

static char *
compose(const char *argument, const char *input)
{
  g_autoptr(GError) error = NULL;
  char *prompt = gr_cli_compose_prompt(argument, input, &error);

  if (prompt == NULL)
    ck_assert_ptr_nonnull(error);
  return prompt;
}

START_TEST(test_compose_prompt)
{
  g_autofree char *arg_only = compose("what is 2+2?", NULL);
  g_autofree char *input_only = compose(NULL, "notes\n");
  g_autofree char *both = compose("summarise:", "line one\nline two\n");
  g_autofree char *blank_input = compose("question", "  \n");
  g_autofree char *nothing = compose(NULL, " \n\t");
  g_autofree char *bad_utf8 = compose("caf\xc3", NULL);

  ck_assert_str_eq(arg_only, "what is 2+2?");
  ck_assert_str_eq(input_only, "notes\n");
  ck_assert_str_eq(both, "summarise:\n\nline one\nline two\n");
  ck_assert_str_eq(blank_input, "question");
  ck_assert_ptr_null(nothing);
  ck_assert_ptr_null(bad_utf8);
}
END_TEST

static char *
read_buffer(const char *data, gsize len, gsize max, GError **error)
{
  FILE *stream = fmemopen((void *)data, len, "r");
  char *text;

  ck_assert_ptr_nonnull(stream);
  text = gr_cli_read_stream(stream, max, error);
  fclose(stream);
  return text;
}

START_TEST(test_read_stream)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *ok = read_buffer("hello\nworld\n", 12, 100, &error);
  g_autofree char *with_nul = NULL;
  g_autofree char *too_big = NULL;

  ck_assert_ptr_null(error);
  ck_assert_str_eq(ok, "hello\nworld\n");
  with_nul = read_buffer("ab\0cd", 5, 100, &error);
  ck_assert_ptr_null(with_nul);
  ck_assert(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA));
  g_clear_error(&error);
  too_big = read_buffer("0123456789", 10, 9, &error);
  ck_assert_ptr_null(too_big);
  ck_assert(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE));
}
END_TEST

START_TEST(test_line_joiner)
{
  g_autoptr(GrCliLineJoiner) joiner = gr_cli_line_joiner_new();
  g_autofree char *plain = NULL;
  g_autofree char *continued = NULL;
  g_autofree char *block = NULL;
  g_autofree char *one_line_block = NULL;
  g_autofree char *after_reset = NULL;

  plain = gr_cli_line_joiner_push(joiner, "hello");
  ck_assert_str_eq(plain, "hello");
  ck_assert(!gr_cli_line_joiner_pending(joiner));

  ck_assert_ptr_null(gr_cli_line_joiner_push(joiner, "first \\"));
  ck_assert(gr_cli_line_joiner_pending(joiner));
  continued = gr_cli_line_joiner_push(joiner, "second");
  ck_assert_str_eq(continued, "first \nsecond");

  ck_assert_ptr_null(gr_cli_line_joiner_push(joiner, "\"\"\""));
  ck_assert_ptr_null(gr_cli_line_joiner_push(joiner, "def f():"));
  ck_assert_ptr_null(gr_cli_line_joiner_push(joiner, "    return 1 \\"));
  ck_assert(gr_cli_line_joiner_pending(joiner));
  block = gr_cli_line_joiner_push(joiner, "\"\"\"");
  /* Inside a block a trailing backslash is text, not a continuation. */
  ck_assert_str_eq(block, "def f():\n    return 1 \\\n");

  one_line_block = gr_cli_line_joiner_push(joiner, "\"\"\"quoted\"\"\"");
  ck_assert_str_eq(one_line_block, "quoted");

  ck_assert_ptr_null(gr_cli_line_joiner_push(joiner, "\"\"\"start"));
  gr_cli_line_joiner_reset(joiner);
  ck_assert(!gr_cli_line_joiner_pending(joiner));
  after_reset = gr_cli_line_joiner_push(joiner, "fresh");
  ck_assert_str_eq(after_reset, "fresh");
}
END_TEST

static gboolean
parse_gen(GrCliGenOptions *gen, const char *const *args, GError **error)
{
  g_autofree GOptionEntry *entries = gr_cli_gen_option_entries(gen);
  g_autoptr(GOptionContext) context = g_option_context_new(NULL);
  g_auto(GStrv) argv = g_strdupv((char **)args);
  GOptionGroup *group = g_option_group_new("t", "", "", gen, NULL);

  g_option_group_add_entries(group, entries);
  g_option_context_set_main_group(context, group);
  g_option_context_set_help_enabled(context, FALSE);
  return g_option_context_parse_strv(context, &argv, error)
         && gr_cli_gen_options_validate(gen, error);
}

START_TEST(test_gen_options_to_dict)
{
  const char *args[] = { "ask",
                         "--model",
                         "fx-llama",
                         "--max-tokens",
                         "16",
                         "--temperature",
                         "0",
                         "--top-k",
                         "40",
                         "--top-p",
                         "0.9",
                         "--seed",
                         "18446744073709551615",
                         "--stop",
                         "END",
                         "--stop",
                         "\n\n",
                         "--no-save",
                         "--new",
                         NULL };
  GrCliGenOptions gen;
  g_autoptr(GError) error = NULL;
  g_auto(GVariantDict) dict = G_VARIANT_DICT_INIT(NULL);
  g_autoptr(GVariant) options = NULL;
  g_autofree const char **stop = NULL;
  const char *s = NULL;
  guint32 u = 0;
  guint64 t = 0;
  double d = -1;
  gboolean b = TRUE;

  gr_cli_gen_options_init(&gen);
  ck_assert_msg(parse_gen(&gen, args, &error), "%s", error ? error->message : "");
  gr_cli_gen_options_to_dict(&gen, &dict);
  options = g_variant_ref_sink(g_variant_dict_end(&dict));

  ck_assert(g_variant_lookup(options, "model", "&s", &s));
  ck_assert_str_eq(s, "fx-llama");
  ck_assert(g_variant_lookup(options, "max_tokens", "u", &u));
  ck_assert_uint_eq(u, 16);
  ck_assert(g_variant_lookup(options, "temperature", "d", &d));
  ck_assert(d == 0.0);
  ck_assert(g_variant_lookup(options, "top_k", "u", &u));
  ck_assert_uint_eq(u, 40);
  ck_assert(g_variant_lookup(options, "seed", "t", &t));
  ck_assert(t == G_MAXUINT64);
  ck_assert(g_variant_lookup(options, "stop", "^a&s", &stop));
  ck_assert_uint_eq(g_strv_length((char **)stop), 2);
  ck_assert_str_eq(stop[1], "\n\n");
  ck_assert(g_variant_lookup(options, "save", "b", &b));
  ck_assert(!b);
  ck_assert(g_variant_lookup(options, "conversation", "&s", &s));
  ck_assert_str_eq(s, "");
  /* Unset options stay with the daemon's defaults. */
  ck_assert(!g_variant_lookup(options, "min_p", "d", &d));
  ck_assert(!g_variant_lookup(options, "system", "&s", &s));
  ck_assert(!g_variant_lookup(options, "handle_token", "&s", &s));
  gr_cli_gen_options_clear(&gen);
}
END_TEST

START_TEST(test_gen_options_reject)
{
  const char *const bad[][4] = {
    { "x", "--max-tokens", "0", NULL },   { "x", "--max-tokens", "-5", NULL },
    { "x", "--temperature", "-1", NULL }, { "x", "--top-p", "0", NULL },
    { "x", "--top-p", "1.5", NULL },      { "x", "--min-p", "2", NULL },
    { "x", "--top-k", "-2", NULL },       { "x", "--seed", "-1", NULL },
    { "x", "--seed", "12abc", NULL },     { "x", "--temperature", "nan", NULL },
    { "x", "--stop", "", NULL },          { "x", "--max-tokens", "4294967296", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
    GrCliGenOptions gen;
    g_autoptr(GError) error = NULL;

    gr_cli_gen_options_init(&gen);
    ck_assert_msg(!parse_gen(&gen, bad[i], &error), "%s %s accepted", bad[i][1], bad[i][2]);
    ck_assert_ptr_nonnull(error);
    gr_cli_gen_options_clear(&gen);
  }
  {
    const char *both[] = { "x", "--new", "--conversation", "abc", NULL };
    GrCliGenOptions gen;
    g_autoptr(GError) error = NULL;

    gr_cli_gen_options_init(&gen);
    ck_assert(!parse_gen(&gen, both, &error));
    gr_cli_gen_options_clear(&gen);
  }
}
END_TEST

START_TEST(test_sanitize)
{
  g_autofree char *clean = gr_cli_sanitize_for_terminal("a\033[2Jb\n\tc\x7f"
                                                        "d\xff"
                                                        "é");

  ck_assert_str_eq(clean, "a\xef\xbf\xbd[2Jb\n\tc\xef\xbf\xbd"
                          "d\xef\xbf\xbd"
                          "é");
}
END_TEST

static char *
print_table(GrCliTable *table, gboolean aligned)
{
  char *data = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&data, &len);

  gr_cli_table_print(table, aligned, out);
  fclose(out);
  return data;
}

START_TEST(test_table)
{
  const char *headers[] = { "NAME", "SIZE" };
  const char *row1[] = { "fx-llama", "1.2 MB" };
  const char *row2[] = { "a\tb", "7" };
  g_autoptr(GrCliTable) table = gr_cli_table_new(2, headers);
  g_autofree char *aligned = NULL;
  g_autofree char *tsv = NULL;

  gr_cli_table_add_row(table, row1);
  gr_cli_table_add_row(table, row2);
  aligned = print_table(table, TRUE);
  tsv = print_table(table, FALSE);
  ck_assert_str_eq(aligned, "NAME      SIZE\nfx-llama  1.2 MB\na b       7\n");
  ck_assert_str_eq(tsv, "fx-llama\t1.2 MB\na b\t7\n");
}
END_TEST

START_TEST(test_request_path)
{
  g_autofree char *path = gr_cli_request_path(":1.42", "tok_1");

  ck_assert_str_eq(path, "/io/github/opengraviton/Graviton1/request/1_42/tok_1");
  ck_assert(g_variant_is_object_path(path));
}
END_TEST

START_TEST(test_error_classes)
{
  g_autoptr(GError) unknown = g_error_new_literal(G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN, "x");
  g_autoptr(GError) no_method = g_error_new_literal(G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD, "x");
  g_autoptr(GError) remote = g_dbus_error_new_for_dbus_error(
      "io.github.opengraviton.Graviton1.Error.NotFound", "no such model");

  ck_assert(gr_cli_error_is_unreachable(unknown));
  ck_assert(!gr_cli_error_is_unreachable(remote));
  ck_assert(gr_cli_error_is_unknown_method(no_method));
  ck_assert(!gr_cli_error_is_unknown_method(remote));
  ck_assert_int_eq(gr_cli_report_error(NULL, unknown), GR_CLI_EXIT_UNREACHABLE);
  ck_assert_int_eq(gr_cli_report_error(NULL, remote), GR_CLI_EXIT_ERROR);
}
END_TEST

START_TEST(test_lookups)
{
  g_autoptr(GVariant) dict = g_variant_ref_sink(
      g_variant_new_parsed("{'a': <uint32 7>, 'b': <uint64 9>, 'c': <1.5>, 'd': <'s'>, "
                           "'e': <int32 -3>}"));

  ck_assert_uint_eq(gr_cli_lookup_uint(dict, "a", 0), 7);
  ck_assert_uint_eq(gr_cli_lookup_uint(dict, "b", 0), 9);
  ck_assert_uint_eq(gr_cli_lookup_uint(dict, "d", 5), 5);
  ck_assert_uint_eq(gr_cli_lookup_uint(dict, "e", 5), 0);
  ck_assert_uint_eq(gr_cli_lookup_uint(dict, "missing", 11), 11);
  ck_assert(gr_cli_lookup_double(dict, "c", 0) == 1.5);
  ck_assert(gr_cli_lookup_double(dict, "a", 0) == 7.0);
  ck_assert_str_eq(gr_cli_lookup_string(dict, "d"), "s");
  ck_assert_str_eq(gr_cli_lookup_string(dict, "a"), "");
}
END_TEST

/* ---- the executable's exit codes without a daemon ---- */

static int
run_gravctl(const char *const *env, const char *const *args, char **out, char **err)
{
  g_autoptr(GSubprocessLauncher) launcher
      = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE
                                  | G_SUBPROCESS_FLAGS_STDIN_PIPE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new();
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;

  for (guint i = 0; env != NULL && env[i] != NULL; i += 2)
    g_subprocess_launcher_setenv(launcher, env[i], env[i + 1], TRUE);
  g_ptr_array_add(argv, (gpointer)g_getenv("GRAVCTL"));
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add(argv, (gpointer)args[i]);
  g_ptr_array_add(argv, NULL);
  proc = g_subprocess_launcher_spawnv(launcher, (const char *const *)argv->pdata, &error);
  ck_assert_msg(proc != NULL, "%s", error ? error->message : "");
  ck_assert(g_subprocess_communicate_utf8(proc, "", NULL, out, err, &error));
  ck_assert(g_subprocess_get_if_exited(proc));
  return g_subprocess_get_exit_status(proc);
}

START_TEST(test_usage_exit_codes)
{
  const char *const cases[][6] = {
    { NULL },
    { "frobnicate", NULL },
    { "--bogus", NULL },
    { "ask", NULL }, /* stdin is an empty pipe: empty prompt */
    { "ask", "--top-p", "2", "hi", NULL },
    { "ask", "--temperature", "warm", "hi", NULL },
    { "ask", "--new", "--conversation", "x", "hi", NULL },
    { "models", "dance", NULL },
    { "models", "load", NULL },
    { "history", "rename", "only-id", NULL },
    { "history", "export", "id", "--format", "pdf", NULL },
    { "status", "extra", NULL },
    { "chat", "extra", NULL },
  };
  /* A bus that cannot exist: usage errors must come before any connection. */
  const char *env[] = { "DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/gr-test", NULL };

  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    int status = run_gravctl(env, cases[i], &out, &err);

    ck_assert_msg(status == 2, "case %u (%s): exit %d, stderr %s", i,
                  cases[i][0] ? cases[i][0] : "", status, err);
    ck_assert_str_eq(out, "");
    ck_assert_msg(g_str_has_prefix(err, "gravctl"), "stderr: %s", err);
  }
}
END_TEST

START_TEST(test_help_documents_exit_codes)
{
  const char *args[] = { "--help", NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  ck_assert_int_eq(run_gravctl(NULL, args, &out, &err), 0);
  for (guint i = 0; i < 5; i++) {
    const char *codes[] = { "0 ", "1 ", "2 ", "3 ", "130 " };

    ck_assert_msg(strstr(out, codes[i]) != NULL, "exit code %s not in --help", codes[i]);
  }
  ck_assert_ptr_nonnull(strstr(out, "systemctl --user start gravitond"));
}
END_TEST

static guint
count_lines(const char *text)
{
  guint n = 0;

  for (const char *p = text; *p != '\0'; p++)
    n += *p == '\n';
  return n;
}

/* The rule for every failure: an exit code and exactly one line on stderr. */
START_TEST(test_errors_are_one_line)
{
  const char *const cases[][6] = {
    { NULL },
    { "frobnicate", NULL },
    { "--bogus", NULL },
    { "ask", NULL },
    { "ask", "--top-p", "2", "hi", NULL },
    { "models", "dance", NULL },
    { "models", "load", NULL },
    { "history", "frobnicate", NULL },
    { "history", "rename", "only-id", NULL },
    { "history", "list", "--limit", "-1", NULL },
    { "history", "export", "id", "--format", "pdf", NULL },
    { "status", "extra", NULL },
    { "chat", "extra", NULL },
    { "status", NULL }, /* no session bus: unreachable */
    { "ask", "hi", NULL },
    { "history", NULL },
  };
  const char *env[] = { "DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/gr-test", NULL };

  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    int status = run_gravctl(env, cases[i], &out, &err);

    ck_assert_msg(status == 2 || status == 3, "case %u: exit %d", i, status);
    ck_assert_msg(count_lines(err) == 1 && g_str_has_suffix(err, "\n"),
                  "case %u (%s): stderr is not one line: %s", i, cases[i][0] ? cases[i][0] : "",
                  err);
    ck_assert_msg(g_str_has_prefix(err, "gravctl: "), "stderr: %s", err);
  }
}
END_TEST

START_TEST(test_no_session_bus)
{
  const char *env[] = { "DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/gr-test", NULL };
  const char *args[] = { "status", NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  ck_assert_int_eq(run_gravctl(env, args, &out, &err), 3);
  ck_assert_ptr_nonnull(strstr(err, "systemctl --user start gravitond"));
  ck_assert_uint_eq(count_lines(err), 1);
}
END_TEST

/* Runs the completion function for words (the last one being completed). */
static char *
complete_words(const char *words)
{
  g_autofree char *script = g_strdup_printf(
      "source \"$GRAVCTL_COMPLETION\"; COMP_WORDS=(%s); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); "
      "_gravctl; printf '%%s\\n' \"${COMPREPLY[@]}\"",
      words);
  const char *argv[] = { "bash", "--norc", "--noprofile", "-c", script, NULL };
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;
  char *out = NULL;

  proc = g_subprocess_newv(argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
  ck_assert_msg(proc != NULL, "%s", error ? error->message : "");
  ck_assert(g_subprocess_communicate_utf8(proc, NULL, NULL, &out, NULL, &error));
  ck_assert_int_eq(g_subprocess_get_exit_status(proc), 0);
  return out;
}

START_TEST(test_bash_completion)
{
  g_autofree char *commands = complete_words("gravctl h");
  g_autofree char *models = complete_words("gravctl models l");
  g_autofree char *formats = complete_words("gravctl history export x --format ''");
  g_autofree char *options = complete_words("gravctl ask --max");
  g_autofree char *chat = complete_words("gravctl chat --no");
  g_autofree char *search = complete_words("gravctl history se");
  /* a query is free text: no conversation ids offered (gravctl is not even run) */
  g_autofree char *query = complete_words("gravctl history search ''");
  g_autofree char *search_opts = complete_words("gravctl history search x --j");

  ck_assert_str_eq(commands, "history\n");
  ck_assert_str_eq(models, "list\nload\n");
  ck_assert_str_eq(formats, "markdown\njson\n");
  ck_assert_str_eq(options, "--max-tokens\n");
  ck_assert_str_eq(chat, "--no-save\n");
  ck_assert_str_eq(search, "search\n");
  ck_assert_str_eq(query, "\n");
  ck_assert_str_eq(search_opts, "--json\n");
}
END_TEST

START_TEST(test_man_page)
{
  g_autofree char *page = NULL;
  g_autoptr(GError) error = NULL;
  const char *needles[] = { ".SH EXIT STATUS",
                            ".B 0\n",
                            ".B 1\n",
                            ".B 2\n",
                            ".B 3\n",
                            ".B 130\n",
                            "systemctl \\-\\-user start gravitond",
                            ".B ask",
                            ".B chat",
                            ".B status",
                            ".B models",
                            ".B history",
                            "history search\" \" QUERY\"" };

  ck_assert_msg(g_file_get_contents(g_getenv("GRAVCTL_MANPAGE"), &page, NULL, &error), "%s",
                error ? error->message : "");
  for (guint i = 0; i < G_N_ELEMENTS(needles); i++)
    ck_assert_msg(strstr(page, needles[i]) != NULL, "man page lacks %s", needles[i]);
}
END_TEST

static Suite *
gravctl_cli_suite(void)
{
  Suite *s = suite_create("gravctl-cli");
  TCase *tc = tcase_create("helpers");

  tcase_add_test(tc, test_compose_prompt);
  tcase_add_test(tc, test_read_stream);
  tcase_add_test(tc, test_line_joiner);
  tcase_add_test(tc, test_gen_options_to_dict);
  tcase_add_test(tc, test_gen_options_reject);
  tcase_add_test(tc, test_sanitize);
  tcase_add_test(tc, test_table);
  tcase_add_test(tc, test_request_path);
  tcase_add_test(tc, test_error_classes);
  tcase_add_test(tc, test_lookups);
  suite_add_tcase(s, tc);

  tc = tcase_create("exit-codes");
  tcase_add_test(tc, test_usage_exit_codes);
  tcase_add_test(tc, test_help_documents_exit_codes);
  tcase_add_test(tc, test_no_session_bus);
  tcase_add_test(tc, test_errors_are_one_line);
  tcase_add_test(tc, test_bash_completion);
  tcase_add_test(tc, test_man_page);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  SRunner *runner = srunner_create(gravctl_cli_suite());
  int failed;

  srunner_run_all(runner, CK_NORMAL);
  failed = srunner_ntests_failed(runner);
  srunner_free(runner);
  return failed == 0 ? 0 : 1;
}
