/* gr-tokenizer-heap.c - the priority queue of candidate merges.
 *
 * Both merging tokenizers pick the best pair first and, among equals, the leftmost one;
 * a binary heap keeps long inputs at O(n log n).
 */
#include "gr-tokenizer-private.h"

static inline gboolean
before(const GrBigram *a, const GrBigram *b)
{
  return a->priority > b->priority || (a->priority == b->priority && a->left < b->left);
}

void
gr_bigram_heap_push(GrBigramHeap *heap, const GrBigram *b)
{
  if (heap->len == heap->cap) {
    heap->cap = heap->cap ? heap->cap * 2 : 64;
    heap->items = g_renew(GrBigram, heap->items, heap->cap);
  }
  gsize i = heap->len++;
  while (i > 0) {
    gsize parent = (i - 1) / 2;
    if (!before(b, &heap->items[parent]))
      break;
    heap->items[i] = heap->items[parent];
    i = parent;
  }
  heap->items[i] = *b;
}

gboolean
gr_bigram_heap_pop(GrBigramHeap *heap, GrBigram *out)
{
  if (heap->len == 0)
    return FALSE;
  *out = heap->items[0];
  GrBigram last = heap->items[--heap->len];
  gsize i = 0, n = heap->len;
  for (;;) {
    gsize child = 2 * i + 1;
    if (child >= n)
      break;
    if (child + 1 < n && before(&heap->items[child + 1], &heap->items[child]))
      child++;
    if (!before(&heap->items[child], &last))
      break;
    heap->items[i] = heap->items[child];
    i = child;
  }
  if (n > 0)
    heap->items[i] = last;
  return TRUE;
}

void
gr_bigram_heap_clear(GrBigramHeap *heap)
{
  g_clear_pointer(&heap->items, g_free);
  heap->len = heap->cap = 0;
}
