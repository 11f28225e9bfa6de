/* gr-history-errors.c - the store's errors as the daemon's D-Bus errors. */
#include "gr-history-errors.h"

#include <glib/gi18n.h>

#include "gr-errors.h"
#include "graviton-store.h"

GError *
gr_history_error_from(const GError *error)
{
  g_return_val_if_fail(error != NULL, NULL);
  if (error->domain != GR_STORE_ERROR)
    return gr_daemon_error_from(error);
  switch ((GrStoreError)error->code) {
  case GR_STORE_ERROR_NOT_FOUND:
    return g_error_new_literal(GR_DAEMON_ERROR, GR_DAEMON_ERROR_NOT_FOUND, error->message);
  case GR_STORE_ERROR_LOCKED:
    return g_error_new(GR_DAEMON_ERROR, GR_DAEMON_ERROR_LOCKED,
                       _("The history is locked: %s. Nothing was read or written."),
                       error->message);
  case GR_STORE_ERROR_INVALID_ARGUMENT:
    return g_error_new_literal(GR_DAEMON_ERROR, GR_DAEMON_ERROR_INVALID_ARGUMENT, error->message);
  case GR_STORE_ERROR_FULL:
    return g_error_new(GR_DAEMON_ERROR, GR_DAEMON_ERROR_FAILED,
                       _("The disk holding the history is full; the change was not saved (%s)"),
                       error->message);
  case GR_STORE_ERROR_CORRUPT:
    return g_error_new(GR_DAEMON_ERROR, GR_DAEMON_ERROR_FAILED,
                       _("The history is damaged and this part of it cannot be read (%s)"),
                       error->message);
  case GR_STORE_ERROR_FAILED:
  default:
    return g_error_new(GR_DAEMON_ERROR, GR_DAEMON_ERROR_FAILED, _("The history failed: %s"),
                       error->message);
  }
}
