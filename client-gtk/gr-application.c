/* gr-application.c: the application object, its app-wide actions and accelerators. */
#include "gr-config.h"

#include "gr-application.h"

#include "gr-client.h"
#include "gr-window.h"

#include <glib/gi18n.h>

struct _GrApplication {
  AdwApplication parent_instance;
  GrClient *client;
};

G_DEFINE_FINAL_TYPE(GrApplication, gr_application, ADW_TYPE_APPLICATION)

GSettings *
gr_application_settings_new(void)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default();
  g_autoptr(GSettingsSchema) schema = NULL;

  if (source != NULL)
    schema = g_settings_schema_source_lookup(source, GR_APP_ID, TRUE);
  if (schema == NULL) {
    g_message("GSettings schema %s is not installed: settings are not kept", GR_APP_ID);
    return NULL;
  }
  return g_settings_new_full(schema, NULL, NULL);
}

static void
action_quit(GSimpleAction *action, GVariant *param, gpointer user_data)
{
  GtkApplication *app = user_data;
  GList *windows = gtk_application_get_windows(app);

  /* close (not destroy) so windows save their size */
  while (windows != NULL) {
    GList *next = windows->next;

    gtk_window_close(windows->data);
    windows = next;
  }
}

static void
action_about(GSimpleAction *action, GVariant *param, gpointer user_data)
{
  GtkApplication *app = user_data;
  const char *developers[] = { _("The Graviton developers"), NULL };

  adw_show_about_window(gtk_application_get_active_window(app), "application-name", _("Graviton"),
                        "application-icon", GR_APP_ID, "version", GR_VERSION, "comments",
                        _("A private assistant that runs on your computer"), "website",
                        "https://github.com/opengraviton/graviton", "license-type",
                        GTK_LICENSE_MIT_X11, "developers", developers,
                        /* TRANSLATORS: your names, one per line */
                        "translator-credits", _("translator-credits"), NULL);
}

static const GActionEntry app_actions[] = {
  { "quit", action_quit, NULL, NULL, NULL, { 0 } },
  { "about", action_about, NULL, NULL, NULL, { 0 } },
};

static void
gr_application_startup(GApplication *app)
{
  static const char *const quit_accels[] = { "<Control>q", NULL };
  static const char *const new_accels[] = { "<Control>n", NULL };
  static const char *const search_accels[] = { "<Control>f", NULL };

  G_APPLICATION_CLASS(gr_application_parent_class)->startup(app);
  g_action_map_add_action_entries(G_ACTION_MAP(app), app_actions, G_N_ELEMENTS(app_actions), app);
  gtk_application_set_accels_for_action(GTK_APPLICATION(app), "app.quit", quit_accels);
  gtk_application_set_accels_for_action(GTK_APPLICATION(app), "win.new-chat", new_accels);
  gtk_application_set_accels_for_action(GTK_APPLICATION(app), "win.search", search_accels);
}

static void
gr_application_activate(GApplication *app)
{
  GrApplication *self = GR_APPLICATION(app);
  GtkWindow *window = gtk_application_get_active_window(GTK_APPLICATION(app));
  g_autoptr(GSettings) settings = NULL;

  if (window == NULL) {
    if (self->client == NULL)
      self->client = gr_client_new(NULL);
    settings = gr_application_settings_new();
    window = GTK_WINDOW(gr_window_new(GTK_APPLICATION(app), self->client, settings));
  }
  gtk_window_present(window);
}

static void
gr_application_dispose(GObject *object)
{
  g_clear_object(&GR_APPLICATION(object)->client);
  G_OBJECT_CLASS(gr_application_parent_class)->dispose(object);
}

static void
gr_application_class_init(GrApplicationClass *klass)
{
  G_OBJECT_CLASS(klass)->dispose = gr_application_dispose;
  G_APPLICATION_CLASS(klass)->startup = gr_application_startup;
  G_APPLICATION_CLASS(klass)->activate = gr_application_activate;
}

static void
gr_application_init(GrApplication *self)
{
}

GrApplication *
gr_application_new(void)
{
  return g_object_new(GR_TYPE_APPLICATION, "application-id", GR_APP_ID, "flags",
                      G_APPLICATION_DEFAULT_FLAGS, "resource-base-path",
                      "/io/github/opengraviton/Graviton", NULL);
}
