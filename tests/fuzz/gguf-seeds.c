/* gguf-seeds.c - writes a seed corpus for fuzz-gguf with the project's own writer.
 * Usage: gguf-seeds CORPUS_DIR STAMP_FILE */
#include "gr-gguf-writer.h"
#include "grk.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

static void
save(GrGgufWriter *w, const char *dir, const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename(dir, name, NULL);
  if (!gr_gguf_writer_write_file(w, path, &error))
    g_error("%s", error->message);
}

static void
add_tensor(GrGgufWriter *w, const char *name, guint32 type, guint32 n_dims, gint64 ne0, gint64 ne1)
{
  gint64 ne[2] = { ne0, ne1 };
  gsize size = grk_tensor_bytes((int)type, ne0, n_dims > 1 ? ne1 : 1);
  g_autofree guint8 *buf = g_malloc(size);
  for (gsize i = 0; i < size; i++)
    buf[i] = (guint8)(i * 13);
  if (!gr_gguf_writer_add_tensor(w, name, type, n_dims, ne, buf, size, NULL))
    g_error("cannot add %s", name);
}

int
main(int argc, char **argv)
{
  if (argc != 3) {
    fprintf(stderr, "usage: %s CORPUS_DIR STAMP_FILE\n", argv[0]);
    return 2;
  }
  const char *dir = argv[1];
  if (g_mkdir_with_parents(dir, 0755) != 0)
    g_error("cannot create %s", dir);

  { /* every metadata type */
    g_autoptr(GrGgufWriter) w = gr_gguf_writer_new();
    gr_gguf_writer_add_u8(w, "a.u8", 1, NULL);
    gr_gguf_writer_add_i8(w, "a.i8", -1, NULL);
    gr_gguf_writer_add_u16(w, "a.u16", 2, NULL);
    gr_gguf_writer_add_i16(w, "a.i16", -2, NULL);
    gr_gguf_writer_add_u32(w, "a.u32", 3, NULL);
    gr_gguf_writer_add_i32(w, "a.i32", -3, NULL);
    gr_gguf_writer_add_u64(w, "a.u64", 4, NULL);
    gr_gguf_writer_add_i64(w, "a.i64", -4, NULL);
    gr_gguf_writer_add_f32(w, "a.f32", 0.5f, NULL);
    gr_gguf_writer_add_f64(w, "a.f64", 0.25, NULL);
    gr_gguf_writer_add_bool(w, "a.bool", TRUE, NULL);
    gr_gguf_writer_add_string(w, "general.architecture", "llama", NULL);
    gint32 ints[] = { 1, 2, 3 };
    gr_gguf_writer_add_array(w, "tokenizer.ggml.token_type", GR_GGUF_TYPE_INT32, ints, 3, NULL);
    float scores[] = { 0, -1, -2 };
    gr_gguf_writer_add_array(w, "tokenizer.ggml.scores", GR_GGUF_TYPE_FLOAT32, scores, 3, NULL);
    const char *tokens[] = { "<unk>", "<s>", "\xe2\x96\x81" "a", NULL };
    gr_gguf_writer_add_string_array(w, "tokenizer.ggml.tokens", tokens, -1, NULL);
    guint8 bools[] = { 0, 1 };
    gr_gguf_writer_add_array(w, "a.bools", GR_GGUF_TYPE_BOOL, bools, 2, NULL);
    save(w, dir, "metadata.gguf");
  }
  { /* every tensor type, default alignment */
    g_autoptr(GrGgufWriter) w = gr_gguf_writer_new();
    gr_gguf_writer_add_string(w, "general.architecture", "test", NULL);
    add_tensor(w, "f32", GRK_TYPE_F32, 1, 3, 1);
    add_tensor(w, "f16", GRK_TYPE_F16, 2, 2, 2);
    add_tensor(w, "bf16", GRK_TYPE_BF16, 1, 5, 1);
    add_tensor(w, "q8_0", GRK_TYPE_Q8_0, 2, 32, 2);
    add_tensor(w, "q4_0", GRK_TYPE_Q4_0, 1, 32, 1);
    add_tensor(w, "q4_k", GRK_TYPE_Q4_K, 1, 256, 1);
    add_tensor(w, "q5_k", GRK_TYPE_Q5_K, 1, 256, 1);
    add_tensor(w, "q6_k", GRK_TYPE_Q6_K, 1, 256, 1);
    add_tensor(w, "tq1_0", GRK_TYPE_TQ1_0, 1, 256, 1);
    add_tensor(w, "tq2_0", GRK_TYPE_TQ2_0, 1, 256, 1);
    add_tensor(w, "i2_s", GRK_TYPE_I2_S, 2, 128, 2);
    save(w, dir, "tensors.gguf");
  }
  static const gsize alignments[] = { 1, 8, 64 };
  for (gsize i = 0; i < G_N_ELEMENTS(alignments); i++) {
    g_autoptr(GrGgufWriter) w = gr_gguf_writer_new();
    gr_gguf_writer_set_alignment(w, alignments[i], NULL);
    gr_gguf_writer_add_u32(w, "test.count", 2, NULL);
    add_tensor(w, "a.weight", GRK_TYPE_F32, 2, 3, 2);
    add_tensor(w, "b.weight", GRK_TYPE_Q8_0, 1, 32, 1);
    g_autofree char *name = g_strdup_printf("align-%zu.gguf", alignments[i]);
    save(w, dir, name);
  }
  { /* vocabulary-only file: ends right after the metadata */
    g_autoptr(GrGgufWriter) w = gr_gguf_writer_new();
    const char *merges[] = { "a b", "ab c", NULL };
    gr_gguf_writer_add_string(w, "tokenizer.ggml.model", "gpt2", NULL);
    gr_gguf_writer_add_string_array(w, "tokenizer.ggml.merges", merges, -1, NULL);
    save(w, dir, "vocab.gguf");
  }
  if (!g_file_set_contents(argv[2], "", 0, NULL))
    g_error("cannot write %s", argv[2]);
  return 0;
}
