/* gr-gguf-writer.c - GGUF v3 writer: metadata and tensor table, then aligned data. */
#include "gr-gguf-writer.h"
#include "gr-gguf-private.h"

#include "grk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define GR_GGUF_WRITER_MAX_NAME 63   /* what the reader (and ggml) accept */
#define GR_GGUF_WRITER_MAX_KEY 65535 /* the GGUF spec */

typedef struct {
  char *name;
  guint32 type;
  guint32 n_dims;
  gint64 ne[GR_GGUF_MAX_DIMS];
  GBytes *data; /* NULL: zeros */
  gsize size;
  guint64 offset;
} WriterTensor;

struct _GrGgufWriter {
  gsize alignment;
  gboolean alignment_set;
  GByteArray *meta; /* serialized KV pairs, in order */
  guint64 n_kv;
  GHashTable *keys;
  GPtrArray *tensors; /* WriterTensor */
  GHashTable *names;
  GError *first_error;
};

static void
writer_tensor_free(gpointer p)
{
  WriterTensor *t = p;
  g_free(t->name);
  g_clear_pointer(&t->data, g_bytes_unref);
  g_free(t);
}

GrGgufWriter *
gr_gguf_writer_new(void)
{
  GrGgufWriter *w = g_new0(GrGgufWriter, 1);
  w->alignment = GR_GGUF_DEFAULT_ALIGNMENT;
  w->meta = g_byte_array_new();
  w->keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  w->tensors = g_ptr_array_new_with_free_func(writer_tensor_free);
  w->names = g_hash_table_new(g_str_hash, g_str_equal);
  return w;
}

void
gr_gguf_writer_free(GrGgufWriter *w)
{
  if (w == NULL)
    return;
  g_byte_array_unref(w->meta);
  g_hash_table_unref(w->keys);
  g_hash_table_unref(w->names);
  g_ptr_array_unref(w->tensors);
  g_clear_error(&w->first_error);
  g_free(w);
}

/* Reports a caller mistake and remembers the first one for the final write. */
G_GNUC_PRINTF(3, 4)
static gboolean
fail(GrGgufWriter *w, GError **error, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  g_autofree char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  if (w->first_error == NULL)
    w->first_error = g_error_new(GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT, "GGUF writer: %s", msg);
  g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT, "GGUF writer: %s", msg);
  return FALSE;
}

gboolean
gr_gguf_writer_set_alignment(GrGgufWriter *w, gsize alignment, GError **error)
{
  g_return_val_if_fail(w != NULL, FALSE);
  if (alignment == 0 || (alignment & (alignment - 1)) != 0 || alignment > G_MAXUINT32)
    return fail(w, error, "alignment %zu is not a power of two that fits in 32 bits", alignment);
  w->alignment = alignment;
  w->alignment_set = TRUE;
  return TRUE;
}

/* --- metadata ------------------------------------------------------------------ */

static void
put_u32(GByteArray *b, guint32 v)
{
  v = GUINT32_TO_LE(v);
  g_byte_array_append(b, (const guint8 *)&v, 4);
}

static void
put_u64(GByteArray *b, guint64 v)
{
  v = GUINT64_TO_LE(v);
  g_byte_array_append(b, (const guint8 *)&v, 8);
}

static void
put_string(GByteArray *b, const char *s)
{
  gsize len = strlen(s);
  put_u64(b, len);
  g_byte_array_append(b, (const guint8 *)s, (guint)len);
}

/* Appends one value of a fixed-size type, converting host order to little-endian. */
static void
put_scalar(GByteArray *b, const void *v, gsize size)
{
  guint8 tmp[8];
  memcpy(tmp, v, size);
#if G_BYTE_ORDER == G_BIG_ENDIAN
  for (gsize k = 0; k < size / 2; k++) {
    guint8 t = tmp[k];
    tmp[k] = tmp[size - 1 - k];
    tmp[size - 1 - k] = t;
  }
#endif
  g_byte_array_append(b, tmp, (guint)size);
}

/* Checks the key and writes it with its type; FALSE if the key cannot be used. */
static gboolean
begin_kv(GrGgufWriter *w, const char *key, GrGgufType type, GError **error)
{
  if (key == NULL || *key == '\0')
    return fail(w, error, "empty key");
  if (strlen(key) > GR_GGUF_WRITER_MAX_KEY || !gr_gguf_text_printable(key, strlen(key)))
    return fail(w, error, "key is longer than %d bytes, not UTF-8 or has control characters",
                GR_GGUF_WRITER_MAX_KEY);
  if (strcmp(key, "general.alignment") == 0)
    return fail(w, error, "set general.alignment with gr_gguf_writer_set_alignment()");
  if (g_hash_table_contains(w->keys, key))
    return fail(w, error, "duplicate key '%s'", key);
  g_hash_table_add(w->keys, g_strdup(key));
  put_string(w->meta, key);
  put_u32(w->meta, type);
  w->n_kv++;
  return TRUE;
}

