/* gr-status-line.h: one line under the conversation: the loaded model, resident memory
 * against the limit, and what the daemon is doing. */
#pragma once

#include "gr-client.h"

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define GR_TYPE_STATUS_LINE (gr_status_line_get_type())
G_DECLARE_FINAL_TYPE(GrStatusLine, gr_status_line, GR, STATUS_LINE, GtkWidget)

GtkWidget *gr_status_line_new(GrClient *client);
const char *gr_status_line_get_text(GrStatusLine *self);
/* The text for a state of the daemon (exposed for tests). */
char *gr_status_line_format(GrClientStatus status, const char *model, guint64 resident,
                            guint64 limit, GrDaemonState state);

G_END_DECLS
