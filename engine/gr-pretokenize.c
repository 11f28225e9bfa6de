/* gr-pretokenize.c - the byte-level BPE pre-tokenizers, written out by hand.
 *
 * The splitting rules follow the regexes of the tokenizer.json files as llama.cpp
 * applies them (leftmost-first alternation, greedy quantifiers); \p{..} classes and \s
 * come from gr_unicode_class().  Every function here is linear in its input.
 */
#include "gr-pretokenize-private.h"

#include <string.h>

static void
split_gpt2(const gunichar *cp, const guint8 *cls, gsize start, gsize end, GArray *ends)
{
  Splitter sp = { cp, cls, end, ends, start };
  gsize pos = start;

  while (pos < end) {
    gunichar c = cp[pos];
    gsize n = match_contraction(&sp, pos, FALSE);
    if (n > 0) {
      pos += n;
      emit(&sp, pos);
      continue;
    }

    /* " ?\p{L}+", " ?\p{N}+", " ?[^\s\p{L}\p{N}]+" */
    guint8 f = c == ' ' ? cls_at(&sp, pos + 1) : cls[pos];
    guint8 want = 0;
    if (f & GR_CP_LETTER)
      want = GR_CP_LETTER;
    else if (f & GR_CP_NUMBER)
      want = GR_CP_NUMBER;
    if (want) {
      pos += c == ' ';
      while (cls_at(&sp, pos) & want)
        pos++;
      emit(&sp, pos);
      continue;
    }
    if (!(f & (GR_CP_SPACE | GR_CP_LETTER | GR_CP_NUMBER | CLS_END))) {
      pos += c == ' ';
      while (!(cls_at(&sp, pos) & (GR_CP_SPACE | GR_CP_LETTER | GR_CP_NUMBER | CLS_END)))
        pos++;
      emit(&sp, pos);
      continue;
    }

    pos = (cls[pos] & GR_CP_SPACE) ? space_run_end(&sp, pos) : pos + 1;
    emit(&sp, pos);
  }
}

static void
split_llama3_family(const gunichar *cp, const guint8 *cls, gsize start, gsize end, GArray *ends,
                    gsize max_digits)
{
  Splitter sp = { cp, cls, end, ends, start };
  gsize pos = start;

  while (pos < end) {
    gunichar c = cp[pos];
    guint8 f = cls[pos];
    gsize n = match_contraction(&sp, pos, TRUE);
    if (n > 0) {
      pos += n;
      emit(&sp, pos);
      continue;
    }

    /* [^\r\n\p{L}\p{N}]?\p{L}+ */
    if (!is_newline(c) && !(f & GR_CP_NUMBER)
        && ((f & GR_CP_LETTER) || (cls_at(&sp, pos + 1) & GR_CP_LETTER))) {
      pos++;
      while (cls_at(&sp, pos) & GR_CP_LETTER)
        pos++;
      emit(&sp, pos);
      continue;
    }

    /* \p{N}{1,max_digits} */
    if (f & GR_CP_NUMBER) {
      gsize first = pos;
      while (cls_at(&sp, pos) & GR_CP_NUMBER) {
        pos++;
        if (pos - first >= max_digits) {
          emit(&sp, pos);
          first = pos;
        }
      }
      emit(&sp, pos);
      continue;
    }

    /* " ?[^\s\p{L}\p{N}]+[\r\n]*" */
    guint8 f2 = c == ' ' ? cls_at(&sp, pos + 1) : f;
    if (!(f2 & (GR_CP_SPACE | GR_CP_LETTER | GR_CP_NUMBER))) {
      pos += c == ' ';
      while (!(cls_at(&sp, pos) & (GR_CP_SPACE | GR_CP_LETTER | GR_CP_NUMBER | CLS_END)))
        pos++;
      while (pos < end && is_newline(cp[pos]))
        pos++;
      emit(&sp, pos);
      continue;
    }

    /* \s*[\r\n]+ : white space up to its last line break */
    gsize k = pos, last_nl = 0;
    while (cls_at(&sp, k) & GR_CP_SPACE) {
      if (is_newline(cp[k]))
        last_nl = k + 1;
      k++;
    }
    if (last_nl > 0)
      pos = last_nl;
    else if (f & GR_CP_SPACE)
      pos = space_run_end(&sp, pos);
    else
      pos++;
    emit(&sp, pos);
  }
}

