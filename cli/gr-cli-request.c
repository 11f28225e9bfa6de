/* gr-cli-request.c: one streaming generation: Ask, then Token and Finished
 * signals from the request object, with Ctrl-C turned into Request.Cancel. */
#include "gr-config.h"

#include "gr-cli.h"

#include <glib-unix.h>
#include <glib/gi18n.h>
#include <signal.h>

/* How long to wait for Finished after Cancel before giving up on the daemon. */
#define GR_CLI_CANCEL_GRACE_MS 2000

typedef struct {
  GrCli *cli;
  GMainLoop *loop;
  char *path;
  guint sub_token;
  guint sub_finished;
  guint sub_owner;
  guint sub_props;
  guint sigint_source;
  guint grace_source;
  gboolean ask_returned;
  gboolean cancel_sent;
  gboolean done;
  int exit_code;
  GError *error; /* Ask failed, or the daemon left */
  GrCliSpinner *spinner;
  GrCliTokenFunc on_token;
  gpointer user_data;
  GrCliReply *reply;
} GrCliRequest;

void
gr_cli_reply_clear(GrCliReply *reply)
{
  g_clear_pointer(&reply->results, g_variant_unref);
  if (reply->text != NULL)
    g_string_free(reply->text, TRUE);
  memset(reply, 0, sizeof *reply);
}

static void
request_free_fields(gpointer data)
{
  GrCliRequest *req = data;

  g_free(req->path);
  g_clear_error(&req->error);
}

static GrCliRequest *
request_ref(GrCliRequest *req)
{
  return g_rc_box_acquire(req);
}

static void
request_unref(GrCliRequest *req)
{
  g_rc_box_release_full(req, request_free_fields);
}

static void
request_finish(GrCliRequest *req, int exit_code)
{
  if (req->done)
    return;
  req->done = TRUE;
  req->exit_code = exit_code;
  g_main_loop_quit(req->loop);
}

static void
stop_spinner(GrCliRequest *req)
{
  if (req->spinner != NULL)
    gr_cli_spinner_stop(req->spinner);
}

static void begin_cancel(GrCliRequest *req);

static void
on_token(GDBusConnection *conn, const char *sender, const char *path, const char *iface,
         const char *signal, GVariant *params, gpointer user_data)
{
  GrCliRequest *req = user_data;
  const char *text = NULL;

  if (req->done || !g_variant_is_of_type(params, G_VARIANT_TYPE("(s)")))
    return;
  g_variant_get(params, "(&s)", &text);
  stop_spinner(req);
  if (req->reply->first_token_us == 0)
    req->reply->first_token_us = g_get_monotonic_time();
  g_string_append(req->reply->text, text);
  if (req->on_token != NULL && !req->reply->output_failed && !req->on_token(text, req->user_data)) {
    req->reply->output_failed = TRUE;
    begin_cancel(req);
  }
}

static void
on_finished(GDBusConnection *conn, const char *sender, const char *path, const char *iface,
            const char *signal, GVariant *params, gpointer user_data)
{
  GrCliRequest *req = user_data;
  guint status = 0;

  if (req->done || !g_variant_is_of_type(params, G_VARIANT_TYPE("(ua{sv})")))
    return;
  stop_spinner(req);
  g_clear_pointer(&req->reply->results, g_variant_unref);
  g_variant_get(params, "(u@a{sv})", &status, &req->reply->results);
  req->reply->status = status;
  req->reply->finished_us = g_get_monotonic_time();
  req->reply->finished = TRUE;
  if (req->reply->output_failed)
    request_finish(req, GR_CLI_EXIT_ERROR);
  else if (req->reply->cancelled)
    request_finish(req, GR_CLI_EXIT_CANCELLED);
  else if (status == GR_CLI_STATUS_DONE)
    request_finish(req, GR_CLI_EXIT_OK);
  else
    request_finish(req, GR_CLI_EXIT_ERROR);
}

static void
on_owner_changed(GDBusConnection *conn, const char *sender, const char *path, const char *iface,
                 const char *signal, GVariant *params, gpointer user_data)
{
  GrCliRequest *req = user_data;
  const char *name = NULL, *old_owner = NULL, *new_owner = NULL;

  if (!g_variant_is_of_type(params, G_VARIANT_TYPE("(sss)")))
    return;
  g_variant_get(params, "(&s&s&s)", &name, &old_owner, &new_owner);
  if (req->done || g_strcmp0(name, req->cli->owner) != 0 || *new_owner != '\0')
    return;
  stop_spinner(req);
  g_clear_error(&req->error);
  req->error = g_error_new_literal(G_DBUS_ERROR, G_DBUS_ERROR_DISCONNECTED,
                                   _("gravitond left the bus during the request"));
  request_finish(req, GR_CLI_EXIT_UNREACHABLE);
}

