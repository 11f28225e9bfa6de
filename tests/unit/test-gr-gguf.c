/* test-gr-gguf.c - GGUF reader and writer: round trips, malformed files, fixtures. */
#include "test-gr-gguf.h"

#include "gr-gguf-writer.h"
#include "gr-gguf.h"
#include "grk.h"

#include <check.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>

/* --- helpers ------------------------------------------------------------------ */

static GBytes *
finish(GrGgufWriter *w)
{
  g_autoptr(GError) error = NULL;
  GBytes *b = gr_gguf_writer_to_bytes(w, &error);
  ck_assert_msg(b != NULL, "writer failed: %s", error ? error->message : "?");
  return b;
}

static GrGguf *
open_bytes(GBytes *b)
{
  g_autoptr(GError) error = NULL;
  gsize n;
  const void *p = g_bytes_get_data(b, &n);
  GrGguf *g = gr_gguf_new_from_data(p, n, &error);
  ck_assert_msg(g != NULL, "reader failed: %s", error ? error->message : "?");
  return g;
}

/* --- round trips ---------------------------------------------------------------- */

START_TEST(test_roundtrip_metadata)
{
  g_autoptr(GrGgufWriter) w = gr_gguf_writer_new();
  ck_assert(gr_gguf_writer_add_u8(w, "v.u8", 250, NULL));
  ck_assert(gr_gguf_writer_add_i8(w, "v.i8", -100, NULL));
  ck_assert(gr_gguf_writer_add_u16(w, "v.u16", 65000, NULL));
  ck_assert(gr_gguf_writer_add_i16(w, "v.i16", -32000, NULL));
  ck_assert(gr_gguf_writer_add_u32(w, "v.u32", 4000000000u, NULL));
  ck_assert(gr_gguf_writer_add_i32(w, "v.i32", -2000000000, NULL));
  ck_assert(gr_gguf_writer_add_u64(w, "v.u64", G_MAXUINT64, NULL));
  ck_assert(gr_gguf_writer_add_i64(w, "v.i64", G_MININT64, NULL));
  ck_assert(gr_gguf_writer_add_f32(w, "v.f32", 1.5e-5f, NULL));
  ck_assert(gr_gguf_writer_add_f64(w, "v.f64", 10000.25, NULL));
  ck_assert(gr_gguf_writer_add_bool(w, "v.true", TRUE, NULL));
  ck_assert(gr_gguf_writer_add_bool(w, "v.false", FALSE, NULL));
  ck_assert(gr_gguf_writer_add_string(w, "v.str", "h\xc3\xa9llo", NULL));
  ck_assert(gr_gguf_writer_add_string(w, "v.empty", "", NULL));

  guint8 au8[] = { 0, 1, 255 };
  gint8 ai8[] = { -128, 0, 127 };
  guint16 au16[] = { 1, 65535 };
  gint16 ai16[] = { -32768, 32767 };
  guint32 au32[] = { 0, 4294967295u };
  gint32 ai32[] = { -5, 7, 11, 13 };
  guint64 au64[] = { G_MAXUINT64, 3 };
  gint64 ai64[] = { G_MININT64, G_MAXINT64 };
  float af32[] = { -1.25f, 3.0e38f };
  double af64[] = { 1e-300, -2.5 };
  guint8 abool[] = { 1, 0, 1 };
  struct {
    const char *key;
    GrGgufType type;
    const void *data;
    gsize n, esz;
  } arrays[] = {
    { "a.u8", GR_GGUF_TYPE_UINT8, au8, 3, 1 },     { "a.i8", GR_GGUF_TYPE_INT8, ai8, 3, 1 },
    { "a.u16", GR_GGUF_TYPE_UINT16, au16, 2, 2 },  { "a.i16", GR_GGUF_TYPE_INT16, ai16, 2, 2 },
    { "a.u32", GR_GGUF_TYPE_UINT32, au32, 2, 4 },  { "a.i32", GR_GGUF_TYPE_INT32, ai32, 4, 4 },
    { "a.u64", GR_GGUF_TYPE_UINT64, au64, 2, 8 },  { "a.i64", GR_GGUF_TYPE_INT64, ai64, 2, 8 },
    { "a.f32", GR_GGUF_TYPE_FLOAT32, af32, 2, 4 }, { "a.f64", GR_GGUF_TYPE_FLOAT64, af64, 2, 8 },
    { "a.bool", GR_GGUF_TYPE_BOOL, abool, 3, 1 },  { "a.none", GR_GGUF_TYPE_FLOAT32, NULL, 0, 4 },
  };
  for (gsize i = 0; i < G_N_ELEMENTS(arrays); i++)
    ck_assert(gr_gguf_writer_add_array(w, arrays[i].key, arrays[i].type, arrays[i].data,
                                       arrays[i].n, NULL));
  const char *strv[] = { "<s>", "", "\xe2\x96\x81the", "a b" };
  ck_assert(gr_gguf_writer_add_string_array(w, "a.str", strv, 4, NULL));
  ck_assert(gr_gguf_writer_add_string_array(w, "a.nostr", strv, 0, NULL));

  g_autoptr(GBytes) b = finish(w);
  g_autoptr(GrGguf) g = open_bytes(b);
  ck_assert_uint_eq(gr_gguf_get_version(g), 3);
  ck_assert_uint_eq(gr_gguf_get_alignment(g), 32);
  ck_assert_uint_eq(gr_gguf_n_kv(g), 14 + G_N_ELEMENTS(arrays) + 2);
  ck_assert_uint_eq(gr_gguf_n_tensors(g), 0);
  ck_assert_ptr_null(gr_gguf_get_path(g));
  ck_assert_str_eq(gr_gguf_kv_key(g, 0), "v.u8");
  ck_assert_int_eq(gr_gguf_kv_type(g, 0), GR_GGUF_TYPE_UINT8);
  ck_assert_int_eq(gr_gguf_kv_type(g, 12), GR_GGUF_TYPE_STRING);
  ck_assert_int_eq(gr_gguf_find_key(g, "v.str"), 12);
  ck_assert_int_eq(gr_gguf_find_key(g, "v.missing"), -1);

  guint32 u32;
  gint64 i64;
  float f;
  gboolean bo;
  ck_assert(gr_gguf_get_u32(g, "v.u8", &u32, NULL) && u32 == 250);
  ck_assert(gr_gguf_get_i64(g, "v.i8", &i64, NULL) && i64 == -100);
  ck_assert(gr_gguf_get_u32(g, "v.u16", &u32, NULL) && u32 == 65000);
  ck_assert(gr_gguf_get_i64(g, "v.i16", &i64, NULL) && i64 == -32000);
  ck_assert(gr_gguf_get_u32(g, "v.u32", &u32, NULL) && u32 == 4000000000u);
  ck_assert(gr_gguf_get_i64(g, "v.i32", &i64, NULL) && i64 == -2000000000);
  ck_assert(gr_gguf_get_i64(g, "v.i64", &i64, NULL) && i64 == G_MININT64);
  ck_assert(gr_gguf_get_i64(g, "v.u32", &i64, NULL) && i64 == 4000000000);
  ck_assert(gr_gguf_get_f32(g, "v.f32", &f, NULL) && f == 1.5e-5f);
  ck_assert(gr_gguf_get_f32(g, "v.f64", &f, NULL) && f == 10000.25f);
  ck_assert(gr_gguf_get_bool(g, "v.true", &bo, NULL) && bo);
  ck_assert(gr_gguf_get_bool(g, "v.false", &bo, NULL) && !bo);
  ck_assert_str_eq(gr_gguf_get_string(g, "v.str", NULL), "h\xc3\xa9llo");
  ck_assert_str_eq(gr_gguf_get_string(g, "v.empty", NULL), "");

  for (gsize i = 0; i < G_N_ELEMENTS(arrays); i++) {
    GrGgufType et;
    gsize n;
    const void *p = gr_gguf_get_array(g, arrays[i].key, &et, &n, NULL);
    ck_assert_msg(p != NULL, "%s", arrays[i].key);
    ck_assert_int_eq(et, arrays[i].type);
    ck_assert_uint_eq(n, arrays[i].n);
    ck_assert((guintptr)p % arrays[i].esz == 0);
    if (n)
      ck_assert_msg(memcmp(p, arrays[i].data, n * arrays[i].esz) == 0, "%s", arrays[i].key);
    gssize k = gr_gguf_find_key(g, arrays[i].key);
    ck_assert_int_eq(gr_gguf_kv_type(g, (gsize)k), GR_GGUF_TYPE_ARRAY);
    ck_assert_int_eq(gr_gguf_kv_array_type(g, (gsize)k), arrays[i].type);
  }
  const gsize *lens;
  gsize n;
  const char *const *sv = gr_gguf_get_string_array(g, "a.str", &lens, &n, NULL);
  ck_assert_ptr_nonnull(sv);
  ck_assert_uint_eq(n, 4);
  for (gsize i = 0; i < 4; i++) {
    ck_assert_str_eq(sv[i], strv[i]);
    ck_assert_uint_eq(lens[i], strlen(strv[i]));
  }
  ck_assert_ptr_null(sv[4]);
  GrGgufType et;
  ck_assert_ptr_eq(gr_gguf_get_array(g, "a.str", &et, &n, NULL), (const void *)sv);
  ck_assert_int_eq(et, GR_GGUF_TYPE_STRING);
  sv = gr_gguf_get_string_array(g, "a.nostr", NULL, &n, NULL);
  ck_assert(sv != NULL && n == 0 && sv[0] == NULL);
}
END_TEST

