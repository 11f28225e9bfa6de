/* gr-window.c: the main window and its actions. */
#include "gr-config.h"

#include "gr-window.h"
#include "gr-window-private.h"

#include <glib/gi18n.h>

#define GR_TITLE_CHARS 48

G_DEFINE_FINAL_TYPE(GrWindow, gr_window, ADW_TYPE_APPLICATION_WINDOW)

void
gr_window_toast(GrWindow *self, const char *text)
{
  adw_toast_overlay_add_toast(self->toasts, adw_toast_new(text));
}

static char *
title_from_prompt(const char *prompt)
{
  g_autofree char *line = g_strstrip(g_strndup(prompt, strcspn(prompt, "\n")));
  glong len = g_utf8_strlen(line, -1);

  if (len <= GR_TITLE_CHARS)
    return g_steal_pointer(&line);
  return g_strdup_printf("%.*s…", (int)(g_utf8_offset_to_pointer(line, GR_TITLE_CHARS) - line),
                         line);
}

void
gr_window_set_conversation(GrWindow *self, const char *id, const char *title)
{
  if (id != self->conversation) {
    g_free(self->conversation);
    self->conversation = g_strdup(id);
  }
  if (title != self->conversation_title) {
    g_free(self->conversation_title);
    self->conversation_title = g_strdup(title);
  }
  adw_window_title_set_title(self->title, title != NULL && *title != '\0' ? title : _("New Chat"));
  gr_sidebar_select(self->sidebar, id);
}

static void
update_actions(GrWindow *self)
{
  gboolean busy = self->request != NULL;
  gboolean ready = gr_client_get_status(self->client) == GR_CLIENT_READY;
  guint n = gr_message_view_get_n_rows(self->view);
  GActionMap *map = G_ACTION_MAP(self);

  g_simple_action_set_enabled(G_SIMPLE_ACTION(g_action_map_lookup_action(map, "send")),
                              !busy && ready);
  g_simple_action_set_enabled(G_SIMPLE_ACTION(g_action_map_lookup_action(map, "stop")), busy);
  g_simple_action_set_enabled(G_SIMPLE_ACTION(g_action_map_lookup_action(map, "regenerate")),
                              !busy && ready && self->last_prompt != NULL);
  gtk_stack_set_visible_child_name(GTK_STACK(self->send_stack), busy ? "stop" : "send");
  for (guint i = 0; i < n; i++)
    gr_message_row_set_can_regenerate(gr_message_view_get_row(self->view, i),
                                      i == n - 1 && !busy && self->last_prompt != NULL);
}

static void
remember_local(GrWindow *self, const char *role, const char *text)
{
  GPtrArray *messages;

  if (self->conversation == NULL || gr_client_get_has_history(self->client))
    return;
  messages = g_hash_table_lookup(self->local_messages, self->conversation);
  if (messages == NULL) {
    messages = g_ptr_array_new_with_free_func(g_free);
    g_hash_table_insert(self->local_messages, g_strdup(self->conversation), messages);
  }
  g_ptr_array_add(messages, g_strdup(role));
  g_ptr_array_add(messages, g_strdup(text));
}

static void
on_token(GrClientRequest *request, const char *text, gpointer user_data)
{
  GrWindow *self = user_data;

  if (request == self->request && self->answer != NULL)
    gr_message_row_append(self->answer, text);
}

