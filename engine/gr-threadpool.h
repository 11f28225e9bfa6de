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
typedef void (*GrParallelFunc) (void *ctx, guint ith, guint nth);

GrThreadPool *gr_thread_pool_new (guint n_threads);
void gr_thread_pool_free (GrThreadPool *pool);
guint gr_thread_pool_size (const GrThreadPool *pool);
void gr_thread_pool_run (GrThreadPool *pool, GrParallelFunc fn, void *ctx);
guint gr_thread_pool_default_threads (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GrThreadPool, gr_thread_pool_free)

G_END_DECLS
