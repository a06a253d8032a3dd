/* ES256 JSON Web Tokens (see jwt.h). */
#include "server/jwt.h"

#include <errno.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>

#include "common/fs.h"
#include "common/util.h"

struct drv_jwt_key {
  EVP_PKEY *pkey;
  char kid[64];
};

/* ---- base64url without padding ---- */

static const char b64u[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static char *b64u_encode(const unsigned char *d, size_t n)
{
  char *out = drv_malloc(4 * ((n + 2) / 3) + 1), *o = out;
  size_t i = 0;
  for (; i + 2 < n; i += 3) {
    uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
    *o++ = b64u[v >> 18], *o++ = b64u[(v >> 12) & 63], *o++ = b64u[(v >> 6) & 63], *o++ = b64u[v & 63];
  }
  if (n - i == 1) {
    uint32_t v = (uint32_t)d[i] << 16;
    *o++ = b64u[v >> 18], *o++ = b64u[(v >> 12) & 63];
  } else if (n - i == 2) {
    uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8;
    *o++ = b64u[v >> 18], *o++ = b64u[(v >> 12) & 63], *o++ = b64u[(v >> 6) & 63];
  }
  *o = 0;
  return out;
}

/* Every request with a token asks drv_jwt_shaped: a table, not a search per character. */
static signed char b64u_rev[256];
static pthread_once_t b64u_once = PTHREAD_ONCE_INIT;

static void b64u_init(void)
{
  memset(b64u_rev, -1, sizeof b64u_rev);
  for (int i = 0; i < 64; i++) b64u_rev[(unsigned char)b64u[i]] = (signed char)i;
}

static int b64u_val(char c)
{
  pthread_once(&b64u_once, b64u_init);
  return b64u_rev[(unsigned char)c];
}

/* Decodes n characters of s; NULL when they are not base64url. */
static unsigned char *b64u_decode(const char *s, size_t n, size_t *len)
{
  if (n % 4 == 1) return NULL;
  unsigned char *out = drv_malloc(n * 3 / 4 + 3);
  size_t o = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    int v = b64u_val(s[i]);
    if (v < 0) {
      free(out);
      return NULL;
    }
    acc = (acc << 6) | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (unsigned char)(acc >> bits);
    }
  }
  /* the bits after the last byte must be zero: otherwise several texts decode alike and one
   * signature would make many distinct valid tokens */
  if (acc & ((1u << bits) - 1)) {
    free(out);
    return NULL;
  }
  out[o] = 0;
  *len = o;
  return out;
}

/* ---- keys ---- */

static drv_jwt_key *wrap(EVP_PKEY *pkey)
{
  drv_jwt_key *k = drv_calloc(1, sizeof *k);
  k->pkey = pkey;
  unsigned char *der = NULL;
  int n = i2d_PUBKEY(pkey, &der);
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(der, n > 0 ? (size_t)n : 0, md);
  OPENSSL_free(der);
  _cleanup_free_ char *s = b64u_encode(md, sizeof md);
  snprintf(k->kid, sizeof k->kid, "%s", s);
  return k;
}

drv_jwt_key *drv_jwt_key_generate(void)
{
  EVP_PKEY *p = EVP_EC_gen("P-256");
  return p ? wrap(p) : NULL;
}

int drv_jwt_key_load(const char *path, drv_jwt_key **out, drv_err *err)
{
  if (!drv_path_exists(path)) {
    EVP_PKEY *p = EVP_EC_gen("P-256");
    if (!p) return drv_error(err, EIO, "generate the service account signing key");
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, p, NULL, NULL, 0, NULL, NULL);
    char *pem;
    long n = BIO_get_mem_data(b, &pem);
    int rc = drv_write_file_atomic(path, pem, (size_t)n, 0600, err);
    BIO_free(b);
    if (rc < 0) {
      EVP_PKEY_free(p);
      return drv_err_prefix(err, "write the service account signing key");
    }
    *out = wrap(p);
    return 0;
  }
  _cleanup_free_ char *data = NULL;
  size_t len;
  if (drv_read_file(path, 1 << 16, &data, &len, err) < 0) return -1;
  BIO *b = BIO_new_mem_buf(data, (int)len);
  EVP_PKEY *p = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
  BIO_free(b);
  char group[32] = "";
  size_t glen;
  if (!p || EVP_PKEY_get_base_id(p) != EVP_PKEY_EC) {
    EVP_PKEY_free(p);
    return drv_error(err, EINVAL, "service account signing key `%s`: not a PEM EC private key", path);
  }
  /* ES256 is P-256 only: another curve's r and s do not fit the 64-byte signature */
  if (EVP_PKEY_get_group_name(p, group, sizeof group, &glen) != 1 || strcmp(group, "prime256v1")) {
    EVP_PKEY_free(p);
    return drv_error(err, EINVAL, "service account signing key `%s`: curve `%s`, want P-256", path, group);
  }
  /* a private key readable by others signs tokens for anyone: keep it the owner's */
  struct stat st;
  if (stat(path, &st) == 0 && (st.st_mode & 077) && chmod(path, st.st_mode & 0700) < 0) {
    EVP_PKEY_free(p);
    return drv_error(err, errno, "service account signing key `%s`: make it private (0600)", path);
  }
  *out = wrap(p);
  return 0;
}

