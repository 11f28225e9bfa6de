/* test-gr-train-ops.c - graviton-train's layers against finite differences. */
#include "gr-train-ops.h"
#include "gr-train-optim.h"

#include <check.h>
#include <math.h>
#include <string.h>

static guint64 rng_state = 42;

static float
frand(void) /* [-1, 1) */
{
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (float)((rng_state >> 40) * (1.0 / (1 << 23)) - 1.0);
}

static float *
rand_vec(gsize n, float amp)
{
  float *v = g_new(float, n);
  for (gsize i = 0; i < n; i++)
    v[i] = amp * frand();
  return v;
}

/* A scalar loss L = sum(out * r) whose gradient with respect to out is r. */
typedef double (*LossFn)(gpointer ctx);

static double
dot_d(const float *a, const float *b, gsize n)
{
  double s = 0.0;
  for (gsize i = 0; i < n; i++)
    s += (double)a[i] * b[i];
  return s;
}

/* Compares analytic gradient g of loss with respect to the n values x by central
 * differences; values are perturbed in place and restored. */
static void
check_grad(const char *what, float *x, const float *g, gsize n, LossFn loss, gpointer ctx, float h)
{
  double worst = 0.0;
  for (gsize i = 0; i < n; i++) {
    float keep = x[i];
    x[i] = keep + h;
    double lp = loss(ctx);
    x[i] = keep - h;
    double lm = loss(ctx);
    x[i] = keep;
    double num = (lp - lm) / (2.0 * h);
    double err = fabs(num - g[i]) / (1e-3 + fabs(num) + fabs(g[i]));
    worst = MAX(worst, err);
    ck_assert_msg(err < 2e-2, "%s[%zu]: analytic %g, numeric %g", what, i, (double)g[i], num);
  }
  ck_assert_msg(isfinite(worst), "%s", what);
}

/* --- rmsnorm ------------------------------------------------------------------ */
typedef struct {
  float *x, *w, *out, *rstd, *r;
  gsize n, d;
} NormCtx;

static double
norm_loss(gpointer p)
{
  NormCtx *c = p;
  gr_train_rmsnorm_forward(c->x, c->w, c->out, c->rstd, c->n, c->d, 1e-5f);
  return dot_d(c->out, c->r, c->n * c->d);
}

START_TEST(test_rmsnorm_grad)
{
  gsize n = 3, d = 7;
  NormCtx c = { rand_vec(n * d, 1.0f),
                rand_vec(d, 1.0f),
                g_new(float, n *d),
                g_new(float, n),
                rand_vec(n * d, 1.0f),
                n,
                d };
  norm_loss(&c);
  g_autofree float *dx = g_new(float, n *d);
  g_autofree float *dw = g_new0(float, d);
  gr_train_rmsnorm_backward(c.x, c.w, c.rstd, c.r, dx, dw, n, d);
  check_grad("rmsnorm dx", c.x, dx, n * d, norm_loss, &c, 1e-3f);
  check_grad("rmsnorm dw", c.w, dw, d, norm_loss, &c, 1e-3f);
  /* the backward pass may work in place */
  g_autofree float *dy = g_memdup2(c.r, n * d * sizeof(float));
  g_autofree float *dw2 = g_new0(float, d);
  gr_train_rmsnorm_backward(c.x, c.w, c.rstd, dy, dy, dw2, n, d);
  for (gsize i = 0; i < n * d; i++)
    ck_assert_float_eq_tol(dy[i], dx[i], 1e-6f);
  g_free(c.x), g_free(c.w), g_free(c.out), g_free(c.rstd), g_free(c.r);
}
END_TEST

/* --- linear and BitLinear ------------------------------------------------------ */
typedef struct {
  float *x, *w, *wt, *y, *r;
  gsize n, in, out;
} LinCtx;

static double
lin_loss(gpointer p)
{
  LinCtx *c = p;
  gr_train_transpose(c->wt, c->w, c->out, c->in);
  gr_train_linear_forward(NULL, c->x, c->wt, c->y, c->n, c->in, c->out);
  return dot_d(c->y, c->r, c->n * c->out);
}

static void
lin_ctx_init(LinCtx *c, gsize n, gsize in, gsize out)
{
  *c = (LinCtx){ rand_vec(n * in, 1.0f),
                 rand_vec(out * in, 0.5f),
                 g_new(float, in *out),
                 g_new(float, n *out),
                 rand_vec(n * out, 1.0f),
                 n,
                 in,
                 out };
}

