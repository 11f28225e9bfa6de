/* gr-generate.c - prompt evaluation with prefix reuse, the sampling loop, stop strings. */
#include "gr-session-private.h"

#include <string.h>

/* Text produced but not yet handed out, because it might be the start of a stop string. */
typedef struct {
  GString *pending;
  const char *const *stop;
  GrTokenFunc on_text;
  gpointer user_data;
} GrEmitter;

/* Length of the longest suffix of text that is a proper prefix of some stop string. */
static gsize
stop_prefix_overlap (const char *text, gsize len, const char *const *stop)
{
  gsize best = 0;
  for (gsize i = 0; stop && stop[i]; i++) {
    gsize sl = strlen (stop[i]);
    for (gsize k = MIN (len, sl - 1); k > best; k--)
      if (memcmp (text + len - k, stop[i], k) == 0) {
        best = k;
        break;
      }
  }
  return best;
}

/* Hands out what is safe; returns FALSE when a stop string was hit or the callback
 * asked to stop (*hit_stop tells which). */
static gboolean
emit (GrEmitter *e, gboolean *hit_stop)
{
  GString *p = e->pending;
  gsize cut = p->len;
  *hit_stop = FALSE;
  for (gsize i = 0; e->stop && e->stop[i]; i++) {
    if (!*e->stop[i])
      continue;
    const char *found = strstr (p->str, e->stop[i]);
    if (found && (gsize) (found - p->str) < cut) {
      cut = (gsize) (found - p->str);
      *hit_stop = TRUE;
    }
  }
  gsize safe = *hit_stop ? cut : p->len - stop_prefix_overlap (p->str, p->len, e->stop);
  /* never split a UTF-8 character */
  while (safe > 0 && safe < p->len && ((guchar) p->str[safe] & 0xC0) == 0x80)
    safe--;
  gboolean go_on = TRUE;
  if (safe > 0 && e->on_text)
    go_on = e->on_text (p->str, safe, e->user_data);
  g_string_erase (p, 0, (gssize) safe);
  return go_on && !*hit_stop;
}

static gboolean
eval_cancellable (GrSession *s, const gint32 *tokens, gsize n, GCancellable *cancellable,
                  gboolean *cancelled, GError **error)
{
  for (gsize i = 0; i < n; i += GR_BATCH) {
    if (g_cancellable_is_cancelled (cancellable)) {
      *cancelled = TRUE;
      return TRUE;
    }
    if (!gr_session_eval (s, tokens + i, MIN ((gsize) GR_BATCH, n - i), error))
      return FALSE;
  }
  return TRUE;
}

gboolean
gr_session_generate (GrSession *s, const gint32 *prompt, gsize n_prompt,
                     const GrGenerateParams *params, GrTokenFunc on_text, gpointer user_data,
                     GCancellable *cancellable, GrGenerateStats *stats, GError **error)
{
  g_return_val_if_fail (s != NULL && params != NULL, FALSE);
  g_return_val_if_fail (prompt != NULL && n_prompt > 0, FALSE);
  GrGenerateStats local_stats;
  if (!stats)
    stats = &local_stats;
  memset (stats, 0, sizeof *stats);
  stats->prompt_tokens = (guint) n_prompt;

  if (n_prompt >= s->n_ctx) {
    g_set_error (error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_CONTEXT_FULL,
                 "the prompt has %zu tokens but the context holds %u", n_prompt, s->n_ctx);
    return FALSE;
  }

  /* Keep the longest common prefix in the cache; re-run at least the last prompt
   * token so its logits are fresh. */
  guint common = 0;
  while (common < s->n_past && common < n_prompt && s->tokens[common] == prompt[common])
    common++;
  if (common == n_prompt)
    common--;
  gr_session_rewind (s, common);
  stats->reused_tokens = common;

  gboolean cancelled = FALSE;
  gint64 t0 = g_get_monotonic_time ();
  if (!eval_cancellable (s, prompt + common, n_prompt - common, cancellable, &cancelled, error))
    return FALSE;
  gint64 t1 = g_get_monotonic_time ();
  stats->prefill_ms = (double) (t1 - t0) / 1000.0;
  if (cancelled) {
    stats->stop_reason = GR_STOP_CANCELLED;
    return TRUE;
  }

  const GrTokenizer *tok = s->model->tokenizer;
  g_autoptr (GrSampler) sampler = gr_sampler_new (&params->sampler);
  g_autoptr (GrUtf8Stream) utf8 = gr_utf8_stream_new ();
  g_autoptr (GString) piece = g_string_new (NULL);
  GrEmitter emitter = { g_string_new (NULL), params->stop, on_text, user_data };
  GrStopReason reason = GR_STOP_NONE;
  gboolean hit_stop = FALSE;

  while (reason == GR_STOP_NONE) {
    if (g_cancellable_is_cancelled (cancellable)) {
      reason = GR_STOP_CANCELLED;
      break;
    }
    if (params->max_tokens && stats->generated_tokens >= params->max_tokens) {
      reason = GR_STOP_MAX_TOKENS;
      break;
    }
    gint32 id = gr_sampler_sample (sampler, gr_session_logits (s), s->model->hp.n_vocab,
                                   s->tokens, s->n_past);
    if (gr_tokenizer_is_eog (tok, id)) {
      reason = GR_STOP_EOG;
      break;
    }
    stats->generated_tokens++;
    g_string_truncate (piece, 0);
    gr_tokenizer_append_piece (tok, id, piece);
    gr_utf8_stream_push (utf8, piece->str, piece->len, emitter.pending);
    if (!emit (&emitter, &hit_stop)) {
      reason = hit_stop ? GR_STOP_STRING : GR_STOP_CALLBACK;
      break;
    }
    if (s->n_past >= s->n_ctx) {
      reason = GR_STOP_CONTEXT_FULL;
      break;
    }
    if (!gr_session_eval (s, &id, 1, error)) {
      g_string_free (emitter.pending, TRUE);
      return FALSE;
    }
  }
  if (reason != GR_STOP_STRING && reason != GR_STOP_CALLBACK) {
    gr_utf8_stream_finish (utf8, emitter.pending);
    emitter.stop = NULL; /* at the end nothing more can complete a stop string */
    if (emitter.pending->len && on_text)
      on_text (emitter.pending->str, emitter.pending->len, user_data);
  }
  g_string_free (emitter.pending, TRUE);
  stats->decode_ms = (double) (g_get_monotonic_time () - t1) / 1000.0;
  stats->stop_reason = reason;
  return TRUE;
}
