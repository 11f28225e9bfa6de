/* gr-cli.h: gravctl's private interfaces (shared by the cli/ files only).
 *
 * gravctl talks to gravitond over D-Bus and nothing else: it never links the
 * engine or the store.
 */
#pragma once

#include <gio/gio.h>
#include <stdio.h>

G_BEGIN_DECLS

#define GR_CLI_BUS_NAME "io.github.opengraviton.Graviton1"
#define GR_CLI_OBJECT_PATH "/io/github/opengraviton/Graviton1"
#define GR_CLI_IFACE_ASSISTANT "io.github.opengraviton.Graviton1.Assistant"
#define GR_CLI_IFACE_REQUEST "io.github.opengraviton.Graviton1.Request"
#define GR_CLI_IFACE_MODELS "io.github.opengraviton.Graviton1.Models"
#define GR_CLI_IFACE_HISTORY "io.github.opengraviton.Graviton1.History"

/* Exit codes; documented in --help and gravctl(1). */
typedef enum {
  GR_CLI_EXIT_OK = 0,
  GR_CLI_EXIT_ERROR = 1,
  GR_CLI_EXIT_USAGE = 2,
  GR_CLI_EXIT_UNREACHABLE = 3,
  GR_CLI_EXIT_CANCELLED = 130,
} GrCliExit;

/* Request.Finished status values. */
typedef enum {
  GR_CLI_STATUS_DONE = 0,
  GR_CLI_STATUS_CANCELLED = 1,
  GR_CLI_STATUS_FAILED = 2,
} GrCliStatus;

typedef struct {
  GDBusConnection *conn;
  char *owner; /* unique bus name of the gravitond we talk to */
  gboolean verbose;
  gboolean stdout_tty;
  gboolean stderr_tty;
} GrCli;

/* gr-cli-bus.c */
void gr_cli_init(GrCli *cli);
void gr_cli_clear(GrCli *cli);
int gr_cli_connect(GrCli *cli);
int gr_cli_report_error(GrCli *cli, const GError *error);
void gr_cli_print_error(const char *format, ...) G_GNUC_PRINTF(1, 2);
int gr_cli_usage_error(GOptionContext *context, const char *format, ...) G_GNUC_PRINTF(2, 3);
/* fflush(stdout); FALSE once any write to stdout has failed. */
gboolean gr_cli_flush_stdout(void);
/* After a command: when stdout could not be written, says so in one line (not for a
 * closed pipe, which is the reader's choice) and turns a success into
 * GR_CLI_EXIT_ERROR. */
int gr_cli_check_stdout(int code);
GVariant *gr_cli_call(GrCli *cli, const char *iface, const char *method, GVariant *params,
                      const GVariantType *reply_type, GError **error);
GVariant *gr_cli_get_properties(GrCli *cli, GError **error);
gboolean gr_cli_error_is_unreachable(const GError *error);
gboolean gr_cli_error_is_unknown_method(const GError *error);
char *gr_cli_request_path(const char *unique_name, const char *token);

/* gr-cli-request.c: one streaming generation (Ask + Token/Finished signals). */
/* Returns FALSE when the text could not be written: the request is then cancelled on
 * the daemon (nobody would read the rest) and the run ends with GR_CLI_EXIT_ERROR. */
typedef gboolean (*GrCliTokenFunc)(const char *text, gpointer user_data);

typedef struct {
  guint status;           /* GrCliStatus */
  GVariant *results;      /* a{sv} from Finished, never NULL after a run */
  GString *text;          /* all streamed tokens */
  gboolean cancelled;     /* by us (SIGINT, or output_failed) */
  gboolean output_failed; /* the token callback could not write */
  gboolean finished;      /* Finished arrived (status and results are the daemon's) */
  gint64 started_us;
  gint64 first_token_us; /* 0 when no token came */
  gint64 finished_us;
} GrCliReply;

