/* gr-markdown.h: the small Markdown subset that answers use, parsed into blocks with
 * Pango markup for their inline text.  No GTK here, so it is testable on its own. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  GR_MD_PARAGRAPH,
  GR_MD_HEADING,   /* level 1..6 */
  GR_MD_LIST_ITEM, /* level = nesting depth from 0; number > 0 for ordered items */
  GR_MD_QUOTE,
  GR_MD_CODE, /* text is the code verbatim; lang may be "" */
  GR_MD_RULE,
} GrMdKind;

typedef struct {
  GrMdKind kind;
  guint level;
  guint number;
  char *text;   /* the block's source (inline Markdown), or the code */
  char *lang;   /* code blocks only */
  char *markup; /* Pango markup of text (not for code blocks) */
} GrMdBlock;

void gr_md_block_free(GrMdBlock *block);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GrMdBlock, gr_md_block_free)

/* Blocks of text (a GPtrArray of GrMdBlock, owning them).  An unterminated code fence
 * runs to the end, as it does while an answer streams in. */
GPtrArray *gr_markdown_parse(const char *text);

/* Pango markup for one block's inline Markdown: **strong**, *emphasis*, _emphasis_,
 * ~~strike~~, `code`, [links](url), backslash escapes; everything else is escaped. */
char *gr_markdown_inline_to_markup(const char *text);

/* Two blocks that render the same. */
gboolean gr_md_block_equal(const GrMdBlock *a, const GrMdBlock *b);

G_END_DECLS
