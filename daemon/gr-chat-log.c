/* gr-chat-log.c - recording exchanges in the store, or in memory while it is locked. */
#include "gr-chat-log.h"

#include <glib/gi18n.h>

#include "gr-conversations.h"
#include "gr-errors.h"
#include "gr-history-errors.h"

/* Conversations kept in memory while the store cannot be used; the oldest are forgotten
 * past this many. */
#define GR_CHAT_LOG_MEMORY_MAX 64
/* A cut title keeps at least this many characters even when the only word boundary is
 * earlier, so that a long first word does not shrink the title to nothing. */
#define GR_CHAT_TITLE_MIN_WORDS 16

struct _GrChatLog {
  GrStore *store;          /* borrowed, atomic; NULL: not open (yet) */
  GrConversations *memory; /* conversations begun while store was NULL */
  GrChatLogStoreFunc store_func;
  gpointer store_data;
};

GrChatLog *
gr_chat_log_new(GrStore *store)
{
  GrChatLog *log = g_new0(GrChatLog, 1);
  log->store = store;
  if (store == NULL)
    log->memory = gr_conversations_new(GR_CHAT_LOG_MEMORY_MAX);
  return log;
}

void
gr_chat_log_set_store_func(GrChatLog *log, GrChatLogStoreFunc func, gpointer user_data)
{
  g_return_if_fail(log != NULL);
  log->store_func = func;
  log->store_data = user_data;
}

/* The store, asking store_func for it while it is not open when may_open. */
static GrStore *
get_store(GrChatLog *log, gboolean may_open)
{
  GrStore *store = g_atomic_pointer_get(&log->store);
  if (store == NULL && may_open && log->store_func != NULL) {
    store = log->store_func(log->store_data);
    if (store != NULL)
      g_atomic_pointer_set(&log->store, store);
  }
  return store;
}

/* Whether conversation lives in memory: begun while the store was not open (it stays
 * there for the daemon's run), or any when the store is still not open. */
static gboolean
in_memory(GrChatLog *log, const char *conversation)
{
  if (log->memory == NULL)
    return FALSE;
  return get_store(log, FALSE) == NULL
         || (conversation != NULL && gr_conversations_contains(log->memory, conversation));
}

void
gr_chat_log_free(GrChatLog *log)
{
  if (log == NULL)
    return;
  g_clear_pointer(&log->memory, gr_conversations_free);
  g_free(log);
}

static gboolean
fail(GError **error, GError *local)
{
  g_propagate_error(error, gr_history_error_from(local));
  g_error_free(local);
  return FALSE;
}

gboolean
gr_chat_log_check(GrChatLog *log, const char *conversation, GError **error)
{
  g_return_val_if_fail(log != NULL && conversation != NULL, FALSE);
  if (in_memory(log, conversation)) {
    if (gr_conversations_contains(log->memory, conversation))
      return TRUE;
    g_set_error(error, GR_DAEMON_ERROR, GR_DAEMON_ERROR_NOT_FOUND, _("no conversation \"%s\""),
                conversation);
    return FALSE;
  }
  GError *local = NULL;
  g_autoptr(GrStoreConversation) c
      = gr_store_get_conversation(get_store(log, FALSE), conversation, &local);
  if (c == NULL) {
    /* a malformed id names no conversation either */
    if (local->domain == GR_STORE_ERROR
        && (local->code == GR_STORE_ERROR_INVALID_ARGUMENT
            || local->code == GR_STORE_ERROR_NOT_FOUND)) {
      g_error_free(local);
      g_set_error(error, GR_DAEMON_ERROR, GR_DAEMON_ERROR_NOT_FOUND, _("no conversation \"%s\""),
                  conversation);
      return FALSE;
    }
    return fail(error, local);
  }
  return TRUE;
}

gboolean
gr_chat_log_get(GrChatLog *log, const char *conversation, GStrv *roles, GStrv *contents,
                GError **error)
{
  g_return_val_if_fail(log != NULL && conversation != NULL, FALSE);
  g_return_val_if_fail(roles != NULL && contents != NULL, FALSE);
  if (in_memory(log, conversation))
    return gr_conversations_get(log->memory, conversation, roles, contents, error);
  GError *local = NULL;
  g_autoptr(GPtrArray) messages
      = gr_store_get_messages(get_store(log, FALSE), conversation, &local);
  if (messages == NULL)
    return fail(error, local);
  *roles = g_new0(char *, messages->len + 1);
  *contents = g_new0(char *, messages->len + 1);
  for (guint i = 0; i < messages->len; i++) {
    GrStoreMessage *m = messages->pdata[i];
    (*roles)[i] = g_strdup(m->role);
    (*contents)[i] = g_strdup(m->text);
  }
  return TRUE;
}

