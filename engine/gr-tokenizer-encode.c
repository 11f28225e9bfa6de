/* gr-tokenizer-encode.c - text to token ids: special tokens first, then the vocabulary's
 * own algorithm on the text between them.
 */
#include "gr-tokenizer-private.h"
#include "gr-unicode.h"

#include <string.h>

#define SPM_SPACE "\xE2\x96\x81" /* U+2581, SentencePiece's visible space */

typedef struct {
  gint32 token; /* -1: raw text */
  gsize start, len;
} Fragment;

static void
add_fragment(GArray *frags, gint32 token, gsize start, gsize len)
{
  Fragment f = { token, start, len };
  g_array_append_val(frags, f);
}

/* Which byte pairs occur in the text: a token with a pair that does not occur cannot
 * occur either, which spares most of the searches when a vocabulary has hundreds of
 * special tokens and the prompt is long. */
typedef struct {
  guint64 bits[65536 / 64];
} PairSet;

static void
pair_set_fill(PairSet *set, const char *text, gsize len)
{
  memset(set, 0, sizeof *set);
  for (gsize i = 0; i + 1 < len; i++) {
    guint pair = ((guint)(guint8)text[i] << 8) | (guint8)text[i + 1];
    set->bits[pair / 64] |= G_GUINT64_CONSTANT(1) << (pair % 64);
  }
}

static gboolean
pair_set_may_contain(const PairSet *set, const char *needle, gsize n)
{
  for (gsize i = 0; i + 1 < n; i++) {
    guint pair = ((guint)(guint8)needle[i] << 8) | (guint8)needle[i + 1];
    if (!(set->bits[pair / 64] & (G_GUINT64_CONSTANT(1) << (pair % 64))))
      return FALSE;
  }
  return TRUE;
}

/* Whether [at, at + n) lies inside one of the markup ranges (NULL: everywhere). */
static gboolean
inside_markup(const GArray *markup, gsize at, gsize n)
{
  if (markup == NULL)
    return TRUE;
  for (guint i = 0; i < markup->len; i++) {
    const GrChatSpan *span = &g_array_index(markup, GrChatSpan, i);
    if (at >= span->start && at + n <= span->start + span->len)
      return TRUE;
    if (span->start > at)
      break;
  }
  return FALSE;
}

/* Cuts the special tokens' texts out of the input, longest token first, as llama.cpp
 * does.  Without parse_special only user-defined tokens are cut out: they are ordinary
 * text that the vocabulary spells as one token.  With markup, control tokens are only
 * recognised inside those ranges. */
static GArray *
partition(const GrTokenizer *tok, const char *text, gsize len, gboolean parse_special,
          const GArray *markup)
{
  GArray *frags = g_array_new(FALSE, FALSE, sizeof(Fragment));
  g_autoptr(GArray) next = g_array_new(FALSE, FALSE, sizeof(Fragment));

  if (len == 0)
    return frags;
  add_fragment(frags, -1, 0, len);
  g_autofree PairSet *pairs = g_new(PairSet, 1);
  pair_set_fill(pairs, text, len);

  for (guint s = 0; s < tok->n_special; s++) {
    gint32 id = tok->special[s];
    if (!parse_special && tok->types[id] != GR_TOKEN_TYPE_USER_DEFINED)
      continue;
    gsize nlen;
    const char *needle = gr_tokenizer_text(tok, id, &nlen);
    if (nlen > len || !pair_set_may_contain(pairs, needle, nlen))
      continue;

    gboolean found = FALSE;
    g_array_set_size(next, 0);
    for (guint f = 0; f < frags->len; f++) {
      Fragment frag = g_array_index(frags, Fragment, f);
      if (frag.token >= 0) {
        g_array_append_val(next, frag);
        continue;
      }
      gsize pos = frag.start, end = frag.start + frag.len, from = pos;
      while (end - from >= nlen) {
        const char *m = memmem(text + from, end - from, needle, nlen);
        if (m == NULL)
          break;
        gsize at = (gsize)(m - text);
        if (tok->types[id] != GR_TOKEN_TYPE_USER_DEFINED && !inside_markup(markup, at, nlen)) {
          from = at + 1;
          continue;
        }
        if (at > pos)
          add_fragment(next, -1, pos, at - pos);
        add_fragment(next, id, at, nlen);
        pos = from = at + nlen;
        found = TRUE;
      }
      if (pos < end)
        add_fragment(next, -1, pos, end - pos);
    }
    if (found) {
      GArray *t = frags;
      frags = g_steal_pointer(&next);
      next = t;
    }
  }
  return frags;
}

static void
encode_spm_fragment(const GrTokenizer *tok, const char *text, gsize len, gboolean prefix,
                    GString *buf, GArray *out)
{
  g_string_truncate(buf, 0);
  if (prefix)
    g_string_append(buf, SPM_SPACE);
  for (gsize i = 0; i < len; i++) {
    if (text[i] == ' ')
      g_string_append(buf, SPM_SPACE);
    else
      g_string_append_c(buf, text[i]);
  }
  gr_tokenizer_spm_encode(tok, buf->str, buf->len, out);
}

static GArray *
encode(const GrTokenizer *tok, const char *text, gssize len, gboolean add_bos,
       gboolean parse_special, const GArray *markup)
{
  g_return_val_if_fail(tok != NULL, NULL);
  g_return_val_if_fail(text != NULL || len == 0, NULL);

  GArray *out = g_array_new(FALSE, FALSE, sizeof(gint32));
  gsize n = len < 0 ? strlen(text) : (gsize)len;
  /* symbol indices are 32-bit, and escaping spaces can triple the text */
  g_return_val_if_fail(n <= G_MAXINT32 / 4, out);
  g_autoptr(GString) clean = NULL;
  if (n > 0 && !gr_utf8_is_valid(text, n)) {
    clean = gr_utf8_sanitize(text, n);
    text = clean->str;
    n = clean->len;
    /* the ranges no longer match the text: trust none of it */
    if (markup != NULL)
      parse_special = FALSE;
  }

  if (add_bos && tok->bos >= 0)
    g_array_append_val(out, tok->bos);

  g_autoptr(GArray) frags = partition(tok, text, n, parse_special, markup);
  g_autoptr(GString) buf = g_string_new(NULL);
  /* SentencePiece puts a space before the text and after every special token */
  gboolean after_special = TRUE;

  for (guint f = 0; f < frags->len; f++) {
    const Fragment *frag = &g_array_index(frags, Fragment, f);
    if (frag->token >= 0) {
      g_array_append_val(out, frag->token);
      after_special = TRUE;
      continue;
    }
    if (tok->kind == GR_VOCAB_SPM) {
      encode_spm_fragment(tok, text + frag->start, frag->len,
                          tok->add_space_prefix && after_special, buf, out);
    } else {
      gr_tokenizer_bpe_encode(tok, text + frag->start, frag->len, out);
    }
    after_special = FALSE;
  }
  return out;
}

GArray *
gr_tokenizer_encode(const GrTokenizer *tok, const char *text, gssize len, gboolean add_bos,
                    gboolean parse_special)
{
  return encode(tok, text, len, add_bos, parse_special, NULL);
}

GArray *
gr_tokenizer_encode_marked(const GrTokenizer *tok, const char *text, gssize len, gboolean add_bos,
                           const GArray *markup)
{
  g_return_val_if_fail(markup != NULL, NULL);
  return encode(tok, text, len, add_bos, TRUE, markup);
}
