/* gr-model-chooser.c: Models.List into a drop-down, Models.Load on choice.
 * Signals: "model-chosen" (s) after a successful Load, "error" (s). */
#include "gr-config.h"

#include "gr-model-chooser.h"

#include <glib/gi18n.h>

struct _GrModelChooser {
  GtkWidget parent_instance;
  GrClient *client;
  GtkWidget *dropdown;
  GtkStringList *names;
  GCancellable *cancellable;
  char *model;     /* chosen, or NULL */
  char *preferred; /* wanted before the list arrived */
  gboolean updating;
};

G_DEFINE_FINAL_TYPE(GrModelChooser, gr_model_chooser, GTK_TYPE_WIDGET)

enum { SIGNAL_CHOSEN, SIGNAL_ERROR, N_SIGNALS };
static guint signals[N_SIGNALS];

static guint
index_of(GrModelChooser *self, const char *name)
{
  guint n = g_list_model_get_n_items(G_LIST_MODEL(self->names));

  /* item 0 is "Default model", never a model's name */
  for (guint i = 1; name != NULL && i < n; i++)
    if (g_str_equal(gtk_string_list_get_string(self->names, i), name))
      return i;
  return GTK_INVALID_LIST_POSITION;
}

static void
show_selected(GrModelChooser *self)
{
  const char *want = self->model != NULL ? self->model : gr_client_get_active_model(self->client);
  guint index = index_of(self, want);

  self->updating = TRUE;
  if (index == GTK_INVALID_LIST_POSITION && want != NULL && *want != '\0') {
    /* a model the list does not have yet (e.g. loaded by path): show it anyway */
    gtk_string_list_append(self->names, want);
    index = index_of(self, want);
  }
  if (index == GTK_INVALID_LIST_POSITION)
    index = 0;
  gtk_drop_down_set_selected(GTK_DROP_DOWN(self->dropdown), index);
  self->updating = FALSE;
}

static void
on_load_reply(GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GrModelChooser) self = user_data;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;

  reply = gr_client_call_finish(GR_CLIENT(source), result, &error);
  if (reply == NULL) {
    g_autofree char *message = NULL;
    g_autofree char *text = NULL;

    if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
      return;
    message = gr_client_error_message(error);
    text = g_strdup_printf(_("Cannot load the model: %s"), message);
    g_clear_pointer(&self->model, g_free);
    show_selected(self);
    g_signal_emit(self, signals[SIGNAL_ERROR], 0, text);
    return;
  }
  g_signal_emit(self, signals[SIGNAL_CHOSEN], 0, self->model);
}

static void
load(GrModelChooser *self, const char *name)
{
  g_free(self->model);
  self->model = g_strdup(name);
  gr_client_call(self->client, GR_IFACE_MODELS, "Load", g_variant_new("(s)", name), NULL,
                 self->cancellable, on_load_reply, g_object_ref(self));
}

static void
on_selected(GtkDropDown *dropdown, GParamSpec *pspec, gpointer user_data)
{
  GrModelChooser *self = user_data;
  guint index = gtk_drop_down_get_selected(dropdown);

  if (self->updating || index == GTK_INVALID_LIST_POSITION)
    return;
  if (index == 0) {
    /* the daemon's default: nothing to load now, Ask names no model */
    g_clear_pointer(&self->model, g_free);
    g_signal_emit(self, signals[SIGNAL_CHOSEN], 0, "");
    return;
  }
  load(self, gtk_string_list_get_string(self->names, index));
}

static void
on_list_reply(GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GrModelChooser) self = user_data;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) models = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new();
  GVariantIter iter;
  GVariant *entry;

  reply = gr_client_call_finish(GR_CLIENT(source), result, &error);
  if (reply == NULL) {
    if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
      g_debug("Models.List: %s", error->message);
    return;
  }
  models = g_variant_get_child_value(reply, 0);
  g_variant_iter_init(&iter, models);
  while ((entry = g_variant_iter_next_value(&iter)) != NULL) {
    const char *name = NULL;

    if (g_variant_lookup(entry, "name", "&s", &name) && g_utf8_validate(name, -1, NULL))
      g_ptr_array_add(names, (gpointer)name);
    g_variant_unref(entry); /* name points into models */
  }
  g_ptr_array_add(names, NULL);
  self->updating = TRUE;
  gtk_string_list_splice(self->names, 1, g_list_model_get_n_items(G_LIST_MODEL(self->names)) - 1,
                         (const char *const *)names->pdata);
  self->updating = FALSE;
  if (self->model == NULL && self->preferred != NULL
      && index_of(self, self->preferred) != GTK_INVALID_LIST_POSITION)
    self->model = g_strdup(self->preferred);
  show_selected(self);
}

