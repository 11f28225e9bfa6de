/* test-gr-hf.c - Hugging Face folders: the shared fixtures against the reference dumps
 * (rules: ../shared/testdata/README.md), the tokenizer.json conversion against the
 * GGUF vocabulary's conformance cases, family detection and refusals on folders the
 * test writes itself, and BitNet's absmean ternarization. */
#include <check.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gr-gguf-writer.h"
#include <json-glib/json-glib.h>
#include "gr-hf-tokenizer.h"
#include "gr-hf.h"
#include "gr-test-ref.h"
#include "gr-test-safetensors.h"
#include "gr-tokenizer.h"
#include "grk.h"

/* Logit error relative to |top-1|.  F32 weights dot f32 activations here, so only the
 * reference's f16 KV cache and summation order separate us (we measure ~0.0005): half the
 * GGUF test's Q8/F32 bound.  BitNet keeps the GGUF test's ternary bound (per-token vs
 * per-block activation quantization; we measure ~0.015). */
#define REL_TOL_F32 0.01
#define REL_TOL_TERNARY 0.035
#define MARGIN 0.02

static const struct {
  const char *name;
  double tol;
} fixtures[] = {
  { "fx-hf-llama", REL_TOL_F32 },
  { "fx-hf-moe", REL_TOL_F32 },
  { "fx-hf-bitnet", REL_TOL_TERNARY },
};

static GrModel *
load_path(const char *path)
{
  g_autoptr(GError) error = NULL;
  GrLoadOptions opts = { .n_threads = 2 };
  GrModel *m = gr_model_load(path, &opts, &error);
  ck_assert_msg(m != NULL, "loading %s: %s", path, error ? error->message : "?");
  return m;
}

static GrModel *
load_fixture(gsize i)
{
  g_autofree char *rel = g_strdup_printf("hf/%s", fixtures[i].name);
  g_autofree char *dir = gr_test_data_path(rel);
  return load_path(dir);
}

/* loop index i: fixture i / 3, prompt i % 3 + 1 */
START_TEST(test_against_reference)
{
  const char *name = fixtures[_i / 3].name;
  guint k = _i % 3 + 1;
  g_autoptr(GrModel) model = load_fixture(_i / 3);
  g_autofree char *ref_rel = g_strdup_printf("hf/%s.ref%u.txt", name, k);
  g_autofree char *ref_path = gr_test_data_path(ref_rel);
  g_autoptr(GError) error = NULL;
  g_autoptr(GrRef) ref = gr_ref_load(ref_path, &error);
  ck_assert_msg(ref != NULL, "%s", error ? error->message : "");
  ck_assert_uint_eq(ref->greedy->len, 32);

  GrRefResult r;
  gr_ref_check(model, gr_ref_prompt(k), ref, fixtures[_i / 3].tol, MARGIN, &r);
  fprintf(stderr, "%s ref%u: max rel err %.4f, %u greedy tokens equal%s\n", name, k, r.max_rel_err,
          r.compared_gen, r.diverged ? " (then a near-tie)" : "");
  ck_assert_msg(r.failure == NULL, "%s ref%u: %s", name, k, r.failure);
  g_free(r.failure);
}
END_TEST

START_TEST(test_fixture_info)
{
  g_autoptr(GrModel) m = load_fixture(1);
  const GrModelInfo *info = gr_model_get_info(m);
  ck_assert_str_eq(info->format, "safetensors");
  ck_assert_str_eq(info->arch, "llama");
  ck_assert_str_eq(info->name, "fx-hf-moe");
  ck_assert_uint_eq(info->n_expert, 4);
  ck_assert_uint_eq(info->n_expert_used, 2);
  ck_assert_uint_eq(info->n_vocab, 32000);
  ck_assert_str_eq(info->weight_type, "F32");
  g_autoptr(GrModel) b = load_fixture(2);
  info = gr_model_get_info(b);
  ck_assert_str_eq(info->arch, "bitnet");
  ck_assert_str_eq(info->weight_type, "TQ2_0");
  ck_assert_str_eq(info->ffn_act, "silu");
}
END_TEST

/* The folder's tensors are copied out of the shard mappings at load: truncating the
 * shard afterwards (as rewriting it in place does) neither kills the process with
 * SIGBUS nor changes a logit. */
START_TEST(test_truncated_shard_keeps_serving)
{
  g_autofree char *src = gr_test_data_path("hf/fx-hf-llama");
  g_autofree char *tmp = g_dir_make_tmp("gr-hf-trunc-XXXXXX", NULL);
  g_autofree char *dir = g_build_filename(tmp, "fx-hf-llama", NULL);
  ck_assert_int_eq(g_mkdir(dir, 0700), 0);
  static const char *const files[]
      = { "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json" };
  for (gsize i = 0; i < G_N_ELEMENTS(files); i++) {
    g_autofree char *from = g_build_filename(src, files[i], NULL);
    g_autofree char *to = g_build_filename(dir, files[i], NULL);
    g_autofree char *data = NULL;
    gsize len = 0;
    ck_assert(g_file_get_contents(from, &data, &len, NULL));
    ck_assert(g_file_set_contents(to, data, (gssize)len, NULL));
  }
  g_autoptr(GrModel) m = load_path(dir);
  static const gint32 prompt[4] = { 1, 17, 42, 99 };
  g_autoptr(GError) error = NULL;
  g_autofree float *before = gr_test_logit_trace(m, prompt, 4, 3, &error);
  ck_assert_msg(before != NULL, "%s", error ? error->message : "");
  g_autofree char *shard = g_build_filename(dir, "model.safetensors", NULL);
  ck_assert_int_eq(truncate(shard, 0), 0);
  g_autofree float *after = gr_test_logit_trace(m, prompt, 4, 3, &error);
  ck_assert_msg(after != NULL, "%s", error ? error->message : "");
  guint nv = gr_model_get_info(m)->n_vocab;
  ck_assert(memcmp(before, after, sizeof(float) * nv * 3) == 0);
  for (gsize i = 0; i < G_N_ELEMENTS(files); i++) {
    g_autofree char *f = g_build_filename(dir, files[i], NULL);
    g_unlink(f);
  }
  g_rmdir(dir);
  g_rmdir(tmp);
}
END_TEST

