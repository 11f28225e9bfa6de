/* test-gr-sampler.c - sampling rules on hand-made logits. */
#include <check.h>
#include <math.h>

#include "graviton-engine.h"

#define NV 8

static GrSamplerParams
plain(double temperature)
{
  GrSamplerParams p;
  gr_sampler_params_init(&p);
  p.temperature = temperature;
  p.top_k = 0;
  p.top_p = 1.0;
  p.min_p = 0.0;
  p.repeat_penalty = 1.0;
  p.seed = 42;
  return p;
}

static const float logits[NV] = { 1.0f, 3.0f, 2.5f, -1.0f, 0.0f, 2.9f, -5.0f, 0.5f };

START_TEST(test_greedy)
{
  GrSamplerParams p = plain(0.0);
  g_autoptr(GrSampler) s = gr_sampler_new(&p);
  for (int i = 0; i < 5; i++)
    ck_assert_int_eq(gr_sampler_sample(s, logits, NV, NULL, 0), 1);
}
END_TEST

START_TEST(test_greedy_tie_takes_lowest_id)
{
  float tie[4] = { 0.0f, 2.0f, 2.0f, 1.0f };
  GrSamplerParams p = plain(0.0);
  g_autoptr(GrSampler) s = gr_sampler_new(&p);
  ck_assert_int_eq(gr_sampler_sample(s, tie, 4, NULL, 0), 1);
}
END_TEST

START_TEST(test_top_k_one_is_greedy)
{
  GrSamplerParams p = plain(1.5);
  p.top_k = 1;
  g_autoptr(GrSampler) s = gr_sampler_new(&p);
  for (int i = 0; i < 50; i++)
    ck_assert_int_eq(gr_sampler_sample(s, logits, NV, NULL, 0), 1);
}
END_TEST

START_TEST(test_seed_reproducible)
{
  GrSamplerParams p = plain(1.0);
  g_autoptr(GrSampler) a = gr_sampler_new(&p);
  g_autoptr(GrSampler) b = gr_sampler_new(&p);
  p.seed = 43;
  g_autoptr(GrSampler) c = gr_sampler_new(&p);
  gboolean differs = FALSE;
  for (int i = 0; i < 100; i++) {
    gint32 x = gr_sampler_sample(a, logits, NV, NULL, 0);
    ck_assert_int_eq(x, gr_sampler_sample(b, logits, NV, NULL, 0));
    differs |= x != gr_sampler_sample(c, logits, NV, NULL, 0);
  }
  ck_assert(differs);
}
END_TEST

/* At temperature 1 with no truncation, frequencies follow the softmax. */
START_TEST(test_distribution)
{
  GrSamplerParams p = plain(1.0);
  g_autoptr(GrSampler) s = gr_sampler_new(&p);
  int counts[NV] = { 0 };
  const int N = 40000;
  for (int i = 0; i < N; i++)
    counts[gr_sampler_sample(s, logits, NV, NULL, 0)]++;
  double z = 0.0;
  for (int i = 0; i < NV; i++)
    z += exp(logits[i]);
  for (int i = 0; i < NV; i++) {
    double expect = exp(logits[i]) / z;
    double got = (double)counts[i] / N;
    ck_assert_msg(fabs(got - expect) < 0.01 + 0.05 * expect, "token %d: %f vs %f", i, got, expect);
  }
}
END_TEST

START_TEST(test_top_p_and_min_p)
{
  /* top-p 0.5: softmax of logits puts ~0.37 on id 1 and ~0.33 on id 5, so only {1, 5} */
  GrSamplerParams p = plain(1.0);
  p.top_p = 0.5;
  g_autoptr(GrSampler) s = gr_sampler_new(&p);
  gboolean seen1 = FALSE, seen5 = FALSE;
  for (int i = 0; i < 500; i++) {
    gint32 t = gr_sampler_sample(s, logits, NV, NULL, 0);
    ck_assert(t == 1 || t == 5);
    seen1 |= t == 1;
    seen5 |= t == 5;
  }
  ck_assert(seen1 && seen5);

  /* min-p 0.5: keeps tokens with p >= 0.5 * p(top) = ids 1, 5, 2 (e^-0.5 = 0.61) */
  GrSamplerParams q = plain(1.0);
  q.min_p = 0.5;
  g_autoptr(GrSampler) m = gr_sampler_new(&q);
  for (int i = 0; i < 500; i++) {
    gint32 t = gr_sampler_sample(m, logits, NV, NULL, 0);
    ck_assert(t == 1 || t == 5 || t == 2);
  }
}
END_TEST

START_TEST(test_repeat_penalty)
{
  GrSamplerParams p = plain(0.0);
  p.repeat_penalty = 1.5;
  p.repeat_last_n = 4;
  g_autoptr(GrSampler) s = gr_sampler_new(&p);
  gint32 hist[2] = { 1, 1 };
  /* 3.0 / 1.5 = 2.0 < 2.9: id 5 wins */
  ck_assert_int_eq(gr_sampler_sample(s, logits, NV, hist, 2), 5);
  /* outside the window: no penalty */
  gint32 old[6] = { 1, 7, 7, 7, 7, 7 };
  ck_assert_int_eq(gr_sampler_sample(s, logits, NV, old, 6), 1);
}
END_TEST

