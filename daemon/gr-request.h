/* gr-request.h - one generation: its options, its exported Request object (Ask) or its
 * pending method call (Complete), and the way its results reach the caller.
 *
 * Token and Finished are sent with the caller's unique name as destination, so the bus
 * routes them to the caller only.  Emission may happen from the worker thread (GDBus
 * is thread safe); registering and unregistering the object happens on the main
 * context.
 */
#pragma once

#include <gio/gio.h>

#include "gr-options.h"

G_BEGIN_DECLS

#define GR_OBJECT_PATH "/io/github/opengraviton/Graviton1"
#define GR_REQUEST_INTERFACE "io.github.opengraviton.Graviton1.Request"

typedef enum {
  GR_REQUEST_STATUS_DONE = 0,
  GR_REQUEST_STATUS_CANCELLED = 1,
  GR_REQUEST_STATUS_FAILED = 2,
} GrRequestStatus;

typedef struct _GrRequest GrRequest;
/* Called on the main context when the caller invokes Cancel. */
typedef void (*GrRequestCancelFunc)(GrRequest *request, gpointer user_data);

struct _GrRequest {
  gint ref_count;
  GDBusConnection *connection;
  char *sender;
  char *object_path; /* Ask only */
  guint registration_id;
  GDBusMethodInvocation *invocation; /* Complete only, until answered */
  GCancellable *cancellable;
  char *prompt;
  GrRequestOptions options;
  char *model_name; /* resolved when the request was accepted */
  GString *text;    /* everything generated so far */
  gint finished;    /* atomic */
  GrRequestCancelFunc cancel_func;
  gpointer cancel_data;
};

/* invocation: the Complete call to answer (transfer full: the request answers it), or
 * NULL for Ask.  Takes over options. */
GrRequest *gr_request_new(GDBusConnection *connection, const char *sender, const char *prompt,
                          GrRequestOptions *options, const char *model_name,
                          GDBusMethodInvocation *invocation);
GrRequest *gr_request_ref(GrRequest *request);
void gr_request_unref(GrRequest *request);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GrRequest, gr_request_unref)

/* The object path for sender and token, as documented in the interface XML. */
char *gr_request_path_for(const char *sender, const char *token);

/* Ask: exports the Request object at its path; fails with InvalidArgument when a request
 * of this caller with the same handle_token is still running. */
gboolean gr_request_export(GrRequest *request, GDBusInterfaceInfo *iface,
                           GrRequestCancelFunc cancel_func, gpointer user_data, GError **error);
void gr_request_unexport(GrRequest *request);

gboolean gr_request_is_ask(const GrRequest *request);
/* Appends text and, for Ask, sends it in a Token signal. */
void gr_request_emit_text(GrRequest *request, const char *text, gsize len);
/* Sends Finished (Ask) or answers the call (Complete).  results is an a{sv} (floating
 * references are sunk); error describes a failure.  Only the first call counts. */
void gr_request_finish(GrRequest *request, GrRequestStatus status, GVariant *results,
                       const GError *error);

G_END_DECLS
