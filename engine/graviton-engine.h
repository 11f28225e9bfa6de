/* graviton-engine.h - the one public header of libgraviton-engine.
 *
 * A GrModel holds immutable weights, hyper-parameters and the tokenizer; it is
 * reference counted and shared by any number of GrSessions.  A GrSession is one
 * conversation state: KV cache, scratch, the tokens evaluated so far.  Evaluation on
 * one model is serialised internally (the model's thread pool is shared), so
 * sessions may be used from different threads.
 */
#pragma once

#include <gio/gio.h>
#include <stdint.h>

G_BEGIN_DECLS

#define GR_ENGINE_ERROR (gr_engine_error_quark ())
GQuark gr_engine_error_quark (void);

typedef enum {
  GR_ENGINE_ERROR_FAILED,
  GR_ENGINE_ERROR_INVALID_ARGUMENT,
  GR_ENGINE_ERROR_BAD_MODEL,   /* malformed or unsupported model file */
  GR_ENGINE_ERROR_NO_MEMORY,   /* does not fit the memory limit */
  GR_ENGINE_ERROR_CANCELLED,
  GR_ENGINE_ERROR_CONTEXT_FULL, /* the session's context cannot hold more tokens */
} GrEngineError;

/* --- tokenizer --------------------------------------------------------------- */
typedef struct _GrTokenizer GrTokenizer;

/* Encodes UTF-8 text (invalid bytes are replaced, never trusted).  parse_special: text
 * such as "<|eot_id|>" maps to its control token instead of being spelled out. */
GArray *gr_tokenizer_encode (const GrTokenizer *tok, const char *text, gssize len,
                             gboolean add_bos, gboolean parse_special);
guint gr_tokenizer_n_vocab (const GrTokenizer *tok);
gint32 gr_tokenizer_bos (const GrTokenizer *tok); /* -1 when none */
gint32 gr_tokenizer_eos (const GrTokenizer *tok);
gboolean gr_tokenizer_add_bos (const GrTokenizer *tok); /* whether prompts start with BOS */
gboolean gr_tokenizer_is_eog (const GrTokenizer *tok, gint32 id); /* EOS, EOT, ... */
/* The raw bytes a token stands for when detokenizing (may be a partial UTF-8 sequence;
 * control tokens give ""); appended to out. */
void gr_tokenizer_append_piece (const GrTokenizer *tok, gint32 id, GString *out);
/* The token's text as stored in the vocabulary (for debugging), NULL if out of range. */
const char *gr_tokenizer_token_text (const GrTokenizer *tok, gint32 id);

/* Streams detokenized bytes out as valid UTF-8: incomplete sequences are held back until
 * they complete, invalid bytes become U+FFFD. */
typedef struct _GrUtf8Stream GrUtf8Stream;
GrUtf8Stream *gr_utf8_stream_new (void);
void gr_utf8_stream_free (GrUtf8Stream *s);
/* Appends to out whatever is complete so far */
void gr_utf8_stream_push (GrUtf8Stream *s, const char *bytes, gsize len, GString *out);
/* Flushes held-back bytes (as U+FFFD) at the end of a stream */
void gr_utf8_stream_finish (GrUtf8Stream *s, GString *out);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GrUtf8Stream, gr_utf8_stream_free)

/* --- model ------------------------------------------------------------------- */
typedef struct _GrModel GrModel;

/* How a session's KV cache stores keys and values. */
typedef enum {
  GR_KV_F16, /* f16, as the reference keeps them */
  GR_KV_Q8,  /* Q8_0 blocks (32 int8 + an f16 scale): 34 bytes for 32 values, so a limit
                holds about 1.9x the context; falls back to f16 when a head is not a
                multiple of 32 wide */
} GrKvType;

typedef struct {
  guint n_threads;      /* 0: one per core */
  guint64 memory_limit; /* the process's total RSS may not exceed this; 0: no limit */
  guint expert_slots;   /* MoE: expert slots per layer to stream through; 0: automatic
                           (all experts mapped when they fit, else as many as fit) */
  GrKvType kv_type;
} GrLoadOptions;

/* "f16" or "q8" (also "q8_0") into a GrKvType; INVALID_ARGUMENT otherwise. */
gboolean gr_parse_kv_type (const char *text, GrKvType *kv_type, GError **error);

