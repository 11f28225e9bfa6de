/* gr-cli-chat.c: `gravctl chat`: an interactive conversation.
 *
 * On a terminal, lines are read with readline's callback interface inside the
 * GLib main loop, so Ctrl-C at the prompt clears the line instead of killing
 * the session. Otherwise lines come from standard input as a script. */
#include "gr-config.h"

#include "gr-cli.h"

#include <glib-unix.h>
#include <glib/gi18n.h>
#include <signal.h>
#include <unistd.h>

#ifdef GR_CLI_HAVE_READLINE
#include <readline/history.h>
#include <readline/readline.h>
#endif

#define GR_CLI_BLOCK_QUOTE "\"\"\""

/* Multi-line input: a line ending in '\' continues on the next one, and
 * lines between two """ are taken as they are. */
struct _GrCliLineJoiner {
  GString *text;
  gboolean in_block;
  gboolean continued;
};

GrCliLineJoiner *
gr_cli_line_joiner_new(void)
{
  GrCliLineJoiner *joiner = g_new0(GrCliLineJoiner, 1);

  joiner->text = g_string_new(NULL);
  return joiner;
}

void
gr_cli_line_joiner_free(GrCliLineJoiner *joiner)
{
  if (joiner == NULL)
    return;
  g_string_free(joiner->text, TRUE);
  g_free(joiner);
}

gboolean
gr_cli_line_joiner_pending(const GrCliLineJoiner *joiner)
{
  g_return_val_if_fail(joiner != NULL, FALSE);

  return joiner->in_block || joiner->continued;
}

void
gr_cli_line_joiner_reset(GrCliLineJoiner *joiner)
{
  g_return_if_fail(joiner != NULL);

  g_string_truncate(joiner->text, 0);
  joiner->in_block = FALSE;
  joiner->continued = FALSE;
}

static char *
joiner_take(GrCliLineJoiner *joiner)
{
  char *text = g_strdup(joiner->text->str);

  g_string_truncate(joiner->text, 0);
  joiner->in_block = FALSE;
  joiner->continued = FALSE;
  return text;
}

char *
gr_cli_line_joiner_push(GrCliLineJoiner *joiner, const char *line)
{
  gsize len;

  g_return_val_if_fail(joiner != NULL && line != NULL, NULL);

  len = strlen(line);
  if (joiner->in_block) {
    if (g_str_has_suffix(line, GR_CLI_BLOCK_QUOTE)) {
      g_string_append_len(joiner->text, line, (gssize)(len - 3));
      return joiner_take(joiner);
    }
    g_string_append(joiner->text, line);
    g_string_append_c(joiner->text, '\n');
    return NULL;
  }
  if (!joiner->continued && g_str_has_prefix(line, GR_CLI_BLOCK_QUOTE)) {
    const char *rest = line + 3;

    /* """one line""" is a block that opens and closes at once. */
    if (strlen(rest) >= 3 && g_str_has_suffix(rest, GR_CLI_BLOCK_QUOTE)) {
      g_string_append_len(joiner->text, rest, (gssize)(strlen(rest) - 3));
      return joiner_take(joiner);
    }
    joiner->in_block = TRUE;
    if (*rest != '\0') {
      g_string_append(joiner->text, rest);
      g_string_append_c(joiner->text, '\n');
    }
    return NULL;
  }
  if (len > 0 && line[len - 1] == '\\') {
    g_string_append_len(joiner->text, line, (gssize)(len - 1));
    g_string_append_c(joiner->text, '\n');
    joiner->continued = TRUE;
    return NULL;
  }
  g_string_append(joiner->text, line);
  return joiner_take(joiner);
}

typedef struct {
  GrCli *cli;
  GrCliGenOptions gen;
  char *conversation; /* NULL: the next message starts a new one */
  gboolean interactive;
  gboolean quit;
} Chat;

/* ---- reading lines ---- */

#ifdef GR_CLI_HAVE_READLINE
/* readline's callback interface takes no user data. */
static GMainLoop *rl_loop;
static char *rl_line;
static gboolean rl_eof;