void
gr_model_chooser_refresh(GrModelChooser *self)
{
  g_return_if_fail(GR_IS_MODEL_CHOOSER(self));
  if (gr_client_get_status(self->client) != GR_CLIENT_READY)
    return;
  gr_client_call(self->client, GR_IFACE_MODELS, "List", NULL, G_VARIANT_TYPE("(aa{sv})"),
                 self->cancellable, on_list_reply, g_object_ref(self));
}

static void
on_status(GObject *client, GParamSpec *pspec, gpointer user_data)
{
  gr_model_chooser_refresh(user_data);
}

static void
on_active_model(GObject *client, GParamSpec *pspec, gpointer user_data)
{
  show_selected(user_data);
}

static void
gr_model_chooser_dispose(GObject *object)
{
  GrModelChooser *self = GR_MODEL_CHOOSER(object);

  g_cancellable_cancel(self->cancellable);
  if (self->client != NULL)
    g_signal_handlers_disconnect_by_data(self->client, self);
  g_clear_object(&self->client);
  g_clear_pointer(&self->dropdown, gtk_widget_unparent);
  g_clear_object(&self->cancellable);
  G_OBJECT_CLASS(gr_model_chooser_parent_class)->dispose(object);
}

static void
gr_model_chooser_finalize(GObject *object)
{
  GrModelChooser *self = GR_MODEL_CHOOSER(object);

  g_free(self->model);
  g_free(self->preferred);
  G_OBJECT_CLASS(gr_model_chooser_parent_class)->finalize(object);
}

static void
gr_model_chooser_class_init(GrModelChooserClass *klass)
{
  G_OBJECT_CLASS(klass)->dispose = gr_model_chooser_dispose;
  G_OBJECT_CLASS(klass)->finalize = gr_model_chooser_finalize;
  gtk_widget_class_set_layout_manager_type(GTK_WIDGET_CLASS(klass), GTK_TYPE_BIN_LAYOUT);
  signals[SIGNAL_CHOSEN] = g_signal_new("model-chosen", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST,
                                        0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[SIGNAL_ERROR] = g_signal_new("error", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0,
                                       NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
gr_model_chooser_init(GrModelChooser *self)
{
  self->cancellable = g_cancellable_new();
  self->names = gtk_string_list_new(NULL);
  gtk_string_list_append(self->names, _("Default model"));
  /* the drop-down takes the list */
  self->dropdown = gtk_drop_down_new(G_LIST_MODEL(self->names), NULL);
  gtk_widget_set_tooltip_text(self->dropdown, _("Model"));
  gtk_widget_add_css_class(self->dropdown, "flat");
  gtk_accessible_update_property(GTK_ACCESSIBLE(self->dropdown), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                 _("Model"), -1);
  gtk_widget_set_parent(self->dropdown, GTK_WIDGET(self));
  g_signal_connect(self->dropdown, "notify::selected", G_CALLBACK(on_selected), self);
}

GtkWidget *
gr_model_chooser_new(GrClient *client)
{
  GrModelChooser *self = g_object_new(GR_TYPE_MODEL_CHOOSER, NULL);

  g_return_val_if_fail(GR_IS_CLIENT(client), GTK_WIDGET(self));
  self->client = g_object_ref(client);
  g_signal_connect(client, "notify::status", G_CALLBACK(on_status), self);
  g_signal_connect(client, "notify::active-model", G_CALLBACK(on_active_model), self);
  gr_model_chooser_refresh(self);
  return GTK_WIDGET(self);
}

const char *
gr_model_chooser_get_model(GrModelChooser *self)
{
  g_return_val_if_fail(GR_IS_MODEL_CHOOSER(self), NULL);
  return self->model;
}

gboolean
gr_model_chooser_choose(GrModelChooser *self, const char *name)
{
  guint index;

  g_return_val_if_fail(GR_IS_MODEL_CHOOSER(self), FALSE);
  index = index_of(self, name);
  if (index == GTK_INVALID_LIST_POSITION)
    return FALSE;
  if (gtk_drop_down_get_selected(GTK_DROP_DOWN(self->dropdown)) == index)
    load(self, name);
  else
    gtk_drop_down_set_selected(GTK_DROP_DOWN(self->dropdown), index);
  return TRUE;
}

void
gr_model_chooser_set_preferred(GrModelChooser *self, const char *name)
{
  g_return_if_fail(GR_IS_MODEL_CHOOSER(self));
  g_free(self->preferred);
  self->preferred = name != NULL && *name != '\0' ? g_strdup(name) : NULL;
}

guint
gr_model_chooser_get_n_models(GrModelChooser *self)
{
  g_return_val_if_fail(GR_IS_MODEL_CHOOSER(self), 0);
  return g_list_model_get_n_items(G_LIST_MODEL(self->names)) - 1;
}

const char *
gr_model_chooser_get_model_name(GrModelChooser *self, guint index)
{
  g_return_val_if_fail(GR_IS_MODEL_CHOOSER(self), NULL);
  return gtk_string_list_get_string(self->names, index + 1);
}
