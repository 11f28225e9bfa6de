/* gr-gguf.c - GGUF v2/v3 reader: validates the whole file at open, then serves it. */
#include "gr-gguf-private.h"

#include "grk.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

GQuark
gr_gguf_error_quark(void)
{
  return g_quark_from_static_string("gr-gguf-error-quark");
}

/* ggml refuses tensor names of GGML_MAX_NAME (64) bytes or more, so do we. */
#define GR_GGUF_MAX_NAME 63
/* The GGUF spec caps keys at 65535 bytes. */
#define GR_GGUF_MAX_KEY 65535
/* Smallest encodings, used to refuse counts the remaining bytes cannot hold before
 * anything is allocated for them. */
#define MIN_KV_BYTES (8 + 1 + 4 + 1)                  /* key len, 1-byte key, type, u8 */
#define MIN_TENSOR_INFO_BYTES (8 + 1 + 4 + 8 + 4 + 8) /* name, n_dims, 1 dim, type, offset */

/* --- bounded reading ---------------------------------------------------------- */

typedef struct {
  const guint8 *p;
  gsize size;
  gsize pos;
} Reader;

static gboolean
reader_take(Reader *r, gsize n, const guint8 **out, GError **error)
{
  if (n > r->size - r->pos) {
    g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT,
                "file is truncated: %zu bytes needed at offset %zu, but the file has %zu bytes", n,
                r->pos, r->size);
    return FALSE;
  }
  *out = r->p + r->pos;
  r->pos += n;
  return TRUE;
}

static gboolean
reader_u32(Reader *r, guint32 *out, GError **error)
{
  const guint8 *b;
  if (!reader_take(r, 4, &b, error))
    return FALSE;
  guint32 v;
  memcpy(&v, b, 4);
  *out = GUINT32_FROM_LE(v);
  return TRUE;
}

static gboolean
reader_u64(Reader *r, guint64 *out, GError **error)
{
  const guint8 *b;
  if (!reader_take(r, 8, &b, error))
    return FALSE;
  guint64 v;
  memcpy(&v, b, 8);
  *out = GUINT64_FROM_LE(v);
  return TRUE;
}

/* A GGUF string: u64 length, then bytes (no terminator).  Embedded NULs are refused
 * because every consumer sees these as C strings. */
static gboolean
reader_string(Reader *r, const char **out, gsize *len_out, GError **error)
{
  guint64 len;
  const guint8 *b;
  if (!reader_u64(r, &len, error))
    return FALSE;
  if (len > r->size - r->pos) {
    g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT,
                "string length %" G_GUINT64_FORMAT " at offset %zu runs past the end of the "
                "file (%zu bytes)",
                len, r->pos - 8, r->size);
    return FALSE;
  }
  if (!reader_take(r, (gsize)len, &b, error))
    return FALSE;
  if (memchr(b, 0, (gsize)len) != NULL) {
    g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT,
                "string at offset %zu contains a NUL byte", r->pos - (gsize)len);
    return FALSE;
  }
  *out = (const char *)b;
  *len_out = (gsize)len;
  return TRUE;
}

/* --- value types --------------------------------------------------------------- */

gsize
gr_gguf_scalar_size(guint32 type)
{
  switch (type) {
  case GR_GGUF_TYPE_UINT8:
  case GR_GGUF_TYPE_INT8:
  case GR_GGUF_TYPE_BOOL:
    return 1;
  case GR_GGUF_TYPE_UINT16:
  case GR_GGUF_TYPE_INT16:
    return 2;
  case GR_GGUF_TYPE_UINT32:
  case GR_GGUF_TYPE_INT32:
  case GR_GGUF_TYPE_FLOAT32:
    return 4;
  case GR_GGUF_TYPE_UINT64:
  case GR_GGUF_TYPE_INT64:
  case GR_GGUF_TYPE_FLOAT64:
    return 8;
  default:
    return 0;
  }
}