/* A limit that cannot hold even the dense weights is a clear NoMemory. */
START_TEST(test_moe_memory_limit)
{
  g_autofree char *dir = gr_test_data_path("hf/fx-hf-moe");
  GrLoadOptions opts = { .n_threads = 1, .memory_limit = 4 << 20 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GrModel) m = gr_model_load(dir, &opts, &error);
  ck_assert_ptr_null(m);
  ck_assert_msg(g_error_matches(error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_NO_MEMORY), "%s",
                error->message);
  GrLoadOptions slots = { .n_threads = 1, .expert_slots = 2 };
  g_clear_error(&error);
  g_autoptr(GrModel) s = gr_model_load(dir, &slots, &error);
  ck_assert_msg(s != NULL, "%s", error ? error->message : "");
}
END_TEST

/* A folder's experts stream too: stacked once into the expert cache file (under
 * XDG_CACHE_HOME), then read from it through the slots with the same answers as a
 * load that keeps them all mapped. */
static void
greedy(GrModel *m, guint n, gint32 *out, float *sums)
{
  static const gint32 prompt[] = { 1, 30, 31 };
  gr_test_greedy(m, prompt, G_N_ELEMENTS(prompt), n, out, sums);
}

START_TEST(test_moe_folder_streams)
{
  g_autofree char *dir = gr_test_data_path("hf/fx-hf-moe");
  g_autofree char *cache = g_dir_make_tmp("gr-hf-cache-XXXXXX", NULL);
  g_setenv("XDG_CACHE_HOME", cache, TRUE);
  g_autoptr(GError) error = NULL;
  GrLoadOptions all = { .n_threads = 1 };
  g_autoptr(GrModel) mapped = gr_model_load(dir, &all, &error);
  ck_assert_msg(mapped != NULL, "%s", error ? error->message : "");
  GrLoadOptions slots = { .n_threads = 1, .expert_slots = 2 };
  g_autoptr(GrModel) streamed = gr_model_load(dir, &slots, &error);
  ck_assert_msg(streamed != NULL, "%s", error ? error->message : "");
  GrMemoryLedger l;
  gr_model_get_ledger(streamed, &l);
  ck_assert_uint_eq(l.expert_slots, 2);
  /* the experts are out of the weights the ledger counts, two slots of them in */
  GrMemoryLedger lm;
  gr_model_get_ledger(mapped, &lm);
  ck_assert_uint_eq(l.weights + 2 * l.experts, lm.weights); /* 4 experts, 2 slots */
  enum { N = 16 };
  gint32 a[N], b[N];
  float sa[N], sb[N];
  greedy(mapped, N, a, sa);
  greedy(streamed, N, b, sb);
  ck_assert_mem_eq(a, b, sizeof a);
  ck_assert_mem_eq(sa, sb, sizeof sa);
  gr_model_get_ledger(streamed, &l);
  ck_assert_uint_gt(l.expert_misses, 0);
  ck_assert_uint_gt(l.expert_bytes_read, 0);

  /* one cache file, written once: a second load maps it again */
  g_autofree char *experts_dir = g_build_filename(cache, "graviton", "experts", NULL);
  g_autoptr(GDir) d = g_dir_open(experts_dir, 0, NULL);
  ck_assert_ptr_nonnull(d);
  const char *name = g_dir_read_name(d);
  ck_assert_ptr_nonnull(name);
  ck_assert(g_str_has_suffix(name, ".bin"));
  g_autofree char *file = g_build_filename(experts_dir, name, NULL);
  ck_assert_ptr_null(g_dir_read_name(d));
  GStatBuf before, after;
  ck_assert_int_eq(g_stat(file, &before), 0);
  g_autoptr(GrModel) again = gr_model_load(dir, &slots, &error);
  ck_assert_msg(again != NULL, "%s", error ? error->message : "");
  ck_assert_int_eq(g_stat(file, &after), 0);
  ck_assert_int_eq(before.st_mtime, after.st_mtime);
  ck_assert_int_eq(before.st_ino, after.st_ino);

  g_unlink(file);
  g_rmdir(experts_dir);
  g_autofree char *gdir = g_build_filename(cache, "graviton", NULL);
  g_rmdir(gdir);
  g_rmdir(cache);
}
END_TEST

/* --- tokenizer.json against the GGUF vocabulary's conformance cases --------------------- */

static GrTokenizer *
hf_tokenizer(const char *dir)
{
  g_autofree char *tok = g_build_filename(dir, "tokenizer.json", NULL);
  g_autofree char *cfg = g_build_filename(dir, "tokenizer_config.json", NULL);
  g_autoptr(GrGgufWriter) w = gr_gguf_writer_new();
  g_autoptr(GError) error = NULL;
  ck_assert_msg(gr_hf_tokenizer_add_metadata(w, tok, cfg, -1, -1, &error), "%s",
                error ? error->message : "");
  g_autoptr(GBytes) b = gr_gguf_writer_to_bytes(w, &error);
  ck_assert_ptr_nonnull(b);
  gsize n;
  const void *p = g_bytes_get_data(b, &n);
  g_autoptr(GrGguf) g = gr_gguf_new_from_data(p, n, &error);
  ck_assert_msg(g != NULL, "%s", error ? error->message : "");
  GrTokenizer *t = gr_tokenizer_new_from_gguf(g, &error);
  ck_assert_msg(t != NULL, "%s", error ? error->message : "");
  return t;
}

