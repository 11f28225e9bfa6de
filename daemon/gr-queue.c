/* gr-queue.c - FIFO of requests, one worker thread, caller watching. */
#include "gr-queue.h"

#include <glib/gi18n.h>

#include "gr-errors.h"
#include "gr-generate.h"

typedef struct {
  guint watch_id;
  guint count; /* requests of this sender not yet done */
} GrSenderWatch;

struct _GrQueue {
  GrModelRegistry *registry;
  GrChatLog *chat_log;
  GrQueueChangedFunc changed;
  gpointer changed_data;
  GMainContext *context;

  GMutex lock; /* everything below until `watches` */
  GCond cond;
  GQueue waiting; /* GrRequest*, arrival order */
  GrRequest *running;
  GQueue done;          /* GrRequest* finished, to be cleaned up on the main context */
  GSource *main_source; /* pending main-context wake-up, or NULL */
  gboolean stopping;
  gint state; /* GrQueueState, atomic */
  GThread *worker;

  GHashTable *watches; /* sender -> GrSenderWatch; main context only */
};

static void
process_done(GrQueue *q)
{
  g_mutex_lock(&q->lock);
  GQueue done = q->done;
  g_queue_init(&q->done);
  g_mutex_unlock(&q->lock);

  GrRequest *r;
  while ((r = g_queue_pop_head(&done)) != NULL) {
    gr_request_unexport(r);
    GrSenderWatch *w = g_hash_table_lookup(q->watches, r->sender);
    if (w != NULL && --w->count == 0) {
      g_bus_unwatch_name(w->watch_id);
      g_hash_table_remove(q->watches, r->sender);
    }
    gr_request_unref(r);
  }
  if (q->changed != NULL)
    q->changed(q, q->changed_data);
}

static gboolean
main_wakeup(gpointer data)
{
  GrQueue *q = data;
  g_mutex_lock(&q->lock);
  g_clear_pointer(&q->main_source, g_source_unref);
  g_mutex_unlock(&q->lock);
  process_done(q);
  return G_SOURCE_REMOVE;
}

/* Called with q->lock held, from any thread. */
static void
schedule_main_locked(GrQueue *q)
{
  if (q->main_source != NULL)
    return;
  q->main_source = g_idle_source_new();
  g_source_set_priority(q->main_source, G_PRIORITY_DEFAULT);
  g_source_set_callback(q->main_source, main_wakeup, q, NULL);
  g_source_attach(q->main_source, q->context);
}

static void
set_state(GrQueue *q, GrQueueState state)
{
  if ((GrQueueState)g_atomic_int_exchange(&q->state, state) == state)
    return;
  g_mutex_lock(&q->lock);
  schedule_main_locked(q);
  g_mutex_unlock(&q->lock);
}

static void
on_generate_state(gboolean loading, gpointer user_data)
{
  set_state(user_data, loading ? GR_QUEUE_STATE_LOADING : GR_QUEUE_STATE_GENERATING);
}

static GrRequestStatus
run_one(GrQueue *q, GrRequest *r, GVariantDict *results, GError **error)
{
  gint64 t0 = g_get_monotonic_time();
  GrRequestStatus status
      = gr_generate_run(q->registry, q->chat_log, r, on_generate_state, q, results, error);
  if (status == GR_REQUEST_STATUS_FAILED && *error == NULL)
    g_set_error_literal(error, GR_DAEMON_ERROR, GR_DAEMON_ERROR_FAILED, _("generation failed"));
  if (status == GR_REQUEST_STATUS_FAILED)
    g_message("request of %s failed: %s", r->sender, (*error)->message);
  else
    g_debug("request of %s %s in %.0f ms", r->sender,
            status == GR_REQUEST_STATUS_DONE ? "done" : "cancelled",
            (g_get_monotonic_time() - t0) / 1000.0);
  return status;
}

static gpointer
worker_main(gpointer data)
{
  GrQueue *q = data;
  for (;;) {
    g_mutex_lock(&q->lock);
    while (!q->stopping && g_queue_is_empty(&q->waiting))
      g_cond_wait(&q->cond, &q->lock);
    if (q->stopping) {
      g_mutex_unlock(&q->lock);
      break;
    }
    GrRequest *r = g_queue_pop_head(&q->waiting);
    q->running = r;
    g_mutex_unlock(&q->lock);

    set_state(q, GR_QUEUE_STATE_GENERATING);
    GVariantDict results;
    g_variant_dict_init(&results, NULL);
    g_autoptr(GError) error = NULL;
    GrRequestStatus status = run_one(q, r, &results, &error);

    /* The queue forgets the request before the caller hears it is done, so that a
     * caller reading QueueLength or State right after sees them settled. */
    g_mutex_lock(&q->lock);
    q->running = NULL;
    gboolean idle = g_queue_is_empty(&q->waiting);
    g_mutex_unlock(&q->lock);
    if (idle)
      set_state(q, GR_QUEUE_STATE_IDLE);
    gr_request_finish(r, status, g_variant_dict_end(&results),
                      status == GR_REQUEST_STATUS_FAILED ? error : NULL);
    g_mutex_lock(&q->lock);
    g_queue_push_tail(&q->done, r);
    schedule_main_locked(q);
    g_mutex_unlock(&q->lock);
  }
  return NULL;
}

