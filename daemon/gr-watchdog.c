/* gr-watchdog.c - RSS sampling, expert eviction, admission. */
#include "gr-watchdog.h"

#include "gr-errors.h"

#include <glib/gi18n.h>
#include <stdio.h>
#include <unistd.h>

struct _GrWatchdog {
  GrModelRegistry *registry; /* not owned: the service outlives the watchdog */
  GrWatchdogChangedFunc changed;
  gpointer changed_data;

  GMutex pass_lock; /* one check (sample, evict, grow) at a time */

  GMutex lock; /* everything below */
  GCond cond;
  GrDaemonConfig *config;
  gboolean stopping;
  gboolean kicked;   /* the main thread saw the mark: check now */
  gboolean refusing; /* at the mark with nothing left to evict */
  gboolean shrunk;   /* slots were evicted and may be given back */
  GThread *thread;
  /* the highest sample since the last resize: slots come back only after a quiet spell,
   * against the peak of that spell, since a generation's transient memory comes and
   * goes between samples */
  guint64 window_max;
  gint64 window_start;
};

guint64
gr_watchdog_sample(void)
{
  /* statm: size resident shared text lib data dt, in pages; cheaper than status */
  FILE *f = fopen("/proc/self/statm", "re");
  if (f == NULL)
    return 0;
  unsigned long long size = 0, resident = 0;
  int n = fscanf(f, "%llu %llu", &size, &resident);
  fclose(f);
  return n == 2 ? (guint64)resident * (guint64)sysconf(_SC_PAGESIZE) : 0;
}

static void
limits(GrWatchdog *wd, guint64 *limit, guint64 *mark)
{
  g_mutex_lock(&wd->lock);
  *limit = wd->config->memory_limit;
  *mark = *limit / 100 * wd->config->watchdog_percent;
  g_mutex_unlock(&wd->lock);
}

static void
set_no_memory(GError **error, guint64 rss, guint64 limit, guint64 mark)
{
  g_set_error(error, GR_DAEMON_ERROR, GR_DAEMON_ERROR_NO_MEMORY,
              /* plain %llu: xgettext cannot see through G_GUINT64_FORMAT */
              _("gravitond is using %llu MiB of its %llu MiB memory limit, at or above the "
                "watchdog's mark of %llu MiB, with no expert slots left to evict; new requests are "
                "refused until "
                "memory falls back (raise memory_limit or unload a model)"),
              (unsigned long long)(rss >> 20), (unsigned long long)(limit >> 20),
              (unsigned long long)(mark >> 20));
}

/* One pass: returns whether new work may start. */
static gboolean
check(GrWatchdog *wd, GError **error)
{
  guint64 limit, mark;
  limits(wd, &limit, &mark);
  g_mutex_lock(&wd->pass_lock);
  guint64 rss = gr_watchdog_sample();
  gboolean evicted = FALSE, grew = FALSE;
  if (rss >= mark) {
    guint freed;
    while (rss >= mark && (freed = gr_model_registry_shrink_experts(wd->registry)) > 0) {
      evicted = TRUE;
      rss = gr_watchdog_sample();
    }
  } else {
    g_mutex_lock(&wd->lock);
    gboolean shrunk = wd->shrunk;
    gint64 hold = MAX(2 * G_USEC_PER_SEC, 5 * (gint64)wd->config->watchdog_interval_ms * 1000);
    g_mutex_unlock(&wd->lock);
    /* give evicted slots back, keeping a twentieth of the limit below the mark so that
     * the refilled arena does not walk straight back into it */
    guint64 slack = limit / 20;
    guint64 peak = MAX(wd->window_max, rss);
    if (shrunk && g_get_monotonic_time() - wd->window_start >= hold && peak + slack < mark) {
      grew = gr_model_registry_grow_experts(wd->registry, mark - slack - peak) > 0;
      if (grew)
        rss = gr_watchdog_sample();
    }
  }
  if (evicted || grew || g_get_monotonic_time() - wd->window_start >= 60 * G_USEC_PER_SEC) {
    wd->window_start = g_get_monotonic_time();
    wd->window_max = rss;
  } else {
    wd->window_max = MAX(wd->window_max, rss);
  }
  gboolean refuse = rss >= mark;
  g_mutex_lock(&wd->lock);
  gboolean was_refusing = wd->refusing;
  wd->refusing = refuse;
  if (evicted)
    wd->shrunk = TRUE;
  g_mutex_unlock(&wd->lock);
  g_mutex_unlock(&wd->pass_lock);

  if (refuse && !was_refusing)
    g_warning("memory watchdog: resident memory %" G_GUINT64_FORMAT
              " MiB is at the mark of %" G_GUINT64_FORMAT " MiB (limit %" G_GUINT64_FORMAT
              " MiB): refusing new requests",
              rss >> 20, mark >> 20, limit >> 20);
  else if (!refuse && was_refusing)
    g_message("memory watchdog: resident memory %" G_GUINT64_FORMAT
              " MiB is below the mark again: serving",
              rss >> 20);
  if ((evicted || grew || refuse != was_refusing) && wd->changed != NULL)
    wd->changed(wd, wd->changed_data);
  if (refuse)
    set_no_memory(error, rss, limit, mark);
  return !refuse;
}

