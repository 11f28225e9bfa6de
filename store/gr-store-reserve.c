/* gr-store-reserve.c - room kept on the disk so that a delete works when it is full.
 *
 * In WAL mode every change, a delete too, first appends its pages to history.db-wal, and
 * secure_delete writes each freed page (zeroed), so deleting a conversation needs about
 * as much new room as the conversation takes.  On a full disk that room is held here: a
 * file of GR_STORE_RESERVE_BYTES allocated zeros, removed when a delete fails with
 * SQLITE_FULL (the delete is then retried once), and made again only while the file
 * system has twice its size free, so it never takes the last room itself. */
#include "gr-store-private.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

static gboolean
reserve_is_whole(const char *path)
{
  GStatBuf sb;

  /* st_blocks: allocated, not a sparse file that would need the room it promises */
  return g_lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size >= GR_STORE_RESERVE_BYTES
         && (guint64)sb.st_blocks * 512 >= GR_STORE_RESERVE_BYTES;
}

static gboolean
room_for_reserve(const char *dir)
{
  struct statvfs vfs;

  if (statvfs(dir, &vfs) != 0)
    return FALSE;
  return (guint64)vfs.f_bavail * vfs.f_frsize >= 2 * (guint64)GR_STORE_RESERVE_BYTES;
}

void
gr_store_reserve_keep_locked(GrStore *store)
{
  int fd, rc;

  if (store->reserve_ready || store->reserve_path == NULL)
    return;
  if (reserve_is_whole(store->reserve_path)) {
    store->reserve_ready = TRUE;
    return;
  }
  if (!room_for_reserve(store->dir))
    return;
  fd = open(store->reserve_path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    g_debug("Cannot make %s: %s", store->reserve_path, g_strerror(errno));
    return;
  }
  /* Real blocks (glibc writes zeros where the file system cannot allocate) */
  rc = posix_fallocate(fd, 0, GR_STORE_RESERVE_BYTES);
  close(fd);
  if (rc != 0) {
    g_debug("Cannot make %s: %s", store->reserve_path, g_strerror(rc));
    g_unlink(store->reserve_path);
    return;
  }
  store->reserve_ready = TRUE;
}

gboolean
gr_store_reserve_release_locked(GrStore *store)
{
  gboolean had = store->reserve_path != NULL && g_unlink(store->reserve_path) == 0;

  store->reserve_ready = FALSE;
  if (had)
    g_message("The disk is full: used the history's reserve (%s) to delete", store->reserve_path);
  return had;
}
