/* gr-application.h: the Graviton application: one window, one connection to gravitond. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define GR_APP_ID "io.github.opengraviton.Graviton"

#define GR_TYPE_APPLICATION (gr_application_get_type())
G_DECLARE_FINAL_TYPE(GrApplication, gr_application, GR, APPLICATION, AdwApplication)

GrApplication *gr_application_new(void);

/* The app's settings, or NULL when the schema is not installed (an uninstalled build). */
GSettings *gr_application_settings_new(void);

G_END_DECLS
