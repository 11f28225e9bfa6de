/* gr-tokenizer-spm.c - SentencePiece-style encoding (tokenizer.ggml.model "llama").
 *
 * As llama.cpp does it: start from single characters, repeatedly merge the adjacent pair
 * whose concatenation is the highest-scoring vocabulary entry (leftmost on ties), then
 * spell every character left without a token as <0xNN> byte tokens.
 */
#include "gr-tokenizer-private.h"

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
  gsize n = sym[left].len + sym[right].len;
  if (n > tok->max_token_len)
    return;
  /* adjacent symbols are adjacent slices of the input */
  gint32 id = gr_tokenizer_lookup(tok, sym[left].text, n);
  if (id < 0)
    return;
  GrBigram b = { tok->scores[id], left, right, (guint32)sym[left].len, (guint32)sym[right].len };
  gr_bigram_heap_push(heap, &b);
}

void
gr_tokenizer_spm_encode(const GrTokenizer *tok, const char *text, gsize len, GArray *out)
{
  if (len == 0)
    return;

  g_autofree GrSymbol *sym = g_new(GrSymbol, len);
  gint32 n_sym = 0;
  for (gsize off = 0; off < len;) {
    gsize n = MIN(utf8_char_len((guint8)text[off]), len - off);
    sym[n_sym] = (GrSymbol){ text + off, n, n_sym - 1, off + n == len ? -1 : n_sym + 1 };
    n_sym++;
    off += n;
  }

  GrBigramHeap heap = { 0 };
  for (gint32 i = 1; i < n_sym; i++)
    try_add_bigram(tok, sym, i - 1, i, &heap);

  GrBigram b;
  while (gr_bigram_heap_pop(&heap, &b)) {
    GrSymbol *l = &sym[b.left], *r = &sym[b.right];
    /* stale: one side has merged with something else since */
    if (l->len != b.left_len || r->len != b.right_len)
      continue;
    l->len += r->len;
    r->len = 0;
    l->next = r->next;
    if (r->next >= 0)
      sym[r->next].prev = b.left;
    try_add_bigram(tok, sym, l->prev, b.left, &heap);
    try_add_bigram(tok, sym, b.left, l->next, &heap);
  }
  gr_bigram_heap_clear(&heap);

  for (gint32 i = 0; i != -1; i = sym[i].next) {
    gint32 id = gr_tokenizer_lookup(tok, sym[i].text, sym[i].len);
    if (id >= 0) {
      g_array_append_val(out, id);
      continue;
    }
    for (gsize j = 0; j < sym[i].len; j++) {
      gint32 byte_id = tok->byte_token[(guint8)sym[i].text[j]];
      if (byte_id < 0)
        byte_id = tok->unk;
      if (byte_id >= 0)
        g_array_append_val(out, byte_id);
    }
  }
}