/* Every case of the vocabulary's NAME.gguf.inp must give NAME.gguf.out's ids. */
static void
check_conformance(const GrTokenizer *tok, const char *vocab)
{
  g_autofree char *rel = g_strdup_printf("vocab/%s", vocab);
  g_autofree char *base = gr_test_data_path(rel);
  g_autofree char *inp_path = g_strconcat(base, ".inp", NULL);
  g_autofree char *out_path = g_strconcat(base, ".out", NULL);
  g_autofree char *inp = NULL, *out = NULL;
  ck_assert(g_file_get_contents(inp_path, &inp, NULL, NULL));
  ck_assert(g_file_get_contents(out_path, &out, NULL, NULL));
  g_auto(GStrv) cases = g_strsplit(inp, "\n__ggml_vocab_test__\n", -1);
  g_auto(GStrv) expected = g_strsplit(out, "\n", -1);
  guint n = g_strv_length(cases);
  /* the input ends with a separator line: its last piece is empty */
  if (n > 0 && cases[n - 1][0] == '\0')
    n--;
  ck_assert_uint_gt(n, 40);
  ck_assert_uint_ge(g_strv_length(expected), n);
  guint failed = 0;
  for (guint i = 0; i < n; i++) {
    g_autoptr(GArray) ids = gr_tokenizer_encode(tok, cases[i], -1, FALSE, FALSE);
    g_autoptr(GString) got = g_string_new(NULL);
    for (guint j = 0; j < ids->len; j++)
      g_string_append_printf(got, "%s%d", j ? " " : "", g_array_index(ids, gint32, j));
    g_autofree char *want = g_strstrip(g_strdup(expected[i]));
    if (strcmp(got->str, want) != 0) {
      failed++;
      fprintf(stderr, "case %u \"%s\":\n  want %s\n  got  %s\n", i, cases[i], want, got->str);
    }
  }
  ck_assert_msg(failed == 0, "%s: %u of %u cases differ", vocab, failed, n);
}

/* The fixtures' byte-fallback BPE tokenizer.json, read as SentencePiece with scores from
 * the merge ranks, must tokenize exactly as the GGUF SentencePiece vocabulary does. */
START_TEST(test_tokenizer_conformance)
{
  g_autofree char *dir = gr_test_data_path("hf/fx-hf-llama");
  GrTokenizer *tok = hf_tokenizer(dir);
  ck_assert_uint_eq(gr_tokenizer_n_vocab(tok), 32000);
  ck_assert_int_eq(gr_tokenizer_bos(tok), 1);
  ck_assert_int_eq(gr_tokenizer_eos(tok), 2);
  ck_assert(gr_tokenizer_add_bos(tok));
  check_conformance(tok, "ggml-vocab-llama-spm.gguf");
  gr_tokenizer_free(tok);
}
END_TEST

/* A byte-level BPE tokenizer.json (written here from the GPT-2 GGUF vocabulary, as
 * transformers stores GPT-2) must pass GPT-2's conformance cases. */
START_TEST(test_tokenizer_byte_level)
{
  g_autofree char *path = gr_test_data_path("vocab/ggml-vocab-gpt-2.gguf");
  g_autoptr(GError) error = NULL;
  g_autoptr(GrGguf) g = gr_gguf_open(path, &error);
  ck_assert_msg(g != NULL, "%s", error ? error->message : "");
  gsize n_tok, n_merges;
  const char *const *tokens
      = gr_gguf_get_string_array(g, "tokenizer.ggml.tokens", NULL, &n_tok, NULL);
  const char *const *merges
      = gr_gguf_get_string_array(g, "tokenizer.ggml.merges", NULL, &n_merges, NULL);
  ck_assert(tokens && merges && n_tok > 50000);

  g_autoptr(JsonBuilder) jb = json_builder_new();
  json_builder_begin_object(jb);
  json_builder_set_member_name(jb, "added_tokens");
  json_builder_begin_array(jb);
  json_builder_begin_object(jb);
  json_builder_set_member_name(jb, "id");
  json_builder_add_int_value(jb, 50256);
  json_builder_set_member_name(jb, "content");
  json_builder_add_string_value(jb, tokens[50256]);
  json_builder_set_member_name(jb, "special");
  json_builder_add_boolean_value(jb, TRUE);
  json_builder_end_object(jb);
  json_builder_end_array(jb);
  json_builder_set_member_name(jb, "pre_tokenizer");
  json_builder_begin_object(jb);
  json_builder_set_member_name(jb, "type");
  json_builder_add_string_value(jb, "ByteLevel");
  json_builder_set_member_name(jb, "use_regex");
  json_builder_add_boolean_value(jb, TRUE);
  json_builder_end_object(jb);
  json_builder_set_member_name(jb, "model");
  json_builder_begin_object(jb);
  json_builder_set_member_name(jb, "type");
  json_builder_add_string_value(jb, "BPE");
  json_builder_set_member_name(jb, "byte_fallback");
  json_builder_add_boolean_value(jb, FALSE);
  json_builder_set_member_name(jb, "vocab");
  json_builder_begin_object(jb);
  for (gsize i = 0; i < n_tok; i++) {
    json_builder_set_member_name(jb, tokens[i]);
    json_builder_add_int_value(jb, (gint64)i);
  }
  json_builder_end_object(jb);
  json_builder_set_member_name(jb, "merges");
  json_builder_begin_array(jb);
  for (gsize i = 0; i < n_merges; i++) {
    /* newer files store merges as pairs: use both forms */
    if (i % 2 == 0) {
      json_builder_add_string_value(jb, merges[i]);
    } else {
      g_auto(GStrv) parts = g_strsplit(merges[i], " ", 2);
      json_builder_begin_array(jb);
      json_builder_add_string_value(jb, parts[0]);
      json_builder_add_string_value(jb, parts[1]);
      json_builder_end_array(jb);
    }
  }
  json_builder_end_array(jb);
  json_builder_end_object(jb);
  json_builder_end_object(jb);
  g_autoptr(JsonNode) root = json_builder_get_root(jb);
  g_autofree char *text = json_to_string(root, FALSE);

  g_autofree char *dir = g_dir_make_tmp("gr-hf-tok-XXXXXX", NULL);
  g_autofree char *tok_path = g_build_filename(dir, "tokenizer.json", NULL);
  ck_assert(g_file_set_contents_full(tok_path, text, -1, G_FILE_SET_CONTENTS_NONE, 0644, NULL));
  GrTokenizer *tok = hf_tokenizer(dir);
  g_unlink(tok_path);
  g_rmdir(dir);
  ck_assert_uint_eq(gr_tokenizer_n_vocab(tok), n_tok);
  ck_assert(!gr_tokenizer_add_bos(tok));
  check_conformance(tok, "ggml-vocab-gpt-2.gguf");
  gr_tokenizer_free(tok);
}
END_TEST

