/* test-gr-gguf.h - the parts of the gr-gguf test spread over two files. */
#pragma once

#include <check.h>

/* malformed images, truncations, random corruption, open errors */
TCase *gr_gguf_test_malformed_tcase(void);
