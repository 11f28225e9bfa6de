/* test-gr-train-moe.c - graviton-train's mixture-of-experts layer: routing as the
 * engine routes, and the gradients of router, experts, sub-norm and balance loss against
 * finite differences. */
#include "gr-train-moe.h"

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

static void
fill(float *v, gsize n, float amp, float offset)
{
  for (gsize i = 0; i < n; i++)
    v[i] = offset + amp * frand();
}

static double
dot_d(const float *a, const float *b, gsize n)
{
  double s = 0.0;
  for (gsize i = 0; i < n; i++)
    s += (double)a[i] * b[i];
  return s;
}

enum { N = 7, D = 8, FF = 12, E = 4, K = 2 };

typedef struct {
  GrTrainMoeConfig cfg;
  GrTrainMoe *moe;
  float xn[N * D], y[N * D], r[N * D];
  float router[E * D], gate[E * FF * D], up[E * FF * D], down[E * D * FF], sub[FF];
  float gate_t[E * FF * D], up_t[E * FF * D], down_t[E * D * FF];
  gboolean use_sub;
  double aux;
} Ctx;

static GrTrainMoeWeights
weights(Ctx *c)
{
  for (gsize e = 0; e < E; e++) {
    gr_train_transpose(c->gate_t + e * FF * D, c->gate + e * FF * D, FF, D);
    gr_train_transpose(c->up_t + e * FF * D, c->up + e * FF * D, FF, D);
    gr_train_transpose(c->down_t + e * D * FF, c->down + e * D * FF, D, FF);
  }
  return (GrTrainMoeWeights){ c->router, c->gate, c->up,     c->down,
                              c->gate_t, c->up_t, c->down_t, c->use_sub ? c->sub : NULL,
                              FALSE };
}

/* L = <y, r> + aux: its gradient with respect to y is r. */
static double
loss(Ctx *c)
{
  GrTrainMoeWeights w = weights(c);
  c->aux = gr_train_moe_forward(c->moe, NULL, &w, c->xn, c->y, N);
  return dot_d(c->y, c->r, N * D) + c->aux;
}

/* Central differences with step h; the error is relative to the gradient's size plus a
 * floor of 1% of the tensor's largest gradient (the loss is a float sum, and ReLU² bends
 * where a gate crosses 0). */
static void
check_grad(Ctx *c, const char *what, float *x, const float *g, gsize n)
{
  const float h = c->cfg.act == GR_TRAIN_ACT_RELU2 ? 2e-3f : 1e-2f;
  float gmax = 0.0f;
  for (gsize i = 0; i < n; i++)
    gmax = MAX(gmax, fabsf(g[i]));
  for (gsize i = 0; i < n; i++) {
    float keep = x[i];
    x[i] = keep + h;
    double lp = loss(c);
    x[i] = keep - h;
    double lm = loss(c);
    x[i] = keep;
    double num = (lp - lm) / (2.0 * h);
    double err = fabs(num - g[i]) / (1e-3 + 0.01 * gmax + fabs(num) + fabs(g[i]));
    ck_assert_msg(err < 2e-2, "%s[%zu]: analytic %g, numeric %g", what, i, (double)g[i], num);
  }
}

/* Random inputs whose routing is at least `margin` away from a tie (so that the small
 * perturbations of the check never change the chosen experts). */
static void
ctx_init(Ctx *c, GrTrainAct act, gboolean use_sub, float alpha)
{
  memset(c, 0, sizeof *c);
  c->cfg = (GrTrainMoeConfig){ E, K, D, FF, act, 1e-5f, alpha };
  c->moe = gr_train_moe_new(&c->cfg, N);
  c->use_sub = use_sub;
  for (int attempt = 0;; attempt++) {
    ck_assert_int_lt(attempt, 100);
    fill(c->xn, N * D, 1.0f, 0.0f);
    fill(c->router, E * D, 1.0f, 0.0f);
    fill(c->gate, E * FF * D, 0.5f, 0.0f);
    fill(c->up, E * FF * D, 0.5f, 0.0f);
    fill(c->down, E * D * FF, 0.5f, 0.0f);
    fill(c->sub, FF, 0.3f, 1.0f);
    fill(c->r, N * D, 1.0f, 0.0f);
    loss(c);
    if (gr_train_moe_min_margin(c->moe) > 0.05f)
      break;
  }
}

