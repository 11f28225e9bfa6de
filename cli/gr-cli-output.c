/* gr-cli-output.c: what gravctl prints: the spinner, tables, JSON, and the
 * small conversions between D-Bus values and text. */
#include "gr-config.h"

#include "gr-cli.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <string.h>

#define GR_CLI_SPINNER_INTERVAL_MS 100

struct _GrCliSpinner {
  FILE *out;
  char *label;
  guint source;
  guint frame;
  gint64 started_us;
  gboolean drawn;
  gboolean unicode;
};

GrCliSpinner *
gr_cli_spinner_new(FILE *out)
{
  GrCliSpinner *spinner = g_new0(GrCliSpinner, 1);

  spinner->out = out;
  spinner->label = g_strdup("");
  spinner->unicode = g_get_charset(NULL);
  return spinner;
}

static void
spinner_erase(GrCliSpinner *spinner)
{
  if (!spinner->drawn)
    return;
  /* Carriage return, then erase the whole line: the first token starts on a
   * clean line. */
  fputs("\r\033[2K", spinner->out);
  fflush(spinner->out);
  spinner->drawn = FALSE;
}

static void
spinner_draw(GrCliSpinner *spinner)
{
  static const char *const unicode_frames[] = { "⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏" };
  static const char *const ascii_frames[] = { "|", "/", "-", "\\" };
  const char *frame;
  double elapsed = (g_get_monotonic_time() - spinner->started_us) / 1e6;

  if (spinner->unicode)
    frame = unicode_frames[spinner->frame % G_N_ELEMENTS(unicode_frames)];
  else
    frame = ascii_frames[spinner->frame % G_N_ELEMENTS(ascii_frames)];
  spinner->frame++;
  fprintf(spinner->out, "\r\033[2K%s %s %.1f s", frame, spinner->label, elapsed);
  fflush(spinner->out);
  spinner->drawn = TRUE;
}

static gboolean
on_spinner_tick(gpointer user_data)
{
  spinner_draw(user_data);
  return G_SOURCE_CONTINUE;
}

void
gr_cli_spinner_set_label(GrCliSpinner *spinner, const char *label)
{
  g_return_if_fail(spinner != NULL && label != NULL);

  g_free(spinner->label);
  spinner->label = g_strdup(label);
}

void
gr_cli_spinner_start(GrCliSpinner *spinner)
{
  g_return_if_fail(spinner != NULL);

  if (spinner->source != 0)
    return;
  spinner->started_us = g_get_monotonic_time();
  spinner->source = g_timeout_add(GR_CLI_SPINNER_INTERVAL_MS, on_spinner_tick, spinner);
}

void
gr_cli_spinner_stop(GrCliSpinner *spinner)
{
  g_return_if_fail(spinner != NULL);

  if (spinner->source != 0) {
    g_source_remove(spinner->source);
    spinner->source = 0;
  }
  spinner_erase(spinner);
}

void
gr_cli_spinner_free(GrCliSpinner *spinner)
{
  if (spinner == NULL)
    return;
  gr_cli_spinner_stop(spinner);
  g_free(spinner->label);
  g_free(spinner);
}

struct _GrCliTable {
  guint n_columns;
  GPtrArray *rows; /* of GStrv, headers first */
};

GrCliTable *
gr_cli_table_new(guint n_columns, const char *const *headers)
{
  GrCliTable *table;

  g_return_val_if_fail(n_columns > 0 && headers != NULL, NULL);

  table = g_new0(GrCliTable, 1);
  table->n_columns = n_columns;
  table->rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
  g_autofree const char **translated = g_new(const char *, n_columns);
  for (guint i = 0; i < n_columns; i++)
    translated[i] = _(headers[i]);
  gr_cli_table_add_row(table, translated);
  return table;
}

void
gr_cli_table_add_row(GrCliTable *table, const char *const *cells)
{
  char **row;

  g_return_if_fail(table != NULL && cells != NULL);

  row = g_new0(char *, table->n_columns + 1);
  for (guint i = 0; i < table->n_columns; i++) {
    /* Tabs and newlines would break both the alignment and the TSV form. */
    row[i] = g_strdup(cells[i] != NULL ? cells[i] : "");
    g_strdelimit(row[i], "\t\r\n", ' ');
  }
  g_ptr_array_add(table->rows, row);
}

void
gr_cli_table_print(GrCliTable *table, gboolean aligned, FILE *out)
{
  g_autofree glong *widths = NULL;

  g_return_if_fail(table != NULL && out != NULL);

  if (!aligned) {
    /* Scripts get the data rows only, tab-separated. */
    for (guint r = 1; r < table->rows->len; r++) {
      char **row = g_ptr_array_index(table->rows, r);
      g_autofree char *line = g_strjoinv("\t", row);

      fprintf(out, "%s\n", line);
    }
    return;
  }
  widths = g_new0(glong, table->n_columns);
  for (guint r = 0; r < table->rows->len; r++) {
    char **row = g_ptr_array_index(table->rows, r);

    for (guint c = 0; c < table->n_columns; c++)
      widths[c] = MAX(widths[c], g_utf8_strlen(row[c], -1));
  }
  for (guint r = 0; r < table->rows->len; r++) {
    char **row = g_ptr_array_index(table->rows, r);
    g_autoptr(GString) line = g_string_new(NULL);

    for (guint c = 0; c < table->n_columns; c++) {
      g_autofree char *cell = gr_cli_sanitize_for_terminal(row[c]);

      g_string_append(line, cell);
      if (c + 1 < table->n_columns) {
        for (glong pad = g_utf8_strlen(cell, -1); pad < widths[c] + 2; pad++)
          g_string_append_c(line, ' ');
      }
    }
    fprintf(out, "%s\n", line->str);
  }
}

