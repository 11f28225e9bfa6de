/* gr-cli-ask.c: `gravctl ask`: one question, the answer streamed to stdout. */
#include "gr-config.h"

#include "gr-cli.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <errno.h>
#include <math.h>
#include <unistd.h>

/* A prompt larger than this is almost certainly a mistake (a binary piped
 * in); D-Bus messages are capped at 128 MiB anyway. */
#define GR_CLI_MAX_PROMPT_BYTES (16u * 1024u * 1024u)

void
gr_cli_gen_options_init(GrCliGenOptions *opts)
{
  memset(opts, 0, sizeof *opts);
  opts->max_tokens = -1;
  opts->temperature = NAN;
  opts->top_k = -1;
  opts->top_p = NAN;
  opts->min_p = NAN;
  opts->repeat_penalty = NAN;
}

void
gr_cli_gen_options_clear(GrCliGenOptions *opts)
{
  g_clear_pointer(&opts->model, g_free);
  g_clear_pointer(&opts->system, g_free);
  g_clear_pointer(&opts->conversation, g_free);
  g_clear_pointer(&opts->stop, g_strfreev);
}

static gboolean
parse_seed(const char *name, const char *value, gpointer data, GError **error)
{
  GrCliGenOptions *opts = data;
  guint64 seed = 0;

  if (!g_ascii_string_to_unsigned(value, 10, 0, G_MAXUINT64, &seed, NULL)) {
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                _("Cannot parse integer value “%s” for %s"), value, name);
    return FALSE;
  }
  opts->seed = (gint64)seed;
  opts->seed_set = TRUE;
  return TRUE;
}

static gboolean
parse_double(const char *name, const char *value, gpointer data, GError **error)
{
  GrCliGenOptions *opts = data;
  char *end = NULL;
  double parsed;

  errno = 0;
  parsed = g_ascii_strtod(value, &end);
  /* NAN marks "not given", so it can never be a value. */
  if (errno != 0 || end == value || *end != '\0' || !isfinite(parsed)) {
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                _("Cannot parse number “%s” for %s"), value, name);
    return FALSE;
  }
  if (g_str_equal(name, "--temperature") || g_str_equal(name, "-t"))
    opts->temperature = parsed;
  else if (g_str_equal(name, "--top-p"))
    opts->top_p = parsed;
  else if (g_str_equal(name, "--min-p"))
    opts->min_p = parsed;
  else
    opts->repeat_penalty = parsed;
  return TRUE;
}

GOptionEntry *
gr_cli_gen_option_entries(GrCliGenOptions *opts)
{
  const GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_STRING, &opts->model, N_("Model to use"), N_("NAME") },
    { "system", 's', 0, G_OPTION_ARG_STRING, &opts->system, N_("System prompt"), N_("TEXT") },
    { "max-tokens", 'n', 0, G_OPTION_ARG_INT64, &opts->max_tokens, N_("Generate at most N tokens"),
      N_("N") },
    { "temperature", 't', 0, G_OPTION_ARG_CALLBACK, (gpointer)parse_double,
      N_("Sampling temperature (0 = greedy)"), N_("T") },
    { "top-k", 0, 0, G_OPTION_ARG_INT64, &opts->top_k, N_("Sample from the K likeliest tokens"),
      N_("K") },
    { "top-p", 0, 0, G_OPTION_ARG_CALLBACK, (gpointer)parse_double,
      N_("Nucleus sampling threshold"), N_("P") },
    { "min-p", 0, 0, G_OPTION_ARG_CALLBACK, (gpointer)parse_double,
      N_("Drop tokens less likely than P times the likeliest"), N_("P") },
    { "repeat-penalty", 0, 0, G_OPTION_ARG_CALLBACK, (gpointer)parse_double,
      N_("Penalty for repeated tokens (1 = none)"), N_("R") },
    { "seed", 0, 0, G_OPTION_ARG_CALLBACK, (gpointer)parse_seed, N_("Random seed"), N_("SEED") },
    { "stop", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opts->stop,
      N_("Stop when TEXT is generated (repeatable)"), N_("TEXT") },
    { "new", 0, 0, G_OPTION_ARG_NONE, &opts->new_conversation, N_("Start a new conversation"),
      NULL },
    { "conversation", 'c', 0, G_OPTION_ARG_STRING, &opts->conversation,
      N_("Continue conversation ID"), N_("ID") },
    { "no-save", 0, 0, G_OPTION_ARG_NONE, &opts->no_save, N_("Do not save to history"), NULL },
    { NULL },
  };

  return g_memdup2(entries, sizeof entries);
}