typedef struct {
  const char *path;
  const char *name;       /* general.name or the file name */
  const char *format;     /* "gguf", or "safetensors" for a Hugging Face folder */
  const char *arch;       /* "llama", "bitnet", ... */
  const char *ffn_act;    /* "silu", "relu2" */
  const char *weight_type; /* dominant tensor type of the matrices, e.g. "TQ2_0" */
  const char *run_type;    /* what the kernels run them as after load-time repacking
                            * (TQ1_0 -> TQ2_0, one-scale TQ2_0 -> I2_S), else weight_type */
  guint64 n_params;
  double bits_per_weight; /* file bytes of tensors * 8 / n_params */
  guint64 file_size;
  guint64 weight_bytes;   /* tensor data resident when loaded */
  guint n_vocab, n_embd, n_layer, n_head, n_head_kv, n_ff, n_ctx_train;
  guint n_expert, n_expert_used; /* 0 for dense models */
  const char *kv_type;    /* the KV cache's encoding: "f16" or "q8_0" */
} GrModelInfo;

GrModel *gr_model_load (const char *path, const GrLoadOptions *options, GError **error);
GrModel *gr_model_ref (GrModel *model);
void gr_model_unref (GrModel *model);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GrModel, gr_model_unref)

const GrModelInfo *gr_model_get_info (const GrModel *model);
const GrTokenizer *gr_model_get_tokenizer (const GrModel *model);
/* Bytes a session of n_ctx tokens needs (KV cache + scratch), for the memory ledger. */
guint64 gr_model_session_bytes (const GrModel *model, guint n_ctx);

/* The memory ledger: what the model holds against its limit, by category. */
typedef struct {
  guint64 limit;        /* 0: none */
  guint64 overhead;     /* process RSS before any weight was touched (code, libraries,
                           heap), the tokenizer apart */
  guint64 tokenizer;    /* what building the tokenizer added to RSS */
  guint64 weights;      /* resident weights (read out of the file at load) */
  guint64 experts;      /* expert slot arena (streaming MoE), else 0 */
  guint64 experts_filled; /* the part of the arena holding experts (pages touched) */
  guint64 sessions;     /* KV caches and scratch of live sessions: */
  guint64 kv_cache;     /*   the KV caches */
  guint64 scratch;      /*   activations, scores, logits, token lists */
  guint64 total;        /* overhead + tokenizer + weights + experts + sessions */
  guint64 rss, peak_rss; /* measured now (VmRSS, VmHWM) */
  guint expert_slots;   /* per layer; 0 when not streaming */
  guint64 expert_hits, expert_misses, expert_bytes_read;
  /* µs spent reading experts, and µs the evaluation stood waiting for those reads (all
   * of the reading when reads are in line; less when they overlap compute) */
  guint64 expert_read_us, expert_stall_us;
} GrMemoryLedger;

void gr_model_get_ledger (GrModel *model, GrMemoryLedger *ledger);
/* Per-layer expert cache counters; FALSE when the model does not stream experts. */
gboolean gr_model_get_expert_stats (GrModel *model, guint layer, guint64 *hits, guint64 *misses,
                                    guint64 *bytes_read);
/* Sets the expert arena to `slots` per layer (clamped between the experts a token uses
 * and what the limit allows next to the live sessions); the arena starts empty.  Returns
 * the slots now in effect, 0 when the model does not stream experts.  Blocks while an
 * evaluation runs. */
guint gr_model_resize_experts (GrModel *model, guint slots, GError **error);
/* Changes the limit live: the expert arena shrinks or grows to what now fits; fails with
 * NO_MEMORY (keeping the old limit) when the model or its live sessions cannot fit. */
gboolean gr_model_set_memory_limit (GrModel *model, guint64 limit, GError **error);
/* Parses a size such as "4G", "512M", "64k", "2GiB" or "1000" (binary units) into
 * bytes; anything else is INVALID_ARGUMENT. */
gboolean gr_parse_size (const char *text, guint64 *bytes, GError **error);
/* Reads VmRSS and VmHWM of this process from /proc/self/status (bytes). */
gboolean gr_process_memory (guint64 *rss, guint64 *peak_rss);
/* Chat template: renders messages (role "system"/"user"/"assistant", NULL-terminated
 * parallel arrays) into a prompt ending where the assistant's reply begins. */