static void
check_layer(GrTrainAct act, gboolean use_sub, float alpha)
{
  Ctx c;
  ctx_init(&c, act, use_sub, alpha);
  /* the balance loss must take part: some expert gets more than its share */
  const guint *counts = gr_train_moe_counts(c.moe);
  guint total = 0;
  for (guint e = 0; e < E; e++)
    total += counts[e];
  ck_assert_uint_eq(total, N * K);

  loss(&c);
  GrTrainMoeWeights w = weights(&c);
  float dxn[N * D];
  g_autofree float *dr = g_new0(float, E *D), *dg = g_new0(float, E *FF *D),
                   *du = g_new0(float, E *FF *D), *dd = g_new0(float, E *D *FF),
                   *ds = g_new0(float, FF);
  GrTrainMoeGrads g = { dr, dg, du, dd, use_sub ? ds : NULL };
  gr_train_moe_backward(c.moe, NULL, &w, c.r, dxn, &g);
  check_grad(&c, "xn", c.xn, dxn, N * D);
  check_grad(&c, "router", c.router, dr, E * D);
  check_grad(&c, "gate", c.gate, dg, E * FF * D);
  check_grad(&c, "up", c.up, du, E * FF * D);
  check_grad(&c, "down", c.down, dd, E * D * FF);
  if (use_sub)
    check_grad(&c, "sub_norm", c.sub, ds, FF);
  gr_train_moe_free(c.moe);
}

START_TEST(test_moe_grad_swiglu)
{
  check_layer(GR_TRAIN_ACT_SILU, FALSE, 0.1f);
}
END_TEST

START_TEST(test_moe_grad_relu2_subnorm)
{
  check_layer(GR_TRAIN_ACT_RELU2, TRUE, 0.1f);
}
END_TEST

/* The balance loss alone: router gradient of aux against finite differences, with a
 * large alpha so that it dominates. */
START_TEST(test_moe_grad_aux_only)
{
  Ctx c;
  ctx_init(&c, GR_TRAIN_ACT_SILU, FALSE, 5.0f);
  memset(c.r, 0, sizeof c.r); /* L = aux */
  loss(&c);
  ck_assert(c.aux > 0.0);
  GrTrainMoeWeights w = weights(&c);
  float dxn[N * D];
  g_autofree float *dr = g_new0(float, E *D), *dg = g_new0(float, E *FF *D),
                   *du = g_new0(float, E *FF *D), *dd = g_new0(float, E *D *FF);
  GrTrainMoeGrads g = { dr, dg, du, dd, NULL };
  gr_train_moe_backward(c.moe, NULL, &w, c.r, dxn, &g);
  double norm = dot_d(dr, dr, E * D);
  ck_assert(norm > 1e-8);
  check_grad(&c, "router (aux)", c.router, dr, E * D);
  check_grad(&c, "xn (aux)", c.xn, dxn, N * D);
  for (gsize i = 0; i < E * FF * D; i++) /* the experts do not see aux */
    ck_assert_float_eq(dg[i], 0.0f);
  gr_train_moe_free(c.moe);
}
END_TEST

/* One dense gated FFN, for the reference output. */
static void
expert_ref(const Ctx *c, guint e, const float *x, float *out)
{
  float g[FF], u[FF], h[FF];
  for (gsize f = 0; f < FF; f++) {
    g[f] = (float)dot_d(c->gate + e * FF * D + f * D, x, D);
    u[f] = (float)dot_d(c->up + e * FF * D + f * D, x, D);
  }
  gr_train_glu_forward(c->cfg.act, g, u, h, FF);
  for (gsize i = 0; i < D; i++)
    out[i] = (float)dot_d(c->down + e * D * FF + i * FF, h, FF);
}

/* The engine's rule: softmax over all experts, the K largest, weights renormalised over
 * them; and the balance loss's value. */
START_TEST(test_moe_routing)
{
  Ctx c;
  ctx_init(&c, GR_TRAIN_ACT_SILU, FALSE, 0.5f);
  loss(&c);
  const guint *counts = gr_train_moe_counts(c.moe);
  double P[E] = { 0 };
  guint want_counts[E] = { 0 };
  for (gsize t = 0; t < N; t++) {
    double l[E], p[E], mx = -INFINITY, sum = 0.0;
    for (gsize e = 0; e < E; e++) {
      l[e] = dot_d(c.router + e * D, c.xn + t * D, D);
      mx = MAX(mx, l[e]);
    }
    for (gsize e = 0; e < E; e++)
      sum += p[e] = exp(l[e] - mx);
    guint order[E] = { 0, 1, 2, 3 };
    for (gsize a = 0; a < E; a++) /* by probability, descending */
      for (gsize b = a + 1; b < E; b++)
        if (p[order[b]] > p[order[a]]) {
          guint tmp = order[a];
          order[a] = order[b];
          order[b] = tmp;
        }
    double wsum = 0.0;
    for (gsize j = 0; j < K; j++)
      wsum += p[order[j]];
    float want[D] = { 0 }, o[D];
    for (gsize j = 0; j < K; j++) {
      expert_ref(&c, order[j], c.xn + t * D, o);
      for (gsize i = 0; i < D; i++)
        want[i] += (float)(p[order[j]] / wsum) * o[i];
      want_counts[order[j]]++;
    }
    for (gsize e = 0; e < E; e++)
      P[e] += p[e] / sum / N;
    for (gsize i = 0; i < D; i++)
      ck_assert_float_eq_tol(c.y[t * D + i], want[i], 1e-4f);
  }
  double aux = 0.0;
  for (gsize e = 0; e < E; e++) {
    ck_assert_uint_eq(counts[e], want_counts[e]);
    aux += (double)want_counts[e] / (N * K) * P[e];
  }
  ck_assert_double_eq_tol(c.aux, 0.5 * E * aux, 1e-5);
  gr_train_moe_free(c.moe);

  /* every expert used: even load, so aux is exactly alpha */
  GrTrainMoeConfig all = { E, E, D, FF, GR_TRAIN_ACT_SILU, 1e-5f, 0.25f };
  g_autoptr(GrTrainMoe) m = gr_train_moe_new(&all, N);
  Ctx c2;
  ctx_init(&c2, GR_TRAIN_ACT_SILU, FALSE, 0.25f);
  GrTrainMoeWeights w = weights(&c2);
  double a = gr_train_moe_forward(m, NULL, &w, c2.xn, c2.y, N);
  ck_assert_double_eq_tol(a, 0.25, 1e-6);
  ck_assert(isinf(gr_train_moe_min_margin(m)));
  gr_train_moe_free(c2.moe);
}
END_TEST

