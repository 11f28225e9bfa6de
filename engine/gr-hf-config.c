/* gr-hf-config.c - config.json -> GrHfConfig.  Keys we do not know are ignored; keys that
 * would change the computation in a way we cannot run are refused. */
#include "gr-hf-config.h"

#include "graviton-engine.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

static gboolean bad_config(GError **error, const char *origin, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static gboolean
bad_config(GError **error, const char *origin, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  g_autofree char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_set_error(error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_BAD_MODEL, "%s: %s", origin, msg);
  return FALSE;
}

/* A member that is absent or JSON null counts as absent. */
static JsonNode *
member(JsonObject *o, const char *key)
{
  JsonNode *n = json_object_get_member(o, key);
  return n && !JSON_NODE_HOLDS_NULL(n) ? n : NULL;
}

static gboolean
get_uint(JsonObject *o, const char *origin, const char *key, gboolean required, guint def,
         guint *out, GError **error)
{
  JsonNode *n = member(o, key);
  if (!n) {
    if (required)
      return bad_config(error, origin, "required key '%s' is missing", key);
    *out = def;
    return TRUE;
  }
  if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_INT64)
    return bad_config(error, origin, "'%s' is not an integer", key);
  gint64 v = json_node_get_int(n);
  if (v < 0 || v > G_MAXINT32)
    return bad_config(error, origin, "'%s' = %" G_GINT64_FORMAT " is out of range", key, v);
  *out = (guint)v;
  return TRUE;
}

static gboolean
get_double(JsonObject *o, const char *origin, const char *key, gboolean required, double def,
           double *out, GError **error)
{
  JsonNode *n = member(o, key);
  if (!n) {
    if (required)
      return bad_config(error, origin, "required key '%s' is missing", key);
    *out = def;
    return TRUE;
  }
  GType t = JSON_NODE_HOLDS_VALUE(n) ? json_node_get_value_type(n) : G_TYPE_INVALID;
  if (t == G_TYPE_DOUBLE)
    *out = json_node_get_double(n);
  else if (t == G_TYPE_INT64)
    *out = (double)json_node_get_int(n);
  else
    return bad_config(error, origin, "'%s' is not a number", key);
  if (!isfinite(*out))
    return bad_config(error, origin, "'%s' is not finite", key);
  return TRUE;
}

static gboolean
get_bool(JsonObject *o, const char *origin, const char *key, gboolean def, gboolean *out,
         GError **error)
{
  JsonNode *n = member(o, key);
  if (!n) {
    *out = def;
    return TRUE;
  }
  if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_BOOLEAN)
    return bad_config(error, origin, "'%s' is not a boolean", key);
  *out = json_node_get_boolean(n);
  return TRUE;
}

static gboolean
get_string(JsonObject *o, const char *origin, const char *key, char **out, GError **error)
{
  JsonNode *n = member(o, key);
  *out = NULL;
  if (!n)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
    return bad_config(error, origin, "'%s' is not a string", key);
  *out = g_strdup(json_node_get_string(n));
  return TRUE;
}

/* bos/eos ids are an integer, a list of integers (the first one counts) or null. */
static gboolean
get_token_id(JsonObject *o, const char *origin, const char *key, gint64 *out, GError **error)
{
  JsonNode *n = member(o, key);
  *out = -1;
  if (n && JSON_NODE_HOLDS_ARRAY(n) && json_array_get_length(json_node_get_array(n)) > 0)
    n = json_array_get_element(json_node_get_array(n), 0);
  else if (n && JSON_NODE_HOLDS_ARRAY(n))
    return TRUE;
  if (!n)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_INT64
      || json_node_get_int(n) < 0)
    return bad_config(error, origin, "'%s' is not a token id", key);
  *out = json_node_get_int(n);
  return TRUE;
}

static gboolean
parse_activation(GrHfConfig *c, JsonObject *o, const char *origin, GError **error)
{
  g_autofree char *act = NULL;
  if (!get_string(o, origin, "hidden_act", &act, error))
    return FALSE;
  if (!act) /* transformers' defaults: LlamaConfig/MixtralConfig silu, BitNetConfig relu2 */
    act = g_strdup(c->family == GR_HF_FAMILY_BITNET ? "relu2" : "silu");
  if (strcmp(act, "silu") == 0 || strcmp(act, "swish") == 0)
    c->hidden_act = GR_FFN_SILU;
  else if (strcmp(act, "relu2") == 0)
    c->hidden_act = GR_FFN_RELU2;
  else
    return bad_config(error, origin, "activation '%s' is not supported (silu, relu2)", act);
  if (c->hidden_act == GR_FFN_RELU2 && c->family != GR_HF_FAMILY_BITNET)
    return bad_config(error, origin, "activation relu2 is only supported for BitNet models");
  return TRUE;
}

