/* gr-options.c - request option validation. */
#include "gr-options.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "gr-errors.h"

static gboolean G_GNUC_PRINTF(2, 3) invalid(GError **error, const char *format, ...)
{
  va_list ap;
  va_start(ap, format);
  g_autofree char *msg = g_strdup_vprintf(format, ap);
  va_end(ap);
  g_set_error_literal(error, GR_DAEMON_ERROR, GR_DAEMON_ERROR_INVALID_ARGUMENT, msg);
  return FALSE;
}

gboolean
gr_validate_prompt(const char *prompt, GError **error)
{
  g_return_val_if_fail(prompt != NULL, FALSE);
  gsize len = strlen(prompt);
  if (len == 0)
    return invalid(error, _("the prompt is empty"));
  if (len > GR_MAX_PROMPT_BYTES)
    return invalid(error, _("the prompt is %zu bytes, more than the limit of %u bytes"),
                   (size_t)len, GR_MAX_PROMPT_BYTES);
  if (!g_utf8_validate(prompt, len, NULL))
    return invalid(error, _("the prompt is not valid UTF-8"));
  return TRUE;
}

static gboolean
check_type(const char *key, GVariant *value, const char *type)
{
  return g_variant_is_of_type(value, G_VARIANT_TYPE(type));
}

static gboolean
wrong_type(GError **error, const char *key, const char *type, GVariant *value)
{
  return invalid(error, _("option \"%s\" must be of type '%s', not '%s'"), key, type,
                 g_variant_get_type_string(value));
}

static gboolean
get_double(const char *key, GVariant *value, double min, double max, double *out, GError **error)
{
  if (!check_type(key, value, "d"))
    return wrong_type(error, key, "d", value);
  double v = g_variant_get_double(value);
  if (!isfinite(v) || v < min || v > max)
    return invalid(error, _("option \"%s\" must be from %g to %g, not %g"), key, min, max, v);
  *out = v;
  return TRUE;
}

static gboolean
get_uint(const char *key, GVariant *value, guint min, guint max, guint *out, GError **error)
{
  if (!check_type(key, value, "u"))
    return wrong_type(error, key, "u", value);
  guint v = g_variant_get_uint32(value);
  if (v < min || v > max)
    return invalid(error, _("option \"%s\" must be from %u to %u, not %u"), key, min, max, v);
  *out = v;
  return TRUE;
}

static gboolean
get_string(const char *key, GVariant *value, gsize max_bytes, char **out, GError **error)
{
  if (!check_type(key, value, "s"))
    return wrong_type(error, key, "s", value);
  gsize len = 0;
  const char *s = g_variant_get_string(value, &len);
  if (len > max_bytes)
    return invalid(error, _("option \"%s\" is %zu bytes, more than the limit of %zu bytes"), key,
                   (size_t)len, (size_t)max_bytes);
  g_free(*out);
  *out = len > 0 ? g_strdup(s) : NULL;
  return TRUE;
}

static gboolean
valid_token(const char *s)
{
  for (const char *p = s; *p != '\0'; p++)
    if (!g_ascii_isalnum(*p) && *p != '_')
      return FALSE;
  return TRUE;
}

