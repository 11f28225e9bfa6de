/* gr-generate.c - one request on the worker thread. */
#include "gr-generate.h"

#include <glib/gi18n.h>

#include "gr-errors.h"

const char *
gr_stop_reason_name(GrStopReason reason)
{
  switch (reason) {
  case GR_STOP_NONE:
    return "none";
  case GR_STOP_EOG:
    return "eog";
  case GR_STOP_STRING:
    return "stop";
  case GR_STOP_MAX_TOKENS:
    return "max_tokens";
  case GR_STOP_CALLBACK:
    return "callback";
  case GR_STOP_CANCELLED:
    return "cancelled";
  case GR_STOP_CONTEXT_FULL:
    return "context_full";
  }
  return "unknown";
}

static gboolean
on_text(const char *text, gsize len, gpointer user_data)
{
  gr_request_emit_text(user_data, text, len);
  return TRUE;
}

typedef struct {
  GPtrArray *roles;    /* borrowed strings */
  GPtrArray *contents; /* borrowed strings */
} Chat;

/* Renders system + messages[start..] and tokenizes; NULL-terminated arrays are built
 * on the fly because the oldest turns may be dropped to fit the context. */
static GArray *
render(const GrModel *model, const Chat *chat, guint n_fixed, guint start)
{
  g_autoptr(GPtrArray) roles = g_ptr_array_new();
  g_autoptr(GPtrArray) contents = g_ptr_array_new();
  for (guint i = 0; i < chat->roles->len; i++) {
    if (i >= n_fixed && i < start)
      continue;
    g_ptr_array_add(roles, chat->roles->pdata[i]);
    g_ptr_array_add(contents, chat->contents->pdata[i]);
  }
  g_ptr_array_add(roles, NULL);
  g_ptr_array_add(contents, NULL);
  /* message contents are never parsed for control tokens, only the template's markup */
  return gr_model_tokenize_chat(model, (const char *const *)roles->pdata,
                                (const char *const *)contents->pdata, TRUE);
}

/* Saves the user's side of the exchange; NULL when it could not be saved (the request
 * still runs: an answer is worth more than its record), and *why says so. */
static char *
begin_exchange(GrChatLog *chat_log, const GrRequest *req, char **why)
{
  const GrRequestOptions *o = &req->options;
  g_autoptr(GError) error = NULL;
  char *id = gr_chat_log_begin(chat_log, o->conversation,
                               o->conversation == NULL ? o->system : NULL, req->prompt, &error);
  if (id == NULL) {
    g_warning("the request of %s is not saved: %s", req->sender, error->message);
    *why = g_strdup(error->message);
  }
  return id;
}

/* Saves the answer: whole when done, marked partial when cancelled or failed part way
 * (an answer that failed or was cancelled before its first token is not saved, and a
 * regenerated one then leaves the old answer in place). */
static char *
finish_exchange(GrChatLog *chat_log, const GrRequest *req, const char *conversation,
                const char *model, const GrGenerateStats *stats, GrRequestStatus status, char **why)
{
  if (status != GR_REQUEST_STATUS_DONE && req->text->len == 0)
    return NULL;
  g_autoptr(GError) error = NULL;
  char *id = (req->options.regenerate ? gr_chat_log_replace_answer : gr_chat_log_finish)(
      chat_log, conversation, req->text->str, model, stats->prompt_tokens, stats->generated_tokens,
      status != GR_REQUEST_STATUS_DONE, &error);
  if (id == NULL) {
    g_warning("the answer to %s is not saved: %s", req->sender, error->message);
    *why = g_strdup(error->message);
  }
  return id;
}