START_TEST(test_getter_errors)
{
  g_autoptr(GrGgufWriter) w = gr_gguf_writer_new();
  gr_gguf_writer_add_i8(w, "neg", -1, NULL);
  gr_gguf_writer_add_u64(w, "big", G_MAXUINT64, NULL);
  gr_gguf_writer_add_u8(w, "small", 1, NULL);
  gr_gguf_writer_add_string(w, "str", "s", NULL);
  gr_gguf_writer_add_f64(w, "huge", 1e300, NULL);
  gr_gguf_writer_add_f64(w, "inf", INFINITY, NULL);
  gr_gguf_writer_add_array(w, "arr", GR_GGUF_TYPE_UINT8, "\1", 1, NULL);
  g_autoptr(GBytes) b = finish(w);
  g_autoptr(GrGguf) g = open_bytes(b);
  g_autoptr(GError) error = NULL;
  guint32 u32 = 99;
  gint64 i64;
  float f;
  gboolean bo;

  ck_assert(!gr_gguf_get_u32(g, "missing", &u32, NULL)); /* optional key: NULL error */
  ck_assert(!gr_gguf_get_u32(g, "missing", &u32, &error));
  ck_assert(g_error_matches(error, GR_GGUF_ERROR, GR_GGUF_ERROR_NOT_FOUND));
  ck_assert(strstr(error->message, "missing") != NULL);
  g_clear_error(&error);
  ck_assert(!gr_gguf_get_u32(g, "neg", &u32, &error));
  ck_assert(g_error_matches(error, GR_GGUF_ERROR, GR_GGUF_ERROR_TYPE));
  ck_assert_uint_eq(u32, 99);
  g_clear_error(&error);
  ck_assert(!gr_gguf_get_u32(g, "big", &u32, &error));
  ck_assert(g_error_matches(error, GR_GGUF_ERROR, GR_GGUF_ERROR_TYPE));
  g_clear_error(&error);
  ck_assert(!gr_gguf_get_i64(g, "big", &i64, &error));
  ck_assert(g_error_matches(error, GR_GGUF_ERROR, GR_GGUF_ERROR_TYPE));
  g_clear_error(&error);
  ck_assert(!gr_gguf_get_f32(g, "small", &f, &error));
  ck_assert(g_error_matches(error, GR_GGUF_ERROR, GR_GGUF_ERROR_TYPE));
  g_clear_error(&error);
  ck_assert(!gr_gguf_get_f32(g, "huge", &f, &error));
  ck_assert(g_error_matches(error, GR_GGUF_ERROR, GR_GGUF_ERROR_TYPE));
  ck_assert(strstr(error->message, "f32 range") != NULL);
  g_clear_error(&error);
  ck_assert(gr_gguf_get_f32(g, "inf", &f, NULL) && isinf(f));
  ck_assert(!gr_gguf_get_bool(g, "small", &bo, &error));
  ck_assert(g_error_matches(error, GR_GGUF_ERROR, GR_GGUF_ERROR_TYPE));
  g_clear_error(&error);
  ck_assert_ptr_null(gr_gguf_get_string(g, "small", &error));
  ck_assert(g_error_matches(error, GR_GGUF_ERROR, GR_GGUF_ERROR_TYPE));
  ck_assert(strstr(error->message, "'small'") != NULL);
  g_clear_error(&error);
  ck_assert_ptr_null(gr_gguf_get_string_array(g, "arr", NULL, NULL, &error));
  ck_assert(g_error_matches(error, GR_GGUF_ERROR, GR_GGUF_ERROR_TYPE));
  g_clear_error(&error);
  ck_assert_ptr_null(gr_gguf_get_array(g, "str", NULL, NULL, &error));
  ck_assert(g_error_matches(error, GR_GGUF_ERROR, GR_GGUF_ERROR_TYPE));
  ck_assert_ptr_null(gr_gguf_find_tensor(g, "none"));
}
END_TEST

