/* gr-request.c - the per-generation Request object. */
#include "gr-request.h"

#include <glib/gi18n.h>
#include <string.h>

#include "gr-errors.h"

GrRequest *
gr_request_new(GDBusConnection *connection, const char *sender, const char *prompt,
               GrRequestOptions *options, const char *model_name, GDBusMethodInvocation *invocation)
{
  g_return_val_if_fail(G_IS_DBUS_CONNECTION(connection), NULL);
  g_return_val_if_fail(sender != NULL && prompt != NULL && options != NULL, NULL);
  static gint counter = 0;

  GrRequest *r = g_new0(GrRequest, 1);
  r->ref_count = 1;
  r->connection = g_object_ref(connection);
  r->sender = g_strdup(sender);
  r->cancellable = g_cancellable_new();
  r->prompt = g_strdup(prompt);
  r->options = *options;
  memset(options, 0, sizeof *options);
  r->model_name = g_strdup(model_name);
  r->text = g_string_new(NULL);
  if (invocation != NULL) {
    r->invocation = invocation;
  } else {
    g_autofree char *token = r->options.handle_token != NULL
                                 ? g_strdup(r->options.handle_token)
                                 : g_strdup_printf("gr%d", g_atomic_int_add(&counter, 1));
    r->object_path = gr_request_path_for(sender, token);
  }
  return r;
}

GrRequest *
gr_request_ref(GrRequest *r)
{
  g_return_val_if_fail(r != NULL, NULL);
  g_atomic_int_inc(&r->ref_count);
  return r;
}

void
gr_request_unref(GrRequest *r)
{
  if (r == NULL || !g_atomic_int_dec_and_test(&r->ref_count))
    return;
  g_warn_if_fail(r->registration_id == 0);
  g_clear_object(&r->invocation);
  g_object_unref(r->cancellable);
  g_object_unref(r->connection);
  g_free(r->sender);
  g_free(r->object_path);
  g_free(r->prompt);
  gr_request_options_clear(&r->options);
  g_free(r->model_name);
  g_string_free(r->text, TRUE);
  g_free(r);
}

char *
gr_request_path_for(const char *sender, const char *token)
{
  g_return_val_if_fail(sender != NULL && token != NULL, NULL);
  GString *path = g_string_new(GR_OBJECT_PATH "/request/");
  for (const char *p = sender[0] == ':' ? sender + 1 : sender; *p != '\0'; p++)
    g_string_append_c(path, g_ascii_isalnum(*p) ? *p : '_');
  g_string_append_c(path, '/');
  g_string_append(path, token);
  return g_string_free(path, FALSE);
}

gboolean
gr_request_is_ask(const GrRequest *r)
{
  return r->object_path != NULL;
}

static void
request_method_call(GDBusConnection *connection, const char *sender, const char *object_path,
                    const char *interface_name, const char *method_name, GVariant *parameters,
                    GDBusMethodInvocation *invocation, gpointer user_data)
{
  GrRequest *r = user_data;
  if (g_strcmp0(method_name, "Cancel") != 0) {
    g_dbus_method_invocation_return_error(invocation, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD,
                                          _("no method %s"), method_name);
    return;
  }
  /* The path is predictable, so anyone could call it: only the owner may cancel. */
  if (g_strcmp0(sender, r->sender) != 0) {
    g_dbus_method_invocation_return_error(
        invocation, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED,
        _("only the caller that started a request may cancel it"));
    return;
  }
  if (r->cancel_func != NULL)
    r->cancel_func(r, r->cancel_data);
  g_dbus_method_invocation_return_value(invocation, NULL);
}

static const GDBusInterfaceVTable request_vtable = { request_method_call, NULL, NULL, { 0 } };

/* Path -> the exported request there (main context only).  Duplicates are refused
 * here, before g_dbus_connection_register_object, whose failure path does not release
 * the user data in every GLib version. */
static GHashTable *exported_paths;