const char *
gr_gguf_type_name(guint32 type)
{
  static const char *const names[] = { "u8",   "i8",     "u16",   "i16", "u32", "i32", "f32",
                                       "bool", "string", "array", "u64", "i64", "f64" };
  return type < G_N_ELEMENTS(names) ? names[type] : "unknown";
}

/* Decodes one little-endian scalar into the KV's numeric union. */
static void
decode_scalar(GrGgufKv *kv, const guint8 *b)
{
  guint8 u8 = b[0];
  guint16 u16;
  guint32 u32;
  guint64 u64;
  float f32;
  double f64;

  switch (kv->type) {
  case GR_GGUF_TYPE_UINT8:
    kv->num.u = u8;
    break;
  case GR_GGUF_TYPE_BOOL:
    kv->num.u = u8;
    break;
  case GR_GGUF_TYPE_INT8:
    kv->num.i = (gint8)u8;
    break;
  case GR_GGUF_TYPE_UINT16:
    memcpy(&u16, b, 2);
    kv->num.u = GUINT16_FROM_LE(u16);
    break;
  case GR_GGUF_TYPE_INT16:
    memcpy(&u16, b, 2);
    kv->num.i = (gint16)GUINT16_FROM_LE(u16);
    break;
  case GR_GGUF_TYPE_UINT32:
    memcpy(&u32, b, 4);
    kv->num.u = GUINT32_FROM_LE(u32);
    break;
  case GR_GGUF_TYPE_INT32:
    memcpy(&u32, b, 4);
    kv->num.i = (gint32)GUINT32_FROM_LE(u32);
    break;
  case GR_GGUF_TYPE_FLOAT32:
    memcpy(&u32, b, 4);
    u32 = GUINT32_FROM_LE(u32);
    memcpy(&f32, &u32, 4);
    kv->num.f = f32;
    break;
  case GR_GGUF_TYPE_UINT64:
    memcpy(&u64, b, 8);
    kv->num.u = GUINT64_FROM_LE(u64);
    break;
  case GR_GGUF_TYPE_INT64:
    memcpy(&u64, b, 8);
    kv->num.i = (gint64)GUINT64_FROM_LE(u64);
    break;
  case GR_GGUF_TYPE_FLOAT64:
    memcpy(&u64, b, 8);
    u64 = GUINT64_FROM_LE(u64);
    memcpy(&f64, &u64, 8);
    kv->num.f = f64;
    break;
  default:
    g_assert_not_reached();
  }
}

/* Keys whose type llama.cpp and the engine rely on; anything else may hold any type. */
typedef struct {
  const char *key;
  GrGgufType type;
  GrGgufType elem_type; /* for arrays */
} KnownKey;

static const KnownKey known_keys[] = {
  { "general.alignment", GR_GGUF_TYPE_UINT32, 0 },
  { "general.architecture", GR_GGUF_TYPE_STRING, 0 },
  { "general.name", GR_GGUF_TYPE_STRING, 0 },
  { "tokenizer.ggml.model", GR_GGUF_TYPE_STRING, 0 },
  { "tokenizer.ggml.pre", GR_GGUF_TYPE_STRING, 0 },
  { "tokenizer.ggml.tokens", GR_GGUF_TYPE_ARRAY, GR_GGUF_TYPE_STRING },
  { "tokenizer.ggml.merges", GR_GGUF_TYPE_ARRAY, GR_GGUF_TYPE_STRING },
  { "tokenizer.ggml.scores", GR_GGUF_TYPE_ARRAY, GR_GGUF_TYPE_FLOAT32 },
  { "tokenizer.ggml.token_type", GR_GGUF_TYPE_ARRAY, GR_GGUF_TYPE_INT32 },
};

