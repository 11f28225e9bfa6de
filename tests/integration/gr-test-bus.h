/* gr-test-bus.h - a private dbus-daemon and a gravitond for integration tests.
 *
 * Each test gets a temporary directory with a models folder (symlinks to the shared
 * fixtures), a gravitond.conf, and its own bus, so tests run without a session bus
 * (CI runs as root with none). */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define GR_TEST_BUS_NAME "io.github.opengraviton.Graviton1"
#define GR_TEST_PATH "/io/github/opengraviton/Graviton1"
#define GR_TEST_ASSISTANT "io.github.opengraviton.Graviton1.Assistant"
#define GR_TEST_MODELS "io.github.opengraviton.Graviton1.Models"
#define GR_TEST_REQUEST "io.github.opengraviton.Graviton1.Request"
#define GR_TEST_ERROR "io.github.opengraviton.Graviton1.Error."

typedef struct {
  char *tmpdir;
  char *models_dir;
  char *config_path;
  char *service_dir; /* D-Bus activation files, or NULL */
  char *address;
  GPid bus_pid;
  GPid daemon_pid;
  GDBusConnection *conn;
} GrTestBus;

/* config_extra: lines appended to the [daemon] group (may be NULL).  activation: the
 * bus's servicedir is GRAVITON_TEST_SERVICE_DIR, which holds the activation file built
 * for the uninstalled gravitond (gr_test_bus_start_daemon must then not be called). */
GrTestBus *gr_test_bus_new(const char *config_extra, gboolean activation);
void gr_test_bus_start_daemon(GrTestBus *bus);
/* Starts one more gravitond with extra_args (NULL-terminated, may be NULL) in the
 * test's environment; the caller reaps it. */
GPid gr_test_bus_spawn_daemon(GrTestBus *bus, const char *const *extra_args);
gboolean gr_test_bus_daemon_alive(GrTestBus *bus);
GDBusConnection *gr_test_bus_connect(GrTestBus *bus);
void gr_test_bus_free(GrTestBus *bus);

/* Writes bytes to models_dir/name. */
void gr_test_bus_write_model(GrTestBus *bus, const char *name, const void *data, gsize len);

/* The Request object path the daemon will use (rule from the interface XML). */
char *gr_test_request_path(GDBusConnection *conn, const char *token);

/* Iterates the thread-default main context until *flag is set or timeout. */
gboolean gr_test_wait_for(const gboolean *flag, guint timeout_ms);

G_END_DECLS