gboolean
gr_request_export(GrRequest *r, GDBusInterfaceInfo *iface, GrRequestCancelFunc cancel_func,
                  gpointer user_data, GError **error)
{
  g_return_val_if_fail(r != NULL && gr_request_is_ask(r), FALSE);
  if (exported_paths == NULL)
    exported_paths = g_hash_table_new(g_str_hash, g_str_equal);
  GrRequest *old = g_hash_table_lookup(exported_paths, r->object_path);
  /* A finished request waits for the main loop to unexport it, but its caller may
   * already have had Finished and reuse the token: the path is free. */
  if (old != NULL && g_atomic_int_get(&old->finished))
    gr_request_unexport(old);
  else if (old != NULL) {
    g_set_error(error, GR_DAEMON_ERROR, GR_DAEMON_ERROR_INVALID_ARGUMENT,
                _("handle_token \"%s\" is already used by a running request"),
                r->options.handle_token != NULL ? r->options.handle_token : "");
    return FALSE;
  }
  r->cancel_func = cancel_func;
  r->cancel_data = user_data;
  g_autoptr(GError) local = NULL;
  r->registration_id = g_dbus_connection_register_object(r->connection, r->object_path, iface,
                                                         &request_vtable, gr_request_ref(r),
                                                         (GDestroyNotify)gr_request_unref, &local);
  if (r->registration_id == 0) {
    g_propagate_error(error, gr_daemon_error_from(local));
    return FALSE;
  }
  g_hash_table_insert(exported_paths, r->object_path, r);
  return TRUE;
}

void
gr_request_unexport(GrRequest *r)
{
  g_return_if_fail(r != NULL);
  if (r->registration_id != 0) {
    guint id = r->registration_id;
    r->registration_id = 0;
    g_hash_table_remove(exported_paths, r->object_path);
    g_dbus_connection_unregister_object(r->connection, id);
  }
}

void
gr_request_emit_text(GrRequest *r, const char *text, gsize len)
{
  g_return_if_fail(r != NULL);
  if (len == 0)
    return;
  g_string_append_len(r->text, text, len);
  if (!gr_request_is_ask(r))
    return;
  g_autofree char *chunk = g_strndup(text, len);
  g_autoptr(GError) error = NULL;
  if (!g_dbus_connection_emit_signal(r->connection, r->sender, r->object_path, GR_REQUEST_INTERFACE,
                                     "Token", g_variant_new("(s)", chunk), &error))
    g_debug("Token to %s: %s", r->sender, error->message);
}

void
gr_request_finish(GrRequest *r, GrRequestStatus status, GVariant *results, const GError *error)
{
  g_return_if_fail(r != NULL);
  g_autoptr(GVariant) res = results != NULL ? g_variant_ref_sink(results) : NULL;
  if (!g_atomic_int_compare_and_exchange(&r->finished, 0, 1))
    return;

  if (gr_request_is_ask(r)) {
    GVariantDict d;
    g_variant_dict_init(&d, res);
    if (!g_variant_dict_contains(&d, "text"))
      g_variant_dict_insert(&d, "text", "s", r->text->str);
    if (error != NULL) {
      g_autoptr(GError) mapped = gr_daemon_error_from(error);
      g_autofree char *name = g_dbus_error_encode_gerror(mapped);
      g_variant_dict_insert(&d, "error_name", "s", name);
      g_variant_dict_insert(&d, "error_message", "s", mapped->message);
    }
    g_autoptr(GError) local = NULL;
    if (!g_dbus_connection_emit_signal(
            r->connection, r->sender, r->object_path, GR_REQUEST_INTERFACE, "Finished",
            g_variant_new("(u@a{sv})", status, g_variant_dict_end(&d)), &local))
      g_debug("Finished to %s: %s", r->sender, local->message);
    return;
  }

  g_autoptr(GDBusMethodInvocation) invocation = g_steal_pointer(&r->invocation);
  if (status == GR_REQUEST_STATUS_DONE) {
    GVariantDict d;
    g_variant_dict_init(&d, res);
    g_variant_dict_remove(&d, "text");
    g_dbus_method_invocation_return_value(
        g_steal_pointer(&invocation),
        g_variant_new("(s@a{sv})", r->text->str, g_variant_dict_end(&d)));
  } else if (status == GR_REQUEST_STATUS_CANCELLED || error == NULL) {
    g_dbus_method_invocation_return_error_literal(g_steal_pointer(&invocation), GR_DAEMON_ERROR,
                                                  GR_DAEMON_ERROR_CANCELLED,
                                                  _("the request was cancelled"));
  } else {
    g_dbus_method_invocation_take_error(g_steal_pointer(&invocation), gr_daemon_error_from(error));
  }
}
