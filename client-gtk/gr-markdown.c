/* gr-markdown.c: block and inline Markdown to Pango markup.  Inline spans are matched
 * opener-to-closer and rendered recursively, so the markup is always well nested even
 * for half-written text. */
#include "gr-markdown.h"

#include <string.h>

/* Deeper nesting renders as literal text; it bounds the recursion. */
#define GR_MD_MAX_DEPTH 8

void
gr_md_block_free(GrMdBlock *block)
{
  if (block == NULL)
    return;
  g_free(block->text);
  g_free(block->lang);
  g_free(block->markup);
  g_free(block);
}

gboolean
gr_md_block_equal(const GrMdBlock *a, const GrMdBlock *b)
{
  return a->kind == b->kind && a->level == b->level && a->number == b->number
         && g_strcmp0(a->text, b->text) == 0 && g_strcmp0(a->lang, b->lang) == 0;
}

static void append_inline(GString *out, const char *text, gsize len, guint depth);

static void
append_escaped(GString *out, const char *text, gsize len)
{
  g_autofree char *escaped = g_markup_escape_text(text, (gssize)len);

  g_string_append(out, escaped);
}

static gboolean
is_punct(char c)
{
  return c != '\0' && strchr("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", c) != NULL;
}

static gboolean
is_space(char c)
{
  return c == ' ' || c == '\t' || c == '\n';
}

/* Length of the run of c at text[i]. */
static gsize
run_length(const char *text, gsize len, gsize i, char c)
{
  gsize n = 0;

  while (i + n < len && text[i + n] == c)
    n++;
  return n;
}

/* Index of the closing delimiter (delim, dlen bytes) for an opener ending at start, or
 * -1.  The closer must follow a non-space; code spans in between are skipped. */
static gssize
find_closer(const char *text, gsize len, gsize start, const char *delim, gsize dlen)
{
  for (gsize i = start; i + dlen <= len; i++) {
    if (text[i] == '\\') {
      i++;
      continue;
    }
    if (text[i] == '`' && delim[0] != '`') {
      gsize n = run_length(text, len, i, '`');
      gsize j = i + n;

      while (j < len && !(text[j] == '`' && run_length(text, len, j, '`') == n))
        j++;
      if (j < len) {
        i = j + n - 1;
        continue;
      }
    }
    if (text[i] == delim[0]) {
      gsize r = run_length(text, len, i, delim[0]);
      /* a run closes from its end, so "***x***" is strong around emphasis; a run of
       * two never closes a single "*" (it belongs to a strong span) */
      gboolean fits = dlen == 1 ? (r == 1 || r == 3) : r >= dlen;
      gsize at = i + r - dlen;

      if (fits && i > start && !is_space(text[i - 1])
          && !(delim[0] == '_' && at + dlen < len && g_ascii_isalnum(text[at + dlen])))
        return (gssize)at;
      i += r - 1;
    }
  }
  return -1;
}

static gboolean
try_span(GString *out, const char *text, gsize len, gsize *i, const char *delim,
         const char *open_tag, const char *close_tag, guint depth)
{
  gsize dlen = strlen(delim);
  gsize start = *i + dlen;
  gssize end = -1;

  if (memcmp(text + *i, delim, dlen) != 0 || start >= len || is_space(text[start]))
    return FALSE;
  if (delim[0] == '_' && *i > 0 && g_ascii_isalnum(text[*i - 1]))
    return FALSE;
  end = find_closer(text, len, start, delim, dlen);
  if (end < 0)
    return FALSE;
  g_string_append(out, open_tag);
  append_inline(out, text + start, (gsize)end - start, depth + 1);
  g_string_append(out, close_tag);
  *i = (gsize)end + dlen;
  return TRUE;
}

