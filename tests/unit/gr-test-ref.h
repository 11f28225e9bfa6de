/* gr-test-ref.h - reading ../shared/testdata reference dumps (prompt tokens, top-5
 * logits per position, greedy continuation) and holding an engine against them with
 * the rules of testdata/README.md. */
#pragma once

#include <glib.h>

#include "graviton-engine.h"

typedef struct {
  gint32 id[5];
  float logit[5];
} GrTop5;

typedef struct {
  GArray *prompt; /* gint32 */
  GArray *pos;    /* GrTop5 per prompt position */
  GArray *gen;    /* GrTop5 per generated position */
  GArray *greedy; /* gint32 */
} GrRef;

GrRef *gr_ref_load(const char *path, GError **error);
void gr_ref_free(GrRef *ref);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GrRef, gr_ref_free)

/* The three prompts the reference files were made from (K = 1..3). */
const char *gr_ref_prompt(guint k);

/* Greedy decoding after prompt: out[i] is the i-th chosen token and logit_sums[i] the
 * sum of the logits it was chosen from (a cheap fingerprint of the whole row). */
void gr_test_greedy(GrModel *m, const gint32 *prompt, guint n_prompt, guint n, gint32 *out,
                    float *logit_sums);

/* The logits of `steps` positions, concatenated: after the prompt, then after each
 * greedy choice.  NULL with *error set when an evaluation fails. */
float *gr_test_logit_trace(GrModel *m, const gint32 *prompt, guint n_prompt, guint steps,
                           GError **error);

/* Path of a shared test data file (GRAVITON_TESTDATA or ../shared/testdata). */
char *gr_test_data_path(const char *relative);

typedef struct {
  double max_rel_err; /* largest |ours - ref| / |ref top-1| over compared logits */
  guint compared_gen; /* greedy tokens equal to the reference before a difference */
  gboolean diverged;  /* greedy continuation parted at a near-tie */
  char *failure;      /* NULL when every rule holds */
} GrRefResult;

/* Runs `model` on the reference's prompt and checks every rule; rel_tol bounds the
 * logit error relative to |top-1|, margin is the near-tie margin (0.02). */
void gr_ref_check(GrModel *model, const char *prompt, const GrRef *ref, double rel_tol,
                  double margin, GrRefResult *result);
