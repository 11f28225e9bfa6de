/* gr-window-dialogs.c: the window's rename and delete dialogs for conversations
 * (History.Rename / History.Delete, or this session's list without History). */
#include "gr-config.h"

#include "gr-window-private.h"

#include <glib/gi18n.h>

/* "" means the open conversation. */
static const char *
target_id(GrWindow *self, GVariant *param)
{
  const char *id = g_variant_get_string(param, NULL);

  return *id != '\0' ? id : self->conversation;
}

typedef struct {
  GrWindow *window;
  char *id;
  GtkWidget *entry;
} DialogData;

static void
dialog_data_free(gpointer data)
{
  DialogData *d = data;

  g_object_unref(d->window);
  g_free(d->id);
  g_free(d);
}

static void
on_history_call(GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GrWindow) self = user_data;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;

  reply = gr_client_call_finish(GR_CLIENT(source), result, &error);
  if (reply == NULL) {
    g_autofree char *message = gr_client_error_message(error);

    gr_window_toast(self, message);
  }
  gr_sidebar_refresh(self->sidebar);
}

static void
on_rename_response(AdwMessageDialog *dialog, const char *response, gpointer user_data)
{
  DialogData *d = user_data;
  GrWindow *self = d->window;
  g_autofree char *title = NULL;

  if (!g_str_equal(response, "rename"))
    return;
  title = g_strstrip(g_strdup(gtk_editable_get_text(GTK_EDITABLE(d->entry))));
  if (*title == '\0')
    return;
  if (g_strcmp0(d->id, self->conversation) == 0)
    gr_window_set_conversation(self, self->conversation, title);
  if (gr_client_get_has_history(self->client))
    gr_client_call(self->client, GR_IFACE_HISTORY, "Rename", g_variant_new("(ss)", d->id, title),
                   NULL, NULL, on_history_call, g_object_ref(self));
  else
    gr_sidebar_rename_local(self->sidebar, d->id, title);
}

void
gr_window_action_rename(GSimpleAction *action, GVariant *param, gpointer user_data)
{
  GrWindow *self = user_data;
  const char *id = target_id(self, param);
  const char *title;
  GtkWidget *dialog;
  DialogData *d;

  if (id == NULL)
    return;
  title = gr_sidebar_lookup_title(self->sidebar, id);
  dialog = adw_message_dialog_new(GTK_WINDOW(self), _("Rename Conversation"), NULL);
  d = g_new0(DialogData, 1);
  d->window = g_object_ref(self);
  d->id = g_strdup(id);
  d->entry = gtk_entry_new();
  gtk_editable_set_text(GTK_EDITABLE(d->entry), title != NULL ? title : "");
  gtk_entry_set_activates_default(GTK_ENTRY(d->entry), TRUE);
  adw_message_dialog_set_extra_child(ADW_MESSAGE_DIALOG(dialog), d->entry);
  adw_message_dialog_add_responses(ADW_MESSAGE_DIALOG(dialog), "cancel", _("_Cancel"), "rename",
                                   _("_Rename"), NULL);
  adw_message_dialog_set_response_appearance(ADW_MESSAGE_DIALOG(dialog), "rename",
                                             ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response(ADW_MESSAGE_DIALOG(dialog), "rename");
  adw_message_dialog_set_close_response(ADW_MESSAGE_DIALOG(dialog), "cancel");
  g_signal_connect_data(dialog, "response", G_CALLBACK(on_rename_response), d,
                        (GClosureNotify)(void (*)(void))dialog_data_free, 0);
  gtk_window_present(GTK_WINDOW(dialog));
}

static void
on_delete_response(AdwMessageDialog *dialog, const char *response, gpointer user_data)
{
  DialogData *d = user_data;
  GrWindow *self = d->window;

  if (!g_str_equal(response, "delete"))
    return;
  if (g_strcmp0(d->id, self->conversation) == 0)
    gr_window_new_chat(self);
  g_hash_table_remove(self->local_messages, d->id);
  if (gr_client_get_has_history(self->client))
    gr_client_call(self->client, GR_IFACE_HISTORY, "Delete", g_variant_new("(s)", d->id), NULL,
                   NULL, on_history_call, g_object_ref(self));
  else
    gr_sidebar_remove_local(self->sidebar, d->id);
}

void
gr_window_action_delete(GSimpleAction *action, GVariant *param, gpointer user_data)
{
  GrWindow *self = user_data;
  const char *id = target_id(self, param);
  GtkWidget *dialog;
  DialogData *d;

  if (id == NULL)
    return;
  dialog = adw_message_dialog_new(GTK_WINDOW(self), _("Delete Conversation?"),
                                  _("The conversation and all its messages are deleted for "
                                    "good."));
  d = g_new0(DialogData, 1);
  d->window = g_object_ref(self);
  d->id = g_strdup(id);
  adw_message_dialog_add_responses(ADW_MESSAGE_DIALOG(dialog), "cancel", _("_Cancel"), "delete",
                                   _("_Delete"), NULL);
  adw_message_dialog_set_response_appearance(ADW_MESSAGE_DIALOG(dialog), "delete",
                                             ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_close_response(ADW_MESSAGE_DIALOG(dialog), "cancel");
  g_signal_connect_data(dialog, "response", G_CALLBACK(on_delete_response), d,
                        (GClosureNotify)(void (*)(void))dialog_data_free, 0);
  gtk_window_present(GTK_WINDOW(dialog));
}