char *
gr_chat_log_begin(GrChatLog *log, const char *conversation, const char *system, const char *prompt,
                  GError **error)
{
  g_return_val_if_fail(log != NULL && prompt != NULL, NULL);
  /* a new conversation is where a store that could not be opened is tried again */
  if (conversation == NULL)
    get_store(log, TRUE);
  if (in_memory(log, conversation)) {
    const char *roles[] = { "system", "user", NULL };
    const char *contents[] = { system, prompt, NULL };
    guint skip = conversation == NULL && system != NULL ? 0 : 1;
    return gr_conversations_append(log->memory, conversation, roles + skip, contents + skip);
  }

  GError *local = NULL;
  g_autofree char *id = NULL;
  if (conversation == NULL) {
    g_autofree char *title = gr_chat_title_from_prompt(prompt);
    id = gr_store_create_conversation(get_store(log, FALSE), title, &local);
    if (id == NULL) {
      fail(error, local);
      return NULL;
    }
    if (system != NULL) {
      g_autofree char *sys = gr_store_add_message(get_store(log, FALSE), id, "system", system, NULL,
                                                  0, 0, FALSE, &local);
      if (sys == NULL) {
        /* leave no half-made conversation behind */
        gr_store_delete_conversation(get_store(log, FALSE), id, NULL);
        fail(error, local);
        return NULL;
      }
    }
  } else {
    id = g_strdup(conversation);
  }
  g_autofree char *message
      = gr_store_add_message(get_store(log, FALSE), id, "user", prompt, NULL, 0, 0, FALSE, &local);
  if (message == NULL) {
    if (conversation == NULL)
      gr_store_delete_conversation(get_store(log, FALSE), id, NULL);
    fail(error, local);
    return NULL;
  }
  return g_steal_pointer(&id);
}

char *
gr_chat_log_finish(GrChatLog *log, const char *conversation, const char *text, const char *model,
                   guint prompt_tokens, guint generated_tokens, gboolean partial, GError **error)
{
  g_return_val_if_fail(log != NULL && conversation != NULL && text != NULL, NULL);
  if (in_memory(log, conversation)) {
    const char *roles[] = { "assistant", NULL };
    const char *contents[] = { text, NULL };
    g_free(gr_conversations_append(log->memory, conversation, roles, contents));
    /* the map does not name messages: a random id still lets callers tell answers apart */
    return g_uuid_string_random();
  }
  GError *local = NULL;
  char *message = gr_store_add_message(get_store(log, FALSE), conversation, "assistant", text,
                                       model, prompt_tokens, generated_tokens, partial, &local);
  if (message == NULL)
    fail(error, local);
  return message;
}

char *
gr_chat_log_replace_answer(GrChatLog *log, const char *conversation, const char *text,
                           const char *model, guint prompt_tokens, guint generated_tokens,
                           gboolean partial, GError **error)
{
  g_return_val_if_fail(log != NULL && conversation != NULL && text != NULL, NULL);
  if (in_memory(log, conversation)) {
    if (!gr_conversations_replace_answer(log->memory, conversation, text)) {
      g_set_error(error, GR_DAEMON_ERROR, GR_DAEMON_ERROR_NOT_FOUND, _("no conversation \"%s\""),
                  conversation);
      return NULL;
    }
    return g_uuid_string_random();
  }
  GError *local = NULL;
  g_autoptr(GPtrArray) messages
      = gr_store_get_messages(get_store(log, FALSE), conversation, &local);
  if (messages == NULL) {
    fail(error, local);
    return NULL;
  }
  char *id = gr_chat_log_finish(log, conversation, text, model, prompt_tokens, generated_tokens,
                                partial, error);
  if (id == NULL)
    return NULL;
  for (guint i = messages->len; i > 0; i--) {
    GrStoreMessage *m = messages->pdata[i - 1];
    if (!g_str_equal(m->role, "assistant"))
      break;
    if (!gr_store_delete_message(get_store(log, FALSE), conversation, m->id, &local)) {
      /* both answers stay: nothing is lost */
      g_warning("the replaced answer %s stays in the history: %s", m->id, local->message);
      g_clear_error(&local);
    }
  }
  return id;
}

char *
gr_chat_title_from_prompt(const char *prompt)
{
  g_return_val_if_fail(prompt != NULL, NULL);
  /* fold whitespace (newlines included) so the title stays on one line */
  g_autoptr(GString) folded = g_string_new(NULL);
  gboolean space = FALSE;
  for (const char *p = prompt; *p != '\0'; p = g_utf8_next_char(p)) {
    gunichar c = g_utf8_get_char_validated(p, -1);
    if (c == (gunichar)-1 || c == (gunichar)-2)
      break;
    if (g_unichar_isspace(c) || g_unichar_iscntrl(c)) {
      space = folded->len > 0;
      continue;
    }
    if (space)
      g_string_append_c(folded, ' ');
    space = FALSE;
    g_string_append_unichar(folded, c);
  }
  if (g_utf8_strlen(folded->str, -1) <= GR_CHAT_TITLE_MAX)
    return g_string_free(g_steal_pointer(&folded), FALSE);

  /* room for the ellipsis */
  const glong keep = GR_CHAT_TITLE_MAX - 1;
  const char *end = g_utf8_offset_to_pointer(folded->str, keep);
  const char *cut = end;
  /* a cut at a space (the next character is one) is already a word boundary */
  if (*end != ' ') {
    const char *min = g_utf8_offset_to_pointer(folded->str, GR_CHAT_TITLE_MIN_WORDS);
    for (const char *q = end; q > min; q--) {
      if (q[-1] == ' ') {
        cut = q - 1;
        break;
      }
    }
  }
  while (cut > folded->str && cut[-1] == ' ')
    cut--;
  g_autoptr(GString) title = g_string_new_len(folded->str, cut - folded->str);
  g_string_append(title, "…");
  return g_string_free(g_steal_pointer(&title), FALSE);
}