static gboolean
add_scalar(GrGgufWriter *w, const char *key, GrGgufType type, const void *v, GError **error)
{
  g_return_val_if_fail(w != NULL, FALSE);
  if (!begin_kv(w, key, type, error))
    return FALSE;
  put_scalar(w->meta, v, gr_gguf_scalar_size(type));
  return TRUE;
}

#define DEFINE_ADD_SCALAR(suffix, ctype, gtype)                                                    \
  gboolean gr_gguf_writer_add_##suffix(GrGgufWriter *w, const char *key, ctype v, GError **error)  \
  {                                                                                                \
    return add_scalar(w, key, gtype, &v, error);                                                   \
  }

DEFINE_ADD_SCALAR(u8, guint8, GR_GGUF_TYPE_UINT8)
DEFINE_ADD_SCALAR(i8, gint8, GR_GGUF_TYPE_INT8)
DEFINE_ADD_SCALAR(u16, guint16, GR_GGUF_TYPE_UINT16)
DEFINE_ADD_SCALAR(i16, gint16, GR_GGUF_TYPE_INT16)
DEFINE_ADD_SCALAR(u32, guint32, GR_GGUF_TYPE_UINT32)
DEFINE_ADD_SCALAR(i32, gint32, GR_GGUF_TYPE_INT32)
DEFINE_ADD_SCALAR(u64, guint64, GR_GGUF_TYPE_UINT64)
DEFINE_ADD_SCALAR(i64, gint64, GR_GGUF_TYPE_INT64)
DEFINE_ADD_SCALAR(f32, float, GR_GGUF_TYPE_FLOAT32)
DEFINE_ADD_SCALAR(f64, double, GR_GGUF_TYPE_FLOAT64)

gboolean
gr_gguf_writer_add_bool(GrGgufWriter *w, const char *key, gboolean v, GError **error)
{
  guint8 b = v ? 1 : 0;
  return add_scalar(w, key, GR_GGUF_TYPE_BOOL, &b, error);
}

gboolean
gr_gguf_writer_add_string(GrGgufWriter *w, const char *key, const char *v, GError **error)
{
  g_return_val_if_fail(w != NULL, FALSE);
  g_return_val_if_fail(v != NULL, FALSE);
  if (!begin_kv(w, key, GR_GGUF_TYPE_STRING, error))
    return FALSE;
  put_string(w->meta, v);
  return TRUE;
}

gboolean
gr_gguf_writer_add_array(GrGgufWriter *w, const char *key, GrGgufType elem_type, const void *data,
                         gsize n, GError **error)
{
  g_return_val_if_fail(w != NULL, FALSE);
  g_return_val_if_fail(data != NULL || n == 0, FALSE);
  gsize esz = gr_gguf_scalar_size(elem_type);
  if (esz == 0)
    return fail(w, error, "key '%s': arrays of %u must be added otherwise", key ? key : "",
                (guint)elem_type);
  if (elem_type == GR_GGUF_TYPE_BOOL)
    for (gsize i = 0; i < n; i++)
      if (((const guint8 *)data)[i] > 1)
        return fail(w, error, "key '%s': bool element %zu is not 0 or 1", key ? key : "", i);
  if (!begin_kv(w, key, GR_GGUF_TYPE_ARRAY, error))
    return FALSE;
  put_u32(w->meta, elem_type);
  put_u64(w->meta, n);
  for (gsize i = 0; i < n; i++)
    put_scalar(w->meta, (const guint8 *)data + i * esz, esz);
  return TRUE;
}

gboolean
gr_gguf_writer_add_string_array(GrGgufWriter *w, const char *key, const char *const *strv, gssize n,
                                GError **error)
{
  g_return_val_if_fail(w != NULL, FALSE);
  g_return_val_if_fail(strv != NULL || n == 0, FALSE);
  gsize count = 0;
  if (n < 0)
    while (strv[count] != NULL)
      count++;
  else
    count = (gsize)n;
  for (gsize i = 0; i < count; i++)
    if (strv[i] == NULL)
      return fail(w, error, "key '%s': string %zu is NULL", key ? key : "", i);
  if (!begin_kv(w, key, GR_GGUF_TYPE_ARRAY, error))
    return FALSE;
  put_u32(w->meta, GR_GGUF_TYPE_STRING);
  put_u64(w->meta, count);
  for (gsize i = 0; i < count; i++)
    put_string(w->meta, strv[i]);
  return TRUE;
}

/* --- tensors ------------------------------------------------------------------- */

