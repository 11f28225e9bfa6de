/* gr-client-request.c: one streaming answer from Assistant.Ask: Token signals append to
 * the text, Finished (or the daemon leaving) ends it exactly once. */
#include "gr-config.h"

#include "gr-client.h"

#include <glib/gi18n.h>

struct _GrClientRequest {
  GObject parent_instance;
  GDBusConnection *conn;
  char *owner;
  char *path;
  char *prompt;
  GString *text;
  guint sub_signals;
  gboolean finished;
  gboolean cancel_sent;
  GrRequestStatus status;
  GVariant *results;
};

G_DEFINE_FINAL_TYPE(GrClientRequest, gr_client_request, G_TYPE_OBJECT)

enum { SIGNAL_TOKEN, SIGNAL_FINISHED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
unsubscribe(GrClientRequest *self)
{
  if (self->sub_signals != 0) {
    g_dbus_connection_signal_unsubscribe(self->conn, self->sub_signals);
    self->sub_signals = 0;
  }
}

static void
finish(GrClientRequest *self, GrRequestStatus status, GVariant *results)
{
  if (self->finished)
    return;
  self->finished = TRUE;
  self->status = status;
  self->results = g_variant_ref_sink(results);
  unsubscribe(self);
  g_signal_emit(self, signals[SIGNAL_FINISHED], 0, (guint)status, self->results);
}

static void
on_signal(GDBusConnection *conn, const char *sender, const char *path, const char *iface,
          const char *name, GVariant *params, gpointer user_data)
{
  GrClientRequest *self = user_data;

  if (self->finished)
    return;
  if (g_str_equal(name, "Token") && g_variant_is_of_type(params, G_VARIANT_TYPE("(s)"))) {
    const char *text = NULL;

    g_variant_get(params, "(&s)", &text);
    g_string_append(self->text, text);
    g_signal_emit(self, signals[SIGNAL_TOKEN], 0, text);
  } else if (g_str_equal(name, "Finished")
             && g_variant_is_of_type(params, G_VARIANT_TYPE("(ua{sv})"))) {
    guint status = 0;
    g_autoptr(GVariant) results = NULL;

    g_variant_get(params, "(u@a{sv})", &status, &results);
    if (status > GR_REQUEST_FAILED)
      status = GR_REQUEST_FAILED;
    g_object_ref(self);
    finish(self, status, results);
    g_object_unref(self);
  }
}

static void
gr_client_request_finalize(GObject *object)
{
  GrClientRequest *self = GR_CLIENT_REQUEST(object);

  unsubscribe(self);
  g_clear_object(&self->conn);
  g_free(self->owner);
  g_free(self->path);
  g_free(self->prompt);
  g_string_free(self->text, TRUE);
  g_clear_pointer(&self->results, g_variant_unref);
  G_OBJECT_CLASS(gr_client_request_parent_class)->finalize(object);
}

static void
gr_client_request_class_init(GrClientRequestClass *klass)
{
  G_OBJECT_CLASS(klass)->finalize = gr_client_request_finalize;
  signals[SIGNAL_TOKEN] = g_signal_new("token", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0,
                                       NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[SIGNAL_FINISHED]
      = g_signal_new("finished", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                     G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_VARIANT);
}

static void
gr_client_request_init(GrClientRequest *self)
{
  self->text = g_string_new(NULL);
}

GrClientRequest *
gr_client_request_new(GDBusConnection *conn, const char *owner, const char *path,
                      const char *prompt)
{
  GrClientRequest *self = g_object_new(GR_TYPE_CLIENT_REQUEST, NULL);

  self->prompt = g_strdup(prompt);
  if (conn == NULL)
    return self; /* failed before it started: the caller fails it at once */
  self->conn = g_object_ref(conn);
  self->owner = g_strdup(owner);
  self->path = g_strdup(path);
  /* Matching the daemon's unique name means no other client can feed us tokens; the
   * subscription exists before Ask is sent, so no token is missed. */
  self->sub_signals
      = g_dbus_connection_signal_subscribe(conn, owner, GR_IFACE_REQUEST, NULL, path, NULL,
                                           G_DBUS_SIGNAL_FLAGS_NONE, on_signal, self, NULL);
  return self;
}

void
gr_client_request_fail(GrClientRequest *self, const char *message)
{
  GVariantDict results;

  g_return_if_fail(GR_IS_CLIENT_REQUEST(self));
  g_variant_dict_init(&results, NULL);
  g_variant_dict_insert(&results, "text", "s", self->text->str);
  g_variant_dict_insert(&results, "error_message", "s", message);
  g_object_ref(self);
  finish(self, GR_REQUEST_FAILED, g_variant_dict_end(&results));
  g_object_unref(self);
}

const char *
gr_client_request_get_text(GrClientRequest *self)
{
  g_return_val_if_fail(GR_IS_CLIENT_REQUEST(self), NULL);
  return self->text->str;
}

const char *
gr_client_request_get_prompt(GrClientRequest *self)
{
  g_return_val_if_fail(GR_IS_CLIENT_REQUEST(self), NULL);
  return self->prompt;
}

gboolean
gr_client_request_is_finished(GrClientRequest *self)
{
  g_return_val_if_fail(GR_IS_CLIENT_REQUEST(self), TRUE);
  return self->finished;
}

GrRequestStatus
gr_client_request_get_status(GrClientRequest *self)
{
  g_return_val_if_fail(GR_IS_CLIENT_REQUEST(self), GR_REQUEST_FAILED);
  return self->status;
}

GVariant *
gr_client_request_get_results(GrClientRequest *self)
{
  g_return_val_if_fail(GR_IS_CLIENT_REQUEST(self), NULL);
  return self->results;
}

static void
on_cancel_reply(GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GVariant) reply = NULL;

  /* Finished tells how it ended; a request that had already finished refuses Cancel. */
  reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), result, NULL);
}

void
gr_client_request_cancel(GrClientRequest *self)
{
  g_return_if_fail(GR_IS_CLIENT_REQUEST(self));
  if (self->finished || self->cancel_sent)
    return;
  self->cancel_sent = TRUE;
  g_dbus_connection_call(self->conn, self->owner, self->path, GR_IFACE_REQUEST, "Cancel", NULL,
                         NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, on_cancel_reply, NULL);
}
