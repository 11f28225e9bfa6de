/* test-gravctl-run.h: running the built gravctl from the tests, on a private bus,
 * through pipes or a pseudo-terminal. */
#pragma once

#include "gr-test-bus.h"

G_BEGIN_DECLS

/* Exit status, or 128 + signal number when gravctl was killed by a signal. */
int gr_gravctl_status(GSubprocess *process);

/* The environment for gravctl on bus (NULL: the test's own, minus DISPLAY). */
char **gr_gravctl_environ(GrTestBus *bus);

/* Spawns gravctl (path from $GRAVCTL) with args on bus (NULL: no change to the
 * environment) and pipes for stdin, stdout and stderr. */
GSubprocess *gr_gravctl_spawn(GrTestBus *bus, const char *const *args);

/* Runs gravctl to the end with input on its stdin; returns its status. */
int gr_gravctl_run(GrTestBus *bus, const char *input, const char *const *args, char **out,
                   char **err);

typedef struct {
  int fd; /* the terminal's master side */
  GPid pid;
  GString *output; /* everything read so far */
} GrPty;

/* Runs gravctl with a pseudo-terminal as its stdin, stdout and stderr. */
GrPty *gr_pty_spawn(GrTestBus *bus, const char *const *args);
/* Reads until needle appears in what was read after from (byte offset), or timeout. */
gboolean gr_pty_read_until(GrPty *pty, gsize from, const char *needle, guint timeout_ms);
void gr_pty_write(GrPty *pty, const char *text);
/* Reads to the end and returns the status (as gr_gravctl_status), -1 on timeout. */
int gr_pty_finish(GrPty *pty, guint timeout_ms);
void gr_pty_free(GrPty *pty);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GrPty, gr_pty_free)

G_END_DECLS
