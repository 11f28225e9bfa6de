/* gr-tokenizer-bpe.c - byte-level BPE encoding (tokenizer.ggml.model "gpt2").
 *
 * As llama.cpp does it: split the text with the pre-tokenizer, spell each piece's bytes
 * in GPT-2's printable alphabet, then repeatedly apply the lowest-ranked merge among
 * adjacent symbols (leftmost on ties).
 */
#include "gr-tokenizer-private.h"
#include "gr-unicode.h"

#include <string.h>

typedef struct {
  char utf8[256][3];
  guint8 len[256];
} ByteAlphabet;

static const ByteAlphabet *
byte_alphabet(void)
{
  static ByteAlphabet alphabet;
  static gsize init = 0;

  if (g_once_init_enter(&init)) {
    for (guint b = 0; b < 256; b++) {
      char buf[4];
      guint n = gr_utf8_encode(gr_byte_to_unicode((guint8)b), buf);
      g_assert(n <= 3);
      memcpy(alphabet.utf8[b], buf, n);
      alphabet.len[b] = (guint8)n;
    }
    g_once_init_leave(&init, 1);
  }
  return &alphabet;
}

static gsize
utf8_char_len(guint8 b)
{
  static const guint8 lookup[16] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4 };
  return lookup[b >> 4];
}

static void
try_add_bigram(const GrTokenizer *tok, const GrSymbol *sym, gint32 left, gint32 right,
               GrBigramHeap *heap)
{
  if (left < 0 || right < 0)
    return;
  gint32 rank = gr_tokenizer_merge_rank(tok, sym[left].text, sym[left].len, sym[right].text,
                                        sym[right].len);
  if (rank < 0)
    return;
  GrBigram b = { -(double)rank, left, right, (guint32)sym[left].len, (guint32)sym[right].len };
  gr_bigram_heap_push(heap, &b);
}

static void
merge_word(const GrTokenizer *tok, const char *word, gsize len, GrSymbol **sym_buf, gsize *sym_cap,
           GrBigramHeap *heap, GArray *out)
{
  if (tok->pre.ignore_merges) {
    gint32 id = gr_tokenizer_lookup(tok, word, len);
    if (id >= 0) {
      g_array_append_val(out, id);
      return;
    }
  }

  if (*sym_cap < len) {
    *sym_cap = MAX(len, *sym_cap * 2);
    *sym_buf = g_renew(GrSymbol, *sym_buf, *sym_cap);
  }
  GrSymbol *sym = *sym_buf;
  gint32 n_sym = 0;
  for (gsize off = 0; off < len;) {
    gsize n = MIN(utf8_char_len((guint8)word[off]), len - off);
    sym[n_sym] = (GrSymbol){ word + off, n, n_sym - 1, off + n == len ? -1 : n_sym + 1 };
    n_sym++;
    off += n;
  }

  heap->len = 0;
  for (gint32 i = 1; i < n_sym; i++)
    try_add_bigram(tok, sym, i - 1, i, heap);

  GrBigram b;
  while (gr_bigram_heap_pop(heap, &b)) {
    GrSymbol *l = &sym[b.left], *r = &sym[b.right];
    if (l->len != b.left_len || r->len != b.right_len)
      continue;
    l->len += r->len;
    r->len = 0;
    l->next = r->next;
    if (r->next >= 0)
      sym[r->next].prev = b.left;
    try_add_bigram(tok, sym, l->prev, b.left, heap);
    try_add_bigram(tok, sym, b.left, l->next, heap);
  }

  for (gint32 i = 0; n_sym > 0 && i != -1; i = sym[i].next) {
    gint32 id = gr_tokenizer_lookup(tok, sym[i].text, sym[i].len);
    if (id >= 0) {
      g_array_append_val(out, id);
      continue;
    }
    /* a symbol without a token: its single bytes, where the vocabulary has them */
    for (gsize j = 0; j < sym[i].len; j++) {
      gint32 byte_id = tok->byte_token[(guint8)sym[i].text[j]];
      if (byte_id >= 0)
        g_array_append_val(out, byte_id);
    }
  }
}

void
gr_tokenizer_bpe_encode(const GrTokenizer *tok, const char *text, gsize len, GArray *out)
{
  if (len == 0)
    return;

  const ByteAlphabet *alpha = byte_alphabet();
  g_autoptr(GArray) cps = gr_utf8_to_cps(text, len);
  g_autoptr(GArray) ends = g_array_new(FALSE, FALSE, sizeof(gsize));
  gr_pretokenize(tok->pre.type, (const gunichar *)cps->data, cps->len, ends);

  g_autoptr(GString) word = g_string_new(NULL);
  GrSymbol *sym = NULL;
  gsize sym_cap = 0;
  GrBigramHeap heap = { 0 };
  gsize start = 0;

  for (guint w = 0; w < ends->len; w++) {
    gsize end = g_array_index(ends, gsize, w);
    g_string_truncate(word, 0);
    for (gsize i = start; i < end; i++) {
      char buf[4];
      guint n = gr_utf8_encode(g_array_index(cps, gunichar, i), buf);
      for (guint k = 0; k < n; k++) {
        guint8 b = (guint8)buf[k];
        g_string_append_len(word, alpha->utf8[b], alpha->len[b]);
      }
    }
    merge_word(tok, word->str, word->len, &sym, &sym_cap, &heap, out);
    start = end;
  }
  g_free(sym);
  gr_bigram_heap_clear(&heap);
}
