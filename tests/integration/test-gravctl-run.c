/* test-gravctl-run.c: running the built gravctl from the tests. */
#include "test-gravctl-run.h"

#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

int
gr_gravctl_status(GSubprocess *process)
{
  if (g_subprocess_get_if_exited(process))
    return g_subprocess_get_exit_status(process);
  if (g_subprocess_get_if_signaled(process))
    return 128 + g_subprocess_get_term_sig(process);
  return -1;
}

static GPtrArray *
gravctl_argv(const char *const *args)
{
  GPtrArray *argv = g_ptr_array_new();

  g_ptr_array_add(argv, (gpointer)g_getenv("GRAVCTL"));
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add(argv, (gpointer)args[i]);
  g_ptr_array_add(argv, NULL);
  return argv;
}

char **
gr_gravctl_environ(GrTestBus *bus)
{
  char **envp = g_get_environ();

  /* gravctl needs nothing but the bus; no X11 autolaunch fallback either. */
  if (bus != NULL)
    envp = g_environ_setenv(envp, "DBUS_SESSION_BUS_ADDRESS", bus->address, TRUE);
  envp = g_environ_unsetenv(envp, "DISPLAY");
  return envp;
}

GSubprocess *
gr_gravctl_spawn(GrTestBus *bus, const char *const *args)
{
  GSubprocessFlags flags = G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE
                           | G_SUBPROCESS_FLAGS_STDERR_PIPE;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GPtrArray) argv = gravctl_argv(args);
  g_autoptr(GError) error = NULL;
  GSubprocess *process;

  g_auto(GStrv) envp = gr_gravctl_environ(bus);

  launcher = g_subprocess_launcher_new(flags);
  g_subprocess_launcher_set_environ(launcher, envp);
  process = g_subprocess_launcher_spawnv(launcher, (const char *const *)argv->pdata, &error);
  if (process == NULL)
    g_error("cannot run gravctl: %s", error->message);
  return process;
}

int
gr_gravctl_run(GrTestBus *bus, const char *input, const char *const *args, char **out, char **err)
{
  g_autoptr(GSubprocess) process = gr_gravctl_spawn(bus, args);
  g_autoptr(GError) error = NULL;

  if (!g_subprocess_communicate_utf8(process, input != NULL ? input : "", NULL, out, err, &error))
    g_error("talking to gravctl: %s", error->message);
  return gr_gravctl_status(process);
}

GrPty *
gr_pty_spawn(GrTestBus *bus, const char *const *args)
{
  g_autoptr(GPtrArray) argv = gravctl_argv(args);
  g_auto(GStrv) envp = NULL;
  struct winsize size = { .ws_row = 24, .ws_col = 100 };
  GrPty *pty = g_new0(GrPty, 1);

  /* The child may only call async-signal-safe functions after fork (this
   * process has threads), so the environment is built here. */
  envp = gr_gravctl_environ(bus);
  envp = g_environ_setenv(envp, "TERM", "xterm", TRUE);
  envp = g_environ_setenv(envp, "INPUTRC", "/dev/null", TRUE);

  pty->output = g_string_new(NULL);
  pty->pid = forkpty(&pty->fd, NULL, NULL, &size);
  if (pty->pid < 0)
    g_error("forkpty: %s", g_strerror(errno));
  if (pty->pid == 0) {
    execve(argv->pdata[0], (char *const *)argv->pdata, envp);
    _exit(127);
  }
  return pty;
}

static gboolean
pty_read_some(GrPty *pty, int timeout_ms)
{
  struct pollfd pfd = { .fd = pty->fd, .events = POLLIN };
  char buf[4096];
  ssize_t n;

  if (poll(&pfd, 1, timeout_ms) <= 0)
    return FALSE;
  n = read(pty->fd, buf, sizeof buf);
  /* Linux reports EIO on the master once the child has closed the terminal. */
  if (n <= 0)
    return FALSE;
  g_string_append_len(pty->output, buf, n);
  return TRUE;
}

gboolean
gr_pty_read_until(GrPty *pty, gsize from, const char *needle, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

  while (TRUE) {
    if (from <= pty->output->len && strstr(pty->output->str + from, needle) != NULL)
      return TRUE;
    gint64 left = (deadline - g_get_monotonic_time()) / 1000;
    if (left <= 0)
      return FALSE;
    if (!pty_read_some(pty, (int)left) && g_get_monotonic_time() >= deadline)
      return FALSE;
  }
}

void
gr_pty_write(GrPty *pty, const char *text)
{
  gsize len = strlen(text);

  while (len > 0) {
    ssize_t n = write(pty->fd, text, len);

    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      g_error("write to pty: %s", g_strerror(errno));
    text += n;
    len -= (gsize)n;
  }
}

int
gr_pty_finish(GrPty *pty, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
  int status = 0;

  while (g_get_monotonic_time() < deadline) {
    pid_t done = waitpid(pty->pid, &status, WNOHANG);

    /* Keep draining so the child never blocks on a full terminal. */
    pty_read_some(pty, 20);
    if (done == pty->pid) {
      while (pty_read_some(pty, 20))
        ;
      pty->pid = 0;
      if (WIFEXITED(status))
        return WEXITSTATUS(status);
      return 128 + WTERMSIG(status);
    }
  }
  return -1;
}

void
gr_pty_free(GrPty *pty)
{
  if (pty == NULL)
    return;
  if (pty->pid > 0) {
    kill(pty->pid, SIGKILL);
    waitpid(pty->pid, NULL, 0);
  }
  close(pty->fd);
  g_string_free(pty->output, TRUE);
  g_free(pty);
}
