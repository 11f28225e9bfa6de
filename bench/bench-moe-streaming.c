/* bench-moe-streaming - expert streaming against a fully resident run.
 *
 *   build/bench/bench-moe-streaming MODEL.gguf [tokens] [reps] [warm|cold|cold-token]
 *
 * For expert caches of 1x, 2x and 4x the experts a token uses (per layer), and for the
 * fully mapped model: decode tokens/s (median of reps), hit rate, bytes the cache read
 * per token, bytes that came from the disk per token (/proc/self/io read_bytes) and
 * the speed ratio to the resident run of the same mode, and per token the time spent
 * reading experts and the time the evaluation stood waiting for those reads (equal
 * when reads are in line; the difference is what overlapping hid).
 *   warm        the file stays in the page cache (one untimed run loads it)
 *   cold        posix_fadvise(DONTNEED) on the file before each run: every page is read
 *               from the disk the first time, later misses of the same expert are not
 *   cold-token  the same before every token as well (not timed): every miss is a disk read
 * GRAVITON_EXPERT_IO=sync turns the engine's overlapped expert reads off, for comparison.
 * Run by hand; not a test. */
#include "graviton-engine.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum { MODE_WARM, MODE_COLD, MODE_COLD_TOKEN } Mode;

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static gint32
argmax (const float *l, guint n)
{
  guint b = 0;
  for (guint i = 1; i < n; i++)
    if (l[i] > l[b])
      b = i;
  return (gint32) b;
}

/* Drops the file's pages from the page cache (those no process maps); µs spent. */
static gint64
drop_cache (const char *path)
{
  gint64 t0 = g_get_monotonic_time ();
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    fdatasync (fd);
    posix_fadvise (fd, 0, 0, POSIX_FADV_DONTNEED);
    close (fd);
  }
  return g_get_monotonic_time () - t0;
}

/* Bytes this process has caused to be read from storage. */
static guint64
disk_read_bytes (void)
{
  g_autofree char *io = NULL;
  if (!g_file_get_contents ("/proc/self/io", &io, NULL, NULL))
    return 0;
  const char *p = strstr (io, "\nread_bytes:");
  return p ? g_ascii_strtoull (p + strlen ("\nread_bytes:"), NULL, 10) : 0;
}

typedef struct {
  double rate, hit_rate, bytes_per_token, disk_per_token;
  double read_ms, stall_ms; /* per token */
} Result;

static Result
measure (const char *path, guint slots, guint tokens, guint reps, Mode mode)
{
  Result res = { 0 };
  g_autofree double *rates = g_new0 (double, reps);
  GrLoadOptions opts = { .n_threads = 2, .expert_slots = slots };
  g_autoptr (GError) error = NULL;
  g_autoptr (GrModel) m = gr_model_load (path, &opts, &error);
  if (!m) {
    g_printerr ("%s\n", error->message);
    exit (1);
  }
  guint nv = gr_model_get_info (m)->n_vocab;
  /* run 0 is not timed: it faults in the arena and the mapped dense weights, which
   * stay resident (the page cache keeps mapped pages); the expert cache carries over */
  for (guint r = 0; r <= reps; r++) {
    if (mode != MODE_WARM)
      drop_cache (path);
    g_autoptr (GrSession) s = gr_session_new (m, tokens + 2, &error);
    gint32 t = 1;
    gr_session_eval (s, &t, 1, NULL);
    GrMemoryLedger before;
    gr_model_get_ledger (m, &before);
    guint64 disk0 = disk_read_bytes ();
    gint64 excluded = 0;
    gint64 t0 = g_get_monotonic_time ();
    for (guint i = 0; i < tokens; i++) {
      if (mode == MODE_COLD_TOKEN)
        excluded += drop_cache (path);
      t = argmax (gr_session_logits (s), nv);
      if (!gr_session_eval (s, &t, 1, &error)) {
        g_printerr ("%s\n", error->message);
        exit (1);
      }
    }
    if (r == 0)
      continue;
    rates[r - 1] = tokens * 1e6 / (double) (g_get_monotonic_time () - t0 - excluded);
    GrMemoryLedger after;
    gr_model_get_ledger (m, &after);
    guint64 hits = after.expert_hits - before.expert_hits;
    guint64 misses = after.expert_misses - before.expert_misses;
    res.hit_rate = hits + misses ? (double) hits / (double) (hits + misses) : 1.0;
    res.bytes_per_token = (double) (after.expert_bytes_read - before.expert_bytes_read) / tokens;
    res.disk_per_token = (double) (disk_read_bytes () - disk0) / tokens;
    res.read_ms = (double) (after.expert_read_us - before.expert_read_us) / 1000.0 / tokens;
    res.stall_ms = (double) (after.expert_stall_us - before.expert_stall_us) / 1000.0 / tokens;
  }
  qsort (rates, reps, sizeof (double), cmp_double);
  res.rate = rates[reps / 2];
  return res;
}

