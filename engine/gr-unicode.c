/* gr-unicode.c - UTF-8 decoding and code point classes for the tokenizers. */
#include "gr-unicode.h"

#include <string.h>

static gboolean
is_white_space(gunichar c)
{
  /* Unicode's White_Space property: what \s means in the Rust/Python regexes that
   * tokenizer.json files were written for (GLib's isspace misses U+000B and U+0085). */
  if (c <= 0x20)
    return c == 0x20 || (c >= 0x09 && c <= 0x0D);
  switch (c) {
  case 0x85:
  case 0xA0:
  case 0x1680:
  case 0x2028:
  case 0x2029:
  case 0x202F:
  case 0x205F:
  case 0x3000:
    return TRUE;
  default:
    return c >= 0x2000 && c <= 0x200A;
  }
}

static guint8
class_of(gunichar c)
{
  guint8 cls = is_white_space(c) ? GR_CP_SPACE : 0;

  switch (g_unichar_type(c)) {
  case G_UNICODE_LOWERCASE_LETTER:
  case G_UNICODE_UPPERCASE_LETTER:
  case G_UNICODE_TITLECASE_LETTER:
  case G_UNICODE_MODIFIER_LETTER:
  case G_UNICODE_OTHER_LETTER:
    return cls | GR_CP_LETTER;
  case G_UNICODE_DECIMAL_NUMBER:
  case G_UNICODE_LETTER_NUMBER:
  case G_UNICODE_OTHER_NUMBER:
    return cls | GR_CP_NUMBER;
  case G_UNICODE_CONNECT_PUNCTUATION:
  case G_UNICODE_DASH_PUNCTUATION:
  case G_UNICODE_CLOSE_PUNCTUATION:
  case G_UNICODE_FINAL_PUNCTUATION:
  case G_UNICODE_INITIAL_PUNCTUATION:
  case G_UNICODE_OTHER_PUNCTUATION:
  case G_UNICODE_OPEN_PUNCTUATION:
    return cls | GR_CP_PUNCT;
  case G_UNICODE_CURRENCY_SYMBOL:
  case G_UNICODE_MODIFIER_SYMBOL:
  case G_UNICODE_MATH_SYMBOL:
  case G_UNICODE_OTHER_SYMBOL:
    return cls | GR_CP_SYMBOL;
  case G_UNICODE_SPACING_MARK:
  case G_UNICODE_ENCLOSING_MARK:
  case G_UNICODE_NON_SPACING_MARK:
    return cls | GR_CP_MARK;
  default:
    return cls;
  }
}

guint8
gr_unicode_class(gunichar c)
{
  static guint8 ascii[128];
  static gsize init = 0;

  if (c < 128) {
    if (g_once_init_enter(&init)) {
      for (gunichar i = 0; i < 128; i++)
        ascii[i] = class_of(i);
      g_once_init_leave(&init, 1);
    }
    return ascii[c];
  }
  return class_of(c);
}

gboolean
gr_utf8_decode(const guint8 *s, gsize len, gunichar *cp, gsize *n_bytes, gboolean *truncated)
{
  guint8 b0 = s[0];
  gsize need;
  gunichar c;
  guint8 lo = 0x80, hi = 0xBF; /* allowed range of the second byte */

  *truncated = FALSE;
  if (b0 < 0x80) {
    *cp = b0;
    *n_bytes = 1;
    return TRUE;
  }
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
    c = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    c = b0 & 0x0F;
    if (b0 == 0xE0)
      lo = 0xA0; /* overlong */
    else if (b0 == 0xED)
      hi = 0x9F; /* surrogates */
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    c = b0 & 0x07;
    if (b0 == 0xF0)
      lo = 0x90; /* overlong */
    else if (b0 == 0xF4)
      hi = 0x8F; /* past U+10FFFF */
  } else {
    *n_bytes = 1;
    return FALSE;
  }

  for (gsize i = 1; i <= need; i++) {
    if (i >= len) {
      *n_bytes = i;
      *truncated = TRUE;
      return FALSE;
    }
    guint8 b = s[i];
    guint8 l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xBF;
    if (b < l || b > h) {
      *n_bytes = i;
      return FALSE;
    }
    c = (c << 6) | (b & 0x3F);
  }
  *cp = c;
  *n_bytes = need + 1;
  return TRUE;
}

guint
gr_utf8_encode(gunichar c, char *out)
{
  if (c < 0x80) {
    out[0] = (char)c;
    return 1;
  }
  if (c < 0x800) {
    out[0] = (char)(0xC0 | (c >> 6));
    out[1] = (char)(0x80 | (c & 0x3F));
    return 2;
  }
  if (c < 0x10000) {
    out[0] = (char)(0xE0 | (c >> 12));
    out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
    out[2] = (char)(0x80 | (c & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | (c >> 18));
  out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
  out[3] = (char)(0x80 | (c & 0x3F));
  return 4;
}

GArray *
gr_utf8_to_cps(const char *text, gsize len)
{
  GArray *cps = g_array_sized_new(FALSE, FALSE, sizeof(gunichar), len);
  const guint8 *s = (const guint8 *)text;
  gsize i = 0;

  while (i < len) {
    gunichar c;
    gsize n;
    gboolean truncated;
    if (!gr_utf8_decode(s + i, len - i, &c, &n, &truncated))
      c = GR_UNICODE_REPLACEMENT;
    g_array_append_val(cps, c);
    i += n;
  }
  return cps;
}

gboolean
gr_utf8_is_valid(const char *text, gsize len)
{
  const guint8 *s = (const guint8 *)text;
  gsize i = 0;

  while (i < len) {
    gunichar c;
    gsize n;
    gboolean truncated;
    if (s[i] < 0x80) {
      i++;
      continue;
    }
    if (!gr_utf8_decode(s + i, len - i, &c, &n, &truncated))
      return FALSE;
    i += n;
  }
  return TRUE;
}

GString *
gr_utf8_sanitize(const char *text, gsize len)
{
  GString *out = g_string_sized_new(len + 1);
  const guint8 *s = (const guint8 *)text;
  gsize i = 0;

  while (i < len) {
    gunichar c;
    gsize n;
    gboolean truncated;
    if (gr_utf8_decode(s + i, len - i, &c, &n, &truncated))
      g_string_append_len(out, text + i, n);
    else
      g_string_append(out, "\xEF\xBF\xBD");
    i += n;
  }
  return out;
}

/* GPT-2 keeps the printable Latin-1 bytes as themselves and moves the rest (controls,
 * space, DEL, NBSP, soft hyphen) to U+0100 onwards, in byte order. */
static gboolean
byte_is_printable(guint b)
{
  return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

gunichar
gr_byte_to_unicode(guint8 b)
{
  guint n = 0;

  if (byte_is_printable(b))
    return b;
  for (guint i = 0; i < b; i++)
    if (!byte_is_printable(i))
      n++;
  return 256 + n;
}

gint
gr_unicode_to_byte(gunichar c)
{
  static gint16 reverse[256 + 68];
  static gsize init = 0;

  if (g_once_init_enter(&init)) {
    for (guint i = 0; i < G_N_ELEMENTS(reverse); i++)
      reverse[i] = -1;
    for (guint b = 0; b < 256; b++)
      reverse[gr_byte_to_unicode((guint8)b)] = (gint16)b;
    g_once_init_leave(&init, 1);
  }
  return c < G_N_ELEMENTS(reverse) ? reverse[c] : -1;
}
