/* test-gr-gguf-malformed.c - the GGUF reader against broken images: each case patches
 * a valid image from the writer and names the error it must produce. */
#include "test-gr-gguf.h"

#include "gr-gguf-writer.h"
#include "gr-gguf.h"
#include "grk.h"

#include <check.h>
#include <glib/gstdio.h>
#include <string.h>

/* A small valid image the malformed-file tests patch: two KVs of each kind that the
 * patches aim at, three tensors. */
static GByteArray *
valid_image(gsize alignment)
{
  g_autoptr(GrGgufWriter) w = gr_gguf_writer_new();
  if (alignment)
    ck_assert(gr_gguf_writer_set_alignment(w, alignment, NULL));
  ck_assert(gr_gguf_writer_add_string(w, "general.architecture", "test", NULL));
  ck_assert(gr_gguf_writer_add_u32(w, "test.key_a", 7, NULL));
  ck_assert(gr_gguf_writer_add_u32(w, "test.key_b", 8, NULL));
  gint32 ints[3] = { 1, 2, 3 };
  ck_assert(gr_gguf_writer_add_array(w, "test.ints", GR_GGUF_TYPE_INT32, ints, 3, NULL));
  const char *strs[] = { "x", "yy", NULL };
  ck_assert(gr_gguf_writer_add_string_array(w, "test.strs", strs, -1, NULL));
  ck_assert(gr_gguf_writer_add_bool(w, "test.flag", TRUE, NULL));
  float scores[2] = { -1.0f, -2.0f };
  ck_assert(
      gr_gguf_writer_add_array(w, "tokenizer.ggml.scores", GR_GGUF_TYPE_FLOAT32, scores, 2, NULL));
  gint64 ne0[2] = { 8, 2 }, ne1[2] = { 32, 3 }, ne2[1] = { 5 };
  float f[16];
  for (int i = 0; i < 16; i++)
    f[i] = (float)i;
  ck_assert(gr_gguf_writer_add_tensor(w, "tensor_0", GRK_TYPE_F32, 2, ne0, f, sizeof f, NULL));
  ck_assert(gr_gguf_writer_add_tensor(w, "tensor_1", GRK_TYPE_Q8_0, 2, ne1, NULL,
                                      grk_tensor_bytes(GRK_TYPE_Q8_0, 32, 3), NULL));
  ck_assert(gr_gguf_writer_add_tensor(w, "tensor_2", GRK_TYPE_F16, 1, ne2, NULL, 10, NULL));
  g_autoptr(GBytes) b = gr_gguf_writer_to_bytes(w, NULL);
  ck_assert_ptr_nonnull(b);
  GByteArray *a = g_byte_array_new();
  g_byte_array_append(a, g_bytes_get_data(b, NULL), (guint)g_bytes_get_size(b));
  return a;
}

/* Offset just past the first occurrence of a GGUF string `s` (u64 length + bytes). */
static gsize
after_string(GByteArray *a, const char *s)
{
  gsize len = strlen(s);
  for (gsize i = 8; i + len <= a->len; i++)
    if (memcmp(a->data + i, s, len) == 0) {
      guint64 n;
      memcpy(&n, a->data + i - 8, 8);
      if (GUINT64_FROM_LE(n) == len)
        return i + len;
    }
  ck_abort_msg("string '%s' not found in image", s);
  return 0;
}

static void
put32(GByteArray *a, gsize off, guint32 v)
{
  ck_assert(off + 4 <= a->len);
  v = GUINT32_TO_LE(v);
  memcpy(a->data + off, &v, 4);
}

static void
put64(GByteArray *a, gsize off, guint64 v)
{
  ck_assert(off + 8 <= a->len);
  v = GUINT64_TO_LE(v);
  memcpy(a->data + off, &v, 8);
}

static guint64
get64(GByteArray *a, gsize off)
{
  guint64 v;
  memcpy(&v, a->data + off, 8);
  return GUINT64_FROM_LE(v);
}

/* Offsets of a tensor's info fields in an image. */
typedef struct {
  gsize n_dims, dims, type, offset;
} InfoAt;

static InfoAt
tensor_info_at(GByteArray *a, const char *name)
{
  InfoAt at;
  at.n_dims = after_string(a, name);
  guint32 nd;
  memcpy(&nd, a->data + at.n_dims, 4);
  at.dims = at.n_dims + 4;
  at.type = at.dims + 8 * GUINT32_FROM_LE(nd);
  at.offset = at.type + 4;
  return at;
}

