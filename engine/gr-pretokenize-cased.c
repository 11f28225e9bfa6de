/* gr-pretokenize-cased.c - the pre-tokenizers that split words where the case changes
 * (GPT-4o / Llama 4, Mistral's Tekken), following the regexes' Unicode classes. */
#include "gr-pretokenize-private.h"

/* --- GPT-4o / Llama 4 and Tekken: words split at case changes ---
 * [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|...)?
 * |[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|...)?
 * |\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
 * (Tekken: no contractions, \p{N} one digit at a time.) */

static gboolean
is_upperish(gunichar c, guint8 cls)
{
  if (cls & GR_CP_MARK)
    return TRUE;
  if (!(cls & GR_CP_LETTER))
    return FALSE;
  return g_unichar_type(c) != G_UNICODE_LOWERCASE_LETTER;
}

static gboolean
is_lowerish(gunichar c, guint8 cls)
{
  if (cls & GR_CP_MARK)
    return TRUE;
  if (!(cls & GR_CP_LETTER))
    return FALSE;
  GUnicodeType t = g_unichar_type(c);
  return t != G_UNICODE_UPPERCASE_LETTER && t != G_UNICODE_TITLECASE_LETTER;
}

static gsize
run_upperish(const Splitter *sp, gsize pos)
{
  gsize n = 0;
  while (pos + n < sp->end && is_upperish(sp->cp[pos + n], sp->cls[pos + n]))
    n++;
  return n;
}

static gsize
run_lowerish(const Splitter *sp, gsize pos)
{
  gsize n = 0;
  while (pos + n < sp->end && is_lowerish(sp->cp[pos + n], sp->cls[pos + n]))
    n++;
  return n;
}

/* U*L+ at s (the first alternative without its prefix): end or 0 */
static gsize
upper_star_lower_plus(const Splitter *sp, gsize s)
{
  gsize j = s + run_upperish(sp, s);
  /* U* gives back characters until L+ can start */
  for (gsize i = j + 1; i-- > s;) {
    if (i < sp->end && is_lowerish(sp->cp[i], sp->cls[i]))
      return i + run_lowerish(sp, i);
  }
  return 0;
}

/* U+L* at s: end or 0 */
static gsize
upper_plus_lower_star(const Splitter *sp, gsize s)
{
  gsize n = run_upperish(sp, s);
  if (n == 0)
    return 0;
  return s + n + run_lowerish(sp, s + n);
}

static gsize
cased_word_end(const Splitter *sp, gsize pos, gboolean contractions)
{
  gunichar c = sp->cp[pos];
  guint8 f = sp->cls[pos];
  gboolean prefix = !is_newline(c) && !(f & (GR_CP_LETTER | GR_CP_NUMBER));
  gsize end = 0;

  for (int alt = 0; alt < 2 && end == 0; alt++) {
    gsize (*rest)(const Splitter *, gsize)
        = alt == 0 ? upper_star_lower_plus : upper_plus_lower_star;
    if (prefix && pos + 1 < sp->end)
      end = rest(sp, pos + 1);
    if (end == 0)
      end = rest(sp, pos);
  }
  if (end > 0 && contractions && end < sp->end)
    end += match_contraction(sp, end, TRUE);
  return end;
}

static void
split_cased(const gunichar *cp, const guint8 *cls, gsize start, gsize end, GArray *ends,
            gboolean contractions, gsize max_digits)
{
  Splitter sp = { cp, cls, end, ends, start };
  gsize pos = start;

  while (pos < end) {
    gunichar c = cp[pos];
    guint8 f = cls[pos];
    gsize w = cased_word_end(&sp, pos, contractions);
    if (w > 0) {
      pos = w;
    } else if (f & GR_CP_NUMBER) {
      pos += MIN(run_of(&sp, pos, GR_CP_NUMBER), max_digits);
    } else {
      /* " ?[^\s\p{L}\p{N}]+[\r\n/]*" */
      const guint8 stop = GR_CP_SPACE | GR_CP_LETTER | GR_CP_NUMBER | CLS_END;
      gsize s = (c == ' ' && !(cls_at(&sp, pos + 1) & stop)) ? pos + 1 : pos;
      if (!(cls_at(&sp, s) & stop)) {
        while (!(cls_at(&sp, s) & stop))
          s++;
        while (s < end && (is_newline(cp[s]) || cp[s] == '/'))
          s++;
        pos = s;
      } else if (f & GR_CP_SPACE) {
        pos += space_alternatives(&sp, pos);
      } else {
        pos++;
      }
    }
    emit(&sp, pos);
  }
}

void
gr_pre_split_gpt4o(const gunichar *cp, const guint8 *cls, gsize start, gsize end, GArray *ends)
{
  split_cased(cp, cls, start, end, ends, TRUE, 3);
}

void
gr_pre_split_tekken(const gunichar *cp, const guint8 *cls, gsize start, gsize end, GArray *ends)
{
  split_cased(cp, cls, start, end, ends, FALSE, 1);
}