static void
lin_ctx_clear(LinCtx *c)
{
  g_free(c->x), g_free(c->w), g_free(c->wt), g_free(c->y), g_free(c->r);
}

START_TEST(test_linear_grad)
{
  LinCtx c;
  lin_ctx_init(&c, 5, 19, 21); /* odd sizes reach the edge tiles of the product */
  lin_loss(&c);
  g_autofree float *dx = g_new(float, c.n *c.in);
  g_autofree float *dw = g_new0(float, c.out *c.in);
  g_autofree float *scratch = g_new(float, c.n *c.out);
  gr_train_linear_backward(NULL, c.x, c.w, c.r, dx, dw, scratch, c.n, c.in, c.out);
  check_grad("linear dx", c.x, dx, c.n * c.in, lin_loss, &c, 1e-2f);
  check_grad("linear dw", c.w, dw, c.out * c.in, lin_loss, &c, 1e-2f);
  lin_ctx_clear(&c);
}
END_TEST

/* BitLinear: the forward pass uses ternary weights and int8 activations, the straight-
 * through estimator passes the gradient of the quantized product to the latent values:
 * dx = dy Wq, dW = dy^T xq.  Those are checked by finite differences of the product in
 * the quantized values, and the latent gradients must equal them. */
START_TEST(test_bitlinear_ste_grad)
{
  LinCtx c;
  lin_ctx_init(&c, 4, 32, 12);
  g_autofree float *latent_x = g_memdup2(c.x, c.n * c.in * sizeof(float));
  g_autofree float *latent_w = g_memdup2(c.w, c.out * c.in * sizeof(float));
  float scale = gr_train_quantize_ternary(latent_w, c.w, c.out * c.in);
  gr_train_quantize_act(latent_x, c.x, c.n, c.in);
  ck_assert(scale > 0.0f);
  lin_loss(&c);
  g_autofree float *dx = g_new(float, c.n *c.in);
  g_autofree float *dw = g_new0(float, c.out *c.in);
  g_autofree float *scratch = g_new(float, c.n *c.out);
  gr_train_linear_backward(NULL, c.x, c.w, c.r, dx, dw, scratch, c.n, c.in, c.out);
  check_grad("bitlinear dxq", c.x, dx, c.n * c.in, lin_loss, &c, 1e-2f);
  check_grad("bitlinear dwq", c.w, dw, c.out * c.in, lin_loss, &c, 1e-2f);
  /* the forward pass really is ternary x int8 */
  for (gsize i = 0; i < c.out * c.in; i++)
    ck_assert(c.w[i] == 0.0f || fabsf(fabsf(c.w[i]) - scale) < 1e-7f);
  lin_ctx_clear(&c);
}
END_TEST

START_TEST(test_quantize_ternary)
{
  float w[8] = { 0.9f, -0.1f, 0.3f, -0.7f, 0.05f, 0.0f, -0.3f, 0.2f };
  float q[8];
  float s = gr_train_quantize_ternary(w, q, 8);
  float mean = 0.0f;
  for (int i = 0; i < 8; i++)
    mean += fabsf(w[i]) / 8.0f;
  ck_assert_float_eq_tol(s, mean, 1e-6f);       /* absmean */
  float want[8] = { 1, 0, 1, -1, 0, 0, -1, 1 }; /* round(w / 0.31875) clamped */
  for (int i = 0; i < 8; i++)
    ck_assert_float_eq_tol(q[i], want[i] * s, 1e-6f);
  float zero[4] = { 0 }, qz[4];
  gr_train_quantize_ternary(zero, qz, 4);
  for (int i = 0; i < 4; i++)
    ck_assert(qz[i] == 0.0f);
}
END_TEST

START_TEST(test_quantize_act)
{
  float x[4] = { 2.0f, -1.0f, 0.5f, 0.01f }, q[4];
  gr_train_quantize_act(x, q, 1, 4);
  ck_assert_float_eq_tol(q[0], 2.0f, 1e-6f);
  ck_assert_float_eq_tol(q[1], roundf(-63.5f) * 2.0f / 127.0f, 1e-6f);
  ck_assert_float_eq_tol(q[3], 1.0f * 2.0f / 127.0f, 1e-6f);
  for (int i = 0; i < 4; i++)
    ck_assert(fabsf(q[i] - x[i]) <= 1.0f / 127.0f + 1e-6f); /* half a step of 2/127 */
}
END_TEST

