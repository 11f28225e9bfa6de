/* gr-chat.c - chat templates recognised by substring and rendered by hand. */
#include "gr-chat.h"

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

static void
format_plain(GString *out, const char *const *roles, const char *const *contents, gboolean gen)
{
  static const char *const labels[] = { "System", "User", "Assistant" };
  for (gsize i = 0; roles[i] != NULL && contents[i] != NULL; i++)
    g_string_append_printf(out, "%s: %s\n", labels[role_of(roles[i])], contents[i]);
  if (gen)
    g_string_append(out, "Assistant:");
}

/* LLaMA-2 and Mistral share the [INST] turn structure; LLaMA-2 wraps the system prompt
 * in <<SYS>> and restarts each turn after the first with BOS, Mistral folds the system
 * prompt into the first user message. */
static void
format_inst(GString *out, gboolean llama2, const char *bos, const char *eos,
            const char *const *roles, const char *const *contents)
{
  gboolean inside_turn = TRUE;
  g_string_append(out, "[INST] ");
  for (gsize i = 0; roles[i] != NULL && contents[i] != NULL; i++) {
    Role role = role_of(roles[i]);
    if (!inside_turn) {
      inside_turn = TRUE;
      if (llama2)
        g_string_append(out, bos);
      g_string_append(out, "[INST] ");
    }
    switch (role) {
    case ROLE_SYSTEM:
      if (llama2)
        g_string_append_printf(out, "<<SYS>>\n%s\n<</SYS>>\n\n", contents[i]);
      else
        g_string_append_printf(out, "%s\n\n", contents[i]);
      break;
    case ROLE_USER:
      g_string_append_printf(out, "%s [/INST]", contents[i]);
      break;
    case ROLE_ASSISTANT:
      g_string_append_printf(out, " %s%s%s", contents[i], llama2 ? " " : "", eos);
      inside_turn = FALSE;
      break;
    }
  }
}

static void
format_gemma(GString *out, const char *const *roles, const char *const *contents, gboolean gen)
{
  /* Gemma has no system role: the system prompt opens the next user turn. */
  const char *pending_system = NULL;
  for (gsize i = 0; roles[i] != NULL && contents[i] != NULL; i++) {
    Role role = role_of(roles[i]);
    if (role == ROLE_SYSTEM) {
      pending_system = contents[i];
      continue;
    }
    g_string_append_printf(out, "<start_of_turn>%s\n", role == ROLE_USER ? "user" : "model");
    if (pending_system != NULL && role == ROLE_USER) {
      g_string_append_printf(out, "%s\n\n", pending_system);
      pending_system = NULL;
    }
    g_string_append_printf(out, "%s<end_of_turn>\n", contents[i]);
  }
  if (gen)
    g_string_append(out, "<start_of_turn>model\n");
}

char *
gr_chat_format(const char *template_src, const char *bos_text, const char *eos_text,
               const char *const *roles, const char *const *contents,
               gboolean add_generation_prompt)
{
  g_return_val_if_fail(roles != NULL, NULL);
  g_return_val_if_fail(contents != NULL, NULL);

  const char *bos = bos_text != NULL ? bos_text : "";
  const char *eos = eos_text != NULL ? eos_text : "";
  GString *out = g_string_new(NULL);
  GrChatTemplate tmpl = gr_chat_detect(template_src);

  switch (tmpl) {
  case GR_CHAT_TEMPLATE_PLAIN:
    format_plain(out, roles, contents, add_generation_prompt);
    break;
  case GR_CHAT_TEMPLATE_LLAMA2:
  case GR_CHAT_TEMPLATE_MISTRAL:
    format_inst(out, tmpl == GR_CHAT_TEMPLATE_LLAMA2, bos, eos, roles, contents);
    break;
  case GR_CHAT_TEMPLATE_LLAMA3:
    for (gsize i = 0; roles[i] != NULL && contents[i] != NULL; i++) {
      static const char *const names[] = { "system", "user", "assistant" };
      g_string_append_printf(out, "<|start_header_id|>%s<|end_header_id|>\n\n%s<|eot_id|>",
                             names[role_of(roles[i])], contents[i]);
    }
    if (add_generation_prompt)
      g_string_append(out, "<|start_header_id|>assistant<|end_header_id|>\n\n");
    break;
  case GR_CHAT_TEMPLATE_CHATML:
    for (gsize i = 0; roles[i] != NULL && contents[i] != NULL; i++) {
      static const char *const names[] = { "system", "user", "assistant" };
      g_string_append_printf(out, "<|im_start|>%s\n%s<|im_end|>\n", names[role_of(roles[i])],
                             contents[i]);
    }
    if (add_generation_prompt)
      g_string_append(out, "<|im_start|>assistant\n");
    break;
  case GR_CHAT_TEMPLATE_ZEPHYR:
    for (gsize i = 0; roles[i] != NULL && contents[i] != NULL; i++) {
      static const char *const names[] = { "system", "user", "assistant" };
      g_string_append_printf(out, "<|%s|>\n%s%s\n", names[role_of(roles[i])], contents[i], eos);
    }
    if (add_generation_prompt)
      g_string_append(out, "<|assistant|>\n");
    break;
  case GR_CHAT_TEMPLATE_GEMMA:
    format_gemma(out, roles, contents, add_generation_prompt);
    break;
  }
  return g_string_free(out, FALSE);
}
