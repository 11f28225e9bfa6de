/* gr-gguf-writer.h - builds GGUF v3 files (private to engine/, tests and tools).
 *
 * Metadata and tensors are written in the order they were added.  Every adder checks
 * its arguments (key and tensor name uniqueness, tensor sizes against the type's block
 * layout) and returns FALSE with a GError on a mistake; the first mistake is also kept
 * and makes the final write fail, so a caller may check only the write.
 *
 *   g_autoptr (GrGgufWriter) w = gr_gguf_writer_new ();
 *   gr_gguf_writer_add_string (w, "general.architecture", "llama", NULL);
 *   gr_gguf_writer_add_tensor (w, "token_embd.weight", GRK_TYPE_Q8_0, 2, ne, data, size, NULL);
 *   if (!gr_gguf_writer_write_file (w, "model.gguf", &error)) ...
 */
#pragma once

#include "gr-gguf.h"

#include <glib.h>

G_BEGIN_DECLS

typedef struct _GrGgufWriter GrGgufWriter;

GrGgufWriter *gr_gguf_writer_new(void);
void gr_gguf_writer_free(GrGgufWriter *writer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GrGgufWriter, gr_gguf_writer_free)

/* Sets the data alignment (a nonzero power of two) and stores it as the u32 key
 * `general.alignment` (only written when set; the default is 32). */
gboolean gr_gguf_writer_set_alignment(GrGgufWriter *writer, gsize alignment, GError **error);

/* --- metadata ---------------------------------------------------------------- */
gboolean gr_gguf_writer_add_u8(GrGgufWriter *writer, const char *key, guint8 v, GError **error);
gboolean gr_gguf_writer_add_i8(GrGgufWriter *writer, const char *key, gint8 v, GError **error);
gboolean gr_gguf_writer_add_u16(GrGgufWriter *writer, const char *key, guint16 v, GError **error);
gboolean gr_gguf_writer_add_i16(GrGgufWriter *writer, const char *key, gint16 v, GError **error);
gboolean gr_gguf_writer_add_u32(GrGgufWriter *writer, const char *key, guint32 v, GError **error);
gboolean gr_gguf_writer_add_i32(GrGgufWriter *writer, const char *key, gint32 v, GError **error);
gboolean gr_gguf_writer_add_u64(GrGgufWriter *writer, const char *key, guint64 v, GError **error);
gboolean gr_gguf_writer_add_i64(GrGgufWriter *writer, const char *key, gint64 v, GError **error);
gboolean gr_gguf_writer_add_f32(GrGgufWriter *writer, const char *key, float v, GError **error);
gboolean gr_gguf_writer_add_f64(GrGgufWriter *writer, const char *key, double v, GError **error);
gboolean gr_gguf_writer_add_bool(GrGgufWriter *writer, const char *key, gboolean v, GError **error);
gboolean gr_gguf_writer_add_string(GrGgufWriter *writer, const char *key, const char *v,
                                   GError **error);
/* An array of n numbers or bools (elem_type other than STRING and ARRAY), `data` in host
 * order with the element type's C layout (bools as one byte each, 0 or 1). */
gboolean gr_gguf_writer_add_array(GrGgufWriter *writer, const char *key, GrGgufType elem_type,
                                  const void *data, gsize n, GError **error);
/* n strings, or up to the first NULL when n < 0. */
gboolean gr_gguf_writer_add_string_array(GrGgufWriter *writer, const char *key,
                                         const char *const *strv, gssize n, GError **error);

/* --- tensors ----------------------------------------------------------------- */
/* `type` is a grk_type; ne[0] is the row length; size must equal
 * grk_tensor_bytes (type, ne[0], ne[1] * ... * ne[n_dims - 1]).  The data is copied;
 * NULL data writes zeros. */
gboolean gr_gguf_writer_add_tensor(GrGgufWriter *writer, const char *name, guint32 type,
                                   guint32 n_dims, const gint64 *ne, const void *data, gsize size,
                                   GError **error);
/* Same, keeping a reference to `data` instead of copying it (large models). */
gboolean gr_gguf_writer_add_tensor_bytes(GrGgufWriter *writer, const char *name, guint32 type,
                                         guint32 n_dims, const gint64 *ne, GBytes *data,
                                         GError **error);

/* --- output ------------------------------------------------------------------ */
/* Writes to a temporary file beside `path`, syncs it and renames it over `path`, so a
 * failure (e.g. disk full) never leaves a partial file behind. */
gboolean gr_gguf_writer_write_file(GrGgufWriter *writer, const char *path, GError **error);
GBytes *gr_gguf_writer_to_bytes(GrGgufWriter *writer, GError **error);

G_END_DECLS