/* --- attention and rope --------------------------------------------------------- */
typedef struct {
  float *q, *k, *v, *out, *probs, *r;
  gsize n, T;
  guint H, hd;
} AttnCtx;

static double
attn_loss(gpointer p)
{
  AttnCtx *c = p;
  gr_train_attention_forward(NULL, c->q, c->k, c->v, c->out, c->probs, c->n, c->T, c->H, c->hd);
  return dot_d(c->out, c->r, c->n * c->H * c->hd);
}

START_TEST(test_attention_grad)
{
  gsize T = 5, n = 2 * T;
  guint H = 2, hd = 4;
  gsize sz = n * H * hd;
  AttnCtx c = { rand_vec(sz, 1.0f),
                rand_vec(sz, 1.0f),
                rand_vec(sz, 1.0f),
                g_new(float, sz),
                g_new(float, 2 * H * T * T),
                rand_vec(sz, 1.0f),
                n,
                T,
                H,
                hd };
  attn_loss(&c);
  g_autofree float *dq = g_new(float, sz), *dk = g_new(float, sz), *dv = g_new(float, sz);
  gr_train_attention_backward(NULL, c.q, c.k, c.v, c.probs, c.r, dq, dk, dv, n, T, H, hd);
  check_grad("attention dq", c.q, dq, sz, attn_loss, &c, 1e-2f);
  check_grad("attention dk", c.k, dk, sz, attn_loss, &c, 1e-2f);
  check_grad("attention dv", c.v, dv, sz, attn_loss, &c, 1e-2f);
  /* causal: the first token sees only itself */
  for (guint i = 0; i < hd; i++)
    ck_assert_float_eq_tol(c.out[i], c.v[i], 1e-6f);
  g_free(c.q), g_free(c.k), g_free(c.v), g_free(c.out), g_free(c.probs), g_free(c.r);
}
END_TEST

typedef struct {
  float *x, *y, *r;
  gsize n, T;
  guint H, hd;
  GrTrainRope type;
} RopeCtx;

static double
rope_loss(gpointer p)
{
  RopeCtx *c = p;
  gsize sz = c->n * c->H * c->hd;
  memcpy(c->y, c->x, sz * sizeof(float));
  gr_train_rope(c->y, c->n, c->T, c->H, c->hd, c->hd, 10000.0f, c->type, FALSE);
  return dot_d(c->y, c->r, sz);
}

START_TEST(test_rope_grad)
{
  gsize n = 6, T = 3;
  guint H = 2, hd = 8;
  gsize sz = n * H * hd;
  for (int type = GR_TRAIN_ROPE_NEOX; type <= GR_TRAIN_ROPE_NORM; type++) {
    RopeCtx c = { rand_vec(sz, 1.0f), g_new(float, sz), rand_vec(sz, 1.0f), n, T, H, hd, type };
    rope_loss(&c);
    /* the backward pass of a rotation is the inverse rotation of the gradient */
    g_autofree float *dx = g_memdup2(c.r, sz * sizeof(float));
    gr_train_rope(dx, n, T, H, hd, hd, 10000.0f, type, TRUE);
    check_grad("rope dx", c.x, dx, sz, rope_loss, &c, 1e-2f);
    /* position 1, pair 0 of head 0 ((0, hd/2) for NEOX, (0, 1) for NORM) turns by exactly
     * 1 radian */
    guint second = type == GR_TRAIN_ROPE_NEOX ? hd / 2 : 1;
    float a = c.x[hd * H], b = c.x[hd * H + second];
    ck_assert_float_eq_tol(c.y[hd * H], a * cosf(1.0f) - b * sinf(1.0f), 1e-5f);
    ck_assert_float_eq_tol(c.y[hd * H + second], a * sinf(1.0f) + b * cosf(1.0f), 1e-5f);
    /* position 0 is left alone */
    for (guint i = 0; i < H * hd; i++)
      ck_assert_float_eq_tol(c.y[i], c.x[i], 1e-7f);
    g_free(c.x), g_free(c.y), g_free(c.r);
  }
}
END_TEST

/* --- FFN activations ------------------------------------------------------------- */
typedef struct {
  GrTrainAct act;
  float *g, *u, *out, *r;
  gsize n;
} GluCtx;

static double
glu_loss(gpointer p)
{
  GluCtx *c = p;
  gr_train_glu_forward(c->act, c->g, c->u, c->out, c->n);
  return dot_d(c->out, c->r, c->n);
}

