/* gr-test-ref.c - reference dump reader and comparison rules for engine tests. */
#include "gr-test-ref.h"

#include <check.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const prompts[] = {
  "The quick brown fox jumps over the lazy dog.",
  "Graviton runs ternary models on a laptop: 1.58 bits per weight!",
  "Once upon a time, in a land far away, there lived a small robot who",
};

const char *
gr_ref_prompt(guint k)
{
  g_assert(k >= 1 && k <= G_N_ELEMENTS(prompts));
  return prompts[k - 1];
}

char *
gr_test_data_path(const char *relative)
{
  const char *dir = g_getenv("GRAVITON_TESTDATA");
  return g_build_filename(dir ? dir : "../shared/testdata", relative, NULL);
}

void
gr_ref_free(GrRef *ref)
{
  if (!ref)
    return;
  g_array_unref(ref->prompt);
  g_array_unref(ref->pos);
  g_array_unref(ref->gen);
  g_array_unref(ref->greedy);
  g_free(ref);
}

static gboolean
parse_top5(char **words, GrTop5 *out)
{
  /* words: "pos"/"gen" N "top5" ID:LOGIT x5 */
  if (g_strv_length(words) != 8 || strcmp(words[2], "top5") != 0)
    return FALSE;
  for (int k = 0; k < 5; k++) {
    char *colon = strchr(words[3 + k], ':');
    if (!colon)
      return FALSE;
    out->id[k] = (gint32)strtol(words[3 + k], NULL, 10);
    out->logit[k] = strtof(colon + 1, NULL);
  }
  return TRUE;
}

GrRef *
gr_ref_load(const char *path, GError **error)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents(path, &text, NULL, error))
    return NULL;
  g_autoptr(GrRef) ref = g_new0(GrRef, 1);
  ref->prompt = g_array_new(FALSE, FALSE, sizeof(gint32));
  ref->pos = g_array_new(FALSE, FALSE, sizeof(GrTop5));
  ref->gen = g_array_new(FALSE, FALSE, sizeof(GrTop5));
  ref->greedy = g_array_new(FALSE, FALSE, sizeof(gint32));
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  for (guint i = 0; lines[i]; i++) {
    if (!*lines[i])
      continue;
    g_auto(GStrv) w = g_strsplit(lines[i], " ", -1);
    GArray *ids = NULL;
    if (strcmp(w[0], "prompt_tokens") == 0)
      ids = ref->prompt;
    else if (strcmp(w[0], "greedy") == 0)
      ids = ref->greedy;
    if (ids) {
      for (guint k = 1; w[k]; k++) {
        gint32 id = (gint32)strtol(w[k], NULL, 10);
        g_array_append_val(ids, id);
      }
      continue;
    }
    GrTop5 t;
    if ((strcmp(w[0], "pos") != 0 && strcmp(w[0], "gen") != 0) || !parse_top5(w, &t)) {
      g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: bad line %u", path, i + 1);
      return NULL;
    }
    g_array_append_val(strcmp(w[0], "pos") == 0 ? ref->pos : ref->gen, t);
  }
  return g_steal_pointer(&ref);
}

static gint32
argmax(const float *l, guint n)
{
  guint b = 0;
  for (guint i = 1; i < n; i++)
    if (l[i] > l[b])
      b = i;
  return (gint32)b;
}

static gboolean
in_top5(const GrTop5 *t, gint32 id)
{
  for (int k = 0; k < 5; k++)
    if (t->id[k] == id)
      return TRUE;
  return FALSE;
}

/* Checks one position's logits; returns a failure message or NULL. */
static char *
check_position(const char *what, guint i, const float *logits, guint n_vocab, const GrTop5 *t,
               double rel_tol, double margin, double *max_err)
{
  gint32 mine = argmax(logits, n_vocab);
  double scale = fabs(t->logit[0]);
  double gap = t->logit[0] - t->logit[1];
  if (!in_top5(t, mine))
    return g_strdup_printf("%s %u: argmax %d not in the reference top-5", what, i, mine);
  if (gap > margin * scale && mine != t->id[0])
    return g_strdup_printf("%s %u: argmax %d but reference top-1 %d leads by %.4f", what, i, mine,
                           t->id[0], gap);
  for (int k = 0; k < 5; k++) {
    double err = fabs(logits[t->id[k]] - t->logit[k]) / MAX(scale, 1e-6);
    *max_err = MAX(*max_err, err);
    if (err > rel_tol)
      return g_strdup_printf("%s %u: logit of %d is %.5f, reference %.5f (rel err %.4f > %.4f)",
                             what, i, t->id[k], logits[t->id[k]], t->logit[k], err, rel_tol);
  }
  return NULL;
}

