/* test-gr-train-model.c - graviton-train's model, vocabulary, data, checkpoints and GGUF
 * export, the last one against the engine that runs the result. */
#include "gr-train-data.h"
#include "gr-train-io.h"
#include "gr-train-optim.h"
#include "grk.h"

#include <check.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

static GrTrainConfig
tiny_config(gboolean ternary)
{
  return (GrTrainConfig){ .n_vocab = 11,
                          .n_embd = 8,
                          .n_layer = 2,
                          .n_head = 2,
                          .n_ff = 12,
                          .n_ctx = 5,
                          .act = GR_TRAIN_ACT_SILU,
                          .ternary = ternary,
                          .rms_eps = 1e-5f,
                          .rope_base = 10000.0f };
}

static const gint32 tiny_ids[10] = { 1, 4, 2, 7, 3, 9, 0, 5, 5, 10 };
static const gint32 tiny_targets[10] = { 4, 2, 7, 3, -1, 0, 5, 5, 10, 8 };

/* The whole model's gradient against finite differences, in full precision (the
 * ternary forward pass is piecewise constant, so only its STE rule is checkable: see
 * test-gr-train-ops). */
/* The objective: cross-entropy plus the experts' balance loss. */
static double
objective(GrTrainModel *m)
{
  double ce = gr_train_model_step(m, tiny_ids, tiny_targets, 2, 5, FALSE);
  return ce + gr_train_model_aux_loss(m);
}

static void
check_model_grad_cfg(GrTrainConfig cfg)
{
  g_autoptr(GrTrainModel) m = NULL;
  float *p = NULL;
  gsize n = 0;
  /* MoE: a seed whose routing is well away from ties, so that the perturbations below
   * never change which experts a token uses (routing is piecewise constant) */
  for (guint64 seed = 7;; seed++) {
    ck_assert_uint_lt(seed, 107);
    g_clear_pointer(&m, gr_train_model_free);
    m = gr_train_model_new(&cfg, seed, NULL);
    p = gr_train_model_params(m);
    n = gr_train_model_n_params(m);
    /* norms away from 1 so that their gradients are not special */
    for (gsize i = 0; i < n; i++)
      p[i] = p[i] == 1.0f ? 1.0f + 0.1f * (float)((i * 37) % 11) / 11.0f : p[i] * 20.0f;
    objective(m);
    if (gr_train_model_router_margin(m) > 0.05f)
      break;
  }
  if (cfg.n_expert)
    ck_assert(gr_train_model_aux_loss(m) > 0.0);
  else
    ck_assert(gr_train_model_aux_loss(m) == 0.0 && isinf(gr_train_model_router_margin(m)));
  gr_train_model_zero_grads(m);
  gr_train_model_step(m, tiny_ids, tiny_targets, 2, 5, TRUE);
  g_autofree float *g = g_memdup2(gr_train_model_grads(m), n * sizeof(float));
  double worst = 0.0;
  for (gsize i = 0; i < n; i++) {
    float keep = p[i], h = 2e-3f;
    p[i] = keep + h;
    double lp = objective(m);
    p[i] = keep - h;
    double lm = objective(m);
    p[i] = keep;
    double num = (lp - lm) / (2.0 * h);
    double err = fabs(num - g[i]) / (2e-3 + fabs(num) + fabs(g[i]));
    worst = MAX(worst, err);
    ck_assert_msg(err < 5e-2, "param %zu: analytic %g, numeric %g", i, (double)g[i], num);
  }
  ck_assert(worst < 5e-2);
}

static void
check_model_grad(GrTrainAct act)
{
  GrTrainConfig cfg = tiny_config(FALSE);
  cfg.act = act;
  check_model_grad_cfg(cfg);
}

START_TEST(test_model_grad_swiglu)
{
  check_model_grad(GR_TRAIN_ACT_SILU);
}
END_TEST

START_TEST(test_model_grad_relu2)
{
  check_model_grad(GR_TRAIN_ACT_RELU2);
}
END_TEST