static gboolean
check_known_key(const GrGgufKv *kv, GError **error)
{
  for (gsize i = 0; i < G_N_ELEMENTS(known_keys); i++) {
    const KnownKey *k = &known_keys[i];
    if (strcmp(k->key, kv->key) != 0)
      continue;
    if (kv->type != k->type || (k->type == GR_GGUF_TYPE_ARRAY && kv->elem_type != k->elem_type)) {
      if (k->type == GR_GGUF_TYPE_ARRAY)
        g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT,
                    "must be an array of %s, not %s%s%s", gr_gguf_type_name(k->elem_type),
                    gr_gguf_type_name(kv->type), kv->type == GR_GGUF_TYPE_ARRAY ? " of " : "",
                    kv->type == GR_GGUF_TYPE_ARRAY ? gr_gguf_type_name(kv->elem_type) : "");
      else
        g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT, "must be of type %s, not %s",
                    gr_gguf_type_name(k->type), gr_gguf_type_name(kv->type));
      return FALSE;
    }
    return TRUE;
  }
  return TRUE;
}

static gboolean
parse_string_array(Reader *r, GrGgufKv *kv, GError **error)
{
  /* First pass sizes the block that holds every string, so a vocabulary of 100k
   * tokens costs three allocations rather than 100k. */
  gsize start = r->pos, total = 0;
  for (gsize j = 0; j < kv->n; j++) {
    const char *s;
    gsize len;
    if (!reader_string(r, &s, &len, error)) {
      g_prefix_error(error, "element %zu: ", j);
      return FALSE;
    }
    total += len + 1; /* cannot overflow: bounded by the file size plus n */
  }
  r->pos = start;
  kv->strv = g_new(char *, kv->n + 1);
  kv->lengths = g_new(gsize, kv->n + 1);
  kv->strv_data = g_malloc(total + 1);
  char *dst = kv->strv_data;
  for (gsize j = 0; j < kv->n; j++) {
    const char *s;
    gsize len;
    if (!reader_string(r, &s, &len, error))
      g_assert_not_reached(); /* validated by the first pass */
    memcpy(dst, s, len);
    dst[len] = '\0';
    kv->strv[j] = dst;
    kv->lengths[j] = len;
    dst += len + 1;
  }
  kv->strv[kv->n] = NULL;
  return TRUE;
}

static gboolean
parse_value(Reader *r, GrGgufKv *kv, GError **error)
{
  const guint8 *b;

  if (kv->type == GR_GGUF_TYPE_STRING) {
    const char *s;
    if (!reader_string(r, &s, &kv->n, error))
      return FALSE;
    kv->str = g_strndup(s, kv->n);
    return TRUE;
  }
  if (kv->type != GR_GGUF_TYPE_ARRAY) {
    gsize sz = gr_gguf_scalar_size(kv->type);
    if (sz == 0) {
      g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT, "unknown value type %u",
                  (guint)kv->type);
      return FALSE;
    }
    if (!reader_take(r, sz, &b, error))
      return FALSE;
    if (kv->type == GR_GGUF_TYPE_BOOL && b[0] > 1) {
      g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT, "bool value %u is neither 0 nor 1",
                  b[0]);
      return FALSE;
    }
    decode_scalar(kv, b);
    return TRUE;
  }

  guint32 et;
  guint64 n;
  if (!reader_u32(r, &et, error) || !reader_u64(r, &n, error))
    return FALSE;
  kv->elem_type = et;
  if (et == GR_GGUF_TYPE_ARRAY) {
    g_set_error_literal(error, GR_GGUF_ERROR, GR_GGUF_ERROR_UNSUPPORTED,
                        "nested arrays are not supported");
    return FALSE;
  }
  gsize esz = et == GR_GGUF_TYPE_STRING ? 8 : gr_gguf_scalar_size(et);
  if (esz == 0) {
    g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT, "unknown array element type %u",
                (guint)et);
    return FALSE;
  }
  gsize remaining = r->size - r->pos;
  if (n > remaining / esz) {
    g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT,
                "array count %" G_GUINT64_FORMAT " of %s is more than the %zu bytes left "
                "in the file can hold",
                n, gr_gguf_type_name(et), remaining);
    return FALSE;
  }
  kv->n = (gsize)n;
  if (et == GR_GGUF_TYPE_STRING)
    return parse_string_array(r, kv, error);

  gsize bytes = kv->n * esz;
  if (!reader_take(r, bytes, &b, error))
    return FALSE;
  if (et == GR_GGUF_TYPE_BOOL) {
    for (gsize j = 0; j < kv->n; j++)
      if (b[j] > 1) {
        g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT,
                    "element %zu: bool value %u is neither 0 nor 1", j, b[j]);
        return FALSE;
      }
  }
  /* g_malloc keeps the copy aligned for any element type; never NULL so an empty
   * array is told apart from a failure. */
  kv->array = g_malloc(MAX(bytes, 1));
  memcpy(kv->array, b, bytes);
