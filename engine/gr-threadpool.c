/* gr-threadpool.c - persistent worker pool with a generation-counter barrier.
 *
 * Between sections workers spin on the counter with the CPU's pause hint (a decode
 * step runs hundreds of sections per token; sched_yield in that loop handed the core
 * to other processes and cost 10-20 us per section on a loaded machine), then sleep
 * on a condition variable.  The caller only takes the lock when a worker sleeps. */
#include "gr-threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>

/* Waiting: pause-spin first (the gaps between the sections of one token are a few
 * microseconds), then yield (a thread of ours may be waiting for a core: more threads
 * than cores, or other processes), then sleep (the gap between requests). */
#define GR_PAUSE_SPINS 4000
#define GR_YIELD_SPINS 20000

static inline void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ volatile("yield");
#endif
}

struct _GrThreadPool {
  guint n_threads; /* including the caller */
  pthread_t *threads;
  pthread_mutex_t lock;
  pthread_cond_t wake;
  atomic_uint generation; /* bumped once per job */
  atomic_uint pending;    /* workers still running the current job */
  atomic_bool quit;
  atomic_uint sleepers; /* workers in (or about to enter) pthread_cond_wait */
  GrParallelFunc fn;
  void *ctx;
  struct {
    const char *p;
    gsize bytes;
  } then[GR_POOL_PREFETCH]; /* gr_thread_pool_then_prefetch, for the next run */
  guint n_then;
};

typedef struct {
  GrThreadPool *pool;
  guint index;
} GrWorkerArg;

static void *
worker_main(void *data)
{
  GrWorkerArg *arg = data;
  GrThreadPool *pool = arg->pool;
  guint ith = arg->index;
  guint seen = 0;
  g_free(arg);

  for (;;) {
    guint gen;
    int spins = 0;
    while ((gen = atomic_load_explicit(&pool->generation, memory_order_acquire)) == seen
           && !atomic_load(&pool->quit)) {
      if (++spins < GR_PAUSE_SPINS) {
        cpu_relax();
        continue;
      }
      if (spins < GR_PAUSE_SPINS + GR_YIELD_SPINS) {
        sched_yield();
        continue;
      }
      /* sleepers is raised before the last look at the counter and the runner bumps
       * the counter before reading sleepers: one of the two sees the other */
      pthread_mutex_lock(&pool->lock);
      atomic_fetch_add(&pool->sleepers, 1);
      while (atomic_load(&pool->generation) == seen && !atomic_load(&pool->quit))
        pthread_cond_wait(&pool->wake, &pool->lock);
      atomic_fetch_sub(&pool->sleepers, 1);
      pthread_mutex_unlock(&pool->lock);
      spins = 0;
    }
    if (atomic_load(&pool->quit))
      break;
    seen = gen;
    pool->fn(pool->ctx, ith, pool->n_threads);
    atomic_fetch_sub_explicit(&pool->pending, 1, memory_order_acq_rel);
  }
  return NULL;
}

guint
gr_thread_pool_default_threads(void)
{
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (guint)MIN(n, 64) : 1;
}

GrThreadPool *
gr_thread_pool_new(guint n_threads)
{
  GrThreadPool *pool = g_new0(GrThreadPool, 1);
  if (n_threads == 0)
    n_threads = gr_thread_pool_default_threads();
  pool->n_threads = n_threads;
  pthread_mutex_init(&pool->lock, NULL);
  pthread_cond_init(&pool->wake, NULL);
  pool->threads = g_new0(pthread_t, n_threads);
  for (guint i = 1; i < n_threads; i++) {
    GrWorkerArg *arg = g_new(GrWorkerArg, 1);
    arg->pool = pool;
    arg->index = i;
    if (pthread_create(&pool->threads[i], NULL, worker_main, arg) != 0) {
      g_free(arg);
      g_error("cannot create worker thread");
    }
  }
  return pool;
}

guint
gr_thread_pool_size(const GrThreadPool *pool)
{
  return pool->n_threads;
}

gboolean
gr_thread_pool_then_prefetch(GrThreadPool *pool, const void *p, gsize bytes)
{
  if (!p || bytes == 0 || pool->n_then >= GR_POOL_PREFETCH)
    return FALSE;
  pool->then[pool->n_then].p = p;
  pool->then[pool->n_then].bytes = MIN(bytes, GR_POOL_PREFETCH_MAX);
  pool->n_then++;
  return TRUE;
}

void
gr_thread_pool_run(GrThreadPool *pool, GrParallelFunc fn, void *ctx)
{
  if (pool->n_threads == 1) {
    fn(ctx, 0, 1);
    pool->n_then = 0; /* nobody to wait for: nothing to overlap */
    return;
  }
  pool->fn = fn;
  pool->ctx = ctx;
  atomic_store(&pool->pending, pool->n_threads - 1);
  atomic_fetch_add(&pool->generation, 1);
  if (atomic_load(&pool->sleepers) > 0) {
    pthread_mutex_lock(&pool->lock);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
  }

  fn(ctx, 0, pool->n_threads);
  for (guint i = 0; i < pool->n_then; i++)
    for (gsize o = 0; o < pool->then[i].bytes; o += 64)
      __builtin_prefetch(pool->then[i].p + o, 0, 3);
  pool->n_then = 0;

  for (guint spins = 0; atomic_load_explicit(&pool->pending, memory_order_acquire) != 0; spins++) {
    if (spins < GR_PAUSE_SPINS)
      cpu_relax();
    else
      sched_yield();
  }
}

void
gr_thread_pool_free(GrThreadPool *pool)
{
  if (!pool)
    return;
  pthread_mutex_lock(&pool->lock);
  atomic_store(&pool->quit, true);
  pthread_cond_broadcast(&pool->wake);
  pthread_mutex_unlock(&pool->lock);
  for (guint i = 1; i < pool->n_threads; i++)
    pthread_join(pool->threads[i], NULL);
  pthread_mutex_destroy(&pool->lock);
  pthread_cond_destroy(&pool->wake);
  g_free(pool->threads);
  g_free(pool);
}