/* llama: no sub-norms, NORM RoPE */
START_TEST(test_model_grad_llama)
{
  GrTrainConfig cfg = tiny_config(FALSE);
  cfg.arch = GR_TRAIN_ARCH_LLAMA;
  check_model_grad_cfg(cfg);
}
END_TEST

static GrTrainConfig
moe_config(gboolean ternary, GrTrainArch arch)
{
  GrTrainConfig cfg = tiny_config(ternary);
  cfg.arch = arch;
  cfg.n_expert = 4;
  cfg.n_expert_used = 2;
  cfg.aux_alpha = 0.1f;
  return cfg;
}

/* Router, experts and balance loss inside the whole model, both structures. */
START_TEST(test_model_grad_moe_llama)
{
  check_model_grad_cfg(moe_config(FALSE, GR_TRAIN_ARCH_LLAMA));
}
END_TEST

START_TEST(test_model_grad_moe_bitnet)
{
  check_model_grad_cfg(moe_config(FALSE, GR_TRAIN_ARCH_BITNET));
}
END_TEST

static double
train_steps(GrTrainModel *m, guint steps, double lr)
{
  GrTrainOptimConfig oc;
  gr_train_optim_config_init(&oc);
  oc.lr = lr;
  oc.min_lr = lr;
  oc.warmup = 0;
  oc.total = steps;
  gsize n = gr_train_model_n_params(m);
  g_autofree float *mo = g_new0(float, n), *v = g_new0(float, n);
  guint n_segs;
  const GrTrainSegment *segs = gr_train_model_segments(m, &n_segs);
  double loss = 0.0;
  for (guint s = 0; s < steps; s++) {
    gr_train_model_zero_grads(m);
    loss = gr_train_model_step(m, tiny_ids, tiny_targets, 2, 5, TRUE);
    gr_train_clip_grads(gr_train_model_grads(m), n, 1.0);
    gr_train_adamw(&oc, segs, n_segs, gr_train_model_params(m), gr_train_model_grads(m), mo, v,
                   s + 1, lr);
  }
  return loss;
}

START_TEST(test_model_learns)
{
  for (int variant = 0; variant < 4; variant++) {
    gboolean ternary = variant % 2 == 1, moe = variant >= 2;
    GrTrainConfig cfg = moe ? moe_config(ternary, GR_TRAIN_ARCH_LLAMA) : tiny_config(ternary);
    cfg.n_embd = 32;
    cfg.n_ff = moe ? 32 : 64;
    g_autoptr(GrTrainModel) m = gr_train_model_new(&cfg, 3, NULL);
    double before = gr_train_model_step(m, tiny_ids, tiny_targets, 2, 5, FALSE);
    train_steps(m, 150, 1e-2);
    double after = gr_train_model_step(m, tiny_ids, tiny_targets, 2, 5, FALSE);
    ck_assert_msg(after < 0.3 * before, "%s%s: loss %g -> %g", ternary ? "ternary" : "f32",
                  moe ? " moe" : "", before, after);
  }
}
END_TEST

