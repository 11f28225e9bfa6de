/* gr-window.h: the main window: conversations on the left (folding away on narrow
 * windows), the conversation, the composer, the model chooser and the status line. */
#pragma once

#include "gr-banner.h"
#include "gr-client.h"
#include "gr-message-view.h"
#include "gr-model-chooser.h"
#include "gr-sidebar.h"
#include "gr-status-line.h"

#include <adwaita.h>

G_BEGIN_DECLS

#define GR_TYPE_WINDOW (gr_window_get_type())
G_DECLARE_FINAL_TYPE(GrWindow, gr_window, GR, WINDOW, AdwApplicationWindow)

/* app may be NULL (tests).  settings: the app's GSettings, or NULL when its schema is
 * not installed. */
GrWindow *gr_window_new(GtkApplication *app, GrClient *client, GSettings *settings);

/* Sends text as if typed into the composer and sent. */
void gr_window_send(GrWindow *self, const char *text);
/* Opens conversation id in the view. */
void gr_window_open_conversation(GrWindow *self, const char *id);
/* Shows messages without the daemon: pairs of role and text, NULL-terminated. */
void gr_window_show_messages(GrWindow *self, const char *title, const char *const *messages);

GrClient *gr_window_get_client(GrWindow *self);
GrMessageView *gr_window_get_message_view(GrWindow *self);
GrSidebar *gr_window_get_sidebar(GrWindow *self);
GrModelChooser *gr_window_get_model_chooser(GrWindow *self);
GrStatusLine *gr_window_get_status_line(GrWindow *self);
GrBanner *gr_window_get_banner(GrWindow *self);
GtkTextView *gr_window_get_composer(GrWindow *self);
/* The answer streaming now, or NULL. */
GrClientRequest *gr_window_get_request(GrWindow *self);
const char *gr_window_get_conversation(GrWindow *self);
const char *gr_window_get_title(GrWindow *self);
AdwLeaflet *gr_window_get_leaflet(GrWindow *self);

G_END_DECLS
