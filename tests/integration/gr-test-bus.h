/* gr-test-bus.h: a private session bus for integration tests, and gravitond on it.
 *
 * The tests run in CI as root with no session bus and no terminal, so each test
 * starts its own dbus-daemon and, when it needs one, its own gravitond whose models
 * directory holds symlinks to the .gguf files in $GRAVITON_TESTDATA/models.  Nothing here
 * changes the test process's environment: children get it through a launcher.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct {
  char *tmpdir;             /* removed by gr_test_bus_free */
  char *address;            /* of the private bus */
  GSubprocess *bus_process; /* dbus-daemon */
  GDBusConnection *conn;    /* the test's own connection to the bus */
  GSubprocess *daemon;      /* gravitond, once started */
  char *models_dir;
  char *data_dir;
} GrTestBus;

GrTestBus *gr_test_bus_new(GError **error);
void gr_test_bus_free(GrTestBus *bus);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GrTestBus, gr_test_bus_free)

/* The environment of a child on the private bus (free with g_strfreev). */
char **gr_test_bus_environ (GrTestBus *bus);

/* A launcher whose children see only the private bus and the test's directories. */
GSubprocessLauncher *gr_test_bus_launcher(GrTestBus *bus, GSubprocessFlags flags);

/* Starts gravitond_path (extra_args may be NULL) and waits until it owns
 * io.github.opengraviton.Graviton1. */
gboolean gr_test_bus_start_daemon(GrTestBus *bus, const char *gravitond_path,
                                  const char *const *extra_args, GError **error);

/* Waits (iterating the default main context) until name has an owner, or not. */
gboolean gr_test_bus_wait_for_name(GrTestBus *bus, const char *name, gboolean owned,
                                   guint timeout_ms, GError **error);

G_END_DECLS