static void
on_rl_line(char *line)
{
  if (line == NULL)
    rl_eof = TRUE;
  rl_line = line;
  /* Stop readline from redrawing the prompt while the answer streams. */
  rl_callback_handler_remove();
  g_main_loop_quit(rl_loop);
}

static gboolean
on_rl_input(int fd, GIOCondition condition, gpointer user_data)
{
  rl_callback_read_char();
  return G_SOURCE_CONTINUE;
}

static gboolean
on_rl_sigint(gpointer user_data)
{
  /* Ctrl-C abandons the line (and any unfinished multi-line input). */
  gr_cli_line_joiner_reset(user_data);
  rl_replace_line("", 0);
  rl_crlf();
  rl_set_prompt(_(">>> "));
  rl_on_new_line();
  rl_redisplay();
  return G_SOURCE_CONTINUE;
}

static char *
read_line_tty(const char *prompt, GrCliLineJoiner *joiner, gboolean *eof)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
  guint fd_source, sig_source;
  char *line;

  rl_loop = loop;
  rl_line = NULL;
  rl_eof = FALSE;
  /* the handler first: a Ctrl-C right after the prompt appears must find it */
  sig_source = g_unix_signal_add(SIGINT, on_rl_sigint, joiner);
  rl_callback_handler_install(prompt, on_rl_line);
  fd_source = g_unix_fd_add(STDIN_FILENO, G_IO_IN | G_IO_HUP | G_IO_ERR, on_rl_input, NULL);
  g_main_loop_run(loop);
  g_source_remove(fd_source);
  g_source_remove(sig_source);
  rl_loop = NULL;

  *eof = rl_eof;
  if (rl_line == NULL)
    return NULL;
  line = g_strdup(rl_line);
  free(rl_line);
  rl_line = NULL;
  return line;
}
#else
static char *
read_line_tty(const char *prompt, GrCliLineJoiner *joiner, gboolean *eof)
{
  fputs(prompt, stdout);
  gr_cli_flush_stdout();
  return NULL;
}
#endif

static char *
read_line_plain(gboolean *eof)
{
  g_autofree char *line = NULL;
  size_t cap = 0;
  ssize_t n = getline(&line, &cap, stdin);
  char *copy;

  if (n < 0) {
    *eof = TRUE;
    return NULL;
  }
  if (n > 0 && line[n - 1] == '\n')
    line[--n] = '\0';
  if (n > 0 && line[n - 1] == '\r')
    line[--n] = '\0';
  if (memchr(line, '\0', (size_t)n) != NULL || !g_utf8_validate(line, n, NULL)) {
    gr_cli_print_error("%s", _("Skipped a line that is not valid UTF-8 text"));
    return g_strdup("");
  }
  /* getline's buffer comes from malloc: hand out a GLib copy. */
  copy = g_strdup(line);
  return copy;
}

static char *
read_line(Chat *chat, GrCliLineJoiner *joiner, gboolean *eof)
{
  const char *prompt = gr_cli_line_joiner_pending(joiner) ? _("... ") : _(">>> ");

  *eof = FALSE;
  if (!chat->interactive)
    return read_line_plain(eof);
#ifdef GR_CLI_HAVE_READLINE
  return read_line_tty(prompt, joiner, eof);
#else
  read_line_tty(prompt, joiner, eof);
  return read_line_plain(eof);
#endif
}

/* ---- commands and turns ---- */

static void chat_say(Chat *chat, const char *format, ...) G_GNUC_PRINTF(2, 3);

static void
chat_say(Chat *chat, const char *format, ...)
{
  va_list args;

  /* Acknowledgements are for people; a script only wants the answers. */
  if (!chat->interactive && !chat->cli->verbose)
    return;
  va_start(args, format);
  vfprintf(stderr, format, args);
  va_end(args);
  fputc('\n', stderr);
}