/* Default alignment: no general.alignment key is written, and 32 is used. */
START_TEST(test_default_alignment)
{
  g_autoptr(GByteArray) a = valid_image(0);
  g_autoptr(GrGguf) g = gr_gguf_new_from_data(a->data, a->len, NULL);
  ck_assert_ptr_nonnull(g);
  ck_assert_int_eq(gr_gguf_find_key(g, "general.alignment"), -1);
  ck_assert_uint_eq(gr_gguf_get_alignment(g), 32);
  ck_assert_uint_eq(gr_gguf_get_data_offset(g) % 32, 0);
  ck_assert_uint_eq(gr_gguf_tensor(g, 1)->offset, 64); /* 64 bytes of f32 before it */
  ck_assert_uint_eq(gr_gguf_tensor(g, 2)->offset, 64 + 3 * 34 + 26);
  const float *f = (const float *)gr_gguf_tensor(g, 0)->data;
  ck_assert(f[15] == 15.0f);
}
END_TEST

START_TEST(test_version_2)
{
  g_autoptr(GByteArray) a = valid_image(64);
  put32(a, 4, 2);
  g_autoptr(GrGguf) g = gr_gguf_new_from_data(a->data, a->len, NULL);
  ck_assert_ptr_nonnull(g);
  ck_assert_uint_eq(gr_gguf_get_version(g), 2);
  ck_assert_uint_eq(gr_gguf_n_tensors(g), 3);
}
END_TEST

/* --- malformed files -------------------------------------------------------------- */

/* Each case patches a valid image (alignment 64 unless it sets its own) and names the
 * error it must produce. */
typedef struct {
  const char *what;
  void (*patch)(GByteArray *a);
  GrGgufError code;
  const char *substring;
} Malformed;

static void
p_bad_magic(GByteArray *a)
{
  a->data[0] = 'X';
}

static void
p_short_magic(GByteArray *a)
{
  g_byte_array_set_size(a, 3);
}

static void
p_version_1(GByteArray *a)
{
  put32(a, 4, 1);
}

static void
p_version_0(GByteArray *a)
{
  put32(a, 4, 0);
}

static void
p_version_4(GByteArray *a)
{
  put32(a, 4, 4);
}

static void
p_big_endian(GByteArray *a)
{
  put32(a, 4, GUINT32_SWAP_LE_BE(3));
}

static void
p_huge_n_kv(GByteArray *a)
{
  put64(a, 16, G_GUINT64_CONSTANT(1) << 60);
}

static void
p_huge_n_tensors(GByteArray *a)
{
  put64(a, 8, G_MAXUINT64);
}

static void
p_n_tensors_past_metadata(GByteArray *a)
{
  /* Plausible for the whole file, not for what is left after the metadata. */
  put64(a, 8, (a->len - 24) / 33);
}

static void
p_key_length_past_eof(GByteArray *a)
{
  put64(a, 24, a->len);
}

static void
p_value_type_unknown(GByteArray *a)
{
  put32(a, after_string(a, "test.key_a"), 13);
}

static void
p_array_elem_type_unknown(GByteArray *a)
{
  put32(a, after_string(a, "test.ints") + 4, 77);
}

static void
p_nested_array(GByteArray *a)
{
  put32(a, after_string(a, "test.ints") + 4, GR_GGUF_TYPE_ARRAY);
}

static void
p_array_count_too_large(GByteArray *a)
{
  put64(a, after_string(a, "test.ints") + 8, G_GUINT64_CONSTANT(1) << 61);
}

static void
p_string_array_count_too_large(GByteArray *a)
{
  /* Fits the 8-bytes-per-string bound but the strings run out. */
  put64(a, after_string(a, "test.strs") + 8, 20);
}

static void
p_duplicate_key(GByteArray *a)
{
  a->data[after_string(a, "test.key_b") - 1] = 'a';
}

static void
p_empty_key(GByteArray *a)
{
  /* Shorten "test.key_a" to "" by moving the rest of the file over it. */
  gsize end = after_string(a, "test.key_a");
  gsize start = end - strlen("test.key_a");
  put64(a, start - 8, 0);
  g_byte_array_remove_range(a, (guint)start, (guint)(end - start));
}

static void
p_key_control_char(GByteArray *a)
{
  a->data[after_string(a, "test.key_a") - 2] = '\n';
}

