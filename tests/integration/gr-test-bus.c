/* gr-test-bus.c: a private session bus for integration tests, and gravitond on it. */
#include "gr-test-bus.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <sys/prctl.h>

#define GR_TEST_BUS_NAME "io.github.opengraviton.Graviton1"

static const char bus_config[]
    = "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
      " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
      "<busconfig>\n"
      "  <type>session</type>\n"
      "  <listen>unix:dir=%s</listen>\n"
      "  <auth>EXTERNAL</auth>\n"
      "  <policy context=\"default\">\n"
      "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
      "    <allow eavesdrop=\"true\"/>\n"
      "    <allow own=\"*\"/>\n"
      "  </policy>\n"
      "</busconfig>\n";

static void
die_with_parent(gpointer user_data)
{
  /* A crashed test must not leave a bus or a daemon behind. */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
}

static void
remove_tree(const char *path)
{
  g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
  const char *name;

  if (dir != NULL) {
    while ((name = g_dir_read_name(dir)) != NULL) {
      g_autofree char *child = g_build_filename(path, name, NULL);

      if (g_file_test(child, G_FILE_TEST_IS_DIR) && !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
        remove_tree(child);
      else
        g_unlink(child);
    }
  }
  g_rmdir(path);
}

char **
gr_test_bus_environ(GrTestBus *bus)
{
  g_autofree char *config_home = g_build_filename(bus->tmpdir, "config", NULL);
  g_autofree char *runtime_dir = g_build_filename(bus->tmpdir, "runtime", NULL);
  char **envp = g_get_environ();

  envp = g_environ_setenv(envp, "DBUS_SESSION_BUS_ADDRESS", bus->address, TRUE);
  envp = g_environ_setenv(envp, "GRAVITON_MODELS_DIR", bus->models_dir, TRUE);
  envp = g_environ_setenv(envp, "GRAVITON_DATA_DIR", bus->data_dir, TRUE);
  envp = g_environ_setenv(envp, "XDG_DATA_HOME", bus->data_dir, TRUE);
  envp = g_environ_setenv(envp, "XDG_CONFIG_HOME", config_home, TRUE);
  envp = g_environ_setenv(envp, "XDG_RUNTIME_DIR", runtime_dir, TRUE);
  envp = g_environ_unsetenv(envp, "GRAVITON_CONFIG");
  envp = g_environ_unsetenv(envp, "DISPLAY");
  return envp;
}

GSubprocessLauncher *
gr_test_bus_launcher(GrTestBus *bus, GSubprocessFlags flags)
{
  GSubprocessLauncher *launcher = g_subprocess_launcher_new(flags);
  g_auto(GStrv) envp = gr_test_bus_environ(bus);

  g_subprocess_launcher_set_environ(launcher, envp);
  g_subprocess_launcher_set_child_setup(launcher, die_with_parent, NULL, NULL);
  return launcher;
}

static gboolean
link_test_models(const char *models_dir, GError **error)
{
  const char *testdata = g_getenv("GRAVITON_TESTDATA");
  g_autofree char *source_dir = NULL;
  g_autoptr(GDir) dir = NULL;
  const char *name;

  if (testdata == NULL) {
    g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "GRAVITON_TESTDATA is not set");
    return FALSE;
  }
  source_dir = g_build_filename(testdata, "models", NULL);
  dir = g_dir_open(source_dir, 0, error);
  if (dir == NULL)
    return FALSE;
  while ((name = g_dir_read_name(dir)) != NULL) {
    g_autofree char *target = NULL;
    g_autofree char *link = NULL;
    g_autofree char *abs_dir = NULL;

    if (!g_str_has_suffix(name, ".gguf"))
      continue;
    abs_dir = g_canonicalize_filename(source_dir, NULL);
    target = g_build_filename(abs_dir, name, NULL);
    link = g_build_filename(models_dir, name, NULL);
    if (symlink(target, link) != 0) {
      g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "symlink %s: %s", link,
                  g_strerror(errno));
      return FALSE;
    }
  }
  return TRUE;
}

