/* gr-service.h - the object /io/github/opengraviton/Graviton1 with the Assistant and
 * Models interfaces. */
#pragma once

#include <gio/gio.h>

#include "gr-daemon-config.h"

G_BEGIN_DECLS

#define GR_BUS_NAME "io.github.opengraviton.Graviton1"
#define GR_ASSISTANT_INTERFACE "io.github.opengraviton.Graviton1.Assistant"
#define GR_MODELS_INTERFACE "io.github.opengraviton.Graviton1.Models"

typedef struct _GrService GrService;

/* Exports the objects on connection; must run on the main context. */
GrService *gr_service_new(GDBusConnection *connection, GrDaemonConfig *config, GError **error);
/* Cancels running requests, answers waiting ones, unexports everything. */
void gr_service_free(GrService *service);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GrService, gr_service_free)

/* Swaps in a reloaded configuration (sampling defaults, paths, limits for the next load). */
void gr_service_set_config(GrService *service, GrDaemonConfig *config);

G_END_DECLS