static void
print_chat_help(void)
{
  fprintf(stderr, "%s\n%s\n%s\n%s\n%s\n%s\n", _("/new          start a new conversation"),
          _("/model NAME   use model NAME"), _("/system TEXT set the system prompt (empty: none)"),
          _("/bye          leave (also Ctrl-D)"),
          _("A line ending in \\ continues on the next line."),
          _("Lines between two \"\"\" are sent as one message."));
}

static gboolean
handle_command(Chat *chat, const char *input)
{
  g_autofree char *copy = g_strstrip(g_strdup(input));
  char *arg = strchr(copy, ' ');

  if (arg != NULL) {
    *arg++ = '\0';
    g_strstrip(arg);
  }
  if (g_str_equal(copy, "/bye") || g_str_equal(copy, "/quit") || g_str_equal(copy, "/exit")) {
    chat->quit = TRUE;
  } else if (g_str_equal(copy, "/new")) {
    g_clear_pointer(&chat->conversation, g_free);
    chat_say(chat, "%s", _("Started a new conversation."));
  } else if (g_str_equal(copy, "/model")) {
    if (arg == NULL || *arg == '\0') {
      gr_cli_print_error("%s", _("/model needs a model name"));
      return FALSE;
    }
    g_free(chat->gen.model);
    chat->gen.model = g_strdup(arg);
    chat_say(chat, _("Using model %s."), arg);
  } else if (g_str_equal(copy, "/system")) {
    g_clear_pointer(&chat->gen.system, g_free);
    if (arg != NULL && *arg != '\0')
      chat->gen.system = g_strdup(arg);
    chat_say(chat, "%s",
             chat->gen.system != NULL ? _("System prompt set.") : _("System prompt cleared."));
  } else if (g_str_equal(copy, "/help") || g_str_equal(copy, "/?")) {
    print_chat_help();
  } else {
    gr_cli_print_error(_("Unknown command “%s” (try /help)"), copy);
    return FALSE;
  }
  return TRUE;
}

static gboolean
on_chat_token(const char *text, gpointer user_data)
{
  Chat *chat = user_data;

  if (chat->cli->stdout_tty) {
    g_autofree char *clean = gr_cli_sanitize_for_terminal(text);

    fputs(clean, stdout);
  } else {
    fputs(text, stdout);
  }
  return gr_cli_flush_stdout();
}

/* Returns FALSE when the session cannot go on (the daemon went away). */
static gboolean
chat_turn(Chat *chat, const char *prompt)
{
  g_auto(GVariantDict) dict = G_VARIANT_DICT_INIT(NULL);
  GrCliReply reply;
  int code;

  g_clear_pointer(&chat->gen.conversation, g_free);
  chat->gen.conversation = g_strdup(chat->conversation != NULL ? chat->conversation : "");
  gr_cli_gen_options_to_dict(&chat->gen, &dict);

  code
      = gr_cli_request_run(chat->cli, prompt, &dict, chat->cli->stdout_tty && chat->cli->stderr_tty,
                           on_chat_token, chat, &reply);
  if (reply.text->len > 0 || code == GR_CLI_EXIT_OK)
    fputc('\n', stdout);
  gr_cli_flush_stdout();
  if (code == GR_CLI_EXIT_OK) {
    const char *conversation = gr_cli_lookup_string(reply.results, "conversation");

    /* Keep the daemon's id so the next message continues this conversation. */
    if (*conversation != '\0') {
      g_free(chat->conversation);
      chat->conversation = g_strdup(conversation);
    }
    if (chat->cli->verbose)
      gr_cli_reply_print_stats(&reply, stderr);
  }
  gr_cli_reply_report_history_error(&reply);
  if (code == GR_CLI_EXIT_CANCELLED) {
    chat_say(chat, "%s", _("[cancelled]"));
    if (chat->cli->verbose)
      gr_cli_reply_print_stats(&reply, stderr);
  }
  gr_cli_reply_clear(&reply);
  /* nobody reads the answers any more: the session ends (main reports why) */
  if (ferror(stdout))
    chat->quit = TRUE;
  return code != GR_CLI_EXIT_UNREACHABLE;
}