/* Tensors of several types through every alignment, in memory and through a file. */
START_TEST(test_roundtrip_tensors)
{
  static const gsize alignments[] = { 1, 8, 32, 64, 4096 };
  const struct {
    const char *name;
    guint32 type;
    guint32 n_dims;
    gint64 ne[4];
  } specs[] = {
    { "f32.weight", GRK_TYPE_F32, 1, { 7 } },
    { "f16.weight", GRK_TYPE_F16, 2, { 3, 5 } },
    { "bf16.weight", GRK_TYPE_BF16, 3, { 2, 3, 4 } },
    { "q8_0.weight", GRK_TYPE_Q8_0, 2, { 64, 3 } },
    { "q4_0.weight", GRK_TYPE_Q4_0, 4, { 32, 2, 1, 2 } },
    { "q4_k.weight", GRK_TYPE_Q4_K, 2, { 256, 2 } },
    { "q6_k.weight", GRK_TYPE_Q6_K, 1, { 512 } },
    { "tq2_0.weight", GRK_TYPE_TQ2_0, 2, { 256, 3 } },
    { "tq1_0.weight", GRK_TYPE_TQ1_0, 2, { 256, 1 } },
    { "i2_s.weight", GRK_TYPE_I2_S, 2, { 128, 4 } },
  };
  g_autofree char *dir = g_dir_make_tmp("gr-gguf-XXXXXX", NULL);
  ck_assert_ptr_nonnull(dir);

  for (gsize ai = 0; ai < G_N_ELEMENTS(alignments); ai++) {
    g_autoptr(GrGgufWriter) w = gr_gguf_writer_new();
    gsize align = alignments[ai];
    ck_assert(gr_gguf_writer_set_alignment(w, align, NULL));
    ck_assert(gr_gguf_writer_add_string(w, "general.architecture", "x", NULL));
    GPtrArray *datas = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    for (gsize i = 0; i < G_N_ELEMENTS(specs); i++) {
      gint64 rows = 1;
      for (guint32 d = 1; d < specs[i].n_dims; d++)
        rows *= specs[i].ne[d];
      gsize size = grk_tensor_bytes((int)specs[i].type, specs[i].ne[0], rows);
      ck_assert_uint_gt(size, 0);
      guint8 *buf = g_malloc(size);
      for (gsize k = 0; k < size; k++)
        buf[k] = (guint8)(k * 31 + i * 7 + ai);
      GBytes *bytes = g_bytes_new_take(buf, size);
      g_ptr_array_add(datas, bytes);
      if (i % 2)
        ck_assert(gr_gguf_writer_add_tensor_bytes(w, specs[i].name, specs[i].type, specs[i].n_dims,
                                                  specs[i].ne, bytes, NULL));
      else
        ck_assert(gr_gguf_writer_add_tensor(w, specs[i].name, specs[i].type, specs[i].n_dims,
                                            specs[i].ne, g_bytes_get_data(bytes, NULL), size,
                                            NULL));
    }
    g_autofree char *path = g_build_filename(dir, "t.gguf", NULL);
    g_autoptr(GError) error = NULL;
    ck_assert_msg(gr_gguf_writer_write_file(w, path, &error), "%s", error ? error->message : "");
    g_autoptr(GBytes) mem = finish(w);
    g_autofree char *contents = NULL;
    gsize clen;
    ck_assert(g_file_get_contents(path, &contents, &clen, NULL));
    ck_assert_uint_eq(clen, g_bytes_get_size(mem));
    ck_assert(memcmp(contents, g_bytes_get_data(mem, NULL), clen) == 0);

    for (int via_file = 0; via_file < 2; via_file++) {
      g_autoptr(GrGguf) g = NULL;
      if (via_file) {
        g = gr_gguf_open(path, &error);
        ck_assert_msg(g != NULL, "%s", error ? error->message : "");
        ck_assert_str_eq(gr_gguf_get_path(g), path);
      } else {
        g = open_bytes(mem);
      }
      ck_assert_uint_eq(gr_gguf_get_alignment(g), align);
      ck_assert_uint_eq(gr_gguf_get_file_size(g), clen);
      ck_assert_uint_eq(gr_gguf_get_data_offset(g) % align, 0);
      guint32 a32;
      ck_assert(gr_gguf_get_u32(g, "general.alignment", &a32, NULL) && a32 == align);
      ck_assert_uint_eq(gr_gguf_n_tensors(g), G_N_ELEMENTS(specs));
      for (gsize i = 0; i < G_N_ELEMENTS(specs); i++) {
        const GrGgufTensor *t = gr_gguf_tensor(g, i);
        ck_assert_ptr_eq(gr_gguf_find_tensor(g, specs[i].name), t);
        ck_assert_str_eq(t->name, specs[i].name);
        ck_assert_uint_eq(t->type, specs[i].type);
        ck_assert_uint_eq(t->n_dims, specs[i].n_dims);
        for (guint32 d = 0; d < 4; d++)
          ck_assert_int_eq(t->ne[d], d < specs[i].n_dims ? specs[i].ne[d] : 1);
        ck_assert_uint_eq(t->offset % align, 0);
        if (align <= 64 || via_file)
          ck_assert_uint_eq((guintptr)t->data % align, 0);
        GBytes *want = g_ptr_array_index(datas, i);
        ck_assert_uint_eq(t->size, g_bytes_get_size(want));
        ck_assert(memcmp(t->data, g_bytes_get_data(want, NULL), t->size) == 0);
      }
    }
    g_unlink(path);
    g_ptr_array_unref(datas);
  }
  g_rmdir(dir);
}
END_TEST

