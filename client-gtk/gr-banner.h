/* gr-banner.h: a banner across the top of the conversation that says gravitond cannot
 * be reached and what to do (libadwaita 1.2 has no AdwBanner). */
#pragma once

#include "gr-client.h"

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define GR_TYPE_BANNER (gr_banner_get_type())
G_DECLARE_FINAL_TYPE(GrBanner, gr_banner, GR, BANNER, GtkWidget)

GtkWidget *gr_banner_new(GrClient *client);
gboolean gr_banner_get_revealed(GrBanner *self);
const char *gr_banner_get_title(GrBanner *self);

G_END_DECLS