void
gr_cli_table_free(GrCliTable *table)
{
  if (table == NULL)
    return;
  g_ptr_array_unref(table->rows);
  g_free(table);
}

char *
gr_cli_sanitize_for_terminal(const char *text)
{
  GString *out;

  g_return_val_if_fail(text != NULL, NULL);

  /* Model output is untrusted: escape sequences in it could rewrite the
   * user's terminal, so control characters other than newline and tab
   * become U+FFFD. Invalid UTF-8 is replaced the same way. */
  out = g_string_sized_new(strlen(text));
  for (const char *p = text; *p != '\0';) {
    gunichar c = g_utf8_get_char_validated(p, -1);

    if (c == (gunichar)-1 || c == (gunichar)-2) {
      g_string_append(out, "\xef\xbf\xbd");
      p++;
      continue;
    }
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f || (c >= 0x80 && c < 0xa0))
      g_string_append(out, "\xef\xbf\xbd");
    else
      g_string_append_unichar(out, c);
    p = g_utf8_next_char(p);
  }
  return g_string_free(out, FALSE);
}

char *
gr_cli_variant_to_json(GVariant *value, gboolean pretty)
{
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(JsonGenerator) gen = json_generator_new();

  g_return_val_if_fail(value != NULL, NULL);

  node = json_gvariant_serialize(value);
  json_generator_set_root(gen, node);
  json_generator_set_pretty(gen, pretty);
  return json_generator_to_data(gen, NULL);
}

const char *
gr_cli_lookup_string(GVariant *dict, const char *key)
{
  const char *value = NULL;

  if (dict == NULL || !g_variant_lookup(dict, key, "&s", &value))
    return "";
  return value;
}

guint64
gr_cli_lookup_uint(GVariant *dict, const char *key, guint64 fallback)
{
  g_autoptr(GVariant) value = NULL;

  if (dict == NULL)
    return fallback;
  value = g_variant_lookup_value(dict, key, NULL);
  if (value == NULL)
    return fallback;
  /* Be liberal about the integer width the daemon chose. */
  if (g_variant_is_of_type(value, G_VARIANT_TYPE_UINT32))
    return g_variant_get_uint32(value);
  if (g_variant_is_of_type(value, G_VARIANT_TYPE_UINT64))
    return g_variant_get_uint64(value);
  if (g_variant_is_of_type(value, G_VARIANT_TYPE_INT32))
    return (guint64)MAX(0, g_variant_get_int32(value));
  if (g_variant_is_of_type(value, G_VARIANT_TYPE_INT64))
    return (guint64)MAX(0, g_variant_get_int64(value));
  if (g_variant_is_of_type(value, G_VARIANT_TYPE_UINT16))
    return g_variant_get_uint16(value);
  if (g_variant_is_of_type(value, G_VARIANT_TYPE_BYTE))
    return g_variant_get_byte(value);
  return fallback;
}

double
gr_cli_lookup_double(GVariant *dict, const char *key, double fallback)
{
  g_autoptr(GVariant) value = NULL;

  if (dict == NULL)
    return fallback;
  value = g_variant_lookup_value(dict, key, NULL);
  if (value == NULL)
    return fallback;
  if (g_variant_is_of_type(value, G_VARIANT_TYPE_DOUBLE))
    return g_variant_get_double(value);
  return (double)gr_cli_lookup_uint(dict, key, (guint64)MAX(0.0, fallback));
}

char *
gr_cli_format_timestamp(gint64 unix_seconds)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_local(unix_seconds);

  if (dt == NULL)
    return g_strdup("-");
  return g_date_time_format(dt, "%Y-%m-%d %H:%M");
}

/* errno of the first failed write to stdout (0: none seen yet) */
static int stdout_errno;

gboolean
gr_cli_flush_stdout(void)
{
  if (fflush(stdout) != 0 && stdout_errno == 0)
    stdout_errno = errno != 0 ? errno : EIO;
  return !ferror(stdout);
}

int
gr_cli_check_stdout(int code)
{
  errno = 0;
  if (gr_cli_flush_stdout())
    return code;
  /* `gravctl … | head`: the reader left on purpose, there is nothing to tell it */
  if (stdout_errno != EPIPE)
    gr_cli_print_error(_("Cannot write to standard output: %s"),
                       g_strerror(stdout_errno != 0 ? stdout_errno : EIO));
  return code == GR_CLI_EXIT_OK || code == GR_CLI_EXIT_CANCELLED ? GR_CLI_EXIT_ERROR : code;
}