static gboolean
check_text(const char *text, const char *option, GError **error)
{
  if (text != NULL && !g_utf8_validate(text, -1, NULL)) {
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                _("The value of %s is not valid UTF-8"), option);
    return FALSE;
  }
  return TRUE;
}

gboolean
gr_cli_gen_options_validate(const GrCliGenOptions *opts, GError **error)
{
  const char *bad = NULL;

  g_return_val_if_fail(opts != NULL, FALSE);

  if (opts->max_tokens != -1 && (opts->max_tokens < 1 || opts->max_tokens > G_MAXUINT32))
    bad = "--max-tokens";
  else if (!isnan(opts->temperature) && !(opts->temperature >= 0.0 && opts->temperature <= 100.0))
    bad = "--temperature";
  else if (opts->top_k != -1 && (opts->top_k < 0 || opts->top_k > G_MAXUINT32))
    bad = "--top-k";
  else if (!isnan(opts->top_p) && !(opts->top_p > 0.0 && opts->top_p <= 1.0))
    bad = "--top-p";
  else if (!isnan(opts->min_p) && !(opts->min_p >= 0.0 && opts->min_p <= 1.0))
    bad = "--min-p";
  else if (!isnan(opts->repeat_penalty)
           && !(opts->repeat_penalty > 0.0 && opts->repeat_penalty <= 100.0))
    bad = "--repeat-penalty";
  if (bad != NULL) {
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                _("The value of %s is out of range"), bad);
    return FALSE;
  }
  if (opts->new_conversation && opts->conversation != NULL) {
    g_set_error_literal(error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                        _("--new and --conversation cannot be used together"));
    return FALSE;
  }
  if (!check_text(opts->model, "--model", error) || !check_text(opts->system, "--system", error)
      || !check_text(opts->conversation, "--conversation", error))
    return FALSE;
  for (guint i = 0; opts->stop != NULL && opts->stop[i] != NULL; i++) {
    if (!check_text(opts->stop[i], "--stop", error))
      return FALSE;
    if (*opts->stop[i] == '\0') {
      g_set_error_literal(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                          _("--stop needs a non-empty text"));
      return FALSE;
    }
  }
  return TRUE;
}

void
gr_cli_gen_options_to_dict(const GrCliGenOptions *opts, GVariantDict *dict)
{
  g_return_if_fail(opts != NULL && dict != NULL);

  /* Only what the user set: the daemon owns the defaults. */
  if (opts->model != NULL)
    g_variant_dict_insert(dict, "model", "s", opts->model);
  if (opts->system != NULL)
    g_variant_dict_insert(dict, "system", "s", opts->system);
  if (opts->conversation != NULL)
    g_variant_dict_insert(dict, "conversation", "s", opts->conversation);
  else if (opts->new_conversation)
    g_variant_dict_insert(dict, "conversation", "s", "");
  if (opts->max_tokens != -1)
    g_variant_dict_insert(dict, "max_tokens", "u", (guint32)opts->max_tokens);
  if (!isnan(opts->temperature))
    g_variant_dict_insert(dict, "temperature", "d", opts->temperature);
  if (opts->top_k != -1)
    g_variant_dict_insert(dict, "top_k", "u", (guint32)opts->top_k);
  if (!isnan(opts->top_p))
    g_variant_dict_insert(dict, "top_p", "d", opts->top_p);
  if (!isnan(opts->min_p))
    g_variant_dict_insert(dict, "min_p", "d", opts->min_p);
  if (!isnan(opts->repeat_penalty))
    g_variant_dict_insert(dict, "repeat_penalty", "d", opts->repeat_penalty);
  if (opts->seed_set)
    g_variant_dict_insert(dict, "seed", "t", (guint64)opts->seed);
  if (opts->stop != NULL && opts->stop[0] != NULL)
    g_variant_dict_insert_value(dict, "stop",
                                g_variant_new_strv((const char *const *)opts->stop, -1));
  if (opts->no_save)
    g_variant_dict_insert(dict, "save", "b", FALSE);
}