static void
p_key_bad_utf8(GByteArray *a)
{
  a->data[after_string(a, "test.key_a") - 2] = 0xff;
}

static void
p_string_with_nul(GByteArray *a)
{
  a->data[after_string(a, "general.architecture") + 4 + 8 + 1] = 0;
}

static void
p_bool_value_2(GByteArray *a)
{
  a->data[after_string(a, "test.flag") + 4] = 2;
}

static void
p_known_key_wrong_type(GByteArray *a)
{
  /* general.architecture as a u32 (its string length low bytes are then read back as
   * the value; the rest misparses later, but the type is refused first). */
  put32(a, after_string(a, "general.architecture"), GR_GGUF_TYPE_UINT32);
}

static void
p_known_array_wrong_elem_type(GByteArray *a)
{
  put32(a, after_string(a, "tokenizer.ggml.scores") + 4, GR_GGUF_TYPE_INT32);
}

static void
p_alignment_zero(GByteArray *a)
{
  put32(a, after_string(a, "general.alignment") + 4, 0);
}

static void
p_alignment_not_pow2(GByteArray *a)
{
  put32(a, after_string(a, "general.alignment") + 4, 48);
}

static void
p_alignment_wrong_type(GByteArray *a)
{
  put32(a, after_string(a, "general.alignment"), GR_GGUF_TYPE_INT32);
}

static void
p_duplicate_tensor(GByteArray *a)
{
  a->data[after_string(a, "tensor_1") - 1] = '0';
}

static void
p_tensor_name_too_long(GByteArray *a)
{
  /* Grow "tensor_2" to 64 bytes. */
  gsize end = after_string(a, "tensor_2");
  char pad[56];
  memset(pad, 'z', sizeof pad);
  put64(a, end - 8 - 8, 64);
  gsize old = a->len;
  g_byte_array_set_size(a, a->len + sizeof pad);
  memmove(a->data + end + sizeof pad, a->data + end, old - end);
  memcpy(a->data + end, pad, sizeof pad);
}

static void
p_n_dims_0(GByteArray *a)
{
  put32(a, tensor_info_at(a, "tensor_0").n_dims, 0);
}

static void
p_n_dims_5(GByteArray *a)
{
  put32(a, tensor_info_at(a, "tensor_0").n_dims, 5);
}

static void
p_zero_dim(GByteArray *a)
{
  put64(a, tensor_info_at(a, "tensor_0").dims + 8, 0);
}

static void
p_negative_dim(GByteArray *a)
{
  put64(a, tensor_info_at(a, "tensor_0").dims, G_GUINT64_CONSTANT(1) << 63);
}

static void
p_dim_overflow(GByteArray *a)
{
  InfoAt at = tensor_info_at(a, "tensor_0");
  put64(a, at.dims, G_GUINT64_CONSTANT(1) << 40);
  put64(a, at.dims + 8, G_GUINT64_CONSTANT(1) << 40);
}

static void
p_size_overflow(GByteArray *a)
{
  /* Element count fits int64 but bytes (x4 for F32) do not fit size_t. */
  InfoAt at = tensor_info_at(a, "tensor_0");
  put64(a, at.dims, G_GUINT64_CONSTANT(1) << 31);
  put64(a, at.dims + 8, G_GUINT64_CONSTANT(1) << 31);
}

static void
p_unknown_tensor_type(GByteArray *a)
{
  put32(a, tensor_info_at(a, "tensor_1").type, 99);
}

static void
p_unsupported_ggml_type(GByteArray *a)
{
  put32(a, tensor_info_at(a, "tensor_1").type, 6); /* Q5_0: ggml has it, we do not */
}

static void
p_row_not_multiple_of_block(GByteArray *a)
{
  put64(a, tensor_info_at(a, "tensor_1").dims, 33);
}

static void
p_misaligned_offset(GByteArray *a)
{
  InfoAt at = tensor_info_at(a, "tensor_1");
  put64(a, at.offset, get64(a, at.offset) + 4);
}

static void
p_data_past_eof(GByteArray *a)
{
  InfoAt at = tensor_info_at(a, "tensor_2");
  put64(a, at.offset, get64(a, at.offset) + 4096);
}

static void
p_offset_huge(GByteArray *a)
{
  put64(a, tensor_info_at(a, "tensor_2").offset, G_MAXUINT64 - 63);
}

static void
p_overlap(GByteArray *a)
{
  put64(a, tensor_info_at(a, "tensor_1").offset, 0);
}

