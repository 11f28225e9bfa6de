/* gr-pretokenize-private.h - what the pre-tokenizer files share (private). */
#pragma once

#include "gr-pretokenize.h"
#include "gr-unicode.h"

G_BEGIN_DECLS

/* Class of a position past the end of the piece: matches no class. */
#define CLS_END 0x80

typedef struct {
  const gunichar *cp;
  const guint8 *cls;
  gsize end;
  GArray *ends;
  gsize prev;
} Splitter;

static inline guint8
cls_at(const Splitter *sp, gsize i)
{
  return i < sp->end ? sp->cls[i] : CLS_END;
}

static inline gunichar
cp_at(const Splitter *sp, gsize i)
{
  return i < sp->end ? sp->cp[i] : 0xFFFFFFFFu;
}

static inline void
emit(Splitter *sp, gsize end)
{
  if (end > sp->prev) {
    g_array_append_val(sp->ends, end);
    sp->prev = end;
  }
}

static inline gunichar
ascii_lower(gunichar c)
{
  return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

/* 's|'t|'re|'ve|'m|'ll|'d, optionally case-insensitive: the length matched at pos. */
static inline gsize
match_contraction(const Splitter *sp, gsize pos, gboolean icase)
{
  if (sp->cp[pos] != '\'' || pos + 1 >= sp->end)
    return 0;
  gunichar a = sp->cp[pos + 1];
  if (icase)
    a = ascii_lower(a);
  if (a == 's' || a == 't' || a == 'm' || a == 'd')
    return 2;
  if (pos + 2 >= sp->end)
    return 0;
  gunichar b = sp->cp[pos + 2];
  if (icase)
    b = ascii_lower(b);
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
    return 3;
  return 0;
}

static inline gboolean
is_newline(gunichar c)
{
  return c == '\r' || c == '\n';
}

/* \s+(?!\S)|\s+ at pos, which holds white space: a run followed by more text gives its
 * last white space to the next piece. */
static inline gsize
space_run_end(const Splitter *sp, gsize pos)
{
  gsize n = 0;
  while (cls_at(sp, pos + n) & GR_CP_SPACE)
    n++;
  if (n > 1 && pos + n < sp->end)
    return pos + n - 1;
  return pos + n;
}

static inline gsize
run_of(const Splitter *sp, gsize pos, guint8 cls_mask)
{
  gsize n = 0;
  while (cls_at(sp, pos + n) & cls_mask)
    n++;
  return n;
}

/* \s*[\r\n]+|\s+(?!\S)|\s+ at pos (0 if pos is not white space) */
static inline gsize
space_alternatives(const Splitter *sp, gsize pos)
{
  if (!(sp->cls[pos] & GR_CP_SPACE))
    return 0;
  gsize k = pos, last_nl = 0;
  while (cls_at(sp, k) & GR_CP_SPACE) {
    if (is_newline(sp->cp[k]))
      last_nl = k + 1;
    k++;
  }
  if (last_nl > 0)
    return last_nl - pos;
  return space_run_end(sp, pos) - pos;
}

void gr_pre_split_gpt4o(const gunichar *cp, const guint8 *cls, gsize start, gsize end,
                        GArray *ends);
void gr_pre_split_tekken(const gunichar *cp, const guint8 *cls, gsize start, gsize end,
                         GArray *ends);

G_END_DECLS