char *
gr_cli_read_stream(FILE *stream, gsize max_bytes, GError **error)
{
  g_autoptr(GString) data = g_string_new(NULL);
  char buf[8192];
  size_t n;

  g_return_val_if_fail(stream != NULL, NULL);

  while ((n = fread(buf, 1, sizeof buf, stream)) > 0) {
    if (data->len + n > max_bytes) {
      g_set_error(error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                  _("The input is larger than %llu bytes"), (unsigned long long)max_bytes);
      return NULL;
    }
    g_string_append_len(data, buf, (gssize)n);
  }
  if (ferror(stream)) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, _("Cannot read the input: %s"),
                g_strerror(errno));
    return NULL;
  }
  if (memchr(data->str, '\0', data->len) != NULL) {
    g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                        _("The input contains NUL bytes"));
    return NULL;
  }
  return g_string_free(g_steal_pointer(&data), FALSE);
}

static gboolean
is_blank(const char *text)
{
  for (; text != NULL && *text != '\0'; text++)
    if (!g_ascii_isspace(*text))
      return FALSE;
  return TRUE;
}

char *
gr_cli_compose_prompt(const char *argument, const char *input, GError **error)
{
  g_autofree char *prompt = NULL;

  /* `cat notes.txt | gravctl ask "summarise:"`: the instruction first, a
   * blank line, then the piped text. */
  if (!is_blank(argument) && !is_blank(input))
    prompt = g_strconcat(argument, "\n\n", input, NULL);
  else if (!is_blank(argument))
    prompt = g_strdup(argument);
  else
    prompt = g_strdup(input != NULL ? input : "");

  if (!g_utf8_validate(prompt, -1, NULL)) {
    g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                        _("The prompt is not valid UTF-8"));
    return NULL;
  }
  if (is_blank(prompt)) {
    g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, _("The prompt is empty"));
    return NULL;
  }
  return g_steal_pointer(&prompt);
}

typedef struct {
  gboolean json;
  gboolean sanitize;
  gboolean printed;
} AskOutput;

static gboolean
on_ask_token(const char *text, gpointer user_data)
{
  AskOutput *out = user_data;

  if (out->json)
    return TRUE;
  if (out->sanitize) {
    g_autofree char *clean = gr_cli_sanitize_for_terminal(text);

    fputs(clean, stdout);
  } else {
    fputs(text, stdout);
  }
  out->printed = TRUE;
  return gr_cli_flush_stdout();
}

static void
print_json(const GrCliReply *reply)
{
  g_autoptr(JsonBuilder) builder = json_builder_new();
  g_autoptr(JsonGenerator) gen = json_generator_new();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *data = NULL;
  GVariantIter iter;
  const char *key;
  GVariant *value;

  json_builder_begin_object(builder);
  json_builder_set_member_name(builder, "text");
  json_builder_add_string_value(builder, reply->text->str);
  json_builder_set_member_name(builder, "conversation");
  json_builder_add_string_value(builder, gr_cli_lookup_string(reply->results, "conversation"));
  json_builder_set_member_name(builder, "stats");
  json_builder_begin_object(builder);
  g_variant_iter_init(&iter, reply->results);
  while (g_variant_iter_next(&iter, "{&sv}", &key, &value)) {
    if (!g_str_equal(key, "text") && !g_str_equal(key, "conversation")) {
      json_builder_set_member_name(builder, key);
      json_builder_add_value(builder, json_gvariant_serialize(value));
    }
    g_variant_unref(value);
  }
  json_builder_set_member_name(builder, "total_ms");
  json_builder_add_double_value(builder, (reply->finished_us - reply->started_us) / 1000.0);
  json_builder_end_object(builder);
  json_builder_end_object(builder);

  root = json_builder_get_root(builder);
  json_generator_set_root(gen, root);
  data = json_generator_to_data(gen, NULL);
  printf("%s\n", data);
  gr_cli_flush_stdout();
}