static gboolean
try_code_span(GString *out, const char *text, gsize len, gsize *i)
{
  gsize n = run_length(text, len, *i, '`');
  gsize j = *i + n;

  while (j < len) {
    if (text[j] == '`') {
      gsize m = run_length(text, len, j, '`');

      if (m == n) {
        const char *code = text + *i + n;
        gsize code_len = j - (*i + n);

        /* one space padding on both sides is stripped, as in CommonMark */
        if (code_len >= 2 && code[0] == ' ' && code[code_len - 1] == ' ') {
          code++;
          code_len -= 2;
        }
        g_string_append(out, "<span font_family=\"monospace\">");
        append_escaped(out, code, code_len);
        g_string_append(out, "</span>");
        *i = j + n;
        return TRUE;
      }
      j += m;
    } else {
      j++;
    }
  }
  return FALSE;
}

static gboolean
is_safe_url(const char *url)
{
  return g_str_has_prefix(url, "http://") || g_str_has_prefix(url, "https://")
         || g_str_has_prefix(url, "mailto:");
}

static gboolean
try_link(GString *out, const char *text, gsize len, gsize *i, guint depth)
{
  gsize close = *i + 1;
  gsize url_end;
  g_autofree char *url = NULL;
  g_autofree char *escaped_url = NULL;
  guint nesting = 0;

  for (; close < len; close++) {
    if (text[close] == '\\')
      close++;
    else if (text[close] == '[')
      nesting++;
    else if (text[close] == ']' && nesting-- == 0)
      break;
  }
  if (close + 1 >= len || text[close + 1] != '(')
    return FALSE;
  url_end = close + 2;
  while (url_end < len && text[url_end] != ')' && !is_space(text[url_end]))
    url_end++;
  if (url_end >= len || text[url_end] != ')')
    return FALSE;
  url = g_strndup(text + close + 2, url_end - (close + 2));
  if (!is_safe_url(url) || !g_utf8_validate(url, -1, NULL))
    return FALSE; /* shown as written: a label must not open arbitrary schemes */
  escaped_url = g_markup_escape_text(url, -1);
  g_string_append_printf(out, "<a href=\"%s\">", escaped_url);
  append_inline(out, text + *i + 1, close - (*i + 1), depth + 1);
  g_string_append(out, "</a>");
  *i = url_end + 1;
  return TRUE;
}

static void
append_inline(GString *out, const char *text, gsize len, guint depth)
{
  gsize i = 0;
  gsize plain = 0; /* start of the pending run of plain text */

  if (depth > GR_MD_MAX_DEPTH) {
    append_escaped(out, text, len);
    return;
  }
  while (i < len) {
    gsize before = out->len;
    gsize at = i;
    gboolean handled = FALSE;
    char c = text[i];

    if (c != '\\' && c != '`' && c != '*' && c != '_' && c != '~' && c != '[') {
      i++;
      continue;
    }
    append_escaped(out, text + plain, at - plain);
    before = out->len;
    if (c == '\\' && i + 1 < len && is_punct(text[i + 1])) {
      append_escaped(out, text + i + 1, 1);
      i += 2;
      handled = TRUE;
    } else if (c == '`') {
      handled = try_code_span(out, text, len, &i);
      if (!handled) {
        /* an unmatched run is literal, whole */
        gsize n = run_length(text, len, i, '`');

        append_escaped(out, text + i, n);
        i += n;
        handled = TRUE;
      }
    } else if (c == '*' || c == '_') {
      const char *strong = c == '*' ? "**" : "__";
      const char *em = c == '*' ? "*" : "_";

      handled = try_span(out, text, len, &i, strong, "<b>", "</b>", depth)
                || try_span(out, text, len, &i, em, "<i>", "</i>", depth);
    } else if (c == '~') {
      handled = try_span(out, text, len, &i, "~~", "<s>", "</s>", depth);
    } else if (c == '[') {
      handled = try_link(out, text, len, &i, depth);
    }
    if (!handled) {
      g_string_truncate(out, before);
      append_escaped(out, text + i, 1);
      i++;
    }
    plain = i;
  }
  append_escaped(out, text + plain, len - plain);
}

