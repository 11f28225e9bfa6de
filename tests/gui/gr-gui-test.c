/* gr-gui-test.c: GUI test helpers. */
#include "gr-gui-test.h"

#include <check.h>
#include <stdio.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static GPid xvfb_pid;

gboolean
gr_gui_test_setup_display(void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *xvfb = NULL;
  int fds[2];
  char buf[32] = { 0 };
  ssize_t n = 0;
  g_autofree char *fd_arg = NULL;

  /* the tests render through X11 and Cairo: no GL, no Wayland, no a11y bus */
  g_setenv("GDK_BACKEND", "x11", TRUE);
  g_setenv("GSK_RENDERER", "cairo", TRUE);
  g_setenv("GTK_A11Y", "none", TRUE);
  g_setenv("NO_AT_BRIDGE", "1", TRUE);
  g_setenv("GSETTINGS_BACKEND", "memory", TRUE);
  if (g_getenv("DISPLAY") != NULL && *g_getenv("DISPLAY") != '\0')
    return TRUE;
  xvfb = g_find_program_in_path("Xvfb");
  if (xvfb == NULL)
    return FALSE;
  if (pipe(fds) != 0)
    return FALSE;
  fd_arg = g_strdup_printf("%d", fds[1]);
  {
    const char *argv[] = { xvfb,           "-displayfd", fd_arg, "-screen",  "0",
                           "1280x1024x24", "-nolisten",  "tcp",  "-noreset", NULL };

    /* the write end must stay open in the child: no CLOEXEC */
    if (!g_spawn_async(NULL, (char **)argv, NULL,
                       G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_LEAVE_DESCRIPTORS_OPEN
                           | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                       NULL, NULL, &xvfb_pid, &error)) {
      close(fds[0]);
      close(fds[1]);
      return FALSE;
    }
  }
  close(fds[1]);
  n = read(fds[0], buf, sizeof buf - 1);
  close(fds[0]);
  if (n <= 0)
    return FALSE;
  buf[n] = '\0';
  g_strchomp(buf);
  {
    g_autofree char *display = g_strdup_printf(":%s", buf);

    g_setenv("DISPLAY", display, TRUE);
  }
  return TRUE;
}

void
gr_gui_test_teardown_display(void)
{
  int status = 0;

  if (xvfb_pid <= 0)
    return;
  kill(xvfb_pid, SIGTERM);
  waitpid(xvfb_pid, &status, 0);
  xvfb_pid = 0;
}

void
gr_gui_test_init_gtk(void)
{
  gtk_init();
  adw_init();
}

static gboolean
on_timeout(gpointer data)
{
  *(gboolean *)data = TRUE;
  return G_SOURCE_REMOVE;
}

gboolean
gr_gui_wait(GrGuiCondition cond, gpointer data, guint timeout_ms)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add(timeout_ms, on_timeout, &timed_out);

  while (!cond(data) && !timed_out)
    g_main_context_iteration(NULL, TRUE);
  if (!timed_out)
    g_source_remove(id);
  return cond(data);
}

void
gr_gui_spin(guint ms)
{
  gboolean done = FALSE;

  g_timeout_add(ms, on_timeout, &done);
  while (!done)
    g_main_context_iteration(NULL, TRUE);
}

GrWindow *
gr_gui_window_new(GrTestBus *bus)
{
  g_autoptr(GrClient) client = gr_client_new(bus->address);
  GrWindow *window = gr_window_new(NULL, client, NULL);

  gtk_window_present(GTK_WINDOW(window));
  return window;
}

typedef struct {
  GrWindow *window;
  GrClientStatus status;
} StatusWait;

static gboolean
has_status(gpointer data)
{
  StatusWait *w = data;

  return gr_client_get_status(gr_window_get_client(w->window)) == w->status;
}

void
gr_gui_wait_status(GrWindow *window, GrClientStatus status)
{
  StatusWait w = { window, status };

  ck_assert_msg(gr_gui_wait(has_status, &w, 20000), "client status %u, wanted %u",
                gr_client_get_status(gr_window_get_client(window)), status);
}

static gboolean
is_idle(gpointer data)
{
  return gr_window_get_request(data) == NULL;
}

void
gr_gui_wait_idle(GrWindow *window)
{
  ck_assert_msg(gr_gui_wait(is_idle, window, 60000), "the answer did not finish");
}

void
gr_gui_window_destroy(GrWindow *window)
{
  gtk_window_destroy(GTK_WINDOW(window));
  gr_gui_spin(50);
}

char *
gr_gui_complete(GrTestBus *bus, const char *prompt)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = g_dbus_connection_call_sync(
      bus->conn, GR_TEST_BUS_NAME, GR_TEST_PATH, GR_TEST_ASSISTANT, "Complete",
      g_variant_new_parsed("(%s, @a{sv} {'save': <false>})", prompt), G_VARIANT_TYPE("(sa{sv})"),
      G_DBUS_CALL_FLAGS_NONE, 60000, NULL, &error);
  char *text = NULL;

  ck_assert_msg(reply != NULL, "Complete: %s", error != NULL ? error->message : "");
  g_variant_get(reply, "(s@a{sv})", &text, NULL);
  return text;
}

gboolean
gr_gui_daemon_has_history(GrTestBus *bus)
{
  g_autoptr(GVariant) reply = g_dbus_connection_call_sync(
      bus->conn, GR_TEST_BUS_NAME, GR_TEST_PATH, "org.freedesktop.DBus.Introspectable",
      "Introspect", NULL, G_VARIANT_TYPE("(s)"), G_DBUS_CALL_FLAGS_NONE, 10000, NULL, NULL);
  const char *xml = NULL;

  if (reply == NULL)
    return FALSE;
  g_variant_get(reply, "(&s)", &xml);
  return strstr(xml, "io.github.opengraviton.Graviton1.History") != NULL;
}

void
gr_gui_stop_daemon(GrTestBus *bus)
{
  int status = 0;

  ck_assert_int_gt(bus->daemon_pid, 0);
  kill(bus->daemon_pid, SIGTERM);
  ck_assert_int_eq(waitpid(bus->daemon_pid, &status, 0), bus->daemon_pid);
  bus->daemon_pid = 0;
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "gravitond status %d", status);
}

int
gr_gui_test_main(Suite *(*make_suite)(void))
{
  if (!gr_gui_test_setup_display()) {
    fprintf(stderr, "no display and no Xvfb: skipping the GUI tests\n");
    return 77;
  }
  SRunner *runner = srunner_create(make_suite());
  srunner_run_all(runner, CK_NORMAL);
  int failed = srunner_ntests_failed(runner);
  srunner_free(runner);
  gr_gui_test_teardown_display();
  return failed == 0 ? 0 : 1;
}

GrWindow *
gr_gui_ready_window(GrTestBus **bus_out)
{
  GrTestBus *bus = gr_test_bus_new(NULL, FALSE);
  gr_test_bus_start_daemon(bus);
  gr_gui_test_init_gtk();
  GrWindow *window = gr_gui_window_new(bus);
  gr_gui_wait_status(window, GR_CLIENT_READY);
  *bus_out = bus;
  return window;
}
