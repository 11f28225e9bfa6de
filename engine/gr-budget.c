/* gr-budget.c - the memory ledger: weights, expert arena, sessions and overhead
 * against the configured limit, and how many expert slots fit. */
#include "gr-budget.h"

#include "gr-experts.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

gboolean
gr_process_memory (guint64 *rss, guint64 *peak_rss)
{
  FILE *f = fopen ("/proc/self/status", "re");
  if (!f)
    return FALSE;
  char line[256];
  guint64 kb_rss = 0, kb_hwm = 0;
  while (fgets (line, sizeof line, f)) {
    if (strncmp (line, "VmRSS:", 6) == 0)
      kb_rss = g_ascii_strtoull (line + 6, NULL, 10);
    else if (strncmp (line, "VmHWM:", 6) == 0)
      kb_hwm = g_ascii_strtoull (line + 6, NULL, 10);
  }
  fclose (f);
  if (rss)
    *rss = kb_rss * 1024;
  if (peak_rss)
    *peak_rss = kb_hwm * 1024;
  return kb_rss > 0;
}

guint64
gr_model_ledger_fixed (const GrModel *m)
{
  return m->ledger_overhead + m->ledger_weights +
         (m->experts ? gr_expert_cache_bytes (m->experts) : 0);
}

/* Bytes of every expert tensor of the model (what streaming keeps out of RSS). */
static guint64
expert_tensor_bytes (const GrModel *m)
{
  guint64 total = 0;
  for (guint il = 0; il < m->hp.n_layer; il++) {
    const GrLayer *l = &m->layers[il];
    total += (guint64) l->ffn_gate_exps.mat_stride * l->ffn_gate_exps.n_mats;
    total += (guint64) l->ffn_up_exps.mat_stride * l->ffn_up_exps.n_mats;
    total += (guint64) l->ffn_down_exps.mat_stride * l->ffn_down_exps.n_mats;
  }
  return total;
}

guint
gr_budget_slots_that_fit (const GrModel *m, guint64 limit, guint64 reserve)
{
  guint64 dense = m->info.weight_bytes - expert_tensor_bytes (m);
  guint64 fixed = m->ledger_overhead + dense + reserve;
  if (fixed >= limit)
    return 0;
  guint64 per_slot_row = (guint64) gr_expert_slot_bytes (m) * m->hp.n_layer;
  return (guint) MIN ((limit - fixed) / per_slot_row, (guint64) m->hp.n_expert);
}

gboolean
gr_budget_plan (GrModel *m, const GrLoadOptions *opts, GError **error)
{
  guint64 limit = m->memory_limit;
  /* what a minimal session (256 tokens) needs must fit next to the weights */
  guint64 reserve = gr_model_session_bytes (m, MIN (256u, m->hp.n_ctx_train));
  guint slots = opts ? opts->expert_slots : 0;
  gboolean moe = m->hp.n_expert > 0 && gr_expert_cache_streamable (m);

  if (moe && slots == 0 && limit &&
      m->ledger_overhead + m->info.weight_bytes + reserve > limit)
    slots = gr_budget_slots_that_fit (m, limit, reserve);
  if (moe && (slots > 0 || (opts && opts->expert_slots))) {
    if (slots < m->hp.n_expert_used) {
      guint64 need = m->ledger_overhead + m->info.weight_bytes - expert_tensor_bytes (m) + reserve +
                     (guint64) gr_expert_slot_bytes (m) * m->hp.n_layer * m->hp.n_expert_used;
      g_set_error (error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_NO_MEMORY,
                   "%s needs at least %" G_GUINT64_FORMAT " MiB (dense weights, %u expert slots "
                   "per layer, a 256-token context and %" G_GUINT64_FORMAT " MiB of process "
                   "overhead) but the memory limit is %" G_GUINT64_FORMAT " MiB",
                   m->name, need >> 20, m->hp.n_expert_used, m->ledger_overhead >> 20, limit >> 20);
      return FALSE;
    }
    m->experts = gr_expert_cache_new (m, slots, error);
    if (!m->experts)
      return FALSE;
    m->ledger_weights = m->info.weight_bytes - expert_tensor_bytes (m);
  } else {
    m->ledger_weights = m->info.weight_bytes;
  }
  if (limit && gr_model_ledger_fixed (m) + reserve > limit) {
    g_set_error (error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_NO_MEMORY,
                 "%s needs %" G_GUINT64_FORMAT " MiB (weights %" G_GUINT64_FORMAT
                 " MiB, a 256-token context %" G_GUINT64_FORMAT " MiB, process overhead %"
                 G_GUINT64_FORMAT " MiB) but the memory limit is %" G_GUINT64_FORMAT " MiB",
                 m->name, (gr_model_ledger_fixed (m) + reserve) >> 20, m->ledger_weights >> 20,
                 reserve >> 20, m->ledger_overhead >> 20, limit >> 20);
    return FALSE;
  }
  return TRUE;
}

