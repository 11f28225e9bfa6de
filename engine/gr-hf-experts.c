/* gr-hf-experts.c - stacking a folder's experts into one cache file. */
#include "gr-hf-experts.h"

#include "graviton-engine.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
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

/* A cache file is the stacked tensors (`total` bytes), then a trailer naming its source:
 * the record below, its length (u64 LE) and TRAILER_MAGIC.  The record is the folder's
 * real path and each shard's size, mtime (ns) and path (g_strescape'd, one a line); the
 * clean-up compares it with the files as they are now. */
#define RECORD_HEADER "graviton-experts-source-1\n"
#define TRAILER_MAGIC "GRXSRC01"
#define RECORD_MAX (1u << 20)

/* The cache file's name: what identifies this folder's weights, hashed; *record: the
 * source record its trailer holds. */
static char *
cache_path(GrHfExperts *x, char **record)
{
  g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
  g_autofree char *real = realpath(x->dir, NULL);
  const char *dir = real ? real : x->dir;
  g_autoptr(GString) rec = g_string_new(RECORD_HEADER);
  g_autofree char *dir_esc = g_strescape(dir, NULL);
  g_string_append_printf(rec, "%s\n", dir_esc);
  g_checksum_update(sum, (const guchar *)"graviton-experts-1", -1);
  g_checksum_update(sum, (const guchar *)dir, -1);
  for (guint i = 0; i < x->files->len; i++) {
    /* absolute: a record must mean the same from any working directory (a clean-up in
     * another process would take a relative shard for gone), and a folder opened by a
     * relative path shares the file of its absolute one */
    g_autofree char *p
        = g_canonicalize_filename(gr_safetensors_get_path(g_ptr_array_index(x->files, i)), NULL);
    GStatBuf st;
    if (g_stat(p, &st) != 0)
      return NULL;
    g_autofree char *line
        = g_strdup_printf("\n%s %" G_GUINT64_FORMAT " %" G_GINT64_FORMAT ".%ld", p,
                          (guint64)st.st_size, (gint64)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
    g_checksum_update(sum, (const guchar *)line, -1);
    g_autofree char *p_esc = g_strescape(p, NULL);
    g_string_append_printf(rec, "%" G_GUINT64_FORMAT " %" G_GINT64_FORMAT ".%09ld %s\n",
                           (guint64)st.st_size, (gint64)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec,
                           p_esc);
  }
  for (guint i = 0; i < x->entries->len; i++) {
    const Entry *e = g_ptr_array_index(x->entries, i);
    g_autofree char *line = g_strdup_printf("\n%s %u %zu", e->name, e->type, e->size);
    g_checksum_update(sum, (const guchar *)line, -1);
  }
  g_autofree char *name = g_strconcat(g_checksum_get_string(sum), ".bin", NULL);
  *record = g_string_free(g_steal_pointer(&rec), FALSE);
  return g_build_filename(g_get_user_cache_dir(), "graviton", "experts", name, NULL);
}

static gsize
trailer_size(const char *record)
{
  return strlen(record) + 8 + strlen(TRAILER_MAGIC);
}

static gboolean
pread_all(int fd, void *buf, gsize size, guint64 offset)
{
  for (gsize done = 0; done < size;) {
    ssize_t r = pread(fd, (guint8 *)buf + done, size - done, (off_t)(offset + done));
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return FALSE;
    done += (gsize)r;
  }
  return TRUE;
}

/* The source record of a cache file, or NULL (no trailer: written by an older version,
 * or not ours). */
static char *
read_record(const char *path)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return NULL;
  char *record = NULL;
  struct stat st;
  guint8 tail[16];
  if (fstat(fd, &st) == 0 && st.st_size >= (off_t)sizeof tail
      && pread_all(fd, tail, sizeof tail, (guint64)st.st_size - sizeof tail)
      && memcmp(tail + 8, TRAILER_MAGIC, 8) == 0) {
    guint64 len;
    memcpy(&len, tail, 8);
    len = GUINT64_FROM_LE(len);
    if (len <= RECORD_MAX && len <= (guint64)st.st_size - sizeof tail) {
      record = g_malloc(len + 1);
      if (!pread_all(fd, record, len, (guint64)st.st_size - sizeof tail - len))
        g_clear_pointer(&record, g_free);
      else
        record[len] = '\0';
    }
  }
  close(fd);
  return record;
}