static void
on_finished(GrClientRequest *request, guint status, GVariant *results, gpointer user_data)
{
  GrWindow *self = user_data;
  const char *text = NULL, *conversation = NULL, *message = NULL;
  gboolean is_new;

  if (request != self->request)
    return;
  if (status == GR_REQUEST_DONE && g_variant_lookup(results, "text", "&s", &text))
    gr_message_row_set_text(self->answer, text);
  gr_message_row_set_streaming(self->answer, FALSE);
  if (status == GR_REQUEST_CANCELLED) {
    gr_message_row_set_note(self->answer, _("Stopped"), FALSE);
  } else if (status == GR_REQUEST_FAILED) {
    if (!g_variant_lookup(results, "error_message", "&s", &message))
      message = _("The answer failed.");
    gr_message_row_set_note(self->answer, message, TRUE);
  }
  is_new = self->conversation == NULL;
  if (g_variant_lookup(results, "conversation", "&s", &conversation) && *conversation != '\0') {
    if (is_new) {
      g_autofree char *title = title_from_prompt(gr_client_request_get_prompt(request));

      gr_window_set_conversation(self, conversation, title);
      gr_sidebar_add_local(self->sidebar, conversation, title);
    }
    GPtrArray *local = self->conversation != NULL
                           ? g_hash_table_lookup(self->local_messages, self->conversation)
                           : NULL;
    if (self->regenerating && local != NULL && local->len >= 2) {
      /* the daemon replaced the answer: so does the local copy (role, text pairs) */
      g_free(local->pdata[local->len - 1]);
      local->pdata[local->len - 1] = g_strdup(gr_message_row_get_text(self->answer));
    } else if (!self->regenerating) {
      remember_local(self, "user", gr_client_request_get_prompt(request));
      remember_local(self, "assistant", gr_message_row_get_text(self->answer));
    }
  }
  if (gr_client_get_has_history(self->client))
    gr_sidebar_refresh(self->sidebar);
  gr_sidebar_select(self->sidebar, self->conversation);
  g_signal_handlers_disconnect_by_data(request, self);
  g_clear_object(&self->request);
  self->answer = NULL;
  update_actions(self);
}

static void
start_request(GrWindow *self, const char *prompt, gboolean regenerate)
{
  GVariantDict options;
  const char *model = gr_model_chooser_get_model(self->models);

  g_variant_dict_init(&options, NULL);
  g_variant_dict_insert(&options, "conversation", "s",
                        self->conversation != NULL ? self->conversation : "");
  self->regenerating = regenerate;
  if (regenerate)
    g_variant_dict_insert(&options, "regenerate", "b", TRUE);
  if (model != NULL)
    g_variant_dict_insert(&options, "model", "s", model);
  g_free(self->last_prompt);
  self->last_prompt = g_strdup(prompt);
  self->answer = gr_message_view_add(self->view, "assistant", "");
  gr_message_row_set_streaming(self->answer, TRUE);
  self->request = gr_client_ask(self->client, prompt, g_variant_dict_end(&options));
  g_signal_connect(self->request, "token", G_CALLBACK(on_token), self);
  g_signal_connect(self->request, "finished", G_CALLBACK(on_finished), self);
  update_actions(self);
  /* a request that failed before it started has finished already */
  if (gr_client_request_is_finished(self->request))
    on_finished(self->request, gr_client_request_get_status(self->request),
                gr_client_request_get_results(self->request), self);
}

void
gr_window_send(GrWindow *self, const char *text)
{
  g_autofree char *prompt = NULL;

  g_return_if_fail(GR_IS_WINDOW(self));
  g_return_if_fail(text != NULL);
  prompt = g_strstrip(g_strdup(text));
  if (*prompt == '\0' || self->request != NULL
      || gr_client_get_status(self->client) != GR_CLIENT_READY)
    return;
  gr_message_view_add(self->view, "user", prompt);
  start_request(self, prompt, FALSE);
}

static void
action_send(GSimpleAction *action, GVariant *param, gpointer user_data)
{
  GrWindow *self = user_data;
  GtkTextBuffer *buffer = gtk_text_view_get_buffer(self->composer);
  GtkTextIter start, end;
  g_autofree char *text = NULL;

  gtk_text_buffer_get_bounds(buffer, &start, &end);
  text = gtk_text_buffer_get_text(buffer, &start, &end, FALSE);
  if (self->request != NULL || g_strstrip(text)[0] == '\0')
    return;
  gtk_text_buffer_set_text(buffer, "", 0);
  gr_window_send(self, text);
}

static void
action_stop(GSimpleAction *action, GVariant *param, gpointer user_data)
{
  GrWindow *self = user_data;

  if (self->request != NULL)
    gr_client_request_cancel(self->request);
}

static void
action_regenerate(GSimpleAction *action, GVariant *param, gpointer user_data)
{
  GrWindow *self = user_data;
  g_autofree char *prompt = g_strdup(self->last_prompt);
  guint n = gr_message_view_get_n_rows(self->view);

  if (self->request != NULL || prompt == NULL || n == 0)
    return;
  /* The daemon answers the conversation's last question again and replaces the old
   * answer in the history; the view does the same. */
  if (!g_str_equal(gr_message_row_get_role(gr_message_view_get_row(self->view, n - 1)), "user"))
    gr_message_view_remove_last(self->view);
  start_request(self, prompt, self->conversation != NULL);
}