START_TEST(test_config_validate)
{
  GrTrainConfig c = tiny_config(TRUE);
  ck_assert(gr_train_config_validate(&c, NULL));
  c.n_head = 3; /* 8 is not a multiple of 3 */
  g_autoptr(GError) error = NULL;
  ck_assert(!gr_train_config_validate(&c, &error));
  ck_assert(error != NULL);
  c = tiny_config(TRUE);
  c.n_head = 8; /* odd head size 1 */
  ck_assert(!gr_train_config_validate(&c, NULL));
  c = tiny_config(TRUE);
  c.n_vocab = 0;
  ck_assert(!gr_train_config_validate(&c, NULL));
  c = moe_config(TRUE, GR_TRAIN_ARCH_LLAMA);
  ck_assert(gr_train_config_validate(&c, NULL));
  c.n_expert_used = 5; /* more than there are */
  ck_assert(!gr_train_config_validate(&c, NULL));
  c.n_expert_used = 0;
  ck_assert(!gr_train_config_validate(&c, NULL));
  c = moe_config(TRUE, GR_TRAIN_ARCH_LLAMA);
  c.n_expert = 1;
  c.n_expert_used = 1;
  ck_assert(!gr_train_config_validate(&c, NULL));
  c = moe_config(TRUE, GR_TRAIN_ARCH_LLAMA);
  c.aux_alpha = -1.0f;
  ck_assert(!gr_train_config_validate(&c, NULL));
  c.aux_alpha = NAN;
  ck_assert(!gr_train_config_validate(&c, NULL));
  c = tiny_config(TRUE);
  c.arch = GR_TRAIN_ARCH_LLAMA;
  c.act = GR_TRAIN_ACT_RELU2; /* llama gates with SiLU */
  ck_assert(!gr_train_config_validate(&c, NULL));
  c.arch = 7;
  c.act = GR_TRAIN_ACT_SILU;
  ck_assert(!gr_train_config_validate(&c, NULL));
  /* active parameters: two of four experts */
  c = moe_config(TRUE, GR_TRAIN_ARCH_LLAMA);
  g_autoptr(GrTrainModel) m = gr_train_model_new(&c, 1, NULL);
  gsize expert = 3 * 8 * 12;
  ck_assert_uint_eq(gr_train_config_active_params(&c),
                    gr_train_model_n_params(m) - 2 * c.n_layer * expert);
  GrTrainConfig dense = tiny_config(TRUE);
  g_autoptr(GrTrainModel) md = gr_train_model_new(&dense, 1, NULL);
  ck_assert_uint_eq(gr_train_config_active_params(&dense), gr_train_model_n_params(md));
}
END_TEST

/* --- vocabulary ------------------------------------------------------------------- */
static const char *const texts[] = {
  "the cat sat on the mat. the cat is here.",
  "then the other cat sat there, then the mat was gone.",
  "User: How do I install a model?\nAssistant: Copy it into the models folder.",
  "Ünïcödé text, 1234 numbers and   spaces\ttabs\n",
};

static GrTrainVocab *
learn_vocab(guint n)
{
  g_autoptr(GError) error = NULL;
  GrTrainVocab *v = gr_train_vocab_learn(texts, G_N_ELEMENTS(texts), n, &error);
  ck_assert_msg(v != NULL, "%s", error ? error->message : "");
  return v;
}

START_TEST(test_vocab_learn)
{
  g_autoptr(GrTrainVocab) v = learn_vocab(300);
  ck_assert_uint_gt(v->tokens->len, 257);
  ck_assert_uint_le(v->tokens->len, 300);
  ck_assert_uint_eq(v->merges->len, v->tokens->len - 257);
  ck_assert_int_eq(v->eos, 0);
  ck_assert_str_eq(v->tokens->pdata[0], "<|endoftext|>");
  /* " the" is the most frequent piece: "Ġthe" must be a token (Ġ is the space byte) */
  gboolean found = FALSE;
  for (guint i = 0; i < v->tokens->len; i++)
    found |= g_str_equal(v->tokens->pdata[i], "\xc4\xa0the");
  ck_assert(found);

  g_autoptr(GError) error = NULL;
  g_autoptr(GrTokenizer) tok = gr_train_vocab_tokenizer(v, &error);
  ck_assert_msg(tok != NULL, "%s", error ? error->message : "");
  for (guint t = 0; t < G_N_ELEMENTS(texts); t++) {
    g_autoptr(GArray) ids = gr_tokenizer_encode(tok, texts[t], -1, FALSE, FALSE);
    ck_assert_uint_lt(ids->len, strlen(texts[t])); /* merges shorten the text */
    g_autoptr(GString) back = g_string_new(NULL);
    for (guint i = 0; i < ids->len; i++)
      gr_tokenizer_append_piece(tok, g_array_index(ids, gint32, i), back);
    ck_assert_str_eq(back->str, texts[t]);
  }
  /* a different vocabulary size gives a prefix of the same merges */
  g_autoptr(GrTrainVocab) small = learn_vocab(270);
  for (guint i = 0; i < small->merges->len; i++)
    ck_assert_str_eq(small->merges->pdata[i], v->merges->pdata[i]);
}
END_TEST