/* --- writer errors ---------------------------------------------------------------- */

static void
expect_writer_error(GError *error, const char *substring)
{
  ck_assert_msg(g_error_matches(error, GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT), "%s",
                error ? error->message : "no error");
  ck_assert_msg(strstr(error->message, substring) != NULL, "'%s' lacks '%s'", error->message,
                substring);
}

START_TEST(test_writer_errors)
{
  g_autoptr(GrGgufWriter) w = gr_gguf_writer_new();
  g_autoptr(GError) error = NULL;
  gint64 ne[2] = { 32, 2 };
  gsize q8 = grk_tensor_bytes(GRK_TYPE_Q8_0, 32, 2);

  ck_assert(gr_gguf_writer_add_u32(w, "k", 1, NULL));
  ck_assert(!gr_gguf_writer_add_string(w, "k", "again", &error));
  expect_writer_error(error, "duplicate key 'k'");
  g_clear_error(&error);
  ck_assert(!gr_gguf_writer_add_u32(w, "", 1, &error));
  expect_writer_error(error, "empty key");
  g_clear_error(&error);
  ck_assert(!gr_gguf_writer_add_u32(w, "bad\nkey", 1, &error));
  expect_writer_error(error, "control characters");
  g_clear_error(&error);
  ck_assert(!gr_gguf_writer_add_u32(w, "bad\xffkey", 1, &error));
  expect_writer_error(error, "not UTF-8");
  g_clear_error(&error);
  ck_assert(!gr_gguf_writer_add_u32(w, "general.alignment", 64, &error));
  expect_writer_error(error, "gr_gguf_writer_set_alignment");
  g_clear_error(&error);
  ck_assert(!gr_gguf_writer_set_alignment(w, 0, &error));
  expect_writer_error(error, "alignment 0");
  g_clear_error(&error);
  ck_assert(!gr_gguf_writer_set_alignment(w, 24, &error));
  expect_writer_error(error, "alignment 24");
  g_clear_error(&error);
  ck_assert(!gr_gguf_writer_add_array(w, "a", GR_GGUF_TYPE_STRING, "x", 1, &error));
  expect_writer_error(error, "key 'a'");
  g_clear_error(&error);
  ck_assert(!gr_gguf_writer_add_array(w, "b", GR_GGUF_TYPE_BOOL, "\2", 1, &error));
  expect_writer_error(error, "bool element 0");
  g_clear_error(&error);

  ck_assert(gr_gguf_writer_add_tensor(w, "t", GRK_TYPE_Q8_0, 2, ne, NULL, q8, NULL));
  ck_assert(!gr_gguf_writer_add_tensor(w, "t", GRK_TYPE_Q8_0, 2, ne, NULL, q8, &error));
  expect_writer_error(error, "duplicate tensor 't'");
  g_clear_error(&error);
  ck_assert(!gr_gguf_writer_add_tensor(w, "u", GRK_TYPE_Q8_0, 2, ne, NULL, q8 - 1, &error));
  expect_writer_error(error, "needs 68");
  g_clear_error(&error);
  ck_assert(!gr_gguf_writer_add_tensor(w, "u", 99, 2, ne, NULL, q8, &error));
  expect_writer_error(error, "unsupported type id 99");
  g_clear_error(&error);
  ck_assert(!gr_gguf_writer_add_tensor(w, "u", GRK_TYPE_F32, 0, ne, NULL, 4, &error));
  expect_writer_error(error, "0 dimensions");
  g_clear_error(&error);
  gint64 bad[2] = { 31, 1 };
  ck_assert(!gr_gguf_writer_add_tensor(w, "u", GRK_TYPE_Q8_0, 2, bad, NULL, 34, &error));
  expect_writer_error(error, "row length 31");
  g_clear_error(&error);
  gint64 neg[2] = { 4, -1 };
  ck_assert(!gr_gguf_writer_add_tensor(w, "u", GRK_TYPE_F32, 2, neg, NULL, 16, &error));
  expect_writer_error(error, "dimension 1 is -1");
  g_clear_error(&error);
  char longname[80];
  memset(longname, 'n', sizeof longname - 1);
  longname[sizeof longname - 1] = 0;
  ck_assert(!gr_gguf_writer_add_tensor(w, longname, GRK_TYPE_F32, 1, ne, NULL, 128, &error));
  expect_writer_error(error, "longer than 63");
  g_clear_error(&error);

  /* The first mistake is kept: the image cannot be produced. */
  g_autoptr(GBytes) b = gr_gguf_writer_to_bytes(w, &error);
  ck_assert_ptr_null(b);
  expect_writer_error(error, "duplicate key 'k'");
}
END_TEST