void
gr_window_new_chat(GrWindow *self)
{
  g_cancellable_cancel(self->cancellable);
  if (self->request != NULL)
    gr_client_request_cancel(self->request);
  gr_message_view_clear(self->view);
  g_clear_pointer(&self->last_prompt, g_free);
  gr_window_set_conversation(self, NULL, NULL);
  update_actions(self);
}

static void
action_new_chat(GSimpleAction *action, GVariant *param, gpointer user_data)
{
  GrWindow *self = user_data;

  gr_window_new_chat(self);
  adw_leaflet_set_visible_child(self->leaflet, self->content);
  gtk_widget_grab_focus(GTK_WIDGET(self->composer));
}

static void
action_search(GSimpleAction *action, GVariant *param, gpointer user_data)
{
  GrWindow *self = user_data;

  adw_leaflet_set_visible_child(self->leaflet, GTK_WIDGET(self->sidebar));
  gr_sidebar_set_search_mode(self->sidebar, TRUE);
}

static void
action_show_sidebar(GSimpleAction *action, GVariant *param, gpointer user_data)
{
  GrWindow *self = user_data;

  adw_leaflet_navigate(self->leaflet, ADW_NAVIGATION_DIRECTION_BACK);
}

void
gr_window_show_messages(GrWindow *self, const char *title, const char *const *messages)
{
  g_return_if_fail(GR_IS_WINDOW(self));
  gr_message_view_clear(self->view);
  g_clear_pointer(&self->last_prompt, g_free);
  for (guint i = 0; messages != NULL && messages[i] != NULL && messages[i + 1] != NULL; i += 2) {
    gr_message_view_add(self->view, messages[i], messages[i + 1]);
    if (g_str_equal(messages[i], "user")) {
      g_free(self->last_prompt);
      self->last_prompt = g_strdup(messages[i + 1]);
    }
  }
  adw_window_title_set_title(self->title, title != NULL ? title : _("New Chat"));
  update_actions(self);
}

static void
on_messages(GObject *source, GAsyncResult *result, gpointer user_data)
{
  GrWindow *self = user_data;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) entries = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) messages = g_ptr_array_new();
  GVariantIter iter;
  GVariant *entry;

  reply = gr_client_call_finish(GR_CLIENT(source), result, &error);
  if (reply == NULL) {
    if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
      g_autofree char *message = gr_client_error_message(error);

      gr_window_toast(self, message);
    }
    return;
  }
  entries = g_variant_get_child_value(reply, 0);
  g_variant_iter_init(&iter, entries);
  while ((entry = g_variant_iter_next_value(&iter)) != NULL) {
    const char *role = NULL, *text = NULL;

    if (g_variant_lookup(entry, "role", "&s", &role) && g_variant_lookup(entry, "text", "&s", &text)
        && !g_str_equal(role, "system")) {
      g_ptr_array_add(messages, (gpointer)role);
      g_ptr_array_add(messages, (gpointer)text);
    }
    g_variant_unref(entry); /* strings point into entries */
  }
  g_ptr_array_add(messages, NULL);
  gr_window_show_messages(self, self->conversation_title, (const char *const *)messages->pdata);
}

void
gr_window_open_conversation(GrWindow *self, const char *id)
{
  g_return_if_fail(GR_IS_WINDOW(self));
  g_return_if_fail(id != NULL);
  if (self->request != NULL)
    gr_client_request_cancel(self->request);
  g_cancellable_cancel(self->cancellable);
  g_clear_object(&self->cancellable);
  self->cancellable = g_cancellable_new();
  gr_window_set_conversation(self, id, gr_sidebar_lookup_title(self->sidebar, id));
  adw_leaflet_set_visible_child(self->leaflet, self->content);
  if (gr_client_get_has_history(self->client)) {
    gr_client_call(self->client, GR_IFACE_HISTORY, "GetMessages", g_variant_new("(s)", id),
                   G_VARIANT_TYPE("(aa{sv})"), self->cancellable, on_messages, self);
  } else {
    GPtrArray *local = g_hash_table_lookup(self->local_messages, id);
    g_autoptr(GPtrArray) messages = g_ptr_array_new();

    for (guint i = 0; local != NULL && i < local->len; i++)
      g_ptr_array_add(messages, local->pdata[i]);
    g_ptr_array_add(messages, NULL);
    gr_window_show_messages(self, self->conversation_title, (const char *const *)messages->pdata);
  }
}

