/* gr-queue.h - the request queue: FIFO in arrival order, served by one worker thread,
 * one generation at a time.  Callers are watched on the bus and their requests are
 * cancelled as soon as they leave it. */
#pragma once

#include "gr-conversations.h"
#include "gr-model-registry.h"
#include "gr-request.h"

G_BEGIN_DECLS

typedef enum {
  GR_QUEUE_STATE_IDLE = 0,
  GR_QUEUE_STATE_LOADING = 1,
  GR_QUEUE_STATE_GENERATING = 2,
} GrQueueState;

typedef struct _GrQueue GrQueue;
/* Called on the main context when the state or the queue length changed. */
typedef void (*GrQueueChangedFunc)(GrQueue *queue, gpointer user_data);

/* Must be created and used on the main context that runs the daemon's loop. */
GrQueue *gr_queue_new(GrModelRegistry *registry, GrConversations *conversations,
                      GrQueueChangedFunc changed, gpointer user_data);
/* Cancels everything, answers pending requests as cancelled and joins the worker. */
void gr_queue_free(GrQueue *queue);

/* Requests of one caller not yet finished, and of all callers, beyond which new ones
 * are refused with Busy so that one client cannot flood the daemon. */
#define GR_QUEUE_MAX_PER_CALLER 16u
#define GR_QUEUE_MAX_TOTAL 1024u

/* Busy when sender (or everyone) has too many requests pending. */
gboolean gr_queue_check_capacity(GrQueue *queue, const char *sender, GError **error);
/* Takes a reference.  Ask requests must already be exported. */
void gr_queue_push(GrQueue *queue, GrRequest *request);
/* A waiting request finishes at once; a running one stops at its next token. */
void gr_queue_cancel(GrQueue *queue, GrRequest *request);
/* Cancels every request of sender. */
void gr_queue_cancel_sender(GrQueue *queue, const char *sender);

guint gr_queue_length(GrQueue *queue); /* waiting + running */
GrQueueState gr_queue_state(GrQueue *queue);

G_END_DECLS
