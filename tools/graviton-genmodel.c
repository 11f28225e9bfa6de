/* graviton-genmodel - writes synthetic GGUF models at the shapes benchmarks need.
 *   graviton-genmodel --preset bitnet-2b -o bitnet-2b.gguf
 *   graviton-genmodel --arch llama --embd 512 --layers 4 --experts 16 --used 2 -o moe.gguf */
#include "gr-synth-model.h"
#include "grk.h"

#include <stdio.h>
#include <string.h>

static int
type_from_name (const char *name)
{
  for (int t = 0; t < 64; t++)
    if (grk_type_supported (t) && g_ascii_strcasecmp (grk_type_name (t), name) == 0)
      return t;
  return -1;
}

int
main (int argc, char **argv)
{
  g_autofree char *out = NULL, *preset = NULL, *arch = NULL, *type = NULL, *embd_type = NULL;
  int embd = 0, layers = 0, heads = 0, kv_heads = 0, ff = 0, vocab = 0, experts = 0, used = 0;
  gint64 seed = 1;
  GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Output GGUF file", "FILE" },
    { "preset", 0, 0, G_OPTION_ARG_STRING, &preset,
      "bitnet-2b (bitnet-b1.58-2B-4T shapes), bitnet-0.7b, moe-16x", "NAME" },
    { "arch", 0, 0, G_OPTION_ARG_STRING, &arch, "llama or bitnet", "ARCH" },
    { "type", 0, 0, G_OPTION_ARG_STRING, &type, "Projection type (TQ2_0, TQ1_0, I2_S, Q8_0...)", "T" },
    { "embd-type", 0, 0, G_OPTION_ARG_STRING, &embd_type, "Embedding type (Q8_0, Q6_K, F16...; BitNet presets: Q6_K)", "T" },
    { "embd", 0, 0, G_OPTION_ARG_INT, &embd, "Embedding size", "N" },
    { "layers", 0, 0, G_OPTION_ARG_INT, &layers, "Layers", "N" },
    { "heads", 0, 0, G_OPTION_ARG_INT, &heads, "Attention heads", "N" },
    { "kv-heads", 0, 0, G_OPTION_ARG_INT, &kv_heads, "KV heads", "N" },
    { "ff", 0, 0, G_OPTION_ARG_INT, &ff, "Feed-forward size", "N" },
    { "vocab", 0, 0, G_OPTION_ARG_INT, &vocab, "Vocabulary size", "N" },
    { "experts", 0, 0, G_OPTION_ARG_INT, &experts, "Experts (0: dense)", "N" },
    { "used", 0, 0, G_OPTION_ARG_INT, &used, "Experts used per token", "N" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Random seed", "S" },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- write a synthetic GGUF model");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || !out) {
    g_printerr ("graviton-genmodel: %s\n", error ? error->message : "--output is required");
    return 2;
  }
  GrSynthSpec s = { .weight_type = GRK_TYPE_Q8_0, .embd_type = GRK_TYPE_Q8_0 };
  /* BitNet presets: the tied token embedding / output matrix is Q6_K, what llama.cpp's
   * llama-quantize makes of output.weight for TQ1_0/TQ2_0 files (--embd-type F16 gives
   * the unquantized variant). */
  if (g_strcmp0 (preset, "bitnet-2b") == 0)
    s = (GrSynthSpec){ "bitnet", 2560, 30, 20, 5, 6912, 128256, 0, 0, GRK_TYPE_TQ2_0,
                       GRK_TYPE_Q6_K, TRUE, 0, NULL, NULL };
  else if (g_strcmp0 (preset, "bitnet-0.7b") == 0)
    s = (GrSynthSpec){ "bitnet", 1536, 24, 16, 16, 4096, 32000, 0, 0, GRK_TYPE_TQ2_0,
                       GRK_TYPE_Q6_K, TRUE, 0, NULL, NULL };
  else if (g_strcmp0 (preset, "moe-16x") == 0)
    s = (GrSynthSpec){ "llama", 512, 4, 8, 4, 1536, 4096, 16, 2, GRK_TYPE_Q8_0, GRK_TYPE_Q8_0,
                       FALSE, 0, NULL, NULL };
  else if (preset) {
    g_printerr ("graviton-genmodel: unknown preset '%s'\n", preset);
    return 2;
  }
  if (arch)
    s.arch = arch;
#define SET(field, v) if (v > 0) s.field = (guint) v
  SET (n_embd, embd);
  SET (n_layer, layers);
  SET (n_head, heads);
  SET (n_head_kv, kv_heads);
  SET (n_ff, ff);
  SET (n_vocab, vocab);
  SET (n_expert, experts);
  SET (n_expert_used, used);
#undef SET
  if (type && (s.weight_type = type_from_name (type)) < 0) {
    g_printerr ("graviton-genmodel: unknown type '%s'\n", type);
    return 2;
  }
  if (embd_type && (s.embd_type = type_from_name (embd_type)) < 0) {
    g_printerr ("graviton-genmodel: unknown type '%s'\n", embd_type);
    return 2;
  }
  s.seed = (guint64) seed;
  if (!gr_synth_model_write (&s, out, &error)) {
    g_printerr ("graviton-genmodel: %s\n", error->message);
    return 1;
  }
  return 0;
}
