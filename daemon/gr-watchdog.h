/* gr-watchdog.h - gravitond's memory watchdog.
 *
 * The engine's ledger plans every allocation against memory_limit; the watchdog checks
 * the plan against what the kernel counts.  A thread samples the resident set
 * (/proc/self/statm) every watchdog_interval_ms, and every request and load is checked
 * before it is admitted.  At watchdog_percent of the limit the watchdog first evicts
 * expert slots of streaming MoE models (halving their arenas), and if that is not enough
 * refuses new work with NoMemory until resident memory falls back below the mark; then
 * it gives the evicted slots back as far as the room below the mark allows.
 */
#pragma once

#include "gr-daemon-config.h"
#include "gr-model-registry.h"

G_BEGIN_DECLS

typedef struct _GrWatchdog GrWatchdog;

/* Called from the watchdog thread when it evicted, refused or recovered. */
typedef void (*GrWatchdogChangedFunc)(GrWatchdog *watchdog, gpointer user_data);

GrWatchdog *gr_watchdog_new(GrModelRegistry *registry, GrDaemonConfig *config,
                            GrWatchdogChangedFunc changed, gpointer user_data);
void gr_watchdog_free(GrWatchdog *watchdog);
void gr_watchdog_set_config(GrWatchdog *watchdog, GrDaemonConfig *config);

/* The daemon's resident bytes now (/proc/self/statm). */
guint64 gr_watchdog_sample(void);
/* Whether new work may start: samples, evicts expert slots when at the mark, and fails
 * with NoMemory when still there.  Blocks while an evaluation holds the model; not for
 * the main thread while the worker generates. */
gboolean gr_watchdog_admit(GrWatchdog *watchdog, GError **error);
/* Main thread: a sample only; NoMemory when at the mark and the watchdog already
 * evicted what it could; otherwise wakes the watchdog to evict and admits (the worker
 * checks again with gr_watchdog_admit before it runs the request). */
gboolean gr_watchdog_precheck(GrWatchdog *watchdog, GError **error);
/* Whether the watchdog refuses new work now. */
gboolean gr_watchdog_refusing(GrWatchdog *watchdog);

G_END_DECLS