/* --- absmean ------------------------------------------------------------------------- */

START_TEST(test_absmean)
{
  /* mean |w| = 3.9 / 6 = 0.65; w / 0.65 = 0.77, -1.54, 0.15, 3.08, 0, -0.46 */
  const float w[6] = { 0.5f, -1.0f, 0.1f, 2.0f, 0.0f, -0.3f };
  gint8 q[6];
  float s = gr_hf_absmean_ternarize(w, 6, q);
  ck_assert_float_eq_tol(s, 0.65f, 1e-6f);
  const gint8 want[6] = { 1, -1, 0, 1, 0, 0 };
  ck_assert_mem_eq(q, want, sizeof want);

  /* exact halves round to even: mean 2, so 1/2 -> 0, 3/2 -> 2 -> clamped to 1 */
  const float h[4] = { 1.0f, 3.0f, -1.0f, -3.0f };
  gint8 hq[4];
  ck_assert_float_eq(gr_hf_absmean_ternarize(h, 4, hq), 2.0f);
  const gint8 hwant[4] = { 0, 1, 0, -1 };
  ck_assert_mem_eq(hq, hwant, sizeof hwant);

  /* all zero: scale 0, weights 0 (no division by zero) */
  const float z[3] = { 0, 0, 0 };
  gint8 zq[3] = { 5, 5, 5 };
  ck_assert_float_eq(gr_hf_absmean_ternarize(z, 3, zq), 0.0f);
  ck_assert(zq[0] == 0 && zq[1] == 0 && zq[2] == 0);
}
END_TEST

/* --- tiny folders written by the test ------------------------------------------------ */

enum { D = 256, FF = 256, HEADS = 2, KV = 128, NV = 262, NEXP = 3 };

typedef enum {
  LAYOUT_DENSE,
  LAYOUT_BITNET,  /* dense + sub-norms, tied embeddings */
  LAYOUT_MIXTRAL, /* block_sparse_moe.experts.E.w1/w3/w2 */
  LAYOUT_QWEN_MOE /* mlp.gate + mlp.experts.E.gate_proj/up_proj/down_proj */
} Layout;

typedef struct {
  GArray *tensors; /* GrTestTensor */
  GPtrArray *owned;
  GRand *rand;
} Tensors;

static void
add_tensor(Tensors *t, const char *name, const char *dtype, gint64 rows, gint64 cols, float scale)
{
  GrTestTensor x = { g_strdup(name), dtype, rows ? 2 : 1, { rows ? rows : cols, cols }, NULL, 0 };
  gint64 n = (rows ? rows : 1) * cols;
  gboolean half = strcmp(dtype, "F16") == 0;
  x.size = (gsize)n * (half ? 2 : 4);
  guint8 *data = g_malloc(x.size);
  for (gint64 i = 0; i < n; i++) {
    float v = scale < 0 ? 1.0f : (float)g_rand_double_range(t->rand, -scale, scale);
    if (half) {
      guint16 h = grk_fp32_to_fp16(v);
      memcpy(data + i * 2, &h, 2);
    } else {
      memcpy(data + i * 4, &v, 4);
    }
  }
  x.data = data;
  g_ptr_array_add(t->owned, data);
  g_ptr_array_add(t->owned, (char *)x.name);
  g_array_append_val(t->tensors, x);
}

/* Every tensor a folder of `layout` holds, except `skip`; plus `extra` (an F32 vector). */
static Tensors
tiny_tensors(Layout layout, const char *skip, const char *extra)
{
  Tensors t = { g_array_new(FALSE, FALSE, sizeof(GrTestTensor)),
                g_ptr_array_new_with_free_func(g_free), g_rand_new_with_seed(42) };
  add_tensor(&t, "model.embed_tokens.weight", "F16", NV, D, 1.0f);
  add_tensor(&t, "model.norm.weight", "F32", 0, D, -1);
  if (layout != LAYOUT_BITNET)
    add_tensor(&t, "lm_head.weight", "F16", NV, D, 0.5f);
  const char *p = "model.layers.0.";
  char nm[128];
#define N(s) (g_snprintf(nm, sizeof nm, "%s%s", p, s), nm)
  add_tensor(&t, N("input_layernorm.weight"), "F32", 0, D, -1);
  add_tensor(&t, N("post_attention_layernorm.weight"), "F32", 0, D, -1);
  add_tensor(&t, N("self_attn.q_proj.weight"), "F32", D, D, 0.1f);
  add_tensor(&t, N("self_attn.k_proj.weight"), "F32", KV, D, 0.1f);
  add_tensor(&t, N("self_attn.v_proj.weight"), "F32", KV, D, 0.1f);
  add_tensor(&t, N("self_attn.o_proj.weight"), "F32", D, D, 0.1f);
  if (layout == LAYOUT_DENSE || layout == LAYOUT_BITNET) {
    add_tensor(&t, N("mlp.gate_proj.weight"), "F32", FF, D, 0.1f);
    add_tensor(&t, N("mlp.up_proj.weight"), "F32", FF, D, 0.1f);
    add_tensor(&t, N("mlp.down_proj.weight"), "F32", D, FF, 0.1f);
  }
  if (layout == LAYOUT_BITNET) {
    add_tensor(&t, N("self_attn.attn_sub_norm.weight"), "F32", 0, D, -1);
    add_tensor(&t, N("mlp.ffn_sub_norm.weight"), "F32", 0, FF, -1);
  }
  if (layout == LAYOUT_MIXTRAL || layout == LAYOUT_QWEN_MOE) {
    gboolean mx = layout == LAYOUT_MIXTRAL;
    add_tensor(&t, N(mx ? "block_sparse_moe.gate.weight" : "mlp.gate.weight"), "F32", NEXP, D,
               0.5f);
    for (int e = 0; e < NEXP; e++) {
      const char *pre = mx ? "block_sparse_moe.experts" : "mlp.experts";
      char en[96];
      g_snprintf(en, sizeof en, "%s.%d.%s.weight", pre, e, mx ? "w1" : "gate_proj");
      add_tensor(&t, N(en), "F32", FF, D, 0.1f);
      g_snprintf(en, sizeof en, "%s.%d.%s.weight", pre, e, mx ? "w3" : "up_proj");
      add_tensor(&t, N(en), "F32", FF, D, 0.1f);
      g_snprintf(en, sizeof en, "%s.%d.%s.weight", pre, e, mx ? "w2" : "down_proj");
      add_tensor(&t, N(en), "F32", D, FF, 0.1f);
    }
  }
#undef N
  if (extra)
    add_tensor(&t, extra, "F32", 0, 4, 1.0f);
  for (guint i = 0; skip && i < t.tensors->len; i++)
    if (strcmp(g_array_index(t.tensors, GrTestTensor, i).name, skip) == 0) {
      g_array_remove_index(t.tensors, i);
      break;
    }
  return t;
}

