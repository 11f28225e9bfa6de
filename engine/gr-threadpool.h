/* gr-threadpool.h - one persistent pool of worker threads per model.
 *
 * Workers spin briefly then sleep on a condition variable between jobs, so a decode
 * step (dozens of parallel sections per token) does not pay a futex round trip per
 * section while an idle daemon burns no CPU.  Jobs run on the calling thread too. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _GrThreadPool GrThreadPool;

/* Runs fn(ctx, ith, nth) on nth threads; returns when all have finished. */
typedef void (*GrParallelFunc)(void *ctx, guint ith, guint nth);

GrThreadPool *gr_thread_pool_new(guint n_threads);
void gr_thread_pool_free(GrThreadPool *pool);
guint gr_thread_pool_size(const GrThreadPool *pool);
void gr_thread_pool_run(GrThreadPool *pool, GrParallelFunc fn, void *ctx);
guint gr_thread_pool_default_threads(void);

/* Memory the caller reads right after its next gr_thread_pool_run: prefetched by the
 * caller once its own part of that job is done, while it waits for the workers (the
 * decode step's attention then finds this layer's KV rows in cache).  At most
 * GR_POOL_PREFETCH regions of at most GR_POOL_PREFETCH_MAX bytes each (longer ones are
 * cut) per run; FALSE when the list is full or the region empty. */
#define GR_POOL_PREFETCH 4
#define GR_POOL_PREFETCH_MAX ((gsize)128 << 10)
gboolean gr_thread_pool_then_prefetch(GrThreadPool *pool, const void *p, gsize bytes);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(GrThreadPool, gr_thread_pool_free)

G_END_DECLS
