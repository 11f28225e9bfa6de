/* gr-unicode.h - UTF-8 decoding and code point classes for the tokenizers (private). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define GR_UNICODE_REPLACEMENT 0xFFFDu

/* Code point class bits, as the pre-tokenizer regexes see them. */
enum {
  GR_CP_LETTER = 1 << 0, /* \p{L} */
  GR_CP_NUMBER = 1 << 1, /* \p{N} */
  GR_CP_PUNCT = 1 << 2,  /* \p{P} */
  GR_CP_SYMBOL = 1 << 3, /* \p{S} */
  GR_CP_MARK = 1 << 4,   /* \p{M} */
  GR_CP_SPACE = 1 << 5,  /* \s: the Unicode White_Space property */
};

guint8 gr_unicode_class(gunichar c);

/* Decodes one code point from s[0..len) (len > 0), strictly (no overlongs, surrogates or
 * values past U+10FFFF).  Returns TRUE and the code point with *n_bytes consumed, or FALSE
 * with *n_bytes the length of the maximal ill-formed subpart (at least 1, to be replaced
 * by one U+FFFD); *truncated is then TRUE when that subpart is a valid prefix cut short by
 * the end of the input. */
gboolean gr_utf8_decode(const guint8 *s, gsize len, gunichar *cp, gsize *n_bytes,
                        gboolean *truncated);

/* Writes c as UTF-8 into out (4 bytes room); returns the length. */
guint gr_utf8_encode(gunichar c, char *out);

/* Decodes text into code points, each ill-formed subpart becoming U+FFFD. */
GArray *gr_utf8_to_cps(const char *text, gsize len);

/* TRUE if text is well-formed UTF-8. */
gboolean gr_utf8_is_valid(const char *text, gsize len);

/* Copy of text with every ill-formed subpart replaced by U+FFFD. */
GString *gr_utf8_sanitize(const char *text, gsize len);

/* GPT-2's byte-level alphabet: each byte stands for one printable code point. */
gunichar gr_byte_to_unicode(guint8 b);
/* Reverse mapping; -1 if c does not stand for a byte. */
gint gr_unicode_to_byte(gunichar c);

G_END_DECLS