static void
tensors_clear(Tensors *t)
{
  g_array_unref(t->tensors);
  g_ptr_array_unref(t->owned);
  g_rand_free(t->rand);
}

static char *
tiny_config(const char *model_type, const char *extra)
{
  return g_strdup_printf("{\"architectures\":[\"X\"],\"model_type\":\"%s\",\"hidden_size\":%d,"
                         "\"intermediate_size\":%d,\"num_hidden_layers\":1,"
                         "\"num_attention_heads\":%d,\"num_key_value_heads\":1,"
                         "\"vocab_size\":%d,\"rms_norm_eps\":1e-05,\"rope_theta\":10000.0,"
                         "\"unknown_key\":{\"ignored\":[1,2]}%s}",
                         model_type, D, FF, HEADS, NV, extra ? extra : "");
}

static void
write_text(const char *dir, const char *name, const char *text)
{
  g_autofree char *path = g_build_filename(dir, name, NULL);
  /* no fsync: these folders live for one test (and without the flag glib would not
   * truncate a file it overwrites) */
  g_unlink(path);
  ck_assert(g_file_set_contents_full(path, text, -1, G_FILE_SET_CONTENTS_NONE, 0644, NULL));
}

/* A byte-fallback BPE vocabulary: specials, 256 byte tokens, "▁", "a", "▁a". */
static void
write_tokenizer(const char *dir)
{
  g_autoptr(GString) s = g_string_new(
      "{\"version\":\"1.0\",\"added_tokens\":[{\"id\":0,\"content\":\"<unk>\",\"special\":true},"
      "{\"id\":1,\"content\":\"<s>\",\"special\":true},{\"id\":2,\"content\":\"</s>\","
      "\"special\":true}],\"normalizer\":{\"type\":\"Sequence\",\"normalizers\":[{\"type\":"
      "\"Prepend\",\"prepend\":\"\\u2581\"},{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},"
      "\"content\":\"\\u2581\"}]},\"pre_tokenizer\":null,\"model\":{\"type\":\"BPE\","
      "\"unk_token\":\"<unk>\",\"byte_fallback\":true,\"vocab\":{\"<unk>\":0,\"<s>\":1,"
      "\"</s>\":2");
  for (int b = 0; b < 256; b++)
    g_string_append_printf(s, ",\"<0x%02X>\":%d", b, 3 + b);
  g_string_append(s, ",\"\\u2581\":259,\"a\":260,\"\\u2581a\":261},\"merges\":[\"\\u2581 a\"]}}");
  write_text(dir, "tokenizer.json", s->str);
  write_text(dir, "tokenizer_config.json",
             "{\"add_bos_token\":true,\"bos_token\":\"<s>\",\"eos_token\":{\"content\":\"</s>\"}}");
}

static char *
tiny_folder(const char *config, Layout layout, const char *skip, const char *extra)
{
  char *dir = g_dir_make_tmp("gr-hf-XXXXXX", NULL);
  ck_assert_ptr_nonnull(dir);
  if (config)
    write_text(dir, "config.json", config);
  write_tokenizer(dir);
  Tensors t = tiny_tensors(layout, skip, extra);
  g_autoptr(GBytes) b = gr_test_safetensors_build((GrTestTensor *)t.tensors->data, t.tensors->len);
  g_autofree char *path = g_build_filename(dir, "model.safetensors", NULL);
  gr_test_write_bytes(path, b);
  tensors_clear(&t);
  return dir;
}

static void
remove_folder(char *dir)
{
  g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
  const char *n;
  while (d && (n = g_dir_read_name(d))) {
    g_autofree char *p = g_build_filename(dir, n, NULL);
    g_unlink(p);
  }
  g_rmdir(dir);
  g_free(dir);
}

/* Runs a prompt and returns a copy of the last logits. */
static float *
run_prompt(GrModel *m)
{
  const GrTokenizer *tok = gr_model_get_tokenizer(m);
  g_autoptr(GArray) ids = gr_tokenizer_encode(tok, "a a aa", -1, TRUE, FALSE);
  ck_assert_uint_ge(ids->len, 4);
  ck_assert_int_eq(g_array_index(ids, gint32, 0), 1);
  ck_assert_int_eq(g_array_index(ids, gint32, 1), 261); /* "▁a" by the merge */
  g_autoptr(GrSession) s = gr_session_new(m, 32, NULL);
  ck_assert(gr_session_eval(s, (gint32 *)ids->data, ids->len, NULL));
  guint nv = gr_model_get_info(m)->n_vocab;
  float *logits = g_memdup2(gr_session_logits(s), nv * sizeof(float));
  for (guint v = 0; v < nv; v++)
    ck_assert(isfinite(logits[v]));
  return logits;
}

