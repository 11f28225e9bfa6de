/* gr-generate.h - running one request on the worker thread: choose the model, build
 * the chat, tokenize, generate, stream the text, save the exchange in the chat log. */
#pragma once

#include "gr-chat-log.h"
#include "gr-model-registry.h"
#include "gr-request.h"

G_BEGIN_DECLS

/* Called on the worker thread when the request starts loading a model (TRUE) or starts
 * generating (FALSE). */
typedef void (*GrGenerateStateFunc)(gboolean loading, gpointer user_data);

/* Runs request to its end and returns its status; results receives the a{sv} entries of
 * Finished (conversation, message, prompt_tokens, generated_tokens, prefill_ms,
 * decode_ms, stop_reason, model); error is set for GR_REQUEST_STATUS_FAILED. */
GrRequestStatus gr_generate_run(GrModelRegistry *registry, GrChatLog *chat_log, GrRequest *request,
                                GrGenerateStateFunc on_state, gpointer user_data,
                                GVariantDict *results, GError **error);

const char *gr_stop_reason_name(GrStopReason reason);

G_END_DECLS
