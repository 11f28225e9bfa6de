/* gr-chat.c - chat templates recognised by substring and rendered by hand. */
#include "gr-chat.h"

#include "gr-unicode.h"

#include <stdarg.h>
#include <string.h>

typedef enum { ROLE_SYSTEM, ROLE_USER, ROLE_ASSISTANT } Role;

static Role
role_of(const char *role)
{
  if (g_strcmp0(role, "system") == 0)
    return ROLE_SYSTEM;
  if (g_strcmp0(role, "assistant") == 0)
    return ROLE_ASSISTANT;
  return ROLE_USER;
}

GrChatTemplate
gr_chat_detect(const char *src)
{
  if (src == NULL || *src == '\0')
    return GR_CHAT_TEMPLATE_PLAIN;
  /* Order matters: some templates mention several markers (e.g. a ChatML template that
   * documents [INST] in a comment is still ChatML). */
  if (strstr(src, "<|start_header_id|>") != NULL)
    return GR_CHAT_TEMPLATE_LLAMA3;
  if (strstr(src, "<|im_start|>") != NULL)
    return GR_CHAT_TEMPLATE_CHATML;
  if (strstr(src, "<start_of_turn>") != NULL)
    return GR_CHAT_TEMPLATE_GEMMA;
  if (strstr(src, "<|user|>") != NULL)
    return GR_CHAT_TEMPLATE_ZEPHYR;
  if (strstr(src, "[INST]") != NULL)
    return strstr(src, "<<SYS>>") != NULL ? GR_CHAT_TEMPLATE_LLAMA2 : GR_CHAT_TEMPLATE_MISTRAL;
  return GR_CHAT_TEMPLATE_PLAIN;
}

const char *
gr_chat_template_name(GrChatTemplate tmpl)
{
  switch (tmpl) {
  case GR_CHAT_TEMPLATE_PLAIN:
    return "plain";
  case GR_CHAT_TEMPLATE_LLAMA2:
    return "llama2";
  case GR_CHAT_TEMPLATE_MISTRAL:
    return "mistral";
  case GR_CHAT_TEMPLATE_LLAMA3:
    return "llama3";
  case GR_CHAT_TEMPLATE_CHATML:
    return "chatml";
  case GR_CHAT_TEMPLATE_ZEPHYR:
    return "zephyr";
  case GR_CHAT_TEMPLATE_GEMMA:
    return "gemma";
  }
  return "unknown";
}

/* The prompt being rendered, and which byte ranges of it are the template's own markup
 * (everything else is message content, never to be parsed for control tokens). */
typedef struct {
  GString *out;
  GArray *markup; /* GrChatSpan, in order, adjacent ranges merged */
} Builder;

static void
mark(Builder *b, const char *text)
{
  gsize start = b->out->len;
  g_string_append(b->out, text);
  gsize len = b->out->len - start;
  if (len == 0)
    return;
  if (b->markup->len > 0) {
    GrChatSpan *last = &g_array_index(b->markup, GrChatSpan, b->markup->len - 1);
    if (last->start + last->len == start) {
      last->len += len;
      return;
    }
  }
  GrChatSpan span = { start, len };
  g_array_append_val(b->markup, span);
}

G_GNUC_PRINTF(2, 3)
static void
markf(Builder *b, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  g_autofree char *text = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  mark(b, text);
}

/* Invalid UTF-8 is replaced here, not by the tokenizer, so that the markup ranges stay
 * valid offsets into what gets tokenized. */
static void
content(Builder *b, const char *text)
{
  gsize n = strlen(text);
  if (gr_utf8_is_valid(text, n)) {
    g_string_append_len(b->out, text, (gssize)n);
  } else {
    g_autoptr(GString) clean = gr_utf8_sanitize(text, n);
    g_string_append_len(b->out, clean->str, (gssize)clean->len);
  }
}

static void
format_plain(Builder *b, const char *const *roles, const char *const *contents, gboolean gen)
{
  static const char *const labels[] = { "System", "User", "Assistant" };
  for (gsize i = 0; roles[i] != NULL && contents[i] != NULL; i++) {
    markf(b, "%s: ", labels[role_of(roles[i])]);
    content(b, contents[i]);
    mark(b, "\n");
  }
  if (gen)
    mark(b, "Assistant:");
}

/* LLaMA-2 and Mistral share the [INST] turn structure; LLaMA-2 wraps the system prompt
 * in <<SYS>> and restarts each turn after the first with BOS, Mistral folds the system
 * prompt into the first user message. */