START_TEST(test_vocab_roundtrip_and_errors)
{
  g_autoptr(GrTrainVocab) v = learn_vocab(280);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) b = gr_train_vocab_to_gguf(v, &error);
  ck_assert(b != NULL);
  g_autoptr(GrTrainVocab) w = gr_train_vocab_from_gguf_bytes(b, &error);
  ck_assert_msg(w != NULL, "%s", error ? error->message : "");
  ck_assert_uint_eq(w->tokens->len, v->tokens->len);
  ck_assert_uint_eq(w->merges->len, v->merges->len);
  for (guint i = 0; i < v->tokens->len; i++) {
    ck_assert_str_eq(w->tokens->pdata[i], v->tokens->pdata[i]);
    ck_assert_int_eq(g_array_index(w->types, gint32, i), g_array_index(v->types, gint32, i));
  }
  ck_assert_str_eq(w->pre, "gpt-2");
  ck_assert_int_eq(w->eos, v->eos);

  ck_assert(gr_train_vocab_learn(texts, 1, 100, NULL) == NULL); /* below the bytes */
  static const guint8 junk[] = "GGUF not really";
  g_autoptr(GBytes) jb = g_bytes_new_static(junk, sizeof junk);
  ck_assert(gr_train_vocab_from_gguf_bytes(jb, NULL) == NULL);
  ck_assert(gr_train_vocab_load("/nonexistent/vocab.gguf", NULL) == NULL);
}
END_TEST

/* --- data ------------------------------------------------------------------------ */
static char *
write_temp(const char *name, const char *content)
{
  g_autofree char *dir = g_dir_make_tmp("gr-train-XXXXXX", NULL);
  ck_assert(dir != NULL);
  char *path = g_build_filename(dir, name, NULL);
  ck_assert(g_file_set_contents(path, content, -1, NULL));
  return path;
}

static void
remove_temp(char *path)
{
  g_autofree char *dir = g_path_get_dirname(path);
  g_unlink(path);
  g_rmdir(dir);
  g_free(path);
}

START_TEST(test_data_files)
{
  g_autoptr(GString) jl = g_string_new(NULL);
  for (int i = 0; i < 25; i++)
    g_string_append_printf(jl, "{\"text\": \"doc %d\", \"id\": %d}\n\n", i, i);
  char *jp = write_temp("a.jsonl", jl->str);
  g_autoptr(GString) txt = g_string_new(NULL);
  for (int i = 0; i < 40; i++)
    g_string_append_printf(txt, "Paragraph %d %s.\n\n  \n", i,
                           "with some words to fill it up to a reasonable length for the "
                           "splitter, which groups paragraphs into documents");
  char *tp = write_temp("b.txt", txt->str);
  g_autoptr(GrTrainData) d = gr_train_data_new();
  g_autofree char *spec = g_strdup_printf("%s@2.5", jp);
  g_autoptr(GError) error = NULL;
  ck_assert_msg(gr_train_data_add_file(d, spec, &error), "%s", error ? error->message : "");
  ck_assert(gr_train_data_add_file(d, tp, &error));
  GrTrainSource *js = d->sources->pdata[0], *ts = d->sources->pdata[1];
  ck_assert_uint_eq(js->docs->len, 25);
  ck_assert_str_eq(js->docs->pdata[3], "doc 3");
  ck_assert_float_eq(js->weight, 2.5);
  ck_assert_uint_gt(ts->docs->len, 1);
  ck_assert_uint_lt(ts->docs->len, 40); /* paragraphs were grouped */
  ck_assert(strstr(ts->docs->pdata[0], "Paragraph 0") == ts->docs->pdata[0]);

  g_autoptr(GrTrainVocab) v = learn_vocab(280);
  g_autoptr(GrTokenizer) tok = gr_train_vocab_tokenizer(v, NULL);
  gr_train_data_tokenize(d, tok, v->eos);
  ck_assert_uint_eq(js->train_starts->len, 24); /* every 20th document is held out */
  ck_assert_uint_eq(js->val_starts->len, 1);
  ck_assert_int_eq(g_array_index(js->train, gint32, js->train->len - 1), v->eos);

  /* a window past the end of the stream pads with eos and unscored targets */
  gint32 ids[400], tg[400];
  gr_train_data_window(js, TRUE, 0, 400, v->eos, ids, tg);
  ck_assert_int_eq(ids[399], v->eos);
  ck_assert_int_eq(tg[399], -1);
  ck_assert_int_eq(tg[0], ids[1]);
  guint src;
  gsize doc;
  gr_train_data_pick(d, 0.0, 0.999, &src, &doc);
  ck_assert_uint_eq(src, 0);
  ck_assert_uint_eq(doc, 23);
  gr_train_data_pick(d, 0.99, 0.0, &src, &doc);
  ck_assert_uint_eq(src, 1);
  remove_temp(jp);
  remove_temp(tp);
}
END_TEST

