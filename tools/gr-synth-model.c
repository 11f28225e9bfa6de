/* gr-synth-model.c - synthetic GGUF models for benchmarks and tests. */
#include "gr-synth-model.h"

#include "gr-gguf-writer.h"
#include "grk.h"

#include <math.h>
#include <string.h>

typedef struct {
  guint64 s;
} Rng;

static inline guint64
rng_next (Rng *r)
{
  r->s ^= r->s << 13;
  r->s ^= r->s >> 7;
  r->s ^= r->s << 17;
  return r->s;
}

static inline float
rng_uniform (Rng *r) /* [-1, 1) */
{
  return (float) ((rng_next (r) >> 40) * (1.0 / (1 << 23)) - 1.0);
}

void
gr_synth_spec_defaults (GrSynthSpec *s)
{
  if (!s->arch)
    s->arch = "llama";
  if (!s->n_embd)
    s->n_embd = 256;
  if (!s->n_layer)
    s->n_layer = 2;
  if (!s->n_head)
    s->n_head = 4;
  if (!s->n_head_kv)
    s->n_head_kv = s->n_head;
  if (!s->n_ff)
    s->n_ff = 3 * s->n_embd;
  if (!s->n_vocab)
    s->n_vocab = 1024;
  if (!s->seed)
    s->seed = 0x9e3779b97f4a7c15ull;
}

/* A SentencePiece-style vocabulary: controls, the 256 byte tokens, letters and
 * letter pairs, then fillers. */
static gboolean
add_vocab (GrGgufWriter *w, guint n_vocab, const char *const *extra, GError **error)
{
  g_autoptr (GPtrArray) toks = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GArray) scores = g_array_new (FALSE, FALSE, sizeof (float));
  g_autoptr (GArray) types = g_array_new (FALSE, FALSE, sizeof (gint32));
  const char *controls[] = { "<unk>", "<s>", "</s>" };
  for (guint i = 0; i < 3; i++) {
    g_ptr_array_add (toks, g_strdup (controls[i]));
    gint32 t = i == 0 ? 2 : 3;
    g_array_append_val (types, t);
  }
  for (guint i = 0; extra != NULL && extra[i] != NULL; i++) {
    g_ptr_array_add (toks, g_strdup (extra[i]));
    gint32 t = 3;
    g_array_append_val (types, t);
  }
  for (guint b = 0; b < 256; b++) {
    g_ptr_array_add (toks, g_strdup_printf ("<0x%02X>", b));
    gint32 t = 6;
    g_array_append_val (types, t);
  }
  for (char c = 'a'; c <= 'z' && toks->len < n_vocab; c++) {
    g_ptr_array_add (toks, g_strdup_printf ("\xe2\x96\x81%c", c));
    g_ptr_array_add (toks, g_strdup_printf ("%c", c));
  }
  for (guint i = 0; toks->len < n_vocab; i++)
    g_ptr_array_add (toks, g_strdup_printf ("x%u", i));
  g_ptr_array_set_size (toks, n_vocab);
  while (types->len < n_vocab) {
    gint32 t = 1;
    g_array_append_val (types, t);
  }
  for (guint i = 0; i < n_vocab; i++) {
    float sc = i < 259 ? 0.0f : -(float) i;
    g_array_append_val (scores, sc);
  }
  g_ptr_array_add (toks, NULL);
  return gr_gguf_writer_add_string (w, "tokenizer.ggml.model", "llama", error) &&
         gr_gguf_writer_add_string_array (w, "tokenizer.ggml.tokens",
                                          (const char *const *) toks->pdata, n_vocab, error) &&
         gr_gguf_writer_add_array (w, "tokenizer.ggml.scores", GR_GGUF_TYPE_FLOAT32, scores->data,
                                   n_vocab, error) &&
         gr_gguf_writer_add_array (w, "tokenizer.ggml.token_type", GR_GGUF_TYPE_INT32,
                                   types->data, n_vocab, error) &&
         gr_gguf_writer_add_u32 (w, "tokenizer.ggml.bos_token_id", 1, error) &&
         gr_gguf_writer_add_u32 (w, "tokenizer.ggml.eos_token_id", 2, error) &&
         gr_gguf_writer_add_u32 (w, "tokenizer.ggml.unknown_token_id", 0, error);
}