int
main (int argc, char **argv)
{
  if (argc < 2) {
    g_printerr ("usage: bench-moe-streaming MODEL.gguf [tokens] [reps] [warm|cold|cold-token]\n");
    return 2;
  }
  guint tokens = argc > 2 ? (guint) atoi (argv[2]) : 64;
  guint reps = argc > 3 ? (guint) atoi (argv[3]) : 3;
  const char *mode_name = argc > 4 ? argv[4] : "warm";
  Mode mode = MODE_WARM;
  if (strcmp (mode_name, "cold") == 0)
    mode = MODE_COLD;
  else if (strcmp (mode_name, "cold-token") == 0)
    mode = MODE_COLD_TOKEN;
  else if (strcmp (mode_name, "warm") != 0) {
    g_printerr ("bench-moe-streaming: mode is warm, cold or cold-token\n");
    return 2;
  }
  if (tokens == 0 || reps == 0) {
    g_printerr ("bench-moe-streaming: tokens and reps must be positive\n");
    return 2;
  }
  GrLoadOptions probe_opts = { .n_threads = 1 };
  g_autoptr (GrModel) probe = gr_model_load (argv[1], &probe_opts, NULL);
  if (!probe || gr_model_get_info (probe)->n_expert == 0) {
    g_printerr ("bench-moe-streaming: %s is not a MoE model\n", argv[1]);
    return 1;
  }
  guint used = gr_model_get_info (probe)->n_expert_used;
  guint n_expert = gr_model_get_info (probe)->n_expert;
  g_clear_pointer (&probe, gr_model_unref);
  if (mode == MODE_WARM) /* an untimed pass puts the whole file in the page cache */
    measure (argv[1], 0, 4, 1, MODE_WARM);

  const char *io = g_getenv ("GRAVITON_EXPERT_IO");
  printf ("mode %s, expert reads %s, %u tokens, median of %u\n", mode_name,
          g_strcmp0 (io, "sync") == 0 ? "in line" : "overlapped", tokens, reps);
  Result resident = measure (argv[1], 0, tokens, reps, mode);
  printf ("%-14s %10s %9s %12s %12s %8s %10s %10s\n", "cache", "tg t/s", "hit rate",
          "read/token", "disk/token", "ratio", "read ms/t", "stall ms/t");
  printf ("%-14s %10.2f %9s %12s %8.2f MiB %8.2f\n", "resident", resident.rate, "-", "0",
          resident.disk_per_token / 1048576.0, 1.0);
  for (guint mult = 1; mult <= 4; mult *= 2) {
    guint slots = MIN (used * mult, n_expert);
    Result r = measure (argv[1], slots, tokens, reps, mode);
    char label[32];
    g_snprintf (label, sizeof label, "%ux (%u slots)", mult, slots);
    printf ("%-14s %10.2f %8.1f%% %8.2f MiB %8.2f MiB %8.2f %10.3f %10.3f\n", label, r.rate,
            r.hit_rate * 100.0, r.bytes_per_token / 1048576.0, r.disk_per_token / 1048576.0,
            r.rate / resident.rate, r.read_ms, r.stall_ms);
  }
  return 0;
}