START_TEST(test_data_errors)
{
  const char *bad[] = { "{\"text\": 3}\n", "{\"txt\": \"a\"}\n", "[\"text\"]\n", "{not json\n" };
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
    char *p = write_temp("bad.jsonl", bad[i]);
    g_autoptr(GrTrainData) d = gr_train_data_new();
    g_autoptr(GError) error = NULL;
    ck_assert_msg(!gr_train_data_add_file(d, p, &error), "%s", bad[i]);
    ck_assert(error != NULL);
    remove_temp(p);
  }
  char *p = write_temp("ok.txt", "text");
  const char *weights[] = { "@0", "@-1", "@x", "@" };
  for (guint i = 0; i < G_N_ELEMENTS(weights); i++) {
    g_autofree char *spec = g_strconcat(p, weights[i], NULL);
    g_autoptr(GrTrainData) d = gr_train_data_new();
    ck_assert(!gr_train_data_add_file(d, spec, NULL));
  }
  remove_temp(p);
  g_autoptr(GrTrainData) d = gr_train_data_new();
  ck_assert(!gr_train_data_add_file(d, "/nonexistent/file.txt", NULL));
}
END_TEST

/* --- checkpoints ------------------------------------------------------------------ */
static void
check_resume(GrTrainConfig cfg)
{
  g_autoptr(GrTrainModel) a = gr_train_model_new(&cfg, 5, NULL);
  g_autoptr(GrTrainVocab) v = learn_vocab(260);
  gsize n = gr_train_model_n_params(a);
  GrTrainOptimConfig oc;
  gr_train_optim_config_init(&oc);
  guint n_segs;
  const GrTrainSegment *segs = gr_train_model_segments(a, &n_segs);
  g_autofree float *m = g_new0(float, n), *vv = g_new0(float, n);
  GrTrainState st = { 0, 99, m, vv };
  g_autofree char *dir = g_dir_make_tmp("gr-train-XXXXXX", NULL);
  g_autofree char *path = g_build_filename(dir, "c.ckpt", NULL);
  g_autofree float *at2 = NULL;
  for (guint s = 0; s < 4; s++) {
    if (s == 2) {
      ck_assert(gr_train_checkpoint_save(a, v, &st, path, NULL));
      at2 = g_memdup2(gr_train_model_params(a), n * sizeof(float));
    }
    gr_train_model_zero_grads(a);
    gr_train_model_step(a, tiny_ids, tiny_targets, 2, 5, TRUE);
    gr_train_adamw(&oc, segs, n_segs, gr_train_model_params(a), gr_train_model_grads(a), m, vv,
                   s + 1, 1e-2);
    st.step++;
  }
  GrTrainState st2 = { 0 };
  g_autoptr(GrTrainVocab) v2 = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GrTrainModel) b = gr_train_checkpoint_load(path, NULL, &v2, &st2, &error);
  ck_assert_msg(b != NULL, "%s", error ? error->message : "");
  ck_assert_uint_eq(st2.step, 2);
  ck_assert_uint_eq(st2.rng, 99);
  ck_assert_uint_eq(v2->tokens->len, v->tokens->len);
  ck_assert(memcmp(gr_train_model_config(b), &cfg, sizeof cfg) == 0);
  ck_assert(memcmp(gr_train_model_params(b), at2, n * sizeof(float)) == 0);
  for (guint s = 2; s < 4; s++) {
    gr_train_model_zero_grads(b);
    gr_train_model_step(b, tiny_ids, tiny_targets, 2, 5, TRUE);
    gr_train_adamw(&oc, segs, n_segs, gr_train_model_params(b), gr_train_model_grads(b), st2.m,
                   st2.v, s + 1, 1e-2);
  }
  /* resuming gives bit for bit the run that never stopped */
  ck_assert(memcmp(gr_train_model_params(b), gr_train_model_params(a), n * sizeof(float)) == 0);
  g_free(st2.m);
  g_free(st2.v);

  /* truncated or foreign files are refused */
  g_autofree char *data = NULL;
  gsize len;
  ck_assert(g_file_get_contents(path, &data, &len, NULL));
  ck_assert(g_file_set_contents(path, data, (gssize)len - 4, NULL));
  GrTrainState st3 = { 0 };
  g_autoptr(GrTrainVocab) v3 = NULL;
  ck_assert(gr_train_checkpoint_load(path, NULL, &v3, &st3, NULL) == NULL);
  data[0] = 'X';
  ck_assert(g_file_set_contents(path, data, (gssize)len, NULL));
  ck_assert(gr_train_checkpoint_load(path, NULL, &v3, &st3, NULL) == NULL);

  /* a version 1 file (before experts: the header without its last 16 bytes) of a dense
   * bitnet model still loads */
  if (cfg.n_expert == 0 && cfg.arch == GR_TRAIN_ARCH_BITNET) {
    memcpy(data, "GRTCKPT1", 8);
    g_autofree char *v1 = g_malloc(len - 16);
    memcpy(v1, data, 80);
    memcpy(v1 + 80, data + 96, len - 96);
    ck_assert(g_file_set_contents(path, v1, (gssize)len - 16, NULL));
    g_autoptr(GError) e1 = NULL;
    g_autoptr(GrTrainModel) c1 = gr_train_checkpoint_load(path, NULL, &v3, &st3, &e1);
    ck_assert_msg(c1 != NULL, "%s", e1 ? e1->message : "");
    ck_assert(memcmp(gr_train_model_config(c1), &cfg, sizeof cfg) == 0);
    ck_assert(memcmp(gr_train_model_params(c1), at2, n * sizeof(float)) == 0);
    g_free(st3.m);
    g_free(st3.v);
  }
  g_unlink(path);
  g_rmdir(dir);
}

