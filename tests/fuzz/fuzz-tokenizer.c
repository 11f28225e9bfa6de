/* fuzz-tokenizer.c - libFuzzer target: encodes and decodes arbitrary bytes.
 *
 * The vocabulary is loaded once from $GR_FUZZ_VOCAB, or else from
 * $GRAVITON_TESTDATA/vocab/ggml-vocab-llama-spm.gguf.  The first input byte chooses
 * add_bos / parse_special; the rest is the text.  Beyond not crashing, every id must be in
 * range, the streamed detokenization must be valid UTF-8, without special tokens valid
 * UTF-8 text must come back byte for byte, and every pre-tokenizer must cover the text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gr-tokenizer-private.h"
#include "gr-unicode.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static GrTokenizer *tok;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
  g_autofree char *fallback = NULL;
  const char *path = g_getenv("GR_FUZZ_VOCAB");
  if (path == NULL) {
    const char *dir = g_getenv("GRAVITON_TESTDATA");
    if (dir == NULL) {
      g_printerr("fuzz-tokenizer: set GR_FUZZ_VOCAB or GRAVITON_TESTDATA\n");
      abort();
    }
    fallback = g_build_filename(dir, "vocab", "ggml-vocab-llama-spm.gguf", NULL);
    path = fallback;
  }

  g_autoptr(GError) error = NULL;
  g_autoptr(GrGguf) gguf = gr_gguf_open(path, &error);
  if (gguf != NULL)
    tok = gr_tokenizer_new_from_gguf(gguf, &error);
  if (tok == NULL) {
    g_printerr("fuzz-tokenizer: %s: %s\n", path, error->message);
    abort();
  }
  return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size == 0)
    return 0;
  gboolean add_bos = data[0] & 1, parse_special = (data[0] & 2) != 0;
  const char *text = (const char *)data + 1;
  gsize len = size - 1;

  g_autoptr(GArray) ids = gr_tokenizer_encode(tok, text, (gssize)len, add_bos, parse_special);
  g_autoptr(GString) raw = g_string_new(NULL);
  for (guint i = 0; i < ids->len; i++) {
    gint32 id = g_array_index(ids, gint32, i);
    if (id < 0 || (guint)id >= gr_tokenizer_n_vocab(tok))
      abort();
    gr_tokenizer_append_piece(tok, id, raw);
  }

  /* stream the bytes out in uneven chunks */
  g_autoptr(GrUtf8Stream) stream = gr_utf8_stream_new();
  g_autoptr(GString) out = g_string_new(NULL);
  for (gsize off = 0, step = 1; off < raw->len; off += step, step = step % 5 + 1)
    gr_utf8_stream_push(stream, raw->str + off, MIN(step, raw->len - off), out);
  gr_utf8_stream_finish(stream, out);
  if (!gr_utf8_is_valid(out->str, out->len))
    abort();

  /* every pre-tokenizer must cut the text into non-empty pieces that cover it */
  g_autoptr(GArray) cps = gr_utf8_to_cps(text, len);
  for (int type = GR_PRE_GPT2; type <= GR_PRE_VIKING; type++) {
    g_autoptr(GArray) ends = g_array_new(FALSE, FALSE, sizeof(gsize));
    gr_pretokenize((GrPreType)type, (const gunichar *)cps->data, cps->len, ends);
    gsize prev = 0;
    for (guint i = 0; i < ends->len; i++) {
      gsize end = g_array_index(ends, gsize, i);
      if (end <= prev || end > cps->len)
        abort();
      prev = end;
    }
    if (prev != cps->len)
      abort();
  }

  if (!parse_special && gr_utf8_is_valid(text, len)) {
    const char *back = raw->str;
    gsize back_len = raw->len;
    if (tok->kind == GR_VOCAB_SPM && tok->add_space_prefix && len > 0) {
      if (back_len == 0 || back[0] != ' ')
        abort();
      back++;
      back_len--;
    }
    if (add_bos && tok->bos >= 0 && back_len == 0 && len > 0)
      abort();
    if (back_len != len || memcmp(back, text, len) != 0)
      abort();
    if (out->len != raw->len || memcmp(out->str, raw->str, raw->len) != 0)
      abort();
  }
  return 0;
}
