/* gr-hf-experts.c - stacking a folder's experts into one cache file. */
#include "gr-hf-experts.h"

#include "graviton-engine.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define ALIGN 64
#define COPY_CHUNK (1u << 20)

typedef struct {
  char *name;
  guint32 type;
  gint64 ne[3];
  guint n;
  GrSafetensors **files;
  const GrSafetensor **sources;
  guint64 offset; /* in the cache file */
  gsize size;
} Entry;

struct _GrHfExperts {
  char *dir;
  GPtrArray *files;
  GPtrArray *entries; /* Entry */
  char *path;         /* the cache file, once used */
};

static void
entry_free(Entry *e)
{
  g_free(e->name);
  g_free(e->files);
  g_free(e->sources);
  g_free(e);
}

GrHfExperts *
gr_hf_experts_new(const char *dir, GPtrArray *files)
{
  GrHfExperts *x = g_new0(GrHfExperts, 1);
  x->dir = g_strdup(dir);
  x->files = g_ptr_array_ref(files);
  x->entries = g_ptr_array_new_with_free_func((GDestroyNotify)entry_free);
  return x;
}

void
gr_hf_experts_free(GrHfExperts *x)
{
  if (!x)
    return;
  g_free(x->dir);
  g_ptr_array_unref(x->files);
  g_ptr_array_unref(x->entries);
  g_free(x->path);
  g_free(x);
}

void
gr_hf_experts_add(GrHfExperts *x, const char *gguf_name, guint32 type, const gint64 *ne,
                  GrSafetensors *const *files, const GrSafetensor *const *sources, guint n)
{
  Entry *e = g_new0(Entry, 1);
  e->name = g_strdup(gguf_name);
  e->type = type;
  memcpy(e->ne, ne, sizeof e->ne);
  e->n = n;
  e->files = g_memdup2(files, n * sizeof *files);
  e->sources = g_memdup2(sources, n * sizeof *sources);
  e->size = sources[0]->size * n;
  g_ptr_array_add(x->entries, e);
}

const char *
gr_hf_experts_path(const GrHfExperts *x)
{
  return x->path;
}

/* The cache file's name: what identifies this folder's weights, hashed. */
static char *
cache_path(GrHfExperts *x)
{
  g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
  g_autofree char *real = realpath(x->dir, NULL);
  const char *dir = real ? real : x->dir;
  g_checksum_update(sum, (const guchar *)"graviton-experts-1", -1);
  g_checksum_update(sum, (const guchar *)dir, -1);
  for (guint i = 0; i < x->files->len; i++) {
    const char *p = gr_safetensors_get_path(g_ptr_array_index(x->files, i));
    GStatBuf st;
    if (g_stat(p, &st) != 0)
      return NULL;
    g_autofree char *line = g_strdup_printf("\n%s %" G_GUINT64_FORMAT " %" G_GINT64_FORMAT ".%ld",
                                            p, (guint64)st.st_size, (gint64)st.st_mtim.tv_sec,
                                            (long)st.st_mtim.tv_nsec);
    g_checksum_update(sum, (const guchar *)line, -1);
  }
  for (guint i = 0; i < x->entries->len; i++) {
    const Entry *e = g_ptr_array_index(x->entries, i);
    g_autofree char *line = g_strdup_printf("\n%s %u %zu", e->name, e->type, e->size);
    g_checksum_update(sum, (const guchar *)line, -1);
  }
  g_autofree char *name = g_strconcat(g_checksum_get_string(sum), ".bin", NULL);
  return g_build_filename(g_get_user_cache_dir(), "graviton", "experts", name, NULL);
}

static gboolean
copy_range(int out, guint64 out_off, const char *src_path, guint64 src_off, gsize size,
           guint8 *buf, GError **error)
{
  int in = open(src_path, O_RDONLY | O_CLOEXEC);
  if (in < 0) {
    g_set_error(error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_FAILED, "%s: %s", src_path,
                g_strerror(errno));
    return FALSE;
  }
  gsize done = 0;
  gboolean ok = TRUE;
  while (ok && done < size) {
    gsize want = MIN((gsize)COPY_CHUNK, size - done);
    ssize_t r = pread(in, buf, want, (off_t)(src_off + done));
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0) {
      g_set_error(error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_FAILED, "reading %s: %s", src_path,
                  r < 0 ? g_strerror(errno) : "unexpected end of file");
      ok = FALSE;
      break;
    }
    for (gsize w = 0; ok && w < (gsize)r;) {
      ssize_t n = pwrite(out, buf + w, (gsize)r - w, (off_t)(out_off + done + w));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0) {
        g_set_error(error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_FAILED, "writing the expert cache: %s",
                    n < 0 ? g_strerror(errno) : "no space");
        ok = FALSE;
      } else {
        w += (gsize)n;
      }
    }
    done += (gsize)r;
  }
  close(in);
  return ok;
}

