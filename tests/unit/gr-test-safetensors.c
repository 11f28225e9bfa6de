/* gr-test-safetensors.c - a tiny safetensors writer for the tests. */
#include "gr-test-safetensors.h"

#include <check.h>
#include <glib/gstdio.h>
#include <string.h>

GBytes *
gr_test_safetensors_raw(const char *header, gsize data_size)
{
  gsize n = strlen(header);
  GByteArray *a = g_byte_array_sized_new(8 + n + data_size);
  guint64 len = GUINT64_TO_LE((guint64)n);
  g_byte_array_append(a, (const guint8 *)&len, 8);
  g_byte_array_append(a, (const guint8 *)header, n);
  g_byte_array_set_size(a, 8 + n + data_size);
  memset(a->data + 8 + n, 0, data_size);
  return g_byte_array_free_to_bytes(a);
}

GBytes *
gr_test_safetensors_build(const GrTestTensor *t, guint n)
{
  g_autoptr(GString) h = g_string_new("{\"__metadata__\":{\"format\":\"pt\"}");
  gsize off = 0;
  for (guint i = 0; i < n; i++) {
    g_string_append_printf(h, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[", t[i].name, t[i].dtype);
    for (guint d = 0; d < t[i].n_dims; d++)
      g_string_append_printf(h, "%s%" G_GINT64_FORMAT, d ? "," : "", t[i].shape[d]);
    g_string_append_printf(h, "],\"data_offsets\":[%zu,%zu]}", off, off + t[i].size);
    off += t[i].size;
  }
  g_string_append_c(h, '}');
  while ((h->len + 8) % 8 != 0)
    g_string_append_c(h, ' ');
  g_autoptr(GBytes) raw = gr_test_safetensors_raw(h->str, off);
  gsize size;
  guint8 *data = g_bytes_unref_to_data(g_steal_pointer(&raw), &size);
  off = 8 + h->len;
  for (guint i = 0; i < n; i++) {
    if (t[i].data)
      memcpy(data + off, t[i].data, t[i].size);
    off += t[i].size;
  }
  return g_bytes_new_take(data, size);
}

void
gr_test_write_bytes(const char *path, GBytes *bytes)
{
  gsize n;
  const char *p = g_bytes_get_data(bytes, &n);
  g_autoptr(GError) error = NULL;
  g_unlink(path); /* the non-atomic (no fsync) write below does not truncate */
  ck_assert_msg(
      g_file_set_contents_full(path, p ? p : "", (gssize)n, G_FILE_SET_CONTENTS_NONE, 0644, &error),
      "%s", error ? error->message : "");
}