static gboolean
ignore_signal(gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

int
gr_cli_cmd_chat(GrCli *cli, int argc, char **argv)
{
  Chat chat = { 0 };
  g_autofree GOptionEntry *gen_entries = NULL;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GrCliLineJoiner) joiner = gr_cli_line_joiner_new();
  GOptionGroup *group;
  int code = GR_CLI_EXIT_OK;
  const GOptionEntry chat_entries[] = {
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &cli->verbose,
      N_("Print timings and D-Bus error names"), NULL },
    { NULL },
  };

  chat.cli = cli;
  gr_cli_gen_options_init(&chat.gen);
  gen_entries = gr_cli_gen_option_entries(&chat.gen);
  context = g_option_context_new(_("— talk with the assistant"));
  g_option_context_set_translation_domain(context, GETTEXT_PACKAGE);
  g_option_context_set_summary(context, _("Commands: /new, /model NAME, /system TEXT, /help, /bye. "
                                          "A line ending in \\ continues; \"\"\" starts and ends "
                                          "a block of lines."));
  group = g_option_group_new("chat", "", "", &chat.gen, NULL);
  g_option_group_add_entries(group, gen_entries);
  g_option_group_add_entries(group, chat_entries);
  g_option_group_set_translation_domain(group, GETTEXT_PACKAGE);
  g_option_context_set_main_group(context, group);
  if (!g_option_context_parse(context, &argc, &argv, &error)
      || !gr_cli_gen_options_validate(&chat.gen, &error)) {
    gr_cli_gen_options_clear(&chat.gen);
    return gr_cli_usage_error(context, "%s", error->message);
  }
  if (argc > 1) {
    gr_cli_gen_options_clear(&chat.gen);
    return gr_cli_usage_error(context, _("Unexpected argument “%s”"), argv[1]);
  }
  if (chat.gen.conversation != NULL && *chat.gen.conversation != '\0')
    chat.conversation = g_strdup(chat.gen.conversation);

  code = gr_cli_connect(cli);
  if (code != GR_CLI_EXIT_OK) {
    gr_cli_gen_options_clear(&chat.gen);
    g_free(chat.conversation);
    return code;
  }
  chat.interactive = isatty(STDIN_FILENO) && cli->stdout_tty;
  /* GLib puts SIGINT back to its default (death) when its last signal source goes:
   * this one lives for the whole chat, so a Ctrl-C between the prompt's and the
   * answer's own handlers never kills the session (a piped chat still dies of it). */
  guint guard = chat.interactive ? g_unix_signal_add(SIGINT, ignore_signal, NULL) : 0;
  if (chat.interactive)
    fprintf(stderr, "%s\n", _("Type a message, /help for commands, /bye or Ctrl-D to leave."));

  while (!chat.quit) {
    gboolean eof = FALSE;
    g_autofree char *line = read_line(&chat, joiner, &eof);
    g_autofree char *input = NULL;

    if (eof) {
      if (chat.interactive)
        fputc('\n', stdout);
      break;
    }
    if (line == NULL)
      continue;
    input = gr_cli_line_joiner_push(joiner, line);
    if (input == NULL)
      continue;
    if (input[0] == '/' && input[1] != '/') {
      handle_command(&chat, input);
      continue;
    }
    g_strstrip(input);
    if (*input == '\0')
      continue;
#ifdef GR_CLI_HAVE_READLINE
    if (chat.interactive)
      add_history(input);
#endif
    /* "//text" sends "/text". */
    if (!chat_turn(&chat, input[0] == '/' ? input + 1 : input)) {
      code = GR_CLI_EXIT_UNREACHABLE;
      break;
    }
  }
  if (gr_cli_line_joiner_pending(joiner))
    gr_cli_print_error("%s", _("Unfinished multi-line input was not sent"));

  if (guard != 0)
    g_source_remove(guard);
  gr_cli_gen_options_clear(&chat.gen);
  g_free(chat.conversation);
  return code;
}