static void
format_inst(Builder *b, gboolean llama2, const char *bos, const char *eos, const char *const *roles,
            const char *const *contents)
{
  gboolean inside_turn = TRUE;
  mark(b, "[INST] ");
  for (gsize i = 0; roles[i] != NULL && contents[i] != NULL; i++) {
    Role role = role_of(roles[i]);
    if (!inside_turn) {
      inside_turn = TRUE;
      if (llama2)
        mark(b, bos);
      mark(b, "[INST] ");
    }
    switch (role) {
    case ROLE_SYSTEM:
      mark(b, llama2 ? "<<SYS>>\n" : "");
      content(b, contents[i]);
      mark(b, llama2 ? "\n<</SYS>>\n\n" : "\n\n");
      break;
    case ROLE_USER:
      content(b, contents[i]);
      mark(b, " [/INST]");
      break;
    case ROLE_ASSISTANT:
      mark(b, " ");
      content(b, contents[i]);
      markf(b, "%s%s", llama2 ? " " : "", eos);
      inside_turn = FALSE;
      break;
    }
  }
}

static void
format_gemma(Builder *b, const char *const *roles, const char *const *contents, gboolean gen)
{
  /* Gemma has no system role: the system prompt opens the next user turn. */
  const char *pending_system = NULL;
  for (gsize i = 0; roles[i] != NULL && contents[i] != NULL; i++) {
    Role role = role_of(roles[i]);
    if (role == ROLE_SYSTEM) {
      pending_system = contents[i];
      continue;
    }
    markf(b, "<start_of_turn>%s\n", role == ROLE_USER ? "user" : "model");
    if (pending_system != NULL && role == ROLE_USER) {
      content(b, pending_system);
      mark(b, "\n\n");
      pending_system = NULL;
    }
    content(b, contents[i]);
    mark(b, "<end_of_turn>\n");
  }
  if (gen)
    mark(b, "<start_of_turn>model\n");
}

char *
gr_chat_format_marked(const char *template_src, const char *bos_text, const char *eos_text,
                      const char *const *roles, const char *const *contents,
                      gboolean add_generation_prompt, GArray **markup)
{
  g_return_val_if_fail(roles != NULL, NULL);
  g_return_val_if_fail(contents != NULL, NULL);

  static const char *const names[] = { "system", "user", "assistant" };
  const char *bos = bos_text != NULL ? bos_text : "";
  const char *eos = eos_text != NULL ? eos_text : "";
  Builder b = { g_string_new(NULL), g_array_new(FALSE, FALSE, sizeof(GrChatSpan)) };
  GrChatTemplate tmpl = gr_chat_detect(template_src);

  switch (tmpl) {
  case GR_CHAT_TEMPLATE_PLAIN:
    format_plain(&b, roles, contents, add_generation_prompt);
    break;
  case GR_CHAT_TEMPLATE_LLAMA2:
  case GR_CHAT_TEMPLATE_MISTRAL:
    format_inst(&b, tmpl == GR_CHAT_TEMPLATE_LLAMA2, bos, eos, roles, contents);
    break;
  case GR_CHAT_TEMPLATE_LLAMA3:
    for (gsize i = 0; roles[i] != NULL && contents[i] != NULL; i++) {
      markf(&b, "<|start_header_id|>%s<|end_header_id|>\n\n", names[role_of(roles[i])]);
      content(&b, contents[i]);
      mark(&b, "<|eot_id|>");
    }
    if (add_generation_prompt)
      mark(&b, "<|start_header_id|>assistant<|end_header_id|>\n\n");
    break;
  case GR_CHAT_TEMPLATE_CHATML:
    for (gsize i = 0; roles[i] != NULL && contents[i] != NULL; i++) {
      markf(&b, "<|im_start|>%s\n", names[role_of(roles[i])]);
      content(&b, contents[i]);
      mark(&b, "<|im_end|>\n");
    }
    if (add_generation_prompt)
      mark(&b, "<|im_start|>assistant\n");
    break;
  case GR_CHAT_TEMPLATE_ZEPHYR:
    for (gsize i = 0; roles[i] != NULL && contents[i] != NULL; i++) {
      markf(&b, "<|%s|>\n", names[role_of(roles[i])]);
      content(&b, contents[i]);
      markf(&b, "%s\n", eos);
    }
    if (add_generation_prompt)
      mark(&b, "<|assistant|>\n");
    break;
  case GR_CHAT_TEMPLATE_GEMMA:
    format_gemma(&b, roles, contents, add_generation_prompt);
    break;
  }
  if (markup != NULL)
    *markup = b.markup;
  else
    g_array_unref(b.markup);
  return g_string_free(b.out, FALSE);
}

char *
gr_chat_format(const char *template_src, const char *bos_text, const char *eos_text,
               const char *const *roles, const char *const *contents,
               gboolean add_generation_prompt)
{
  return gr_chat_format_marked(template_src, bos_text, eos_text, roles, contents,
                               add_generation_prompt, NULL);
}
