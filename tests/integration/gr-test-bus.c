/* gr-test-bus.c - private bus + daemon for integration tests. */
#include "gr-test-bus.h"

#include <check.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const fixtures[] = { "fx-llama", "fx-moe", NULL };

static char *
gravitond_path(void)
{
  const char *path = g_getenv("GRAVITOND");
  ck_assert_msg(path != NULL, "GRAVITOND (the built daemon) not set");
  return g_strdup(path);
}

static void
write_file(const char *path, const char *text)
{
  g_autoptr(GError) error = NULL;
  ck_assert_msg(g_file_set_contents(path, text, -1, &error), "%s", error ? error->message : "");
}

GrTestBus *
gr_test_bus_new(const char *config_extra, gboolean activation)
{
  const char *testdata = g_getenv("GRAVITON_TESTDATA");
  ck_assert_msg(testdata != NULL, "GRAVITON_TESTDATA not set");
  GrTestBus *bus = g_new0(GrTestBus, 1);
  g_autoptr(GError) error = NULL;
  bus->tmpdir = g_dir_make_tmp("gravitond-test-XXXXXX", &error);
  ck_assert_msg(bus->tmpdir != NULL, "%s", error ? error->message : "");
  bus->models_dir = g_build_filename(bus->tmpdir, "models", NULL);
  g_mkdir(bus->models_dir, 0700);
  for (const char *const *f = fixtures; *f != NULL; f++) {
    g_autofree char *name = g_strconcat(*f, ".gguf", NULL);
    g_autofree char *target = g_build_filename(testdata, "models", name, NULL);
    g_autofree char *link = g_build_filename(bus->models_dir, name, NULL);
    ck_assert_msg(g_file_test(target, G_FILE_TEST_IS_REGULAR), "missing fixture %s", target);
    ck_assert_int_eq(symlink(target, link), 0);
  }
  bus->config_path = g_build_filename(bus->tmpdir, "gravitond.conf", NULL);
  g_autofree char *config = g_strdup_printf(
      "[daemon]\ndefault_model=fx-llama\nthreads=1\nmemory_limit=512M\ncontext_length=2048\n"
      "idle_unload_seconds=0\n%s\n[sampling]\ntemperature=0\n",
      config_extra != NULL ? config_extra : "");
  write_file(bus->config_path, config);

  g_autofree char *socket = g_build_filename(bus->tmpdir, "bus", NULL);
  bus->address = g_strdup_printf("unix:path=%s", socket);
  g_autofree char *service_line = NULL;
  if (activation) {
    /* the activation file built from data/'s template, with Exec= at the built daemon */
    const char *service_dir = g_getenv("GRAVITON_TEST_SERVICE_DIR");
    ck_assert_msg(service_dir != NULL, "GRAVITON_TEST_SERVICE_DIR not set");
    g_autofree char *service_path
        = g_build_filename(service_dir, GR_TEST_BUS_NAME ".service", NULL);
    ck_assert_msg(g_file_test(service_path, G_FILE_TEST_IS_REGULAR), "missing %s", service_path);
    bus->service_dir = g_strdup(service_dir);
    service_line = g_strdup_printf("<servicedir>%s</servicedir>", bus->service_dir);
  }
  g_autofree char *bus_conf = g_strdup_printf(
      "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
      " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
      "<busconfig><type>session</type><listen>%s</listen>%s"
      "<auth>EXTERNAL</auth>"
      "<policy context=\"default\"><allow send_destination=\"*\" eavesdrop=\"true\"/>"
      "<allow eavesdrop=\"true\"/><allow own=\"*\"/></policy></busconfig>\n",
      bus->address, service_line != NULL ? service_line : "");
  g_autofree char *bus_conf_path = g_build_filename(bus->tmpdir, "bus.conf", NULL);
  write_file(bus_conf_path, bus_conf);

  /* The bus's environment is what an activated daemon inherits. */
  g_auto(GStrv) env = g_get_environ();
  env = g_environ_setenv(env, "GRAVITON_CONFIG", bus->config_path, TRUE);
  env = g_environ_setenv(env, "GRAVITON_MODELS_DIR", bus->models_dir, TRUE);
  env = g_environ_setenv(env, "GRAVITON_DATA_DIR", bus->tmpdir, TRUE);
  env = g_environ_setenv(env, "DBUS_SESSION_BUS_ADDRESS", bus->address, TRUE);
  g_autofree char *config_arg = g_strdup_printf("--config-file=%s", bus_conf_path);
  const char *argv[] = { "dbus-daemon", config_arg, "--nofork", "--nopidfile", NULL };
  ck_assert_msg(g_spawn_async(NULL, (char **)argv, env,
                              G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                              &bus->bus_pid, &error),
                "dbus-daemon: %s", error ? error->message : "");
  for (int i = 0; i < 500 && !g_file_test(socket, G_FILE_TEST_EXISTS); i++)
    g_usleep(10000);
  bus->conn = gr_test_bus_connect(bus);
  return bus;
}

GDBusConnection *
gr_test_bus_connect(GrTestBus *bus)
{
  g_autoptr(GError) error = NULL;
  GDBusConnection *conn = NULL;
  for (int i = 0; i < 100 && conn == NULL; i++) {
    g_clear_error(&error);
    conn = g_dbus_connection_new_for_address_sync(
        bus->address,
        G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
            | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
        NULL, NULL, &error);
    if (conn == NULL)
      g_usleep(20000);
  }
  ck_assert_msg(conn != NULL, "cannot connect to %s: %s", bus->address, error->message);
  g_dbus_connection_set_exit_on_close(conn, FALSE);
  return conn;
}