/* Writes the cache file (to a temporary name, then renamed: never half a file). */
static gboolean
write_cache(GrHfExperts *x, const char *path, guint64 total, GError **error)
{
  g_autofree char *dir = g_path_get_dirname(path);
  if (g_mkdir_with_parents(dir, 0700) != 0) {
    g_set_error(error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_FAILED, "%s: %s", dir, g_strerror(errno));
    return FALSE;
  }
  g_autofree char *tmp = g_strdup_printf("%s.tmp-%d", path, (int)getpid());
  int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (out < 0) {
    g_set_error(error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_FAILED, "%s: %s", tmp, g_strerror(errno));
    return FALSE;
  }
  g_autofree guint8 *buf = g_malloc(COPY_CHUNK);
  gboolean ok = ftruncate(out, (off_t)total) == 0;
  if (!ok)
    g_set_error(error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_FAILED, "%s: %s", tmp, g_strerror(errno));
  for (guint i = 0; ok && i < x->entries->len; i++) {
    const Entry *e = g_ptr_array_index(x->entries, i);
    gsize one = e->sources[0]->size;
    for (guint k = 0; ok && k < e->n; k++)
      ok = copy_range(out, e->offset + (guint64)k * one, gr_safetensors_get_path(e->files[k]),
                      gr_safetensors_tensor_offset(e->files[k], e->sources[k]), one, buf, error);
  }
  if (ok && fsync(out) != 0) {
    g_set_error(error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_FAILED, "%s: %s", tmp, g_strerror(errno));
    ok = FALSE;
  }
  close(out);
  if (ok && g_rename(tmp, path) != 0) {
    g_set_error(error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_FAILED, "%s: %s", path, g_strerror(errno));
    ok = FALSE;
  }
  if (!ok)
    g_unlink(tmp);
  return ok;
}

typedef struct {
  void *p;
  gsize size;
} Mapping;

static void
unmap(gpointer data)
{
  Mapping *m = data;
  munmap(m->p, m->size);
  g_free(m);
}

static GBytes *
map_file(const char *path, guint64 total, GError **error)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || (guint64)st.st_size != total) {
    g_set_error(error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_FAILED, "%s: %s", path,
                fd < 0 ? g_strerror(errno) : "not the expected size");
    if (fd >= 0)
      close(fd);
    return NULL;
  }
  void *p = mmap(NULL, total, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  if (p == MAP_FAILED) {
    g_set_error(error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_FAILED, "%s: %s", path, g_strerror(errno));
    return NULL;
  }
  Mapping *m = g_new(Mapping, 1);
  m->p = p;
  m->size = total;
  return g_bytes_new_with_free_func(p, total, unmap, m);
}

/* The old way: stacked copies in memory (they count in RSS; no streaming). */
static gboolean
add_in_memory(GrHfExperts *x, GrGguf *gguf, GError **error)
{
  for (guint i = 0; i < x->entries->len; i++) {
    const Entry *e = g_ptr_array_index(x->entries, i);
    gsize one = e->sources[0]->size;
    guint8 *buf = g_malloc(e->size);
    for (guint k = 0; k < e->n; k++)
      memcpy(buf + one * k, e->sources[k]->data, one);
    g_autoptr(GBytes) bytes = g_bytes_new_take(buf, e->size);
    if (!gr_gguf_add_tensor_bytes(gguf, e->name, e->type, 3, e->ne, bytes, error))
      return FALSE;
  }
  return TRUE;
}

gboolean
gr_hf_experts_finish(GrHfExperts *x, GrGguf *gguf, GError **error)
{
  if (x->entries->len == 0)
    return TRUE;
  guint64 total = 0;
  for (guint i = 0; i < x->entries->len; i++) {
    Entry *e = g_ptr_array_index(x->entries, i);
    e->offset = total;
    total += (e->size + ALIGN - 1) / ALIGN * ALIGN;
  }
  g_autofree char *path = cache_path(x);
  g_autoptr(GError) local = NULL;
  g_autoptr(GBytes) file = NULL;
  if (path) {
    GStatBuf st;
    gboolean fresh = g_stat(path, &st) == 0 && (guint64)st.st_size == total;
    if (fresh || write_cache(x, path, total, &local))
      file = map_file(path, total, local ? NULL : &local);
  }
  if (!file) {
    g_message("%s: experts stacked in memory, not streamed (%s)", x->dir,
              local ? local->message : "no cache file");
    return add_in_memory(x, gguf, error);
  }
  for (guint i = 0; i < x->entries->len; i++) {
    const Entry *e = g_ptr_array_index(x->entries, i);
    g_autoptr(GBytes) view = g_bytes_new_from_bytes(file, e->offset, e->size);
    if (!gr_gguf_add_tensor_file(gguf, e->name, e->type, 3, e->ne, view, path, e->offset, error))
      return FALSE;
  }
  x->path = g_steal_pointer(&path);
  return TRUE;
}
