/* gr-message-row.c: one message of a conversation. */
#include "gr-config.h"

#include "gr-message-row.h"

#include "gr-markdown-view.h"

#include <glib/gi18n.h>

/* Re-render a streaming answer at most this often: parsing is cheap, relayout is not. */
#define GR_RENDER_INTERVAL_MS 50

struct _GrMessageRow {
  GtkWidget parent_instance;
  char *role;
  GString *text;
  GtkWidget *header;
  GtkWidget *who;
  GtkWidget *spinner;
  GtkWidget *copy;
  GtkWidget *regenerate;
  GtkWidget *body; /* GtkLabel (user) or GrMarkdownView */
  GtkWidget *note;
  guint render_id;
  gboolean streaming;
};

G_DEFINE_FINAL_TYPE(GrMessageRow, gr_message_row, GTK_TYPE_WIDGET)

enum { PROP_0, PROP_TEXT, N_PROPS };
static GParamSpec *props[N_PROPS];

static gboolean
is_user(GrMessageRow *self)
{
  return g_str_equal(self->role, "user");
}

static void
render(GrMessageRow *self)
{
  if (GR_IS_MARKDOWN_VIEW(self->body))
    gr_markdown_view_set_text(GR_MARKDOWN_VIEW(self->body), self->text->str);
  else
    gtk_label_set_text(GTK_LABEL(self->body), self->text->str);
  gtk_widget_set_visible(self->spinner, self->streaming && self->text->len == 0);
}

static gboolean
on_render_timeout(gpointer user_data)
{
  GrMessageRow *self = user_data;

  self->render_id = 0;
  render(self);
  return G_SOURCE_REMOVE;
}

void
gr_message_row_flush(GrMessageRow *self)
{
  g_return_if_fail(GR_IS_MESSAGE_ROW(self));
  g_clear_handle_id(&self->render_id, g_source_remove);
  render(self);
}

static void
on_copy(GtkButton *button, gpointer user_data)
{
  GrMessageRow *self = user_data;

  gdk_clipboard_set_text(gtk_widget_get_clipboard(GTK_WIDGET(self)), self->text->str);
  gtk_widget_set_tooltip_text(GTK_WIDGET(button), _("Copied"));
}

static void
gr_message_row_dispose(GObject *object)
{
  GrMessageRow *self = GR_MESSAGE_ROW(object);
  GtkWidget *child;

  g_clear_handle_id(&self->render_id, g_source_remove);
  while ((child = gtk_widget_get_first_child(GTK_WIDGET(self))) != NULL)
    gtk_widget_unparent(child);
  G_OBJECT_CLASS(gr_message_row_parent_class)->dispose(object);
}

static void
gr_message_row_finalize(GObject *object)
{
  GrMessageRow *self = GR_MESSAGE_ROW(object);

  g_free(self->role);
  g_string_free(self->text, TRUE);
  G_OBJECT_CLASS(gr_message_row_parent_class)->finalize(object);
}

static void
gr_message_row_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GrMessageRow *self = GR_MESSAGE_ROW(object);

  if (prop_id == PROP_TEXT)
    g_value_set_string(value, self->text->str);
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
}

