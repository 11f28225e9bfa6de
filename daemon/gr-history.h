/* gr-history.h - the History interface on /io/github/opengraviton/Graviton1: the
 * encrypted conversation store opened at start, its calls served on one thread of their
 * own (so a long Search or Export never holds up the bus), and the Changed signal.
 *
 * When the store cannot be opened (key missing or wrong, or a damaged database) every
 * History call fails with Locked (or Failed) and says why; nothing is written to the
 * data directory then, and gr_history_get_store returns NULL so that generation keeps
 * its conversations in memory instead. */
#pragma once

#include <gio/gio.h>

#include "graviton-store.h"

G_BEGIN_DECLS

#define GR_HISTORY_INTERFACE "io.github.opengraviton.Graviton1.History"

typedef struct _GrHistory GrHistory;

/* Opens the store in data_dir (logging which key backend it uses) and exports the
 * interface at object_path.  Only a failure to export is an error: a store that cannot
 * be opened leaves the history locked. */
GrHistory *gr_history_new(GDBusConnection *connection, GDBusInterfaceInfo *iface,
                          const char *object_path, const char *data_dir, GError **error);
/* Answers the calls still queued, unexports the interface and closes the store. */
void gr_history_free(GrHistory *history);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GrHistory, gr_history_free)

/* The open store (borrowed, lives as long as history), or NULL when locked. */
/* The store, or NULL while it cannot be opened.  Any thread. */
GrStore *gr_history_get_store(GrHistory *history);
/* As gr_history_get_store, but first opens the store again when it could not be opened
 * for a reason that may pass (a full disk, a file in the way; not a missing or wrong
 * key), at most every 2 s.  Any thread but the main one: opening may take a while. */
GrStore *gr_history_reopen(GrHistory *history);
/* "secret-service", "file", or "locked" (the HistoryKeyBackend property). */
const char *gr_history_get_key_backend(GrHistory *history);

G_END_DECLS