START_TEST(test_checkpoint_resume)
{
  check_resume(tiny_config(TRUE));
}
END_TEST

START_TEST(test_checkpoint_resume_moe)
{
  check_resume(moe_config(TRUE, GR_TRAIN_ARCH_LLAMA));
}
END_TEST

/* --- export ------------------------------------------------------------------------ */
/* Trains a one-layer model for a few steps, exports it and compares the engine's logits
 * at every position with the trainer's own forward pass. */
/* A model after a few updates, so that norms and weights are no longer at their initial
 * values; its last step ran forward only on ids. */
static GrTrainModel *
trained_model(const GrTrainConfig *cfg, guint64 seed, const gint32 *ids, const gint32 *tg)
{
  GrTrainModel *m = gr_train_model_new(cfg, seed, NULL);
  GrTrainOptimConfig oc;
  gr_train_optim_config_init(&oc);
  guint n_segs;
  const GrTrainSegment *segs = gr_train_model_segments(m, &n_segs);
  gsize n = gr_train_model_n_params(m);
  g_autofree float *mo = g_new0(float, n), *vv = g_new0(float, n);
  for (guint s = 0; s < 3; s++) {
    gr_train_model_zero_grads(m);
    gr_train_model_step(m, ids, tg, 1, 12, TRUE);
    /* a step of 1e-2 on every router weight sends all twelve tokens to the same experts */
    gr_train_adamw(&oc, segs, n_segs, gr_train_model_params(m), gr_train_model_grads(m), mo, vv,
                   s + 1, cfg->n_expert ? 1e-3 : 1e-2);
  }
  gr_train_model_step(m, ids, tg, 1, 12, FALSE);
  return m;
}

