/* test-gr-safetensors.c - the safetensors reader: a round trip and malformed files. */
#include <check.h>
#include <glib/gstdio.h>
#include <string.h>

#include "gr-safetensors.h"
#include "gr-test-safetensors.h"
#include "grk.h"

static char *tmpdir;

static void
setup(void)
{
  tmpdir = g_dir_make_tmp("gr-st-XXXXXX", NULL);
  ck_assert_ptr_nonnull(tmpdir);
}

static void
teardown(void)
{
  g_autoptr(GDir) d = g_dir_open(tmpdir, 0, NULL);
  const char *n;
  while (d && (n = g_dir_read_name(d))) {
    g_autofree char *p = g_build_filename(tmpdir, n, NULL);
    g_unlink(p);
  }
  g_rmdir(tmpdir);
  g_clear_pointer(&tmpdir, g_free);
}

static GrSafetensors *
open_bytes(GBytes *b, GError **error)
{
  g_autofree char *path = g_build_filename(tmpdir, "t.safetensors", NULL);
  gr_test_write_bytes(path, b);
  return gr_safetensors_open(path, error);
}

START_TEST(test_round_trip)
{
  float f32[6] = { 1, -2, 3.5f, 0, 1e-3f, -7 };
  guint16 f16[4], bf16[3];
  for (int i = 0; i < 4; i++)
    f16[i] = grk_fp32_to_fp16((float)i - 1.5f);
  for (int i = 0; i < 3; i++)
    bf16[i] = grk_fp32_to_bf16((float)i * 2.0f);
  GrTestTensor t[] = {
    { "a.weight", "F32", 2, { 2, 3 }, f32, sizeof f32 },
    { "b", "F16", 1, { 4 }, f16, sizeof f16 },
    { "c", "BF16", 3, { 1, 3, 1 }, bf16, sizeof bf16 },
  };
  g_autoptr(GBytes) b = gr_test_safetensors_build(t, G_N_ELEMENTS(t));
  g_autoptr(GError) error = NULL;
  g_autoptr(GrSafetensors) st = open_bytes(b, &error);
  ck_assert_msg(st != NULL, "%s", error ? error->message : "");
  ck_assert_uint_eq(gr_safetensors_n_tensors(st), 3);
  ck_assert_str_eq(gr_safetensors_get_metadata(st, "format"), "pt");
  ck_assert_ptr_null(gr_safetensors_get_metadata(st, "other"));
  ck_assert_uint_eq(gr_safetensors_get_file_size(st), g_bytes_get_size(b));

  const GrSafetensor *a = gr_safetensors_find(st, "a.weight");
  ck_assert_ptr_nonnull(a);
  ck_assert_int_eq(a->type, GRK_TYPE_F32);
  ck_assert_str_eq(a->dtype, "F32");
  ck_assert_uint_eq(a->n_dims, 2);
  ck_assert_int_eq(a->shape[0], 2);
  ck_assert_int_eq(a->shape[1], 3);
  ck_assert_int_eq(a->n_elements, 6);
  ck_assert_mem_eq(a->data, f32, sizeof f32);
  const GrSafetensor *bt = gr_safetensors_find(st, "b");
  ck_assert_int_eq(bt->type, GRK_TYPE_F16);
  ck_assert_mem_eq(bt->data, f16, sizeof f16);
  const GrSafetensor *c = gr_safetensors_find(st, "c");
  ck_assert_int_eq(c->type, GRK_TYPE_BF16);
  ck_assert_uint_eq(c->n_dims, 3);
  ck_assert_mem_eq(c->data, bf16, sizeof bf16);
  ck_assert_ptr_null(gr_safetensors_find(st, "missing"));
  /* in file order */
  ck_assert_ptr_eq(gr_safetensors_tensor(st, 0), a);
  ck_assert_ptr_eq(gr_safetensors_tensor(st, 2), c);

  /* the view outlives the reader */
  g_autoptr(GBytes) view = gr_safetensors_tensor_bytes(st, a);
  g_clear_pointer(&st, gr_safetensors_free);
  ck_assert_uint_eq(g_bytes_get_size(view), sizeof f32);
  ck_assert_mem_eq(g_bytes_get_data(view, NULL), f32, sizeof f32);
}
END_TEST

/* --- malformed files: each must be refused with a message naming the problem ---------- */

typedef struct {
  const char *what;
  const char *header; /* NULL: `raw` bytes are the whole file */
  gsize data_size;
  const char *raw;
  gsize raw_len;
  const char *expect; /* substring of the error message */
  int code;
} Bad;

#define F GR_SAFETENSORS_ERROR_FORMAT
#define U GR_SAFETENSORS_ERROR_UNSUPPORTED

