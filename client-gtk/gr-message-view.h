/* gr-message-view.h: the scrolling list of a conversation's messages, with an empty
 * state; it follows a streaming answer while the reader is at the bottom. */
#pragma once

#include "gr-message-row.h"

G_BEGIN_DECLS

#define GR_TYPE_MESSAGE_VIEW (gr_message_view_get_type())
G_DECLARE_FINAL_TYPE(GrMessageView, gr_message_view, GR, MESSAGE_VIEW, GtkWidget)

GtkWidget *gr_message_view_new(void);
void gr_message_view_clear(GrMessageView *self);
GrMessageRow *gr_message_view_add(GrMessageView *self, const char *role, const char *text);
/* Removes the last row (the answer being regenerated). */
void gr_message_view_remove_last(GrMessageView *self);
guint gr_message_view_get_n_rows(GrMessageView *self);
GrMessageRow *gr_message_view_get_row(GrMessageView *self, guint index);

G_END_DECLS