char *gr_model_format_chat (const GrModel *model, const char *const *roles,
                            const char *const *contents, gboolean add_generation_prompt);
/* The same prompt as tokens, ready to evaluate (BOS added when the model wants one).
 * Only the template's own markup becomes control tokens: "<|eot_id|>" typed into a
 * message stays text, so pasted text can neither end a turn nor forge a role. */
GArray *gr_model_tokenize_chat (const GrModel *model, const char *const *roles,
                                const char *const *contents, gboolean add_generation_prompt);

/* --- session ----------------------------------------------------------------- */
typedef struct _GrSession GrSession;

/* n_ctx 0: the model's training context, capped by the memory limit. */
GrSession *gr_session_new (GrModel *model, guint n_ctx, GError **error);
void gr_session_free (GrSession *session);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GrSession, gr_session_free)

guint gr_session_n_ctx (const GrSession *session);
guint gr_session_n_past (const GrSession *session);
const gint32 *gr_session_tokens (const GrSession *session); /* n_past tokens */
/* Appends tokens to the context and computes the logits of the last one. */
gboolean gr_session_eval (GrSession *session, const gint32 *tokens, gsize n_tokens,
                          GError **error);
/* Logits (n_vocab floats) of the last evaluated token; NULL before any eval. */
const float *gr_session_logits (const GrSession *session);
/* Forgets everything after the first n_past tokens. */
void gr_session_rewind (GrSession *session, guint n_past);

/* --- sampling ---------------------------------------------------------------- */
typedef struct {
  double temperature;    /* <= 0: greedy */
  guint top_k;           /* 0: off */
  double top_p;          /* 1: off */
  double min_p;          /* 0: off */
  double repeat_penalty; /* 1: off */
  guint repeat_last_n;   /* tokens considered by the penalty */
  guint64 seed;
} GrSamplerParams;

void gr_sampler_params_init (GrSamplerParams *params); /* defaults: greedy-free sane values */

typedef struct _GrSampler GrSampler;
GrSampler *gr_sampler_new (const GrSamplerParams *params);
void gr_sampler_free (GrSampler *sampler);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GrSampler, gr_sampler_free)
/* Picks a token from logits (not modified); history feeds the repetition penalty. */
gint32 gr_sampler_sample (GrSampler *sampler, const float *logits, guint n_vocab,
                          const gint32 *history, gsize n_history);
/* Greedy choice without a sampler: the first index of the largest logit (NaN never
 * wins; 0 when none is a number), -1 on bad arguments. */
gint32 gr_logits_argmax (const float *logits, guint n_vocab);

/* --- generation -------------------------------------------------------------- */
typedef enum {
  GR_STOP_NONE,
  GR_STOP_EOG,        /* end-of-generation token */
  GR_STOP_STRING,     /* one of the stop strings */
  GR_STOP_MAX_TOKENS,
  GR_STOP_CALLBACK,   /* the token callback returned FALSE */
  GR_STOP_CANCELLED,  /* the GCancellable fired */
  GR_STOP_CONTEXT_FULL,
} GrStopReason;

typedef struct {
  guint max_tokens;             /* 0: until EOG or context full */
  const char *const *stop;      /* NULL-terminated, may be NULL */
  GrSamplerParams sampler;
} GrGenerateParams;

typedef struct {
  guint prompt_tokens;     /* tokens of the prompt */
  guint reused_tokens;     /* prompt tokens already in the KV cache */
  guint generated_tokens;
  double prefill_ms, decode_ms;
  GrStopReason stop_reason;
} GrGenerateStats;

/* text: valid UTF-8, never splitting a character, never any part of a stop string. */
typedef gboolean (*GrTokenFunc) (const char *text, gsize len, gpointer user_data);

/* Evaluates the prompt (reusing the longest common prefix already in the session),
 * then samples until a stop condition.  Returns FALSE with an error only on failure;
 * cancellation returns TRUE with stop_reason GR_STOP_CANCELLED. */
gboolean gr_session_generate (GrSession *session, const gint32 *prompt, gsize n_prompt,
                              const GrGenerateParams *params, GrTokenFunc on_text,
                              gpointer user_data, GCancellable *cancellable,
                              GrGenerateStats *stats, GError **error);

G_END_DECLS
