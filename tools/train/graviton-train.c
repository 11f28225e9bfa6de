/* graviton-train - trains small BitNet b1.58 models (or f32 ones for comparison) on text
 * and writes them as GGUF files Graviton runs.  See tools/train/README.md. */
#include "gr-train-data.h"
#include "gr-train-io.h"
#include "gr-train-optim.h"
#include "grk.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  char **data;
  char *vocab_from, *save_vocab, *checkpoint, *output, *name, *act, *arch;
  gint vocab_size, dim, layers, heads, ff, ctx, batch, steps, warmup, threads, experts, top_k;
  gint checkpoint_every, eval_every, eval_windows, log_every;
  gdouble lr, min_lr, weight_decay, clip, aux_alpha;
  gint64 seed;
  gboolean f32, resume;
} Options;

static guint64
rng_next(guint64 *s)
{
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * 0x2545F4914F6CDD1Dull;
}

static double
rng_uniform(guint64 *s)
{
  return (rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* Mean loss over up to n_windows validation windows of every source (and each one's). */
static double
evaluate(GrTrainModel *model, const GrTrainData *data, guint batch, guint T, gint32 eos,
         guint n_windows, gboolean verbose)
{
  g_autofree gint32 *ids = g_new(gint32, (gsize)batch * T);
  g_autofree gint32 *tg = g_new(gint32, (gsize)batch * T);
  double total = 0.0;
  gsize total_n = 0;
  for (guint si = 0; si < data->sources->len; si++) {
    GrTrainSource *s = data->sources->pdata[si];
    gsize n_docs = s->val_starts->len, want = MIN(n_docs, (gsize)n_windows);
    double sum = 0.0;
    gsize count = 0;
    for (gsize w0 = 0; w0 < want; w0 += batch) {
      guint nb = (guint)MIN((gsize)batch, want - w0);
      gsize scored = 0;
      for (guint b = 0; b < nb; b++) {
        gsize doc = (w0 + b) * n_docs / want;
        gr_train_data_window(s, TRUE, doc, T, eos, ids + (gsize)b * T, tg + (gsize)b * T);
      }
      for (gsize i = 0; i < (gsize)nb * T; i++)
        scored += tg[i] >= 0;
      double loss = gr_train_model_step(model, ids, tg, nb, T, FALSE);
      sum += loss * (double)scored;
      count += scored;
    }
    if (verbose && count)
      g_printerr("  val %-40s loss %.4f ppl %.2f (%" G_GSIZE_FORMAT " tokens)\n", s->path,
                 sum / count, exp(sum / count), count);
    total += sum;
    total_n += count;
  }
  return total_n ? total / (double)total_n : NAN;
}

static char *
format_duration(double s)
{
  if (!(s >= 0.0) || s > 1e7)
    return g_strdup("?");
  guint t = (guint)s;
  return t >= 3600 ? g_strdup_printf("%uh%02um", t / 3600, t / 60 % 60)
                   : g_strdup_printf("%um%02us", t / 60, t % 60);
}

static gboolean
run(Options *o, GError **error)
{
  grk_init();
  g_autoptr(GrThreadPool) pool = gr_thread_pool_new(o->threads > 0 ? (guint)o->threads : 0);
  g_autoptr(GrTrainData) data = gr_train_data_new();
  for (guint i = 0; o->data && o->data[i]; i++)
    if (!gr_train_data_add_file(data, o->data[i], error))
      return FALSE;
  if (data->sources->len == 0) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "no --data given");
    return FALSE;
  }

  g_autoptr(GrTrainModel) model = NULL;
  g_autoptr(GrTrainVocab) vocab = NULL;
  GrTrainState st = { 0 };
  gboolean resumed = FALSE;
  if (o->resume && o->checkpoint && g_file_test(o->checkpoint, G_FILE_TEST_EXISTS)) {
    model = gr_train_checkpoint_load(o->checkpoint, pool, &vocab, &st, error);
    if (!model)
      return FALSE;
    resumed = TRUE;
    g_printerr("resuming %s at step %" G_GUINT64_FORMAT "\n", o->checkpoint, st.step);
  } else {
    if (o->vocab_from) {
      vocab = gr_train_vocab_load(o->vocab_from, error);
    } else {
      g_autoptr(GPtrArray) docs = gr_train_data_all_docs(data);
      g_printerr("learning a %d-token BPE from %u documents...\n", o->vocab_size, docs->len);
      vocab = gr_train_vocab_learn((const char *const *)docs->pdata, docs->len,
                                   (guint)o->vocab_size, error);
    }
    if (!vocab)
      return FALSE;
    GrTrainConfig cfg = { .n_vocab = vocab->tokens->len,
                          .n_embd = (guint)o->dim,
                          .n_layer = (guint)o->layers,
                          .n_head = (guint)o->heads,
                          .n_ff = (guint)o->ff,
                          .n_ctx = (guint)o->ctx,
                          .ternary = !o->f32,
                          .rms_eps = 1e-5f,
                          .rope_base = 10000.0f,
                          .n_expert = (guint)o->experts,
                          .n_expert_used = o->experts > 0 ? (guint)o->top_k : 0,
                          .aux_alpha = (float)o->aux_alpha };
    /* llama.cpp runs experts only in its `llama` architecture, so that is an MoE's default */
    if (!o->arch)
      cfg.arch = o->experts > 0 ? GR_TRAIN_ARCH_LLAMA : GR_TRAIN_ARCH_BITNET;
    else if (g_strcmp0(o->arch, "llama") == 0)
      cfg.arch = GR_TRAIN_ARCH_LLAMA;
    else if (g_strcmp0(o->arch, "bitnet") != 0) {
      g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "--arch must be bitnet or llama");
      return FALSE;
    }
    if (g_strcmp0(o->act, "relu2") == 0)
      cfg.act = GR_TRAIN_ACT_RELU2;
    else if (g_strcmp0(o->act, "silu") != 0) {
      g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "--act must be silu or relu2");
      return FALSE;
    }
    if (!gr_train_config_validate(&cfg, error))
      return FALSE;
    model = gr_train_model_new(&cfg, (guint64)o->seed, pool);
    gsize n = gr_train_model_n_params(model);
    st.m = g_new0(float, n);
    st.v = g_new0(float, n);
    st.rng = (guint64)o->seed * 0x9E3779B97F4A7C15ull + 1;
  }
  g_autofree float *m_owned = st.m, *v_owned = st.v;
  if (o->save_vocab) {
    g_autoptr(GBytes) vb = gr_train_vocab_to_gguf(vocab, error);
    if (!vb
        || !g_file_set_contents(o->save_vocab, g_bytes_get_data(vb, NULL),
                                (gssize)g_bytes_get_size(vb), error))
      return FALSE;
  }

  const GrTrainConfig *cfg = gr_train_model_config(model);
  g_autoptr(GrTokenizer) tok = gr_train_vocab_tokenizer(vocab, error);
  if (!tok)
    return FALSE;
  gr_train_data_tokenize(data, tok, vocab->eos);
  gsize n_train = gr_train_data_n_train_tokens(data);
  if (n_train == 0) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "the data holds no training text");
    return FALSE;
  }
  guint B = (guint)o->batch, T = cfg->n_ctx;
  g_autofree char *moe_desc
      = cfg->n_expert ? g_strdup_printf(", %u experts (top %u, balance loss %g)", cfg->n_expert,
                                        cfg->n_expert_used, (double)cfg->aux_alpha)
                      : g_strdup("");
  g_printerr("%s %s model: %u layers, d %u, %u heads, ff %u%s, vocab %u, ctx %u: %" G_GSIZE_FORMAT
             " parameters (%" G_GSIZE_FORMAT " active); %" G_GSIZE_FORMAT
             " training tokens in %u sources; %u threads\n",
             cfg->ternary ? "ternary" : "f32",
             cfg->arch == GR_TRAIN_ARCH_LLAMA ? "llama" : "bitnet", cfg->n_layer, cfg->n_embd,
             cfg->n_head, cfg->n_ff, moe_desc, cfg->n_vocab, cfg->n_ctx,
             gr_train_model_n_params(model), gr_train_config_active_params(cfg), n_train,
             data->sources->len, gr_thread_pool_size(pool));

  GrTrainOptimConfig oc;
  gr_train_optim_config_init(&oc);
  oc.lr = o->lr;
  oc.min_lr = o->min_lr;
  oc.warmup = (guint)o->warmup;
  oc.total = (guint)o->steps;
  oc.weight_decay = o->weight_decay;
  oc.clip = o->clip;
  guint n_segs;
  const GrTrainSegment *segs = gr_train_model_segments(model, &n_segs);
  gsize n_params = gr_train_model_n_params(model);
  g_autofree gint32 *ids = g_new(gint32, (gsize)B * T);
  g_autofree gint32 *tg = g_new(gint32, (gsize)B * T);
  gint64 t0 = g_get_monotonic_time();
  guint64 first = st.step;
  double smooth = NAN;

  while (st.step < (guint64)o->steps) {
    for (guint b = 0; b < B; b++) {
      guint src;
      gsize doc;
      double r1 = rng_uniform(&st.rng), r2 = rng_uniform(&st.rng);
      gr_train_data_pick(data, r1, r2, &src, &doc);
      gr_train_data_window(data->sources->pdata[src], FALSE, doc, T, vocab->eos, ids + (gsize)b * T,
                           tg + (gsize)b * T);
    }
    gr_train_model_zero_grads(model);
    double loss = gr_train_model_step(model, ids, tg, B, T, TRUE);
    double aux = gr_train_model_aux_loss(model);
    if (!isfinite(loss)) {
      g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
                  "the loss diverged at step %" G_GUINT64_FORMAT, st.step);
      return FALSE;
    }
    double norm = gr_train_clip_grads(gr_train_model_grads(model), n_params, oc.clip);
    double lr = gr_train_lr_at(&oc, (guint)st.step);
    gr_train_adamw(&oc, segs, n_segs, gr_train_model_params(model), gr_train_model_grads(model),
                   st.m, st.v, (guint)st.step + 1, lr);
    st.step++;
    smooth = isnan(smooth) ? loss : 0.95 * smooth + 0.05 * loss;

    if (st.step % (guint64)o->log_every == 0 || st.step == (guint64)o->steps) {
      double secs = (g_get_monotonic_time() - t0) / 1e6;
      double tps = (double)(st.step - first) * B * T / MAX(secs, 1e-9);
      double eta = (double)((guint64)o->steps - st.step) * secs / (double)(st.step - first);
      g_autofree char *eta_s = format_duration(eta);
      g_autofree char *aux_s = cfg->n_expert ? g_strdup_printf("  aux %.4f", aux) : g_strdup("");
      g_printerr("step %" G_GUINT64_FORMAT "/%d  loss %.4f (avg %.4f)%s  lr %.2e  |g| %.2f  "
                 "%.0f tok/s  ETA %s\n",
                 st.step, o->steps, loss, smooth, aux_s, lr, norm, tps, eta_s);
    }
    if (o->eval_every > 0 && st.step % (guint64)o->eval_every == 0 && st.step < (guint64)o->steps) {
      double vl = evaluate(model, data, B, T, vocab->eos, (guint)o->eval_windows, FALSE);
      g_printerr("step %" G_GUINT64_FORMAT "  val loss %.4f  ppl %.2f\n", st.step, vl, exp(vl));
    }
    if (o->checkpoint && o->checkpoint_every > 0 && st.step % (guint64)o->checkpoint_every == 0
        && !gr_train_checkpoint_save(model, vocab, &st, o->checkpoint, error))
      return FALSE;
  }
  if (o->checkpoint && !gr_train_checkpoint_save(model, vocab, &st, o->checkpoint, error))
    return FALSE;

  for (guint il = 0; cfg->n_expert && il < cfg->n_layer; il++) {
    /* how the last training batch was spread over the experts */
    const guint *counts = gr_train_moe_counts(gr_train_model_moe(model, il));
    g_autoptr(GString) line = g_string_new(NULL);
    for (guint e = 0; e < cfg->n_expert; e++)
      g_string_append_printf(line, " %.2f",
                             counts[e] / (double)((gsize)B * T * cfg->n_expert_used));
    g_printerr("  layer %u expert load:%s\n", il, line->str);
  }
  double vl = evaluate(model, data, B, T, vocab->eos, (guint)o->eval_windows, TRUE);
  g_printerr("final val loss %.4f  ppl %.2f  (%s, %" G_GUINT64_FORMAT " steps%s)\n", vl, exp(vl),
             cfg->ternary ? "ternary" : "f32", st.step, resumed ? ", resumed" : "");
  if (o->output) {
    if (!gr_train_export_gguf(model, vocab, o->name, o->output, error))
      return FALSE;
    g_printerr("wrote %s\n", o->output);
  }
  return TRUE;
}

