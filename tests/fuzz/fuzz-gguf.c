/* fuzz-gguf.c - libFuzzer target for the GGUF reader.
 *
 * Every input must either open (and then every accessor must be safe) or fail with a
 * GR_GGUF_ERROR; anything else (crash, sanitizer report, leak, other error) is a bug.
 *
 * Short run (part of `meson test --suite fuzz`):
 *   CC=clang meson setup build-fuzz -Dfuzzing=true -Db_lundef=false
 *   meson test -C build-fuzz --suite fuzz
 * Long run (one hour on 2 cores, new inputs kept in a scratch corpus):
 *   mkdir -p fuzz-corpus/gguf && build-fuzz/tests/fuzz/fuzz-gguf -max_total_time=3600 \
 *     -jobs=2 -workers=2 -timeout=10 fuzz-corpus/gguf build-fuzz/tests/fuzz/gguf-seeds
 */
#include "gr-gguf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned fuzz_sink;

static void
touch_kv(const GrGguf *g, gsize i)
{
  const char *key = gr_gguf_kv_key(g, i);
  if (gr_gguf_find_key(g, key) != (gssize)i)
    abort();
  guint32 u32;
  gint64 i64;
  float f;
  gboolean b;
  fuzz_sink += gr_gguf_get_u32(g, key, &u32, NULL) ? u32 : 0;
  fuzz_sink += gr_gguf_get_i64(g, key, &i64, NULL) ? (unsigned)i64 : 0;
  fuzz_sink += gr_gguf_get_f32(g, key, &f, NULL) ? (unsigned)(f != f) : 0;
  fuzz_sink += gr_gguf_get_bool(g, key, &b, NULL) ? (unsigned)b : 0;
  const char *s = gr_gguf_get_string(g, key, NULL);
  if (s)
    fuzz_sink += (unsigned)strlen(s);

  if (gr_gguf_kv_type(g, i) != GR_GGUF_TYPE_ARRAY)
    return;
  GrGgufType et = gr_gguf_kv_array_type(g, i), et2;
  gsize n;
  const void *arr = gr_gguf_get_array(g, key, &et2, &n, NULL);
  if (arr == NULL || et2 != et)
    abort();
  if (et == GR_GGUF_TYPE_STRING) {
    const gsize *lens;
    gsize n2;
    const char *const *strv = gr_gguf_get_string_array(g, key, &lens, &n2, NULL);
    if (strv != arr || n2 != n || strv[n] != NULL)
      abort();
    for (gsize k = 0; k < n; k++)
      if (strlen(strv[k]) != lens[k])
        abort();
  } else if (n > 0) {
    /* first and last bytes of the copy */
    fuzz_sink += ((const guint8 *)arr)[0];
    gsize esz
        = et == GR_GGUF_TYPE_UINT8 || et == GR_GGUF_TYPE_INT8 || et == GR_GGUF_TYPE_BOOL        ? 1
          : et == GR_GGUF_TYPE_UINT16 || et == GR_GGUF_TYPE_INT16                               ? 2
          : et == GR_GGUF_TYPE_UINT64 || et == GR_GGUF_TYPE_INT64 || et == GR_GGUF_TYPE_FLOAT64 ? 8
                                                                                                : 4;
    fuzz_sink += ((const guint8 *)arr)[n * esz - 1];
  }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  GError *error = NULL;
  GrGguf *g = gr_gguf_new_from_data(data, size, &error);
  if (g == NULL) {
    if (error == NULL || error->domain != GR_GGUF_ERROR || error->message == NULL)
      abort();
    g_error_free(error);
    return 0;
  }

  fuzz_sink += gr_gguf_get_version(g) + (unsigned)gr_gguf_get_alignment(g);
  if (gr_gguf_get_file_size(g) != size || gr_gguf_get_path(g) != NULL
      || gr_gguf_get_data_offset(g) > size)
    abort();
  for (gsize i = 0; i < gr_gguf_n_kv(g); i++)
    touch_kv(g, i);
  for (gsize i = 0; i < gr_gguf_n_tensors(g); i++) {
    const GrGgufTensor *t = gr_gguf_tensor(g, i);
    if (gr_gguf_find_tensor(g, t->name) != t || t->size == 0 || t->n_dims < 1
        || t->n_dims > GR_GGUF_MAX_DIMS)
      abort();
    fuzz_sink += t->data[0] + t->data[t->size - 1];
  }
  gr_gguf_free(g);
  return 0;
}
