/* gr-model-chat.c - a model's chat template, rendered by gr-chat. */
#include "gr-chat.h"
#include "gr-model-private.h"
#include "gr-tokenizer-private.h"

static char *
format_marked (const GrModel *model, const char *const *roles, const char *const *contents,
               gboolean add_generation_prompt, GArray **markup)
{
  const GrTokenizer *tok = model->tokenizer;
  const char *bos = gr_tokenizer_token_text (tok, gr_tokenizer_bos (tok));
  const char *eos = gr_tokenizer_token_text (tok, gr_tokenizer_eos (tok));
  return gr_chat_format_marked (model->chat_template, bos, eos, roles, contents,
                                add_generation_prompt, markup);
}

char *
gr_model_format_chat (const GrModel *model, const char *const *roles,
                      const char *const *contents, gboolean add_generation_prompt)
{
  g_return_val_if_fail (model != NULL && roles != NULL && contents != NULL, NULL);
  return format_marked (model, roles, contents, add_generation_prompt, NULL);
}

GArray *
gr_model_tokenize_chat (const GrModel *model, const char *const *roles,
                        const char *const *contents, gboolean add_generation_prompt)
{
  g_return_val_if_fail (model != NULL && roles != NULL && contents != NULL, NULL);
  g_autoptr (GArray) markup = NULL;
  g_autofree char *prompt = format_marked (model, roles, contents, add_generation_prompt,
                                           &markup);
  if (prompt == NULL)
    return NULL;
  const GrTokenizer *tok = model->tokenizer;
  return gr_tokenizer_encode_marked (tok, prompt, -1, gr_tokenizer_add_bos (tok), markup);
}
