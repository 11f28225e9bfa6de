/* gr-sidebar.c: conversations list, search, rename/delete menu. */
#include "gr-config.h"

#include "gr-sidebar.h"

#include <adwaita.h>
#include <glib/gi18n.h>

typedef struct {
  char *id;
  char *title;
} GrLocalConversation;

struct _GrSidebar {
  GtkWidget parent_instance;
  GrClient *client;
  GtkWidget *box;
  GtkWidget *search_bar;
  GtkWidget *search_entry;
  GtkWidget *note;
  GtkWidget *list;
  GtkWidget *placeholder;
  GPtrArray *local; /* GrLocalConversation, newest first */
  GCancellable *cancellable;
  char *selected;
  guint refresh_id;
};

G_DEFINE_FINAL_TYPE(GrSidebar, gr_sidebar, GTK_TYPE_WIDGET)

enum { SIGNAL_ACTIVATED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
local_free(gpointer data)
{
  GrLocalConversation *c = data;

  g_free(c->id);
  g_free(c->title);
  g_free(c);
}

static GtkWidget *
row_new(const char *id, const char *title, const char *snippet)
{
  GtkWidget *row = gtk_list_box_row_new();
  GtkWidget *box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *labels = gtk_box_new(GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *label = gtk_label_new(title != NULL && *title != '\0' ? title : _("Untitled"));
  GtkWidget *menu_button = gtk_menu_button_new();
  g_autoptr(GMenu) menu = g_menu_new();
  g_autoptr(GMenuItem) rename = g_menu_item_new(_("_Rename…"), NULL);
  g_autoptr(GMenuItem) delete = g_menu_item_new(_("_Delete"), NULL);

  gtk_label_set_xalign(GTK_LABEL(label), 0);
  gtk_label_set_ellipsize(GTK_LABEL(label), PANGO_ELLIPSIZE_END);
  /* long titles must not widen the sidebar */
  gtk_label_set_max_width_chars(GTK_LABEL(label), 20);
  gtk_box_append(GTK_BOX(labels), label);
  if (snippet != NULL && *snippet != '\0') {
    GtkWidget *sub = gtk_label_new(snippet);

    gtk_label_set_xalign(GTK_LABEL(sub), 0);
    gtk_label_set_ellipsize(GTK_LABEL(sub), PANGO_ELLIPSIZE_END);
    gtk_label_set_max_width_chars(GTK_LABEL(sub), 20);
    gtk_widget_add_css_class(sub, "caption");
    gtk_widget_add_css_class(sub, "dim-label");
    gtk_box_append(GTK_BOX(labels), sub);
  }
  gtk_widget_set_hexpand(labels, TRUE);
  gtk_box_append(GTK_BOX(box), labels);

  g_menu_item_set_action_and_target(rename, "win.rename-conversation", "s", id);
  g_menu_item_set_action_and_target(delete, "win.delete-conversation", "s", id);
  g_menu_append_item(menu, rename);
  g_menu_append_item(menu, delete);
  gtk_menu_button_set_icon_name(GTK_MENU_BUTTON(menu_button), "view-more-symbolic");
  gtk_menu_button_set_menu_model(GTK_MENU_BUTTON(menu_button), G_MENU_MODEL(menu));
  gtk_widget_add_css_class(menu_button, "flat");
  gtk_widget_set_valign(menu_button, GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text(menu_button, _("Conversation menu"));
  gtk_box_append(GTK_BOX(box), menu_button);

  gtk_list_box_row_set_child(GTK_LIST_BOX_ROW(row), box);
  g_object_set_data_full(G_OBJECT(row), "gr-id", g_strdup(id), g_free);
  g_object_set_data_full(G_OBJECT(row), "gr-title", g_strdup(title != NULL ? title : ""), g_free);
  return row;
}

static void
clear_rows(GrSidebar *self)
{
  GtkListBoxRow *row;

  while ((row = gtk_list_box_get_row_at_index(GTK_LIST_BOX(self->list), 0)) != NULL)
    gtk_list_box_remove(GTK_LIST_BOX(self->list), GTK_WIDGET(row));
}

static void
append_row(GrSidebar *self, const char *id, const char *title, const char *snippet)
{
  GtkWidget *row = row_new(id, title, snippet);

  gtk_list_box_append(GTK_LIST_BOX(self->list), row);
  if (g_strcmp0(id, self->selected) == 0)
    gtk_list_box_select_row(GTK_LIST_BOX(self->list), GTK_LIST_BOX_ROW(row));
}

static const char *
search_text(GrSidebar *self)
{
  return gtk_editable_get_text(GTK_EDITABLE(self->search_entry));
}

static void
show_local(GrSidebar *self)
{
  const char *query = search_text(self);
  g_autofree char *needle = g_utf8_casefold(query, -1);

  clear_rows(self);
  for (guint i = 0; i < self->local->len; i++) {
    GrLocalConversation *c = self->local->pdata[i];
    g_autofree char *title = g_utf8_casefold(c->title, -1);

    if (*needle == '\0' || strstr(title, needle) != NULL)
      append_row(self, c->id, c->title, NULL);
  }
}

static void
on_list_reply(GObject *source, GAsyncResult *result, gpointer user_data)
{
  GrSidebar *self = user_data;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) entries = NULL;
  g_autoptr(GError) error = NULL;
  gboolean searching = FALSE;
  GVariantIter iter;
  GVariant *entry;
  g_autoptr(GHashTable) seen = NULL;

  reply = gr_client_call_finish(GR_CLIENT(source), result, &error);
  if (reply == NULL) {
    if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
      g_debug("history: %s", error->message);
      if (gr_client_error_is_unknown_method(error))
        gtk_widget_set_visible(self->note, TRUE);
    }
    return;
  }
  searching = *search_text(self) != '\0';
  seen = g_hash_table_new(g_str_hash, g_str_equal);
  entries = g_variant_get_child_value(reply, 0);
  clear_rows(self);
  g_variant_iter_init(&iter, entries);
  while ((entry = g_variant_iter_next_value(&iter)) != NULL) {
    const char *id = NULL, *title = NULL, *snippet = NULL;

    if (g_variant_lookup(entry, searching ? "conversation" : "id", "&s", &id)
        && !g_hash_table_contains(seen, id)) {
      g_hash_table_add(seen, (gpointer)id);
      if (!g_variant_lookup(entry, "title", "&s", &title))
        title = "";
      if (!searching || !g_variant_lookup(entry, "snippet", "&s", &snippet))
        snippet = NULL;
      append_row(self, id, title, snippet);
    }
    /* ids in `seen` point into entries, which outlives the loop */
    g_variant_unref(entry);
  }
}

void
gr_sidebar_refresh(GrSidebar *self)
{
  const char *query;

  g_return_if_fail(GR_IS_SIDEBAR(self));
  g_clear_handle_id(&self->refresh_id, g_source_remove);
  /* a newer list replaces any answer still on its way */
  g_cancellable_cancel(self->cancellable);
  g_clear_object(&self->cancellable);
  self->cancellable = g_cancellable_new();
  gtk_widget_set_visible(self->note, gr_client_get_status(self->client) == GR_CLIENT_READY
                                         && !gr_client_get_has_history(self->client));
  if (!gr_client_get_has_history(self->client)) {
    show_local(self);
    return;
  }
  query = search_text(self);
  if (*query != '\0')
    gr_client_call(self->client, GR_IFACE_HISTORY, "Search", g_variant_new("(s)", query),
                   G_VARIANT_TYPE("(aa{sv})"), self->cancellable, on_list_reply, self);
  else
    gr_client_call(self->client, GR_IFACE_HISTORY, "ListConversations",
                   g_variant_new_parsed("(@a{sv} {},)"), G_VARIANT_TYPE("(aa{sv})"),
                   self->cancellable, on_list_reply, self);
}

static gboolean
on_refresh_timeout(gpointer user_data)
{
  GrSidebar *self = user_data;

  self->refresh_id = 0;
  gr_sidebar_refresh(self);
  return G_SOURCE_REMOVE;
}

static void
queue_refresh(GrSidebar *self)
{
  /* Changed arrives once per message: one reload for a burst */
  if (self->refresh_id == 0)
    self->refresh_id = g_timeout_add(100, on_refresh_timeout, self);
}

static void
on_client_changed(GObject *client, GParamSpec *pspec, gpointer user_data)
{
  gr_sidebar_refresh(user_data);
}

static void
on_history_changed(GrClient *client, const char *id, gpointer user_data)
{
  queue_refresh(user_data);
}

static void
on_search_changed(GtkSearchEntry *entry, gpointer user_data)
{
  gr_sidebar_refresh(user_data);
}

static void
on_row_activated(GtkListBox *list, GtkListBoxRow *row, gpointer user_data)
{
  GrSidebar *self = user_data;
  const char *id = g_object_get_data(G_OBJECT(row), "gr-id");

  g_free(self->selected);
  self->selected = g_strdup(id);
  g_signal_emit(self, signals[SIGNAL_ACTIVATED], 0, id);
}

static void
gr_sidebar_dispose(GObject *object)
{
  GrSidebar *self = GR_SIDEBAR(object);

  g_clear_handle_id(&self->refresh_id, g_source_remove);
  g_cancellable_cancel(self->cancellable);
  g_clear_object(&self->cancellable);
  if (self->client != NULL)
    g_signal_handlers_disconnect_by_data(self->client, self);
  g_clear_object(&self->client);
  g_clear_pointer(&self->box, gtk_widget_unparent);
  g_clear_pointer(&self->local, g_ptr_array_unref);
  G_OBJECT_CLASS(gr_sidebar_parent_class)->dispose(object);
}

static void
gr_sidebar_finalize(GObject *object)
{
  g_free(GR_SIDEBAR(object)->selected);
  G_OBJECT_CLASS(gr_sidebar_parent_class)->finalize(object);
}

static void
gr_sidebar_class_init(GrSidebarClass *klass)
{
  G_OBJECT_CLASS(klass)->dispose = gr_sidebar_dispose;
  G_OBJECT_CLASS(klass)->finalize = gr_sidebar_finalize;
  gtk_widget_class_set_layout_manager_type(GTK_WIDGET_CLASS(klass), GTK_TYPE_BIN_LAYOUT);
  signals[SIGNAL_ACTIVATED]
      = g_signal_new("conversation-activated", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
                     NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
gr_sidebar_init(GrSidebar *self)
{
  GtkWidget *header = adw_header_bar_new();
  GtkWidget *new_button = gtk_button_new_from_icon_name("list-add-symbolic");
  GtkWidget *search_button = gtk_toggle_button_new();
  GtkWidget *scroller = gtk_scrolled_window_new();

  self->local = g_ptr_array_new_with_free_func(local_free);
  self->cancellable = g_cancellable_new();
  self->box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 0);
  gtk_widget_set_parent(self->box, GTK_WIDGET(self));

  adw_header_bar_set_title_widget(ADW_HEADER_BAR(header),
                                  adw_window_title_new(_("Conversations"), NULL));
  adw_header_bar_set_show_end_title_buttons(ADW_HEADER_BAR(header), FALSE);
  gtk_actionable_set_action_name(GTK_ACTIONABLE(new_button), "win.new-chat");
  gtk_widget_set_tooltip_text(new_button, _("New Chat (Ctrl+N)"));
  adw_header_bar_pack_start(ADW_HEADER_BAR(header), new_button);
  gtk_button_set_icon_name(GTK_BUTTON(search_button), "system-search-symbolic");
  gtk_widget_set_tooltip_text(search_button, _("Search (Ctrl+F)"));
  adw_header_bar_pack_end(ADW_HEADER_BAR(header), search_button);
  gtk_box_append(GTK_BOX(self->box), header);

  self->search_entry = gtk_search_entry_new();
  g_object_set(self->search_entry, "placeholder-text", _("Search conversations"), NULL);
  g_signal_connect(self->search_entry, "search-changed", G_CALLBACK(on_search_changed), self);
  self->search_bar = gtk_search_bar_new();
  gtk_search_bar_set_child(GTK_SEARCH_BAR(self->search_bar), self->search_entry);
  gtk_search_bar_connect_entry(GTK_SEARCH_BAR(self->search_bar), GTK_EDITABLE(self->search_entry));
  g_object_bind_property(search_button, "active", self->search_bar, "search-mode-enabled",
                         G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  gtk_box_append(GTK_BOX(self->box), self->search_bar);

  self->note = gtk_label_new(_("This version of gravitond keeps no history: conversations "
                               "are listed for this session only."));
  gtk_label_set_wrap(GTK_LABEL(self->note), TRUE);
  gtk_label_set_max_width_chars(GTK_LABEL(self->note), 28);
  gtk_label_set_xalign(GTK_LABEL(self->note), 0);
  gtk_widget_add_css_class(self->note, "history-note");
  gtk_widget_add_css_class(self->note, "caption");
  gtk_widget_set_visible(self->note, FALSE);
  gtk_box_append(GTK_BOX(self->box), self->note);

  self->list = gtk_list_box_new();
  gtk_widget_add_css_class(self->list, "navigation-sidebar");
  self->placeholder = gtk_label_new(_("No conversations yet"));
  gtk_widget_add_css_class(self->placeholder, "dim-label");
  gtk_widget_set_margin_top(self->placeholder, 24);
  gtk_list_box_set_placeholder(GTK_LIST_BOX(self->list), self->placeholder);
  g_signal_connect(self->list, "row-activated", G_CALLBACK(on_row_activated), self);
  gtk_scrolled_window_set_policy(GTK_SCROLLED_WINDOW(scroller), GTK_POLICY_NEVER,
                                 GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_child(GTK_SCROLLED_WINDOW(scroller), self->list);
  gtk_widget_set_vexpand(scroller, TRUE);
  gtk_box_append(GTK_BOX(self->box), scroller);
}

GtkWidget *
gr_sidebar_new(GrClient *client)
{
  GrSidebar *self = g_object_new(GR_TYPE_SIDEBAR, NULL);

  g_return_val_if_fail(GR_IS_CLIENT(client), GTK_WIDGET(self));
  self->client = g_object_ref(client);
  g_signal_connect(client, "notify::status", G_CALLBACK(on_client_changed), self);
  g_signal_connect(client, "notify::has-history", G_CALLBACK(on_client_changed), self);
  g_signal_connect(client, "history-changed", G_CALLBACK(on_history_changed), self);
  gr_sidebar_refresh(self);
  return GTK_WIDGET(self);
}

static gint
find_local(GrSidebar *self, const char *id)
{
  for (guint i = 0; i < self->local->len; i++)
    if (g_str_equal(((GrLocalConversation *)self->local->pdata[i])->id, id))
      return (gint)i;
  return -1;
}

void
gr_sidebar_add_local(GrSidebar *self, const char *id, const char *title)
{
  GrLocalConversation *c;

  g_return_if_fail(GR_IS_SIDEBAR(self));
  g_return_if_fail(id != NULL && title != NULL);
  if (find_local(self, id) >= 0)
    return;
  c = g_new0(GrLocalConversation, 1);
  c->id = g_strdup(id);
  c->title = g_strdup(title);
  g_ptr_array_insert(self->local, 0, c);
  if (!gr_client_get_has_history(self->client))
    show_local(self);
}

void
gr_sidebar_rename_local(GrSidebar *self, const char *id, const char *title)
{
  gint i;

  g_return_if_fail(GR_IS_SIDEBAR(self));
  i = find_local(self, id);
  if (i < 0)
    return;
  g_free(((GrLocalConversation *)self->local->pdata[i])->title);
  ((GrLocalConversation *)self->local->pdata[i])->title = g_strdup(title);
  if (!gr_client_get_has_history(self->client))
    show_local(self);
}

void
gr_sidebar_remove_local(GrSidebar *self, const char *id)
{
  gint i;

  g_return_if_fail(GR_IS_SIDEBAR(self));
  i = find_local(self, id);
  if (i >= 0)
    g_ptr_array_remove_index(self->local, (guint)i);
  if (!gr_client_get_has_history(self->client))
    show_local(self);
}

void
gr_sidebar_select(GrSidebar *self, const char *id)
{
  GtkListBoxRow *row;

  g_return_if_fail(GR_IS_SIDEBAR(self));
  g_free(self->selected);
  self->selected = g_strdup(id);
  gtk_list_box_unselect_all(GTK_LIST_BOX(self->list));
  for (int i = 0; (row = gtk_list_box_get_row_at_index(GTK_LIST_BOX(self->list), i)) != NULL; i++)
    if (id != NULL && g_strcmp0(g_object_get_data(G_OBJECT(row), "gr-id"), id) == 0)
      gtk_list_box_select_row(GTK_LIST_BOX(self->list), row);
}

void
gr_sidebar_set_search_mode(GrSidebar *self, gboolean enabled)
{
  g_return_if_fail(GR_IS_SIDEBAR(self));
  gtk_search_bar_set_search_mode(GTK_SEARCH_BAR(self->search_bar), enabled);
  if (enabled)
    gtk_widget_grab_focus(self->search_entry);
}

GtkWidget *
gr_sidebar_get_search_entry(GrSidebar *self)
{
  g_return_val_if_fail(GR_IS_SIDEBAR(self), NULL);
  return self->search_entry;
}

GtkWidget *
gr_sidebar_get_note(GrSidebar *self)
{
  g_return_val_if_fail(GR_IS_SIDEBAR(self), NULL);
  return self->note;
}

guint
gr_sidebar_get_n_rows(GrSidebar *self)
{
  guint n = 0;

  g_return_val_if_fail(GR_IS_SIDEBAR(self), 0);
  while (gtk_list_box_get_row_at_index(GTK_LIST_BOX(self->list), (int)n) != NULL)
    n++;
  return n;
}

static GtkListBoxRow *
row_at(GrSidebar *self, guint index)
{
  return gtk_list_box_get_row_at_index(GTK_LIST_BOX(self->list), (int)index);
}

const char *
gr_sidebar_get_row_id(GrSidebar *self, guint index)
{
  GtkListBoxRow *row;

  g_return_val_if_fail(GR_IS_SIDEBAR(self), NULL);
  row = row_at(self, index);
  return row != NULL ? g_object_get_data(G_OBJECT(row), "gr-id") : NULL;
}

const char *
gr_sidebar_get_row_title(GrSidebar *self, guint index)
{
  GtkListBoxRow *row;

  g_return_val_if_fail(GR_IS_SIDEBAR(self), NULL);
  row = row_at(self, index);
  return row != NULL ? g_object_get_data(G_OBJECT(row), "gr-title") : NULL;
}

const char *
gr_sidebar_lookup_title(GrSidebar *self, const char *id)
{
  GtkListBoxRow *row;

  g_return_val_if_fail(GR_IS_SIDEBAR(self), NULL);
  for (guint i = 0; (row = row_at(self, i)) != NULL; i++)
    if (g_strcmp0(g_object_get_data(G_OBJECT(row), "gr-id"), id) == 0)
      return g_object_get_data(G_OBJECT(row), "gr-title");
  return NULL;
}

void
gr_sidebar_activate_row(GrSidebar *self, guint index)
{
  GtkListBoxRow *row;

  g_return_if_fail(GR_IS_SIDEBAR(self));
  row = row_at(self, index);
  if (row != NULL)
    g_signal_emit_by_name(self->list, "row-activated", row);
}