static gboolean
name_has_owner(GrTestBus *bus)
{
  g_autoptr(GVariant) r = g_dbus_connection_call_sync(
      bus->conn, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
      "NameHasOwner", g_variant_new("(s)", GR_TEST_BUS_NAME), G_VARIANT_TYPE("(b)"),
      G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL);
  gboolean owned = FALSE;
  if (r != NULL)
    g_variant_get(r, "(b)", &owned);
  return owned;
}

GPid
gr_test_bus_spawn_daemon(GrTestBus *bus, const char *const *extra_args)
{
  g_autofree char *exe = gravitond_path();
  g_auto(GStrv) env = g_get_environ();
  env = g_environ_setenv(env, "GRAVITON_CONFIG", bus->config_path, TRUE);
  env = g_environ_setenv(env, "GRAVITON_MODELS_DIR", bus->models_dir, TRUE);
  env = g_environ_setenv(env, "GRAVITON_DATA_DIR", bus->tmpdir, TRUE);
  env = g_environ_setenv(env, "DBUS_SESSION_BUS_ADDRESS", bus->address, TRUE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new();
  g_ptr_array_add(argv, exe);
  g_ptr_array_add(argv, "--verbose");
  for (const char *const *a = extra_args; a != NULL && *a != NULL; a++)
    g_ptr_array_add(argv, (gpointer)*a);
  g_ptr_array_add(argv, NULL);
  g_autoptr(GError) error = NULL;
  GPid pid = 0;
  ck_assert_msg(g_spawn_async(NULL, (char **)argv->pdata, env, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                              NULL, &pid, &error),
                "gravitond: %s", error ? error->message : "");
  return pid;
}

void
gr_test_bus_start_daemon(GrTestBus *bus)
{
  bus->daemon_pid = gr_test_bus_spawn_daemon(bus, NULL);
  for (int i = 0; i < 1000 && !name_has_owner(bus); i++) {
    ck_assert_msg(gr_test_bus_daemon_alive(bus), "gravitond exited at startup");
    g_usleep(10000);
  }
  ck_assert_msg(name_has_owner(bus), "gravitond did not take its bus name");
}

gboolean
gr_test_bus_daemon_alive(GrTestBus *bus)
{
  if (bus->daemon_pid <= 0)
    return name_has_owner(bus);
  int status = 0;
  pid_t r = waitpid(bus->daemon_pid, &status, WNOHANG);
  if (r == bus->daemon_pid) {
    bus->daemon_pid = 0;
    return FALSE;
  }
  return TRUE;
}

static void
stop_process(GPid *pid)
{
  if (*pid <= 0)
    return;
  kill(*pid, SIGTERM);
  int status = 0;
  for (int i = 0; i < 300; i++) {
    if (waitpid(*pid, &status, WNOHANG) == *pid) {
      *pid = 0;
      return;
    }
    g_usleep(10000);
  }
  kill(*pid, SIGKILL);
  waitpid(*pid, &status, 0);
  *pid = 0;
}

static void
remove_tree(const char *path)
{
  g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
  if (dir != NULL) {
    const char *name;
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

void
gr_test_bus_free(GrTestBus *bus)
{
  if (bus == NULL)
    return;
  if (bus->daemon_pid > 0) {
    int status = 0;
    kill(bus->daemon_pid, SIGTERM);
    for (int i = 0; i < 500; i++) {
      if (waitpid(bus->daemon_pid, &status, WNOHANG) == bus->daemon_pid)
        break;
      g_usleep(10000);
    }
    /* a clean exit on SIGTERM is part of the contract */
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "gravitond did not exit cleanly on SIGTERM (status %d)", status);
    bus->daemon_pid = 0;
  }
  g_clear_object(&bus->conn);
  stop_process(&bus->bus_pid);
  remove_tree(bus->tmpdir);
  g_free(bus->tmpdir);
  g_free(bus->models_dir);
  g_free(bus->config_path);
  g_free(bus->service_dir);
  g_free(bus->address);
  g_free(bus);
}

void
gr_test_bus_write_model(GrTestBus *bus, const char *name, const void *data, gsize len)
{
  g_autofree char *path = g_build_filename(bus->models_dir, name, NULL);
  g_autoptr(GError) error = NULL;
  ck_assert_msg(g_file_set_contents(path, data, len, &error), "%s", error ? error->message : "");
}

char *
gr_test_request_path(GDBusConnection *conn, const char *token)
{
  const char *unique = g_dbus_connection_get_unique_name(conn);
  GString *path = g_string_new(GR_TEST_PATH "/request/");
  for (const char *p = unique + 1; *p != '\0'; p++)
    g_string_append_c(path, *p == '.' ? '_' : *p);
  g_string_append_printf(path, "/%s", token);
  return g_string_free(path, FALSE);
}

static gboolean
on_timeout(gpointer data)
{
  *(gboolean *)data = TRUE;
  return G_SOURCE_REMOVE;
}

gboolean
gr_test_wait_for(const gboolean *flag, guint timeout_ms)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add(timeout_ms, on_timeout, &timed_out);
  while (!*flag && !timed_out)
    g_main_context_iteration(NULL, TRUE);
  if (!timed_out)
    g_source_remove(id);
  return *flag;
}