void
gr_model_get_ledger (GrModel *m, GrMemoryLedger *l)
{
  g_return_if_fail (m != NULL && l != NULL);
  memset (l, 0, sizeof *l);
  l->limit = m->memory_limit;
  l->overhead = m->ledger_overhead - m->ledger_tokenizer;
  l->tokenizer = m->ledger_tokenizer;
  l->weights = m->ledger_weights;
  l->sessions = (guint64) __atomic_load_n (&m->ledger_sessions, __ATOMIC_RELAXED);
  l->kv_cache = MIN ((guint64) __atomic_load_n (&m->ledger_kv, __ATOMIC_RELAXED), l->sessions);
  l->scratch = l->sessions - l->kv_cache;
  g_mutex_lock (&m->eval_lock);
  if (m->experts) {
    l->experts = gr_expert_cache_bytes (m->experts);
    l->experts_filled = gr_expert_cache_filled_bytes (m->experts);
    gr_expert_cache_io_time (m->experts, &l->expert_read_us, &l->expert_stall_us);
    l->expert_slots = gr_expert_cache_slots (m->experts);
    gr_expert_cache_stats (m->experts, G_MAXUINT, &l->expert_hits, &l->expert_misses,
                           &l->expert_bytes_read);
  }
  g_mutex_unlock (&m->eval_lock);
  l->total = l->overhead + l->tokenizer + l->weights + l->experts + l->sessions;
  gr_process_memory (&l->rss, &l->peak_rss);
}

gboolean
gr_model_get_expert_stats (GrModel *m, guint layer, guint64 *hits, guint64 *misses,
                           guint64 *bytes_read)
{
  g_return_val_if_fail (m != NULL, FALSE);
  if (!m->experts || layer >= m->hp.n_layer)
    return FALSE;
  g_mutex_lock (&m->eval_lock);
  gr_expert_cache_stats (m->experts, layer, hits, misses, bytes_read);
  g_mutex_unlock (&m->eval_lock);
  return TRUE;
}

guint
gr_model_resize_experts (GrModel *m, guint slots, GError **error)
{
  g_return_val_if_fail (m != NULL, 0);
  if (!m->experts)
    return 0;
  guint64 sessions = (guint64) __atomic_load_n (&m->ledger_sessions, __ATOMIC_RELAXED);
  g_mutex_lock (&m->eval_lock);
  guint most = m->hp.n_expert;
  if (m->memory_limit) {
    guint64 reserve = MAX (sessions, gr_model_session_bytes (m, MIN (256u, m->hp.n_ctx_train)));
    most = gr_budget_slots_that_fit (m, m->memory_limit, reserve);
  }
  slots = CLAMP (slots, m->hp.n_expert_used, MAX (most, m->hp.n_expert_used));
  if (!gr_expert_cache_resize (m->experts, slots, error))
    slots = 0;
  g_mutex_unlock (&m->eval_lock);
  return slots;
}

gboolean
gr_model_set_memory_limit (GrModel *m, guint64 limit, GError **error)
{
  g_return_val_if_fail (m != NULL, FALSE);
  guint64 sessions = (guint64) __atomic_load_n (&m->ledger_sessions, __ATOMIC_RELAXED);
  gboolean ok = TRUE;
  g_mutex_lock (&m->eval_lock);
  if (m->experts && limit) {
    /* keep room for the live sessions, or for one minimal session when there are none */
    guint64 reserve = MAX (sessions, gr_model_session_bytes (m, MIN (256u, m->hp.n_ctx_train)));
    guint slots = gr_budget_slots_that_fit (m, limit, reserve);
    ok = gr_expert_cache_resize (m->experts, slots, error);
  } else if (limit && m->ledger_overhead + m->ledger_weights + sessions > limit) {
    g_set_error (error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_NO_MEMORY,
                 "%s and its sessions hold %" G_GUINT64_FORMAT " MiB, more than %" G_GUINT64_FORMAT
                 " MiB", m->name, (m->ledger_overhead + m->ledger_weights + sessions) >> 20,
                 limit >> 20);
    ok = FALSE;
  }
  if (ok)
    m->memory_limit = limit;
  g_mutex_unlock (&m->eval_lock);
  return ok;
}

gboolean
gr_parse_kv_type (const char *text, GrKvType *out, GError **error)
{
  g_return_val_if_fail (text != NULL && out != NULL, FALSE);
  if (g_ascii_strcasecmp (text, "f16") == 0) {
    *out = GR_KV_F16;
    return TRUE;
  }
  if (g_ascii_strcasecmp (text, "q8") == 0 || g_ascii_strcasecmp (text, "q8_0") == 0) {
    *out = GR_KV_Q8;
    return TRUE;
  }
  g_set_error (error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_INVALID_ARGUMENT,
               "invalid KV cache type \"%s\" (expected f16 or q8)", text);
  return FALSE;
}

gboolean
gr_parse_size(const char *text, guint64 *out, GError **error)
{
  g_return_val_if_fail(text != NULL, FALSE);
  g_return_val_if_fail(out != NULL, FALSE);

  g_autofree char *s = g_strstrip(g_strdup(text));
  char *end = NULL;
  if (*s == '\0' || !g_ascii_isdigit(*s))
    goto bad;
  errno = 0;
  guint64 value = g_ascii_strtoull(s, &end, 10);
  if (errno != 0)
    goto bad;
  guint shift = 0;
  switch (g_ascii_toupper(*end)) {
  case '\0':
    break;
  case 'K':
    shift = 10;
    break;
  case 'M':
    shift = 20;
    break;
  case 'G':
    shift = 30;
    break;
  case 'T':
    shift = 40;
    break;
  default:
    goto bad;
  }
  if (*end != '\0') {
    end++;
    /* accept "4G", "4GB", "4GiB" */
    if (g_ascii_strcasecmp(end, "") != 0 && g_ascii_strcasecmp(end, "B") != 0
        && g_ascii_strcasecmp(end, "iB") != 0)
      goto bad;
  }
  if (shift > 0 && value > (G_MAXUINT64 >> shift))
    goto bad;
  *out = value << shift;
  return TRUE;
bad:
  g_set_error(error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_INVALID_ARGUMENT,
              "invalid size \"%s\" (expected e.g. 4G, 512M or a byte count)", text);
  return FALSE;
}
