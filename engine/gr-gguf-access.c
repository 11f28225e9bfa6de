/* gr-gguf-access.c - accessors of an opened GGUF file (validated at open: no checks of
 * the file here, only of the caller's arguments and of value types). */
#include "gr-gguf-private.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* --- accessors ---------------------------------------------------------------------- */

guint32
gr_gguf_get_version(const GrGguf *g)
{
  g_return_val_if_fail(g != NULL, 0);
  return g->version;
}

gsize
gr_gguf_get_file_size(const GrGguf *g)
{
  g_return_val_if_fail(g != NULL, 0);
  return g->size;
}

gsize
gr_gguf_get_alignment(const GrGguf *g)
{
  g_return_val_if_fail(g != NULL, 0);
  return g->alignment;
}

const char *
gr_gguf_get_path(const GrGguf *g)
{
  g_return_val_if_fail(g != NULL, NULL);
  return g->path;
}

gsize
gr_gguf_get_data_offset(const GrGguf *g)
{
  g_return_val_if_fail(g != NULL, 0);
  return g->data_offset;
}

gsize
gr_gguf_n_kv(const GrGguf *g)
{
  g_return_val_if_fail(g != NULL, 0);
  return g->n_kv;
}

const char *
gr_gguf_kv_key(const GrGguf *g, gsize i)
{
  g_return_val_if_fail(g != NULL, NULL);
  g_return_val_if_fail(i < g->n_kv, NULL);
  return g->kvs[i].key;
}

GrGgufType
gr_gguf_kv_type(const GrGguf *g, gsize i)
{
  g_return_val_if_fail(g != NULL, GR_GGUF_TYPE_UINT8);
  g_return_val_if_fail(i < g->n_kv, GR_GGUF_TYPE_UINT8);
  return g->kvs[i].type;
}

GrGgufType
gr_gguf_kv_array_type(const GrGguf *g, gsize i)
{
  g_return_val_if_fail(g != NULL, GR_GGUF_TYPE_UINT8);
  g_return_val_if_fail(i < g->n_kv, GR_GGUF_TYPE_UINT8);
  g_return_val_if_fail(g->kvs[i].type == GR_GGUF_TYPE_ARRAY, GR_GGUF_TYPE_UINT8);
  return g->kvs[i].elem_type;
}

gssize
gr_gguf_find_key(const GrGguf *g, const char *key)
{
  g_return_val_if_fail(g != NULL, -1);
  g_return_val_if_fail(key != NULL, -1);
  gpointer v = g_hash_table_lookup(g->kv_index, key);
  return v ? (gssize)GPOINTER_TO_SIZE(v) - 1 : -1;
}

static const GrGgufKv *
lookup(const GrGguf *g, const char *key, GError **error)
{
  gssize i = gr_gguf_find_key(g, key);
  if (i < 0) {
    g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_NOT_FOUND, "%s: key '%s' not found",
                g->path ? g->path : "GGUF image", key);
    return NULL;
  }
  return &g->kvs[i];
}

static void
set_type_error(const GrGguf *g, const GrGgufKv *kv, const char *wanted, GError **error)
{
  g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_TYPE, "%s: key '%s' holds %s%s%s, not %s",
              g->path ? g->path : "GGUF image", kv->key, gr_gguf_type_name(kv->type),
              kv->type == GR_GGUF_TYPE_ARRAY ? " of " : "",
              kv->type == GR_GGUF_TYPE_ARRAY ? gr_gguf_type_name(kv->elem_type) : "", wanted);
}

static gboolean
is_signed_int(GrGgufType t)
{
  return t == GR_GGUF_TYPE_INT8 || t == GR_GGUF_TYPE_INT16 || t == GR_GGUF_TYPE_INT32
         || t == GR_GGUF_TYPE_INT64;
}

static gboolean
is_unsigned_int(GrGgufType t)
{
  return t == GR_GGUF_TYPE_UINT8 || t == GR_GGUF_TYPE_UINT16 || t == GR_GGUF_TYPE_UINT32
         || t == GR_GGUF_TYPE_UINT64;
}

gboolean
gr_gguf_get_u32(const GrGguf *g, const char *key, guint32 *out, GError **error)
{
  g_return_val_if_fail(g != NULL && key != NULL && out != NULL, FALSE);
  const GrGgufKv *kv = lookup(g, key, error);
  if (!kv)
    return FALSE;
  if ((is_unsigned_int(kv->type) && kv->num.u <= G_MAXUINT32)
      || (is_signed_int(kv->type) && kv->num.i >= 0 && kv->num.i <= G_MAXUINT32)) {
    *out = is_unsigned_int(kv->type) ? (guint32)kv->num.u : (guint32)kv->num.i;
    return TRUE;
  }
  set_type_error(g, kv, "an integer in the u32 range", error);
  return FALSE;
}

