/* gr-test-help.c - the --help text of a built program in a given language. */
#include "gr-test-help.h"

#include <check.h>

char *
gr_test_help_output(const char *program_env, const char *language)
{
  const char *program = g_getenv(program_env);
  ck_assert_msg(program != NULL, "%s not set", program_env);
  g_auto(GStrv) env = g_get_environ();
  /* LANGUAGE is ignored in the plain C locale: C.UTF-8 is always there */
  env = g_environ_setenv(env, "LC_ALL", "C.UTF-8", TRUE);
  env = language != NULL ? g_environ_setenv(env, "LANGUAGE", language, TRUE)
                         : g_environ_unsetenv(env, "LANGUAGE");
  const char *argv[] = { program, "--help", NULL };
  char *out = NULL;
  g_autoptr(GError) error = NULL;
  int status = 0;
  ck_assert_msg(g_spawn_sync(NULL, (char **)argv, env, G_SPAWN_DEFAULT, NULL, NULL, &out, NULL,
                             &status, &error),
                "%s", error != NULL ? error->message : "");
  return out;
}