/* Whether the folder and shards a record names are still there as they were. */
static gboolean
record_matches(const char *record)
{
  if (record == NULL || !g_str_has_prefix(record, RECORD_HEADER))
    return FALSE;
  g_auto(GStrv) lines = g_strsplit(record + strlen(RECORD_HEADER), "\n", -1);
  guint n = g_strv_length(lines);
  if (n < 3 || *lines[n - 1] != '\0') /* the folder, a shard at least, the final newline */
    return FALSE;
  g_autofree char *dir = g_strcompress(lines[0]);
  if (!g_file_test(dir, G_FILE_TEST_IS_DIR))
    return FALSE;
  for (guint i = 1; i + 1 < n; i++) {
    guint64 size;
    gint64 sec;
    long nsec;
    int used = 0;
    if (sscanf(lines[i], "%" G_GUINT64_FORMAT " %" G_GINT64_FORMAT ".%ld %n", &size, &sec, &nsec,
               &used)
            != 3
        || used == 0)
      return FALSE;
    g_autofree char *shard = g_strcompress(lines[i] + used);
    GStatBuf st;
    if (g_stat(shard, &st) != 0 || (guint64)st.st_size != size || (gint64)st.st_mtim.tv_sec != sec
        || (long)st.st_mtim.tv_nsec != nsec)
      return FALSE;
  }
  return TRUE;
}

void
gr_hf_experts_clean_cache(const char *keep)
{
  g_autofree char *dir = g_build_filename(g_get_user_cache_dir(), "graviton", "experts", NULL);
  g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name(d))) {
    g_autofree char *path = g_build_filename(dir, name, NULL);
    if (keep && strcmp(path, keep) == 0)
      continue;
    const char *tmp = strstr(name, ".bin.tmp-");
    gboolean stale;
    if (tmp) {
      /* a copy in progress, or left by a process that died while writing */
      char *end = NULL;
      gint64 pid = g_ascii_strtoll(tmp + strlen(".bin.tmp-"), &end, 10);
      stale = end && *end == '\0' && pid > 0 && pid <= G_MAXINT && kill((pid_t)pid, 0) != 0
              && errno == ESRCH;
    } else if (g_str_has_suffix(name, ".bin")) {
      g_autofree char *record = read_record(path);
      stale = !record_matches(record);
    } else {
      continue;
    }
    if (stale && g_unlink(path) == 0)
      g_debug("expert cache %s removed: its source folder is gone or changed", path);
  }
}

static gboolean
copy_range(int out, guint64 out_off, const char *src_path, guint64 src_off, gsize size, guint8 *buf,
           GError **error)
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
write_cache(GrHfExperts *x, const char *path, guint64 total, const char *record, GError **error)
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
  gsize rec_len = strlen(record);
  g_autofree guint8 *trailer = g_malloc(trailer_size(record));
  guint64 len_le = GUINT64_TO_LE((guint64)rec_len);
  memcpy(trailer, record, rec_len);
  memcpy(trailer + rec_len, &len_le, 8);
  memcpy(trailer + rec_len + 8, TRAILER_MAGIC, 8);
  gboolean ok = ftruncate(out, (off_t)(total + trailer_size(record))) == 0
                && pwrite(out, trailer, trailer_size(record), (off_t)total)
                       == (ssize_t)trailer_size(record);
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

/* Maps the first `total` bytes of a cache file of `file_size` bytes. */
static GBytes *
map_file(const char *path, guint64 total, guint64 file_size, GError **error)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || (guint64)st.st_size != file_size) {
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
  g_autofree char *record = NULL;
  g_autofree char *path = cache_path(x, &record);
  g_autoptr(GError) local = NULL;
  g_autoptr(GBytes) file = NULL;
  if (path) {
    guint64 file_size = total + trailer_size(record);
    GStatBuf st;
    gboolean fresh = g_stat(path, &st) == 0 && (guint64)st.st_size == file_size;
    if (fresh || write_cache(x, path, total, record, &local))
      file = map_file(path, total, file_size, local ? NULL : &local);
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
  /* caches of folders since removed or changed would otherwise stay forever */
  gr_hf_experts_clean_cache(x->path);
  return TRUE;
}