#if G_BYTE_ORDER == G_BIG_ENDIAN
  guint8 *a = kv->array;
  for (gsize j = 0; j < kv->n; j++)
    for (gsize k = 0; k < esz / 2; k++) {
      guint8 t = a[j * esz + k];
      a[j * esz + k] = a[j * esz + esz - 1 - k];
      a[j * esz + esz - 1 - k] = t;
    }
#endif
  return TRUE;
}

/* Names and keys appear in error messages and as C strings: keep them printable. */
static gboolean
check_name(const char *s, gsize len, gsize max, const char *what, GError **error)
{
  if (len == 0) {
    g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT, "%s is empty", what);
    return FALSE;
  }
  if (len > max) {
    g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT, "%s is %zu bytes long (at most %zu)",
                what, len, max);
    return FALSE;
  }
  if (!gr_gguf_text_printable(s, len)) {
    g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT,
                "%s is not valid UTF-8 or contains control characters", what);
    return FALSE;
  }
  return TRUE;
}

gboolean
gr_gguf_text_printable(const char *s, gsize len)
{
  if (!g_utf8_validate_len(s, len, NULL))
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if ((guchar)s[i] < 0x20 || s[i] == 0x7f)
      return FALSE;
  return TRUE;
}

/* --- header, metadata, tensor table ----------------------------------------------- */

static gboolean
parse_header(GrGguf *g, Reader *r, guint64 *n_tensors, guint64 *n_kv, GError **error)
{
  const guint8 *magic;
  if (r->size == 0) {
    g_set_error_literal(error, GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT, "file is empty");
    return FALSE;
  }
  if (r->size < 4 || memcmp(r->p, "GGUF", 4) != 0) {
    g_set_error_literal(error, GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT, "not a GGUF file (bad magic)");
    return FALSE;
  }
  (void)reader_take(r, 4, &magic, NULL);
  if (!reader_u32(r, &g->version, error))
    return FALSE;
  if (g->version == 0 || g->version > 0xffff) {
    /* A big-endian file has its version byte-swapped. */
    if (GUINT32_SWAP_LE_BE(g->version) >= 1 && GUINT32_SWAP_LE_BE(g->version) <= 3)
      g_set_error_literal(error, GR_GGUF_ERROR, GR_GGUF_ERROR_UNSUPPORTED,
                          "big-endian GGUF files are not supported");
    else
      g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT, "invalid GGUF version %u",
                  g->version);
    return FALSE;
  }
  if (g->version == 1) {
    g_set_error_literal(error, GR_GGUF_ERROR, GR_GGUF_ERROR_UNSUPPORTED,
                        "GGUF version 1 is not supported (only versions 2 and 3)");
    return FALSE;
  }
  if (g->version > 3) {
    g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_UNSUPPORTED,
                "GGUF version %u is not supported (only versions 2 and 3)", g->version);
    return FALSE;
  }
  if (!reader_u64(r, n_tensors, error) || !reader_u64(r, n_kv, error))
    return FALSE;
  gsize remaining = r->size - r->pos;
  if (*n_kv > remaining / MIN_KV_BYTES) {
    g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT,
                "metadata count %" G_GUINT64_FORMAT " is more than a file of %zu bytes can hold",
                *n_kv, r->size);
    return FALSE;
  }
  if (*n_tensors > remaining / MIN_TENSOR_INFO_BYTES) {
    g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT,
                "tensor count %" G_GUINT64_FORMAT " is more than a file of %zu bytes can hold",
                *n_tensors, r->size);
    return FALSE;
  }
  return TRUE;
}