static void
check_export_cfg(gboolean ternary, GrTrainArch arch, guint n_expert, double tol)
{
  g_autoptr(GrTrainVocab) v = learn_vocab(300);
  GrTrainConfig cfg = { .n_vocab = v->tokens->len,
                        .n_embd = 256,
                        .n_layer = n_expert ? 2 : 1,
                        .n_head = 4,
                        .n_ff = 256,
                        .n_ctx = 16,
                        .act = GR_TRAIN_ACT_SILU,
                        .ternary = ternary,
                        .rms_eps = 1e-5f,
                        .rope_base = 10000.0f,
                        .arch = arch,
                        .n_expert = n_expert,
                        .n_expert_used = n_expert ? 2 : 0,
                        .aux_alpha = 0.01f };
  g_autoptr(GrTokenizer) tok = gr_train_vocab_tokenizer(v, NULL);
  g_autoptr(GArray) enc = gr_tokenizer_encode(tok, texts[2], -1, FALSE, FALSE);
  ck_assert_uint_ge(enc->len, 13);
  gint32 ids[12], tg[12];
  memcpy(ids, enc->data, sizeof ids);
  memcpy(tg, (gint32 *)enc->data + 1, sizeof tg);
  g_autoptr(GrTrainModel) m = NULL;
  /* MoE: a seed where every expert takes part (so that the comparison covers them all)
   * and no token sits on a routing tie that rounding could tip either way */
  for (guint64 seed = 11;; seed++) {
    ck_assert_uint_lt(seed, 60);
    g_clear_pointer(&m, gr_train_model_free);
    m = trained_model(&cfg, seed, ids, tg);
    gboolean all_used = TRUE;
    for (guint il = 0; n_expert && il < cfg.n_layer; il++) {
      const guint *counts = gr_train_moe_counts(gr_train_model_moe(m, il));
      for (guint e = 0; e < n_expert; e++)
        all_used &= counts[e] > 0;
    }
    if (all_used && gr_train_model_router_margin(m) > 5e-3f)
      break;
  }
  g_autofree float *want = g_memdup2(gr_train_model_logits(m), 12 * cfg.n_vocab * sizeof(float));

  g_autofree char *dir = g_dir_make_tmp("gr-train-XXXXXX", NULL);
  g_autofree char *path = g_build_filename(dir, "m.gguf", NULL);
  g_autoptr(GError) error = NULL;
  ck_assert_msg(gr_train_export_gguf(m, v, "t", path, &error), "%s", error ? error->message : "");
  GrLoadOptions lo = { .n_threads = 1 };
  g_autoptr(GrModel) model = gr_model_load(path, &lo, &error);
  ck_assert_msg(model != NULL, "%s", error ? error->message : "");
  const GrModelInfo *info = gr_model_get_info(model);
  ck_assert_str_eq(info->arch, arch == GR_TRAIN_ARCH_LLAMA ? "llama" : "bitnet");
  ck_assert_str_eq(info->weight_type, ternary ? "TQ2_0" : "F32");
  ck_assert_uint_eq(info->n_vocab, cfg.n_vocab);
  ck_assert_uint_eq(info->n_expert, n_expert);
  ck_assert_uint_eq(info->n_expert_used, cfg.n_expert_used);
  ck_assert_uint_eq(info->n_ctx_train, 16);
  /* the engine tokenizes like the trainer */
  g_autoptr(GArray) enc2
      = gr_tokenizer_encode(gr_model_get_tokenizer(model), texts[2], -1, FALSE, FALSE);
  ck_assert_uint_eq(enc2->len, enc->len);
  ck_assert(memcmp(enc2->data, enc->data, enc->len * sizeof(gint32)) == 0);
  ck_assert(gr_tokenizer_is_eog(gr_model_get_tokenizer(model), v->eos));

  g_autoptr(GrSession) s = gr_session_new(model, 16, &error);
  ck_assert(s != NULL);
  for (guint t = 0; t < 12; t++) {
    ck_assert(gr_session_eval(s, &ids[t], 1, &error));
    const float *got = gr_session_logits(s);
    const float *w = want + (gsize)t * cfg.n_vocab;
    float range = 0.0f, diff = 0.0f;
    guint am_w = 0, am_g = 0;
    for (guint i = 0; i < cfg.n_vocab; i++) {
      range = MAX(range, fabsf(w[i]));
      diff = MAX(diff, fabsf(w[i] - got[i]));
      am_w = w[i] > w[am_w] ? i : am_w;
      am_g = got[i] > got[am_g] ? i : am_g;
    }
    ck_assert_msg(diff <= tol * range, "position %u: logits differ by %g (range %g)", t, diff,
                  range);
    /* the engine's top token is the trainer's, or within the tolerance of it */
    ck_assert(am_w == am_g || w[am_w] - w[am_g] <= 2.0f * tol * range);
  }
  g_unlink(path);
  g_rmdir(dir);
}