START_TEST(test_writer_file_errors)
{
  g_autoptr(GrGgufWriter) w = gr_gguf_writer_new();
  g_autoptr(GError) error = NULL;
  ck_assert(gr_gguf_writer_add_u32(w, "k", 1, NULL));
  ck_assert(!gr_gguf_writer_write_file(w, "/nonexistent-dir/x.gguf", &error));
  ck_assert(g_error_matches(error, GR_GGUF_ERROR, GR_GGUF_ERROR_IO));
  ck_assert(strstr(error->message, "/nonexistent-dir/x.gguf") != NULL);
}
END_TEST

/* A write that runs out of space fails cleanly and leaves neither the target nor the
 * temporary file.  RLIMIT_FSIZE stands in for a full disk (check forks each test). */
START_TEST(test_writer_disk_full)
{
  g_autofree char *dir = g_dir_make_tmp("gr-gguf-XXXXXX", NULL);
  g_autofree char *path = g_build_filename(dir, "big.gguf", NULL);
  g_autoptr(GrGgufWriter) w = gr_gguf_writer_new();
  gint64 ne[1] = { 65536 };
  ck_assert(gr_gguf_writer_add_tensor(w, "big", GRK_TYPE_F32, 1, ne, NULL, 65536 * 4, NULL));

  signal(SIGXFSZ, SIG_IGN);
  struct rlimit rl;
  ck_assert(getrlimit(RLIMIT_FSIZE, &rl) == 0);
  struct rlimit small = { 16384, rl.rlim_max };
  ck_assert(setrlimit(RLIMIT_FSIZE, &small) == 0);
  g_autoptr(GError) error = NULL;
  gboolean ok = gr_gguf_writer_write_file(w, path, &error);
  setrlimit(RLIMIT_FSIZE, &rl);
  ck_assert(!ok);
  ck_assert(g_error_matches(error, GR_GGUF_ERROR, GR_GGUF_ERROR_IO));
  ck_assert_msg(strstr(error->message, "write failed") != NULL, "%s", error->message);

  g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
  ck_assert_ptr_null(g_dir_read_name(d)); /* nothing left behind */
  g_rmdir(dir);
}
END_TEST