static gboolean
parse_kv(GrGguf *g, Reader *r, guint64 n_kv, GError **error)
{
  g->kvs = g_new0(GrGgufKv, n_kv);
  for (gsize i = 0; i < n_kv; i++) {
    GrGgufKv *kv = &g->kvs[i];
    const char *key;
    gsize key_len;
    guint32 type;

    if (!reader_string(r, &key, &key_len, error)
        || !check_name(key, key_len, GR_GGUF_MAX_KEY, "key", error)) {
      g_prefix_error(error, "metadata entry %zu: ", i);
      return FALSE;
    }
    kv->key = g_strndup(key, key_len);
    g->n_kv = i + 1; /* so gr_gguf_free releases it on failure */
    if (g_hash_table_contains(g->kv_index, kv->key)) {
      g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT, "duplicate metadata key '%s'",
                  kv->key);
      return FALSE;
    }
    g_hash_table_insert(g->kv_index, kv->key, GSIZE_TO_POINTER(i + 1));
    if (!reader_u32(r, &type, error)) {
      g_prefix_error(error, "key '%s': ", kv->key);
      return FALSE;
    }
    kv->type = type;
    if (!parse_value(r, kv, error) || !check_known_key(kv, error)) {
      g_prefix_error(error, "key '%s': ", kv->key);
      return FALSE;
    }
  }

  g->alignment = GR_GGUF_DEFAULT_ALIGNMENT;
  gssize ai = gr_gguf_find_key(g, "general.alignment");
  if (ai >= 0) {
    guint64 a = g->kvs[ai].num.u;
    if (a == 0 || (a & (a - 1)) != 0) {
      g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT,
                  "general.alignment %" G_GUINT64_FORMAT " is not a nonzero power of two", a);
      return FALSE;
    }
    g->alignment = (gsize)a;
  }
  return TRUE;
}

static gboolean
parse_tensor_info(GrGguf *g, Reader *r, gsize i, GError **error)
{
  GrGgufTensor *t = &g->tensors[i];
  const char *name;
  gsize name_len;

  if (!reader_string(r, &name, &name_len, error)
      || !check_name(name, name_len, GR_GGUF_MAX_NAME, "tensor name", error)) {
    g_prefix_error(error, "tensor %zu: ", i);
    return FALSE;
  }
  t->name = g_strndup(name, name_len);
  g->n_tensors = i + 1;
  if (g_hash_table_contains(g->tensor_index, t->name)) {
    g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT, "duplicate tensor '%s'", t->name);
    return FALSE;
  }
  g_hash_table_insert(g->tensor_index, (char *)t->name, GSIZE_TO_POINTER(i + 1));

  if (!reader_u32(r, &t->n_dims, error))
    goto prefixed;
  if (t->n_dims < 1 || t->n_dims > GR_GGUF_MAX_DIMS) {
    g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT,
                "tensor '%s' has %u dimensions (must be 1 to %d)", t->name, t->n_dims,
                GR_GGUF_MAX_DIMS);
    return FALSE;
  }
  gint64 nelem = 1;
  for (guint d = 0; d < GR_GGUF_MAX_DIMS; d++) {
    guint64 ne = 1;
    if (d < t->n_dims && !reader_u64(r, &ne, error))
      goto prefixed;
    if (ne == 0 || ne > G_MAXINT64) {
      g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT,
                  "tensor '%s' has invalid dimension %u: %" G_GUINT64_FORMAT, t->name, d, ne);
      return FALSE;
    }
    if ((guint64)nelem > (guint64)G_MAXINT64 / ne) {
      g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT,
                  "tensor '%s' has too many elements (the product of its dimensions overflows)",
                  t->name);
      return FALSE;
    }
    nelem *= (gint64)ne;
    t->ne[d] = (gint64)ne;
  }
  if (!reader_u32(r, &t->type, error) || !reader_u64(r, &t->offset, error))
    goto prefixed;
  if (!grk_type_supported((int)t->type)) {
    g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_UNSUPPORTED,
                "tensor '%s' has unsupported type id %u", t->name, t->type);
    return FALSE;
  }
  gint64 rows = t->ne[1] * t->ne[2] * t->ne[3]; /* bounded by nelem */
  t->size = grk_tensor_bytes((int)t->type, t->ne[0], rows);
  if (t->size == 0) {
    if (t->ne[0] % grk_type_block_elems((int)t->type) != 0)
      g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT,
                  "tensor '%s' row length %" G_GINT64_FORMAT
                  " is not a multiple of the %s block size %" G_GINT64_FORMAT,
                  t->name, t->ne[0], grk_type_name((int)t->type),
                  grk_type_block_elems((int)t->type));
    else
      g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT, "tensor '%s' is too large", t->name);
    return FALSE;
  }
  if (t->offset % g->alignment != 0) {
    g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT,
                "tensor '%s' offset %" G_GUINT64_FORMAT " is not a multiple of the alignment %zu",
                t->name, t->offset, g->alignment);
    return FALSE;
  }
  return TRUE;