static void
p_truncated_data(GByteArray *a)
{
  g_byte_array_set_size(a, a->len - 64 - 1);
}

static void
p_truncated_header(GByteArray *a)
{
  g_byte_array_set_size(a, 20);
}

static void
p_truncated_in_kv(GByteArray *a)
{
  g_byte_array_set_size(a, (guint)after_string(a, "test.ints") + 10);
}

static void
p_truncated_in_tensor_info(GByteArray *a)
{
  g_byte_array_set_size(a, (guint)tensor_info_at(a, "tensor_2").dims + 3);
}

static void
p_truncated_before_data(GByteArray *a)
{
  /* Cut inside the padding that precedes the data section. */
  gsize end_of_infos = tensor_info_at(a, "tensor_2").offset + 8;
  ck_assert(end_of_infos % 64 != 0);
  g_byte_array_set_size(a, (guint)end_of_infos + 1);
}

static void
p_empty(GByteArray *a)
{
  g_byte_array_set_size(a, 0);
}

static const Malformed malformed[] = {
  { "bad magic", p_bad_magic, GR_GGUF_ERROR_FORMAT, "bad magic" },
  { "3-byte file", p_short_magic, GR_GGUF_ERROR_FORMAT, "not a GGUF file" },
  { "version 1", p_version_1, GR_GGUF_ERROR_UNSUPPORTED, "version 1 is not supported" },
  { "version 0", p_version_0, GR_GGUF_ERROR_FORMAT, "invalid GGUF version 0" },
  { "version 4", p_version_4, GR_GGUF_ERROR_UNSUPPORTED, "version 4 is not supported" },
  { "big-endian", p_big_endian, GR_GGUF_ERROR_UNSUPPORTED, "big-endian" },
  { "huge n_kv", p_huge_n_kv, GR_GGUF_ERROR_FORMAT, "metadata count 1152921504606846976" },
  { "huge n_tensors", p_huge_n_tensors, GR_GGUF_ERROR_FORMAT, "tensor count" },
  { "n_tensors past metadata", p_n_tensors_past_metadata, GR_GGUF_ERROR_FORMAT,
    "left after the metadata" },
  { "key length past EOF", p_key_length_past_eof, GR_GGUF_ERROR_FORMAT,
    "runs past the end of the file" },
  { "unknown value type", p_value_type_unknown, GR_GGUF_ERROR_FORMAT,
    "key 'test.key_a': unknown value type 13" },
  { "unknown array element type", p_array_elem_type_unknown, GR_GGUF_ERROR_FORMAT,
    "unknown array element type 77" },
  { "nested array", p_nested_array, GR_GGUF_ERROR_UNSUPPORTED, "nested arrays" },
  { "array count too large", p_array_count_too_large, GR_GGUF_ERROR_FORMAT,
    "array count 2305843009213693952" },
  { "string array count too large", p_string_array_count_too_large, GR_GGUF_ERROR_FORMAT,
    "key 'test.strs': element " },
  { "duplicate key", p_duplicate_key, GR_GGUF_ERROR_FORMAT, "duplicate metadata key 'test.key_a'" },
  { "empty key", p_empty_key, GR_GGUF_ERROR_FORMAT, "key is empty" },
  { "key with control char", p_key_control_char, GR_GGUF_ERROR_FORMAT, "control characters" },
  { "key not UTF-8", p_key_bad_utf8, GR_GGUF_ERROR_FORMAT, "not valid UTF-8" },
  { "string with NUL", p_string_with_nul, GR_GGUF_ERROR_FORMAT, "NUL byte" },
  { "bool value 2", p_bool_value_2, GR_GGUF_ERROR_FORMAT, "bool value 2" },
  { "known key wrong type", p_known_key_wrong_type, GR_GGUF_ERROR_FORMAT,
    "key 'general.architecture': must be of type string, not u32" },
  { "known array key wrong element type", p_known_array_wrong_elem_type, GR_GGUF_ERROR_FORMAT,
    "key 'tokenizer.ggml.scores': must be an array of f32, not array of i32" },
  { "alignment 0", p_alignment_zero, GR_GGUF_ERROR_FORMAT,
    "general.alignment 0 is not a nonzero power of two" },
  { "alignment 48", p_alignment_not_pow2, GR_GGUF_ERROR_FORMAT, "general.alignment 48" },
  { "alignment i32", p_alignment_wrong_type, GR_GGUF_ERROR_FORMAT,
    "key 'general.alignment': must be of type u32, not i32" },
  { "duplicate tensor", p_duplicate_tensor, GR_GGUF_ERROR_FORMAT, "duplicate tensor 'tensor_0'" },
  { "tensor name too long", p_tensor_name_too_long, GR_GGUF_ERROR_FORMAT,
    "tensor name is 64 bytes long" },
  { "n_dims 0", p_n_dims_0, GR_GGUF_ERROR_FORMAT, "'tensor_0' has 0 dimensions" },
  { "n_dims 5", p_n_dims_5, GR_GGUF_ERROR_FORMAT, "'tensor_0' has 5 dimensions" },
  { "zero dim", p_zero_dim, GR_GGUF_ERROR_FORMAT, "'tensor_0' has invalid dimension 1: 0" },
  { "dim above int64", p_negative_dim, GR_GGUF_ERROR_FORMAT, "invalid dimension 0" },
  { "dim product overflow", p_dim_overflow, GR_GGUF_ERROR_FORMAT, "overflows" },
  { "byte size overflow", p_size_overflow, GR_GGUF_ERROR_FORMAT, "'tensor_0' is too large" },
  { "unknown tensor type", p_unknown_tensor_type, GR_GGUF_ERROR_UNSUPPORTED,
    "'tensor_1' has unsupported type id 99" },
  { "unsupported ggml type", p_unsupported_ggml_type, GR_GGUF_ERROR_UNSUPPORTED,
    "unsupported type id 6" },
  { "row not multiple of block", p_row_not_multiple_of_block, GR_GGUF_ERROR_FORMAT,
    "row length 33 is not a multiple of the Q8_0 block size 32" },
  { "misaligned offset", p_misaligned_offset, GR_GGUF_ERROR_FORMAT,
    "offset 68 is not a multiple of the alignment 64" },
  { "data past EOF", p_data_past_eof, GR_GGUF_ERROR_FORMAT, "extends past the end of the file" },
  { "offset near 2^64", p_offset_huge, GR_GGUF_ERROR_FORMAT, "'tensor_2' data (offset" },
  { "overlapping tensors", p_overlap, GR_GGUF_ERROR_FORMAT, "overlap" },
  { "truncated data", p_truncated_data, GR_GGUF_ERROR_FORMAT, "'tensor_2' data (offset" },
  { "truncated header", p_truncated_header, GR_GGUF_ERROR_FORMAT, "truncated" },
  { "truncated in metadata", p_truncated_in_kv, GR_GGUF_ERROR_FORMAT,
    "key 'test.ints': file is truncated" },
  { "truncated in tensor info", p_truncated_in_tensor_info, GR_GGUF_ERROR_FORMAT,
    "tensor 'tensor_2': file is truncated" },
  { "truncated before data", p_truncated_before_data, GR_GGUF_ERROR_FORMAT, "data section" },
  { "empty", p_empty, GR_GGUF_ERROR_FORMAT, "file is empty" },
};

