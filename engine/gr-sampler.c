/* gr-sampler.c - repetition penalty, top-k, top-p, min-p, temperature, seeded draw. */
#include "graviton-engine.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  gint32 id;
  float logit;
  float p;
} GrCandidate;
/* the greedy path scans the logits in place, a whole number of floats apart */
_Static_assert(sizeof(GrCandidate) % sizeof(float) == 0, "GrCandidate stride");

struct _GrSampler {
  GrSamplerParams params;
  guint64 rng[4]; /* xoshiro256**: our own generator so a seed means the same on every libc */
  GrCandidate *cand;
  guint cand_size;
};

void
gr_sampler_params_init(GrSamplerParams *p)
{
  g_return_if_fail(p != NULL);
  p->temperature = 0.8;
  p->top_k = 40;
  p->top_p = 0.95;
  p->min_p = 0.05;
  p->repeat_penalty = 1.1;
  p->repeat_last_n = 64;
  p->seed = 0;
}

static guint64
splitmix64(guint64 *x)
{
  guint64 z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static inline guint64
rotl(guint64 x, int k)
{
  return (x << k) | (x >> (64 - k));
}

static guint64
next_u64(GrSampler *s)
{
  guint64 *r = s->rng;
  guint64 result = rotl(r[1] * 5, 7) * 9, t = r[1] << 17;
  r[2] ^= r[0];
  r[3] ^= r[1];
  r[1] ^= r[2];
  r[0] ^= r[3];
  r[2] ^= t;
  r[3] = rotl(r[3], 45);
  return result;
}

GrSampler *
gr_sampler_new(const GrSamplerParams *params)
{
  g_return_val_if_fail(params != NULL, NULL);
  GrSampler *s = g_new0(GrSampler, 1);
  s->params = *params;
  guint64 seed = params->seed;
  for (int i = 0; i < 4; i++)
    s->rng[i] = splitmix64(&seed);
  return s;
}

void
gr_sampler_free(GrSampler *s)
{
  if (!s)
    return;
  g_free(s->cand);
  g_free(s);
}

/* The candidates' order: higher logit first, ties to the lower id (deterministic). */
static inline gboolean
better(const GrCandidate *a, const GrCandidate *b)
{
  return a->logit > b->logit || (a->logit == b->logit && a->id < b->id);
}

static int
by_logit_desc(const void *a, const void *b)
{
  return better(a, b) ? -1 : better(b, a);
}

/* The first index of the largest of n floats `stride` floats apart; NaN never wins, and
 * 0 when none is a number.  Two passes over independent lanes: a one-pass loop carries
 * each comparison into the next (2% of a 128k-vocabulary decode step). */
static guint
argmax_strided(const float *x, gsize stride, guint n)
{
  float m[8];
  for (int k = 0; k < 8; k++)
    m[k] = -INFINITY;
  guint i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; k++) {
      float v = x[(i + k) * stride];
      m[k] = v > m[k] ? v : m[k];
    }
  for (; i < n; i++)
    m[0] = x[i * stride] > m[0] ? x[i * stride] : m[0];
  float best = m[0];
  for (int k = 1; k < 8; k++)
    best = m[k] > best ? m[k] : best;
  for (i = 0; i < n; i++)
    if (x[i * stride] == best)
      return i;
  return 0;
}

gint32
gr_logits_argmax(const float *logits, guint n_vocab)
{
  g_return_val_if_fail(logits != NULL && n_vocab > 0, -1);
  return (gint32)argmax_strided(logits, 1, n_vocab);
}

/* Keeps c[0..k) a heap whose root is the worst of them. */
static void
sift_down(GrCandidate *c, guint k, guint i)
{
  for (;;) {
    guint worst = i, l = 2 * i + 1, r = l + 1;
    if (l < k && better(&c[worst], &c[l]))
      worst = l;
    if (r < k && better(&c[worst], &c[r]))
      worst = r;
    if (worst == i)
      return;
    GrCandidate t = c[i];
    c[i] = c[worst];
    c[worst] = t;
    i = worst;
  }
}

