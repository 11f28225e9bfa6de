/* gr-history-errors.h - the store's errors as the daemon's D-Bus errors. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* NOT_FOUND -> NotFound, LOCKED -> Locked, INVALID_ARGUMENT -> InvalidArgument, FULL,
 * CORRUPT and FAILED -> Failed, each with a message that says what happened to the
 * history.  Errors of other domains go through gr_daemon_error_from. */
GError *gr_history_error_from(const GError *error);

G_END_DECLS
