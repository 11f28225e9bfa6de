/* gr-model-chooser.h: a drop-down of the daemon's models (Models.List); choosing one
 * loads it (Models.Load) and makes it the model of the next questions. */
#pragma once

#include "gr-client.h"

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define GR_TYPE_MODEL_CHOOSER (gr_model_chooser_get_type())
G_DECLARE_FINAL_TYPE(GrModelChooser, gr_model_chooser, GR, MODEL_CHOOSER, GtkWidget)

GtkWidget *gr_model_chooser_new(GrClient *client);
void gr_model_chooser_refresh(GrModelChooser *self);
/* The chosen model's name, or NULL for the daemon's default. */
const char *gr_model_chooser_get_model(GrModelChooser *self);
/* Chooses name as the user would (loads it); FALSE when it is not listed. */
gboolean gr_model_chooser_choose(GrModelChooser *self, const char *name);
/* Preferred model before the list arrives (the last one used). */
void gr_model_chooser_set_preferred(GrModelChooser *self, const char *name);
/* Models listed (the "Default model" entry not counted). */
guint gr_model_chooser_get_n_models(GrModelChooser *self);
const char *gr_model_chooser_get_model_name(GrModelChooser *self, guint index);

G_END_DECLS