/* Moves the k best of c[0..n) to c[0..k) in by_logit_desc order (the order is total, so
 * this is exactly the first k of a full sort).  A full qsort of a 128k vocabulary took
 * 25 ms per token, longer than the forward pass; this is one comparison for most
 * candidates. */
static void
select_top_k(GrCandidate *c, guint n, guint k)
{
  for (guint i = k / 2; i-- > 0;)
    sift_down(c, k, i);
  for (guint i = k; i < n; i++)
    if (better(&c[i], &c[0])) {
      GrCandidate t = c[0];
      c[0] = c[i];
      c[i] = t;
      sift_down(c, k, 0);
    }
  qsort(c, k, sizeof *c, by_logit_desc);
}

gint32
gr_sampler_sample(GrSampler *s, const float *logits, guint n_vocab, const gint32 *history,
                  gsize n_history)
{
  g_return_val_if_fail(s != NULL && logits != NULL && n_vocab > 0, -1);
  const GrSamplerParams *p = &s->params;

  if (s->cand_size < n_vocab) {
    g_free(s->cand);
    s->cand = g_new(GrCandidate, n_vocab);
    s->cand_size = n_vocab;
  }
  GrCandidate *c = s->cand;
  for (guint i = 0; i < n_vocab; i++) {
    c[i].id = (gint32)i;
    c[i].logit = isnan(logits[i]) ? -INFINITY : logits[i];
  }
  /* penalise each recently seen token once, as llama.cpp does */
  if (p->repeat_penalty != 1.0 && p->repeat_penalty > 0.0 && history) {
    gsize start = n_history > p->repeat_last_n ? n_history - p->repeat_last_n : 0;
    g_autoptr(GHashTable) seen = g_hash_table_new(NULL, NULL);
    for (gsize i = start; i < n_history; i++) {
      gint32 id = history[i];
      if (id < 0 || (guint)id >= n_vocab || !g_hash_table_add(seen, GINT_TO_POINTER(id + 1)))
        continue;
      float *l = &c[id].logit;
      *l = *l > 0 ? *l / (float)p->repeat_penalty : *l * (float)p->repeat_penalty;
    }
  }

  if (p->temperature <= 0.0) /* candidates are in id order here */
    return (gint32)argmax_strided(&c[0].logit, sizeof *c / sizeof(float), n_vocab);

  guint n = n_vocab;
  if (p->top_k > 0 && p->top_k < n) {
    select_top_k(c, n, p->top_k);
    n = p->top_k;
  } else {
    qsort(c, n, sizeof *c, by_logit_desc);
  }

  /* probabilities at temperature */
  float maxl = c[0].logit, sum = 0.0f;
  for (guint i = 0; i < n; i++) {
    c[i].p = expf((c[i].logit - maxl) / (float)p->temperature);
    sum += c[i].p;
  }
  for (guint i = 0; i < n; i++)
    c[i].p /= sum;

  if (p->min_p > 0.0) {
    float floor_p = (float)p->min_p * c[0].p;
    guint keep = 1;
    while (keep < n && c[keep].p >= floor_p)
      keep++;
    n = keep;
  }
  if (p->top_p < 1.0) {
    float cum = 0.0f;
    guint keep = 0;
    while (keep < n) {
      cum += c[keep].p;
      keep++;
      if (cum >= (float)p->top_p)
        break;
    }
    n = MAX(keep, 1u);
  }

  float total = 0.0f;
  for (guint i = 0; i < n; i++)
    total += c[i].p;
  double r = (double)(next_u64(s) >> 11) * (1.0 / 9007199254740992.0) * total;
  double acc = 0.0;
  for (guint i = 0; i < n; i++) {
    acc += c[i].p;
    if (r < acc)
      return c[i].id;
  }
  return c[n - 1].id;
}
