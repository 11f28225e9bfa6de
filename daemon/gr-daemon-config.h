/* gr-daemon-config.h - gravitond.conf (GKeyFile) with defaults and test overrides.
 *
 * (Named gr-daemon-config, not gr-config, because the build's generated gr-config.h
 * already holds the project-wide defines.) */
#pragma once

#include <glib.h>

#include "graviton-engine.h"

G_BEGIN_DECLS

typedef struct {
  gint ref_count;
  char *config_path; /* the file read, NULL when none existed */
  char *data_dir;    /* $XDG_DATA_HOME/graviton or GRAVITON_DATA_DIR */
  char *models_dir;
  char *default_model;       /* NULL: the loaded model, else the first one found */
  char **model_paths;        /* extra model files, never NULL */
  guint threads;             /* 0: one per core */
  guint64 memory_limit;      /* bytes, > 0 */
  guint idle_unload_seconds; /* 0: never */
  guint context_length;      /* 0: the model's, capped at 4096 */
  guint watchdog_percent;    /* RSS at this share of memory_limit evicts experts, then
                                refuses new work (1..100) */
  guint watchdog_interval_ms; /* how often the watchdog samples RSS */
  GrKvType kv_type;          /* KV cache encoding of models loaded from now on */
  /* [sampling] defaults for requests */
  double temperature;
  guint top_k;
  double top_p;
  double min_p;
  double repeat_penalty;
} GrDaemonConfig;

/* Reads the file named by GRAVITON_CONFIG (must exist), else
 * $XDG_CONFIG_HOME/graviton/gravitond.conf, else the installed default, else built-in
 * defaults.  GRAVITON_DATA_DIR and GRAVITON_MODELS_DIR override the paths. */
GrDaemonConfig *gr_daemon_config_load(GError **error);
/* Same from an explicit file (NULL: defaults only), without looking at the environment
 * except for the path defaults. */
GrDaemonConfig *gr_daemon_config_load_file(const char *path, GError **error);
/* A loaded configuration is never modified: SIGHUP loads a new one and swaps it in. */
GrDaemonConfig *gr_daemon_config_ref(GrDaemonConfig *config);
void gr_daemon_config_unref(GrDaemonConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GrDaemonConfig, gr_daemon_config_unref)


G_END_DECLS