void drv_jwt_key_free(drv_jwt_key *k)
{
  if (!k) return;
  EVP_PKEY_free(k->pkey);
  free(k);
}

const char *drv_jwt_key_id(const drv_jwt_key *k)
{
  return k->kid;
}

/* ---- sign, verify ---- */

char *drv_jwt_sign(const drv_jwt_key *k, const json_t *claims, drv_err *err)
{
  json_t *hdr = json_pack("{s:s, s:s}", "alg", "ES256", "kid", k->kid);
  char *h = json_dumps(hdr, JSON_COMPACT), *c = json_dumps(claims, JSON_COMPACT);
  json_decref(hdr);
  if (!c) {
    free(h);
    drv_error(err, EINVAL, "token claims do not encode");
    return NULL;
  }
  _cleanup_free_ char *hb = b64u_encode((unsigned char *)h, strlen(h));
  _cleanup_free_ char *cb = b64u_encode((unsigned char *)c, strlen(c));
  free(h);
  free(c);
  _cleanup_free_ char *input = drv_asprintf("%s.%s", hb, cb);
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  unsigned char der[128];
  size_t dlen = sizeof der;
  int ok = EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k->pkey) == 1 &&
           EVP_DigestSign(md, der, &dlen, (unsigned char *)input, strlen(input)) == 1;
  EVP_MD_CTX_free(md);
  const unsigned char *dp = der;
  ECDSA_SIG *sig = ok ? d2i_ECDSA_SIG(NULL, &dp, (long)dlen) : NULL;
  if (!sig) {
    drv_error(err, EIO, "sign a token: the signature failed");
    return NULL;
  }
  unsigned char raw[64];
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + 32, 32);
  ECDSA_SIG_free(sig);
  _cleanup_free_ char *sb = b64u_encode(raw, sizeof raw);
  return drv_asprintf("%s.%s", input, sb);
}

bool drv_jwt_shaped(const char *tok)
{
  int dots = 0;
  for (const char *p = tok; *p; p++) {
    if (*p == '.') dots++;
    else if (b64u_val(*p) < 0) return false;
  }
  return dots == 2 && tok[0] != '.';
}

json_t *drv_jwt_verify(const drv_jwt_key *k, const char *tok, drv_err *err)
{
  const char *d1 = strchr(tok, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
  if (!d1 || !d2 || strchr(d2 + 1, '.') || strlen(tok) > 16384) {
    drv_error(err, EINVAL, "token is not a JWT (three dot-separated parts)");
    return NULL;
  }
  size_t hl, cl, sl;
  _cleanup_free_ unsigned char *h = b64u_decode(tok, (size_t)(d1 - tok), &hl);
  _cleanup_free_ unsigned char *sig = b64u_decode(d2 + 1, strlen(d2 + 1), &sl);
  if (!h || !sig) {
    drv_error(err, EINVAL, "token is not base64url-encoded");
    return NULL;
  }
  json_t *hdr = json_loadb((char *)h, hl, 0, NULL);
  const char *alg = json_string_value(json_object_get(hdr, "alg"));
  bool es256 = alg && !strcmp(alg, "ES256");
  json_decref(hdr);
  if (!es256 || sl != 64) {
    drv_error(err, EINVAL, "token is not signed ES256");
    return NULL;
  }
  ECDSA_SIG *s = ECDSA_SIG_new();
  ECDSA_SIG_set0(s, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL));
  unsigned char *der = NULL;
  int dlen = i2d_ECDSA_SIG(s, &der);
  ECDSA_SIG_free(s);
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  int ok = dlen > 0 && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k->pkey) == 1 &&
           EVP_DigestVerify(md, der, (size_t)dlen, (const unsigned char *)tok, (size_t)(d2 - tok)) == 1;
  EVP_MD_CTX_free(md);
  OPENSSL_free(der);
  if (!ok) {
    drv_error(err, EINVAL, "token signature is not valid");
    return NULL;
  }
  _cleanup_free_ unsigned char *c = b64u_decode(d1 + 1, (size_t)(d2 - d1 - 1), &cl);
  json_t *claims = c ? json_loadb((char *)c, cl, 0, NULL) : NULL;
  if (!json_is_object(claims)) {
    json_decref(claims);
    drv_error(err, EINVAL, "token claims are not a JSON object");
    return NULL;
  }
  return claims;
}
