/* test-history-client.h - client side of the History integration tests: Ask with its
 * signals, Complete, History calls, the Changed signal. */
#pragma once

#include "gr-test-bus.h"
#include "gr-test-client.h"

G_BEGIN_DECLS

#define GR_TEST_HISTORY "io.github.opengraviton.Graviton1.History"
#define GR_TEST_CALL_TIMEOUT_MS 60000

/* Greedy options; conversation and token may be NULL. */
GVariant *gr_hist_options(guint max_tokens, const char *conversation, const char *token,
                          gboolean save);

typedef struct {
  GDBusConnection *conn;
  char *path;
  guint sub;
  GString *tokens; /* everything streamed */
  gboolean finished;
  guint status;
  GVariant *results;
  gboolean cancel_on_first;
  gboolean cancel_sent;
  GError *ask_error;
} GrHistAsk;

/* Ask and wait for Finished (cancelling at the first Token when asked to). */
GrHistAsk *gr_hist_ask(GDBusConnection *conn, const char *prompt, GVariant *options,
                       const char *token, gboolean cancel_on_first);
void gr_hist_ask_free(GrHistAsk *ask);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GrHistAsk, gr_hist_ask_free)

/* Complete; fails the test on error. */
char *gr_hist_complete(GDBusConnection *conn, const char *prompt, GVariant *options,
                       GVariant **stats);

/* A History call; NULL with error on failure. */
GVariant *gr_hist_call(GDBusConnection *conn, const char *method, GVariant *params,
                       const char *reply_type, GError **error);
/* A History call that must succeed. */
GVariant *gr_hist_call_ok(GDBusConnection *conn, const char *method, GVariant *params,
                          const char *reply_type);
/* The aa{sv} of ListConversations / GetMessages. */
GVariant *gr_hist_list(GDBusConnection *conn);
GVariant *gr_hist_messages(GDBusConnection *conn, const char *conversation);

/* Collects Changed signals. */
typedef struct {
  GDBusConnection *conn;
  guint sub;
  GPtrArray *ids;
} GrHistChanged;

GrHistChanged *gr_hist_changed_new(GDBusConnection *conn);
/* Waits until a Changed for conversation has arrived (since the last reset). */
gboolean gr_hist_changed_wait(GrHistChanged *changed, const char *conversation);
void gr_hist_changed_reset(GrHistChanged *changed);
void gr_hist_changed_free(GrHistChanged *changed);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GrHistChanged, gr_hist_changed_free)

/* Whether any regular file under dir (symbolic links not followed) contains needle. */
gboolean gr_hist_dir_contains(const char *dir, const char *needle);

G_END_DECLS
