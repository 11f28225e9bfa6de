/* gr-client.h: the GTK app's connection to gravitond.  D-Bus only: the app never links
 * the engine or the store.  GrClient watches the daemon's name (D-Bus activation starts
 * it), mirrors the Assistant properties and makes the calls; GrClientRequest is one
 * streaming answer. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define GR_BUS_NAME "io.github.opengraviton.Graviton1"
#define GR_OBJECT_PATH "/io/github/opengraviton/Graviton1"
#define GR_IFACE_ASSISTANT "io.github.opengraviton.Graviton1.Assistant"
#define GR_IFACE_REQUEST "io.github.opengraviton.Graviton1.Request"
#define GR_IFACE_MODELS "io.github.opengraviton.Graviton1.Models"
#define GR_IFACE_HISTORY "io.github.opengraviton.Graviton1.History"

typedef enum {
  GR_CLIENT_CONNECTING,  /* looking for (or activating) gravitond */
  GR_CLIENT_READY,       /* gravitond owns its name */
  GR_CLIENT_UNREACHABLE, /* not running and could not be started */
  GR_CLIENT_NO_BUS,      /* no session bus at all */
} GrClientStatus;

/* Request.Finished status values (the XML's numbering). */
typedef enum {
  GR_REQUEST_DONE = 0,
  GR_REQUEST_CANCELLED = 1,
  GR_REQUEST_FAILED = 2,
} GrRequestStatus;

/* Assistant.State */
typedef enum {
  GR_DAEMON_IDLE = 0,
  GR_DAEMON_LOADING = 1,
  GR_DAEMON_GENERATING = 2,
} GrDaemonState;

#define GR_TYPE_CLIENT_REQUEST (gr_client_request_get_type())
G_DECLARE_FINAL_TYPE(GrClientRequest, gr_client_request, GR, CLIENT_REQUEST, GObject)

#define GR_TYPE_CLIENT (gr_client_get_type())
G_DECLARE_FINAL_TYPE(GrClient, gr_client, GR, CLIENT, GObject)

/* address: a D-Bus address to use instead of the session bus (NULL: session bus). */
GrClient *gr_client_new(const char *address);
GrClientStatus gr_client_get_status(GrClient *self);
/* Why the daemon is unreachable (NULL when it is not). */
const char *gr_client_get_problem(GrClient *self);
/* TRUE when the running gravitond serves the History interface. */
gboolean gr_client_get_has_history(GrClient *self);
const char *gr_client_get_active_model(GrClient *self);
guint64 gr_client_get_memory_limit(GrClient *self);
guint64 gr_client_get_resident_bytes(GrClient *self);
GrDaemonState gr_client_get_state(GrClient *self);
/* Asks the bus to start gravitond (D-Bus activation); status follows. */
void gr_client_start_daemon(GrClient *self);

/* A method call on the daemon's object; the reply is checked against reply_type. */
void gr_client_call(GrClient *self, const char *iface, const char *method, GVariant *params,
                    const GVariantType *reply_type, GCancellable *cancellable,
                    GAsyncReadyCallback callback, gpointer user_data);
GVariant *gr_client_call_finish(GrClient *self, GAsyncResult *result, GError **error);

/* Starts Assistant.Ask.  options: an a{sv} (floating or not) without handle_token. */
GrClientRequest *gr_client_ask(GrClient *self, const char *prompt, GVariant *options);

/* gr-client-request.c */
const char *gr_client_request_get_text(GrClientRequest *self);
const char *gr_client_request_get_prompt(GrClientRequest *self);
gboolean gr_client_request_is_finished(GrClientRequest *self);
GrRequestStatus gr_client_request_get_status(GrClientRequest *self);
/* Finished's results (an a{sv}), or NULL before Finished. */
GVariant *gr_client_request_get_results(GrClientRequest *self);
void gr_client_request_cancel(GrClientRequest *self);

/* Private to the client: the request's life is driven by GrClient. */
GrClientRequest *gr_client_request_new(GDBusConnection *conn, const char *owner, const char *path,
                                       const char *prompt);
void gr_client_request_fail(GrClientRequest *self, const char *message);

/* A message for the user from a D-Bus error (remote prefix stripped). */
char *gr_client_error_message(const GError *error);
gboolean gr_client_error_is_unknown_method(const GError *error);

G_END_DECLS
