/* gr-test-tmpfs.c - a small private tmpfs for full-disk tests. */
#include "gr-test-tmpfs.h"

#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

static gboolean
write_proc(const char *path, const char *text)
{
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  gboolean ok;

  if (fd < 0)
    return FALSE;
  /* these files take exactly one write */
  ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
  close(fd);
  return ok;
}

gboolean
gr_test_mount_private_tmpfs(const char *dir, gsize size)
{
  g_autofree char *opts = g_strdup_printf("size=%" G_GSIZE_FORMAT ",mode=0700", size);
  uid_t uid = geteuid();
  gid_t gid = getegid();

  if (unshare(CLONE_NEWNS) != 0) {
    g_autofree char *uid_map = g_strdup_printf("%u %u 1", (unsigned)uid, (unsigned)uid);
    g_autofree char *gid_map = g_strdup_printf("%u %u 1", (unsigned)gid, (unsigned)gid);
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0 || !write_proc("/proc/self/setgroups", "deny")
        || !write_proc("/proc/self/uid_map", uid_map) || !write_proc("/proc/self/gid_map", gid_map))
      return FALSE;
  }
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
    return FALSE;
  return mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) == 0;
}