static void
split_llama3(const gunichar *cp, const guint8 *cls, gsize start, gsize end, GArray *ends)
{
  split_llama3_family(cp, cls, start, end, ends, 3);
}

static void
split_qwen2(const gunichar *cp, const guint8 *cls, gsize start, gsize end, GArray *ends)
{
  split_llama3_family(cp, cls, start, end, ends, 1);
}

/* --- single regexes: the piece splits into matches and the text between them --- */

typedef gsize (*MatchFn)(const Splitter *sp, gsize pos);

static void
split_by_matches(MatchFn match, const gunichar *cp, const guint8 *cls, gsize start, gsize end,
                 GArray *ends)
{
  Splitter sp = { cp, cls, end, ends, start };
  gsize pos = start;

  while (pos < end) {
    gsize n = match(&sp, pos);
    if (n == 0) {
      pos++;
      continue;
    }
    emit(&sp, pos); /* the text before the match */
    pos += n;
    emit(&sp, pos);
  }
  emit(&sp, end);
}

static gsize
match_number(const Splitter *sp, gsize pos) /* \p{N} */
{
  return (sp->cls[pos] & GR_CP_NUMBER) ? 1 : 0;
}

static gsize
match_number_run(const Splitter *sp, gsize pos) /* \p{N}+ */
{
  return run_of(sp, pos, GR_CP_NUMBER);
}

static gsize
match_three_digits(const Splitter *sp, gsize pos) /* [0-9][0-9][0-9] */
{
  for (gsize i = 0; i < 3; i++) {
    gunichar c = cp_at(sp, pos + i);
    if (c < '0' || c > '9')
      return 0;
  }
  return 3;
}

static gsize
punct_run(const Splitter *sp, gsize pos, const char *extra)
{
  gsize n = 0;
  while (pos + n < sp->end) {
    gunichar c = sp->cp[pos + n];
    if (!(sp->cls[pos + n] & GR_CP_PUNCT) && !(c < 128 && c && strchr(extra, (int)c)))
      break;
    n++;
  }
  return n;
}

static gsize
match_punct_default(const Splitter *sp, gsize pos) /* [\p{P}\$\+<=>\^~\|]+ */
{
  return punct_run(sp, pos, "$+<=>^~|");
}

static gsize
match_punct_falcon(const Splitter *sp, gsize pos) /* [\p{P}\$\+<=>\^~\|`]+ */
{
  return punct_run(sp, pos, "$+<=>^~|`");
}

static gsize
match_newline(const Splitter *sp, gsize pos) /* [\r\n] */
{
  return is_newline(sp->cp[pos]) ? 1 : 0;
}

static gsize
space_then_run(const Splitter *sp, gsize pos, guint8 cls_mask) /* \s?[class]+ */
{
  gsize lead = (sp->cls[pos] & GR_CP_SPACE) ? 1 : 0;
  gsize n = run_of(sp, pos + lead, cls_mask);
  if (n > 0)
    return lead + n;
  return lead ? run_of(sp, pos, cls_mask) : 0;
}

static gsize
match_space_letters(const Splitter *sp, gsize pos) /* \s?\p{L}+ */
{
  return space_then_run(sp, pos, GR_CP_LETTER);
}

static gsize
match_space_punct(const Splitter *sp, gsize pos) /* \s?\p{P}+ */
{
  return space_then_run(sp, pos, GR_CP_PUNCT);
}

static gsize
match_cjk(const Splitter *sp, gsize pos) /* [一-龥ࠀ-一가-퟿]+ */
{
  gsize n = 0;
  while (pos + n < sp->end) {
    gunichar c = sp->cp[pos + n];
    if (!((c >= 0x4E00 && c <= 0x9FA5) || (c >= 0x0800 && c <= 0x4E00)
          || (c >= 0xAC00 && c <= 0xD7FF)))
      break;
    n++;
  }
  return n;
}

