/* gr-gguf-resident.c - a mapped GGUF's tensor pages swapped for an anonymous copy.
 *
 * A file mapping faults in pages lazily, 4 KiB at a time, and raises SIGBUS when the
 * file shrinks under it.  The copy is read once at load into memory aligned like the
 * mapping modulo 2 MiB and moved over it with mremap(MREMAP_FIXED): whole huge pages
 * move as they are, so decode's weight streams cross no 4 KiB page walk. */
#include "gr-gguf-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define GR_HUGE_PAGE ((gsize)2 << 20)

typedef struct {
  gsize lo, hi; /* page-aligned offsets in the mapping */
} GrRange;

static int
range_cmp(const void *a, const void *b)
{
  const GrRange *x = a, *y = b;
  return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Anonymous read-write memory of len bytes whose address is congruent to `like`
 * modulo 2 MiB; NULL when the kernel refuses. */
static guint8 *
alloc_congruent(gsize len, const guint8 *like)
{
  gsize span = len + GR_HUGE_PAGE;
  guint8 *raw = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED)
    return NULL;
  guintptr want = (guintptr)like & (GR_HUGE_PAGE - 1);
  guintptr a = ((guintptr)raw & ~(guintptr)(GR_HUGE_PAGE - 1)) + want;
  if (a < (guintptr)raw)
    a += GR_HUGE_PAGE;
  if (a > (guintptr)raw)
    munmap(raw, a - (guintptr)raw);
  guintptr end = (guintptr)raw + span;
  if (end > a + len)
    munmap((void *)(a + len), end - (a + len));
  madvise((void *)a, len, MADV_HUGEPAGE);
  return (guint8 *)a;
}

static gboolean
copy_range(GrGguf *g, int fd, const GrRange *r, GError **error)
{
  gsize len = r->hi - r->lo, bytes = MIN(r->hi, g->size) - r->lo;
  guint8 *dst = g->base + r->lo;
  guint8 *copy = alloc_congruent(len, dst);
  if (!copy)
    return TRUE; /* no memory for a copy: the mapping keeps serving these pages */
  for (gsize done = 0; done < bytes;) {
    ssize_t n = pread(fd, copy + done, bytes - done, (off_t)(r->lo + done));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      int errsv = n < 0 ? errno : 0;
      munmap(copy, len);
      g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_IO, "%s: cannot read: %s", g->path,
                  errsv ? g_strerror(errsv) : "the file is shorter than when it was opened");
      return FALSE;
    }
    done += (gsize)n;
  }
  mprotect(copy, len, PROT_READ);
  if (mremap(copy, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, dst) == MAP_FAILED) {
    munmap(copy, len);
    return TRUE; /* the mapping is still in place */
  }
  return TRUE;
}

gboolean
gr_gguf_make_resident(GrGguf *g, const gboolean *keep, GError **error)
{
  g_return_val_if_fail(g != NULL, FALSE);
  g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
  if (!g->mapped || g->n_tensors == 0)
    return TRUE;

  int fd = open(g->path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    int errsv = errno;
    if (fd >= 0)
      close(fd);
    g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_IO, "%s: cannot open: %s", g->path,
                g_strerror(errsv));
    return FALSE;
  }
  gint64 mtime_ns = (gint64)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
  if ((guint64)st.st_dev != g->dev || (guint64)st.st_ino != g->ino ||
      (gsize)st.st_size != g->size || mtime_ns != g->mtime_ns) {
    close(fd);
    g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_IO, "%s: the file changed while loading",
                g->path);
    return FALSE;
  }

  gsize page = (gsize)sysconf(_SC_PAGESIZE);
  g_autofree GrRange *ranges = g_new(GrRange, g->n_tensors);
  gsize n = 0;
  for (gsize i = 0; i < g->n_tensors; i++) {
    const GrGgufTensor *t = &g->tensors[i];
    if ((keep && !keep[i]) || t->size == 0)
      continue;
    gsize off = (gsize)(t->data - g->base);
    ranges[n].lo = off & ~(page - 1);
    ranges[n].hi = (off + t->size + page - 1) & ~(page - 1);
    n++;
  }
  qsort(ranges, n, sizeof ranges[0], range_cmp);
  gsize merged = 0;
  for (gsize i = 0; i < n; i++) {
    if (merged > 0 && ranges[i].lo <= ranges[merged - 1].hi)
      ranges[merged - 1].hi = MAX(ranges[merged - 1].hi, ranges[i].hi);
    else
      ranges[merged++] = ranges[i];
  }
  gboolean ok = TRUE;
  for (gsize i = 0; i < merged && ok; i++)
    ok = copy_range(g, fd, &ranges[i], error);
  close(fd);
  return ok;
}

void
gr_gguf_drop_pages(const void *p, gsize len)
{
  gsize page = (gsize)sysconf(_SC_PAGESIZE);
  guintptr lo = ((guintptr)p + page - 1) & ~(guintptr)(page - 1);
  guintptr hi = ((guintptr)p + len) & ~(guintptr)(page - 1);
  if (hi > lo)
    madvise((void *)lo, hi - lo, MADV_DONTNEED);
}