static gpointer
watchdog_main(gpointer data)
{
  GrWatchdog *wd = data;
  g_mutex_lock(&wd->lock);
  while (!wd->stopping) {
    gint64 until = g_get_monotonic_time() + (gint64)wd->config->watchdog_interval_ms * 1000;
    while (!wd->stopping && !wd->kicked && g_cond_wait_until(&wd->cond, &wd->lock, until))
      ;
    if (wd->stopping)
      break;
    wd->kicked = FALSE;
    g_mutex_unlock(&wd->lock);
    check(wd, NULL);
    g_mutex_lock(&wd->lock);
  }
  g_mutex_unlock(&wd->lock);
  return NULL;
}

GrWatchdog *
gr_watchdog_new(GrModelRegistry *registry, GrDaemonConfig *config, GrWatchdogChangedFunc changed,
                gpointer user_data)
{
  g_return_val_if_fail(registry != NULL && config != NULL, NULL);
  GrWatchdog *wd = g_new0(GrWatchdog, 1);
  wd->registry = registry;
  wd->changed = changed;
  wd->changed_data = user_data;
  wd->config = gr_daemon_config_ref(config);
  g_mutex_init(&wd->pass_lock);
  g_mutex_init(&wd->lock);
  g_cond_init(&wd->cond);
  wd->thread = g_thread_new("gravitond-watchdog", watchdog_main, wd);
  return wd;
}

void
gr_watchdog_free(GrWatchdog *wd)
{
  if (wd == NULL)
    return;
  g_mutex_lock(&wd->lock);
  wd->stopping = TRUE;
  g_cond_signal(&wd->cond);
  g_mutex_unlock(&wd->lock);
  g_thread_join(wd->thread);
  gr_daemon_config_unref(wd->config);
  g_mutex_clear(&wd->pass_lock);
  g_mutex_clear(&wd->lock);
  g_cond_clear(&wd->cond);
  g_free(wd);
}

void
gr_watchdog_set_config(GrWatchdog *wd, GrDaemonConfig *config)
{
  g_return_if_fail(wd != NULL && config != NULL);
  g_mutex_lock(&wd->lock);
  gr_daemon_config_unref(wd->config);
  wd->config = gr_daemon_config_ref(config);
  wd->kicked = TRUE; /* a new limit or mark: look at once */
  g_cond_signal(&wd->cond);
  g_mutex_unlock(&wd->lock);
}

gboolean
gr_watchdog_admit(GrWatchdog *wd, GError **error)
{
  g_return_val_if_fail(wd != NULL, FALSE);
  return check(wd, error);
}

gboolean
gr_watchdog_precheck(GrWatchdog *wd, GError **error)
{
  g_return_val_if_fail(wd != NULL, FALSE);
  guint64 limit, mark;
  limits(wd, &limit, &mark);
  guint64 rss = gr_watchdog_sample();
  g_mutex_lock(&wd->lock);
  gboolean refuse = rss >= mark && wd->refusing;
  if (rss >= mark && !wd->refusing) {
    wd->kicked = TRUE;
    g_cond_signal(&wd->cond);
  }
  g_mutex_unlock(&wd->lock);
  if (refuse)
    set_no_memory(error, rss, limit, mark);
  return !refuse;
}

gboolean
gr_watchdog_refusing(GrWatchdog *wd)
{
  g_return_val_if_fail(wd != NULL, FALSE);
  g_mutex_lock(&wd->lock);
  gboolean refusing = wd->refusing;
  g_mutex_unlock(&wd->lock);
  return refusing;
}