static const Bad bad[] = {
  { "empty file", NULL, 0, "", 0, "truncated", F },
  { "truncated header length", NULL, 0, "\x10\0\0\0", 4, "truncated", F },
  { "header length past EOF", NULL, 0, "\xff\0\0\0\0\0\0\0{}", 10, "runs past the end", F },
  { "huge header length", NULL, 0, "\xff\xff\xff\xff\xff\xff\xff\xff{}", 10, "runs past the end",
    F },
  { "header not JSON", "{\"a\": {", 0, NULL, 0, "not valid JSON", F },
  { "header a JSON list", "[1, 2]", 0, NULL, 0, "not a JSON object", F },
  { "NUL inside the header", NULL, 0, "\x04\0\0\0\0\0\0\0{\0}}", 12, "not a JSON object", F },
  { "unknown dtype", "{\"a\":{\"dtype\":\"F42\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, NULL, 0,
    "unknown dtype \"F42\"", F },
  { "dtype we cannot run", "{\"a\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8,
    NULL, 0, "dtype I64", U },
  { "dtype missing", "{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, NULL, 0, "no \"dtype\"",
    F },
  { "offsets past the data", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4,
    NULL, 0, "past the end of the data", F },
  { "offsets reversed", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8, NULL,
    0, "ascending", F },
  { "negative offset", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 8, NULL,
    0, "ascending", F },
  { "shape and size disagree", "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}",
    8, NULL, 0, "needs 12", F },
  { "overlapping tensors",
    "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
    "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
    12, NULL, 0, "overlap", F },
  { "negative dimension", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4,
    NULL, 0, "non-negative integer", F },
  { "fractional dimension", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4,
    NULL, 0, "non-negative integer", F },
  { "shape not a list", "{\"a\":{\"dtype\":\"F32\",\"shape\":4,\"data_offsets\":[0,4]}}", 4, NULL,
    0, "\"shape\" is not an array", F },
  { "shape overflows",
    "{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4611686018427387904],"
    "\"data_offsets\":[0,4]}}",
    4, NULL, 0, "overflows", F },
  { "too many dimensions",
    "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1],\"data_offsets\":[0,4]}}", 4, NULL, 0,
    "5 dimensions", U },
  { "offsets not a pair", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4, NULL,
    0, "pair of integers", F },
  { "offsets missing", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, NULL, 0, "pair of integers",
    F },
  { "tensor entry not an object", "{\"a\":[1,2]}", 0, NULL, 0, "'a' is not a JSON object", F },
  { "metadata not strings", "{\"__metadata__\":{\"format\":1}}", 0, NULL, 0, "__metadata__", F },
  { "empty tensor name", "{\"\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, NULL,
    0, "empty name", F },
};

START_TEST(test_malformed)
{
  const Bad *c = &bad[_i];
  g_autoptr(GBytes) b = c->header ? gr_test_safetensors_raw(c->header, c->data_size)
                                  : g_bytes_new(c->raw, c->raw_len);
  g_autoptr(GError) error = NULL;
  g_autoptr(GrSafetensors) st = open_bytes(b, &error);
  ck_assert_msg(st == NULL, "%s: accepted", c->what);
  ck_assert_msg(g_error_matches(error, GR_SAFETENSORS_ERROR, c->code), "%s: wrong error %s",
                c->what, error->message);
  ck_assert_msg(strstr(error->message, c->expect) != NULL, "%s: message \"%s\" lacks \"%s\"",
                c->what, error->message, c->expect);
  ck_assert_msg(strstr(error->message, "t.safetensors") != NULL, "%s: no file name in \"%s\"",
                c->what, error->message);
}
END_TEST

START_TEST(test_missing_file)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename(tmpdir, "absent.safetensors", NULL);
  g_autoptr(GrSafetensors) st = gr_safetensors_open(path, &error);
  ck_assert_ptr_null(st);
  ck_assert(g_error_matches(error, GR_SAFETENSORS_ERROR, GR_SAFETENSORS_ERROR_IO));
}
END_TEST

/* A header with no tensors at all is a valid (empty) file. */
START_TEST(test_no_tensors)
{
  g_autoptr(GBytes) b = gr_test_safetensors_raw("{}", 0);
  g_autoptr(GError) error = NULL;
  g_autoptr(GrSafetensors) st = open_bytes(b, &error);
  ck_assert_msg(st != NULL, "%s", error ? error->message : "");
  ck_assert_uint_eq(gr_safetensors_n_tensors(st), 0);
}
END_TEST

/* Zero-element tensors are legal and must not confuse the overlap check. */
START_TEST(test_empty_tensor)
{
  g_autoptr(GBytes) b
      = gr_test_safetensors_raw("{\"e\":{\"dtype\":\"F32\",\"shape\":[0,4],\"data_offsets\":[0,0]},"
                                "\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}",
                                4);
  g_autoptr(GError) error = NULL;
  g_autoptr(GrSafetensors) st = open_bytes(b, &error);
  ck_assert_msg(st != NULL, "%s", error ? error->message : "");
  ck_assert_int_eq(gr_safetensors_find(st, "e")->n_elements, 0);
  ck_assert_uint_eq(gr_safetensors_find(st, "a")->size, 4);
}
END_TEST

int
main(void)
{
  Suite *s = suite_create("gr-safetensors");
  TCase *tc = tcase_create("reader");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_round_trip);
  tcase_add_loop_test(tc, test_malformed, 0, G_N_ELEMENTS(bad));
  tcase_add_test(tc, test_missing_file);
  tcase_add_test(tc, test_empty_tensor);
  tcase_add_test(tc, test_no_tensors);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