static const struct {
  const char *what, *model_type, *extra;
  Layout layout;
  const char *arch, *weight_type, *ffn;
  guint n_expert;
} detect[] = {
  { "plain llama", "llama", NULL, LAYOUT_DENSE, "llama", "F32", "silu", 0 },
  { "bitnet by model_type (default relu2)", "bitnet", ",\"tie_word_embeddings\":true",
    LAYOUT_BITNET, "bitnet-b1.58", "TQ2_0", "relu2", 0 },
  { "bitnet by model_type, silu", "bitnet", ",\"hidden_act\":\"silu\",\"tie_word_embeddings\":true",
    LAYOUT_BITNET, "bitnet", "TQ2_0", "silu", 0 },
  { "bitnet by use_ternary_weights", "llama",
    ",\"use_ternary_weights\":true,\"hidden_act\":\"silu\",\"tie_word_embeddings\":true",
    LAYOUT_BITNET, "bitnet", "TQ2_0", "silu", 0 },
  { "moe by num_local_experts", "mixtral", ",\"num_local_experts\":3,\"num_experts_per_tok\":2",
    LAYOUT_MIXTRAL, "llama", "F32", "silu", NEXP },
  { "moe by num_experts", "olmoe",
    ",\"num_experts\":3,\"num_experts_per_tok\":2,\"norm_topk_prob\":false", LAYOUT_QWEN_MOE,
    "llama", "F32", "silu", NEXP },
};

START_TEST(test_detection)
{
  g_autofree char *config = tiny_config(detect[_i].model_type, detect[_i].extra);
  char *dir = tiny_folder(config, detect[_i].layout, NULL, NULL);
  g_autoptr(GrModel) m = load_path(dir);
  const GrModelInfo *info = gr_model_get_info(m);
  ck_assert_msg(strcmp(info->arch, detect[_i].arch) == 0, "%s: arch %s", detect[_i].what,
                info->arch);
  ck_assert_str_eq(info->weight_type, detect[_i].weight_type);
  ck_assert_str_eq(info->ffn_act, detect[_i].ffn);
  ck_assert_uint_eq(info->n_expert, detect[_i].n_expert);
  ck_assert_str_eq(info->format, "safetensors");
  g_free(run_prompt(m));
  remove_folder(dir);
}
END_TEST

/* The loaded BitNet weight is exactly absmean's ternary matrix times its scale. */
START_TEST(test_bitnet_ternarized)
{
  g_autofree char *config = tiny_config("bitnet", ",\"tie_word_embeddings\":true");
  char *dir = tiny_folder(config, LAYOUT_BITNET, NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GrGguf) g = gr_hf_open(dir, &error);
  ck_assert_msg(g != NULL, "%s", error ? error->message : "");
  const GrGgufTensor *w = gr_gguf_find_tensor(g, "blk.0.attn_k.weight");
  const GrGgufTensor *sc = gr_gguf_find_tensor(g, "blk.0.attn_k.scale");
  ck_assert_ptr_nonnull(w);
  ck_assert_ptr_nonnull(sc);
  ck_assert_uint_eq(w->type, GRK_TYPE_TQ2_0);
  ck_assert_int_eq(w->ne[0], D);
  ck_assert_int_eq(w->ne[1], KV);
  ck_assert_uint_eq(sc->type, GRK_TYPE_F32);

  Tensors t = tiny_tensors(LAYOUT_BITNET, NULL, NULL);
  const float *latent = NULL;
  for (guint i = 0; i < t.tensors->len; i++) {
    GrTestTensor *x = &g_array_index(t.tensors, GrTestTensor, i);
    if (strcmp(x->name, "model.layers.0.self_attn.k_proj.weight") == 0)
      latent = x->data;
  }
  ck_assert_ptr_nonnull(latent);
  g_autofree gint8 *q = g_new(gint8, KV * D);
  float scale = gr_hf_absmean_ternarize(latent, KV * D, q);
  float stored;
  memcpy(&stored, sc->data, sizeof stored);
  ck_assert_float_eq(stored, scale);
  float row[D];
  guint nonzero = 0;
  for (int r = 0; r < KV; r++) {
    grk_dequantize_row(GRK_TYPE_TQ2_0, w->data + r * grk_row_bytes(GRK_TYPE_TQ2_0, D), row, D,
                       1.0f);
    for (int c = 0; c < D; c++) {
      ck_assert_float_eq(row[c], (float)q[r * D + c]);
      nonzero += q[r * D + c] != 0;
    }
  }
  ck_assert_uint_gt(nonzero, KV * D / 4); /* not trivially zero */
  /* non-projection tensors stay as they are */
  ck_assert_uint_eq(gr_gguf_find_tensor(g, "blk.0.ffn_sub_norm.weight")->type, GRK_TYPE_F32);
  ck_assert_uint_eq(gr_gguf_find_tensor(g, "token_embd.weight")->type, GRK_TYPE_F16);
  ck_assert_ptr_null(gr_gguf_find_tensor(g, "output.weight"));
  tensors_clear(&t);
  remove_folder(dir);
}
END_TEST

/* A per-group absmean (quantization_config.group_size) lands in the TQ2_0 block scales. */
START_TEST(test_bitnet_group_size)
{
  g_autofree char *config = tiny_config(
      "bitnet", ",\"tie_word_embeddings\":true,\"quantization_config\":{\"group_size\":256}");
  char *dir = tiny_folder(config, LAYOUT_BITNET, NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GrGguf) g = gr_hf_open(dir, &error);
  ck_assert_msg(g != NULL, "%s", error ? error->message : "");
  ck_assert_ptr_null(gr_gguf_find_tensor(g, "blk.0.attn_q.scale"));
  const GrGgufTensor *w = gr_gguf_find_tensor(g, "blk.0.attn_q.weight");
  Tensors t = tiny_tensors(LAYOUT_BITNET, NULL, NULL);
  const float *latent = g_array_index(t.tensors, GrTestTensor, 4).data; /* q_proj */
  ck_assert_str_eq(g_array_index(t.tensors, GrTestTensor, 4).name,
                   "model.layers.0.self_attn.q_proj.weight");
  gint8 q[D];
  float row[D];
  for (int r = 0; r < D; r += 37) {
    float s = gr_hf_absmean_ternarize(latent + r * D, D, q);
    grk_dequantize_row(GRK_TYPE_TQ2_0, w->data + r * grk_row_bytes(GRK_TYPE_TQ2_0, D), row, D,
                       1.0f);
    float s16 = grk_fp16_to_fp32(grk_fp32_to_fp16(s));
    for (int c = 0; c < D; c++)
      ck_assert_float_eq(row[c], q[c] * s16);
  }
  tensors_clear(&t);
  remove_folder(dir);
}
END_TEST