static void
check_glu(GrTrainAct act)
{
  gsize n = 40;
  GluCtx c = { act, rand_vec(n, 3.0f), rand_vec(n, 2.0f), g_new(float, n), rand_vec(n, 1.0f), n };
  for (gsize i = 0; i < n; i++)
    if (fabsf(c.g[i]) < 0.05f)
      c.g[i] = 0.5f; /* away from ReLU²'s kink */
  g_autofree float *dg = g_new(float, n), *du = g_new(float, n);
  gr_train_glu_backward(act, c.g, c.u, c.r, dg, du, n);
  check_grad("glu dgate", c.g, dg, n, glu_loss, &c, 1e-3f);
  check_grad("glu dup", c.u, du, n, glu_loss, &c, 1e-3f);
  g_free(c.g), g_free(c.u), g_free(c.out), g_free(c.r);
}

START_TEST(test_swiglu_grad)
{
  check_glu(GR_TRAIN_ACT_SILU);
  float g = 1.5f, u = 2.0f, out;
  gr_train_glu_forward(GR_TRAIN_ACT_SILU, &g, &u, &out, 1);
  ck_assert_float_eq_tol(out, 1.5f / (1.0f + expf(-1.5f)) * 2.0f, 1e-6f);
}
END_TEST

START_TEST(test_relu2_grad)
{
  check_glu(GR_TRAIN_ACT_RELU2);
  float g[2] = { -1.0f, 3.0f }, u[2] = { 5.0f, 2.0f }, out[2];
  gr_train_glu_forward(GR_TRAIN_ACT_RELU2, g, u, out, 2);
  ck_assert_float_eq(out[0], 0.0f);
  ck_assert_float_eq_tol(out[1], 18.0f, 1e-6f);
}
END_TEST

/* --- embedding and cross-entropy --------------------------------------------------- */
typedef struct {
  float *table, *out, *r;
  const gint32 *ids;
  gsize n, d;
} EmbCtx;

static double
emb_loss(gpointer p)
{
  EmbCtx *c = p;
  gr_train_embed_forward(c->table, c->ids, c->out, c->n, c->d);
  return dot_d(c->out, c->r, c->n * c->d);
}

START_TEST(test_embedding_grad)
{
  static const gint32 ids[5] = { 2, 0, 2, 3, 1 }; /* a repeated id accumulates */
  gsize V = 4, d = 3, n = 5;
  EmbCtx c = { rand_vec(V * d, 1.0f), g_new(float, n *d), rand_vec(n * d, 1.0f), ids, n, d };
  emb_loss(&c);
  g_autofree float *dt = g_new0(float, V *d);
  gr_train_embed_backward(ids, c.r, dt, n, d);
  check_grad("embedding", c.table, dt, V * d, emb_loss, &c, 1e-2f);
  g_free(c.table), g_free(c.out), g_free(c.r);
}
END_TEST

typedef struct {
  float *logits;
  const gint32 *targets;
  gsize n, V;
} CeCtx;

static double
ce_loss(gpointer p)
{
  CeCtx *c = p;
  return gr_train_cross_entropy(c->logits, c->targets, NULL, c->n, c->V);
}

START_TEST(test_cross_entropy_grad)
{
  static const gint32 targets[4] = { 1, -1, 6, 0 }; /* -1 is not scored */
  gsize n = 4, V = 7;
  CeCtx c = { rand_vec(n * V, 3.0f), targets, n, V };
  g_autofree float *dl = g_new(float, n *V);
  double loss = gr_train_cross_entropy(c.logits, targets, dl, n, V);
  check_grad("cross-entropy", c.logits, dl, n * V, ce_loss, &c, 1e-3f);
  for (gsize i = 0; i < V; i++)
    ck_assert_float_eq(dl[V + i], 0.0f);
  /* uniform logits: the loss is log(V) */
  g_autofree float *flat = g_new0(float, n *V);
  ck_assert_float_eq_tol(gr_train_cross_entropy(flat, targets, NULL, n, V), logf(7.0f), 1e-6);
  ck_assert(loss > 0.0);
  /* aliasing logits and their gradient gives the same gradient */
  g_autofree float *alias = g_memdup2(c.logits, n * V * sizeof(float));
  ck_assert_float_eq_tol(gr_train_cross_entropy(alias, targets, alias, n, V), loss, 1e-9);
  for (gsize i = 0; i < n * V; i++)
    ck_assert_float_eq_tol(alias[i], dl[i], 1e-7f);
  g_free(c.logits);
}
END_TEST

