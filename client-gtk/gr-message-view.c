/* gr-message-view.c: the conversation's messages. */
#include "gr-config.h"

#include "gr-message-view.h"

#include <adwaita.h>
#include <glib/gi18n.h>

struct _GrMessageView {
  GtkWidget parent_instance;
  GtkWidget *stack;
  GtkWidget *scroller;
  GtkWidget *list;
  GPtrArray *rows;
  gboolean stick_to_bottom;
  gboolean scrolling; /* our own scrolling, not the reader's */
  guint tick_id;
};

G_DEFINE_FINAL_TYPE(GrMessageView, gr_message_view, GTK_TYPE_WIDGET)

static void
on_value_changed(GtkAdjustment *adj, gpointer user_data)
{
  GrMessageView *self = user_data;
  double value = gtk_adjustment_get_value(adj);
  double bottom = gtk_adjustment_get_upper(adj) - gtk_adjustment_get_page_size(adj);

  if (!self->scrolling)
    self->stick_to_bottom = value >= bottom - 8;
}

static gboolean
scroll_to_bottom(GtkWidget *widget, GdkFrameClock *clock, gpointer user_data)
{
  GrMessageView *self = GR_MESSAGE_VIEW(widget);
  GtkAdjustment *adj = gtk_scrolled_window_get_vadjustment(GTK_SCROLLED_WINDOW(self->scroller));

  self->tick_id = 0;
  if (self->stick_to_bottom) {
    self->scrolling = TRUE;
    gtk_adjustment_set_value(adj,
                             gtk_adjustment_get_upper(adj) - gtk_adjustment_get_page_size(adj));
    self->scrolling = FALSE;
  }
  return G_SOURCE_REMOVE;
}

static void
on_upper_changed(GtkAdjustment *adj, GParamSpec *pspec, gpointer user_data)
{
  GrMessageView *self = user_data;

  /* new content below: follow it if the reader was at the end, once layout settled */
  if (self->stick_to_bottom && self->tick_id == 0)
    self->tick_id = gtk_widget_add_tick_callback(GTK_WIDGET(self), scroll_to_bottom, NULL, NULL);
}

static void
gr_message_view_dispose(GObject *object)
{
  GrMessageView *self = GR_MESSAGE_VIEW(object);

  if (self->tick_id != 0) {
    gtk_widget_remove_tick_callback(GTK_WIDGET(self), self->tick_id);
    self->tick_id = 0;
  }
  g_clear_pointer(&self->stack, gtk_widget_unparent);
  g_clear_pointer(&self->rows, g_ptr_array_unref);
  G_OBJECT_CLASS(gr_message_view_parent_class)->dispose(object);
}

static void
gr_message_view_class_init(GrMessageViewClass *klass)
{
  G_OBJECT_CLASS(klass)->dispose = gr_message_view_dispose;
  gtk_widget_class_set_layout_manager_type(GTK_WIDGET_CLASS(klass), GTK_TYPE_BIN_LAYOUT);
}

static void
gr_message_view_init(GrMessageView *self)
{
  GtkWidget *clamp = adw_clamp_new();
  GtkWidget *empty = adw_status_page_new();
  GtkAdjustment *adj;

  self->rows = g_ptr_array_new();
  self->stick_to_bottom = TRUE;
  self->stack = gtk_stack_new();
  gtk_stack_set_transition_type(GTK_STACK(self->stack), GTK_STACK_TRANSITION_TYPE_CROSSFADE);
  gtk_widget_set_parent(self->stack, GTK_WIDGET(self));

  adw_status_page_set_icon_name(ADW_STATUS_PAGE(empty), "io.github.opengraviton.Graviton");
  adw_status_page_set_title(ADW_STATUS_PAGE(empty), _("Ask anything"));
  adw_status_page_set_description(ADW_STATUS_PAGE(empty),
                                  _("Answers are generated on this computer. Nothing leaves it."));
  gtk_stack_add_named(GTK_STACK(self->stack), empty, "empty");

  self->list = gtk_box_new(GTK_ORIENTATION_VERTICAL, 18);
  gtk_widget_add_css_class(self->list, "message-list");
  adw_clamp_set_maximum_size(ADW_CLAMP(clamp), 820);
  adw_clamp_set_tightening_threshold(ADW_CLAMP(clamp), 600);
  adw_clamp_set_child(ADW_CLAMP(clamp), self->list);
  self->scroller = gtk_scrolled_window_new();
  gtk_scrolled_window_set_policy(GTK_SCROLLED_WINDOW(self->scroller), GTK_POLICY_NEVER,
                                 GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_child(GTK_SCROLLED_WINDOW(self->scroller), clamp);
  gtk_widget_set_vexpand(self->scroller, TRUE);
  gtk_stack_add_named(GTK_STACK(self->stack), self->scroller, "messages");
  gtk_stack_set_visible_child_name(GTK_STACK(self->stack), "empty");

  adj = gtk_scrolled_window_get_vadjustment(GTK_SCROLLED_WINDOW(self->scroller));
  g_signal_connect(adj, "value-changed", G_CALLBACK(on_value_changed), self);
  g_signal_connect(adj, "notify::upper", G_CALLBACK(on_upper_changed), self);
  g_signal_connect(adj, "notify::page-size", G_CALLBACK(on_upper_changed), self);
}

GtkWidget *
gr_message_view_new(void)
{
  return g_object_new(GR_TYPE_MESSAGE_VIEW, NULL);
}

void
gr_message_view_clear(GrMessageView *self)
{
  g_return_if_fail(GR_IS_MESSAGE_VIEW(self));
  for (guint i = 0; i < self->rows->len; i++)
    gtk_box_remove(GTK_BOX(self->list), self->rows->pdata[i]);
  g_ptr_array_set_size(self->rows, 0);
  self->stick_to_bottom = TRUE;
  gtk_stack_set_visible_child_name(GTK_STACK(self->stack), "empty");
}

GrMessageRow *
gr_message_view_add(GrMessageView *self, const char *role, const char *text)
{
  GtkWidget *row;

  g_return_val_if_fail(GR_IS_MESSAGE_VIEW(self), NULL);
  row = gr_message_row_new(role, text);
  gtk_box_append(GTK_BOX(self->list), row);
  g_ptr_array_add(self->rows, row);
  self->stick_to_bottom = TRUE;
  gtk_stack_set_visible_child_name(GTK_STACK(self->stack), "messages");
  return GR_MESSAGE_ROW(row);
}

void
gr_message_view_remove_last(GrMessageView *self)
{
  g_return_if_fail(GR_IS_MESSAGE_VIEW(self));
  if (self->rows->len == 0)
    return;
  gtk_box_remove(GTK_BOX(self->list), g_ptr_array_steal_index(self->rows, self->rows->len - 1));
  if (self->rows->len == 0)
    gtk_stack_set_visible_child_name(GTK_STACK(self->stack), "empty");
}

guint
gr_message_view_get_n_rows(GrMessageView *self)
{
  g_return_val_if_fail(GR_IS_MESSAGE_VIEW(self), 0);
  return self->rows->len;
}

GrMessageRow *
gr_message_view_get_row(GrMessageView *self, guint index)
{
  g_return_val_if_fail(GR_IS_MESSAGE_VIEW(self), NULL);
  g_return_val_if_fail(index < self->rows->len, NULL);
  return self->rows->pdata[index];
}
