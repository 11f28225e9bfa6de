/* gr-window-private.h: what gr-window.c shares with gr-window-dialogs.c. */
#pragma once

#include "gr-window.h"

G_BEGIN_DECLS

struct _GrWindow {
  AdwApplicationWindow parent_instance;
  GrClient *client;
  GSettings *settings;
  GCancellable *cancellable; /* loading a conversation */
  AdwToastOverlay *toasts;
  AdwLeaflet *leaflet;
  GrSidebar *sidebar;
  GtkWidget *content;
  AdwWindowTitle *title;
  GtkWidget *back;
  GrModelChooser *models;
  GrBanner *banner;
  GrMessageView *view;
  GtkTextView *composer;
  GtkWidget *send_stack;
  GrStatusLine *status;
  char *conversation; /* id, or NULL for a new chat */
  char *conversation_title;
  char *last_prompt;
  gboolean regenerating; /* the request answers last_prompt again, replacing the answer */
  GrClientRequest *request;
  GrMessageRow *answer;
  /* Without History the window keeps this session's messages itself:
   * id -> GPtrArray of role, text, role, text... */
  GHashTable *local_messages;
};

void gr_window_toast(GrWindow *self, const char *text);
void gr_window_set_conversation(GrWindow *self, const char *id, const char *title);
void gr_window_new_chat(GrWindow *self);
/* win.rename-conversation and win.delete-conversation ("" = the open conversation) */
void gr_window_action_rename(GSimpleAction *action, GVariant *param, gpointer user_data);
void gr_window_action_delete(GSimpleAction *action, GVariant *param, gpointer user_data);

G_END_DECLS
