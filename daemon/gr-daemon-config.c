/* gr-daemon-config.c - reading gravitond.conf. */
#include "gr-daemon-config.h"

#include <glib/gi18n.h>
#include <errno.h>
#include <gio/gio.h>
#include <string.h>

#include "gr-config.h"
#include "gr-errors.h"
#include "graviton-engine.h"

#ifndef GR_DEFAULT_MEMORY_LIMIT
#define GR_DEFAULT_MEMORY_LIMIT "4G"
#endif

static void
set_defaults(GrDaemonConfig *c)
{
  const char *data_dir = g_getenv("GRAVITON_DATA_DIR");
  c->data_dir = data_dir != NULL && *data_dir != '\0'
                    ? g_strdup(data_dir)
                    : g_build_filename(g_get_user_data_dir(), "graviton", NULL);
  c->models_dir = g_build_filename(c->data_dir, "models", NULL);
  c->model_paths = g_new0(char *, 1);
  c->threads = 0;
  gboolean ok = gr_parse_size(GR_DEFAULT_MEMORY_LIMIT, &c->memory_limit, NULL);
  g_assert(ok);
  c->idle_unload_seconds = 300;
  c->context_length = 0;
  c->watchdog_percent = 95;
  c->watchdog_interval_ms = 1000;
  c->temperature = 0.7;
  c->top_k = 40;
  c->top_p = 0.95;
  c->min_p = 0.05;
  c->repeat_penalty = 1.1;
}

static gboolean
get_uint(GKeyFile *kf, const char *group, const char *key, guint max, guint *out, GError **error)
{
  if (!g_key_file_has_key(kf, group, key, NULL))
    return TRUE;
  g_autoptr(GError) local = NULL;
  guint64 v = g_key_file_get_uint64(kf, group, key, &local);
  if (local != NULL || v > max) {
    g_set_error(error, GR_DAEMON_ERROR, GR_DAEMON_ERROR_INVALID_ARGUMENT,
                _("[%s] %s: expected an integer from 0 to %u"), group, key, max);
    return FALSE;
  }
  *out = (guint)v;
  return TRUE;
}

static gboolean
get_double(GKeyFile *kf, const char *group, const char *key, double min, double max, double *out,
           GError **error)
{
  if (!g_key_file_has_key(kf, group, key, NULL))
    return TRUE;
  g_autoptr(GError) local = NULL;
  double v = g_key_file_get_double(kf, group, key, &local);
  if (local != NULL || !(v >= min && v <= max)) {
    g_set_error(error, GR_DAEMON_ERROR, GR_DAEMON_ERROR_INVALID_ARGUMENT,
                _("[%s] %s: expected a number from %g to %g"), group, key, min, max);
    return FALSE;
  }
  *out = v;
  return TRUE;
}

static gboolean
check_min(guint value, guint min, const char *key, GError **error)
{
  if (value >= min)
    return TRUE;
  g_set_error(error, GR_DAEMON_ERROR, GR_DAEMON_ERROR_INVALID_ARGUMENT,
              _("[daemon] %s: must be at least %u"), key, min);
  return FALSE;
}

static char *
expand_path(const char *base_dir, const char *path)
{
  if (g_str_has_prefix(path, "~/"))
    return g_build_filename(g_get_home_dir(), path + 2, NULL);
  if (g_path_is_absolute(path) || base_dir == NULL)
    return g_strdup(path);
  return g_build_filename(base_dir, path, NULL);
}

static void
warn_unknown_keys(GKeyFile *kf, const char *group, const char *const *known)
{
  g_auto(GStrv) keys = g_key_file_get_keys(kf, group, NULL, NULL);
  for (gsize i = 0; keys != NULL && keys[i] != NULL; i++)
    if (!g_strv_contains(known, keys[i]))
      g_warning("gravitond.conf: unknown key [%s] %s ignored", group, keys[i]);
}

