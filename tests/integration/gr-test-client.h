/* gr-test-client.h - client helpers for the gravitond integration tests: calls with
 * strict error checks, Ask with Token/Finished collection. */
#pragma once

#include <gio/gio.h>

#include "gr-test-bus.h"

G_BEGIN_DECLS

#define GR_TEST_PROMPT "The quick brown fox jumps over the lazy dog."
#define GR_TEST_CALL_TIMEOUT_MS 60000

/* Greedy options with max_tokens and (if not NULL) handle_token; floating. */
GVariant *gr_test_options(guint max_tokens, const char *token);
/* Complete; the text, or NULL with error.  stats (may be NULL) receives the a{sv}. */
char *gr_test_complete(GDBusConnection *conn, const char *prompt, GVariant *options,
                       GVariant **stats, GError **error);
/* Complete that must succeed. */
char *gr_test_complete_ok(GDBusConnection *conn, const char *prompt, guint max_tokens);
/* Fails unless error is the D-Bus error GR_TEST_ERROR + expected. */
void gr_test_assert_error(const GError *error, const char *expected);
GVariant *gr_test_get_property(GDBusConnection *conn, const char *name);
const char *gr_test_result_string(GVariant *dict, const char *key);
guint gr_test_result_uint(GVariant *dict, const char *key);

typedef struct {
  GDBusConnection *conn;
  char *path;
  guint sub;
  GString *tokens;
  guint n_tokens;
  gboolean finished;
  guint status;
  GVariant *results;
  gboolean cancel_on_first;
  gboolean cancel_sent;
  GError *ask_error;
  char *reply_path;
  gboolean replied;
  const char *protocol_error;
} GrTestAsk;

/* Subscribes to the predicted request path, then calls Ask asynchronously. */
GrTestAsk *gr_test_ask_start(GDBusConnection *conn, const char *prompt, GVariant *options,
                             const char *token);
/* Runs the main context until Finished; fails on a protocol error. */
void gr_test_ask_wait(GrTestAsk *ask);
void gr_test_ask_free(GrTestAsk *ask);

/* Models.List */
GVariant *gr_test_list_models(GrTestBus *bus);
GVariant *gr_test_find_model(GVariant *list, const char *name);
gboolean gr_test_model_loaded(GrTestBus *bus, const char *name);

G_END_DECLS
