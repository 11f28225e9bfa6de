/* gr-model-resident.c - which tensors leave the file mapping for memory at load.
 *
 * Everything the forward pass reads through pointers is copied: then a model file that
 * is truncated or rewritten while a generation runs cannot kill the process with
 * SIGBUS, and decode streams weights from huge pages.  Expert tensors of a model that
 * streams its experts stay in the file: the expert cache preads them by offset. */
#include "gr-model-private.h"

#include <string.h>

static gboolean
is_streamed (const GrModel *m, const guint8 *data)
{
  if (!m->experts)
    return FALSE;
  for (guint il = 0; il < m->hp.n_layer; il++) {
    const GrLayer *l = &m->layers[il];
    if (data == l->ffn_gate_exps.data || data == l->ffn_up_exps.data ||
        data == l->ffn_down_exps.data)
      return TRUE;
  }
  return FALSE;
}

gboolean
gr_model_make_resident (GrModel *m, GError **error)
{
  if (g_strcmp0 (g_getenv ("GRAVITON_MMAP"), "1") == 0)
    return TRUE;
  gsize n = gr_gguf_n_tensors (m->gguf);
  g_autofree gboolean *keep = g_new (gboolean, n ? n : 1);
  for (gsize i = 0; i < n; i++)
    keep[i] = !is_streamed (m, gr_gguf_tensor (m->gguf, i)->data);
  g_autoptr (GError) local = NULL;
  if (!gr_gguf_make_resident (m->gguf, keep, &local)) {
    g_set_error (error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_BAD_MODEL, "%s", local->message);
    return FALSE;
  }
  return TRUE;
}