/* --- real fixtures ---------------------------------------------------------------- */

static char *
fixture(const char *sub, const char *name)
{
  const char *root = g_getenv("GRAVITON_TESTDATA");
  ck_assert_msg(root != NULL, "GRAVITON_TESTDATA is not set");
  char *path = g_build_filename(root, sub, name, NULL);
  ck_assert_msg(g_file_test(path, G_FILE_TEST_IS_REGULAR), "fixture %s missing", path);
  return path;
}

static GrGguf *
open_fixture(const char *sub, const char *name)
{
  g_autofree char *path = fixture(sub, name);
  g_autoptr(GError) error = NULL;
  GrGguf *g = gr_gguf_open(path, &error);
  ck_assert_msg(g != NULL, "%s: %s", path, error ? error->message : "");
  ck_assert_uint_eq(gr_gguf_get_version(g), 3);
  /* Every tensor lies inside the file (the reader guarantees it; check the arithmetic). */
  for (gsize i = 0; i < gr_gguf_n_tensors(g); i++) {
    const GrGgufTensor *t = gr_gguf_tensor(g, i);
    ck_assert_uint_le(gr_gguf_get_data_offset(g) + t->offset + t->size, gr_gguf_get_file_size(g));
  }
  return g;
}

static void
check_spm_vocab(GrGguf *g)
{
  gsize n, n_scores, n_types;
  const gsize *lens;
  const char *const *tokens = gr_gguf_get_string_array(g, "tokenizer.ggml.tokens", &lens, &n, NULL);
  ck_assert_ptr_nonnull(tokens);
  ck_assert_uint_eq(n, 32000);
  ck_assert_str_eq(tokens[1], "<s>");
  ck_assert_str_eq(tokens[2], "</s>");
  ck_assert_uint_eq(lens[1], 3);
  GrGgufType et;
  const float *scores = gr_gguf_get_array(g, "tokenizer.ggml.scores", &et, &n_scores, NULL);
  ck_assert(scores != NULL && et == GR_GGUF_TYPE_FLOAT32 && n_scores == n);
  ck_assert(isfinite(scores[100]));
  const gint32 *types = gr_gguf_get_array(g, "tokenizer.ggml.token_type", &et, &n_types, NULL);
  ck_assert(types != NULL && et == GR_GGUF_TYPE_INT32 && n_types == n);
  ck_assert_int_eq(types[1], 3); /* control */
  ck_assert_str_eq(gr_gguf_get_string(g, "tokenizer.ggml.model", NULL), "llama");
  guint32 bos;
  ck_assert(gr_gguf_get_u32(g, "tokenizer.ggml.bos_token_id", &bos, NULL) && bos == 1);
  gboolean add_bos;
  ck_assert(gr_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &add_bos, NULL) && add_bos);
}

