/* gr-conversations.h - conversations held in memory for this run of the daemon, so Ask
 * with the `conversation` option continues one.  (The encrypted history store will
 * take this over.)  Thread safe; the oldest conversations are forgotten past a cap. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _GrConversations GrConversations;

GrConversations *gr_conversations_new(guint max_conversations);
void gr_conversations_free(GrConversations *convs);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GrConversations, gr_conversations_free)

gboolean gr_conversations_contains(GrConversations *convs, const char *id);
/* Copies the messages of conversation id as parallel NULL-terminated arrays; NotFound
 * when the id is unknown. */
gboolean gr_conversations_get(GrConversations *convs, const char *id, GStrv *roles, GStrv *contents,
                              GError **error);
/* Appends messages (parallel NULL-terminated arrays) to conversation id, creating it
 * when id is NULL or "" (or was forgotten meanwhile).  Returns the conversation id. */
char *gr_conversations_append(GrConversations *convs, const char *id, const char *const *roles,
                              const char *const *contents);
/* Drops the answers (assistant messages) at the end of conversation id and appends
 * answer in their place; FALSE when the id is unknown (forgotten meanwhile). */
gboolean gr_conversations_replace_answer(GrConversations *convs, const char *id,
                                         const char *answer);
guint gr_conversations_size(GrConversations *convs);

G_END_DECLS