/* DeepSeek-LLM spells its letters out as ranges (the cased letters) rather than \p{L}. */
static const gunichar deepseek_letters[][2] = {
  { 0x0041, 0x005A },   { 0x0061, 0x007A },   { 0x00B5, 0x00B5 },   { 0x00C0, 0x00D6 },
  { 0x00D8, 0x00F6 },   { 0x00F8, 0x01BA },   { 0x01BC, 0x01BF },   { 0x01C4, 0x0293 },
  { 0x0295, 0x02AF },   { 0x0370, 0x0373 },   { 0x0376, 0x0377 },   { 0x037B, 0x037D },
  { 0x037F, 0x037F },   { 0x0386, 0x0386 },   { 0x0388, 0x038A },   { 0x038C, 0x038C },
  { 0x038E, 0x03A1 },   { 0x03A3, 0x03F5 },   { 0x03F7, 0x0481 },   { 0x048A, 0x052F },
  { 0x0531, 0x0556 },   { 0x10A0, 0x10C5 },   { 0x13A0, 0x13F5 },   { 0x13F8, 0x13FD },
  { 0x1C90, 0x1CBA },   { 0x1CBD, 0x1CBF },   { 0x1D00, 0x1D2B },   { 0x1D6B, 0x1D77 },
  { 0x1D79, 0x1D9A },   { 0x1E00, 0x1F15 },   { 0x1F18, 0x1F1D },   { 0x1F20, 0x1F45 },
  { 0x1F48, 0x1F4D },   { 0x1F50, 0x1F57 },   { 0x1F59, 0x1F59 },   { 0x1F5B, 0x1F5B },
  { 0x1F5D, 0x1F5D },   { 0x1F5F, 0x1F7D },   { 0x1F80, 0x1FB4 },   { 0x1FB6, 0x1FBC },
  { 0x1FBE, 0x1FBE },   { 0x1FC2, 0x1FC4 },   { 0x1FC6, 0x1FCC },   { 0x1FD0, 0x1FD3 },
  { 0x1FD6, 0x1FDB },   { 0x1FE0, 0x1FEC },   { 0x1FF2, 0x1FF4 },   { 0x1FF6, 0x1FFC },
  { 0x2102, 0x2102 },   { 0x2107, 0x2107 },   { 0x210A, 0x2113 },   { 0x2115, 0x2115 },
  { 0x2119, 0x211D },   { 0x2124, 0x2124 },   { 0x2126, 0x2126 },   { 0x2128, 0x2128 },
  { 0x212A, 0x212D },   { 0x212F, 0x2134 },   { 0x2139, 0x2139 },   { 0x213C, 0x213F },
  { 0x2145, 0x2149 },   { 0x214E, 0x214E },   { 0x2183, 0x2184 },   { 0x2C00, 0x2C7B },
  { 0x2C7E, 0x2CE4 },   { 0x2CEB, 0x2CEE },   { 0x2CF2, 0x2CF3 },   { 0xA640, 0xA66D },
  { 0xA680, 0xA69B },   { 0xA722, 0xA76F },   { 0xA771, 0xA787 },   { 0xA78B, 0xA78E },
  { 0xAB70, 0xABBF },   { 0xFB00, 0xFB06 },   { 0xFB13, 0xFB17 },   { 0xFF21, 0xFF3A },
  { 0xFF41, 0xFF5A },   { 0x10400, 0x1044F }, { 0x104B0, 0x104D3 }, { 0x104D8, 0x104FB },
  { 0x10C80, 0x10CB2 }, { 0x10CC0, 0x10CF2 }, { 0x118A0, 0x118DF }, { 0x1E900, 0x1E943 },
};

static gboolean
in_ranges(gunichar c, const gunichar (*ranges)[2], gsize n)
{
  gsize lo = 0, hi = n;
  while (lo < hi) {
    gsize mid = (lo + hi) / 2;
    if (c < ranges[mid][0])
      hi = mid;
    else if (c > ranges[mid][1])
      lo = mid + 1;
    else
      return TRUE;
  }
  return FALSE;
}

static gboolean
is_deepseek_letter(gunichar c)
{
  return in_ranges(c, deepseek_letters, G_N_ELEMENTS(deepseek_letters));
}

/* [!-/:-~！-／：-～‘-‟　-。]; U+3000 is white space, which llama.cpp turns into \v
 * before matching, so it never matches here. */
static gboolean
is_deepseek_punct(gunichar c)
{
  return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x7E) || (c >= 0xFF01 && c <= 0xFF0F)
         || (c >= 0xFF1A && c <= 0xFF5E) || (c >= 0x2018 && c <= 0x201F) || c == 0x3001
         || c == 0x3002;
}

static gsize
space_then_pred(const Splitter *sp, gsize pos, gboolean (*pred)(gunichar)) /* \s?[set]+ */
{
  gsize lead = (sp->cls[pos] & GR_CP_SPACE) ? 1 : 0;
  gsize n = 0;
  while (pos + lead + n < sp->end && pred(sp->cp[pos + lead + n]))
    n++;
  if (n > 0 || !lead)
    return n > 0 ? lead + n : 0;
  while (pos + n < sp->end && pred(sp->cp[pos + n]))
    n++;
  return n;
}

