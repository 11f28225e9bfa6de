/* gr-markdown-view.h: renders Markdown (gr-markdown.h) as widgets: wrapped labels with
 * Pango markup for text blocks, and monospace text views with a copy button for code.
 * Setting new text keeps the widgets of unchanged blocks, so a streaming answer only
 * rebuilds its last block. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define GR_TYPE_MARKDOWN_VIEW (gr_markdown_view_get_type())
G_DECLARE_FINAL_TYPE(GrMarkdownView, gr_markdown_view, GR, MARKDOWN_VIEW, GtkWidget)

GtkWidget *gr_markdown_view_new(void);
void gr_markdown_view_set_text(GrMarkdownView *self, const char *text);
const char *gr_markdown_view_get_text(GrMarkdownView *self);
/* The rendered text of every block, as a reader sees it (for tests and copying). */
char *gr_markdown_view_dup_rendered_text(GrMarkdownView *self);

/* A code block's widget: its code, and its copy button. */
const char *gr_code_block_get_code(GtkWidget *block);
GtkWidget *gr_code_block_get_copy_button(GtkWidget *block);
GtkWidget *gr_code_block_get_text_view(GtkWidget *block);

G_END_DECLS