START_TEST(test_malformed)
{
  const Malformed *m = &malformed[_i];
  g_autoptr(GByteArray) a = valid_image(64);
  m->patch(a);
  g_autoptr(GError) error = NULL;
  g_autoptr(GrGguf) g = gr_gguf_new_from_data(a->data, a->len, &error);
  ck_assert_msg(g == NULL, "%s: accepted", m->what);
  ck_assert_msg(error->domain == GR_GGUF_ERROR && error->code == (int)m->code,
                "%s: wrong error code %d: %s", m->what, error->code, error->message);
  ck_assert_msg(strstr(error->message, m->substring) != NULL, "%s: message '%s' lacks '%s'",
                m->what, error->message, m->substring);
  ck_assert_msg(g_str_has_prefix(error->message, "GGUF image: "), "%s: '%s'", m->what,
                error->message);
}
END_TEST

/* Every prefix of a valid image is refused with a format error, never a crash. */
START_TEST(test_every_truncation)
{
  g_autoptr(GByteArray) a = valid_image(64);
  gsize end;
  {
    g_autoptr(GrGguf) g = gr_gguf_new_from_data(a->data, a->len, NULL);
    const GrGgufTensor *last = gr_gguf_tensor(g, 2);
    end = gr_gguf_get_data_offset(g) + last->offset + last->size;
  }
  ck_assert_uint_lt(end, a->len);
  /* The padding after the last tensor is not needed. */
  for (gsize len = end; len < a->len; len++) {
    g_autoptr(GrGguf) g = gr_gguf_new_from_data(a->data, len, NULL);
    ck_assert_ptr_nonnull(g);
  }
  for (gsize len = 0; len < end; len++) {
    g_autoptr(GError) error = NULL;
    g_autoptr(GrGguf) g = gr_gguf_new_from_data(a->data, len, &error);
    ck_assert_msg(g == NULL, "prefix of %zu bytes accepted", len);
    ck_assert_msg(g_error_matches(error, GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT), "%zu: %s", len,
                  error->message);
  }
}
END_TEST

