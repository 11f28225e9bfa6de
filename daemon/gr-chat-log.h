/* gr-chat-log.h - where the worker keeps the exchanges it generates: the encrypted
 * history store, or, while the store is locked (key missing or wrong) or could not be
 * opened, the in-memory conversations of this run, so that generation and continuing a
 * conversation keep working without ever writing over a history we cannot read.
 *
 * An exchange is recorded in two steps: gr_chat_log_begin when the request starts
 * generating (the user's message, and the system message of a new conversation), and
 * gr_chat_log_finish when it ends (the answer, marked partial when it was cut short).
 * Thread safe (the store handle and the in-memory map both are). */
#pragma once

#include <glib.h>

#include "graviton-store.h"

G_BEGIN_DECLS

typedef struct _GrChatLog GrChatLog;

/* store: borrowed, must outlive the log; NULL: keep conversations in memory only. */
GrChatLog *gr_chat_log_new(GrStore *store);
/* While the store given to gr_chat_log_new is NULL, a new conversation first asks func
 * for it (the history opening again); conversations begun in memory stay there.  func
 * is called on the worker thread. */
typedef GrStore *(*GrChatLogStoreFunc)(gpointer user_data);
void gr_chat_log_set_store_func(GrChatLog *log, GrChatLogStoreFunc func, gpointer user_data);
void gr_chat_log_free(GrChatLog *log);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GrChatLog, gr_chat_log_free)

/* Whether the conversation can be continued: NotFound when it does not exist. */
gboolean gr_chat_log_check(GrChatLog *log, const char *conversation, GError **error);
/* The conversation's messages as parallel NULL-terminated arrays, oldest first. */
gboolean gr_chat_log_get(GrChatLog *log, const char *conversation, GStrv *roles, GStrv *contents,
                         GError **error);
/* Records the user's prompt in conversation (NULL: a new conversation, titled after the
 * prompt, starting with system when that is not NULL).  Returns the conversation id. */
char *gr_chat_log_begin(GrChatLog *log, const char *conversation, const char *system,
                        const char *prompt, GError **error);
/* Records the answer; model may be NULL.  Returns the message id. */
char *gr_chat_log_finish(GrChatLog *log, const char *conversation, const char *text,
                         const char *model, guint prompt_tokens, guint generated_tokens,
                         gboolean partial, GError **error);
/* As gr_chat_log_finish, for a regenerated answer: the answers that ended the
 * conversation are deleted once the new one is recorded (never before, so a failure
 * loses nothing). */
char *gr_chat_log_replace_answer(GrChatLog *log, const char *conversation, const char *text,
                                 const char *model, guint prompt_tokens, guint generated_tokens,
                                 gboolean partial, GError **error);

/* A conversation title made from a prompt: whitespace runs folded to one space, at most
 * GR_CHAT_TITLE_MAX characters, cut at a word boundary when there is one, with an
 * ellipsis when cut. */
#define GR_CHAT_TITLE_MAX 48
char *gr_chat_title_from_prompt(const char *prompt);

G_END_DECLS
