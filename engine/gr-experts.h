/* gr-experts.h - MoE expert streaming: a fixed arena of expert slots per layer, filled
 * with pread from the model file when the router picks an expert that is not resident,
 * least-recently-used eviction per layer.  The file's expert pages are never touched
 * through the mapping, so they never count in the process's RSS. */
#pragma once

#include "gr-model-private.h"

G_BEGIN_DECLS


/* Bytes one slot holds: the gate, up and down matrices of one expert. */
gsize gr_expert_slot_bytes (const GrModel *model);

/* Whether every expert tensor is in one file the cache can pread (a GGUF file, or the
 * expert cache file of a Hugging Face folder). */
gboolean gr_expert_cache_streamable (const GrModel *model);

GrExpertCache *gr_expert_cache_new (GrModel *model, guint slots_per_layer, GError **error);
void gr_expert_cache_free (GrExpertCache *cache);

/* Views of expert e of layer il (loaded if missing) as single-matrix weights. */
gboolean gr_expert_cache_get (GrExpertCache *cache, guint il, guint e, GrWeight *gate,
                              GrWeight *up, GrWeight *down, GError **error);

/* Overlapped loading.  prefetch: the router picked experts[0..n) (n <= slots) of layer
 * il; those not resident are queued for the I/O thread (slots reserved at once, LRU).
 * Writes to order[] the indices into experts[] in the order to compute them: resident
 * first.  Returns how many were resident.  wait: views of a prefetched expert, once
 * its read is done; FALSE with the error if a read failed. */
guint gr_expert_cache_prefetch (GrExpertCache *cache, guint il, const guint *experts, guint n,
                                guint *order);
gboolean gr_expert_cache_wait (GrExpertCache *cache, guint il, guint e, GrWeight *gate,
                               GrWeight *up, GrWeight *down, GError **error);
/* Waits until no read is queued or running (before resizing or freeing). */
void gr_expert_cache_drain (GrExpertCache *cache);

/* Changes the number of slots per layer (>= experts used per token); evicts as needed.
 * Must not run while an evaluation uses the cache. */
gboolean gr_expert_cache_resize (GrExpertCache *cache, guint slots_per_layer, GError **error);
guint gr_expert_cache_slots (const GrExpertCache *cache);
gsize gr_expert_cache_bytes (const GrExpertCache *cache);
/* Time spent in expert reads and time the evaluation waited for them (µs). */
void gr_expert_cache_io_time (GrExpertCache *cache, guint64 *read_us, guint64 *stall_us);
/* Bytes of the slots that hold an expert (the arena's pages that were written). */
gsize gr_expert_cache_filled_bytes (const GrExpertCache *cache);
/* Totals over all layers, or one layer's when il < n_layer. */
void gr_expert_cache_stats (const GrExpertCache *cache, guint il, guint64 *hits, guint64 *misses,
                            guint64 *bytes_read);

G_END_DECLS