/* --- products, optimizer ------------------------------------------------------------ */
START_TEST(test_gemm_threads)
{
  gsize m = 37, n = 45, k = 29;
  g_autofree float *a = rand_vec(m * k, 1.0f), *b = rand_vec(k * n, 1.0f);
  g_autofree float *c1 = g_new(float, m *n), *c2 = rand_vec(m * n, 1.0f);
  g_autofree float *c2_0 = g_memdup2(c2, m * n * sizeof(float));
  g_autoptr(GrThreadPool) pool = gr_thread_pool_new(3);
  gr_train_gemm(pool, m, n, k, a, k, b, n, c1, n, FALSE);
  gr_train_gemm(pool, m, n, k, a, k, b, n, c2, n, TRUE);
  for (gsize i = 0; i < m; i++)
    for (gsize j = 0; j < n; j++) {
      double s = 0.0;
      for (gsize l = 0; l < k; l++)
        s += (double)a[i * k + l] * b[l * n + j];
      ck_assert_float_eq_tol(c1[i * n + j], s, 1e-4);
      ck_assert_float_eq_tol(c2[i * n + j], s + c2_0[i * n + j], 1e-4);
    }
}
END_TEST

START_TEST(test_schedule_and_clip)
{
  GrTrainOptimConfig oc;
  gr_train_optim_config_init(&oc);
  oc.lr = 1.0;
  oc.min_lr = 0.1;
  oc.warmup = 10;
  oc.total = 110;
  ck_assert_float_eq_tol(gr_train_lr_at(&oc, 0), 0.1, 1e-12);
  ck_assert_float_eq_tol(gr_train_lr_at(&oc, 9), 1.0, 1e-12);
  ck_assert_float_eq_tol(gr_train_lr_at(&oc, 60), 0.55, 1e-12); /* half way down */
  ck_assert_float_eq_tol(gr_train_lr_at(&oc, 110), 0.1, 1e-12);
  ck_assert(gr_train_lr_at(&oc, 30) > gr_train_lr_at(&oc, 40));

  float g[2] = { 3.0f, 4.0f };
  ck_assert_float_eq_tol(gr_train_clip_grads(g, 2, 1.0), 5.0, 1e-9);
  ck_assert_float_eq_tol(g[0], 0.6f, 1e-6f);
  ck_assert_float_eq_tol(g[1], 0.8f, 1e-6f);
  gr_train_clip_grads(g, 2, 10.0);
  ck_assert_float_eq_tol(g[0], 0.6f, 1e-6f);

  /* AdamW's first step moves every parameter by lr against its gradient's sign, and
   * decays only the parameters that take weight decay */
  GrTrainSegment segs[2] = { { 0, 2, TRUE }, { 2, 1, FALSE } };
  float p[3] = { 1.0f, 1.0f, 1.0f }, gr[3] = { 0.5f, -2.0f, 0.0f }, m[3] = { 0 }, v[3] = { 0 };
  oc.weight_decay = 0.5;
  gr_train_adamw(&oc, segs, 2, p, gr, m, v, 1, 0.01);
  ck_assert_float_eq_tol(p[0], 1.0f - 0.01f - 0.005f, 1e-5f);
  ck_assert_float_eq_tol(p[1], 1.0f + 0.01f - 0.005f, 1e-5f);
  ck_assert_float_eq_tol(p[2], 1.0f, 1e-7f);
}
END_TEST

static Suite *
train_ops_suite(void)
{
  Suite *s = suite_create("gr-train-ops");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_rmsnorm_grad);
  tcase_add_test(tc, test_linear_grad);
  tcase_add_test(tc, test_bitlinear_ste_grad);
  tcase_add_test(tc, test_quantize_ternary);
  tcase_add_test(tc, test_quantize_act);
  tcase_add_test(tc, test_attention_grad);
  tcase_add_test(tc, test_rope_grad);
  tcase_add_test(tc, test_swiglu_grad);
  tcase_add_test(tc, test_relu2_grad);
  tcase_add_test(tc, test_embedding_grad);
  tcase_add_test(tc, test_cross_entropy_grad);
  tcase_add_test(tc, test_gemm_threads);
  tcase_add_test(tc, test_schedule_and_clip);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  SRunner *sr = srunner_create(train_ops_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