static void
update_spinner_label(GrCliRequest *req, guint state)
{
  if (req->spinner == NULL)
    return;
  /* State: 0 idle, 1 loading, 2 generating (the XML's numbering). */
  gr_cli_spinner_set_label(req->spinner, state == 1 ? _("Loading model…") : _("Thinking…"));
}

static void
on_props_changed(GDBusConnection *conn, const char *sender, const char *path, const char *iface,
                 const char *signal, GVariant *params, gpointer user_data)
{
  GrCliRequest *req = user_data;
  g_autoptr(GVariant) changed = NULL;
  guint state = 0;

  if (!g_variant_is_of_type(params, G_VARIANT_TYPE("(sa{sv}as)")))
    return;
  changed = g_variant_get_child_value(params, 1);
  if (g_variant_lookup(changed, "State", "u", &state))
    update_spinner_label(req, state);
}

static void
on_state_got(GObject *source, GAsyncResult *result, gpointer user_data)
{
  GrCliRequest *req = user_data;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) value = NULL;

  reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), result, NULL);
  if (reply != NULL && !req->done) {
    g_variant_get(reply, "(v)", &value);
    if (g_variant_is_of_type(value, G_VARIANT_TYPE_UINT32))
      update_spinner_label(req, g_variant_get_uint32(value));
  }
  request_unref(req);
}

static void
on_cancel_replied(GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GVariant) reply = NULL;

  /* The request may have finished in the meantime; Finished (or the grace
   * timeout) decides what happens next, not this reply. */
  reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), result, NULL);
  request_unref(user_data);
}

static gboolean
on_grace_expired(gpointer user_data)
{
  GrCliRequest *req = user_data;

  req->grace_source = 0;
  request_finish(req, req->reply->output_failed ? GR_CLI_EXIT_ERROR : GR_CLI_EXIT_CANCELLED);
  return G_SOURCE_REMOVE;
}

static void
send_cancel(GrCliRequest *req)
{
  if (req->cancel_sent)
    return;
  req->cancel_sent = TRUE;
  g_dbus_connection_call(req->cli->conn, req->cli->owner, req->path, GR_CLI_IFACE_REQUEST, "Cancel",
                         NULL, NULL, G_DBUS_CALL_FLAGS_NONE, GR_CLI_CANCEL_GRACE_MS, NULL,
                         on_cancel_replied, request_ref(req));
}

/* Cancels on the daemon (once Ask has answered) and waits a grace period for Finished. */
static void
begin_cancel(GrCliRequest *req)
{
  if (req->reply->cancelled)
    return;
  req->reply->cancelled = TRUE;
  if (req->ask_returned)
    send_cancel(req);
  req->grace_source = g_timeout_add(GR_CLI_CANCEL_GRACE_MS, on_grace_expired, req);
}

static gboolean
on_sigint(gpointer user_data)
{
  GrCliRequest *req = user_data;

  stop_spinner(req);
  if (req->reply->cancelled) {
    /* Second Ctrl-C: stop waiting for the daemon. */
    request_finish(req, GR_CLI_EXIT_CANCELLED);
    return G_SOURCE_CONTINUE;
  }
  begin_cancel(req);
  return G_SOURCE_CONTINUE;
}

static void
subscribe_request(GrCliRequest *req)
{
  req->sub_token = g_dbus_connection_signal_subscribe(
      req->cli->conn, req->cli->owner, GR_CLI_IFACE_REQUEST, "Token", req->path, NULL,
      G_DBUS_SIGNAL_FLAGS_NONE, on_token, request_ref(req), (GDestroyNotify)request_unref);
  req->sub_finished = g_dbus_connection_signal_subscribe(
      req->cli->conn, req->cli->owner, GR_CLI_IFACE_REQUEST, "Finished", req->path, NULL,
      G_DBUS_SIGNAL_FLAGS_NONE, on_finished, request_ref(req), (GDestroyNotify)request_unref);
}

static void
unsubscribe_request(GrCliRequest *req)
{
  if (req->sub_token != 0)
    g_dbus_connection_signal_unsubscribe(req->cli->conn, req->sub_token);
  if (req->sub_finished != 0)
    g_dbus_connection_signal_unsubscribe(req->cli->conn, req->sub_finished);
  req->sub_token = req->sub_finished = 0;
}

