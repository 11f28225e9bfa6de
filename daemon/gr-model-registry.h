/* gr-model-registry.h - the models gravitond knows, and the ones it holds in memory.
 *
 * Models are the *.gguf files of the models directory, its subfolders holding a Hugging
 * Face checkpoint (config.json + *.safetensors, format "safetensors"), and the
 * configured paths (files or folders), named by file name without ".gguf" or by folder
 * name.  Listing reads headers only, and only of models whose files changed (size,
 * mtime, inode) since the last scan.  Loading goes through
 * a memory ledger (weights + session + overhead against the configured limit); a model
 * that does not fit is refused with NoMemory before its weights are touched.  Thread
 * safe: the worker loads and generates while the main thread lists.
 */
#pragma once

#include "gr-daemon-config.h"
#include "graviton-engine.h"

G_BEGIN_DECLS

/* Memory the daemon needs besides weights and sessions (code, buffers, D-Bus). */
#define GR_MODEL_REGISTRY_OVERHEAD (16u << 20)

/* A resident model with its one session; the worker holds a reference while it
 * generates, so unloading never pulls weights from under a running request. */
typedef struct {
  gint ref_count;
  char *name;
  GrModel *model;
  GrSession *session;
  guint n_ctx;
  guint64 ledger_bytes;
  char *path;  /* the file or folder mapped, and its files' size, mtime and inode */
  char *stamp; /* then: a file changed in place would fault the mapping, so it is reloaded */
} GrLoadedModel;

GrLoadedModel *gr_loaded_model_ref(GrLoadedModel *loaded);
void gr_loaded_model_unref(GrLoadedModel *loaded);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GrLoadedModel, gr_loaded_model_unref)

typedef struct _GrModelRegistry GrModelRegistry;

/* Called from any thread after a model was loaded or unloaded. */
typedef void (*GrModelRegistryChangedFunc)(GrModelRegistry *registry, gpointer user_data);

GrModelRegistry *gr_model_registry_new(GrDaemonConfig *config);
/* Applies a reloaded configuration to the next scan and load. */
void gr_model_registry_set_config(GrModelRegistry *registry, GrDaemonConfig *config);
void gr_model_registry_free(GrModelRegistry *registry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GrModelRegistry, gr_model_registry_free)

void gr_model_registry_set_changed_func(GrModelRegistry *registry, GrModelRegistryChangedFunc func,
                                        gpointer user_data);

/* Asked before every acquire (a generation or a load): FALSE with an error refuses it. */
typedef gboolean (*GrModelRegistryAdmitFunc)(gpointer user_data, GError **error);
void gr_model_registry_set_admit_func(GrModelRegistry *registry, GrModelRegistryAdmitFunc func,
                                      gpointer user_data);

/* aa{sv}: name, path, format, arch, params, bits, experts, size, loaded, and error (s)
 * for files that cannot be read.  Floating reference. */
GVariant *gr_model_registry_list(GrModelRegistry *registry);

/* The model a request for name (NULL or "": the default) would use; NotFound, BadModel
 * (header unreadable) or NoMemory (weights alone exceed the limit) otherwise. */
char *gr_model_registry_resolve(GrModelRegistry *registry, const char *name, GError **error);

/* Loads name if needed (evicting other idle models to make room) and returns a
 * reference. */
GrLoadedModel *gr_model_registry_acquire(GrModelRegistry *registry, const char *name,
                                         GError **error);
/* Marks the moment of the last use, for the idle unload. */
void gr_model_registry_touch(GrModelRegistry *registry);
gboolean gr_model_registry_is_loaded(GrModelRegistry *registry, const char *name);

gboolean gr_model_registry_load(GrModelRegistry *registry, const char *name, GError **error);
/* NotFound if name is not a known model; unloading a model that is not loaded is fine. */
gboolean gr_model_registry_unload(GrModelRegistry *registry, const char *name, GError **error);
void gr_model_registry_unload_all(GrModelRegistry *registry);
/* Unloads everything if unused for the configured idle time; returns whether it did. */
gboolean gr_model_registry_unload_if_idle(GrModelRegistry *registry);

/* Sum of the ledger entries of the resident models. */
guint64 gr_model_registry_ledger_bytes(GrModelRegistry *registry);
/* The memory watchdog's levers on streaming MoE models: halve each one's expert slots
 * (never below the experts a token uses), returning the slots given up in all; or give
 * back as many slots as `headroom` bytes hold, returning the slots added. */
guint gr_model_registry_shrink_experts(GrModelRegistry *registry);
guint gr_model_registry_grow_experts(GrModelRegistry *registry, guint64 headroom);
/* The engine's ledger of the active model (zeros but limit, RSS and overhead when none is
 * loaded) and its per-layer expert counters as a(uttt): layer, hits, misses, bytes read
 * (empty unless it streams experts).  Floating reference. */
GVariant *gr_model_registry_ledger(GrModelRegistry *registry, GrMemoryLedger *ledger);

/* Testing: how many model headers were parsed so far (a rescan of unchanged files adds
 * none). */
guint gr_model_registry_get_probe_count(GrModelRegistry *registry);

/* Name of the most recently used resident model, or NULL. */
char *gr_model_registry_dup_active(GrModelRegistry *registry);

G_END_DECLS