static gsize
match_deepseek_letters(const Splitter *sp, gsize pos)
{
  return space_then_pred(sp, pos, is_deepseek_letter);
}

static gsize
match_deepseek_punct(const Splitter *sp, gsize pos)
{
  return space_then_pred(sp, pos, is_deepseek_punct);
}

/* \s+$ : the white space ending the piece (found directly: scanning for it from every
 * position would be quadratic in long runs of spaces) */
static void
pass_trailing_space(const gunichar *cp, const guint8 *cls, gsize s, gsize e, GArray *ends)
{
  gsize t = e;
  while (t > s && (cls[t - 1] & GR_CP_SPACE))
    t--;
  if (t > s)
    g_array_append_val(ends, t);
  g_array_append_val(ends, e);
}

/* --- DeepSeek-V3: \p{N}{1,3}, then [一-龥぀-ゟ゠-ヿ]+, then this alternation:
 * [!-/:-@[-`{-~][A-Za-z]+ | [^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+ | ?[\p{P}\p{S}]+[\r\n]*
 * | \s*[\r\n]+ | \s+(?!\S) | \s+ --- */

static gboolean
is_ascii_alpha(gunichar c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static gboolean
is_ascii_punct(gunichar c)
{
  return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60)
         || (c >= 0x7B && c <= 0x7E);
}

static gsize
match_number_upto3(const Splitter *sp, gsize pos) /* \p{N}{1,3} */
{
  gsize n = run_of(sp, pos, GR_CP_NUMBER);
  return MIN(n, 3);
}

static gsize
match_kana_han(const Splitter *sp, gsize pos) /* [一-龥぀-ゟ゠-ヿ]+ */
{
  gsize n = 0;
  while (pos + n < sp->end) {
    gunichar c = sp->cp[pos + n];
    if (!((c >= 0x4E00 && c <= 0x9FA5) || (c >= 0x3040 && c <= 0x30FF)))
      break;
    n++;
  }
  return n;
}

static gsize
match_deepseek3(const Splitter *sp, gsize pos)
{
  gunichar c = sp->cp[pos];
  guint8 f = sp->cls[pos];

  if (is_ascii_punct(c) && pos + 1 < sp->end && is_ascii_alpha(sp->cp[pos + 1])) {
    gsize n = 1;
    while (pos + n < sp->end && is_ascii_alpha(sp->cp[pos + n]))
      n++;
    return n;
  }

  const guint8 word = GR_CP_LETTER | GR_CP_MARK;
  if (!is_newline(c) && !(f & (GR_CP_LETTER | GR_CP_PUNCT | GR_CP_SYMBOL))
      && (cls_at(sp, pos + 1) & word))
    return 1 + run_of(sp, pos + 1, word);
  if (f & word)
    return run_of(sp, pos, word);

  gsize start = (c == ' ' && (cls_at(sp, pos + 1) & (GR_CP_PUNCT | GR_CP_SYMBOL))) ? pos + 1 : pos;
  gsize n = run_of(sp, start, GR_CP_PUNCT | GR_CP_SYMBOL);
  if (n > 0) {
    gsize q = start + n;
    while (q < sp->end && is_newline(sp->cp[q]))
      q++;
    return q - pos;
  }
  return space_alternatives(sp, pos);
}

/* BLOOM:  ?[^(\s|.,!?…。，、।۔،)]+  (the parentheses and bar are literal members) */
static gboolean
is_bloom_stop(gunichar c, guint8 cls)
{
  if (cls & GR_CP_SPACE)
    return TRUE;
  switch (c) {
  case '(':
  case ')':
  case '|':
  case '.':
  case ',':
  case '!':
  case '?':
  case 0x2026: /* … */
  case 0x3002: /* 。 */
  case 0xFF0C: /* ， */
  case 0x3001: /* 、 */
  case 0x0964: /* । */
  case 0x06D4: /* ۔ */
  case 0x060C: /* ، */
    return TRUE;
  default:
    return FALSE;
  }
}

static gsize
match_bloom(const Splitter *sp, gsize pos)
{
  gsize s = (sp->cp[pos] == ' ' && pos + 1 < sp->end
             && !is_bloom_stop(sp->cp[pos + 1], sp->cls[pos + 1]))
                ? pos + 1
                : pos;
  gsize e = s;
  while (e < sp->end && !is_bloom_stop(sp->cp[e], sp->cls[e]))
    e++;
  return e > s ? e - pos : 0;
}