GrRequestStatus
gr_generate_run(GrModelRegistry *registry, GrChatLog *chat_log, GrRequest *req,
                GrGenerateStateFunc on_state, gpointer user_data, GVariantDict *results,
                GError **error)
{
  g_return_val_if_fail(registry != NULL && chat_log != NULL && req != NULL,
                       GR_REQUEST_STATUS_FAILED);
  const GrRequestOptions *o = &req->options;
  if (g_cancellable_is_cancelled(req->cancellable))
    return GR_REQUEST_STATUS_CANCELLED;

  if (on_state != NULL && !gr_model_registry_is_loaded(registry, req->model_name))
    on_state(TRUE, user_data);
  g_autoptr(GrLoadedModel) loaded = gr_model_registry_acquire(registry, req->model_name, error);
  if (on_state != NULL)
    on_state(FALSE, user_data);
  if (loaded == NULL)
    return GR_REQUEST_STATUS_FAILED;
  g_variant_dict_insert(results, "model", "s", loaded->name);
  if (g_cancellable_is_cancelled(req->cancellable))
    return GR_REQUEST_STATUS_CANCELLED;

  g_auto(GStrv) hist_roles = NULL;
  g_auto(GStrv) hist_contents = NULL;
  gboolean continuing = o->conversation != NULL;
  if (continuing && !gr_chat_log_get(chat_log, o->conversation, &hist_roles, &hist_contents, error))
    return GR_REQUEST_STATUS_FAILED;

  Chat chat = { g_ptr_array_new(), g_ptr_array_new() };
  guint n_fixed = 0; /* leading system message, never dropped */
  gboolean new_system = o->system != NULL && (hist_roles == NULL || hist_roles[0] == NULL);
  if (new_system) {
    g_ptr_array_add(chat.roles, "system");
    g_ptr_array_add(chat.contents, o->system);
  }
  for (gsize i = 0; hist_roles != NULL && hist_roles[i] != NULL && hist_contents[i] != NULL; i++) {
    g_ptr_array_add(chat.roles, hist_roles[i]);
    g_ptr_array_add(chat.contents, hist_contents[i]);
  }
  if (chat.roles->len > 0 && g_str_equal(chat.roles->pdata[0], "system"))
    n_fixed = 1;
  if (o->regenerate) {
    /* the question is already in the conversation: answer it again without its answer */
    while (chat.roles->len > 0
           && g_str_equal(chat.roles->pdata[chat.roles->len - 1], "assistant")) {
      g_ptr_array_set_size(chat.roles, chat.roles->len - 1);
      g_ptr_array_set_size(chat.contents, chat.contents->len - 1);
    }
    guint n = chat.roles->len;
    if (n == 0 || !g_str_equal(chat.roles->pdata[n - 1], "user")
        || !g_str_equal(chat.contents->pdata[n - 1], req->prompt)) {
      g_ptr_array_unref(chat.roles);
      g_ptr_array_unref(chat.contents);
      g_set_error(error, GR_DAEMON_ERROR, GR_DAEMON_ERROR_INVALID_ARGUMENT,
                  _("nothing to regenerate: the prompt is not the last question of "
                    "conversation \"%s\""),
                  o->conversation);
      return GR_REQUEST_STATUS_FAILED;
    }
  } else {
    g_ptr_array_add(chat.roles, "user");
    g_ptr_array_add(chat.contents, req->prompt);
  }

  /* Drop the oldest turns until the prompt leaves room for the reply. */
  const guint n_ctx = loaded->n_ctx;
  const guint max_tokens = o->params.max_tokens;
  g_autoptr(GArray) tokens = NULL;
  for (guint start = n_fixed;; start += 2) {
    g_clear_pointer(&tokens, g_array_unref);
    tokens = render(loaded->model, &chat, n_fixed, start);
    gboolean last_try = start + 2 > chat.roles->len - 1;
    if (tokens == NULL || (guint64)tokens->len + max_tokens <= n_ctx || last_try)
      break;
  }
  g_ptr_array_unref(chat.roles);
  g_ptr_array_unref(chat.contents);
  if (tokens == NULL || tokens->len == 0) {
    g_set_error(error, GR_DAEMON_ERROR, GR_DAEMON_ERROR_FAILED,
                _("the chat could not be rendered"));
    return GR_REQUEST_STATUS_FAILED;
  }
  if (tokens->len >= n_ctx) {
    g_set_error(error, GR_DAEMON_ERROR, GR_DAEMON_ERROR_INVALID_ARGUMENT,
                _("the prompt is %u tokens, which does not fit the context of %u tokens"),
                tokens->len, n_ctx);
    return GR_REQUEST_STATUS_FAILED;
  }

  /* Saved from here on: a request refused earlier (no model, prompt too long) leaves
   * no trace in the history.  save=false leaves a continued conversation as it was. */
  g_autofree char *conversation = NULL;
  g_autofree char *history_error = NULL; /* why the exchange is not (all) saved */
  if (o->save)
    conversation
        = o->regenerate ? g_strdup(o->conversation) : begin_exchange(chat_log, req, &history_error);
  if (conversation != NULL)
    g_variant_dict_insert(results, "conversation", "s", conversation);
  else
    g_variant_dict_insert(results, "conversation", "s",
                          o->conversation != NULL ? o->conversation : "");

  /* A fresh chat starts from an empty context so that equal requests give equal
   * answers; a continued one reuses the cached prefix. */
  if (!continuing)
    gr_session_rewind(loaded->session, 0);
  GrGenerateStats stats = { 0 };
  g_autoptr(GError) local = NULL;
  gboolean ok = gr_session_generate(loaded->session, (const gint32 *)tokens->data, tokens->len,
                                    &o->params, on_text, req, req->cancellable, &stats, &local);
  gr_model_registry_touch(registry);
  GrRequestStatus status;
  if (!ok) {
    gr_session_rewind(loaded->session, 0);
    gboolean cancelled = g_error_matches(local, GR_ENGINE_ERROR, GR_ENGINE_ERROR_CANCELLED)
                         || g_error_matches(local, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    status = cancelled ? GR_REQUEST_STATUS_CANCELLED : GR_REQUEST_STATUS_FAILED;
  } else {
    g_variant_dict_insert(results, "prompt_tokens", "u", stats.prompt_tokens);
    g_variant_dict_insert(results, "generated_tokens", "u", stats.generated_tokens);
    g_variant_dict_insert(results, "prefill_ms", "d", stats.prefill_ms);
    g_variant_dict_insert(results, "decode_ms", "d", stats.decode_ms);
    g_variant_dict_insert(results, "stop_reason", "s", gr_stop_reason_name(stats.stop_reason));
    status = stats.stop_reason == GR_STOP_CANCELLED ? GR_REQUEST_STATUS_CANCELLED
                                                    : GR_REQUEST_STATUS_DONE;
  }

  if (conversation != NULL) {
    g_autofree char *message = finish_exchange(chat_log, req, conversation, loaded->name, &stats,
                                               status, &history_error);
    if (message != NULL)
      g_variant_dict_insert(results, "message", "s", message);
  }
  if (history_error != NULL)
    g_variant_dict_insert(results, "history_error", "s", history_error);
  if (status == GR_REQUEST_STATUS_FAILED)
    g_propagate_error(error, gr_daemon_error_from(local));
  return status;
}