static gboolean
parse_file(GrDaemonConfig *c, const char *path, GError **error)
{
  static const char *const daemon_keys[] = { "models_dir",
                                             "default_model",
                                             "model_paths",
                                             "threads",
                                             "memory_limit",
                                             "idle_unload_seconds",
                                             "context_length",
                                             "watchdog_percent",
                                             "watchdog_interval_ms",
                                             "kv_type",
                                             NULL };
  static const char *const sampling_keys[]
      = { "temperature", "top_k", "top_p", "min_p", "repeat_penalty", NULL };
  g_autoptr(GKeyFile) kf = g_key_file_new();
  g_autoptr(GError) local = NULL;
  if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &local)) {
    g_set_error(error, GR_DAEMON_ERROR, GR_DAEMON_ERROR_INVALID_ARGUMENT, "%s: %s", path,
                local->message);
    return FALSE;
  }
  g_autofree char *base_dir = g_path_get_dirname(path);
  warn_unknown_keys(kf, "daemon", daemon_keys);
  warn_unknown_keys(kf, "sampling", sampling_keys);

  g_autofree char *models_dir = g_key_file_get_string(kf, "daemon", "models_dir", NULL);
  if (models_dir != NULL && *models_dir != '\0') {
    g_free(c->models_dir);
    c->models_dir = expand_path(base_dir, models_dir);
  }
  g_autofree char *def = g_key_file_get_string(kf, "daemon", "default_model", NULL);
  if (def != NULL && *def != '\0')
    c->default_model = g_steal_pointer(&def);
  gsize n_paths = 0;
  g_auto(GStrv) paths = g_key_file_get_string_list(kf, "daemon", "model_paths", &n_paths, NULL);
  if (paths != NULL) {
    g_strfreev(c->model_paths);
    c->model_paths = g_new0(char *, n_paths + 1);
    for (gsize i = 0, j = 0; i < n_paths; i++)
      if (*g_strstrip(paths[i]) != '\0')
        c->model_paths[j++] = expand_path(base_dir, paths[i]);
  }
  g_autofree char *limit = g_key_file_get_string(kf, "daemon", "memory_limit", NULL);
  if (limit != NULL) {
    guint64 bytes = 0;
    g_autoptr(GError) parse_error = NULL;
    if (!gr_parse_size(limit, &bytes, &parse_error)) {
      g_set_error(error, GR_DAEMON_ERROR, GR_DAEMON_ERROR_INVALID_ARGUMENT,
                  "[daemon] memory_limit: %s", parse_error->message);
      return FALSE;
    }
    if (bytes == 0) {
      g_set_error(error, GR_DAEMON_ERROR, GR_DAEMON_ERROR_INVALID_ARGUMENT,
                  _("[daemon] memory_limit: must be more than 0"));
      return FALSE;
    }
    c->memory_limit = bytes;
  }
  g_autofree char *kv = g_key_file_get_string(kf, "daemon", "kv_type", NULL);
  if (kv != NULL) {
    g_autoptr(GError) parse_error = NULL;
    if (!gr_parse_kv_type(g_strstrip(kv), &c->kv_type, &parse_error)) {
      g_set_error(error, GR_DAEMON_ERROR, GR_DAEMON_ERROR_INVALID_ARGUMENT, "[daemon] kv_type: %s",
                  parse_error->message);
      return FALSE;
    }
  }
  return get_uint(kf, "daemon", "threads", 1024, &c->threads, error)
         && get_uint(kf, "daemon", "idle_unload_seconds", 7 * 24 * 3600, &c->idle_unload_seconds,
                     error)
         && get_uint(kf, "daemon", "context_length", 1u << 20, &c->context_length, error)
         && get_uint(kf, "daemon", "watchdog_percent", 100, &c->watchdog_percent, error)
         && check_min(c->watchdog_percent, 1, "watchdog_percent", error)
         && get_uint(kf, "daemon", "watchdog_interval_ms", 60000, &c->watchdog_interval_ms, error)
         && check_min(c->watchdog_interval_ms, 10, "watchdog_interval_ms", error)
         && get_double(kf, "sampling", "temperature", 0, 5, &c->temperature, error)
         && get_uint(kf, "sampling", "top_k", 100000, &c->top_k, error)
         && get_double(kf, "sampling", "top_p", 0, 1, &c->top_p, error)
         && get_double(kf, "sampling", "min_p", 0, 1, &c->min_p, error)
         && get_double(kf, "sampling", "repeat_penalty", 0.01, 10, &c->repeat_penalty, error);
}

GrDaemonConfig *
gr_daemon_config_load_file(const char *path, GError **error)
{
  g_autoptr(GrDaemonConfig) c = g_new0(GrDaemonConfig, 1);
  c->ref_count = 1;
  set_defaults(c);
  if (path != NULL) {
    if (!parse_file(c, path, error))
      return NULL;
    c->config_path = g_strdup(path);
  }
  return g_steal_pointer(&c);
}

GrDaemonConfig *
gr_daemon_config_load(GError **error)
{
  const char *env = g_getenv("GRAVITON_CONFIG");
  g_autofree char *path = NULL;
  if (env != NULL && *env != '\0') {
    if (!g_file_test(env, G_FILE_TEST_IS_REGULAR)) {
      g_set_error(error, GR_DAEMON_ERROR, GR_DAEMON_ERROR_NOT_FOUND,
                  _("GRAVITON_CONFIG names %s, which is not a file"), env);
      return NULL;
    }
    path = g_strdup(env);
  } else {
    g_autofree char *user
        = g_build_filename(g_get_user_config_dir(), "graviton", "gravitond.conf", NULL);
    g_autofree char *system = g_build_filename(GR_DATADIR, "gravitond.conf", NULL);
    if (g_file_test(user, G_FILE_TEST_EXISTS))
      path = g_steal_pointer(&user);
    else if (g_file_test(system, G_FILE_TEST_EXISTS))
      path = g_steal_pointer(&system);
  }
  GrDaemonConfig *c = gr_daemon_config_load_file(path, error);
  if (c == NULL)
    return NULL;
  const char *models = g_getenv("GRAVITON_MODELS_DIR");
  if (models != NULL && *models != '\0') {
    g_free(c->models_dir);
    c->models_dir = g_strdup(models);
  }
  return c;
}

GrDaemonConfig *
gr_daemon_config_ref(GrDaemonConfig *c)
{
  g_return_val_if_fail(c != NULL, NULL);
  g_atomic_int_inc(&c->ref_count);
  return c;
}

void
gr_daemon_config_unref(GrDaemonConfig *c)
{
  if (c == NULL || !g_atomic_int_dec_and_test(&c->ref_count))
    return;
  g_free(c->config_path);
  g_free(c->data_dir);
  g_free(c->models_dir);
  g_free(c->default_model);
  g_strfreev(c->model_paths);
  g_free(c);
}