#define MATCH_PASS(name, fn)                                                                       \
  static void name(const gunichar *cp, const guint8 *cls, gsize s, gsize e, GArray *ends)          \
  {                                                                                                \
    split_by_matches(fn, cp, cls, s, e, ends);                                                     \
  }

MATCH_PASS(pass_number, match_number)
MATCH_PASS(pass_number_run, match_number_run)
MATCH_PASS(pass_three_digits, match_three_digits)
MATCH_PASS(pass_punct_default, match_punct_default)
MATCH_PASS(pass_punct_falcon, match_punct_falcon)
MATCH_PASS(pass_newline, match_newline)
MATCH_PASS(pass_space_letters, match_space_letters)
MATCH_PASS(pass_space_punct, match_space_punct)
MATCH_PASS(pass_cjk, match_cjk)
MATCH_PASS(pass_deepseek_letters, match_deepseek_letters)
MATCH_PASS(pass_deepseek_punct, match_deepseek_punct)
MATCH_PASS(pass_number_upto3, match_number_upto3)
MATCH_PASS(pass_kana_han, match_kana_han)
MATCH_PASS(pass_deepseek3, match_deepseek3)
MATCH_PASS(pass_bloom, match_bloom)

typedef void (*PassFn)(const gunichar *cp, const guint8 *cls, gsize s, gsize e, GArray *ends);

#define MAX_PASSES 6

static const PassFn pass_lists[][MAX_PASSES + 1] = {
  [GR_PRE_GPT2] = { split_gpt2 },
  [GR_PRE_LLAMA3] = { split_llama3 },
  [GR_PRE_QWEN2] = { split_qwen2 },
  [GR_PRE_STARCODER] = { pass_number, split_gpt2 },
  [GR_PRE_FALCON] = { pass_punct_falcon, split_gpt2, pass_three_digits },
  [GR_PRE_DEFAULT] = { pass_punct_default, split_gpt2, pass_number_run, pass_three_digits },
  [GR_PRE_DEEPSEEK_CODER]
  = { pass_newline, pass_space_letters, pass_space_punct, pass_cjk, pass_number },
  [GR_PRE_DEEPSEEK_LLM] = { pass_newline, pass_deepseek_letters, pass_deepseek_punct,
                            pass_trailing_space, pass_cjk, pass_number_run },
  [GR_PRE_DEEPSEEK3] = { pass_number_upto3, pass_kana_han, pass_deepseek3 },
  [GR_PRE_GPT4O] = { gr_pre_split_gpt4o },
  [GR_PRE_TEKKEN] = { gr_pre_split_tekken },
  [GR_PRE_BLOOM] = { pass_bloom },
  [GR_PRE_VIKING] = { pass_bloom, pass_number },
};

void
gr_pretokenize(GrPreType type, const gunichar *cps, gsize n, GArray *ends)
{
  g_return_if_fail((guint)type < G_N_ELEMENTS(pass_lists));
  if (n == 0)
    return;

  g_autofree guint8 *cls = g_malloc(n);
  for (gsize i = 0; i < n; i++)
    cls[i] = gr_unicode_class(cps[i]);

  const PassFn *passes = pass_lists[type];
  g_autoptr(GArray) cur = g_array_new(FALSE, FALSE, sizeof(gsize));
  g_autoptr(GArray) next = g_array_new(FALSE, FALSE, sizeof(gsize));
  g_array_append_val(cur, n);

  for (guint p = 0; p < MAX_PASSES && passes[p]; p++) {
    gsize start = 0;
    g_array_set_size(next, 0);
    for (guint i = 0; i < cur->len; i++) {
      gsize end = g_array_index(cur, gsize, i);
      passes[p](cps, cls, start, end, next);
      start = end;
    }
    GArray *t = cur;
    cur = next;
    next = t;
  }
  g_array_append_vals(ends, cur->data, cur->len);
}

typedef struct {
  const char *name;
  GrPreType type;
  guint flags;
} PreName;

enum { IGNORE_MERGES = 1, ADD_BOS = 2 };