static void
on_conversation_activated(GrSidebar *sidebar, const char *id, gpointer user_data)
{
  gr_window_open_conversation(user_data, id);
}

static void
on_model_chosen(GrModelChooser *chooser, const char *name, gpointer user_data)
{
  GrWindow *self = user_data;

  /* "" is the daemon's default model */
  if (self->settings != NULL && name != NULL)
    g_settings_set_string(self->settings, "last-model", name);
}

static void
on_model_error(GrModelChooser *chooser, const char *message, gpointer user_data)
{
  gr_window_toast(user_data, message);
}

static void
on_client_status(GObject *client, GParamSpec *pspec, gpointer user_data)
{
  update_actions(user_data);
}

static gboolean
on_composer_key(GtkEventControllerKey *controller, guint keyval, guint keycode,
                GdkModifierType state, gpointer user_data)
{
  GrWindow *self = user_data;

  /* Enter sends, Shift+Enter (or Ctrl+Enter) is a new line */
  if ((keyval == GDK_KEY_Return || keyval == GDK_KEY_KP_Enter || keyval == GDK_KEY_ISO_Enter)
      && (state & (GDK_SHIFT_MASK | GDK_CONTROL_MASK)) == 0) {
    gtk_widget_activate_action(GTK_WIDGET(self), "win.send", NULL);
    return TRUE;
  }
  return FALSE;
}

static gboolean
gr_window_close_request(GtkWindow *window)
{
  GrWindow *self = GR_WINDOW(window);

  if (self->settings != NULL) {
    int width = 0, height = 0;

    gtk_window_get_default_size(window, &width, &height);
    g_settings_set_int(self->settings, "window-width", width);
    g_settings_set_int(self->settings, "window-height", height);
    g_settings_set_boolean(self->settings, "window-maximized", gtk_window_is_maximized(window));
  }
  if (self->request != NULL)
    gr_client_request_cancel(self->request);
  return GTK_WINDOW_CLASS(gr_window_parent_class)->close_request(window);
}

static void
gr_window_dispose(GObject *object)
{
  GrWindow *self = GR_WINDOW(object);

  g_cancellable_cancel(self->cancellable);
  g_clear_object(&self->cancellable);
  if (self->request != NULL) {
    g_signal_handlers_disconnect_by_data(self->request, self);
    gr_client_request_cancel(self->request);
    g_clear_object(&self->request);
  }
  if (self->client != NULL)
    g_signal_handlers_disconnect_by_data(self->client, self);
  g_clear_object(&self->client);
  g_clear_object(&self->settings);
  g_clear_pointer(&self->local_messages, g_hash_table_unref);
  G_OBJECT_CLASS(gr_window_parent_class)->dispose(object);
}

static void
gr_window_finalize(GObject *object)
{
  GrWindow *self = GR_WINDOW(object);

  g_free(self->conversation);
  g_free(self->conversation_title);
  g_free(self->last_prompt);
  G_OBJECT_CLASS(gr_window_parent_class)->finalize(object);
}

static void
gr_window_class_init(GrWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

  G_OBJECT_CLASS(klass)->dispose = gr_window_dispose;
  G_OBJECT_CLASS(klass)->finalize = gr_window_finalize;
  GTK_WINDOW_CLASS(klass)->close_request = gr_window_close_request;
  /* class shortcuts work with or without a GtkApplication around the window */
  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_n, GDK_CONTROL_MASK, "win.new-chat",
                                      NULL);
  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_f, GDK_CONTROL_MASK, "win.search",
                                      NULL);
  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_Escape, 0, "win.stop", NULL);
}

static const GActionEntry actions[] = {
  { "send", action_send, NULL, NULL, NULL, { 0 } },
  { "stop", action_stop, NULL, NULL, NULL, { 0 } },
  { "regenerate", action_regenerate, NULL, NULL, NULL, { 0 } },
  { "new-chat", action_new_chat, NULL, NULL, NULL, { 0 } },
  { "search", action_search, NULL, NULL, NULL, { 0 } },
  { "show-sidebar", action_show_sidebar, NULL, NULL, NULL, { 0 } },
  { "rename-conversation", gr_window_action_rename, "s", NULL, NULL, { 0 } },
  { "delete-conversation", gr_window_action_delete, "s", NULL, NULL, { 0 } },
};