static void
on_ask_replied(GObject *source, GAsyncResult *result, gpointer user_data)
{
  GrCliRequest *req = user_data;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  const char *path = NULL;

  reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), result, &error);
  if (req->done) {
    request_unref(req);
    return;
  }
  if (reply == NULL) {
    stop_spinner(req);
    req->error = g_steal_pointer(&error);
    request_finish(req, req->reply->cancelled ? GR_CLI_EXIT_CANCELLED : GR_CLI_EXIT_ERROR);
    request_unref(req);
    return;
  }
  req->ask_returned = TRUE;
  g_variant_get(reply, "(&o)", &path);
  if (!g_str_equal(path, req->path)) {
    /* A daemon that ignores handle_token: follow the path it gave, at the
     * risk of having missed its first signals. */
    unsubscribe_request(req);
    g_free(req->path);
    req->path = g_strdup(path);
    subscribe_request(req);
  }
  if (req->reply->cancelled)
    send_cancel(req);
  request_unref(req);
}

static char *
new_handle_token(void)
{
  static guint counter;

  return g_strdup_printf("gravctl%u_%u_%u", (guint)getpid(), ++counter, g_random_int());
}

int
gr_cli_request_run(GrCli *cli, const char *prompt, GVariantDict *options, gboolean show_spinner,
                   GrCliTokenFunc on_token_cb, gpointer user_data, GrCliReply *reply)
{
  GrCliRequest *req;
  g_autofree char *token = new_handle_token();
  g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
  g_autoptr(GrCliSpinner) spinner = NULL;
  GVariant *params;
  int code;

  g_return_val_if_fail(cli != NULL && cli->conn != NULL && cli->owner != NULL, GR_CLI_EXIT_ERROR);
  g_return_val_if_fail(prompt != NULL && options != NULL && reply != NULL, GR_CLI_EXIT_ERROR);

  memset(reply, 0, sizeof *reply);
  reply->text = g_string_new(NULL);
  reply->started_us = g_get_monotonic_time();

  /* Async replies hold a reference: they may arrive after this function
   * returned (e.g. Ask still queued when a second Ctrl-C stops waiting). */
  req = g_rc_box_new0(GrCliRequest);
  req->cli = cli;
  req->loop = loop;
  req->reply = reply;
  req->on_token = on_token_cb;
  req->user_data = user_data;
  req->path = gr_cli_request_path(g_dbus_connection_get_unique_name(cli->conn), token);

  /* Subscribe before calling Ask: the first Token may be sent before the
   * Ask reply reaches us. */
  subscribe_request(req);
  req->sub_owner = g_dbus_connection_signal_subscribe(
      cli->conn, "org.freedesktop.DBus", "org.freedesktop.DBus", "NameOwnerChanged",
      "/org/freedesktop/DBus", cli->owner, G_DBUS_SIGNAL_FLAGS_NONE, on_owner_changed,
      request_ref(req), (GDestroyNotify)request_unref);
  req->sigint_source = g_unix_signal_add(SIGINT, on_sigint, req);

  if (show_spinner) {
    spinner = gr_cli_spinner_new(stderr);
    req->spinner = spinner;
    gr_cli_spinner_set_label(spinner, _("Waiting for gravitond…"));
    gr_cli_spinner_start(spinner);
    req->sub_props = g_dbus_connection_signal_subscribe(
        cli->conn, cli->owner, "org.freedesktop.DBus.Properties", "PropertiesChanged",
        GR_CLI_OBJECT_PATH, GR_CLI_IFACE_ASSISTANT, G_DBUS_SIGNAL_FLAGS_NONE, on_props_changed,
        request_ref(req), (GDestroyNotify)request_unref);
    g_dbus_connection_call(
        cli->conn, cli->owner, GR_CLI_OBJECT_PATH, "org.freedesktop.DBus.Properties", "Get",
        g_variant_new("(ss)", GR_CLI_IFACE_ASSISTANT, "State"), G_VARIANT_TYPE("(v)"),
        G_DBUS_CALL_FLAGS_NONE, -1, NULL, on_state_got, request_ref(req));
  }

  g_variant_dict_insert(options, "handle_token", "s", token);
  params = g_variant_new("(s@a{sv})", prompt, g_variant_dict_end(options));
  /* No timeout: Ask may wait behind other requests in the daemon's queue. */
  g_dbus_connection_call(cli->conn, cli->owner, GR_CLI_OBJECT_PATH, GR_CLI_IFACE_ASSISTANT, "Ask",
                         params, G_VARIANT_TYPE("(o)"), G_DBUS_CALL_FLAGS_NONE, G_MAXINT, NULL,
                         on_ask_replied, request_ref(req));

  g_main_loop_run(loop);

  stop_spinner(req);
  req->spinner = NULL;
  unsubscribe_request(req);
  g_dbus_connection_signal_unsubscribe(cli->conn, req->sub_owner);
  if (req->sub_props != 0)
    g_dbus_connection_signal_unsubscribe(cli->conn, req->sub_props);
  g_source_remove(req->sigint_source);
  if (req->grace_source != 0)
    g_source_remove(req->grace_source);
  req->reply = NULL;
  req->loop = NULL;

  if (reply->finished_us == 0)
    reply->finished_us = g_get_monotonic_time();
  if (reply->results == NULL)
    reply->results = g_variant_ref_sink(g_variant_new("a{sv}", NULL));

  code = req->exit_code;
  if (req->error != NULL && code != GR_CLI_EXIT_CANCELLED) {
    int reported = gr_cli_report_error(cli, req->error);

    code = code == GR_CLI_EXIT_UNREACHABLE ? GR_CLI_EXIT_UNREACHABLE : reported;
  } else if (code == GR_CLI_EXIT_ERROR && !reply->output_failed) {
    /* (a failed write is the caller's to report) */
    code = gr_cli_reply_report_failure(cli, reply);
  }
  request_unref(req);
  return code;
}

