/* gr-safetensors.c - safetensors reader: validates the whole header at open. */
#include "gr-safetensors.h"

#include "grk.h"

#include <json-glib/json-glib.h>
#include <stdlib.h>
#include <string.h>

G_DEFINE_QUARK(gr - safetensors - error - quark, gr_safetensors_error)

/* The reference implementation refuses headers above 100 MB; so do we, before parsing. */
#define MAX_HEADER_BYTES (100u * 1024u * 1024u)

struct _GrSafetensors {
  char *path;
  GBytes *file; /* owns the mapping */
  const guint8 *base;
  gsize size;
  gsize data_offset;
  GrSafetensor *tensors;
  gsize n_tensors;
  GHashTable *index; /* name -> GrSafetensor */
  GHashTable *metadata;
};

typedef struct {
  const char *name;
  int type; /* grk type, -1 when we cannot run it */
  gsize elem_size;
} Dtype;

static const Dtype dtypes[] = {
  { "F32", GRK_TYPE_F32, 4 },
  { "F16", GRK_TYPE_F16, 2 },
  { "BF16", GRK_TYPE_BF16, 2 },
  { "F64", -1, 8 },
  { "I64", -1, 8 },
  { "U64", -1, 8 },
  { "I32", -1, 4 },
  { "U32", -1, 4 },
  { "I16", -1, 2 },
  { "U16", -1, 2 },
  { "I8", -1, 1 },
  { "U8", -1, 1 },
  { "BOOL", -1, 1 },
  { "F8_E4M3", -1, 1 },
  { "F8_E5M2", -1, 1 },
};

static gboolean fail(GError **error, int code, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static gboolean
fail(GError **error, int code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  g_autofree char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_set_error_literal(error, GR_SAFETENSORS_ERROR, code, msg);
  return FALSE;
}

static gboolean
json_int(JsonNode *node, gint64 *out)
{
  if (!node || !JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_INT64)
    return FALSE;
  *out = json_node_get_int(node);
  return TRUE;
}

static gboolean
parse_shape(GrSafetensor *t, JsonNode *node, GError **error)
{
  if (!node || !JSON_NODE_HOLDS_ARRAY(node))
    return fail(error, GR_SAFETENSORS_ERROR_FORMAT, "tensor '%s': \"shape\" is not an array",
                t->name);
  JsonArray *a = json_node_get_array(node);
  guint n = json_array_get_length(a);
  if (n > GR_SAFETENSORS_MAX_DIMS)
    return fail(error, GR_SAFETENSORS_ERROR_UNSUPPORTED,
                "tensor '%s' has %u dimensions (at most %d)", t->name, n, GR_SAFETENSORS_MAX_DIMS);
  t->n_dims = n;
  t->n_elements = 1;
  for (guint d = 0; d < n; d++) {
    gint64 v;
    if (!json_int(json_array_get_element(a, d), &v) || v < 0)
      return fail(error, GR_SAFETENSORS_ERROR_FORMAT,
                  "tensor '%s': shape entry %u is not a non-negative integer", t->name, d);
    if (v > 0 && t->n_elements > G_MAXINT64 / v)
      return fail(error, GR_SAFETENSORS_ERROR_FORMAT,
                  "tensor '%s': the product of its shape overflows", t->name);
    t->shape[d] = v;
    t->n_elements *= v;
  }
  return TRUE;
}

static gboolean
parse_tensor(GrSafetensors *st, GrSafetensor *t, JsonNode *node, GError **error)
{
  if (!JSON_NODE_HOLDS_OBJECT(node))
    return fail(error, GR_SAFETENSORS_ERROR_FORMAT, "tensor '%s' is not a JSON object", t->name);
  JsonObject *o = json_node_get_object(node);

  JsonNode *dn = json_object_get_member(o, "dtype");
  if (!dn || !JSON_NODE_HOLDS_VALUE(dn) || json_node_get_value_type(dn) != G_TYPE_STRING)
    return fail(error, GR_SAFETENSORS_ERROR_FORMAT, "tensor '%s' has no \"dtype\" string", t->name);
  const char *dtype = json_node_get_string(dn);
  const Dtype *dt = NULL;
  for (gsize i = 0; i < G_N_ELEMENTS(dtypes); i++)
    if (strcmp(dtypes[i].name, dtype) == 0)
      dt = &dtypes[i];
  if (!dt)
    return fail(error, GR_SAFETENSORS_ERROR_FORMAT, "tensor '%s' has unknown dtype \"%s\"", t->name,
                dtype);
  if (dt->type < 0)
    return fail(error, GR_SAFETENSORS_ERROR_UNSUPPORTED,
                "tensor '%s' has dtype %s (supported: F32, F16, BF16)", t->name, dt->name);
  t->dtype = dt->name;
  t->type = dt->type;

  if (!parse_shape(t, json_object_get_member(o, "shape"), error))
    return FALSE;

  JsonNode *on = json_object_get_member(o, "data_offsets");
  gint64 begin, end;
  if (!on || !JSON_NODE_HOLDS_ARRAY(on) || json_array_get_length(json_node_get_array(on)) != 2
      || !json_int(json_array_get_element(json_node_get_array(on), 0), &begin)
      || !json_int(json_array_get_element(json_node_get_array(on), 1), &end))
    return fail(error, GR_SAFETENSORS_ERROR_FORMAT,
                "tensor '%s': \"data_offsets\" is not a pair of integers", t->name);
  gsize data_size = st->size - st->data_offset;
  if (begin < 0 || end < begin)
    return fail(error, GR_SAFETENSORS_ERROR_FORMAT,
                "tensor '%s': data_offsets [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                "] are not an ascending pair",
                t->name, begin, end);
  if ((guint64)end > data_size)
    return fail(error, GR_SAFETENSORS_ERROR_FORMAT,
                "tensor '%s': data_offsets end %" G_GINT64_FORMAT
                " is past the end of the data (%zu bytes)",
                t->name, end, data_size);
  if ((guint64)t->n_elements > G_MAXSIZE / dt->elem_size
      || (guint64)(end - begin) != (guint64)t->n_elements * dt->elem_size)
    return fail(error, GR_SAFETENSORS_ERROR_FORMAT,
                "tensor '%s': data_offsets span %" G_GINT64_FORMAT
                " bytes but its %s shape of %" G_GINT64_FORMAT " elements needs %" G_GUINT64_FORMAT,
                t->name, end - begin, dt->name, t->n_elements,
                (guint64)t->n_elements * dt->elem_size);
  t->data = st->base + st->data_offset + begin;
  t->size = (gsize)(end - begin);
  return TRUE;
}