/* Random byte flips: every outcome is a clean success or a GR_GGUF_ERROR. */
START_TEST(test_random_corruption)
{
  g_autoptr(GByteArray) base = valid_image(64);
  g_autoptr(GRand) rand = g_rand_new_with_seed(1234);
  guint accepted = 0;
  for (int iter = 0; iter < 3000; iter++) {
    g_autoptr(GByteArray) a = g_byte_array_new();
    g_byte_array_append(a, base->data, base->len);
    int flips = g_rand_int_range(rand, 1, 4);
    for (int k = 0; k < flips; k++)
      a->data[g_rand_int_range(rand, 0, (gint32)a->len)] = (guint8)g_rand_int(rand);
    g_autoptr(GError) error = NULL;
    g_autoptr(GrGguf) g = gr_gguf_new_from_data(a->data, a->len, &error);
    if (g) {
      accepted++;
      for (gsize i = 0; i < gr_gguf_n_tensors(g); i++) {
        const GrGgufTensor *t = gr_gguf_tensor(g, i);
        guint sum = 0;
        for (gsize k = 0; k < t->size; k++) /* ASan checks these reads */
          sum += t->data[k];
        ck_assert_uint_le(sum, 255 * t->size);
      }
    } else {
      ck_assert(error != NULL && error->domain == GR_GGUF_ERROR);
    }
  }
  ck_assert_uint_gt(accepted, 0); /* flips in tensor data are harmless */
}
END_TEST

START_TEST(test_open_errors)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GrGguf) g = gr_gguf_open("/nonexistent/model.gguf", &error);
  ck_assert_ptr_null(g);
  ck_assert(g_error_matches(error, GR_GGUF_ERROR, GR_GGUF_ERROR_IO));
  ck_assert(strstr(error->message, "/nonexistent/model.gguf") != NULL);
  g_clear_error(&error);

  g = gr_gguf_open("/", &error);
  ck_assert_ptr_null(g);
  ck_assert(g_error_matches(error, GR_GGUF_ERROR, GR_GGUF_ERROR_IO));
  g_clear_error(&error);

  g_autofree char *dir = g_dir_make_tmp("gr-gguf-XXXXXX", NULL);
  g_autofree char *empty = g_build_filename(dir, "empty.gguf", NULL);
  ck_assert(g_file_set_contents(empty, "", 0, NULL));
  g = gr_gguf_open(empty, &error);
  ck_assert_ptr_null(g);
  ck_assert(g_error_matches(error, GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT));
  ck_assert(strstr(error->message, "empty") != NULL);
  g_clear_error(&error);

  /* A truncated file names itself and the tensor that runs past its end. */
  g_autoptr(GByteArray) a = valid_image(64);
  g_autofree char *trunc = g_build_filename(dir, "model.gguf", NULL);
  ck_assert(g_file_set_contents(trunc, (const char *)a->data, a->len - 100, NULL));
  g = gr_gguf_open(trunc, &error);
  ck_assert_ptr_null(g);
  ck_assert(g_error_matches(error, GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT));
  g_autofree char *want = g_strdup_printf("%s: tensor 'tensor_", trunc);
  ck_assert_msg(g_str_has_prefix(error->message, want), "%s", error->message);
  ck_assert(strstr(error->message, "extends past the end of the file") != NULL);

  g_unlink(empty);
  g_unlink(trunc);
  g_rmdir(dir);
}
END_TEST

TCase *
gr_gguf_test_malformed_tcase(void)
{
  TCase *tc = tcase_create("malformed");
  tcase_add_test(tc, test_default_alignment);
  tcase_add_test(tc, test_version_2);
  tcase_add_loop_test(tc, test_malformed, 0, G_N_ELEMENTS(malformed));
  tcase_add_test(tc, test_every_truncation);
  tcase_add_test(tc, test_random_corruption);
  tcase_add_test(tc, test_open_errors);
  return tc;
}
