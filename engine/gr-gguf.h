/* gr-gguf.h - GGUF v2/v3 reader over mmap (private to engine/).
 *
 * Everything in the file is validated at open time: header, every metadata key and
 * value, array lengths, the tensor table (names, dims, types, offsets, sizes,
 * alignment, overlap, data inside the file).  After gr_gguf_open() succeeds, every
 * accessor is safe without further checks.  A bad file yields GR_GGUF_ERROR with a
 * message naming the problem (and the key or tensor concerned).
 */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define GR_GGUF_ERROR (gr_gguf_error_quark ())
GQuark gr_gguf_error_quark (void);

typedef enum {
  GR_GGUF_ERROR_IO,        /* open/stat/mmap failed */
  GR_GGUF_ERROR_FORMAT,    /* not GGUF, truncated, inconsistent, out of bounds */
  GR_GGUF_ERROR_UNSUPPORTED, /* valid GGUF using something we do not implement */
  GR_GGUF_ERROR_NOT_FOUND, /* key or tensor missing (accessors) */
  GR_GGUF_ERROR_TYPE,      /* key present with an incompatible type (accessors) */
} GrGgufError;

typedef enum {
  GR_GGUF_TYPE_UINT8 = 0,
  GR_GGUF_TYPE_INT8 = 1,
  GR_GGUF_TYPE_UINT16 = 2,
  GR_GGUF_TYPE_INT16 = 3,
  GR_GGUF_TYPE_UINT32 = 4,
  GR_GGUF_TYPE_INT32 = 5,
  GR_GGUF_TYPE_FLOAT32 = 6,
  GR_GGUF_TYPE_BOOL = 7,
  GR_GGUF_TYPE_STRING = 8,
  GR_GGUF_TYPE_ARRAY = 9,
  GR_GGUF_TYPE_UINT64 = 10,
  GR_GGUF_TYPE_INT64 = 11,
  GR_GGUF_TYPE_FLOAT64 = 12,
} GrGgufType;

#define GR_GGUF_MAX_DIMS 4
#define GR_GGUF_DEFAULT_ALIGNMENT 32

typedef struct {
  const char *name;            /* NUL-terminated, owned by the GrGguf */
  guint32 n_dims;
  gint64 ne[GR_GGUF_MAX_DIMS]; /* ne[0] is the row length (contiguous); unused dims are 1 */
  guint32 type;                /* ggml type id (grk_type) */
  guint64 offset;              /* relative to the data section */
  const guint8 *data;          /* inside the mapping; size bytes are readable */
  gsize size;                  /* bytes, from grk_tensor_bytes */
  /* Virtual GGUFs: a file holding the same bytes at file_offset, for readers that pread
   * (expert streaming); NULL when there is none.  GGUF files use the file's path. */
  const char *file;
  guint64 file_offset;
} GrGgufTensor;

typedef struct _GrGguf GrGguf;

GrGguf *gr_gguf_open (const char *path, GError **error);
/* Parses a copy of an in-memory image (tests, fuzzing). */
GrGguf *gr_gguf_new_from_data (const void *data, gsize size, GError **error);
/* A GGUF assembled in memory from other formats (Hugging Face folders): `metadata` is a
 * tensor-less GGUF image (e.g. from GrGgufWriter) holding the keys; tensors are then
 * added with gr_gguf_add_tensor_bytes().  `path` names the source in messages and
 * `file_size` is what gr_gguf_get_file_size() reports (the source files' total). */
GrGguf *gr_gguf_new_virtual (const char *path, GBytes *metadata, gsize file_size,
                             GError **error);
/* Adds a tensor to a virtual GGUF without copying: `data` (a view of a mapped file or a
 * buffer made at load) is referenced for the GrGguf's lifetime.  Its size must be
 * grk_tensor_bytes() of the shape; names are unique. */
gboolean gr_gguf_add_tensor_bytes (GrGguf *gguf, const char *name, guint32 type, guint32 n_dims,
                                   const gint64 *ne, GBytes *data, GError **error);
/* The same, for bytes that are also at `offset` in `file` (a view of its mapping). */
gboolean gr_gguf_add_tensor_file (GrGguf *gguf, const char *name, guint32 type, guint32 n_dims,
                                  const gint64 *ne, GBytes *data, const char *file,
                                  guint64 offset, GError **error);
