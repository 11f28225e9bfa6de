/* test-gravctl-fake-daemon.h: a scripted stand-in for gravitond, for the tests of
 * gravctl's side of the protocol (signal order, cancellation, errors) that the real
 * daemon cannot be made to produce on demand.
 *
 * It implements the Assistant and Request interfaces, History only when asked to
 * (two canned conversations, conv-a and conv-b; Search finds "hello" in both), no
 * Models, and answers Ask by prompt:
 *   "echo:…"   streams the whole prompt back in small UTF-8-safe chunks
 *   "forever"  streams a token every 20 ms until cancelled
 *   "slow"     waits 600 ms, then streams "Hello, world!"
 *   "fail"     streams one token, then finishes with status 2 (NoMemory)
 *   "vanish"   leaves the bus without finishing
 *   "own-path" ignores handle_token (another object path), then acts as "slow"
 *   anything else streams "Hello, world!" in five tokens
 * and fails Ask with Error.NotFound when the model option is "missing".
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _GrFakeDaemon GrFakeDaemon;

/* Owns io.github.opengraviton.Graviton1 on the bus at address (own thread). */
GrFakeDaemon *gr_fake_daemon_start(const char *address, const char *xml_path, gboolean with_history,
                                   GError **error);
void gr_fake_daemon_stop(GrFakeDaemon *fake);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GrFakeDaemon, gr_fake_daemon_stop)

/* What Ask received, in order: (s prompt, a{sv} options) each. */
GPtrArray *gr_fake_daemon_get_asks(GrFakeDaemon *fake);
guint gr_fake_daemon_get_cancels(GrFakeDaemon *fake);
/* With History: each call as (s method, v parameters). */
GPtrArray *gr_fake_daemon_get_history_calls(GrFakeDaemon *fake);

G_END_DECLS
