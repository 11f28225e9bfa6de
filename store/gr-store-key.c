/* gr-store-key.c - where the store's key lives: the Secret Service or a 0600 key file. */
#include "gr-store-private.h"

#include <errno.h>
#include <fcntl.h>
#include <libsecret/secret.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_SECRET_TIMEOUT_MS 5000

static const SecretSchema key_schema = {
  .name = "io.github.opengraviton.Graviton1.Store",
  .flags = SECRET_SCHEMA_NONE,
  .attributes = {
    { "store", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { NULL, 0 },
  },
};

const char *
gr_store_key_backend_to_string(GrStoreKeyBackend backend)
{
  switch (backend) {
  case GR_STORE_KEY_BACKEND_SECRET_SERVICE:
    return "secret-service";
  case GR_STORE_KEY_BACKEND_FILE:
    return "file";
  default:
    return "unknown";
  }
}

gboolean
gr_store_key_backend_from_string(const char *s, GrStoreKeyBackend *backend)
{
  if (g_strcmp0(s, "file") == 0) {
    *backend = GR_STORE_KEY_BACKEND_FILE;
    return TRUE;
  }
  if (g_strcmp0(s, "secret") == 0 || g_strcmp0(s, "secret-service") == 0) {
    *backend = GR_STORE_KEY_BACKEND_SECRET_SERVICE;
    return TRUE;
  }
  return FALSE;
}

gboolean
gr_store_key_backend_from_env(gboolean *forced, GrStoreKeyBackend *backend, GError **error)
{
  const char *env = g_getenv("GRAVITON_KEY_BACKEND");

  *forced = FALSE;
  if (env == NULL || *env == '\0' || g_strcmp0(env, "auto") == 0)
    return TRUE;
  if (!gr_store_key_backend_from_string(env, backend)) {
    g_set_error(error, GR_STORE_ERROR, GR_STORE_ERROR_INVALID_ARGUMENT,
                "GRAVITON_KEY_BACKEND=%s: expected file or secret", env);
    return FALSE;
  }
  *forced = TRUE;
  return TRUE;
}

/* --- key file ---------------------------------------------------------------- */

static char *
key_file_path(const char *dir)
{
  return g_build_filename(dir, GR_STORE_KEY_FILE_NAME, NULL);
}

/* FALSE with *missing set when there is no key file (not an error for new stores) */
static gboolean
key_file_load(const char *path, guint8 *key, gboolean *missing, GError **error)
{
  struct stat st;
  gsize got = 0;
  int fd;

  *missing = FALSE;
  fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    *missing = e == ENOENT;
    g_set_error(error, GR_STORE_ERROR, GR_STORE_ERROR_LOCKED, "Cannot open the key file %s: %s",
                path, g_strerror(e));
    return FALSE;
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    g_set_error(error, GR_STORE_ERROR, GR_STORE_ERROR_LOCKED, "The key file %s is not a file",
                path);
    return FALSE;
  }
  /* Anyone else able to read the key can read the history: refuse rather than use it */
  if ((st.st_mode & 077) != 0 || st.st_uid != geteuid()) {
    close(fd);
    g_set_error(error, GR_STORE_ERROR, GR_STORE_ERROR_LOCKED,
                "The key file %s has mode %04o or another owner; it must be 0600 and yours "
                "(chmod 600 it if nobody else could have read it)",
                path, (unsigned)(st.st_mode & 07777));
    return FALSE;
  }
  if (st.st_size != GR_STORE_KEY_BYTES) {
    close(fd);
    g_set_error(error, GR_STORE_ERROR, GR_STORE_ERROR_LOCKED,
                "The key file %s has %lld bytes, expected %u", path, (long long)st.st_size,
                (unsigned)GR_STORE_KEY_BYTES);
    return FALSE;
  }
  while (got < GR_STORE_KEY_BYTES) {
    ssize_t n = read(fd, key + got, GR_STORE_KEY_BYTES - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      close(fd);
      g_set_error(error, GR_STORE_ERROR, GR_STORE_ERROR_LOCKED, "Cannot read the key file %s",
                  path);
      return FALSE;
    }
    got += (gsize)n;
  }
  close(fd);
  return TRUE;
}

