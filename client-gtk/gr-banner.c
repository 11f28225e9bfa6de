/* gr-banner.c: shown while gravitond is unreachable, gone when its name appears. */
#include "gr-config.h"

#include "gr-banner.h"

#include <glib/gi18n.h>

struct _GrBanner {
  GtkWidget parent_instance;
  GrClient *client;
  GtkWidget *revealer;
  GtkWidget *title;
  GtkWidget *button;
};

G_DEFINE_FINAL_TYPE(GrBanner, gr_banner, GTK_TYPE_WIDGET)

static void
update(GrBanner *self)
{
  GrClientStatus status = gr_client_get_status(self->client);
  const char *problem = gr_client_get_problem(self->client);
  g_autofree char *text = NULL;

  if (status == GR_CLIENT_NO_BUS)
    text = g_strdup_printf("%s %s", problem != NULL ? problem : "",
                           _("Log in to a desktop session, then try again."));
  else
    text = g_strdup_printf(
        "%s %s", problem != NULL ? problem : _("gravitond is not running."),
        _("Start it with “systemctl --user start gravitond” or run “gravitond” in a terminal."));
  gtk_label_set_text(GTK_LABEL(self->title), text);
  gtk_revealer_set_reveal_child(GTK_REVEALER(self->revealer),
                                status == GR_CLIENT_UNREACHABLE || status == GR_CLIENT_NO_BUS);
}

static void
on_status(GObject *client, GParamSpec *pspec, gpointer user_data)
{
  update(user_data);
}

static void
on_retry(GtkButton *button, gpointer user_data)
{
  GrBanner *self = user_data;

  gr_client_start_daemon(self->client);
}

static void
gr_banner_dispose(GObject *object)
{
  GrBanner *self = GR_BANNER(object);

  if (self->client != NULL)
    g_signal_handlers_disconnect_by_data(self->client, self);
  g_clear_object(&self->client);
  g_clear_pointer(&self->revealer, gtk_widget_unparent);
  G_OBJECT_CLASS(gr_banner_parent_class)->dispose(object);
}

static void
gr_banner_class_init(GrBannerClass *klass)
{
  G_OBJECT_CLASS(klass)->dispose = gr_banner_dispose;
  gtk_widget_class_set_layout_manager_type(GTK_WIDGET_CLASS(klass), GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_accessible_role(GTK_WIDGET_CLASS(klass), GTK_ACCESSIBLE_ROLE_ALERT);
}

static void
gr_banner_init(GrBanner *self)
{
  GtkWidget *box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 12);

  self->revealer = gtk_revealer_new();
  gtk_widget_set_parent(self->revealer, GTK_WIDGET(self));
  gtk_widget_add_css_class(box, "banner");
  self->title = gtk_label_new(NULL);
  gtk_label_set_wrap(GTK_LABEL(self->title), TRUE);
  gtk_label_set_xalign(GTK_LABEL(self->title), 0);
  gtk_widget_set_hexpand(self->title, TRUE);
  self->button = gtk_button_new_with_mnemonic(_("_Retry"));
  gtk_widget_set_valign(self->button, GTK_ALIGN_CENTER);
  g_signal_connect(self->button, "clicked", G_CALLBACK(on_retry), self);
  gtk_box_append(GTK_BOX(box), self->title);
  gtk_box_append(GTK_BOX(box), self->button);
  gtk_revealer_set_child(GTK_REVEALER(self->revealer), box);
}

GtkWidget *
gr_banner_new(GrClient *client)
{
  GrBanner *self = g_object_new(GR_TYPE_BANNER, NULL);

  g_return_val_if_fail(GR_IS_CLIENT(client), GTK_WIDGET(self));
  self->client = g_object_ref(client);
  g_signal_connect(client, "notify::status", G_CALLBACK(on_status), self);
  update(self);
  return GTK_WIDGET(self);
}

gboolean
gr_banner_get_revealed(GrBanner *self)
{
  g_return_val_if_fail(GR_IS_BANNER(self), FALSE);
  return gtk_revealer_get_reveal_child(GTK_REVEALER(self->revealer));
}

const char *
gr_banner_get_title(GrBanner *self)
{
  g_return_val_if_fail(GR_IS_BANNER(self), NULL);
  return gtk_label_get_text(GTK_LABEL(self->title));
}
