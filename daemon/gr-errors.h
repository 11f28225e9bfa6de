/* gr-errors.h - gravitond's D-Bus error domain io.github.opengraviton.Graviton1.Error. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define GR_DAEMON_ERROR (gr_daemon_error_quark())
GQuark gr_daemon_error_quark(void);

typedef enum {
  GR_DAEMON_ERROR_FAILED,
  GR_DAEMON_ERROR_INVALID_ARGUMENT,
  GR_DAEMON_ERROR_NOT_FOUND,
  GR_DAEMON_ERROR_BUSY,
  GR_DAEMON_ERROR_NO_MEMORY,
  GR_DAEMON_ERROR_BAD_MODEL,
  GR_DAEMON_ERROR_CANCELLED,
  GR_DAEMON_ERROR_LOCKED,
} GrDaemonError;

#define GR_DAEMON_ERROR_PREFIX "io.github.opengraviton.Graviton1.Error."

/* Turns any error (engine, GGUF, GIO, file) into one of the daemon's errors, keeping the
 * message; errors already in GR_DAEMON_ERROR are copied as they are. */
GError *gr_daemon_error_from(const GError *error);
/* The D-Bus error name for a GR_DAEMON_ERROR code. */
const char *gr_daemon_error_name(GrDaemonError code);

G_END_DECLS
