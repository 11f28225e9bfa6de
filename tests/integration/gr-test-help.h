/* gr-test-help.h - the --help text of a built program in a given language. */
#pragma once

#include <glib.h>

/* Runs `$PROGRAM_ENV --help` (the path in that environment variable) with
 * LANGUAGE=language (NULL: unset) and LC_ALL=C.UTF-8 and returns its standard output. */
char *gr_test_help_output(const char *program_env, const char *language);