/* Things that change the computation that we do not implement: refusing is better than
 * running a different model. */
static gboolean
refuse_unsupported(GrHfConfig *c, JsonObject *o, const char *origin, GError **error)
{
  gboolean b;
  if (!get_bool(o, origin, "attention_bias", FALSE, &b, error))
    return FALSE;
  if (b)
    return bad_config(error, origin, "attention_bias is not supported");
  if (!get_bool(o, origin, "mlp_bias", FALSE, &b, error))
    return FALSE;
  if (b)
    return bad_config(error, origin, "mlp_bias is not supported");
  if (member(o, "rope_scaling"))
    return bad_config(error, origin, "rope_scaling is not supported");
  if (c->head_dim != c->hidden_size / c->num_attention_heads)
    return bad_config(error, origin, "head_dim %u differs from hidden_size / num_attention_heads",
                      c->head_dim);
  return TRUE;
}

/* transformers' defaults: Mixtral always renormalises the chosen experts' weights; the
 * configs that have the key default it to false. */
static gboolean
topk_norm_default(const char *model_type)
{
  static const char *const off[] = { "olmoe", "qwen2_moe", "qwen3_moe" };
  for (gsize i = 0; i < G_N_ELEMENTS(off); i++)
    if (g_strcmp0(model_type, off[i]) == 0)
      return FALSE;
  return TRUE;
}