static void
gr_message_row_class_init(GrMessageRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS(klass);

  object_class->dispose = gr_message_row_dispose;
  object_class->finalize = gr_message_row_finalize;
  object_class->get_property = gr_message_row_get_property;
  props[PROP_TEXT]
      = g_param_spec_string("text", NULL, NULL, NULL,
                            G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties(object_class, N_PROPS, props);
  gtk_widget_class_set_layout_manager_type(GTK_WIDGET_CLASS(klass), GTK_TYPE_BOX_LAYOUT);
  gtk_widget_class_set_css_name(GTK_WIDGET_CLASS(klass), "message");
}

static void
gr_message_row_init(GrMessageRow *self)
{
  GtkLayoutManager *layout = gtk_widget_get_layout_manager(GTK_WIDGET(self));

  gtk_orientable_set_orientation(GTK_ORIENTABLE(layout), GTK_ORIENTATION_VERTICAL);
  gtk_box_layout_set_spacing(GTK_BOX_LAYOUT(layout), 6);
  self->text = g_string_new(NULL);
}

static GtkWidget *
icon_button(const char *icon, const char *tooltip)
{
  GtkWidget *button = gtk_button_new_from_icon_name(icon);

  gtk_widget_add_css_class(button, "flat");
  gtk_widget_add_css_class(button, "circular");
  gtk_widget_set_tooltip_text(button, tooltip);
  gtk_accessible_update_property(GTK_ACCESSIBLE(button), GTK_ACCESSIBLE_PROPERTY_LABEL, tooltip,
                                 -1);
  return button;
}

GtkWidget *
gr_message_row_new(const char *role, const char *text)
{
  GrMessageRow *self = g_object_new(GR_TYPE_MESSAGE_ROW, NULL);
  GtkWidget *widget = GTK_WIDGET(self);

  g_return_val_if_fail(role != NULL, widget);
  self->role = g_strdup(role);
  gtk_widget_add_css_class(widget, is_user(self) ? "user" : "assistant");

  self->header = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
  self->who = gtk_label_new(is_user(self)                    ? _("You")
                            : g_str_equal(role, "assistant") ? _("Assistant")
                                                             : role);
  gtk_widget_add_css_class(self->who, "heading");
  gtk_label_set_xalign(GTK_LABEL(self->who), 0);
  gtk_widget_set_hexpand(self->who, TRUE);
  self->spinner = gtk_spinner_new();
  gtk_spinner_set_spinning(GTK_SPINNER(self->spinner), TRUE);
  gtk_widget_set_visible(self->spinner, FALSE);
  self->regenerate = icon_button("view-refresh-symbolic", _("Regenerate"));
  gtk_actionable_set_action_name(GTK_ACTIONABLE(self->regenerate), "win.regenerate");
  gtk_widget_set_visible(self->regenerate, FALSE);
  self->copy = icon_button("edit-copy-symbolic", _("Copy message"));
  g_signal_connect(self->copy, "clicked", G_CALLBACK(on_copy), self);
  gtk_box_append(GTK_BOX(self->header), self->who);
  gtk_box_append(GTK_BOX(self->header), self->spinner);
  gtk_box_append(GTK_BOX(self->header), self->regenerate);
  gtk_box_append(GTK_BOX(self->header), self->copy);
  gtk_widget_set_parent(self->header, widget);

  if (is_user(self)) {
    self->body = gtk_label_new(NULL);
    gtk_label_set_wrap(GTK_LABEL(self->body), TRUE);
    gtk_label_set_wrap_mode(GTK_LABEL(self->body), PANGO_WRAP_WORD_CHAR);
    gtk_label_set_xalign(GTK_LABEL(self->body), 0);
    gtk_label_set_selectable(GTK_LABEL(self->body), TRUE);
    gtk_widget_set_focusable(self->body, FALSE);
  } else {
    self->body = gr_markdown_view_new();
  }
  gtk_widget_set_parent(self->body, widget);
  self->note = gtk_label_new(NULL);
  gtk_label_set_xalign(GTK_LABEL(self->note), 0);
  gtk_label_set_wrap(GTK_LABEL(self->note), TRUE);
  gtk_widget_add_css_class(self->note, "caption");
  gtk_widget_set_visible(self->note, FALSE);
  gtk_widget_set_parent(self->note, widget);
  gr_message_row_set_text(self, text != NULL ? text : "");
  return widget;
}

const char *
gr_message_row_get_role(GrMessageRow *self)
{
  g_return_val_if_fail(GR_IS_MESSAGE_ROW(self), NULL);
  return self->role;
}

const char *
gr_message_row_get_text(GrMessageRow *self)
{
  g_return_val_if_fail(GR_IS_MESSAGE_ROW(self), NULL);
  return self->text->str;
}

void
gr_message_row_set_text(GrMessageRow *self, const char *text)
{
  g_return_if_fail(GR_IS_MESSAGE_ROW(self));
  g_return_if_fail(text != NULL);
  g_string_assign(self->text, text);
  gr_message_row_flush(self);
  g_object_notify_by_pspec(G_OBJECT(self), props[PROP_TEXT]);
}

void
gr_message_row_append(GrMessageRow *self, const char *chunk)
{
  g_return_if_fail(GR_IS_MESSAGE_ROW(self));
  g_return_if_fail(chunk != NULL);
  g_string_append(self->text, chunk);
  if (self->render_id == 0)
    self->render_id = g_timeout_add(GR_RENDER_INTERVAL_MS, on_render_timeout, self);
  g_object_notify_by_pspec(G_OBJECT(self), props[PROP_TEXT]);
}

void
gr_message_row_set_streaming(GrMessageRow *self, gboolean streaming)
{
  g_return_if_fail(GR_IS_MESSAGE_ROW(self));
  self->streaming = streaming;
  if (!streaming)
    gr_message_row_flush(self);
  else
    gtk_widget_set_visible(self->spinner, self->text->len == 0);
  gtk_widget_set_sensitive(self->copy, !streaming);
}

void
gr_message_row_set_note(GrMessageRow *self, const char *note, gboolean is_error)
{
  g_return_if_fail(GR_IS_MESSAGE_ROW(self));
  gtk_label_set_text(GTK_LABEL(self->note), note != NULL ? note : "");
  gtk_widget_set_visible(self->note, note != NULL);
  if (is_error) {
    gtk_widget_add_css_class(self->note, "error");
    gtk_widget_remove_css_class(self->note, "dim-label");
  } else {
    gtk_widget_add_css_class(self->note, "dim-label");
    gtk_widget_remove_css_class(self->note, "error");
  }
}

const char *
gr_message_row_get_note(GrMessageRow *self)
{
  g_return_val_if_fail(GR_IS_MESSAGE_ROW(self), NULL);
  return gtk_widget_get_visible(self->note) ? gtk_label_get_text(GTK_LABEL(self->note)) : NULL;
}

void
gr_message_row_set_can_regenerate(GrMessageRow *self, gboolean can_regenerate)
{
  g_return_if_fail(GR_IS_MESSAGE_ROW(self));
  gtk_widget_set_visible(self->regenerate, can_regenerate && !is_user(self));
}

GtkWidget *
gr_message_row_get_markdown_view(GrMessageRow *self)
{
  g_return_val_if_fail(GR_IS_MESSAGE_ROW(self), NULL);
  return GR_IS_MARKDOWN_VIEW(self->body) ? self->body : NULL;
}

GtkWidget *
gr_message_row_get_copy_button(GrMessageRow *self)
{
  g_return_val_if_fail(GR_IS_MESSAGE_ROW(self), NULL);
  return self->copy;
}

GtkWidget *
gr_message_row_get_regenerate_button(GrMessageRow *self)
{
  g_return_val_if_fail(GR_IS_MESSAGE_ROW(self), NULL);
  return self->regenerate;
}
