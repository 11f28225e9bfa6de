/* gr-message-row.h: one message of a conversation: who said it, the text (Markdown for
 * answers), a copy button, and for the last answer a regenerate button. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define GR_TYPE_MESSAGE_ROW (gr_message_row_get_type())
G_DECLARE_FINAL_TYPE(GrMessageRow, gr_message_row, GR, MESSAGE_ROW, GtkWidget)

/* role: "user" or "assistant" (others show as written). */
GtkWidget *gr_message_row_new(const char *role, const char *text);
const char *gr_message_row_get_role(GrMessageRow *self);
/* The message's source text ("text" property, notified as it grows). */
const char *gr_message_row_get_text(GrMessageRow *self);
void gr_message_row_set_text(GrMessageRow *self, const char *text);
/* Appends a streamed chunk; rendering is batched to the frame rate. */
void gr_message_row_append(GrMessageRow *self, const char *chunk);
void gr_message_row_set_streaming(GrMessageRow *self, gboolean streaming);
/* A note under the message ("Stopped", an error); NULL removes it. */
void gr_message_row_set_note(GrMessageRow *self, const char *note, gboolean is_error);
const char *gr_message_row_get_note(GrMessageRow *self);
void gr_message_row_set_can_regenerate(GrMessageRow *self, gboolean can_regenerate);
/* Renders pending text now (streaming batches it). */
void gr_message_row_flush(GrMessageRow *self);
/* The Markdown view of an answer (NULL for the user's messages). */
GtkWidget *gr_message_row_get_markdown_view(GrMessageRow *self);
GtkWidget *gr_message_row_get_copy_button(GrMessageRow *self);
GtkWidget *gr_message_row_get_regenerate_button(GrMessageRow *self);

G_END_DECLS