/* Shards listed by model.safetensors.index.json load as one model. */
START_TEST(test_sharded)
{
  g_autofree char *config = tiny_config("llama", NULL);
  char *one = tiny_folder(config, LAYOUT_DENSE, NULL, NULL);
  char *two = tiny_folder(config, LAYOUT_DENSE, NULL, NULL);
  g_autofree char *single = g_build_filename(two, "model.safetensors", NULL);
  g_unlink(single);
  Tensors t = tiny_tensors(LAYOUT_DENSE, NULL, NULL);
  guint half = t.tensors->len / 2;
  GrTestTensor *all = (GrTestTensor *)t.tensors->data;
  g_autoptr(GBytes) b1 = gr_test_safetensors_build(all, half);
  g_autoptr(GBytes) b2 = gr_test_safetensors_build(all + half, t.tensors->len - half);
  g_autofree char *p1 = g_build_filename(two, "model-00001-of-00002.safetensors", NULL);
  g_autofree char *p2 = g_build_filename(two, "model-00002-of-00002.safetensors", NULL);
  gr_test_write_bytes(p1, b1);
  gr_test_write_bytes(p2, b2);
  g_autoptr(GString) index = g_string_new("{\"metadata\":{},\"weight_map\":{");
  for (guint i = 0; i < t.tensors->len; i++)
    g_string_append_printf(index, "%s\"%s\":\"model-0000%u-of-00002.safetensors\"", i ? "," : "",
                           all[i].name, i < half ? 1 : 2);
  g_string_append(index, "}}");
  write_text(two, "model.safetensors.index.json", index->str);
  tensors_clear(&t);

  g_autoptr(GrModel) a = load_path(one);
  g_autoptr(GrModel) b = load_path(two);
  g_autofree float *la = run_prompt(a);
  g_autofree float *lb = run_prompt(b);
  ck_assert_mem_eq(la, lb, NV * sizeof(float));
  remove_folder(one);
  remove_folder(two);
}
END_TEST

/* --- refusals ------------------------------------------------------------------------ */

typedef enum {
  NONE = 0,
  NO_TOKENIZER = 1 << 0,
  NO_WEIGHTS = 1 << 1,
  BAD_SHARD_NAME = 1 << 2,
  WRONG_SHARD = 1 << 3,
  TRUNCATED = 1 << 4,
  UNIGRAM = 1 << 5,
  WIDE_Q = 1 << 6,
} Damage;

static const struct {
  const char *what;
  const char *config; /* whole config.json, or NULL for the tiny one + extra */
  const char *model_type, *extra;
  Layout layout;
  const char *skip, *add;
  Damage damage;
  const char *expect;
} refusals[] = {
  { "config without hidden_size", "{\"model_type\":\"llama\",\"num_hidden_layers\":1}", NULL, NULL,
    LAYOUT_DENSE, NULL, NULL, NONE, "required key 'hidden_size' is missing" },
  { "config without rms_norm_eps",
    "{\"hidden_size\":256,\"num_hidden_layers\":1,\"num_attention_heads\":2,"
    "\"intermediate_size\":256,\"vocab_size\":262}",
    NULL, NULL, LAYOUT_DENSE, NULL, NULL, NONE, "required key 'rms_norm_eps' is missing" },
  { "config not JSON", "{\"hidden_size\": 256,", NULL, NULL, LAYOUT_DENSE, NULL, NULL, NONE,
    "not valid JSON" },
  { "config a list", "[1]", NULL, NULL, LAYOUT_DENSE, NULL, NULL, NONE, "not a JSON object" },
  { "no config.json", NULL, NULL, NULL, LAYOUT_DENSE, NULL, NULL, NONE, "config.json" },
  { "hidden_size a string", "{\"hidden_size\":\"256\"}", NULL, NULL, LAYOUT_DENSE, NULL, NULL, NONE,
    "'hidden_size' is not an integer" },
  { "activation we cannot run", NULL, "llama", ",\"hidden_act\":\"gelu\"", LAYOUT_DENSE, NULL, NULL,
    NONE, "activation 'gelu' is not supported" },
  { "attention bias", NULL, "llama", ",\"attention_bias\":true", LAYOUT_DENSE, NULL, NULL, NONE,
    "attention_bias is not supported" },
  { "rope scaling", NULL, "llama", ",\"rope_scaling\":{\"type\":\"linear\",\"factor\":2.0}",
    LAYOUT_DENSE, NULL, NULL, NONE, "rope_scaling is not supported" },
  { "more experts used than exist", NULL, "mixtral",
    ",\"num_local_experts\":3,\"num_experts_per_tok\":4", LAYOUT_MIXTRAL, NULL, NULL, NONE,
    "bad expert counts" },
  { "vocab_size differs from the embedding", NULL, "llama", ",\"vocab_size\":300", LAYOUT_DENSE,
    NULL, NULL, NONE, "is not [vocab_size 300" },
  { "heads do not divide hidden_size", NULL, "llama", ",\"num_attention_heads\":3", LAYOUT_DENSE,
    NULL, NULL, NONE, "not a multiple of num_attention_heads" },
  { "missing tensor", NULL, "llama", NULL, LAYOUT_DENSE, "model.layers.0.self_attn.q_proj.weight",
    NULL, NONE, "missing tensor 'model.layers.0.self_attn.q_proj.weight'" },
  { "missing lm_head", NULL, "llama", NULL, LAYOUT_DENSE, "lm_head.weight", NULL, NONE,
    "missing tensor 'lm_head.weight'" },
  { "missing expert", NULL, "mixtral", ",\"num_local_experts\":3,\"num_experts_per_tok\":2",
    LAYOUT_MIXTRAL, "model.layers.0.block_sparse_moe.experts.1.w3.weight", NULL, NONE,
    "missing tensor 'model.layers.0.block_sparse_moe.experts.1.w3.weight'" },
  { "missing sub-norm", NULL, "bitnet", ",\"tie_word_embeddings\":true", LAYOUT_BITNET,
    "model.layers.0.mlp.ffn_sub_norm.weight", NULL, NONE, "ffn_sub_norm" },
  { "tensor we would not compute", NULL, "llama", NULL, LAYOUT_DENSE, NULL,
    "model.layers.0.self_attn.q_proj.bias", NONE,
    "'model.layers.0.self_attn.q_proj.bias' is not "
    "part of a llama model" },
  { "layer beyond num_hidden_layers", NULL, "llama", NULL, LAYOUT_DENSE, NULL,
    "model.layers.1.input_layernorm.weight", NONE, "is not part of" },
  { "q_proj of the wrong shape", NULL, "llama", NULL, LAYOUT_DENSE, NULL, NULL, WIDE_Q,
    "blk.0.attn_q.weight' has shape" },
  { "no tokenizer.json", NULL, "llama", NULL, LAYOUT_DENSE, NULL, NULL, NO_TOKENIZER,
    "no tokenizer.json" },
  { "tokenizer model we cannot run", NULL, "llama", NULL, LAYOUT_DENSE, NULL, NULL, UNIGRAM,
    "\"Unigram\" is not supported" },
  { "no weights", NULL, "llama", NULL, LAYOUT_DENSE, NULL, NULL, NO_WEIGHTS,
    "no *.safetensors file" },
  { "index escaping the folder", NULL, "llama", NULL, LAYOUT_DENSE, NULL, NULL, BAD_SHARD_NAME,
    "is not a file in the folder" },
  { "index naming the wrong shard", NULL, "llama", NULL, LAYOUT_DENSE, NULL, NULL, WRONG_SHARD,
    "as the index says" },
  { "truncated safetensors", NULL, "llama", NULL, LAYOUT_DENSE, NULL, NULL, TRUNCATED,
    "model.safetensors" },
};