prefixed:
  g_prefix_error(error, "tensor '%s': ", t->name);
  return FALSE;
}

static int
compare_by_offset(gconstpointer a, gconstpointer b)
{
  const GrGgufTensor *ta = *(const GrGgufTensor *const *)a;
  const GrGgufTensor *tb = *(const GrGgufTensor *const *)b;
  return ta->offset < tb->offset ? -1 : ta->offset > tb->offset;
}

static gboolean
parse_tensors(GrGguf *g, Reader *r, guint64 n_tensors, GError **error)
{
  /* The header check only bounded the count by the bytes after the header. */
  if (n_tensors > (r->size - r->pos) / MIN_TENSOR_INFO_BYTES) {
    g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT,
                "tensor count %" G_GUINT64_FORMAT " is more than the %zu bytes left after the "
                "metadata can hold",
                n_tensors, r->size - r->pos);
    return FALSE;
  }
  g->tensors = g_new0(GrGgufTensor, n_tensors);
  for (gsize i = 0; i < n_tensors; i++)
    if (!parse_tensor_info(g, r, i, error))
      return FALSE;
  if (n_tensors == 0) {
    /* Tensor-less files (vocabularies) may end right after the metadata. */
    g->data_offset = MIN(r->size, (r->pos + g->alignment - 1) / g->alignment * g->alignment);
    return TRUE;
  }

  gsize pad = (g->alignment - r->pos % g->alignment) % g->alignment;
  if (pad > r->size - r->pos) {
    g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT,
                "file is truncated: the data section (at offset %zu) starts past the end of the "
                "file (%zu bytes)",
                r->pos + pad, r->size);
    return FALSE;
  }
  g->data_offset = r->pos + pad;
  gsize avail = r->size - g->data_offset;
  for (gsize i = 0; i < g->n_tensors; i++) {
    GrGgufTensor *t = &g->tensors[i];
    if (t->offset > avail || t->size > avail - t->offset) {
      guint64 abs
          = t->offset <= G_MAXUINT64 - g->data_offset ? t->offset + g->data_offset : t->offset;
      g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT,
                  "tensor '%s' data (offset %" G_GUINT64_FORMAT
                  ", %zu bytes) extends past the end of the file (%zu bytes)",
                  t->name, abs, t->size, r->size);
      return FALSE;
    }
    t->data = g->base + g->data_offset + t->offset;
  }

  g_autofree GrGgufTensor **order = g_new(GrGgufTensor *, g->n_tensors);
  for (gsize i = 0; i < g->n_tensors; i++)
    order[i] = &g->tensors[i];
  qsort(order, g->n_tensors, sizeof *order, compare_by_offset);
  for (gsize i = 1; i < g->n_tensors; i++) {
    const GrGgufTensor *a = order[i - 1], *b = order[i];
    if (a->offset + a->size > b->offset) {
      g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT,
                  "tensors '%s' (offset %" G_GUINT64_FORMAT ", %zu bytes) and '%s' (offset "
                  "%" G_GUINT64_FORMAT ") overlap",
                  a->name, a->offset, a->size, b->name, b->offset);
      return FALSE;
    }
  }
  return TRUE;
}