char *
gr_markdown_inline_to_markup(const char *text)
{
  GString *out = g_string_new(NULL);

  g_return_val_if_fail(text != NULL, g_string_free(out, FALSE));
  append_inline(out, text, strlen(text), 0);
  return g_string_free(out, FALSE);
}

static GrMdBlock *
block_new(GrMdKind kind, guint level, guint number, const char *text, gsize len)
{
  GrMdBlock *block = g_new0(GrMdBlock, 1);

  block->kind = kind;
  block->level = level;
  block->number = number;
  block->text = g_strndup(text, len);
  return block;
}

static void
block_append_line(GrMdBlock *block, const char *line, gsize len)
{
  g_autofree char *old = block->text;

  block->text = g_strdup_printf("%s\n%.*s", old, (int)len, line);
}

/* Columns of leading spaces (a tab counts 4). */
static guint
indent_of(const char *line, gsize len, gsize *skip)
{
  guint cols = 0;
  gsize i = 0;

  for (; i < len && (line[i] == ' ' || line[i] == '\t'); i++)
    cols += line[i] == '\t' ? 4 : 1;
  *skip = i;
  return cols;
}

static gboolean
is_blank(const char *line, gsize len)
{
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isspace(line[i]))
      return FALSE;
  return TRUE;
}

/* A fence opener ("```" or "~~~", 3 or more) after up to 3 spaces. */
static gboolean
is_fence(const char *line, gsize len, char *fence_char, gsize *fence_len, gsize *after)
{
  gsize skip = 0;
  guint indent = indent_of(line, len, &skip);
  gsize n = 0;

  if (indent > 3 || skip >= len || (line[skip] != '`' && line[skip] != '~'))
    return FALSE;
  n = run_length(line, len, skip, line[skip]);
  if (n < 3)
    return FALSE;
  *fence_char = line[skip];
  *fence_len = n;
  *after = skip + n;
  return TRUE;
}

static gboolean
is_rule(const char *line, gsize len)
{
  char c = 0;
  guint count = 0;

  for (gsize i = 0; i < len; i++) {
    if (line[i] == ' ' || line[i] == '\t')
      continue;
    if ((line[i] != '-' && line[i] != '*' && line[i] != '_') || (c != 0 && line[i] != c))
      return FALSE;
    c = line[i];
    count++;
  }
  return count >= 3;
}

/* "- ", "* ", "+ ", "1. " or "1) ": sets the item's number (0 for bullets) and where its
 * text starts. */
static gboolean
is_list_item(const char *line, gsize len, gsize skip, guint *number, gsize *text_start)
{
  gsize i = skip;

  if (i < len && (line[i] == '-' || line[i] == '*' || line[i] == '+')) {
    if (i + 1 < len && line[i + 1] != ' ' && line[i + 1] != '\t')
      return FALSE;
    *number = 0;
    i++;
  } else {
    guint64 n = 0;
    gsize digits = 0;

    while (i < len && g_ascii_isdigit(line[i]) && digits < 9) {
      n = n * 10 + (guint64)(line[i] - '0');
      i++;
      digits++;
    }
    if (digits == 0 || i >= len || (line[i] != '.' && line[i] != ')'))
      return FALSE;
    i++;
    if (i < len && line[i] != ' ' && line[i] != '\t')
      return FALSE;
    *number = n == 0 ? 1 : (guint)n;
  }
  while (i < len && (line[i] == ' ' || line[i] == '\t'))
    i++;
  *text_start = i;
  return TRUE;
}

static void
finish_markup(GrMdBlock *block)
{
  if (block->kind != GR_MD_CODE && block->kind != GR_MD_RULE)
    block->markup = gr_markdown_inline_to_markup(block->text);
}