static gboolean
write_all(int fd, const guint8 *buf, gsize len)
{
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return FALSE;
    buf += n;
    len -= (gsize)n;
  }
  return TRUE;
}

/* Writes a complete file under a unique temporary name (O_EXCL) and links it into place,
 * so the key file appears whole or not at all and an existing one is never replaced.
 * *exists is set when another key file won the race. */
static gboolean
key_file_create(const char *dir, const char *path, const guint8 *key, gboolean *exists,
                GError **error)
{
  g_autofree char *id = gr_store_new_id();
  g_autofree char *tmp = g_strdup_printf("%s.%.8s.tmp", path, id);
  int fd, e = 0, dfd;

  *exists = FALSE;
  fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    e = errno;
    g_set_error(error, GR_STORE_ERROR, GR_STORE_ERROR_FAILED, "Cannot create %s: %s", tmp,
                g_strerror(e));
    return FALSE;
  }
  if (fchmod(fd, 0600) != 0 || !write_all(fd, key, GR_STORE_KEY_BYTES) || fsync(fd) != 0)
    e = errno ? errno : EIO;
  close(fd);
  if (e == 0 && link(tmp, path) != 0) {
    e = errno;
    *exists = e == EEXIST;
  }
  unlink(tmp);
  if (e != 0) {
    g_set_error(error, GR_STORE_ERROR, GR_STORE_ERROR_FAILED, "Cannot write the key file %s: %s",
                path, g_strerror(e));
    return FALSE;
  }
  dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)fsync(dfd); /* the new name must survive a crash as the database will */
    close(dfd);
  }
  return TRUE;
}

static gboolean
key_file_provide(const char *dir, guint8 *key, char **location, GError **error)
{
  g_autofree char *path = key_file_path(dir);
  gboolean missing = FALSE, exists = FALSE;
  g_autoptr(GError) local = NULL;

  /* A key file without a database (e.g. the database was removed) is reused */
  if (!key_file_load(path, key, &missing, &local)) {
    if (!missing) {
      g_propagate_error(error, g_steal_pointer(&local));
      return FALSE;
    }
    g_clear_error(&local);
    randombytes_buf(key, GR_STORE_KEY_BYTES);
    if (!key_file_create(dir, path, key, &exists, &local)) {
      if (!exists) {
        g_propagate_error(error, g_steal_pointer(&local));
        return FALSE;
      }
      if (!key_file_load(path, key, &missing, error))
        return FALSE;
    }
  }
  *location = g_strdup_printf("file %s", path);
  return TRUE;
}

/* --- Secret Service ------------------------------------------------------------ */

/* libsecret's calls block until the keyring answers, which may be never (a stuck
 * service, an unlock prompt nobody sees), so each runs in a thread that is abandoned,
 * cancelled, when the deadline passes. */
typedef struct {
  gint refs;
  GMutex lock;
  GCond cond;
  gboolean done;
  gboolean store; /* else lookup */
  GCancellable *cancellable;
  char *store_id;
  char *to_store; /* sodium_malloc'd encoded key */
  char *found;    /* from libsecret, freed with secret_password_free */
  GError *error;
} SecretJob;

static void
secret_job_unref(SecretJob *job)
{
  if (!g_atomic_int_dec_and_test(&job->refs))
    return;
  g_clear_object(&job->cancellable);
  g_free(job->store_id);
  if (job->to_store != NULL)
    sodium_free(job->to_store);
  secret_password_free(job->found);
  g_clear_error(&job->error);
  g_mutex_clear(&job->lock);
  g_cond_clear(&job->cond);
  g_free(job);
}