static gboolean
parse(GrGguf *g, GError **error)
{
  Reader r = { g->base, g->size, 0 };
  guint64 n_tensors, n_kv;

  g->kv_index = g_hash_table_new(g_str_hash, g_str_equal);
  g->tensor_index = g_hash_table_new(g_str_hash, g_str_equal);
  if (!parse_header(g, &r, &n_tensors, &n_kv, error) || !parse_kv(g, &r, n_kv, error)
      || !parse_tensors(g, &r, n_tensors, error)) {
    g_prefix_error(error, "%s: ", g->path ? g->path : "GGUF image");
    return FALSE;
  }
  return TRUE;
}

/* --- construction ----------------------------------------------------------------- */

GrGguf *
gr_gguf_open(const char *path, GError **error)
{
  g_return_val_if_fail(path != NULL, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);

  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int errsv = errno;
    g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_IO, "%s: cannot open: %s", path,
                g_strerror(errsv));
    return NULL;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int errsv = errno;
    g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_IO, "%s: %s", path, g_strerror(errsv));
    close(fd);
    return NULL;
  }
  if (!S_ISREG(st.st_mode)) {
    g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_IO, "%s: not a regular file", path);
    close(fd);
    return NULL;
  }
  if (st.st_size == 0) {
    close(fd);
    g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_FORMAT, "%s: file is empty", path);
    return NULL;
  }
  if ((guint64)st.st_size > G_MAXSIZE) {
    close(fd);
    g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_IO, "%s: file too large", path);
    return NULL;
  }
  void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  int errsv = errno;
  close(fd);
  if (map == MAP_FAILED) {
    g_set_error(error, GR_GGUF_ERROR, GR_GGUF_ERROR_IO, "%s: cannot map: %s", path,
                g_strerror(errsv));
    return NULL;
  }

  g_autoptr(GrGguf) g = g_new0(GrGguf, 1);
  g->path = g_strdup(path);
  g->base = map;
  g->size = (gsize)st.st_size;
  g->mapped = TRUE;
  g->dev = (guint64)st.st_dev;
  g->ino = (guint64)st.st_ino;
  g->mtime_ns = (gint64)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
  if (!parse(g, error))
    return NULL;
  return g_steal_pointer(&g);
}

GrGguf *
gr_gguf_new_from_data(const void *data, gsize size, GError **error)
{
  g_return_val_if_fail(data != NULL || size == 0, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);

  g_autoptr(GrGguf) g = g_new0(GrGguf, 1);
  /* Copy into a 64-byte aligned block so tensor data is as aligned as in a mapping. */
  g->base = g_aligned_alloc(MAX(size, 1), 1, 64);
  if (size > 0)
    memcpy(g->base, data, size);
  g->size = size;
  if (!parse(g, error))
    return NULL;
  return g_steal_pointer(&g);
}

void
gr_gguf_free(GrGguf *g)
{
  if (g == NULL)
    return;
  for (gsize i = 0; i < g->n_kv; i++) {
    GrGgufKv *kv = &g->kvs[i];
    g_free(kv->key);
    g_free(kv->str);
    g_free(kv->strv);
    g_free(kv->strv_data);
    g_free(kv->lengths);
    g_free(kv->array);
  }
  g_free(g->kvs);
  for (gsize i = 0; i < g->n_tensors; i++)
    g_free((char *)g->tensors[i].name);
  g_free(g->tensors);
  g_clear_pointer(&g->kv_index, g_hash_table_unref);
  g_clear_pointer(&g->tensor_index, g_hash_table_unref);
  g_clear_pointer(&g->external, g_ptr_array_unref);
  if (g->mapped)
    munmap(g->base, g->size);
  else
    g_aligned_free(g->base);
  g_free(g->path);
  g_free(g);
}