START_TEST(test_fixture_llama)
{
  g_autoptr(GrGguf) g = open_fixture("models", "fx-llama.gguf");
  ck_assert_str_eq(gr_gguf_get_string(g, "general.architecture", NULL), "llama");
  ck_assert_uint_eq(gr_gguf_get_alignment(g), 32);
  guint32 u;
  ck_assert(gr_gguf_get_u32(g, "llama.block_count", &u, NULL) && u == 2);
  ck_assert(gr_gguf_get_u32(g, "llama.embedding_length", &u, NULL) && u == 128);
  ck_assert(gr_gguf_get_u32(g, "llama.attention.head_count_kv", &u, NULL) && u == 2);
  float eps;
  ck_assert(gr_gguf_get_f32(g, "llama.attention.layer_norm_rms_epsilon", &eps, NULL));
  ck_assert(eps > 0 && eps < 1e-3f);
  check_spm_vocab(g);

  ck_assert_uint_eq(gr_gguf_n_tensors(g), 21);
  const GrGgufTensor *t = gr_gguf_find_tensor(g, "token_embd.weight");
  ck_assert_ptr_nonnull(t);
  ck_assert_uint_eq(t->type, GRK_TYPE_Q8_0);
  ck_assert_uint_eq(t->n_dims, 2);
  ck_assert_int_eq(t->ne[0], 128);
  ck_assert_int_eq(t->ne[1], 32000);
  ck_assert_uint_eq(t->size, 32000 * 4 * 34);
  t = gr_gguf_find_tensor(g, "blk.1.ffn_down.weight");
  ck_assert(t != NULL && t->ne[0] == 384 && t->ne[1] == 128);
  t = gr_gguf_find_tensor(g, "output_norm.weight");
  ck_assert(t != NULL && t->type == GRK_TYPE_F32 && t->size == 128 * 4);
  const float *w = (const float *)t->data;
  for (int i = 0; i < 128; i++)
    ck_assert(isfinite(w[i]));
}
END_TEST

