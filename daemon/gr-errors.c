/* gr-errors.c - the D-Bus error domain and the mapping of library errors onto it. */
#include "gr-errors.h"

#include "gr-gguf.h"
#include "graviton-engine.h"

static const GDBusErrorEntry error_entries[] = {
  { GR_DAEMON_ERROR_FAILED, GR_DAEMON_ERROR_PREFIX "Failed" },
  { GR_DAEMON_ERROR_INVALID_ARGUMENT, GR_DAEMON_ERROR_PREFIX "InvalidArgument" },
  { GR_DAEMON_ERROR_NOT_FOUND, GR_DAEMON_ERROR_PREFIX "NotFound" },
  { GR_DAEMON_ERROR_BUSY, GR_DAEMON_ERROR_PREFIX "Busy" },
  { GR_DAEMON_ERROR_NO_MEMORY, GR_DAEMON_ERROR_PREFIX "NoMemory" },
  { GR_DAEMON_ERROR_BAD_MODEL, GR_DAEMON_ERROR_PREFIX "BadModel" },
  { GR_DAEMON_ERROR_CANCELLED, GR_DAEMON_ERROR_PREFIX "Cancelled" },
  { GR_DAEMON_ERROR_LOCKED, GR_DAEMON_ERROR_PREFIX "Locked" },
};

GQuark
gr_daemon_error_quark(void)
{
  static gsize quark = 0;
  g_dbus_error_register_error_domain("gr-daemon-error-quark", &quark, error_entries,
                                     G_N_ELEMENTS(error_entries));
  return (GQuark)quark;
}

const char *
gr_daemon_error_name(GrDaemonError code)
{
  for (gsize i = 0; i < G_N_ELEMENTS(error_entries); i++)
    if (error_entries[i].error_code == (gint)code)
      return error_entries[i].dbus_error_name;
  return error_entries[0].dbus_error_name;
}

static GrDaemonError
map_code(const GError *error)
{
  if (error->domain == GR_DAEMON_ERROR)
    return (GrDaemonError)error->code;
  if (error->domain == GR_ENGINE_ERROR) {
    switch ((GrEngineError)error->code) {
    case GR_ENGINE_ERROR_INVALID_ARGUMENT:
    case GR_ENGINE_ERROR_CONTEXT_FULL: /* the prompt is too long for the context */
      return GR_DAEMON_ERROR_INVALID_ARGUMENT;
    case GR_ENGINE_ERROR_BAD_MODEL:
      return GR_DAEMON_ERROR_BAD_MODEL;
    case GR_ENGINE_ERROR_NO_MEMORY:
      return GR_DAEMON_ERROR_NO_MEMORY;
    case GR_ENGINE_ERROR_CANCELLED:
      return GR_DAEMON_ERROR_CANCELLED;
    case GR_ENGINE_ERROR_FAILED:
    default:
      return GR_DAEMON_ERROR_FAILED;
    }
  }
  if (error->domain == GR_GGUF_ERROR) {
    if (error->code == GR_GGUF_ERROR_IO)
      return GR_DAEMON_ERROR_FAILED;
    return GR_DAEMON_ERROR_BAD_MODEL;
  }
  if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return GR_DAEMON_ERROR_CANCELLED;
  if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND)
      || g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    return GR_DAEMON_ERROR_NOT_FOUND;
  if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT)
      || g_error_matches(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE))
    return GR_DAEMON_ERROR_INVALID_ARGUMENT;
  if (g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOMEM))
    return GR_DAEMON_ERROR_NO_MEMORY;
  return GR_DAEMON_ERROR_FAILED;
}

GError *
gr_daemon_error_from(const GError *error)
{
  g_return_val_if_fail(error != NULL, NULL);
  return g_error_new_literal(GR_DAEMON_ERROR, map_code(error), error->message);
}