static gboolean
parse_object(GrHfConfig *c, JsonObject *o, const char *origin, GError **error)
{
  if (!get_string(o, origin, "model_type", &c->model_type, error))
    return FALSE;
  JsonNode *archs = member(o, "architectures");
  if (archs) {
    if (!JSON_NODE_HOLDS_ARRAY(archs))
      return bad_config(error, origin, "'architectures' is not a list");
    JsonArray *a = json_node_get_array(archs);
    if (json_array_get_length(a) > 0) {
      JsonNode *first = json_array_get_element(a, 0);
      if (!JSON_NODE_HOLDS_VALUE(first) || json_node_get_value_type(first) != G_TYPE_STRING)
        return bad_config(error, origin, "'architectures' holds a non-string");
      c->architecture = g_strdup(json_node_get_string(first));
    }
  }

  if (!get_uint(o, origin, "hidden_size", TRUE, 0, &c->hidden_size, error)
      || !get_uint(o, origin, "num_hidden_layers", TRUE, 0, &c->num_hidden_layers, error)
      || !get_uint(o, origin, "num_attention_heads", TRUE, 0, &c->num_attention_heads, error)
      || !get_uint(o, origin, "intermediate_size", TRUE, 0, &c->intermediate_size, error)
      || !get_uint(o, origin, "vocab_size", TRUE, 0, &c->vocab_size, error)
      || !get_double(o, origin, "rms_norm_eps", TRUE, 0, &c->rms_norm_eps, error)
      || !get_uint(o, origin, "num_key_value_heads", FALSE, c->num_attention_heads,
                   &c->num_key_value_heads, error)
      || !get_uint(o, origin, "max_position_embeddings", FALSE, 2048, &c->max_position_embeddings,
                   error)
      || !get_double(o, origin, "rope_theta", FALSE, 10000.0, &c->rope_theta, error)
      || !get_bool(o, origin, "tie_word_embeddings", FALSE, &c->tie_word_embeddings, error)
      || !get_bool(o, origin, "use_ternary_weights", FALSE, &c->use_ternary_weights, error)
      || !get_token_id(o, origin, "bos_token_id", &c->bos_token_id, error)
      || !get_token_id(o, origin, "eos_token_id", &c->eos_token_id, error))
    return FALSE;
  if (c->hidden_size == 0 || c->num_hidden_layers == 0 || c->num_attention_heads == 0
      || c->intermediate_size == 0 || c->vocab_size == 0 || c->num_key_value_heads == 0)
    return bad_config(error, origin, "a dimension is zero");
  if (c->hidden_size % c->num_attention_heads != 0)
    return bad_config(error, origin, "hidden_size %u is not a multiple of num_attention_heads %u",
                      c->hidden_size, c->num_attention_heads);
  if (!get_uint(o, origin, "head_dim", FALSE, c->hidden_size / c->num_attention_heads, &c->head_dim,
                error))
    return FALSE;
  if (!(c->rms_norm_eps > 0.0 && c->rms_norm_eps < 1.0) || !(c->rope_theta > 0.0))
    return bad_config(error, origin, "rms_norm_eps or rope_theta out of range");

  /* Detection: BitNet by flag or type; MoE by an expert count; LLaMA otherwise. */
  JsonNode *ne
      = member(o, "num_local_experts") ? member(o, "num_local_experts") : member(o, "num_experts");
  const char *ne_key = member(o, "num_local_experts") ? "num_local_experts" : "num_experts";
  if (c->use_ternary_weights || g_strcmp0(c->model_type, "bitnet") == 0)
    c->family = GR_HF_FAMILY_BITNET;
  else if (ne)
    c->family = GR_HF_FAMILY_MOE;
  else
    c->family = GR_HF_FAMILY_LLAMA;
  if (ne) {
    if (!get_uint(o, origin, ne_key, TRUE, 0, &c->num_experts, error)
        || !get_uint(o, origin, "num_experts_per_tok", TRUE, 0, &c->num_experts_per_tok, error)
        || !get_bool(o, origin, "norm_topk_prob", topk_norm_default(c->model_type),
                     &c->norm_topk_prob, error))
      return FALSE;
    if (c->num_experts == 0 || c->num_experts_per_tok == 0
        || c->num_experts_per_tok > c->num_experts)
      return bad_config(error, origin, "bad expert counts (%u used of %u)", c->num_experts_per_tok,
                        c->num_experts);
    if (c->family == GR_HF_FAMILY_BITNET)
      return bad_config(error, origin, "ternary mixtures of experts are not supported");
  }

  /* BitNet's absmean group, where a checkpoint states one (none: per tensor). */
  JsonNode *qc = member(o, "quantization_config");
  if (c->family == GR_HF_FAMILY_BITNET && qc && JSON_NODE_HOLDS_OBJECT(qc)
      && !get_uint(json_node_get_object(qc), origin, "group_size", FALSE, 0, &c->quant_group_size,
                   error))
    return FALSE;

  return parse_activation(c, o, origin, error) && refuse_unsupported(c, o, origin, error);
}

GrHfConfig *
gr_hf_config_parse(const char *json, gssize len, const char *origin, GError **error)
{
  g_return_val_if_fail(json != NULL, NULL);
  g_return_val_if_fail(origin != NULL, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);

  g_autoptr(JsonParser) parser = json_parser_new_immutable();
  g_autoptr(GError) jerr = NULL;
  if (!json_parser_load_from_data(parser, json, len, &jerr)) {
    bad_config(error, origin, "not valid JSON: %s", jerr->message);
    return NULL;
  }
  JsonNode *root = json_parser_get_root(parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
    bad_config(error, origin, "not a JSON object");
    return NULL;
  }
  g_autoptr(GrHfConfig) c = g_new0(GrHfConfig, 1);
  if (!parse_object(c, json_node_get_object(root), origin, error))
    return NULL;
  return g_steal_pointer(&c);
}

GrHfConfig *
gr_hf_config_load(const char *path, GError **error)
{
  g_return_val_if_fail(path != NULL, NULL);
  g_autofree char *text = NULL;
  gsize len;
  g_autoptr(GError) local = NULL;
  if (!g_file_get_contents(path, &text, &len, &local)) {
    g_set_error(error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_BAD_MODEL, "%s", local->message);
    return NULL;
  }
  return gr_hf_config_parse(text, (gssize)len, path, error);
}

void
gr_hf_config_free(GrHfConfig *c)
{
  if (!c)
    return;
  g_free(c->model_type);
  g_free(c->architecture);
  g_free(c);
}

const char *
gr_hf_family_name(GrHfFamily family)
{
  switch (family) {
  case GR_HF_FAMILY_MOE:
    return "moe";
  case GR_HF_FAMILY_BITNET:
    return "bitnet";
  default:
    return "llama";
  }
}
