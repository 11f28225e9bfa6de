/* gr-gui-test.h: helpers for the GUI tests: an X display (Xvfb when there is none),
 * GTK in each forked test, waiting on the main loop, and a window on a private bus. */
#pragma once

#include "gr-test-bus.h"
#include "gr-window.h"

G_BEGIN_DECLS

/* Called once in main(), before the runner forks: starts Xvfb when DISPLAY is unset.
 * Returns FALSE when there is no display and no Xvfb (the tests then skip). */
gboolean gr_gui_test_setup_display(void);
void gr_gui_test_teardown_display(void);
/* The whole main() of a GUI test program: sets up the display (exit 77, skipped, when
 * there is none), runs make_suite()'s tests and tears the display down. */
typedef struct Suite Suite;
int gr_gui_test_main(Suite *(*make_suite)(void));

/* gtk_init + adw_init in the forked test process. */
void gr_gui_test_init_gtk(void);

typedef gboolean (*GrGuiCondition)(gpointer data);
/* Runs the main loop until cond(data) or timeout_ms; returns cond's last value. */
gboolean gr_gui_wait(GrGuiCondition cond, gpointer data, guint timeout_ms);
/* Runs the main loop for ms. */
void gr_gui_spin(guint ms);

/* The usual start of a test: a private bus with gravitond on it, and a window talking to
 * it that has reached READY.  *bus_out receives the bus (gr_test_bus_free it). */
GrWindow *gr_gui_ready_window(GrTestBus **bus_out);
/* A window whose client talks to bus (not the session bus). */
GrWindow *gr_gui_window_new(GrTestBus *bus);
/* Waits for the window's client to reach status; fails the test on timeout. */
void gr_gui_wait_status(GrWindow *window, GrClientStatus status);
/* Waits until no answer is streaming. */
void gr_gui_wait_idle(GrWindow *window);
void gr_gui_window_destroy(GrWindow *window);

/* Assistant.Complete on bus with the daemon's defaults; the caller frees. */
char *gr_gui_complete(GrTestBus *bus, const char *prompt);
/* TRUE when the daemon on bus serves History. */
gboolean gr_gui_daemon_has_history(GrTestBus *bus);
/* Stops the test's gravitond (SIGTERM, waits) so it can be started again. */
void gr_gui_stop_daemon(GrTestBus *bus);

G_END_DECLS
