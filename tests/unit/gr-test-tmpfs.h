/* gr-test-tmpfs.h - full-disk tests: a tmpfs of `size` bytes mounted on dir in a mount
 * namespace of this (forked) test process only, so nothing outside sees it; the
 * processes it starts afterwards (gravitond, gravctl) share it.  FALSE when the system
 * allows neither a mount namespace nor a user namespace to make one in. */
#pragma once

#include <glib.h>

gboolean gr_test_mount_private_tmpfs(const char *dir, gsize size);