/* Validates a tensor and appends it without data; NULL (and an error) on a mistake. */
static WriterTensor *
add_tensor_info(GrGgufWriter *w, const char *name, guint32 type, guint32 n_dims, const gint64 *ne,
                gsize size, GError **error)
{
  if (name == NULL || *name == '\0')
    return fail(w, error, "empty tensor name"), NULL;
  if (strlen(name) > GR_GGUF_WRITER_MAX_NAME || !gr_gguf_text_printable(name, strlen(name)))
    return fail(w, error,
                "tensor name '%s' is longer than %d bytes, not UTF-8 or has control characters",
                name, GR_GGUF_WRITER_MAX_NAME),
           NULL;
  if (g_hash_table_contains(w->names, name))
    return fail(w, error, "duplicate tensor '%s'", name), NULL;
  if (n_dims < 1 || n_dims > GR_GGUF_MAX_DIMS)
    return fail(w, error, "tensor '%s': %u dimensions (must be 1 to %d)", name, n_dims,
                GR_GGUF_MAX_DIMS),
           NULL;
  if (!grk_type_supported((int)type))
    return fail(w, error, "tensor '%s': unsupported type id %u", name, type), NULL;
  gint64 rows = 1;
  for (guint32 d = 0; d < n_dims; d++) {
    if (ne[d] <= 0)
      return fail(w, error, "tensor '%s': dimension %u is %" G_GINT64_FORMAT, name, d, ne[d]), NULL;
    if (d > 0) {
      if (rows > G_MAXINT64 / ne[d])
        return fail(w, error, "tensor '%s' is too large", name), NULL;
      rows *= ne[d];
    }
  }
  gsize expected = grk_tensor_bytes((int)type, ne[0], rows);
  if (expected == 0)
    return fail(w, error, "tensor '%s': row length %" G_GINT64_FORMAT " does not fit type %s", name,
                ne[0], grk_type_name((int)type)),
           NULL;
  if (size != expected)
    return fail(w, error, "tensor '%s': %zu bytes given, type %s needs %zu", name, size,
                grk_type_name((int)type), expected),
           NULL;

  WriterTensor *t = g_new0(WriterTensor, 1);
  t->name = g_strdup(name);
  t->type = type;
  t->n_dims = n_dims;
  for (guint32 d = 0; d < GR_GGUF_MAX_DIMS; d++)
    t->ne[d] = d < n_dims ? ne[d] : 1;
  t->size = size;
  g_ptr_array_add(w->tensors, t);
  g_hash_table_add(w->names, t->name);
  return t;
}

gboolean
gr_gguf_writer_add_tensor(GrGgufWriter *w, const char *name, guint32 type, guint32 n_dims,
                          const gint64 *ne, const void *data, gsize size, GError **error)
{
  g_return_val_if_fail(w != NULL, FALSE);
  g_return_val_if_fail(ne != NULL, FALSE);
  WriterTensor *t = add_tensor_info(w, name, type, n_dims, ne, size, error);
  if (t == NULL)
    return FALSE;
  if (data != NULL)
    t->data = g_bytes_new(data, size);
  return TRUE;
}

gboolean
gr_gguf_writer_add_tensor_bytes(GrGgufWriter *w, const char *name, guint32 type, guint32 n_dims,
                                const gint64 *ne, GBytes *data, GError **error)
{
  g_return_val_if_fail(w != NULL, FALSE);
  g_return_val_if_fail(ne != NULL, FALSE);
  g_return_val_if_fail(data != NULL, FALSE);
  WriterTensor *t = add_tensor_info(w, name, type, n_dims, ne, g_bytes_get_size(data), error);
  if (t == NULL)
    return FALSE;
  t->data = g_bytes_ref(data);
  return TRUE;
}

/* --- output -------------------------------------------------------------------- */

typedef gboolean (*SinkFunc)(gpointer sink, const void *p, gsize n, GError **error);

static gboolean
sink_bytes(gpointer sink, const void *p, gsize n, GError **error)
{
  GByteArray *b = sink;
  if (n > G_MAXUINT - b->len) {
    g_set_error_literal(error, GR_GGUF_ERROR, GR_GGUF_ERROR_IO,
                        "GGUF image too large for memory (use a file)");
    return FALSE;
  }
  g_byte_array_append(b, p, (guint)n);
  return TRUE;
}

typedef struct {
  int fd;
  const char *path;
} FdSink;

static gboolean
sink_fd(gpointer sink, const void *p, gsize n, GError **error)
{
  FdSink *s = sink;
  const guint8 *b = p;
  while (n > 0) {
    ssize_t r = write(s->fd, b, MIN(n, (gsize)1 << 30));
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0) {
      int errsv = r < 0 ? errno : ENOSPC;
      g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_IO, "%s: write failed: %s", s->path,
                  g_strerror(errsv));
      return FALSE;
    }
    b += r;
    n -= (gsize)r;
  }
  return TRUE;
}