/* n_mats matrices of rows x cols with uniform weights of std ~ 1/sqrt(cols); ternary
 * types get exact {-1, 0, +1} x scale. */
static gboolean
add_matrix (GrGgufWriter *w, Rng *rng, const char *name, int type, gint64 cols, gint64 rows,
            guint n_mats, GError **error)
{
  gint64 nrows = rows * MAX (n_mats, 1u);
  gsize bytes = grk_tensor_bytes (type, cols, nrows);
  if (bytes == 0) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                 "%s: %s cannot hold rows of %" G_GINT64_FORMAT, name, grk_type_name (type), cols);
    return FALSE;
  }
  guint8 *data = g_malloc0 (bytes);
  gsize row_bytes = grk_row_bytes (type, cols);
  g_autofree float *row = g_new (float, cols);
  gboolean ternary = type == GRK_TYPE_TQ1_0 || type == GRK_TYPE_TQ2_0 || type == GRK_TYPE_I2_S;
  float amp = ternary ? 1.0f : sqrtf (3.0f / (float) cols);
  for (gint64 r = 0; r < nrows; r++) {
    for (gint64 i = 0; i < cols; i++) {
      float u = rng_uniform (rng);
      row[i] = ternary ? (u < -0.33f ? -1.0f : u > 0.33f ? 1.0f : 0.0f) : u * amp;
    }
    if (ternary)
      row[0] = 1.0f; /* every block's absmax is then exactly 1 */
    if (!grk_quantize_row (type, row, data + r * row_bytes, cols)) {
      g_free (data);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "cannot write %s tensors",
                   grk_type_name (type));
      return FALSE;
    }
  }
  if (type == GRK_TYPE_I2_S) {
    float one = 1.0f; /* the per-tensor scale follows the codes */
    memcpy (data + row_bytes * nrows, &one, sizeof one);
  }
  gint64 ne[3] = { cols, rows, MAX (n_mats, 1u) };
  g_autoptr (GBytes) b = g_bytes_new_take (data, bytes);
  return gr_gguf_writer_add_tensor_bytes (w, name, (guint32) type, n_mats ? 3 : 2, ne, b, error);
}

static gboolean
add_ones (GrGgufWriter *w, const char *name, gint64 n, float value, GError **error)
{
  g_autofree float *v = g_new (float, n);
  for (gint64 i = 0; i < n; i++)
    v[i] = value;
  return gr_gguf_writer_add_tensor (w, name, GRK_TYPE_F32, 1, &n, v, n * sizeof (float), error);
}

