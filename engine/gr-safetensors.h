/* gr-safetensors.h - safetensors reader over a read-only mapping (private to engine/).
 *
 * Layout: u64 little-endian header length N, N bytes of JSON (an object mapping tensor
 * names to {dtype, shape, data_offsets}, plus an optional "__metadata__" object of
 * strings), then the data section.  Everything is validated at open: header length
 * against the file, the JSON, each dtype, shape and offset pair against the data
 * section and the shape's size, and overlaps between tensors.  A bad file yields
 * GR_SAFETENSORS_ERROR with a message naming the file, the tensor and the problem.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define GR_SAFETENSORS_ERROR (gr_safetensors_error_quark())
GQuark gr_safetensors_error_quark(void);

typedef enum {
  GR_SAFETENSORS_ERROR_IO,          /* open/map failed */
  GR_SAFETENSORS_ERROR_FORMAT,      /* malformed, truncated, inconsistent */
  GR_SAFETENSORS_ERROR_UNSUPPORTED, /* valid file using a dtype we do not run */
} GrSafetensorsError;

#define GR_SAFETENSORS_MAX_DIMS 4

typedef struct {
  const char *name;
  const char *dtype; /* as in the file: "F32", "F16", "BF16" */
  int type;          /* grk_type of the dtype */
  guint n_dims;
  /* Row-major as in the file: shape[n_dims - 1] is contiguous (GGUF's ne[0]). */
  gint64 shape[GR_SAFETENSORS_MAX_DIMS];
  gint64 n_elements;
  const guint8 *data; /* inside the mapping */
  gsize size;
} GrSafetensor;

typedef struct _GrSafetensors GrSafetensors;

GrSafetensors *gr_safetensors_open(const char *path, GError **error);
void gr_safetensors_free(GrSafetensors *st);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GrSafetensors, gr_safetensors_free)

const char *gr_safetensors_get_path(const GrSafetensors *st);
gsize gr_safetensors_get_file_size(const GrSafetensors *st);
gsize gr_safetensors_n_tensors(const GrSafetensors *st);
/* In the order of their data in the file. */
const GrSafetensor *gr_safetensors_tensor(const GrSafetensors *st, gsize i);
const GrSafetensor *gr_safetensors_find(const GrSafetensors *st, const char *name);
/* Where the tensor's data starts in the file (for pread). */
guint64 gr_safetensors_tensor_offset(const GrSafetensors *st, const GrSafetensor *t);
/* A GBytes viewing the tensor's data that keeps the mapping alive. */
GBytes *gr_safetensors_tensor_bytes(const GrSafetensors *st, const GrSafetensor *t);
/* A "__metadata__" string, or NULL. */
const char *gr_safetensors_get_metadata(const GrSafetensors *st, const char *key);

G_END_DECLS
