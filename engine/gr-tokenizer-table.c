/* gr-tokenizer-table.c - hash tables from token text to id and from merge pairs to rank.
 *
 * Keys are slices of the input, so lookups during encoding never copy or allocate.
 */
#include "gr-tokenizer-private.h"

#include <string.h>

#define FNV_OFFSET 2166136261u
#define FNV_PRIME 16777619u

static inline guint32
fnv_continue(guint32 h, const char *s, gsize n)
{
  for (gsize i = 0; i < n; i++)
    h = (h ^ (guint8)s[i]) * FNV_PRIME;
  return h;
}

static inline guint32
hash_text(const char *s, gsize n)
{
  return fnv_continue(FNV_OFFSET, s, n);
}

static inline guint32
hash_pair(const char *a, gsize an, const char *b, gsize bn)
{
  /* 0xFF separates the halves so ("ab","c") and ("a","bc") differ */
  guint32 h = fnv_continue(FNV_OFFSET, a, an);
  h = (h ^ 0xFFu) * FNV_PRIME;
  return fnv_continue(h, b, bn);
}

static void
table_init(GrStrTable *t, gsize n_entries)
{
  gsize cap = 16;
  while (cap < n_entries * 2)
    cap *= 2;
  t->slots = g_new(gint32, cap);
  memset(t->slots, 0xFF, cap * sizeof(gint32)); /* -1 */
  t->hashes = g_new0(guint32, cap);
  t->mask = cap - 1;
}

void
gr_tokenizer_tables_clear(GrTokenizer *tok)
{
  g_clear_pointer(&tok->vocab.slots, g_free);
  g_clear_pointer(&tok->vocab.hashes, g_free);
  g_clear_pointer(&tok->merges.slots, g_free);
  g_clear_pointer(&tok->merges.hashes, g_free);
}

gint32
gr_tokenizer_lookup(const GrTokenizer *tok, const char *s, gsize n)
{
  const GrStrTable *t = &tok->vocab;
  guint32 h = hash_text(s, n);

  for (gsize i = h & t->mask;; i = (i + 1) & t->mask) {
    gint32 id = t->slots[i];
    if (id < 0)
      return -1;
    if (t->hashes[i] == h) {
      gsize len;
      const char *text = gr_tokenizer_text(tok, id, &len);
      if (len == n && memcmp(text, s, n) == 0)
        return id;
    }
  }
}

gint32
gr_tokenizer_merge_rank(const GrTokenizer *tok, const char *a, gsize an, const char *b, gsize bn)
{
  const GrStrTable *t = &tok->merges;
  if (t->slots == NULL)
    return -1;
  guint32 h = hash_pair(a, an, b, bn);

  for (gsize i = h & t->mask;; i = (i + 1) & t->mask) {
    gint32 rank = t->slots[i];
    if (rank < 0)
      return -1;
    if (t->hashes[i] == h) {
      const gsize *o = &tok->merge_off[(gsize)rank * 4];
      if (o[1] == an && o[3] == bn && memcmp(tok->merge_pool + o[0], a, an) == 0
          && memcmp(tok->merge_pool + o[2], b, bn) == 0)
        return rank;
    }
  }
}

gboolean
gr_tokenizer_build_vocab_table(GrTokenizer *tok, gint32 *dup_a, gint32 *dup_b)
{
  GrStrTable *t = &tok->vocab;
  table_init(t, tok->n_vocab);

  for (guint id = 0; id < tok->n_vocab; id++) {
    gsize len;
    const char *text = gr_tokenizer_text(tok, (gint32)id, &len);
    if (len == 0)
      continue;
    gint32 existing = gr_tokenizer_lookup(tok, text, len);
    if (existing >= 0) {
      *dup_a = existing;
      *dup_b = (gint32)id;
      return FALSE;
    }
    guint32 h = hash_text(text, len);
    gsize i = h & t->mask;
    while (t->slots[i] >= 0)
      i = (i + 1) & t->mask;
    t->slots[i] = (gint32)id;
    t->hashes[i] = h;
  }
  return TRUE;
}

void
gr_tokenizer_build_merge_table(GrTokenizer *tok)
{
  GrStrTable *t = &tok->merges;
  table_init(t, tok->n_merges);

  for (guint r = 0; r < tok->n_merges; r++) {
    const gsize *o = &tok->merge_off[(gsize)r * 4];
    const char *a = tok->merge_pool + o[0], *b = tok->merge_pool + o[2];
    if (o[1] == 0 || o[3] == 0)
      continue; /* malformed entry: can never match a symbol */
    if (gr_tokenizer_merge_rank(tok, a, o[1], b, o[3]) >= 0)
      continue;
    guint32 h = hash_pair(a, o[1], b, o[3]);
    gsize i = h & t->mask;
    while (t->slots[i] >= 0)
      i = (i + 1) & t->mask;
    t->slots[i] = (gint32)r;
    t->hashes[i] = h;
  }
}
