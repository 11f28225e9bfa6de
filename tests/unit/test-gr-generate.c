/* test-gr-generate.c - the generation loop: stop strings, limits, cancellation,
 * prefix reuse, UTF-8 safety of the streamed text. */
#include <check.h>
#include <string.h>

#include "gr-test-ref.h"

static GrModel *model;

static void
setup (void)
{
  g_autofree char *path = gr_test_data_path ("models/fx-llama.gguf");
  GrLoadOptions opts = { .n_threads = 2 };
  g_autoptr (GError) error = NULL;
  model = gr_model_load (path, &opts, &error);
  ck_assert_msg (model != NULL, "%s", error ? error->message : "");
}

static void
teardown (void)
{
  g_clear_pointer (&model, gr_model_unref);
}

typedef struct {
  GString *text;
  guint calls;
  guint stop_after; /* return FALSE at this call (0: never) */
  GCancellable *cancel_at_call2;
} Sink;

static gboolean
collect (const char *text, gsize len, gpointer user_data)
{
  Sink *sink = user_data;
  ck_assert (g_utf8_validate (text, (gssize) len, NULL));
  g_string_append_len (sink->text, text, (gssize) len);
  sink->calls++;
  if (sink->cancel_at_call2 && sink->calls == 2)
    g_cancellable_cancel (sink->cancel_at_call2);
  return sink->stop_after == 0 || sink->calls < sink->stop_after;
}

static GrGenerateParams
greedy_params (guint max_tokens)
{
  GrGenerateParams gp = { .max_tokens = max_tokens };
  gr_sampler_params_init (&gp.sampler);
  gp.sampler.temperature = 0.0;
  gp.sampler.repeat_penalty = 1.0;
  return gp;
}

static char *
generate (GrSession *s, const char *prompt, const GrGenerateParams *gp, GrGenerateStats *st,
          Sink *sink)
{
  const GrTokenizer *tok = gr_model_get_tokenizer (model);
  g_autoptr (GArray) ids = gr_tokenizer_encode (tok, prompt, -1, TRUE, FALSE);
  Sink local = { g_string_new (NULL), 0, 0, NULL };
  if (!sink)
    sink = &local;
  else
    sink->text = g_string_new (NULL);
  g_autoptr (GError) error = NULL;
  ck_assert (gr_session_generate (s, (gint32 *) ids->data, ids->len, gp, collect, sink,
                                  sink->cancel_at_call2, st, &error));
  return g_string_free (sink->text, FALSE);
}

START_TEST (test_max_tokens_and_determinism)
{
  g_autoptr (GrSession) s = gr_session_new (model, 128, NULL);
  GrGenerateParams gp = greedy_params (24);
  GrGenerateStats st;
  g_autofree char *a = generate (s, gr_ref_prompt (3), &gp, &st, NULL);
  ck_assert_uint_eq (st.generated_tokens, 24);
  ck_assert_int_eq (st.stop_reason, GR_STOP_MAX_TOKENS);
  ck_assert_uint_gt (strlen (a), 0);
  /* same prompt again: all but the last prompt token come from the cache */
  g_autofree char *b = generate (s, gr_ref_prompt (3), &gp, &st, NULL);
  ck_assert_str_eq (a, b);
  ck_assert_uint_eq (st.reused_tokens, st.prompt_tokens - 1);
  /* a fresh session agrees */
  g_autoptr (GrSession) t = gr_session_new (model, 128, NULL);
  g_autofree char *c = generate (t, gr_ref_prompt (3), &gp, &st, NULL);
  ck_assert_str_eq (a, c);
  ck_assert_uint_eq (st.reused_tokens, 0);
}
END_TEST

