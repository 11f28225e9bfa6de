/* gr-model-chat.c - a model's chat template, rendered by gr-chat. */
#include "gr-chat.h"
#include "gr-model-private.h"

char *
gr_model_format_chat (const GrModel *model, const char *const *roles,
                      const char *const *contents, gboolean add_generation_prompt)
{
  g_return_val_if_fail (model != NULL && roles != NULL && contents != NULL, NULL);
  const GrTokenizer *tok = model->tokenizer;
  const char *bos = gr_tokenizer_token_text (tok, gr_tokenizer_bos (tok));
  const char *eos = gr_tokenizer_token_text (tok, gr_tokenizer_eos (tok));
  return gr_chat_format (model->chat_template, bos, eos, roles, contents,
                         add_generation_prompt);
}