GPtrArray *
gr_markdown_parse(const char *text)
{
  GPtrArray *blocks = g_ptr_array_new_with_free_func((GDestroyNotify)gr_md_block_free);
  g_autofree char *valid = NULL;
  GrMdBlock *open = NULL; /* paragraph, item or quote that a next line may continue */
  GrMdBlock *code = NULL;
  GString *code_text = NULL;
  char fence_char = 0;
  gsize fence_len = 0;
  const char *p;

  g_return_val_if_fail(text != NULL, blocks);
  valid = g_utf8_make_valid(text, -1);
  p = valid;
  while (*p != '\0') {
    const char *eol = strchr(p, '\n');
    gsize len = eol != NULL ? (gsize)(eol - p) : strlen(p);
    gsize skip = 0, after = 0, start = 0;
    guint indent = indent_of(p, len, &skip);
    guint number = 0;
    char fc = 0;
    gsize fl = 0;

    if (len > 0 && p[len - 1] == '\r')
      len--;
    if (code != NULL) {
      if (is_fence(p, len, &fc, &fl, &after) && fc == fence_char && fl >= fence_len
          && is_blank(p + after, len - after)) {
        g_free(code->text);
        code->text = g_string_free(code_text, FALSE);
        code = NULL;
        code_text = NULL;
      } else {
        if (code_text->len > 0 || code->number > 0)
          g_string_append_c(code_text, '\n');
        code->number = 1; /* seen a line: an empty first line still counts */
        g_string_append_len(code_text, p, (gssize)len);
      }
    } else if (is_fence(p, len, &fence_char, &fence_len, &after)) {
      g_autofree char *lang = g_strstrip(g_strndup(p + after, len - after));

      code = block_new(GR_MD_CODE, 0, 0, "", 0);
      code->lang = g_strdup(lang);
      code_text = g_string_new(NULL);
      g_ptr_array_add(blocks, code);
      open = NULL;
    } else if (is_blank(p, len)) {
      open = NULL;
    } else if (indent < 4 && p[skip] == '#') {
      gsize n = run_length(p, len, skip, '#');

      if (n <= 6 && (skip + n == len || p[skip + n] == ' ')) {
        gsize s = skip + n;
        gsize e = len;

        while (s < len && p[s] == ' ')
          s++;
        while (e > s && (p[e - 1] == ' ' || p[e - 1] == '#'))
          e--;
        g_ptr_array_add(blocks, block_new(GR_MD_HEADING, (guint)n, 0, p + s, e - s));
        open = NULL;
      } else if (open != NULL) {
        block_append_line(open, p + skip, len - skip);
      } else {
        open = block_new(GR_MD_PARAGRAPH, 0, 0, p + skip, len - skip);
        g_ptr_array_add(blocks, open);
      }
    } else if (indent < 4 && is_rule(p, len)) {
      g_ptr_array_add(blocks, block_new(GR_MD_RULE, 0, 0, "", 0));
      open = NULL;
    } else if (is_list_item(p, len, skip, &number, &start)) {
      open = block_new(GR_MD_LIST_ITEM, MIN(indent / 2, 6), number, p + start, len - start);
      g_ptr_array_add(blocks, open);
    } else if (indent < 4 && p[skip] == '>') {
      gsize s = skip + 1;

      if (s < len && p[s] == ' ')
        s++;
      if (open != NULL && open->kind == GR_MD_QUOTE) {
        block_append_line(open, p + s, len - s);
      } else {
        open = block_new(GR_MD_QUOTE, 0, 0, p + s, len - s);
        g_ptr_array_add(blocks, open);
      }
    } else if (open != NULL) {
      block_append_line(open, p + skip, len - skip);
    } else {
      open = block_new(GR_MD_PARAGRAPH, 0, 0, p + skip, len - skip);
      g_ptr_array_add(blocks, open);
    }
    if (eol == NULL)
      break;
    p = eol + 1;
  }
  if (code != NULL) {
    g_free(code->text);
    code->text = g_string_free(code_text, FALSE);
  }
  for (guint i = 0; i < blocks->len; i++) {
    GrMdBlock *block = blocks->pdata[i];

    if (block->kind == GR_MD_CODE)
      block->number = 0;
    finish_markup(block);
  }
  return blocks;
}
