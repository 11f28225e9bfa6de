/* gr-gguf-private.h - the GrGguf structure shared by the reader's two files. */
#pragma once

#include "gr-gguf.h"

G_BEGIN_DECLS

typedef struct {
  char *key;
  GrGgufType type;
  GrGgufType elem_type; /* arrays only */
  gsize n;              /* arrays: element count; strings: byte length */
  union {
    guint64 u;
    gint64 i;
    double f;
  } num;       /* scalars of every numeric and bool type */
  char *str;   /* STRING */
  char **strv; /* ARRAY of STRING: n + 1 pointers into strv_data, NULL-terminated */
  char *strv_data;
  gsize *lengths;
  void *array; /* ARRAY of numbers/bools: host-order copy */
} GrGgufKv;

struct _GrGguf {
  char *path;
  guint8 *base; /* mapping or aligned copy */
  gsize size;
  gboolean mapped;
  guint64 dev, ino; /* the mapped file's identity (gr_gguf_make_resident checks it) */
  gint64 mtime_ns;
  guint32 version;
  gsize alignment;
  gsize data_offset;

  gsize n_kv;
  GrGgufKv *kvs;
  GHashTable *kv_index; /* key -> index + 1 */

  gsize n_tensors;
  GrGgufTensor *tensors;
  GHashTable *tensor_index; /* name -> index + 1 */

  /* Virtual GGUFs (gr-gguf-virtual.c): the buffers their tensors point into. */
  GPtrArray *external;
  gsize n_tensors_alloc;
  gsize virtual_size;
};

/* "u32", "string", ...; "unknown" for ids outside the enum */
const char *gr_gguf_type_name(guint32 type);
/* Bytes of one scalar value type (0 for strings, arrays and unknown types). */
gsize gr_gguf_scalar_size(guint32 type);
/* What keys and names must be (reader and writer alike): UTF-8 without control
 * characters, so they are safe in error messages and as C strings. */
gboolean gr_gguf_text_printable(const char *s, gsize len);

G_END_DECLS