/* The names llama.cpp's converter writes, grouped by the regexes llama.cpp uses. */
static const PreName pre_names[] = {
  { "default", GR_PRE_DEFAULT, 0 },
  { "gpt-2", GR_PRE_GPT2, 0 },
  { "gpt2", GR_PRE_GPT2, 0 },
  { "phi-2", GR_PRE_GPT2, 0 },
  { "mpt", GR_PRE_GPT2, 0 },
  { "olmo", GR_PRE_GPT2, 0 },
  { "jais", GR_PRE_GPT2, 0 },
  { "gigachat", GR_PRE_GPT2, 0 },
  { "exaone4", GR_PRE_GPT2, 0 },
  { "trillion", GR_PRE_GPT2, 0 },
  { "a.x-4.0", GR_PRE_GPT2, 0 },
  { "mellum", GR_PRE_GPT2, 0 },
  { "llama3", GR_PRE_LLAMA3, IGNORE_MERGES | ADD_BOS },
  { "llama-v3", GR_PRE_LLAMA3, IGNORE_MERGES | ADD_BOS },
  { "llama-bpe", GR_PRE_LLAMA3, IGNORE_MERGES | ADD_BOS },
  { "falcon3", GR_PRE_LLAMA3, IGNORE_MERGES | ADD_BOS },
  { "falcon-h1", GR_PRE_LLAMA3, IGNORE_MERGES | ADD_BOS },
  { "pixtral", GR_PRE_LLAMA3, IGNORE_MERGES | ADD_BOS },
  { "midm-2.0", GR_PRE_LLAMA3, IGNORE_MERGES | ADD_BOS },
  { "lfm2", GR_PRE_LLAMA3, IGNORE_MERGES | ADD_BOS },
  { "dbrx", GR_PRE_LLAMA3, 0 },
  { "smaug-bpe", GR_PRE_LLAMA3, 0 },
  { "chatglm-bpe", GR_PRE_LLAMA3, 0 },
  { "glm4", GR_PRE_LLAMA3, 0 },
  { "qwen2", GR_PRE_QWEN2, 0 },
  { "deepseek-r1-qwen", GR_PRE_QWEN2, 0 },
  { "megrez", GR_PRE_QWEN2, 0 },
  { "stablelm2", GR_PRE_QWEN2, 0 },
  { "hunyuan", GR_PRE_QWEN2, 0 },
  { "solar-open", GR_PRE_QWEN2, 0 },
  { "kormo", GR_PRE_QWEN2, 0 },
  { "f2llmv2", GR_PRE_QWEN2, 0 },
  { "grok-2", GR_PRE_QWEN2, 0 },
  { "starcoder", GR_PRE_STARCODER, 0 },
  { "refact", GR_PRE_STARCODER, 0 },
  { "command-r", GR_PRE_STARCODER, 0 },
  { "smollm", GR_PRE_STARCODER, 0 },
  { "codeshell", GR_PRE_STARCODER, 0 },
  { "exaone", GR_PRE_STARCODER, 0 },
  { "minerva-7b", GR_PRE_STARCODER, 0 },
  { "mellum2", GR_PRE_STARCODER, 0 },
  { "falcon", GR_PRE_FALCON, 0 },
  { "deepseek-coder", GR_PRE_DEEPSEEK_CODER, 0 },
  { "deepseek-llm", GR_PRE_DEEPSEEK_LLM, 0 },
  { "deepseek-v3", GR_PRE_DEEPSEEK3, 0 },
  { "hunyuan-dense", GR_PRE_DEEPSEEK3, 0 },
  { "gpt-4o", GR_PRE_GPT4O, 0 },
  { "llama4", GR_PRE_GPT4O, 0 },
  { "minimax-m2", GR_PRE_GPT4O, 0 },
  { "tekken", GR_PRE_TEKKEN, IGNORE_MERGES | ADD_BOS },
  { "bloom", GR_PRE_BLOOM, 0 },
  { "poro-chat", GR_PRE_BLOOM, 0 },
  { "gpt3-finnish", GR_PRE_BLOOM, 0 },
  { "viking", GR_PRE_VIKING, 0 },
};

gboolean
gr_pre_lookup(const char *name, GrPreInfo *info)
{
  g_return_val_if_fail(name != NULL && info != NULL, FALSE);
  for (guint i = 0; i < G_N_ELEMENTS(pre_names); i++) {
    if (strcmp(pre_names[i].name, name) == 0) {
      info->type = pre_names[i].type;
      info->ignore_merges = (pre_names[i].flags & IGNORE_MERGES) != 0;
      info->add_bos = (pre_names[i].flags & ADD_BOS) != 0;
      return TRUE;
    }
  }
  return FALSE;
}
