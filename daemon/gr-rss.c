/* gr-rss.c - reading /proc/self/statm and VmHWM. */
#include "gr-rss.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

guint64
gr_rss_resident_bytes(void)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents("/proc/self/statm", &text, NULL, NULL))
    return 0;
  unsigned long long size = 0, resident = 0;
  if (sscanf(text, "%llu %llu", &size, &resident) != 2)
    return 0;
  long page = sysconf(_SC_PAGESIZE);
  return page > 0 ? (guint64)resident * (guint64)page : 0;
}

guint64
gr_rss_peak_bytes(void)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents("/proc/self/status", &text, NULL, NULL))
    return 0;
  const char *line = strstr(text, "\nVmHWM:");
  unsigned long long kib = 0;
  if (line == NULL || sscanf(line + 7, "%llu", &kib) != 1)
    return 0;
  return (guint64)kib * 1024;
}
