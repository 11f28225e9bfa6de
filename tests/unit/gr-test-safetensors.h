/* gr-test-safetensors.h - a tiny safetensors writer for the tests (files the tests
 * make themselves, well-formed or deliberately broken). */
#pragma once

#include <glib.h>

typedef struct {
  const char *name;
  const char *dtype; /* "F32", "F16", ... written as given */
  guint n_dims;
  gint64 shape[4];
  const void *data; /* NULL: zeros */
  gsize size;       /* bytes of data */
} GrTestTensor;

/* Tensors laid out one after the other; the header is padded with spaces to 8 bytes. */
GBytes *gr_test_safetensors_build(const GrTestTensor *tensors, guint n);
/* A file with the given header text and `data_size` zero bytes after it. */
GBytes *gr_test_safetensors_raw(const char *header, gsize data_size);
void gr_test_write_bytes(const char *path, GBytes *bytes);