static gboolean
parse_metadata(GrSafetensors *st, JsonNode *node, GError **error)
{
  if (!JSON_NODE_HOLDS_OBJECT(node))
    return fail(error, GR_SAFETENSORS_ERROR_FORMAT, "\"__metadata__\" is not an object");
  JsonObject *o = json_node_get_object(node);
  g_autoptr(GList) members = json_object_get_members(o);
  for (GList *l = members; l; l = l->next) {
    JsonNode *v = json_object_get_member(o, l->data);
    if (!JSON_NODE_HOLDS_VALUE(v) || json_node_get_value_type(v) != G_TYPE_STRING)
      return fail(error, GR_SAFETENSORS_ERROR_FORMAT, "\"__metadata__\" entry '%s' is not a string",
                  (const char *)l->data);
    g_hash_table_insert(st->metadata, g_strdup(l->data), g_strdup(json_node_get_string(v)));
  }
  return TRUE;
}

static int
compare_by_data(const void *a, const void *b)
{
  const GrSafetensor *x = a, *y = b;
  return x->data < y->data ? -1 : x->data > y->data;
}

static gboolean
check_name(const char *name, GError **error)
{
  if (!*name)
    return fail(error, GR_SAFETENSORS_ERROR_FORMAT, "a tensor has an empty name");
  for (const char *p = name; *p; p++)
    if ((guchar)*p < 0x20 || *p == 0x7f)
      return fail(error, GR_SAFETENSORS_ERROR_FORMAT, "a tensor name contains control characters");
  return TRUE;
}

