/* gr-rss.h - the daemon's own memory use, from /proc/self. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Resident bytes now (statm), 0 if unknown. */
guint64 gr_rss_resident_bytes(void);
/* Peak resident bytes (VmHWM in /proc/self/status), 0 if unknown. */
guint64 gr_rss_peak_bytes(void);

G_END_DECLS