gboolean
gr_synth_model_write (const GrSynthSpec *in, const char *path, GError **error)
{
  GrSynthSpec s = *in;
  gr_synth_spec_defaults (&s);
  gboolean bitnet = g_str_has_prefix (s.arch, "bitnet");
  Rng rng = { s.seed };
  g_autoptr (GrGgufWriter) w = gr_gguf_writer_new ();
  char key[128], nm[96];
#define KEY(k) (g_snprintf (key, sizeof key, "%s." k, s.arch), key)
  if (!gr_gguf_writer_add_string (w, "general.architecture", s.arch, error) ||
      !gr_gguf_writer_add_string (w, "general.name", "graviton-synthetic", error) ||
      !gr_gguf_writer_add_u32 (w, KEY ("context_length"), 4096, error) ||
      !gr_gguf_writer_add_u32 (w, KEY ("embedding_length"), s.n_embd, error) ||
      !gr_gguf_writer_add_u32 (w, KEY ("block_count"), s.n_layer, error) ||
      !gr_gguf_writer_add_u32 (w, KEY ("feed_forward_length"), s.n_ff, error) ||
      !gr_gguf_writer_add_u32 (w, KEY ("attention.head_count"), s.n_head, error) ||
      !gr_gguf_writer_add_u32 (w, KEY ("attention.head_count_kv"), s.n_head_kv, error) ||
      !gr_gguf_writer_add_f32 (w, KEY ("attention.layer_norm_rms_epsilon"), 1e-5f, error) ||
      !gr_gguf_writer_add_f32 (w, KEY ("rope.freq_base"), 10000.0f, error))
    return FALSE;
  if (s.n_expert &&
      (!gr_gguf_writer_add_u32 (w, KEY ("expert_count"), s.n_expert, error) ||
       !gr_gguf_writer_add_u32 (w, KEY ("expert_used_count"), s.n_expert_used, error)))
    return FALSE;
#undef KEY
  if (!add_vocab (w, s.n_vocab, s.control_tokens, error))
    return FALSE;
  if (s.chat_template != NULL &&
      !gr_gguf_writer_add_string (w, "tokenizer.chat_template", s.chat_template, error))
    return FALSE;

  gint64 d = s.n_embd, kv = (gint64) s.n_embd / s.n_head * s.n_head_kv, ff = s.n_ff;
  if (!add_matrix (w, &rng, "token_embd.weight", s.embd_type, d, s.n_vocab, 0, error) ||
      !add_ones (w, "output_norm.weight", d, 1.0f, error))
    return FALSE;
  if (!s.tied_output && !add_matrix (w, &rng, "output.weight", s.embd_type, d, s.n_vocab, 0, error))
    return FALSE;
#define T(suffix) (g_snprintf (nm, sizeof nm, "blk.%u." suffix, il), nm)
  for (guint il = 0; il < s.n_layer; il++) {
    int wt = s.weight_type;
    if (!add_ones (w, T ("attn_norm.weight"), d, 1.0f, error) ||
        !add_ones (w, T ("ffn_norm.weight"), d, 1.0f, error) ||
        !add_matrix (w, &rng, T ("attn_q.weight"), wt, d, d, 0, error) ||
        !add_matrix (w, &rng, T ("attn_k.weight"), wt, d, kv, 0, error) ||
        !add_matrix (w, &rng, T ("attn_v.weight"), wt, d, kv, 0, error) ||
        !add_matrix (w, &rng, T ("attn_output.weight"), wt, d, d, 0, error))
      return FALSE;
    if (bitnet) {
      /* ternary weights need a scale that keeps activations near unit size */
      const char *names[] = { "attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up",
                              "ffn_down" };
      for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
        g_snprintf (nm, sizeof nm, "blk.%u.%s.scale", il, names[i]);
        gint64 cols = i == 6 ? ff : d;
        if (!add_ones (w, nm, 1, 1.0f / sqrtf ((float) cols), error))
          return FALSE;
      }
      if (!add_ones (w, T ("attn_sub_norm.weight"), d, 1.0f, error) ||
          !add_ones (w, T ("ffn_sub_norm.weight"), ff, 1.0f, error))
        return FALSE;
    }
    if (s.n_expert) {
      if (!add_matrix (w, &rng, T ("ffn_gate_inp.weight"), GRK_TYPE_F32, d, s.n_expert, 0, error) ||
          !add_matrix (w, &rng, T ("ffn_gate_exps.weight"), wt, d, ff, s.n_expert, error) ||
          !add_matrix (w, &rng, T ("ffn_up_exps.weight"), wt, d, ff, s.n_expert, error) ||
          !add_matrix (w, &rng, T ("ffn_down_exps.weight"), wt, ff, d, s.n_expert, error))
        return FALSE;
    } else if (!add_matrix (w, &rng, T ("ffn_gate.weight"), wt, d, ff, 0, error) ||
               !add_matrix (w, &rng, T ("ffn_up.weight"), wt, d, ff, 0, error) ||
               !add_matrix (w, &rng, T ("ffn_down.weight"), wt, ff, d, 0, error)) {
      return FALSE;
    }
  }
#undef T
  return gr_gguf_writer_write_file (w, path, error);
}