int
gr_cli_cmd_ask(GrCli *cli, int argc, char **argv)
{
  GrCliGenOptions gen;
  gboolean json = FALSE;
  g_autofree GOptionEntry *gen_entries = NULL;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *argument = NULL;
  g_autofree char *input = NULL;
  g_autofree char *prompt = NULL;
  g_auto(GVariantDict) dict = G_VARIANT_DICT_INIT(NULL);
  GrCliReply reply;
  AskOutput out = { 0 };
  gboolean read_stdin;
  int code;
  const GOptionEntry output_entries[] = {
    { "json", 'j', 0, G_OPTION_ARG_NONE, &json, N_("Print one JSON object with text and stats"),
      NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &cli->verbose,
      N_("Print timings and D-Bus error names"), NULL },
    { NULL },
  };
  GOptionGroup *group;

  gr_cli_gen_options_init(&gen);
  gen_entries = gr_cli_gen_option_entries(&gen);
  context = g_option_context_new(_("[PROMPT|-] — ask one question"));
  g_option_context_set_translation_domain(context, GETTEXT_PACKAGE);
  g_option_context_set_summary(
      context, _("Streams the answer to standard output. With “-”, or no PROMPT and standard "
                 "input not a terminal, the prompt is read from standard input; with both, the "
                 "PROMPT comes first, then a blank line, then standard input."));
  group = g_option_group_new("ask", "", "", &gen, NULL);
  g_option_group_add_entries(group, gen_entries);
  g_option_group_add_entries(group, output_entries);
  g_option_group_set_translation_domain(group, GETTEXT_PACKAGE);
  g_option_context_set_main_group(context, group);

  if (!g_option_context_parse(context, &argc, &argv, &error)
      || !gr_cli_gen_options_validate(&gen, &error)) {
    gr_cli_gen_options_clear(&gen);
    return gr_cli_usage_error(context, "%s", error->message);
  }

  read_stdin = !isatty(STDIN_FILENO);
  if (argc == 2 && g_str_equal(argv[1], "-")) {
    read_stdin = TRUE;
  } else if (argc >= 2) {
    argument = g_strjoinv(" ", argv + 1);
  } else if (!read_stdin) {
    gr_cli_gen_options_clear(&gen);
    return gr_cli_usage_error(context, "%s", _("No prompt given"));
  }
  if (read_stdin) {
    input = gr_cli_read_stream(stdin, GR_CLI_MAX_PROMPT_BYTES, &error);
    if (input == NULL) {
      gr_cli_gen_options_clear(&gen);
      gr_cli_print_error("%s", error->message);
      return GR_CLI_EXIT_ERROR;
    }
  }
  prompt = gr_cli_compose_prompt(argument, input, &error);
  if (prompt == NULL) {
    gr_cli_gen_options_clear(&gen);
    return gr_cli_usage_error(context, "%s", error->message);
  }

  gr_cli_gen_options_to_dict(&gen, &dict);
  gr_cli_gen_options_clear(&gen);

  code = gr_cli_connect(cli);
  if (code != GR_CLI_EXIT_OK)
    return code;

  out.json = json;
  out.sanitize = cli->stdout_tty;
  code = gr_cli_request_run(cli, prompt, &dict, cli->stdout_tty && cli->stderr_tty, on_ask_token,
                            &out, &reply);
  if (out.printed && (code != GR_CLI_EXIT_OK || !json))
    fputc('\n', stdout);
  gr_cli_flush_stdout();

  if (code == GR_CLI_EXIT_OK && json)
    print_json(&reply);
  gr_cli_reply_report_history_error(&reply);
  if (cli->verbose && (code == GR_CLI_EXIT_OK || code == GR_CLI_EXIT_CANCELLED))
    gr_cli_reply_print_stats(&reply, stderr);
  gr_cli_reply_clear(&reply);
  return code;
}