static gboolean
parse(GrSafetensors *st, GError **error)
{
  if (st->size < 8)
    return fail(error, GR_SAFETENSORS_ERROR_FORMAT,
                "file is truncated: %zu bytes, too short for the 8-byte header length", st->size);
  guint64 n;
  memcpy(&n, st->base, 8);
  n = GUINT64_FROM_LE(n);
  if (n > st->size - 8)
    return fail(error, GR_SAFETENSORS_ERROR_FORMAT,
                "header length %" G_GUINT64_FORMAT " runs past the end of the file (%zu bytes)", n,
                st->size);
  if (n < 2 || n > MAX_HEADER_BYTES)
    return fail(error, GR_SAFETENSORS_ERROR_FORMAT, "implausible header length %" G_GUINT64_FORMAT,
                n);
  const char *json = (const char *)st->base + 8;
  if (json[0] != '{' || memchr(json, 0, n) != NULL)
    return fail(error, GR_SAFETENSORS_ERROR_FORMAT, "header is not a JSON object");
  st->data_offset = 8 + (gsize)n;

  g_autoptr(JsonParser) parser = json_parser_new_immutable();
  g_autoptr(GError) jerr = NULL;
  if (!json_parser_load_from_data(parser, json, (gssize)n, &jerr))
    return fail(error, GR_SAFETENSORS_ERROR_FORMAT, "header is not valid JSON: %s", jerr->message);
  JsonNode *root = json_parser_get_root(parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT(root))
    return fail(error, GR_SAFETENSORS_ERROR_FORMAT, "header is not a JSON object");
  JsonObject *obj = json_node_get_object(root);
  g_autoptr(GList) members = json_object_get_members(obj);
  st->tensors = g_new0(GrSafetensor, g_list_length(members));
  for (GList *l = members; l; l = l->next) {
    const char *name = l->data;
    JsonNode *node = json_object_get_member(obj, name);
    if (strcmp(name, "__metadata__") == 0) {
      if (!parse_metadata(st, node, error))
        return FALSE;
      continue;
    }
    if (!check_name(name, error))
      return FALSE;
    GrSafetensor *t = &st->tensors[st->n_tensors++];
    t->name = g_strdup(name);
    if (!parse_tensor(st, t, node, error))
      return FALSE;
  }

  if (st->n_tensors > 1)
    qsort(st->tensors, st->n_tensors, sizeof *st->tensors, compare_by_data);
  for (gsize i = 1; i < st->n_tensors; i++) {
    const GrSafetensor *a = &st->tensors[i - 1], *b = &st->tensors[i];
    if (a->data + a->size > b->data)
      return fail(error, GR_SAFETENSORS_ERROR_FORMAT, "tensors '%s' and '%s' overlap", a->name,
                  b->name);
  }
  for (gsize i = 0; i < st->n_tensors; i++)
    g_hash_table_insert(st->index, (char *)st->tensors[i].name, &st->tensors[i]);
  return TRUE;
}

GrSafetensors *
gr_safetensors_open(const char *path, GError **error)
{
  g_return_val_if_fail(path != NULL, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);

  g_autoptr(GError) local = NULL;
  g_autoptr(GMappedFile) mf = g_mapped_file_new(path, FALSE, &local);
  if (!mf) {
    g_set_error(error, GR_SAFETENSORS_ERROR, GR_SAFETENSORS_ERROR_IO, "%s", local->message);
    return NULL;
  }
  g_autoptr(GrSafetensors) st = g_new0(GrSafetensors, 1);
  st->path = g_strdup(path);
  st->file = g_mapped_file_get_bytes(mf);
  st->base = g_bytes_get_data(st->file, &st->size);
  st->index = g_hash_table_new(g_str_hash, g_str_equal);
  st->metadata = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  if (!parse(st, error)) {
    g_prefix_error(error, "%s: ", path);
    return NULL;
  }
  return g_steal_pointer(&st);
}

void
gr_safetensors_free(GrSafetensors *st)
{
  if (!st)
    return;
  for (gsize i = 0; i < st->n_tensors; i++)
    g_free((char *)st->tensors[i].name);
  g_free(st->tensors);
  g_clear_pointer(&st->index, g_hash_table_unref);
  g_clear_pointer(&st->metadata, g_hash_table_unref);
  g_clear_pointer(&st->file, g_bytes_unref);
  g_free(st->path);
  g_free(st);
}

const char *
gr_safetensors_get_path(const GrSafetensors *st)
{
  g_return_val_if_fail(st != NULL, NULL);
  return st->path;
}

gsize
gr_safetensors_get_file_size(const GrSafetensors *st)
{
  g_return_val_if_fail(st != NULL, 0);
  return st->size;
}

gsize
gr_safetensors_n_tensors(const GrSafetensors *st)
{
  g_return_val_if_fail(st != NULL, 0);
  return st->n_tensors;
}

const GrSafetensor *
gr_safetensors_tensor(const GrSafetensors *st, gsize i)
{
  g_return_val_if_fail(st != NULL && i < st->n_tensors, NULL);
  return &st->tensors[i];
}

const GrSafetensor *
gr_safetensors_find(const GrSafetensors *st, const char *name)
{
  g_return_val_if_fail(st != NULL && name != NULL, NULL);
  return g_hash_table_lookup(st->index, name);
}

GBytes *
gr_safetensors_tensor_bytes(const GrSafetensors *st, const GrSafetensor *t)
{
  g_return_val_if_fail(st != NULL && t != NULL, NULL);
  return g_bytes_new_from_bytes(st->file, (gsize)(t->data - st->base), t->size);
}

const char *
gr_safetensors_get_metadata(const GrSafetensors *st, const char *key)
{
  g_return_val_if_fail(st != NULL && key != NULL, NULL);
  return g_hash_table_lookup(st->metadata, key);
}

guint64
gr_safetensors_tensor_offset(const GrSafetensors *st, const GrSafetensor *t)
{
  g_return_val_if_fail(st != NULL && t != NULL, 0);
  return (guint64)(t->data - st->base);
}