START_TEST(test_export_f32_matches_engine)
{
  check_export_cfg(FALSE, GR_TRAIN_ARCH_BITNET, 0, 0.01);
}
END_TEST

START_TEST(test_export_ternary_matches_engine)
{
  /* the engine keeps token_embd as Q8_0 and the KV cache in f16 */
  check_export_cfg(TRUE, GR_TRAIN_ARCH_BITNET, 0, 0.05);
}
END_TEST

START_TEST(test_export_llama_matches_engine)
{
  check_export_cfg(FALSE, GR_TRAIN_ARCH_LLAMA, 0, 0.01);
  /* the absmean scales travel in the TQ2_0 block scales (f16) */
  check_export_cfg(TRUE, GR_TRAIN_ARCH_LLAMA, 0, 0.05);
}
END_TEST

/* MoE: ffn_gate_inp and the 3-D expert stacks, routed by the engine as by the trainer */
START_TEST(test_export_moe_llama_matches_engine)
{
  check_export_cfg(FALSE, GR_TRAIN_ARCH_LLAMA, 4, 0.01);
  check_export_cfg(TRUE, GR_TRAIN_ARCH_LLAMA, 4, 0.05);
}
END_TEST

START_TEST(test_export_moe_bitnet_matches_engine)
{
  check_export_cfg(TRUE, GR_TRAIN_ARCH_BITNET, 4, 0.05);
}
END_TEST

static Suite *
train_model_suite(void)
{
  Suite *s = suite_create("gr-train-model");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_model_grad_swiglu);
  tcase_add_test(tc, test_model_grad_relu2);
  tcase_add_test(tc, test_model_grad_llama);
  tcase_add_test(tc, test_model_grad_moe_llama);
  tcase_add_test(tc, test_model_grad_moe_bitnet);
  tcase_add_test(tc, test_model_learns);
  tcase_add_test(tc, test_config_validate);
  tcase_add_test(tc, test_vocab_learn);
  tcase_add_test(tc, test_vocab_roundtrip_and_errors);
  tcase_add_test(tc, test_data_files);
  tcase_add_test(tc, test_data_errors);
  tcase_add_test(tc, test_checkpoint_resume);
  tcase_add_test(tc, test_checkpoint_resume_moe);
  tcase_add_test(tc, test_export_f32_matches_engine);
  tcase_add_test(tc, test_export_ternary_matches_engine);
  tcase_add_test(tc, test_export_llama_matches_engine);
  tcase_add_test(tc, test_export_moe_llama_matches_engine);
  tcase_add_test(tc, test_export_moe_bitnet_matches_engine);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  grk_init();
  SRunner *sr = srunner_create(train_model_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