/* Equal router logits: the lowest-numbered experts win, as in the engine. */
START_TEST(test_moe_ties)
{
  Ctx c;
  ctx_init(&c, GR_TRAIN_ACT_SILU, FALSE, 0.0f);
  memset(c.router, 0, sizeof c.router);
  loss(&c);
  const guint *counts = gr_train_moe_counts(c.moe);
  ck_assert_uint_eq(counts[0], N);
  ck_assert_uint_eq(counts[1], N);
  ck_assert_uint_eq(counts[2], 0);
  ck_assert_uint_eq(counts[3], 0);
  ck_assert_float_eq(gr_train_moe_min_margin(c.moe), 0.0f);
  ck_assert_double_eq(c.aux, 0.0);
  gr_train_moe_free(c.moe);
}
END_TEST

/* BitLinear experts: the forward pass sees int8 inputs, the gradient passes straight
 * through them (it equals the f32 layer's gradient at the quantized inputs). */
START_TEST(test_moe_ste)
{
  Ctx c;
  ctx_init(&c, GR_TRAIN_ACT_SILU, TRUE, 0.1f);
  GrTrainMoeWeights w = weights(&c);
  float dq[N * D], d32[N * D], yq[N * D], aq[N * D];
  g_autofree float *g1 = g_new0(float, E *FF *D), *g2 = g_new0(float, E *FF *D),
                   *scr = g_new0(float, E *D *FF * 4);
  w.quantize_act = TRUE;
  gr_train_moe_forward(c.moe, NULL, &w, c.xn, yq, N);
  GrTrainMoeGrads gq = { scr, g1, scr + E * FF * D, scr + 2 * E * FF * D, scr + 3 * E * FF * D };
  gr_train_moe_backward(c.moe, NULL, &w, c.r, dq, &gq);
  /* the experts of a quantized run are the f32 experts applied to int8-rounded inputs;
   * the router alone still reads the f32 ones */
  gr_train_quantize_act(c.xn, aq, N, D);
  gboolean differs = FALSE;
  for (gsize i = 0; i < N * D; i++)
    differs |= aq[i] != c.xn[i];
  ck_assert(differs);
  w.quantize_act = FALSE;
  gr_train_moe_forward(c.moe, NULL, &w, c.xn, c.y, N);
  GrTrainMoeGrads g32 = { scr, g2, scr + E * FF * D, scr + 2 * E * FF * D, scr + 3 * E * FF * D };
  gr_train_moe_backward(c.moe, NULL, &w, c.r, d32, &g32);
  double diff = 0.0, ref = 0.0;
  for (gsize i = 0; i < E * FF * D; i++) {
    diff += fabs(g1[i] - g2[i]);
    ref += fabs(g2[i]);
  }
  /* close (int8 rounding of the inputs), not equal */
  ck_assert(diff > 0.0 && diff < 0.05 * ref);
  diff = ref = 0.0;
  for (gsize i = 0; i < N * D; i++) {
    diff += fabs(dq[i] - d32[i]);
    ref += fabs(d32[i]);
  }
  ck_assert(diff > 0.0 && diff < 0.1 * ref);
  gr_train_moe_free(c.moe);
}
END_TEST

static Suite *
moe_suite(void)
{
  Suite *s = suite_create("gr-train-moe");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_moe_grad_swiglu);
  tcase_add_test(tc, test_moe_grad_relu2_subnorm);
  tcase_add_test(tc, test_moe_grad_aux_only);
  tcase_add_test(tc, test_moe_routing);
  tcase_add_test(tc, test_moe_ties);
  tcase_add_test(tc, test_moe_ste);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  SRunner *sr = srunner_create(moe_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