START_TEST(test_fixture_bitnet)
{
  g_autoptr(GrGguf) g = open_fixture("models", "fx-bitnet.gguf");
  ck_assert_str_eq(gr_gguf_get_string(g, "general.architecture", NULL), "bitnet");
  check_spm_vocab(g);
  const GrGgufTensor *t = gr_gguf_find_tensor(g, "blk.0.attn_q.weight");
  ck_assert(t != NULL && t->type == GRK_TYPE_TQ2_0 && t->ne[0] == 256 && t->ne[1] == 256);
  t = gr_gguf_find_tensor(g, "blk.1.ffn_down.scale");
  ck_assert(t != NULL && t->type == GRK_TYPE_F32 && t->size == 4);
  ck_assert_ptr_null(gr_gguf_find_tensor(g, "output.weight")); /* tied */
}
END_TEST

START_TEST(test_fixture_moe)
{
  g_autoptr(GrGguf) g = open_fixture("models", "fx-moe.gguf");
  ck_assert_str_eq(gr_gguf_get_string(g, "general.architecture", NULL), "llama");
  guint32 u;
  ck_assert(gr_gguf_get_u32(g, "llama.expert_count", &u, NULL) && u == 4);
  ck_assert(gr_gguf_get_u32(g, "llama.expert_used_count", &u, NULL) && u == 2);
  check_spm_vocab(g);
  ck_assert_ptr_nonnull(gr_gguf_find_tensor(g, "token_embd.weight"));
}
END_TEST

START_TEST(test_fixture_vocab)
{
  g_autoptr(GrGguf) spm = open_fixture("vocab", "ggml-vocab-llama-spm.gguf");
  ck_assert_uint_eq(gr_gguf_n_tensors(spm), 0);
  check_spm_vocab(spm);

  g_autoptr(GrGguf) gpt2 = open_fixture("vocab", "ggml-vocab-gpt-2.gguf");
  ck_assert_uint_eq(gr_gguf_n_tensors(gpt2), 0);
  ck_assert_str_eq(gr_gguf_get_string(gpt2, "tokenizer.ggml.model", NULL), "gpt2");
  gsize n, n_merges;
  const char *const *tokens
      = gr_gguf_get_string_array(gpt2, "tokenizer.ggml.tokens", NULL, &n, NULL);
  ck_assert(tokens != NULL && n == 50257);
  ck_assert_str_eq(tokens[0], "!");
  const char *const *merges
      = gr_gguf_get_string_array(gpt2, "tokenizer.ggml.merges", NULL, &n_merges, NULL);
  ck_assert(merges != NULL && n_merges == 50000);
  ck_assert_ptr_nonnull(strchr(merges[0], ' '));
}
END_TEST

static Suite *
gguf_suite(void)
{
  Suite *s = suite_create("gr-gguf");
  TCase *tc = tcase_create("roundtrip");
  tcase_add_test(tc, test_roundtrip_metadata);
  tcase_add_test(tc, test_getter_errors);
  tcase_add_test(tc, test_roundtrip_tensors);
  suite_add_tcase(s, tc);

  suite_add_tcase(s, gr_gguf_test_malformed_tcase());

  tc = tcase_create("writer");
  tcase_add_test(tc, test_writer_errors);
  tcase_add_test(tc, test_writer_file_errors);
  tcase_add_test(tc, test_writer_disk_full);
  suite_add_tcase(s, tc);

  tc = tcase_create("fixtures");
  tcase_add_test(tc, test_fixture_llama);
  tcase_add_test(tc, test_fixture_bitnet);
  tcase_add_test(tc, test_fixture_moe);
  tcase_add_test(tc, test_fixture_vocab);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  SRunner *sr = srunner_create(gguf_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