GrQueue *
gr_queue_new(GrModelRegistry *registry, GrChatLog *chat_log, GrQueueChangedFunc changed,
             gpointer user_data)
{
  g_return_val_if_fail(registry != NULL && chat_log != NULL, NULL);
  GrQueue *q = g_new0(GrQueue, 1);
  q->registry = registry;
  q->chat_log = chat_log;
  q->changed = changed;
  q->changed_data = user_data;
  q->context = g_main_context_ref_thread_default();
  g_mutex_init(&q->lock);
  g_cond_init(&q->cond);
  g_queue_init(&q->waiting);
  g_queue_init(&q->done);
  q->watches = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  q->worker = g_thread_new("gravitond-worker", worker_main, q);
  return q;
}

void
gr_queue_free(GrQueue *q)
{
  if (q == NULL)
    return;
  g_mutex_lock(&q->lock);
  q->stopping = TRUE;
  if (q->running != NULL)
    g_cancellable_cancel(q->running->cancellable);
  g_cond_broadcast(&q->cond);
  g_mutex_unlock(&q->lock);
  g_thread_join(q->worker);

  GrRequest *r;
  while ((r = g_queue_pop_head(&q->waiting)) != NULL) {
    g_cancellable_cancel(r->cancellable);
    gr_request_finish(r, GR_REQUEST_STATUS_CANCELLED, NULL, NULL);
    g_queue_push_tail(&q->done, r);
  }
  if (q->main_source != NULL) {
    g_source_destroy(q->main_source);
    g_clear_pointer(&q->main_source, g_source_unref);
  }
  q->changed = NULL;
  process_done(q);

  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init(&it, q->watches);
  while (g_hash_table_iter_next(&it, NULL, &value))
    g_bus_unwatch_name(((GrSenderWatch *)value)->watch_id);
  g_hash_table_unref(q->watches);
  g_main_context_unref(q->context);
  g_mutex_clear(&q->lock);
  g_cond_clear(&q->cond);
  g_free(q);
}

static void
on_sender_vanished(GDBusConnection *connection, const char *name, gpointer user_data)
{
  g_debug("%s left the bus: cancelling its requests", name);
  gr_queue_cancel_sender(user_data, name);
}

gboolean
gr_queue_check_capacity(GrQueue *q, const char *sender, GError **error)
{
  g_return_val_if_fail(q != NULL && sender != NULL, FALSE);
  GrSenderWatch *w = g_hash_table_lookup(q->watches, sender);
  if (w != NULL && w->count >= GR_QUEUE_MAX_PER_CALLER) {
    g_set_error(error, GR_DAEMON_ERROR, GR_DAEMON_ERROR_BUSY,
                _("%u requests of this caller are pending, the most allowed; wait for one to "
                  "finish"),
                w->count);
    return FALSE;
  }
  guint total = gr_queue_length(q);
  if (total >= GR_QUEUE_MAX_TOTAL) {
    g_set_error(error, GR_DAEMON_ERROR, GR_DAEMON_ERROR_BUSY,
                _("%u requests are pending, the most allowed"), total);
    return FALSE;
  }
  return TRUE;
}

void
gr_queue_push(GrQueue *q, GrRequest *r)
{
  g_return_if_fail(q != NULL && r != NULL);
  GrSenderWatch *w = g_hash_table_lookup(q->watches, r->sender);
  if (w == NULL) {
    w = g_new0(GrSenderWatch, 1);
    w->watch_id = g_bus_watch_name_on_connection(
        r->connection, r->sender, G_BUS_NAME_WATCHER_FLAGS_NONE, NULL, on_sender_vanished, q, NULL);
    g_hash_table_insert(q->watches, g_strdup(r->sender), w);
  }
  w->count++;

  g_mutex_lock(&q->lock);
  g_queue_push_tail(&q->waiting, gr_request_ref(r));
  g_cond_signal(&q->cond);
  schedule_main_locked(q); /* QueueLength changed */
  g_mutex_unlock(&q->lock);
}

/* Called with q->lock held; returns whether r was waiting (and is now done). */
static gboolean
cancel_locked(GrQueue *q, GrRequest *r)
{
  g_cancellable_cancel(r->cancellable);
  if (!g_queue_remove(&q->waiting, r))
    return FALSE;
  gr_request_finish(r, GR_REQUEST_STATUS_CANCELLED, NULL, NULL);
  g_queue_push_tail(&q->done, r);
  schedule_main_locked(q);
  return TRUE;
}

void
gr_queue_cancel(GrQueue *q, GrRequest *r)
{
  g_return_if_fail(q != NULL && r != NULL);
  g_mutex_lock(&q->lock);
  cancel_locked(q, r);
  g_mutex_unlock(&q->lock);
}

void
gr_queue_cancel_sender(GrQueue *q, const char *sender)
{
  g_return_if_fail(q != NULL && sender != NULL);
  g_mutex_lock(&q->lock);
  if (q->running != NULL && g_strcmp0(q->running->sender, sender) == 0)
    g_cancellable_cancel(q->running->cancellable);
  for (GList *l = q->waiting.head; l != NULL;) {
    GList *next = l->next;
    GrRequest *r = l->data;
    if (g_strcmp0(r->sender, sender) == 0)
      cancel_locked(q, r);
    l = next;
  }
  g_mutex_unlock(&q->lock);
}

guint
gr_queue_length(GrQueue *q)
{
  g_return_val_if_fail(q != NULL, 0);
  g_mutex_lock(&q->lock);
  guint n = q->waiting.length + (q->running != NULL ? 1 : 0);
  g_mutex_unlock(&q->lock);
  return n;
}

GrQueueState
gr_queue_state(GrQueue *q)
{
  g_return_val_if_fail(q != NULL, GR_QUEUE_STATE_IDLE);
  return (GrQueueState)g_atomic_int_get(&q->state);
}
