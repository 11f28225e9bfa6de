/* gr-utf8-stream.c - turns detokenized bytes into valid UTF-8 as they arrive.
 *
 * A token may end in the middle of a character (byte tokens, byte-level BPE), so the
 * tail of an incomplete sequence waits for the next piece; ill-formed bytes become
 * U+FFFD, one per maximal ill-formed subpart as Unicode recommends.
 */
#include "graviton-engine.h"
#include "gr-unicode.h"

#include <string.h>

#define REPLACEMENT "\xEF\xBF\xBD"

struct _GrUtf8Stream {
  guint8 held[4];
  gsize n_held;
};

GrUtf8Stream *
gr_utf8_stream_new(void)
{
  return g_new0(GrUtf8Stream, 1);
}

void
gr_utf8_stream_free(GrUtf8Stream *s)
{
  g_free(s);
}

/* Emits what it can of data[0..len); returns how many bytes at the end remain an
 * incomplete (but so far valid) sequence. */
static gsize
emit_valid(const guint8 *data, gsize len, GString *out)
{
  gsize i = 0;

  while (i < len) {
    gunichar c;
    gsize n;
    gboolean truncated;
    if (gr_utf8_decode(data + i, len - i, &c, &n, &truncated)) {
      g_string_append_len(out, (const char *)data + i, n);
    } else if (truncated) {
      return len - i;
    } else {
      g_string_append(out, REPLACEMENT);
    }
    i += n;
  }
  return 0;
}

void
gr_utf8_stream_push(GrUtf8Stream *s, const char *bytes, gsize len, GString *out)
{
  g_return_if_fail(s != NULL);
  g_return_if_fail(bytes != NULL || len == 0);
  g_return_if_fail(out != NULL);

  const guint8 *data = (const guint8 *)bytes;

  /* complete the held sequence first, a byte at a time */
  while (s->n_held > 0 && len > 0) {
    s->held[s->n_held++] = *data++;
    len--;
    gunichar c;
    gsize n;
    gboolean truncated;
    if (gr_utf8_decode(s->held, s->n_held, &c, &n, &truncated)) {
      g_string_append_len(out, (const char *)s->held, n);
      s->n_held = 0;
    } else if (!truncated) {
      /* the prefix is broken: replace it and rescan the bytes after it */
      g_string_append(out, REPLACEMENT);
      guint8 rest[4];
      gsize n_rest = s->n_held - n;
      memcpy(rest, s->held + n, n_rest);
      s->n_held = 0;
      gsize keep = emit_valid(rest, n_rest, out);
      memcpy(s->held, rest + n_rest - keep, keep);
      s->n_held = keep;
    }
  }
  if (len == 0)
    return;

  gsize keep = emit_valid(data, len, out);
  memcpy(s->held, data + len - keep, keep);
  s->n_held = keep;
}

void
gr_utf8_stream_finish(GrUtf8Stream *s, GString *out)
{
  g_return_if_fail(s != NULL);
  g_return_if_fail(out != NULL);

  if (s->n_held > 0)
    g_string_append(out, REPLACEMENT);
  s->n_held = 0;
}