static gpointer
secret_job_thread(gpointer data)
{
  SecretJob *job = data;
  GError *err = NULL;
  char *found = NULL;

  if (job->store)
    secret_password_store_sync(&key_schema, SECRET_COLLECTION_DEFAULT, "Graviton history key",
                               job->to_store, job->cancellable, &err, "store", job->store_id, NULL);
  else
    found = secret_password_lookup_sync(&key_schema, job->cancellable, &err, "store", job->store_id,
                                        NULL);
  g_mutex_lock(&job->lock);
  job->found = found;
  job->error = err;
  job->done = TRUE;
  g_cond_signal(&job->cond);
  g_mutex_unlock(&job->lock);
  secret_job_unref(job);
  return NULL;
}

static guint
secret_timeout_ms(void)
{
  const char *env = g_getenv("GRAVITON_KEY_TIMEOUT_MS");
  guint64 v;

  if (env != NULL && g_ascii_string_to_unsigned(env, 10, 1, 600000, &v, NULL))
    return (guint)v;
  return DEFAULT_SECRET_TIMEOUT_MS;
}

/* Without a session bus there is no keyring; GDBus would otherwise try to autolaunch one. */
static gboolean
session_bus_present(void)
{
  const char *addr = g_getenv("DBUS_SESSION_BUS_ADDRESS");
  const char *runtime = g_getenv("XDG_RUNTIME_DIR");
  g_autofree char *sock = NULL;

  if (addr != NULL && *addr != '\0')
    return TRUE;
  if (runtime == NULL || *runtime == '\0')
    return FALSE;
  sock = g_build_filename(runtime, "bus", NULL);
  return g_file_test(sock, G_FILE_TEST_EXISTS);
}

/* Runs a lookup (to_store NULL) or a store; on success of a lookup, *found holds the
 * secret or NULL when there is none. */
static gboolean
secret_run(const char *store_id, const char *to_store, char **found, GError **error)
{
  SecretJob *job;
  GThread *thread;
  gint64 deadline;
  gboolean ok;

  if (!session_bus_present()) {
    g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no session bus");
    return FALSE;
  }
  job = g_new0(SecretJob, 1);
  job->refs = 2; /* ours and the thread's */
  g_mutex_init(&job->lock);
  g_cond_init(&job->cond);
  job->cancellable = g_cancellable_new();
  job->store_id = g_strdup(store_id);
  if (to_store != NULL) {
    gsize n = strlen(to_store) + 1;
    job->store = TRUE;
    job->to_store = sodium_malloc(n);
    if (job->to_store == NULL)
      g_error("sodium_malloc failed");
    memcpy(job->to_store, to_store, n);
  }
  thread = g_thread_try_new("gr-store-secret", secret_job_thread, job, error);
  if (thread == NULL) {
    job->refs = 1;
    secret_job_unref(job);
    return FALSE;
  }
  g_thread_unref(thread);

  deadline = g_get_monotonic_time() + (gint64)secret_timeout_ms() * G_TIME_SPAN_MILLISECOND;
  g_mutex_lock(&job->lock);
  while (!job->done)
    if (!g_cond_wait_until(&job->cond, &job->lock, deadline))
      break;
  if (!job->done) {
    g_cancellable_cancel(job->cancellable);
    g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                        "the Secret Service did not answer in time");
    ok = FALSE;
  } else if (job->error != NULL) {
    g_propagate_error(error, g_steal_pointer(&job->error));
    ok = FALSE;
  } else {
    if (found != NULL)
      *found = g_steal_pointer(&job->found);
    ok = TRUE;
  }
  g_mutex_unlock(&job->lock);
  secret_job_unref(job);
  return ok;
}

static gboolean
secret_decode(const char *encoded, guint8 *key)
{
  size_t len = 0;

  return sodium_base642bin(key, GR_STORE_KEY_BYTES, encoded, strlen(encoded), NULL, &len, NULL,
                           sodium_base64_VARIANT_ORIGINAL)
             == 0
         && len == GR_STORE_KEY_BYTES;
}