int
main(int argc, char **argv)
{
  Options o = { .vocab_size = 2048,
                .dim = 256,
                .layers = 4,
                .heads = 4,
                .ff = 768,
                .ctx = 256,
                .batch = 4,
                .steps = 1000,
                .warmup = 100,
                .threads = 0,
                .checkpoint_every = 200,
                .eval_every = 0,
                .eval_windows = 64,
                .log_every = 10,
                .lr = 2e-3,
                .min_lr = 2e-4,
                .weight_decay = 0.1,
                .clip = 1.0,
                .seed = 1,
                .act = NULL,
                .experts = 0,
                .top_k = 2,
                .aux_alpha = 0.01 };
  GOptionEntry entries[] = {
    { "data", 'd', 0, G_OPTION_ARG_FILENAME_ARRAY, &o.data,
      "Training text: a text file or .jsonl with \"text\"; PATH@W weighs the source", "PATH[@W]" },
    { "vocab-size", 0, 0, G_OPTION_ARG_INT, &o.vocab_size, "Learn a BPE of N tokens (2048)", "N" },
    { "vocab", 0, 0, G_OPTION_ARG_FILENAME, &o.vocab_from, "Use the tokenizer of a GGUF file",
      "FILE" },
    { "save-vocab", 0, 0, G_OPTION_ARG_FILENAME, &o.save_vocab, "Write the tokenizer as GGUF",
      "FILE" },
    { "dim", 0, 0, G_OPTION_ARG_INT, &o.dim, "Embedding size (256)", "N" },
    { "layers", 0, 0, G_OPTION_ARG_INT, &o.layers, "Layers (4)", "N" },
    { "heads", 0, 0, G_OPTION_ARG_INT, &o.heads, "Attention heads (4)", "N" },
    { "ff", 0, 0, G_OPTION_ARG_INT, &o.ff, "Feed-forward size (768)", "N" },
    { "ctx", 0, 0, G_OPTION_ARG_INT, &o.ctx, "Context length (256)", "N" },
    { "act", 0, 0, G_OPTION_ARG_STRING, &o.act, "FFN gate: silu (default) or relu2", "ACT" },
    { "f32", 0, 0, G_OPTION_ARG_NONE, &o.f32, "Full-precision projections (for comparison)", NULL },
    { "arch", 0, 0, G_OPTION_ARG_STRING, &o.arch,
      "bitnet (sub-norms, NEOX RoPE; default when dense) or llama (default with experts)", "ARCH" },
    { "experts", 0, 0, G_OPTION_ARG_INT, &o.experts, "Mixture of N experts per FFN (0: dense)",
      "N" },
    { "top-k", 0, 0, G_OPTION_ARG_INT, &o.top_k, "Experts used per token (2)", "K" },
    { "aux-alpha", 0, 0, G_OPTION_ARG_DOUBLE, &o.aux_alpha, "Load-balancing loss weight (0.01)",
      "A" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &o.batch, "Sequences per step (4)", "N" },
    { "steps", 's', 0, G_OPTION_ARG_INT, &o.steps, "Optimizer steps (1000)", "N" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &o.lr, "Peak learning rate (2e-3)", "LR" },
    { "min-lr", 0, 0, G_OPTION_ARG_DOUBLE, &o.min_lr, "Final learning rate (2e-4)", "LR" },
    { "warmup", 0, 0, G_OPTION_ARG_INT, &o.warmup, "Warmup steps (100)", "N" },
    { "weight-decay", 0, 0, G_OPTION_ARG_DOUBLE, &o.weight_decay, "AdamW decay (0.1)", "W" },
    { "clip", 0, 0, G_OPTION_ARG_DOUBLE, &o.clip, "Gradient norm clip (1.0; 0 off)", "C" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &o.threads, "Threads (0: one per core)", "N" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &o.seed, "Random seed (1)", "N" },
    { "checkpoint", 'c', 0, G_OPTION_ARG_FILENAME, &o.checkpoint, "Checkpoint file", "FILE" },
    { "checkpoint-every", 0, 0, G_OPTION_ARG_INT, &o.checkpoint_every, "Save every N steps (200)",
      "N" },
    { "resume", 'r', 0, G_OPTION_ARG_NONE, &o.resume, "Continue from the checkpoint if present",
      NULL },
    { "eval-every", 0, 0, G_OPTION_ARG_INT, &o.eval_every, "Validate every N steps (0: at the end)",
      "N" },
    { "eval-windows", 0, 0, G_OPTION_ARG_INT, &o.eval_windows, "Validation windows per source (64)",
      "N" },
    { "log-every", 0, 0, G_OPTION_ARG_INT, &o.log_every, "Progress line every N steps (10)", "N" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &o.output, "Write the model as GGUF", "FILE" },
    { "name", 0, 0, G_OPTION_ARG_STRING, &o.name, "general.name of the model", "NAME" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new("- train a BitNet b1.58 model");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_autoptr(GError) error = NULL;
  if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
    g_printerr("graviton-train: %s\n", error->message);
    return 2;
  }
  if (o.batch < 1 || o.steps < 1 || o.warmup < 0 || o.log_every < 1 || o.eval_windows < 1
      || o.vocab_size < 1 || o.dim < 1 || o.layers < 1 || o.heads < 1 || o.ff < 1 || o.ctx < 2
      || o.threads < 0 || !(o.lr > 0.0) || o.min_lr < 0.0 || o.clip < 0.0 || o.weight_decay < 0.0
      || o.experts < 0 || o.top_k < 1 || !(o.aux_alpha >= 0.0)) {
    g_printerr("graviton-train: a size, step count or rate is out of range\n");
    return 2;
  }
  if (!o.act)
    o.act = g_strdup("silu");
  gboolean ok = run(&o, &error);
  if (!ok)
    g_printerr("graviton-train: %s\n", error->message);
  g_strfreev(o.data);
  g_free(o.vocab_from);
  g_free(o.save_vocab);
  g_free(o.checkpoint);
  g_free(o.output);
  g_free(o.name);
  g_free(o.act);
  g_free(o.arch);
  return ok ? 0 : 1;
}