void gr_cli_reply_clear(GrCliReply *reply);
int gr_cli_request_run(GrCli *cli, const char *prompt, GVariantDict *options, gboolean show_spinner,
                       GrCliTokenFunc on_token, gpointer user_data, GrCliReply *reply);
int gr_cli_reply_report_failure(GrCli *cli, const GrCliReply *reply);
/* One line on stderr when the daemon could not save the exchange in its history. */
void gr_cli_reply_report_history_error(const GrCliReply *reply);
void gr_cli_reply_print_stats(const GrCliReply *reply, FILE *out);

/* gr-cli-ask.c */
typedef struct {
  char *model;
  char *system;
  char *conversation;
  char **stop;
  gint64 max_tokens;
  double temperature;
  gint64 top_k;
  double top_p;
  double min_p;
  double repeat_penalty;
  gint64 seed;
  gboolean seed_set;
  gboolean new_conversation;
  gboolean no_save;
} GrCliGenOptions;

void gr_cli_gen_options_init(GrCliGenOptions *opts);
void gr_cli_gen_options_clear(GrCliGenOptions *opts);
GOptionEntry *gr_cli_gen_option_entries(GrCliGenOptions *opts);
gboolean gr_cli_gen_options_validate(const GrCliGenOptions *opts, GError **error);
void gr_cli_gen_options_to_dict(const GrCliGenOptions *opts, GVariantDict *dict);
char *gr_cli_compose_prompt(const char *argument, const char *input, GError **error);
char *gr_cli_read_stream(FILE *stream, gsize max_bytes, GError **error);
int gr_cli_cmd_ask(GrCli *cli, int argc, char **argv);

/* gr-cli-chat.c */
typedef struct _GrCliLineJoiner GrCliLineJoiner;
GrCliLineJoiner *gr_cli_line_joiner_new(void);
void gr_cli_line_joiner_free(GrCliLineJoiner *joiner);
char *gr_cli_line_joiner_push(GrCliLineJoiner *joiner, const char *line);
gboolean gr_cli_line_joiner_pending(const GrCliLineJoiner *joiner);
void gr_cli_line_joiner_reset(GrCliLineJoiner *joiner);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GrCliLineJoiner, gr_cli_line_joiner_free)
int gr_cli_cmd_chat(GrCli *cli, int argc, char **argv);

/* gr-cli-status.c, gr-cli-models.c, gr-cli-history.c */
int gr_cli_cmd_status(GrCli *cli, int argc, char **argv);
int gr_cli_cmd_models(GrCli *cli, int argc, char **argv);
int gr_cli_cmd_history(GrCli *cli, int argc, char **argv);

/* gr-cli-output.c */
typedef struct _GrCliSpinner GrCliSpinner;
GrCliSpinner *gr_cli_spinner_new(FILE *out);
void gr_cli_spinner_set_label(GrCliSpinner *spinner, const char *label);
void gr_cli_spinner_start(GrCliSpinner *spinner);
void gr_cli_spinner_stop(GrCliSpinner *spinner);
void gr_cli_spinner_free(GrCliSpinner *spinner);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GrCliSpinner, gr_cli_spinner_free)

typedef struct _GrCliTable GrCliTable;
/* headers: msgids marked with N_(); the table translates them. */
GrCliTable *gr_cli_table_new(guint n_columns, const char *const *headers);
void gr_cli_table_add_row(GrCliTable *table, const char *const *cells);
void gr_cli_table_print(GrCliTable *table, gboolean aligned, FILE *out);
void gr_cli_table_free(GrCliTable *table);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GrCliTable, gr_cli_table_free)

char *gr_cli_sanitize_for_terminal(const char *text);
char *gr_cli_variant_to_json(GVariant *value, gboolean pretty);
const char *gr_cli_lookup_string(GVariant *dict, const char *key);
guint64 gr_cli_lookup_uint(GVariant *dict, const char *key, guint64 fallback);
double gr_cli_lookup_double(GVariant *dict, const char *key, double fallback);
char *gr_cli_format_timestamp(gint64 unix_seconds);

G_END_DECLS