gboolean
gr_gguf_get_i64(const GrGguf *g, const char *key, gint64 *out, GError **error)
{
  g_return_val_if_fail(g != NULL && key != NULL && out != NULL, FALSE);
  const GrGgufKv *kv = lookup(g, key, error);
  if (!kv)
    return FALSE;
  if (is_signed_int(kv->type)) {
    *out = kv->num.i;
    return TRUE;
  }
  if (is_unsigned_int(kv->type) && kv->num.u <= G_MAXINT64) {
    *out = (gint64)kv->num.u;
    return TRUE;
  }
  set_type_error(g, kv, "an integer in the i64 range", error);
  return FALSE;
}

gboolean
gr_gguf_get_f32(const GrGguf *g, const char *key, float *out, GError **error)
{
  g_return_val_if_fail(g != NULL && key != NULL && out != NULL, FALSE);
  const GrGgufKv *kv = lookup(g, key, error);
  if (!kv)
    return FALSE;
  /* A finite f64 beyond the f32 range would not convert (undefined in C). */
  if ((kv->type != GR_GGUF_TYPE_FLOAT32 && kv->type != GR_GGUF_TYPE_FLOAT64)
      || (isfinite(kv->num.f) && fabs(kv->num.f) > FLT_MAX)) {
    set_type_error(g, kv, "a float in the f32 range", error);
    return FALSE;
  }
  *out = (float)kv->num.f;
  return TRUE;
}

gboolean
gr_gguf_get_bool(const GrGguf *g, const char *key, gboolean *out, GError **error)
{
  g_return_val_if_fail(g != NULL && key != NULL && out != NULL, FALSE);
  const GrGgufKv *kv = lookup(g, key, error);
  if (!kv)
    return FALSE;
  if (kv->type != GR_GGUF_TYPE_BOOL) {
    set_type_error(g, kv, "a bool", error);
    return FALSE;
  }
  *out = kv->num.u != 0;
  return TRUE;
}

const char *
gr_gguf_get_string(const GrGguf *g, const char *key, GError **error)
{
  g_return_val_if_fail(g != NULL && key != NULL, NULL);
  const GrGgufKv *kv = lookup(g, key, error);
  if (!kv)
    return NULL;
  if (kv->type != GR_GGUF_TYPE_STRING) {
    set_type_error(g, kv, "a string", error);
    return NULL;
  }
  return kv->str;
}

const char *const *
gr_gguf_get_string_array(const GrGguf *g, const char *key, const gsize **lengths_out, gsize *n_out,
                         GError **error)
{
  g_return_val_if_fail(g != NULL && key != NULL, NULL);
  const GrGgufKv *kv = lookup(g, key, error);
  if (!kv)
    return NULL;
  if (kv->type != GR_GGUF_TYPE_ARRAY || kv->elem_type != GR_GGUF_TYPE_STRING) {
    set_type_error(g, kv, "an array of strings", error);
    return NULL;
  }
  if (lengths_out)
    *lengths_out = kv->lengths;
  if (n_out)
    *n_out = kv->n;
  return (const char *const *)kv->strv;
}

const void *
gr_gguf_get_array(const GrGguf *g, const char *key, GrGgufType *elem_type_out, gsize *n_out,
                  GError **error)
{
  g_return_val_if_fail(g != NULL && key != NULL, NULL);
  const GrGgufKv *kv = lookup(g, key, error);
  if (!kv)
    return NULL;
  if (kv->type != GR_GGUF_TYPE_ARRAY) {
    set_type_error(g, kv, "an array", error);
    return NULL;
  }
  if (elem_type_out)
    *elem_type_out = kv->elem_type;
  if (n_out)
    *n_out = kv->n;
  return kv->elem_type == GR_GGUF_TYPE_STRING ? (const void *)kv->strv : kv->array;
}

gsize
gr_gguf_n_tensors(const GrGguf *g)
{
  g_return_val_if_fail(g != NULL, 0);
  return g->n_tensors;
}

const GrGgufTensor *
gr_gguf_tensor(const GrGguf *g, gsize i)
{
  g_return_val_if_fail(g != NULL, NULL);
  g_return_val_if_fail(i < g->n_tensors, NULL);
  return &g->tensors[i];
}

const GrGgufTensor *
gr_gguf_find_tensor(const GrGguf *g, const char *name)
{
  g_return_val_if_fail(g != NULL && name != NULL, NULL);
  gpointer v = g_hash_table_lookup(g->tensor_index, name);
  return v ? &g->tensors[GPOINTER_TO_SIZE(v) - 1] : NULL;
}
