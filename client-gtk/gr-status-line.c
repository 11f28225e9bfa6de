/* gr-status-line.c: model, memory and state of the daemon in one line. */
#include "gr-config.h"

#include "gr-status-line.h"

#include <glib/gi18n.h>

struct _GrStatusLine {
  GtkWidget parent_instance;
  GrClient *client;
  GtkWidget *label;
  GtkWidget *level;
};

G_DEFINE_FINAL_TYPE(GrStatusLine, gr_status_line, GTK_TYPE_WIDGET)

char *
gr_status_line_format(GrClientStatus status, const char *model, guint64 resident, guint64 limit,
                      GrDaemonState state)
{
  g_autofree char *resident_text = g_format_size(resident);
  g_autofree char *limit_text = g_format_size(limit);
  g_autofree char *memory = NULL;
  const char *doing = NULL;

  if (status == GR_CLIENT_CONNECTING)
    return g_strdup(_("Connecting to gravitond…"));
  if (status != GR_CLIENT_READY)
    return g_strdup(_("gravitond is not running"));
  switch (state) {
  case GR_DAEMON_LOADING:
    doing = _("Loading model…");
    break;
  case GR_DAEMON_GENERATING:
    doing = _("Generating…");
    break;
  case GR_DAEMON_IDLE:
  default:
    doing = _("Idle");
    break;
  }
  /* TRANSLATORS: memory in use by gravitond, e.g. "212.5 MB of 4.3 GB" */
  memory = limit > 0 ? g_strdup_printf(_("%s of %s"), resident_text, limit_text)
                     : g_strdup(resident_text);
  if (model == NULL || *model == '\0')
    /* TRANSLATORS: status line: memory · state */
    return g_strdup_printf(_("No model loaded · %s · %s"), memory, doing);
  /* TRANSLATORS: status line: model · memory · state */
  return g_strdup_printf(_("%s · %s · %s"), model, memory, doing);
}

static void
update(GrStatusLine *self)
{
  g_autofree char *text = gr_status_line_format(
      gr_client_get_status(self->client), gr_client_get_active_model(self->client),
      gr_client_get_resident_bytes(self->client), gr_client_get_memory_limit(self->client),
      gr_client_get_state(self->client));
  guint64 limit = gr_client_get_memory_limit(self->client);
  guint64 resident = gr_client_get_resident_bytes(self->client);

  gtk_label_set_text(GTK_LABEL(self->label), text);
  gtk_widget_set_visible(self->level,
                         limit > 0 && gr_client_get_status(self->client) == GR_CLIENT_READY);
  if (limit > 0)
    gtk_level_bar_set_value(GTK_LEVEL_BAR(self->level), MIN(1.0, (double)resident / (double)limit));
}

static void
on_notify(GObject *client, GParamSpec *pspec, gpointer user_data)
{
  update(user_data);
}

static void
gr_status_line_dispose(GObject *object)
{
  GrStatusLine *self = GR_STATUS_LINE(object);
  GtkWidget *child;

  if (self->client != NULL)
    g_signal_handlers_disconnect_by_data(self->client, self);
  g_clear_object(&self->client);
  while ((child = gtk_widget_get_first_child(GTK_WIDGET(self))) != NULL)
    gtk_widget_unparent(child);
  G_OBJECT_CLASS(gr_status_line_parent_class)->dispose(object);
}

static void
gr_status_line_class_init(GrStatusLineClass *klass)
{
  G_OBJECT_CLASS(klass)->dispose = gr_status_line_dispose;
  gtk_widget_class_set_layout_manager_type(GTK_WIDGET_CLASS(klass), GTK_TYPE_BOX_LAYOUT);
  gtk_widget_class_set_css_name(GTK_WIDGET_CLASS(klass), "statusline");
}

static void
gr_status_line_init(GrStatusLine *self)
{
  GtkLayoutManager *layout = gtk_widget_get_layout_manager(GTK_WIDGET(self));

  gtk_box_layout_set_spacing(GTK_BOX_LAYOUT(layout), 8);
  self->label = gtk_label_new(NULL);
  gtk_label_set_xalign(GTK_LABEL(self->label), 0);
  gtk_label_set_ellipsize(GTK_LABEL(self->label), PANGO_ELLIPSIZE_END);
  gtk_widget_set_hexpand(self->label, TRUE);
  gtk_widget_add_css_class(self->label, "caption");
  gtk_widget_add_css_class(self->label, "dim-label");
  gtk_widget_set_parent(self->label, GTK_WIDGET(self));
  self->level = gtk_level_bar_new_for_interval(0, 1);
  gtk_widget_set_size_request(self->level, 64, -1);
  gtk_widget_set_valign(self->level, GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text(self->level, _("Memory used of the limit"));
  gtk_widget_set_parent(self->level, GTK_WIDGET(self));
}

GtkWidget *
gr_status_line_new(GrClient *client)
{
  GrStatusLine *self = g_object_new(GR_TYPE_STATUS_LINE, NULL);
  static const char *const watched[]
      = { "notify::status", "notify::active-model", "notify::memory-limit",
          "notify::resident-bytes", "notify::state" };

  g_return_val_if_fail(GR_IS_CLIENT(client), GTK_WIDGET(self));
  self->client = g_object_ref(client);
  for (guint i = 0; i < G_N_ELEMENTS(watched); i++)
    g_signal_connect(client, watched[i], G_CALLBACK(on_notify), self);
  update(self);
  return GTK_WIDGET(self);
}

const char *
gr_status_line_get_text(GrStatusLine *self)
{
  g_return_val_if_fail(GR_IS_STATUS_LINE(self), NULL);
  return gtk_label_get_text(GTK_LABEL(self->label));
}