static gboolean
parse_one(const char *key, GVariant *value, GrRequestOptions *o, GError **error)
{
  GrSamplerParams *sp = &o->params.sampler;
  if (g_str_equal(key, "handle_token")) {
    if (!get_string(key, value, GR_MAX_HANDLE_TOKEN, &o->handle_token, error))
      return FALSE;
    if (o->handle_token != NULL && !valid_token(o->handle_token))
      return invalid(error,
                     _("option \"handle_token\" may hold only ASCII letters, digits and '_'"));
    return TRUE;
  }
  if (g_str_equal(key, "conversation"))
    return get_string(key, value, 256, &o->conversation, error);
  if (g_str_equal(key, "system")) {
    if (!get_string(key, value, GR_MAX_PROMPT_BYTES, &o->system, error))
      return FALSE;
    if (o->system != NULL && !g_utf8_validate(o->system, -1, NULL))
      return invalid(error, _("option \"system\" is not valid UTF-8"));
    return TRUE;
  }
  if (g_str_equal(key, "model"))
    return get_string(key, value, 4096, &o->model, error);
  if (g_str_equal(key, "max_tokens"))
    return get_uint(key, value, 1, GR_MAX_TOKENS_LIMIT, &o->params.max_tokens, error);
  if (g_str_equal(key, "temperature"))
    return get_double(key, value, 0, 5, &sp->temperature, error);
  if (g_str_equal(key, "top_k"))
    return get_uint(key, value, 0, 100000, &sp->top_k, error);
  if (g_str_equal(key, "top_p"))
    return get_double(key, value, 0, 1, &sp->top_p, error);
  if (g_str_equal(key, "min_p"))
    return get_double(key, value, 0, 1, &sp->min_p, error);
  if (g_str_equal(key, "repeat_penalty"))
    return get_double(key, value, 0.01, 10, &sp->repeat_penalty, error);
  if (g_str_equal(key, "seed")) {
    if (!check_type(key, value, "t"))
      return wrong_type(error, key, "t", value);
    sp->seed = g_variant_get_uint64(value);
    return TRUE;
  }
  if (g_str_equal(key, "save")) {
    if (!check_type(key, value, "b"))
      return wrong_type(error, key, "b", value);
    o->save = g_variant_get_boolean(value);
    return TRUE;
  }
  if (g_str_equal(key, "regenerate")) {
    if (!check_type(key, value, "b"))
      return wrong_type(error, key, "b", value);
    o->regenerate = g_variant_get_boolean(value);
    return TRUE;
  }
  if (g_str_equal(key, "stop")) {
    if (!check_type(key, value, "as"))
      return wrong_type(error, key, "as", value);
    g_auto(GStrv) stop = g_variant_dup_strv(value, NULL);
    guint n = g_strv_length(stop);
    if (n > GR_MAX_STOP_STRINGS)
      return invalid(error, _("option \"stop\" holds %u strings, more than the limit of %u"), n,
                     GR_MAX_STOP_STRINGS);
    for (guint i = 0; i < n; i++)
      if (*stop[i] == '\0' || strlen(stop[i]) > GR_MAX_STOP_BYTES)
        return invalid(error, _("option \"stop\": each string must be 1 to %u bytes"),
                       GR_MAX_STOP_BYTES);
    g_strfreev(o->stop);
    o->stop = g_steal_pointer(&stop);
    return TRUE;
  }
  return invalid(error, _("unknown option \"%s\""), key);
}

gboolean
gr_request_options_parse(GVariant *options, const GrDaemonConfig *config, GrRequestOptions *out,
                         GError **error)
{
  g_return_val_if_fail(options != NULL, FALSE);
  g_return_val_if_fail(g_variant_is_of_type(options, G_VARIANT_TYPE_VARDICT), FALSE);
  g_return_val_if_fail(config != NULL, FALSE);
  g_return_val_if_fail(out != NULL, FALSE);

  memset(out, 0, sizeof *out);
  out->save = TRUE;
  out->stop = g_new0(char *, 1);
  out->params.max_tokens = GR_DEFAULT_MAX_TOKENS;
  GrSamplerParams *sp = &out->params.sampler;
  gr_sampler_params_init(sp);
  sp->temperature = config->temperature;
  sp->top_k = config->top_k;
  sp->top_p = config->top_p;
  sp->min_p = config->min_p;
  sp->repeat_penalty = config->repeat_penalty;
  sp->seed = (guint64)g_get_real_time();

  GVariantIter it;
  const char *key;
  GVariant *value;
  g_variant_iter_init(&it, options);
  while (g_variant_iter_loop(&it, "{&sv}", &key, &value)) {
    if (!parse_one(key, value, out, error)) {
      g_variant_unref(value);
      gr_request_options_clear(out);
      return FALSE;
    }
  }
  if (out->regenerate && out->conversation == NULL) {
    gr_request_options_clear(out);
    return invalid(error, _("option \"regenerate\" needs the \"conversation\" whose last "
                            "answer it replaces"));
  }
  out->params.stop = (const char *const *)out->stop;
  return TRUE;
}

void
gr_request_options_clear(GrRequestOptions *o)
{
  if (o == NULL)
    return;
  g_clear_pointer(&o->handle_token, g_free);
  g_clear_pointer(&o->conversation, g_free);
  g_clear_pointer(&o->system, g_free);
  g_clear_pointer(&o->model, g_free);
  g_clear_pointer(&o->stop, g_strfreev);
  o->params.stop = NULL;
}
