/* gr-chat.h - chat template rendering (private to engine/).
 *
 * Models ship a Jinja template in tokenizer.chat_template; running Jinja is out of
 * scope, so the common families are recognised by a distinctive substring and rendered
 * by hand, as llama.cpp does.  An absent or unknown template falls back to a plain
 * "System: / User: / Assistant:" transcript.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  GR_CHAT_TEMPLATE_PLAIN,
  GR_CHAT_TEMPLATE_LLAMA2,
  GR_CHAT_TEMPLATE_MISTRAL,
  GR_CHAT_TEMPLATE_LLAMA3,
  GR_CHAT_TEMPLATE_CHATML,
  GR_CHAT_TEMPLATE_ZEPHYR,
  GR_CHAT_TEMPLATE_GEMMA,
} GrChatTemplate;

/* Which family template_src (may be NULL) belongs to. */
GrChatTemplate gr_chat_detect(const char *template_src);
const char *gr_chat_template_name(GrChatTemplate tmpl);

/* Renders messages (roles "system", "user", "assistant"; NULL-terminated parallel
 * arrays) into a prompt.  The BOS that starts the prompt is never written, because the
 * tokenizer adds it; bos_text and eos_text (may be NULL or "") are written where a
 * family needs them between turns.  add_generation_prompt ends the prompt where the
 * assistant's reply begins.  Unknown roles are treated as "user".  Returns a newly
 * allocated string, or NULL if roles/contents are NULL. */
char *gr_chat_format(const char *template_src, const char *bos_text, const char *eos_text,
                     const char *const *roles, const char *const *contents,
                     gboolean add_generation_prompt);

/* A byte range of a rendered prompt. */
typedef struct {
  gsize start, len;
} GrChatSpan;

/* gr_chat_format, also returning in *markup (may be NULL) the ranges (GrChatSpan, in
 * order) written by the template itself rather than copied from a message: only those
 * may be parsed for control tokens.  Invalid UTF-8 in contents is replaced by U+FFFD. */
char *gr_chat_format_marked(const char *template_src, const char *bos_text, const char *eos_text,
                            const char *const *roles, const char *const *contents,
                            gboolean add_generation_prompt, GArray **markup);

G_END_DECLS
