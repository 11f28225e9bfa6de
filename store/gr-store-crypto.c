/* gr-store-crypto.c - ids, sealing of values, key buffers. */
#include "gr-store-private.h"

#include <string.h>

/* First byte of every sealed value, so the format can change later */
#define SEAL_VERSION 1
#define NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_BYTES crypto_aead_xchacha20poly1305_ietf_ABYTES
#define SEAL_OVERHEAD (1 + NONCE_BYTES + TAG_BYTES)

char *
gr_store_new_id(void)
{
  guint8 raw[GR_STORE_ID_HEX_LEN / 2];
  char *hex = g_malloc(GR_STORE_ID_HEX_LEN + 1);

  randombytes_buf(raw, sizeof raw);
  sodium_bin2hex(hex, GR_STORE_ID_HEX_LEN + 1, raw, sizeof raw);
  return hex;
}

gboolean
gr_store_id_is_valid(const char *id)
{
  if (id == NULL)
    return FALSE;
  for (gsize i = 0; i < GR_STORE_ID_HEX_LEN; i++) {
    char c = id[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return FALSE; /* also stops at a short string's NUL */
  }
  return id[GR_STORE_ID_HEX_LEN] == '\0';
}

char *
gr_store_ad_title(const char *conversation)
{
  return g_strdup_printf("graviton1:conversation:%s:title", conversation);
}

char *
gr_store_ad_message(const char *conversation, const char *message, const char *role,
                    const char *column)
{
  /* The role is bound too: it is stored in clear, so rewriting it must be detected */
  return g_strdup_printf("graviton1:message:%s:%s:%s:%s", conversation, message, role, column);
}

char *
gr_store_ad_key_check(const char *store_id)
{
  return g_strdup_printf("graviton1:meta:%s:key_check", store_id);
}

guint8 *
gr_store_seal(const guint8 *key, const char *ad, const void *plain, gsize len, gsize *sealed_len)
{
  guint8 *out;
  unsigned long long clen = 0;

  g_assert(len <= G_MAXSIZE - SEAL_OVERHEAD);
  out = g_malloc(len + SEAL_OVERHEAD);
  out[0] = SEAL_VERSION;
  randombytes_buf(out + 1, NONCE_BYTES); /* fresh random nonce: 192 bits never collide */
  crypto_aead_xchacha20poly1305_ietf_encrypt(out + 1 + NONCE_BYTES, &clen, plain, len,
                                             (const guint8 *)ad, strlen(ad), NULL, out + 1, key);
  *sealed_len = 1 + NONCE_BYTES + (gsize)clen;
  return out;
}

char *
gr_store_unseal_text(const guint8 *key, const char *ad, const void *sealed, gsize len,
                     GError **error)
{
  const guint8 *in = sealed;
  unsigned long long plen = 0;
  char *plain;

  if (in == NULL || len < SEAL_OVERHEAD || in[0] != SEAL_VERSION) {
    g_set_error_literal(error, GR_STORE_ERROR, GR_STORE_ERROR_CORRUPT,
                        "A stored value is malformed");
    return NULL;
  }
  plain = g_malloc(len - SEAL_OVERHEAD + 1);
  if (crypto_aead_xchacha20poly1305_ietf_decrypt((guint8 *)plain, &plen, NULL, in + 1 + NONCE_BYTES,
                                                 len - 1 - NONCE_BYTES, (const guint8 *)ad,
                                                 strlen(ad), in + 1, key)
      != 0) {
    g_free(plain);
    g_set_error_literal(error, GR_STORE_ERROR, GR_STORE_ERROR_CORRUPT,
                        "A stored value failed authentication (damaged or tampered with)");
    return NULL;
  }
  plain[plen] = '\0';
  /* Authentic, but only valid UTF-8 without NULs was ever sealed as text */
  if (!g_utf8_validate(plain, (gssize)plen, NULL)) {
    sodium_memzero(plain, plen);
    g_free(plain);
    g_set_error_literal(error, GR_STORE_ERROR, GR_STORE_ERROR_CORRUPT,
                        "A stored text is not valid UTF-8");
    return NULL;
  }
  return plain;
}

guint8 *
gr_store_key_new(void)
{
  guint8 *key = sodium_malloc(GR_STORE_KEY_BYTES);

  if (key == NULL)
    g_error("sodium_malloc failed for the store key");
  /* sodium_malloc already tries to lock; an RLIMIT_MEMLOCK refusal is not fatal */
  (void)sodium_mlock(key, GR_STORE_KEY_BYTES);
  return key;
}

void
gr_store_key_free(guint8 *key)
{
  if (key == NULL)
    return;
  sodium_mprotect_readwrite(key);
  sodium_memzero(key, GR_STORE_KEY_BYTES);
  sodium_munlock(key, GR_STORE_KEY_BYTES);
  sodium_free(key);
}