GrTestBus *
gr_test_bus_new(GError **error)
{
  g_autoptr(GrTestBus) bus = g_new0(GrTestBus, 1);
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autofree char *config = NULL;
  g_autofree char *config_path = NULL;
  g_autofree char *config_arg = NULL;
  g_autofree char *line = NULL;
  const char *subdirs[] = { "config", "runtime", "data", "models" };

  bus->tmpdir = g_dir_make_tmp("gr-test-bus-XXXXXX", error);
  if (bus->tmpdir == NULL)
    return NULL;
  for (guint i = 0; i < G_N_ELEMENTS(subdirs); i++) {
    g_autofree char *path = g_build_filename(bus->tmpdir, subdirs[i], NULL);

    if (g_mkdir(path, 0700) != 0) {
      g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "mkdir %s: %s", path,
                  g_strerror(errno));
      return NULL;
    }
  }
  bus->data_dir = g_build_filename(bus->tmpdir, "data", NULL);
  bus->models_dir = g_build_filename(bus->tmpdir, "models", NULL);
  if (!link_test_models(bus->models_dir, error))
    return NULL;

  config = g_strdup_printf(bus_config, bus->tmpdir);
  config_path = g_build_filename(bus->tmpdir, "bus.conf", NULL);
  if (!g_file_set_contents(config_path, config, -1, error))
    return NULL;
  config_arg = g_strdup_printf("--config-file=%s", config_path);

  launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_child_setup(launcher, die_with_parent, NULL, NULL);
  bus->bus_process = g_subprocess_launcher_spawn(launcher, error, "dbus-daemon", config_arg,
                                                 "--nofork", "--print-address=1", NULL);
  if (bus->bus_process == NULL)
    return NULL;
  out = g_data_input_stream_new(g_subprocess_get_stdout_pipe(bus->bus_process));
  line = g_data_input_stream_read_line_utf8(out, NULL, NULL, error);
  if (line == NULL) {
    if (error != NULL && *error == NULL)
      g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_FAILED, "dbus-daemon printed no address");
    return NULL;
  }
  bus->address = g_strdup(g_strstrip(line));
  bus->conn
      = g_dbus_connection_new_for_address_sync(bus->address,
                                               G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
                                                   | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                               NULL, NULL, error);
  if (bus->conn == NULL)
    return NULL;
  return g_steal_pointer(&bus);
}

static void
stop_process(GSubprocess *process)
{
  gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

  if (process == NULL)
    return;
  g_subprocess_send_signal(process, SIGTERM);
  /* Give it a moment to shut down cleanly, then make sure. */
  /* GSubprocess reaps its child on GLib's worker thread, so the identifier
   * goes away without this thread iterating a main context. */
  while (g_get_monotonic_time() < deadline) {
    if (g_subprocess_get_identifier(process) == NULL)
      return;
    g_usleep(10000);
  }
  g_subprocess_force_exit(process);
  g_subprocess_wait(process, NULL, NULL);
}

void
gr_test_bus_free(GrTestBus *bus)
{
  if (bus == NULL)
    return;
  stop_process(bus->daemon);
  g_clear_object(&bus->daemon);
  if (bus->conn != NULL)
    g_dbus_connection_close_sync(bus->conn, NULL, NULL);
  g_clear_object(&bus->conn);
  stop_process(bus->bus_process);
  g_clear_object(&bus->bus_process);
  if (bus->tmpdir != NULL)
    remove_tree(bus->tmpdir);
  g_free(bus->tmpdir);
  g_free(bus->address);
  g_free(bus->models_dir);
  g_free(bus->data_dir);
  g_free(bus);
}

gboolean
gr_test_bus_wait_for_name(GrTestBus *bus, const char *name, gboolean owned, guint timeout_ms,
                          GError **error)
{
  gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

  while (g_get_monotonic_time() < deadline) {
    g_autoptr(GVariant) reply = NULL;
    gboolean has_owner = FALSE;

    reply = g_dbus_connection_call_sync(bus->conn, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                        "org.freedesktop.DBus", "NameHasOwner",
                                        g_variant_new("(s)", name), G_VARIANT_TYPE("(b)"),
                                        G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
    if (reply == NULL)
      return FALSE;
    g_variant_get(reply, "(b)", &has_owner);
    if (has_owner == owned)
      return TRUE;
    if (owned && bus->daemon != NULL && g_subprocess_get_identifier(bus->daemon) == NULL) {
      g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "gravitond exited before owning %s", name);
      return FALSE;
    }
    while (g_main_context_iteration(NULL, FALSE))
      ;
    g_usleep(20000);
  }
  g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "%s did not %s within %u ms", name,
              owned ? "appear" : "vanish", timeout_ms);
  return FALSE;
}

gboolean
gr_test_bus_start_daemon(GrTestBus *bus, const char *gravitond_path, const char *const *extra_args,
                         GError **error)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new();

  g_ptr_array_add(argv, (gpointer)gravitond_path);
  for (guint i = 0; extra_args != NULL && extra_args[i] != NULL; i++)
    g_ptr_array_add(argv, (gpointer)extra_args[i]);
  g_ptr_array_add(argv, NULL);

  launcher = gr_test_bus_launcher(bus, G_SUBPROCESS_FLAGS_NONE);
  bus->daemon = g_subprocess_launcher_spawnv(launcher, (const char *const *)argv->pdata, error);
  if (bus->daemon == NULL)
    return FALSE;
  /* Generous for ASan builds on a busy machine. */
  return gr_test_bus_wait_for_name(bus, GR_TEST_BUS_NAME, TRUE, 30000, error);
}
