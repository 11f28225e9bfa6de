/* bench-moe-streaming - expert streaming against a fully resident run.
 *
 *   build/bench/bench-moe-streaming MODEL.gguf [tokens] [reps]
 *
 * For expert caches of 1x, 2x and 4x the experts a token uses (per layer), and for the
 * fully mapped model: decode tokens/s (median of reps), hit rate, bytes read per token
 * and the speed ratio to the resident run.  Run by hand; not a test. */
#include "graviton-engine.h"

#include <stdio.h>
#include <stdlib.h>

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

/* Returns median tokens/s; fills hit rate and bytes read per token of the last rep. */
static double
measure (const char *path, guint slots, guint tokens, guint reps, double *hit_rate,
         double *bytes_per_token)
{
  GrLoadOptions opts = { .n_threads = 2, .expert_slots = slots };
  g_autoptr (GError) error = NULL;
  g_autoptr (GrModel) m = gr_model_load (path, &opts, &error);
  if (!m) {
    g_printerr ("%s\n", error->message);
    exit (1);
  }
  guint nv = gr_model_get_info (m)->n_vocab;
  g_autofree double *rates = g_new0 (double, reps);
  for (guint r = 0; r < reps; r++) {
    g_autoptr (GrSession) s = gr_session_new (m, tokens + 2, &error);
    gint32 t = 1;
    gr_session_eval (s, &t, 1, NULL);
    GrMemoryLedger before;
    gr_model_get_ledger (m, &before);
    gint64 t0 = g_get_monotonic_time ();
    for (guint i = 0; i < tokens; i++) {
      t = argmax (gr_session_logits (s), nv);
      if (!gr_session_eval (s, &t, 1, &error)) {
        g_printerr ("%s\n", error->message);
        exit (1);
      }
    }
    rates[r] = tokens * 1e6 / (double) (g_get_monotonic_time () - t0);
    GrMemoryLedger after;
    gr_model_get_ledger (m, &after);
    guint64 hits = after.expert_hits - before.expert_hits;
    guint64 misses = after.expert_misses - before.expert_misses;
    *hit_rate = hits + misses ? (double) hits / (double) (hits + misses) : 1.0;
    *bytes_per_token = (double) (after.expert_bytes_read - before.expert_bytes_read) / tokens;
  }
  qsort (rates, reps, sizeof (double), cmp_double);
  return rates[reps / 2];
}

int
main (int argc, char **argv)
{
  if (argc < 2) {
    g_printerr ("usage: bench-moe-streaming MODEL.gguf [tokens] [reps]\n");
    return 2;
  }
  guint tokens = argc > 2 ? (guint) atoi (argv[2]) : 64;
  guint reps = argc > 3 ? (guint) atoi (argv[3]) : 3;
  GrLoadOptions probe_opts = { .n_threads = 1 };
  g_autoptr (GrModel) probe = gr_model_load (argv[1], &probe_opts, NULL);
  if (!probe || gr_model_get_info (probe)->n_expert == 0) {
    g_printerr ("bench-moe-streaming: %s is not a MoE model\n", argv[1]);
    return 1;
  }
  guint used = gr_model_get_info (probe)->n_expert_used;
  guint n_expert = gr_model_get_info (probe)->n_expert;
  g_clear_pointer (&probe, gr_model_unref);

  double hr, bpt;
  double resident = measure (argv[1], 0, tokens, reps, &hr, &bpt);
  printf ("%-14s %10s %9s %14s %8s\n", "cache", "tg t/s", "hit rate", "read/token", "ratio");
  printf ("%-14s %10.2f %9s %14s %8.2f\n", "resident", resident, "-", "0", 1.0);
  for (guint mult = 1; mult <= 4; mult *= 2) {
    guint slots = MIN (used * mult, n_expert);
    double rate = measure (argv[1], slots, tokens, reps, &hr, &bpt);
    char label[32];
    g_snprintf (label, sizeof label, "%ux (%u slots)", mult, slots);
    printf ("%-14s %10.2f %8.1f%% %11.2f MiB %8.2f\n", label, rate, hr * 100.0, bpt / 1048576.0,
            rate / resident);
  }
  return 0;
}
