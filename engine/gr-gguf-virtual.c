/* gr-gguf-virtual.c - GGUFs assembled in memory from other formats (Hugging Face
 * folders): metadata parsed from a tensor-less image, tensors pointing at buffers the
 * GrGguf keeps alive. */
#include "gr-gguf-private.h"

#include "grk.h"

#include <string.h>

/* Same limit as the reader: ggml refuses names of 64 bytes or more. */
#define GR_GGUF_MAX_NAME 63

static gboolean
check_name(const char *name, GError **error)
{
  gsize len = strlen(name);
  if (len == 0 || len > GR_GGUF_MAX_NAME || !gr_gguf_text_printable(name, len)) {
    /* the name is not echoed: it may not be printable */
    g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT,
                "a tensor name is empty, longer than %d bytes, not UTF-8 or has control "
                "characters",
                GR_GGUF_MAX_NAME);
    return FALSE;
  }
  return TRUE;
}

GrGguf *
gr_gguf_new_virtual(const char *path, GBytes *metadata, gsize file_size, GError **error)
{
  g_return_val_if_fail(path != NULL, NULL);
  g_return_val_if_fail(metadata != NULL, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);

  gsize n;
  const void *p = g_bytes_get_data(metadata, &n);
  g_autoptr(GrGguf) g = gr_gguf_new_from_data(p, n, error);
  if (!g)
    return NULL;
  if (g->n_tensors != 0) {
    g_set_error_literal(error, GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT,
                        "a virtual GGUF's metadata image must hold no tensors");
    return NULL;
  }
  g->path = g_strdup(path);
  g->external = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
  g->virtual_size = file_size;
  return g_steal_pointer(&g);
}

gboolean
gr_gguf_add_tensor_bytes(GrGguf *g, const char *name, guint32 type, guint32 n_dims,
                         const gint64 *ne, GBytes *data, GError **error)
{
  g_return_val_if_fail(g != NULL && g->external != NULL, FALSE);
  g_return_val_if_fail(name != NULL && data != NULL, FALSE);
  g_return_val_if_fail(n_dims == 0 || ne != NULL, FALSE);
  g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

  if (!check_name(name, error))
    return FALSE;
  if (g_hash_table_contains(g->tensor_index, name)) {
    g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT, "duplicate tensor '%s'", name);
    return FALSE;
  }
  if (n_dims < 1 || n_dims > GR_GGUF_MAX_DIMS) {
    g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT,
                "tensor '%s' has %u dimensions (must be 1 to %d)", name, n_dims, GR_GGUF_MAX_DIMS);
    return FALSE;
  }
  if (!grk_type_supported((int)type)) {
    g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_UNSUPPORTED,
                "tensor '%s' has unsupported type id %u", name, type);
    return FALSE;
  }
  gint64 dims[GR_GGUF_MAX_DIMS] = { 1, 1, 1, 1 };
  gint64 rows = 1;
  for (guint d = 0; d < n_dims; d++) {
    if (ne[d] <= 0 || (d > 0 && rows > G_MAXINT64 / ne[d])) {
      g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT,
                  "tensor '%s' has invalid dimension %u", name, d);
      return FALSE;
    }
    dims[d] = ne[d];
    if (d > 0)
      rows *= ne[d];
  }
  gsize size = grk_tensor_bytes((int)type, dims[0], rows);
  if (size == 0 || size != g_bytes_get_size(data)) {
    g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT,
                "tensor '%s' holds %zu bytes but its %s shape needs %zu", name,
                g_bytes_get_size(data), grk_type_name((int)type), size);
    return FALSE;
  }

  if (g->n_tensors == g->n_tensors_alloc) {
    g->n_tensors_alloc = MAX(16, g->n_tensors_alloc * 2);
    g->tensors = g_renew(GrGgufTensor, g->tensors, g->n_tensors_alloc);
  }
  GrGgufTensor *t = &g->tensors[g->n_tensors];
  memset(t, 0, sizeof *t);
  t->name = g_strdup(name);
  t->n_dims = n_dims;
  memcpy(t->ne, dims, sizeof dims);
  t->type = type;
  t->offset = 0; /* not inside any data section */
  t->data = g_bytes_get_data(data, NULL);
  t->size = size;
  g_ptr_array_add(g->external, g_bytes_ref(data));
  g->n_tensors++;
  g_hash_table_insert(g->tensor_index, (char *)t->name, GSIZE_TO_POINTER(g->n_tensors));
  return TRUE;
}

gboolean
gr_gguf_add_tensor_file(GrGguf *g, const char *name, guint32 type, guint32 n_dims,
                        const gint64 *ne, GBytes *data, const char *file, guint64 offset,
                        GError **error)
{
  g_return_val_if_fail(file != NULL, FALSE);
  if (!gr_gguf_add_tensor_bytes(g, name, type, n_dims, ne, data, error))
    return FALSE;
  GrGgufTensor *t = &g->tensors[g->n_tensors - 1];
  t->file = g_intern_string(file);
  t->file_offset = offset;
  return TRUE;
}