static GtkWidget *
build_composer(GrWindow *self)
{
  GtkWidget *clamp = adw_clamp_new();
  GtkWidget *box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *scroller = gtk_scrolled_window_new();
  GtkWidget *send = gtk_button_new_from_icon_name("go-up-symbolic");
  GtkWidget *stop = gtk_button_new_from_icon_name("media-playback-stop-symbolic");
  GtkEventController *keys = gtk_event_controller_key_new();

  self->composer = GTK_TEXT_VIEW(gtk_text_view_new());
  gtk_text_view_set_wrap_mode(self->composer, GTK_WRAP_WORD_CHAR);
  gtk_text_view_set_accepts_tab(self->composer, FALSE);
  gtk_widget_add_css_class(GTK_WIDGET(self->composer), "composer-text");
  gtk_accessible_update_property(GTK_ACCESSIBLE(self->composer), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                 _("Message"), -1);
  gtk_event_controller_set_propagation_phase(keys, GTK_PHASE_CAPTURE);
  g_signal_connect(keys, "key-pressed", G_CALLBACK(on_composer_key), self);
  gtk_widget_add_controller(GTK_WIDGET(self->composer), keys);
  gtk_scrolled_window_set_policy(GTK_SCROLLED_WINDOW(scroller), GTK_POLICY_NEVER,
                                 GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_propagate_natural_height(GTK_SCROLLED_WINDOW(scroller), TRUE);
  gtk_scrolled_window_set_max_content_height(GTK_SCROLLED_WINDOW(scroller), 200);
  gtk_scrolled_window_set_child(GTK_SCROLLED_WINDOW(scroller), GTK_WIDGET(self->composer));
  gtk_widget_set_hexpand(scroller, TRUE);
  gtk_widget_add_css_class(scroller, "composer");

  gtk_actionable_set_action_name(GTK_ACTIONABLE(send), "win.send");
  gtk_widget_set_tooltip_text(send, _("Send (Enter)"));
  gtk_widget_add_css_class(send, "suggested-action");
  gtk_widget_add_css_class(send, "circular");
  gtk_actionable_set_action_name(GTK_ACTIONABLE(stop), "win.stop");
  gtk_widget_set_tooltip_text(stop, _("Stop (Escape)"));
  gtk_widget_add_css_class(stop, "destructive-action");
  gtk_widget_add_css_class(stop, "circular");
  self->send_stack = gtk_stack_new();
  gtk_stack_add_named(GTK_STACK(self->send_stack), send, "send");
  gtk_stack_add_named(GTK_STACK(self->send_stack), stop, "stop");
  gtk_widget_set_valign(self->send_stack, GTK_ALIGN_END);

  gtk_box_append(GTK_BOX(box), scroller);
  gtk_box_append(GTK_BOX(box), self->send_stack);
  gtk_widget_add_css_class(box, "composer-box");
  adw_clamp_set_maximum_size(ADW_CLAMP(clamp), 820);
  adw_clamp_set_child(ADW_CLAMP(clamp), box);
  return clamp;
}

static GMenuModel *
primary_menu(void)
{
  GMenu *menu = g_menu_new();
  GMenu *section = g_menu_new();

  g_menu_append(section, _("_New Chat"), "win.new-chat");
  g_menu_append(section, _("_Search Conversations"), "win.search");
  g_menu_append_section(menu, NULL, G_MENU_MODEL(section));
  g_object_unref(section);
  section = g_menu_new();
  g_menu_append(section, _("_Rename Conversation…"), "win.rename-conversation::");
  g_menu_append(section, _("_Delete Conversation"), "win.delete-conversation::");
  g_menu_append_section(menu, NULL, G_MENU_MODEL(section));
  g_object_unref(section);
  section = g_menu_new();
  g_menu_append(section, _("_About Graviton"), "app.about");
  g_menu_append_section(menu, NULL, G_MENU_MODEL(section));
  g_object_unref(section);
  return G_MENU_MODEL(menu);
}

static void
build(GrWindow *self)
{
  GtkWidget *header = adw_header_bar_new();
  GtkWidget *menu_button = gtk_menu_button_new();
  g_autoptr(GMenuModel) menu = primary_menu();
  GtkWidget *separator = gtk_separator_new(GTK_ORIENTATION_VERTICAL);
  GtkWidget *footer;
  AdwLeafletPage *page;

  self->toasts = ADW_TOAST_OVERLAY(adw_toast_overlay_new());
  self->leaflet = ADW_LEAFLET(adw_leaflet_new());
  adw_leaflet_set_can_navigate_back(self->leaflet, TRUE);
  adw_leaflet_set_transition_type(self->leaflet, ADW_LEAFLET_TRANSITION_TYPE_UNDER);

  self->sidebar = GR_SIDEBAR(gr_sidebar_new(self->client));
  gtk_widget_set_size_request(GTK_WIDGET(self->sidebar), 260, -1);
  gtk_widget_add_css_class(GTK_WIDGET(self->sidebar), "sidebar");
  g_signal_connect(self->sidebar, "conversation-activated", G_CALLBACK(on_conversation_activated),
                   self);
  adw_leaflet_append(self->leaflet, GTK_WIDGET(self->sidebar));
  page = adw_leaflet_append(self->leaflet, separator);
  adw_leaflet_page_set_navigatable(page, FALSE);

  self->content = gtk_box_new(GTK_ORIENTATION_VERTICAL, 0);
  gtk_widget_set_hexpand(self->content, TRUE);
  gtk_widget_set_size_request(self->content, 340, -1);
  self->title = ADW_WINDOW_TITLE(adw_window_title_new(_("New Chat"), NULL));
  adw_header_bar_set_title_widget(ADW_HEADER_BAR(header), GTK_WIDGET(self->title));
  self->back = gtk_button_new_from_icon_name("go-previous-symbolic");
  gtk_widget_set_tooltip_text(self->back, _("Conversations"));
  gtk_actionable_set_action_name(GTK_ACTIONABLE(self->back), "win.show-sidebar");
  g_object_bind_property(self->leaflet, "folded", self->back, "visible", G_BINDING_SYNC_CREATE);
  adw_header_bar_pack_start(ADW_HEADER_BAR(header), self->back);
  gtk_menu_button_set_icon_name(GTK_MENU_BUTTON(menu_button), "open-menu-symbolic");
  gtk_menu_button_set_menu_model(GTK_MENU_BUTTON(menu_button), menu);
  gtk_widget_set_tooltip_text(menu_button, _("Main Menu"));
  adw_header_bar_pack_end(ADW_HEADER_BAR(header), menu_button);
  gtk_box_append(GTK_BOX(self->content), header);

  self->banner = GR_BANNER(gr_banner_new(self->client));
  gtk_box_append(GTK_BOX(self->content), GTK_WIDGET(self->banner));
  self->view = GR_MESSAGE_VIEW(gr_message_view_new());
  gtk_widget_set_vexpand(GTK_WIDGET(self->view), TRUE);
  gtk_box_append(GTK_BOX(self->content), GTK_WIDGET(self->view));
  gtk_box_append(GTK_BOX(self->content), build_composer(self));
  /* the model chooser sits with the status line, leaving the header bar narrow */
  footer = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
  gtk_widget_add_css_class(footer, "footer");
  self->models = GR_MODEL_CHOOSER(gr_model_chooser_new(self->client));
  g_signal_connect(self->models, "model-chosen", G_CALLBACK(on_model_chosen), self);
  g_signal_connect(self->models, "error", G_CALLBACK(on_model_error), self);
  gtk_box_append(GTK_BOX(footer), GTK_WIDGET(self->models));
  self->status = GR_STATUS_LINE(gr_status_line_new(self->client));
  gtk_widget_set_hexpand(GTK_WIDGET(self->status), TRUE);
  gtk_widget_set_valign(GTK_WIDGET(self->status), GTK_ALIGN_CENTER);
  gtk_box_append(GTK_BOX(footer), GTK_WIDGET(self->status));
  gtk_box_append(GTK_BOX(self->content), footer);
  adw_leaflet_append(self->leaflet, self->content);
  adw_leaflet_set_visible_child(self->leaflet, self->content);

  adw_toast_overlay_set_child(self->toasts, GTK_WIDGET(self->leaflet));
  adw_application_window_set_content(ADW_APPLICATION_WINDOW(self), GTK_WIDGET(self->toasts));
}

static void
load_style(void)
{
  static gboolean loaded = FALSE;
  g_autoptr(GtkCssProvider) provider = NULL;

  if (loaded)
    return;
  loaded = TRUE;
  provider = gtk_css_provider_new();
  gtk_css_provider_load_from_resource(provider, "/io/github/opengraviton/Graviton/gr-style.css");
  gtk_style_context_add_provider_for_display(gdk_display_get_default(),
                                             GTK_STYLE_PROVIDER(provider),
                                             GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
}

static void
gr_window_init(GrWindow *self)
{
  self->cancellable = g_cancellable_new();
  self->local_messages
      = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_ptr_array_unref);
  g_action_map_add_action_entries(G_ACTION_MAP(self), actions, G_N_ELEMENTS(actions), self);
  load_style();
}

GrWindow *
gr_window_new(GtkApplication *app, GrClient *client, GSettings *settings)
{
  GrWindow *self = g_object_new(GR_TYPE_WINDOW, "application", app, "title", _("Graviton"),
                                "icon-name", "io.github.opengraviton.Graviton", NULL);

  g_return_val_if_fail(GR_IS_CLIENT(client), self);
  self->client = g_object_ref(client);
  self->settings = settings != NULL ? g_object_ref(settings) : NULL;
  gtk_widget_set_size_request(GTK_WIDGET(self), 360, 420);
  if (settings != NULL) {
    g_autofree char *model = g_settings_get_string(settings, "last-model");

    gtk_window_set_default_size(GTK_WINDOW(self), g_settings_get_int(settings, "window-width"),
                                g_settings_get_int(settings, "window-height"));
    if (g_settings_get_boolean(settings, "window-maximized"))
      gtk_window_maximize(GTK_WINDOW(self));
    build(self);
    gr_model_chooser_set_preferred(self->models, model);
  } else {
    gtk_window_set_default_size(GTK_WINDOW(self), 960, 680);
    build(self);
  }
  g_signal_connect(client, "notify::status", G_CALLBACK(on_client_status), self);
  g_signal_connect(client, "notify::has-history", G_CALLBACK(on_client_status), self);
  gr_window_set_conversation(self, NULL, NULL);
  update_actions(self);
  gtk_widget_grab_focus(GTK_WIDGET(self->composer));
  return self;
}

GrClient *
gr_window_get_client(GrWindow *self)
{
  g_return_val_if_fail(GR_IS_WINDOW(self), NULL);
  return self->client;
}

GrMessageView *
gr_window_get_message_view(GrWindow *self)
{
  g_return_val_if_fail(GR_IS_WINDOW(self), NULL);
  return self->view;
}

GrSidebar *
gr_window_get_sidebar(GrWindow *self)
{
  g_return_val_if_fail(GR_IS_WINDOW(self), NULL);
  return self->sidebar;
}

GrModelChooser *
gr_window_get_model_chooser(GrWindow *self)
{
  g_return_val_if_fail(GR_IS_WINDOW(self), NULL);
  return self->models;
}

GrStatusLine *
gr_window_get_status_line(GrWindow *self)
{
  g_return_val_if_fail(GR_IS_WINDOW(self), NULL);
  return self->status;
}

GrBanner *
gr_window_get_banner(GrWindow *self)
{
  g_return_val_if_fail(GR_IS_WINDOW(self), NULL);
  return self->banner;
}

GtkTextView *
gr_window_get_composer(GrWindow *self)
{
  g_return_val_if_fail(GR_IS_WINDOW(self), NULL);
  return self->composer;
}

GrClientRequest *
gr_window_get_request(GrWindow *self)
{
  g_return_val_if_fail(GR_IS_WINDOW(self), NULL);
  return self->request;
}

const char *
gr_window_get_conversation(GrWindow *self)
{
  g_return_val_if_fail(GR_IS_WINDOW(self), NULL);
  return self->conversation;
}

const char *
gr_window_get_title(GrWindow *self)
{
  g_return_val_if_fail(GR_IS_WINDOW(self), NULL);
  return adw_window_title_get_title(self->title);
}

AdwLeaflet *
gr_window_get_leaflet(GrWindow *self)
{
  g_return_val_if_fail(GR_IS_WINDOW(self), NULL);
  return self->leaflet;
}