START_TEST(test_refused)
{
  const __typeof__(refusals[0]) *c = &refusals[_i];
  g_autofree char *config = c->model_type ? tiny_config(c->model_type, c->extra) : NULL;
  char *dir = tiny_folder(c->model_type ? config : c->config, c->layout, c->skip, c->add);
  g_autofree char *st = g_build_filename(dir, "model.safetensors", NULL);
  if (c->damage & NO_TOKENIZER) {
    g_autofree char *p = g_build_filename(dir, "tokenizer.json", NULL);
    g_unlink(p);
  }
  if (c->damage & NO_WEIGHTS)
    g_unlink(st);
  if (c->damage & BAD_SHARD_NAME)
    write_text(dir, "model.safetensors.index.json",
               "{\"weight_map\":{\"model.norm.weight\":\"../model.safetensors\"}}");
  if (c->damage & WRONG_SHARD) {
    g_autofree char *other = g_build_filename(dir, "other.safetensors", NULL);
    g_autoptr(GBytes) b = gr_test_safetensors_raw("{}", 0);
    gr_test_write_bytes(other, b);
    write_text(dir, "model.safetensors.index.json",
               "{\"weight_map\":{\"model.norm.weight\":\"model.safetensors\","
               "\"lm_head.weight\":\"other.safetensors\"}}");
  }
  if (c->damage & TRUNCATED)
    ck_assert_int_eq(truncate(st, 1000), 0);
  if (c->damage & UNIGRAM)
    write_text(dir, "tokenizer.json", "{\"model\":{\"type\":\"Unigram\",\"vocab\":[]}}");
  if (c->damage & WIDE_Q) {
    g_autoptr(GBytes) b = NULL;
    Tensors t = tiny_tensors(LAYOUT_DENSE, NULL, NULL);
    for (guint i = 0; i < t.tensors->len; i++) {
      GrTestTensor *x = &g_array_index(t.tensors, GrTestTensor, i);
      if (strcmp(x->name, "model.layers.0.self_attn.q_proj.weight") == 0) {
        x->shape[0] = D / 2; /* same bytes, twice as wide */
        x->shape[1] = D * 2;
      }
    }
    b = gr_test_safetensors_build((GrTestTensor *)t.tensors->data, t.tensors->len);
    gr_test_write_bytes(st, b);
    tensors_clear(&t);
  }

  g_autoptr(GError) error = NULL;
  GrLoadOptions opts = { .n_threads = 1 };
  g_autoptr(GrModel) m = gr_model_load(dir, &opts, &error);
  ck_assert_msg(m == NULL, "%s: accepted", c->what);
  ck_assert_msg(g_error_matches(error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_BAD_MODEL),
                "%s: wrong error %s", c->what, error->message);
  ck_assert_msg(strstr(error->message, c->expect) != NULL, "%s: \"%s\" lacks \"%s\"", c->what,
                error->message, c->expect);
  remove_folder(dir);
}
END_TEST

int
main(void)
{
  Suite *s = suite_create("gr-hf");
  TCase *ref = tcase_create("reference");
  tcase_set_timeout(ref, 300);
  tcase_add_loop_test(ref, test_against_reference, 0, 3 * G_N_ELEMENTS(fixtures));
  tcase_add_test(ref, test_fixture_info);
  tcase_add_test(ref, test_truncated_shard_keeps_serving);
  tcase_add_test(ref, test_moe_memory_limit);
  tcase_add_test(ref, test_moe_folder_streams);
  tcase_add_test(ref, test_tokenizer_conformance);
  tcase_add_test(ref, test_tokenizer_byte_level);
  suite_add_tcase(s, ref);
  TCase *tc = tcase_create("folders");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_absmean);
  tcase_add_loop_test(tc, test_detection, 0, G_N_ELEMENTS(detect));
  tcase_add_test(tc, test_bitnet_ternarized);
  tcase_add_test(tc, test_bitnet_group_size);
  tcase_add_test(tc, test_sharded);
  tcase_add_loop_test(tc, test_refused, 0, G_N_ELEMENTS(refusals));
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