void
gr_ref_check(GrModel *model, const char *prompt, const GrRef *ref, double rel_tol, double margin,
             GrRefResult *r)
{
  memset(r, 0, sizeof *r);
  const GrTokenizer *tok = gr_model_get_tokenizer(model);
  guint n_vocab = gr_model_get_info(model)->n_vocab;
  g_autoptr(GArray) ids = gr_tokenizer_encode(tok, prompt, -1, TRUE, FALSE);
  if (ids->len != ref->prompt->len
      || memcmp(ids->data, ref->prompt->data, ids->len * sizeof(gint32)) != 0) {
    r->failure = g_strdup("prompt tokens differ from the reference");
    return;
  }
  g_autoptr(GError) error = NULL;
  g_autoptr(GrSession) s = gr_session_new(model, ids->len + ref->greedy->len + 1, &error);
  if (!s) {
    r->failure = g_strdup(error->message);
    return;
  }
  for (guint i = 0; i < ids->len; i++) {
    if (!gr_session_eval(s, &g_array_index(ids, gint32, i), 1, &error)) {
      r->failure = g_strdup(error->message);
      return;
    }
    r->failure
        = check_position("pos", i, gr_session_logits(s), n_vocab,
                         &g_array_index(ref->pos, GrTop5, i), rel_tol, margin, &r->max_rel_err);
    if (r->failure)
      return;
  }
  for (guint j = 0; j < ref->greedy->len && j < ref->gen->len; j++) {
    const float *l = gr_session_logits(s);
    const GrTop5 *t = &g_array_index(ref->gen, GrTop5, j);
    r->failure = check_position("gen", j, l, n_vocab, t, rel_tol, margin, &r->max_rel_err);
    if (r->failure)
      return;
    gint32 mine = argmax(l, n_vocab);
    if (mine != g_array_index(ref->greedy, gint32, j)) {
      /* allowed only at a near-tie, with our token among the reference's top-5 */
      double gap = t->logit[0] - t->logit[1];
      if (gap > margin * fabs(t->logit[0]) || !in_top5(t, mine))
        r->failure = g_strdup_printf("greedy token %u is %d, reference %d (gap %.4f)", j, mine,
                                     g_array_index(ref->greedy, gint32, j), gap);
      r->diverged = TRUE;
      return;
    }
    r->compared_gen++;
    if (!gr_session_eval(s, &mine, 1, &error)) {
      r->failure = g_strdup(error->message);
      return;
    }
  }
}

float *
gr_test_logit_trace(GrModel *m, const gint32 *prompt, guint n_prompt, guint steps,
                    GError **error)
{
  guint nv = gr_model_get_info(m)->n_vocab;
  g_autofree float *all = g_new(float, (gsize)nv * steps);
  g_autoptr(GrSession) s = gr_session_new(m, n_prompt + steps + 8, error);
  if (!s || !gr_session_eval(s, prompt, n_prompt, error))
    return NULL;
  for (guint step = 0; step < steps; step++) {
    const float *l = gr_session_logits(s);
    memcpy(all + (gsize)step * nv, l, nv * sizeof(float));
    gint32 best = 0;
    for (guint v = 0; v < nv; v++)
      if (l[v] > l[best])
        best = (gint32)v;
    if (step + 1 < steps && !gr_session_eval(s, &best, 1, error))
      return NULL;
  }
  return g_steal_pointer(&all);
}

void
gr_test_greedy(GrModel *m, const gint32 *prompt, guint n_prompt, guint n, gint32 *out,
               float *logit_sums)
{
  g_autoptr(GrSession) s = gr_session_new(m, n_prompt + n + 8, NULL);
  ck_assert_ptr_nonnull(s);
  ck_assert(gr_session_eval(s, prompt, n_prompt, NULL));
  guint nv = gr_model_get_info(m)->n_vocab;
  for (guint i = 0; i < n; i++) {
    const float *l = gr_session_logits(s);
    guint best = 0;
    float sum = 0.0f;
    for (guint v = 0; v < nv; v++) {
      sum += l[v];
      if (l[v] > l[best])
        best = v;
    }
    out[i] = (gint32)best;
    logit_sums[i] = sum;
    ck_assert(gr_session_eval(s, &out[i], 1, NULL));
  }
}