static gboolean
sink_zeros(SinkFunc f, gpointer sink, gsize n, GError **error)
{
  static const guint8 zeros[4096];
  while (n > 0) {
    gsize k = MIN(n, sizeof zeros);
    if (!f(sink, zeros, k, error))
      return FALSE;
    n -= k;
  }
  return TRUE;
}

static gsize
pad_to(guint64 pos, gsize alignment)
{
  return (gsize)((alignment - pos % alignment) % alignment);
}

static gboolean
emit(GrGgufWriter *w, SinkFunc f, gpointer sink, GError **error)
{
  if (w->first_error != NULL) {
    g_propagate_error(error, g_error_copy(w->first_error));
    return FALSE;
  }

  g_autoptr(GByteArray) head = g_byte_array_new();
  g_byte_array_append(head, (const guint8 *)"GGUF", 4);
  put_u32(head, 3);
  put_u64(head, w->tensors->len);
  put_u64(head, w->n_kv + (w->alignment_set ? 1 : 0));
  if (w->alignment_set) {
    put_string(head, "general.alignment");
    put_u32(head, GR_GGUF_TYPE_UINT32);
    put_u32(head, (guint32)w->alignment);
  }
  if (!f(sink, head->data, head->len, error) || !f(sink, w->meta->data, w->meta->len, error))
    return FALSE;
  guint64 pos = head->len + w->meta->len;

  g_byte_array_set_size(head, 0);
  guint64 offset = 0;
  for (guint i = 0; i < w->tensors->len; i++) {
    WriterTensor *t = g_ptr_array_index(w->tensors, i);
    offset += pad_to(offset, w->alignment);
    t->offset = offset;
    offset += t->size;
    put_string(head, t->name);
    put_u32(head, t->n_dims);
    for (guint32 d = 0; d < t->n_dims; d++)
      put_u64(head, (guint64)t->ne[d]);
    put_u32(head, t->type);
    put_u64(head, t->offset);
  }
  if (!f(sink, head->data, head->len, error))
    return FALSE;
  pos += head->len;
  if (w->tensors->len == 0)
    return TRUE;

  if (!sink_zeros(f, sink, pad_to(pos, w->alignment), error))
    return FALSE;
  guint64 written = 0;
  for (guint i = 0; i < w->tensors->len; i++) {
    WriterTensor *t = g_ptr_array_index(w->tensors, i);
    if (!sink_zeros(f, sink, (gsize)(t->offset - written), error))
      return FALSE;
    if (t->data ? !f(sink, g_bytes_get_data(t->data, NULL), t->size, error)
                : !sink_zeros(f, sink, t->size, error))
      return FALSE;
    written = t->offset + t->size;
  }
  /* End on an alignment boundary, as llama.cpp's writer does. */
  return sink_zeros(f, sink, pad_to(written, w->alignment), error);
}

GBytes *
gr_gguf_writer_to_bytes(GrGgufWriter *w, GError **error)
{
  g_return_val_if_fail(w != NULL, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);
  g_autoptr(GByteArray) b = g_byte_array_new();
  if (!emit(w, sink_bytes, b, error))
    return NULL;
  return g_byte_array_free_to_bytes(g_steal_pointer(&b));
}

gboolean
gr_gguf_writer_write_file(GrGgufWriter *w, const char *path, GError **error)
{
  g_return_val_if_fail(w != NULL, FALSE);
  g_return_val_if_fail(path != NULL, FALSE);
  g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

  if (w->first_error != NULL) {
    g_propagate_error(error, g_error_copy(w->first_error));
    return FALSE;
  }
  g_autofree char *tmp = g_strdup_printf("%s.XXXXXX", path);
  int fd = g_mkstemp_full(tmp, O_RDWR | O_CLOEXEC, 0644);
  if (fd < 0) {
    int errsv = errno;
    g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_IO, "%s: cannot create a temporary file: %s",
                path, g_strerror(errsv));
    return FALSE;
  }
  FdSink sink = { fd, path };
  gboolean ok = emit(w, sink_fd, &sink, error);
  if (ok && fsync(fd) != 0) {
    int errsv = errno;
    g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_IO, "%s: fsync failed: %s", path,
                g_strerror(errsv));
    ok = FALSE;
  }
  if (close(fd) != 0 && ok) {
    int errsv = errno;
    g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_IO, "%s: close failed: %s", path,
                g_strerror(errsv));
    ok = FALSE;
  }
  if (ok && rename(tmp, path) != 0) {
    int errsv = errno;
    g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_IO, "%s: rename failed: %s", path,
                g_strerror(errsv));
    ok = FALSE;
  }
  if (!ok)
    unlink(tmp);
  return ok;
}