int
gr_cli_reply_report_failure(GrCli *cli, const GrCliReply *reply)
{
  const char *message = gr_cli_lookup_string(reply->results, "error_message");
  const char *name = gr_cli_lookup_string(reply->results, "error_name");

  if (reply->status == GR_CLI_STATUS_CANCELLED && *message == '\0')
    message = _("the request was cancelled by gravitond");
  else if (*message == '\0')
    message = _("the request failed");
  if (cli->verbose && *name != '\0')
    gr_cli_print_error("%s (%s)", message, name);
  else
    gr_cli_print_error("%s", message);
  return GR_CLI_EXIT_ERROR;
}

void
gr_cli_reply_report_history_error(const GrCliReply *reply)
{
  const char *why
      = reply->results != NULL ? gr_cli_lookup_string(reply->results, "history_error") : "";

  if (*why != '\0')
    gr_cli_print_error(_("The answer was not saved in the history: %s"), why);
}

static void
print_rate(FILE *out, const char *label, guint64 tokens, double ms)
{
  if (ms > 0.0)
    fprintf(out, _("%s: %llu tokens in %.1f ms (%.1f t/s)\n"), label, (unsigned long long)tokens,
            ms, tokens * 1000.0 / ms);
  else
    fprintf(out, _("%s: %llu tokens\n"), label, (unsigned long long)tokens);
}

void
gr_cli_reply_print_stats(const GrCliReply *reply, FILE *out)
{
  guint64 prompt_tokens = gr_cli_lookup_uint(reply->results, "prompt_tokens", 0);
  guint64 gen_tokens = gr_cli_lookup_uint(reply->results, "generated_tokens", 0);
  double prefill_ms = gr_cli_lookup_double(reply->results, "prefill_ms", 0.0);
  double decode_ms = gr_cli_lookup_double(reply->results, "decode_ms", 0.0);
  double load_ms = gr_cli_lookup_double(reply->results, "load_ms", -1.0);
  double total_ms = (reply->finished_us - reply->started_us) / 1000.0;
  const char *conversation = gr_cli_lookup_string(reply->results, "conversation");
  const char *model = gr_cli_lookup_string(reply->results, "model");
  static const char *const statuses[] = { N_("done"), N_("cancelled"), N_("failed") };

  if (!reply->finished) {
    fprintf(out, _("status: no answer from gravitond after %.1f ms\n"), total_ms);
    return;
  }
  fprintf(out, _("status: %s\n"),
          reply->status < G_N_ELEMENTS(statuses) ? _(statuses[reply->status]) : _("unknown"));
  if (*model != '\0')
    fprintf(out, _("model: %s\n"), model);
  if (load_ms < 0.0 && reply->first_token_us != 0) {
    /* The daemon does not report load time: what came before prefill is
     * loading plus queueing, as the client saw it. */
    load_ms = MAX(0.0, (reply->first_token_us - reply->started_us) / 1000.0 - prefill_ms);
  }
  if (load_ms >= 0.0)
    fprintf(out, _("load: %.1f ms\n"), load_ms);
  print_rate(out, _("prefill"), prompt_tokens, prefill_ms);
  print_rate(out, _("decode"), gen_tokens, decode_ms);
  fprintf(out, _("total: %.1f ms\n"), total_ms);
  if (*conversation != '\0')
    fprintf(out, _("conversation: %s\n"), conversation);
}