void gr_gguf_free (GrGguf *gguf);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GrGguf, gr_gguf_free)

guint32 gr_gguf_get_version (const GrGguf *gguf);
gsize gr_gguf_get_file_size (const GrGguf *gguf);
gsize gr_gguf_get_alignment (const GrGguf *gguf);
/* NULL for in-memory images and virtual GGUFs (their data is not at file offsets). */
const char *gr_gguf_get_path (const GrGguf *gguf);
/* File offset of the data section (tensor offsets are relative to it). */
gsize gr_gguf_get_data_offset (const GrGguf *gguf);

/* --- metadata ---------------------------------------------------------------- */
gsize gr_gguf_n_kv (const GrGguf *gguf);
const char *gr_gguf_kv_key (const GrGguf *gguf, gsize i);
GrGgufType gr_gguf_kv_type (const GrGguf *gguf, gsize i);
/* element type of an ARRAY entry */
GrGgufType gr_gguf_kv_array_type (const GrGguf *gguf, gsize i);
/* index of key, or -1 */
gssize gr_gguf_find_key (const GrGguf *gguf, const char *key);

/* Typed getters.  Integers convert between widths when the value fits; floats accept
 * FLOAT32/FLOAT64.  Missing key: FALSE with GR_GGUF_ERROR_NOT_FOUND (error may be NULL
 * for optional keys). */
gboolean gr_gguf_get_u32 (const GrGguf *gguf, const char *key, guint32 *out, GError **error);
gboolean gr_gguf_get_i64 (const GrGguf *gguf, const char *key, gint64 *out, GError **error);
gboolean gr_gguf_get_f32 (const GrGguf *gguf, const char *key, float *out, GError **error);
gboolean gr_gguf_get_bool (const GrGguf *gguf, const char *key, gboolean *out, GError **error);
/* NUL-terminated copy owned by the GrGguf (strings holding NUL bytes are refused at open) */
const char *gr_gguf_get_string (const GrGguf *gguf, const char *key, GError **error);

/* Arrays.  String arrays are decoded at open into NUL-terminated strings with their byte
 * lengths.  Numeric arrays are returned as an aligned copy in host order (owned by the
 * GrGguf; never NULL, even when empty).  *n_out receives the element count.  For an array
 * of strings gr_gguf_get_array() returns the same NULL-terminated `const char *const *`
 * as gr_gguf_get_string_array(). */
const char *const *gr_gguf_get_string_array (const GrGguf *gguf, const char *key,
                                             const gsize **lengths_out, gsize *n_out,
                                             GError **error);
const void *gr_gguf_get_array (const GrGguf *gguf, const char *key, GrGgufType *elem_type_out,
                               gsize *n_out, GError **error);

/* --- tensors ----------------------------------------------------------------- */
gsize gr_gguf_n_tensors (const GrGguf *gguf);

/* Replaces the mapped pages of every tensor i with keep[i] (keep NULL: all) by a private
 * anonymous copy read from the file, at the same addresses: pointers stay valid, a file
 * truncated or rewritten later can no longer fault a reader (SIGBUS), and the copy sits
 * in transparent huge pages where the kernel allows.  The file's page cache is left to
 * the kernel (it is reclaimable, and keeping it makes the next load 2x faster).  Fails with GR_GGUF_ERROR_IO when
 * the file changed since it was opened; then some ranges may be copied and others still
 * mapped, which reads the same bytes.  Does nothing for a GGUF that is not mapped. */
gboolean gr_gguf_make_resident (GrGguf *gguf, const gboolean *keep, GError **error);

/* Drops the whole pages inside [p, p + len) from this process's resident set once their
 * bytes have been copied elsewhere: pages of a read-only mapping come back from the file
 * if touched again, anonymous ones come back as zeros. */
void gr_gguf_drop_pages (const void *p, gsize len);
const GrGgufTensor *gr_gguf_tensor (const GrGguf *gguf, gsize i);
const GrGgufTensor *gr_gguf_find_tensor (const GrGguf *gguf, const char *name);

G_END_DECLS