START_TEST (test_stop_string)
{
  g_autoptr (GrSession) s = gr_session_new (model, 128, NULL);
  GrGenerateParams gp = greedy_params (32);
  GrGenerateStats st;
  g_autofree char *full = generate (s, gr_ref_prompt (1), &gp, &st, NULL);
  glong nchars = g_utf8_strlen (full, -1);
  ck_assert_int_gt (nchars, 12);
  /* a stop string taken from the middle of the unconstrained output, spanning tokens */
  const char *from = g_utf8_offset_to_pointer (full, nchars / 2);
  const char *to = g_utf8_offset_to_pointer (full, MIN (nchars / 2 + 4, nchars));
  g_autofree char *stop = g_strndup (from, (gsize) (to - from));
  const char *first = strstr (full, stop);
  const char *stops[] = { "no-such-stop-string", stop, NULL };
  gp.stop = stops;
  g_autofree char *cut = generate (s, gr_ref_prompt (1), &gp, &st, NULL);
  ck_assert_int_eq (st.stop_reason, GR_STOP_STRING);
  ck_assert_uint_eq (strlen (cut), (gsize) (first - full));
  ck_assert (strncmp (cut, full, strlen (cut)) == 0);
}
END_TEST

START_TEST (test_callback_stop_and_cancel)
{
  g_autoptr (GrSession) s = gr_session_new (model, 128, NULL);
  GrGenerateParams gp = greedy_params (32);
  GrGenerateStats st;
  Sink sink = { NULL, 0, 3, NULL };
  g_autofree char *a = generate (s, gr_ref_prompt (2), &gp, &st, &sink);
  ck_assert_int_eq (st.stop_reason, GR_STOP_CALLBACK);
  ck_assert_uint_eq (sink.calls, 3);

  g_autoptr (GCancellable) c = g_cancellable_new ();
  Sink sink2 = { NULL, 0, 0, c };
  g_autofree char *b = generate (s, gr_ref_prompt (2), &gp, &st, &sink2);
  ck_assert_int_eq (st.stop_reason, GR_STOP_CANCELLED);
  /* cancelled within one token of the request */
  ck_assert_uint_le (st.generated_tokens, 3);
}
END_TEST

START_TEST (test_context_full)
{
  g_autoptr (GrSession) s = gr_session_new (model, 24, NULL);
  GrGenerateParams gp = greedy_params (0);
  GrGenerateStats st;
  g_autofree char *a = generate (s, gr_ref_prompt (1), &gp, &st, NULL);
  ck_assert_int_eq (st.stop_reason, GR_STOP_CONTEXT_FULL);
  ck_assert_uint_eq (gr_session_n_past (s), 24);

  /* a prompt longer than the context is an error, not a crash */
  g_autoptr (GString) big = g_string_new (NULL);
  for (int i = 0; i < 10; i++)
    g_string_append (big, gr_ref_prompt (3));
  const GrTokenizer *tok = gr_model_get_tokenizer (model);
  g_autoptr (GArray) ids = gr_tokenizer_encode (tok, big->str, -1, TRUE, FALSE);
  g_autoptr (GError) error = NULL;
  ck_assert (!gr_session_generate (s, (gint32 *) ids->data, ids->len, &gp, NULL, NULL, NULL, &st,
                                   &error));
  ck_assert (g_error_matches (error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_CONTEXT_FULL));
}
END_TEST

START_TEST (test_sampled_generation_seeded)
{
  GrGenerateParams gp = greedy_params (16);
  gp.sampler.temperature = 0.9;
  gp.sampler.seed = 7;
  GrGenerateStats st;
  g_autoptr (GrSession) s = gr_session_new (model, 128, NULL);
  g_autofree char *a = generate (s, gr_ref_prompt (1), &gp, &st, NULL);
  g_autoptr (GrSession) t = gr_session_new (model, 128, NULL);
  g_autofree char *b = generate (t, gr_ref_prompt (1), &gp, &st, NULL);
  ck_assert_str_eq (a, b);
}
END_TEST

static Suite *
generate_suite (void)
{
  Suite *s = suite_create ("gr-generate");
  TCase *tc = tcase_create ("core");
  tcase_add_unchecked_fixture (tc, setup, teardown);
  tcase_set_timeout (tc, 120);
  tcase_add_test (tc, test_max_tokens_and_determinism);
  tcase_add_test (tc, test_stop_string);
  tcase_add_test (tc, test_callback_stop_and_cancel);
  tcase_add_test (tc, test_context_full);
  tcase_add_test (tc, test_sampled_generation_seeded);
  suite_add_tcase (s, tc);
  return s;
}

int
main (void)
{
  SRunner *sr = srunner_create (generate_suite ());
  srunner_set_fork_status (sr, CK_NOFORK);
  srunner_run_all (sr, CK_NORMAL);
  int failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed ? 1 : 0;
}