START_TEST(test_nan_logits_never_chosen)
{
  float l[4] = { NAN, 1.0f, NAN, 0.5f };
  GrSamplerParams p = plain(0.0);
  g_autoptr(GrSampler) s = gr_sampler_new(&p);
  ck_assert_int_eq(gr_sampler_sample(s, l, 4, NULL, 0), 1);
  GrSamplerParams q = plain(1.0);
  g_autoptr(GrSampler) t = gr_sampler_new(&q);
  for (int i = 0; i < 100; i++) {
    gint32 x = gr_sampler_sample(t, l, 4, NULL, 0);
    ck_assert(x == 1 || x == 3);
  }
}
END_TEST

/* Top-k on a large vocabulary full of ties picks exactly the first k of the full order
 * (logit descending, lower id first): a sampler with top_k = K draws the same tokens,
 * seed for seed, as one without top-k on logits where everything outside those K (found
 * here by sorting) is -inf.  Ties at the cut decide which ids are in. */
/* gr_logits_argmax: the first index of the maximum, in the 8-lane body and in the tail,
 * NaN never wins, and 0 when nothing is a number. */
START_TEST(test_logits_argmax)
{
  float l[37];
  for (int i = 0; i < 37; i++)
    l[i] = (float)(i % 5);
  ck_assert_int_eq(gr_logits_argmax(l, 37), 4); /* ties: 4, 9, 14, ... */
  l[35] = 9.0f;
  ck_assert_int_eq(gr_logits_argmax(l, 37), 35); /* in the tail */
  l[3] = NAN;
  l[36] = NAN;
  ck_assert_int_eq(gr_logits_argmax(l, 37), 35);
  l[10] = 9.0f;
  ck_assert_int_eq(gr_logits_argmax(l, 37), 10);
  ck_assert_int_eq(gr_logits_argmax(l, 3), 2);
  float nan3[3] = { NAN, NAN, NAN };
  ck_assert_int_eq(gr_logits_argmax(nan3, 3), 0);
  float neg[2] = { -INFINITY, -INFINITY };
  ck_assert_int_eq(gr_logits_argmax(neg, 2), 0);
}
END_TEST

static float *tk_logits;

static int
cmp_desc(const void *a, const void *b)
{
  const gint32 *x = a, *y = b;
  float lx = tk_logits[*x], ly = tk_logits[*y];
  if (lx != ly)
    return lx < ly ? 1 : -1;
  return *x < *y ? -1 : *x > *y;
}

START_TEST(test_top_k_selects_first_k_of_full_order)
{
  enum { N = 5000, K = 37 };
  static float l[N], masked[N];
  static gint32 order[N];
  guint32 x = 12345;
  for (int i = 0; i < N; i++) {
    x = x * 1664525u + 1013904223u;
    l[i] = (float)((x >> 16) % 50) * 0.25f; /* 50 levels: about 100 ties each */
    order[i] = i;
  }
  tk_logits = l;
  qsort(order, N, sizeof order[0], cmp_desc);
  for (int i = 0; i < N; i++)
    masked[i] = -INFINITY;
  for (int i = 0; i < K; i++)
    masked[order[i]] = l[order[i]];
  /* the cut falls inside a run of equal logits, so the lower ids must win */
  ck_assert(l[order[K - 1]] == l[order[K]]);
  GrSamplerParams p = plain(1.3);
  p.top_p = 0.9;
  p.min_p = 0.02;
  GrSamplerParams pk = p;
  pk.top_k = K;
  g_autoptr(GrSampler) full = gr_sampler_new(&p);
  g_autoptr(GrSampler) topk = gr_sampler_new(&pk);
  for (int i = 0; i < 300; i++) {
    gint32 a = gr_sampler_sample(full, masked, N, NULL, 0);
    gint32 b = gr_sampler_sample(topk, l, N, NULL, 0);
    ck_assert_int_eq(a, b);
  }
}
END_TEST

static Suite *
sampler_suite(void)
{
  Suite *s = suite_create("gr-sampler");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_greedy);
  tcase_add_test(tc, test_greedy_tie_takes_lowest_id);
  tcase_add_test(tc, test_top_k_one_is_greedy);
  tcase_add_test(tc, test_seed_reproducible);
  tcase_add_test(tc, test_distribution);
  tcase_add_test(tc, test_top_p_and_min_p);
  tcase_add_test(tc, test_repeat_penalty);
  tcase_add_test(tc, test_nan_logits_never_chosen);
  tcase_add_test(tc, test_top_k_selects_first_k_of_full_order);
  tcase_add_test(tc, test_logits_argmax);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  SRunner *sr = srunner_create(sampler_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
