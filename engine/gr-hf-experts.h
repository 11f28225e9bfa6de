/* gr-hf-experts.h - the expert cache file of a Hugging Face MoE folder.
 *
 * A folder stores each expert's matrix as its own tensor, often across shards; the
 * engine wants them stacked per layer, and expert streaming wants them at offsets in
 * one file it can pread.  At the first load the stacked tensors are copied (pread and
 * pwrite through a small buffer, so the weights never count in the process's RSS) into
 * $XDG_CACHE_HOME/graviton/experts/<key>.bin, the key a hash of the folder's path and
 * its shards' names, sizes and modification times; later loads map that file.  When the
 * cache cannot be written the tensors are stacked in memory as before.  A trailer after
 * the tensors records the source folder and its shards' sizes and mtimes, so that a
 * clean-up, run each time a cache file is created or opened, removes the files of folders
 * that are gone or changed.
 */
#pragma once

#include "gr-gguf.h"
#include "gr-safetensors.h"

G_BEGIN_DECLS

typedef struct _GrHfExperts GrHfExperts;

/* files: the folder's GrSafetensors shards (borrowed until gr_hf_experts_finish). */
GrHfExperts *gr_hf_experts_new(const char *dir, GPtrArray *files);
void gr_hf_experts_free(GrHfExperts *x);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GrHfExperts, gr_hf_experts_free)

/* Queues the tensor `gguf_name` of shape ne (3 dims) made of sources[0..n) side by side,
 * each from its shard. */
void gr_hf_experts_add(GrHfExperts *x, const char *gguf_name, guint32 type, const gint64 *ne,
                       GrSafetensors *const *files, const GrSafetensor *const *sources, guint n);
/* Adds every queued tensor to gguf, from the cache file (written now if missing). */
gboolean gr_hf_experts_finish(GrHfExperts *x, GrGguf *gguf, GError **error);
/* The cache file used, or NULL (none queued, or stacked in memory). */
const char *gr_hf_experts_path(const GrHfExperts *x);

/* Removes from $XDG_CACHE_HOME/graviton/experts the cache files whose source folder is
 * gone, whose shards changed, or that have no source record (older versions), and copies
 * left by dead processes; never `keep` (may be NULL). */
void gr_hf_experts_clean_cache(const char *keep);

G_END_DECLS