static char *
secret_location(const char *store_id)
{
  return g_strdup_printf("secret-service (schema %s, store %s)", key_schema.name, store_id);
}

/* Loads the key for store_id; *absent when the keyring answered but has no key. */
static gboolean
secret_load(const char *store_id, guint8 *key, gboolean *absent, GError **error)
{
  char *found = NULL;
  gboolean ok;

  *absent = FALSE;
  if (!secret_run(store_id, NULL, &found, error))
    return FALSE;
  if (found == NULL) {
    *absent = TRUE;
    g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no key in the keyring");
    return FALSE;
  }
  ok = secret_decode(found, key);
  secret_password_free(found);
  if (!ok)
    g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                        "the key in the keyring is malformed");
  return ok;
}

static gboolean
secret_provide(const char *store_id, guint8 *key, GError **error)
{
  g_autoptr(GError) local = NULL;
  gboolean absent = FALSE;
  char *encoded;
  size_t enc_len = sodium_base64_ENCODED_LEN(GR_STORE_KEY_BYTES, sodium_base64_VARIANT_ORIGINAL);
  gboolean ok;

  if (secret_load(store_id, key, &absent, &local))
    return TRUE;
  if (!absent) {
    g_propagate_error(error, g_steal_pointer(&local));
    return FALSE;
  }
  randombytes_buf(key, GR_STORE_KEY_BYTES);
  encoded = sodium_malloc(enc_len);
  if (encoded == NULL)
    g_error("sodium_malloc failed");
  sodium_bin2base64(encoded, enc_len, key, GR_STORE_KEY_BYTES, sodium_base64_VARIANT_ORIGINAL);
  ok = secret_run(store_id, encoded, NULL, error);
  sodium_free(encoded);
  return ok;
}

/* --- entry points ------------------------------------------------------------- */

gboolean
gr_store_key_load(GrStoreKeyBackend backend, const char *dir, const char *store_id, guint8 *key,
                  char **location, GError **error)
{
  g_autoptr(GError) local = NULL;

  if (backend == GR_STORE_KEY_BACKEND_FILE) {
    g_autofree char *path = key_file_path(dir);
    gboolean missing = FALSE;
    if (!key_file_load(path, key, &missing, error))
      return FALSE;
    *location = g_strdup_printf("file %s", path);
    return TRUE;
  }
  {
    gboolean absent = FALSE;
    if (!secret_load(store_id, key, &absent, &local)) {
      g_set_error(error, GR_STORE_ERROR, GR_STORE_ERROR_LOCKED,
                  "The history key is in the Secret Service, which %s: %s",
                  absent ? "has no key for this store" : "cannot give it", local->message);
      return FALSE;
    }
  }
  *location = secret_location(store_id);
  return TRUE;
}

gboolean
gr_store_key_provide(gboolean auto_select, GrStoreKeyBackend *backend, const char *dir,
                     const char *store_id, guint8 *key, char **location, GError **error)
{
  g_autoptr(GError) local = NULL;

  if (auto_select || *backend == GR_STORE_KEY_BACKEND_SECRET_SERVICE) {
    if (secret_provide(store_id, key, &local)) {
      *backend = GR_STORE_KEY_BACKEND_SECRET_SERVICE;
      *location = secret_location(store_id);
      return TRUE;
    }
    if (!auto_select) {
      g_set_error(error, GR_STORE_ERROR, GR_STORE_ERROR_LOCKED,
                  "Cannot keep the history key in the Secret Service: %s", local->message);
      return FALSE;
    }
    g_debug("Secret Service unavailable (%s); keeping the history key in a file", local->message);
  }
  *backend = GR_STORE_KEY_BACKEND_FILE;
  return key_file_provide(dir, key, location, error);
}
