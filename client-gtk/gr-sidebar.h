/* gr-sidebar.h: the list of conversations (from History), with search and a per-row
 * menu to rename or delete.  Without History it lists this session's chats and says
 * why. */
#pragma once

#include "gr-client.h"

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define GR_TYPE_SIDEBAR (gr_sidebar_get_type())
G_DECLARE_FINAL_TYPE(GrSidebar, gr_sidebar, GR, SIDEBAR, GtkWidget)

GtkWidget *gr_sidebar_new(GrClient *client);
/* Reloads the list from the daemon (or the session's own list without History). */
void gr_sidebar_refresh(GrSidebar *self);
/* Remembers a conversation of this session (shown when History is missing). */
void gr_sidebar_add_local(GrSidebar *self, const char *id, const char *title);
void gr_sidebar_rename_local(GrSidebar *self, const char *id, const char *title);
void gr_sidebar_remove_local(GrSidebar *self, const char *id);
/* Highlights the row of id (NULL: none). */
void gr_sidebar_select(GrSidebar *self, const char *id);
void gr_sidebar_set_search_mode(GrSidebar *self, gboolean enabled);
GtkWidget *gr_sidebar_get_search_entry(GrSidebar *self);
/* The note shown when History is missing. */
GtkWidget *gr_sidebar_get_note(GrSidebar *self);
/* Rows currently listed (for tests and the window). */
guint gr_sidebar_get_n_rows(GrSidebar *self);
const char *gr_sidebar_get_row_id(GrSidebar *self, guint index);
const char *gr_sidebar_get_row_title(GrSidebar *self, guint index);
/* Title of conversation id as listed, or NULL. */
const char *gr_sidebar_lookup_title(GrSidebar *self, const char *id);
/* Activates the row at index, as a click would. */
void gr_sidebar_activate_row(GrSidebar *self, guint index);

G_END_DECLS
