/* Service account tokens: ES256 signing and verification (jwt.c) and the claims' checks
 * (satoken.c): a bad signature, another key, expiry, audience, issuer, a deleted or recreated
 * service account or pod. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "common/fs.h"
#include "common/util.h"
#include "server/jwt.h"
#include "server/satoken.h"

#define NOW 1800000000LL
#define AUD DRV_SA_ISSUER

/* The store the checks look objects up in: uids of what exists. */
typedef struct world {
  const char *sa_uid;  /* NULL: the service account is deleted */
  const char *pod_uid; /* NULL: the pod is deleted */
} world;

static int lookup(void *ud, const char *kind, const char *ns, const char *name, const char *uid)
{
  world *w = ud;
  const char *have = NULL;
  if (!strcmp(ns, "ns1") && !strcmp(kind, "ServiceAccount") && !strcmp(name, "robot")) have = w->sa_uid;
  if (!strcmp(ns, "ns1") && !strcmp(kind, "Pod") && !strcmp(name, "web-0")) have = w->pod_uid;
  return !have ? -ENOENT : strcmp(have, uid) ? -ESTALE : 0;
}

static char *mint(drv_jwt_key *k, const char *aud, bool pod, long long iat, long long life)
{
  const char *auds[] = {aud, NULL};
  drv_satoken t = {.ns = "ns1", .sa = "robot", .sa_uid = "sa-uid-1", .audiences = auds, .iat = iat, .exp = iat + life};
  if (pod) {
    t.bound_kind = "Pod";
    t.bound_name = "web-0";
    t.bound_uid = "pod-uid-1";
  }
  drv_err err = {0};
  char *tok = drv_satoken_mint(k, DRV_SA_ISSUER, &t, &err);
  assert_non_null(tok);
  return tok;
}

static int auth(drv_jwt_key *k, const char *tok, world *w, drv_auth_user *u, drv_err *err)
{
  return drv_satoken_authenticate(k, DRV_SA_ISSUER, AUD, NOW, tok, lookup, w, u, err);
}

static void test_valid(void **state)
{
  (void)state;
  drv_jwt_key *k = drv_jwt_key_generate();
  _cleanup_free_ char *tok = mint(k, AUD, true, NOW - 10, 3600);
  assert_true(drv_jwt_shaped(tok));
  world w = {"sa-uid-1", "pod-uid-1"};
  drv_auth_user u;
  drv_err err = {0};
  assert_int_equal(auth(k, tok, &w, &u, &err), 0);
  assert_string_equal(u.name, "system:serviceaccount:ns1:robot");
  assert_int_equal(u.ngroups, 3);
  assert_string_equal(u.groups[0], "system:serviceaccounts");
  assert_string_equal(u.groups[1], "system:serviceaccounts:ns1");
  assert_string_equal(u.groups[2], "system:authenticated");
  assert_string_equal(u.uid, "sa-uid-1");
  assert_int_equal(u.nextra, 3);
  assert_string_equal(u.extra[0][0], "authentication.kubernetes.io/credential-id");
  assert_int_equal(strncmp(u.extra[0][1], "JTI=", 4), 0);
  assert_string_equal(u.extra[1][0], "authentication.kubernetes.io/pod-name");
  assert_string_equal(u.extra[1][1], "web-0");
  assert_string_equal(u.extra[2][1], "pod-uid-1");
  /* verified once, checked again against the store: the fields kept */
  drv_satoken_claims c0;
  assert_int_equal(drv_satoken_verify(k, DRV_SA_ISSUER, AUD, tok, &c0, &err), 0);
  assert_string_equal(c0.bound_kind, "Pod");
  assert_string_equal(c0.bound_uid, "pod-uid-1");
  assert_int_equal(drv_satoken_check(&c0, NOW, lookup, &w, &u, &err), 0);
  assert_int_equal(drv_satoken_check(&c0, NOW + 7200, lookup, &w, &u, &err), -1);
  /* the claims as Kubernetes writes them */
  json_t *c = drv_jwt_verify(k, tok, &err);
  assert_non_null(c);
  assert_string_equal(json_string_value(json_object_get(c, "sub")), "system:serviceaccount:ns1:robot");
  assert_string_equal(json_string_value(json_object_get(c, "iss")), DRV_SA_ISSUER);
  assert_int_equal(json_integer_value(json_object_get(c, "exp")), NOW - 10 + 3600);
  assert_int_equal(json_integer_value(json_object_get(c, "nbf")), NOW - 10);
  json_t *kio = json_object_get(c, "kubernetes.io");
  assert_string_equal(json_string_value(json_object_get(kio, "namespace")), "ns1");
  assert_string_equal(json_string_value(json_object_get(json_object_get(kio, "pod"), "uid")), "pod-uid-1");
  assert_string_equal(json_string_value(json_object_get(json_object_get(kio, "serviceaccount"), "uid")), "sa-uid-1");
  json_decref(c);
  drv_jwt_key_free(k);
}

static void test_bad_signature(void **state)
{
  (void)state;
  drv_jwt_key *k = drv_jwt_key_generate(), *other = drv_jwt_key_generate();
  _cleanup_free_ char *tok = mint(k, AUD, false, NOW, 3600);
  world w = {"sa-uid-1", "pod-uid-1"};
  drv_auth_user u;
  drv_err err = {0};
  /* signed by another key */
  assert_int_equal(auth(other, tok, &w, &u, &err), -1);
  assert_non_null(strstr(err.msg, "signature"));
  /* one character of the signature changed */
  _cleanup_free_ char *bad = drv_strdup(tok);
  char *last = bad + strlen(bad) - 5;
  *last = *last == 'A' ? 'B' : 'A';
  assert_int_equal(auth(k, bad, &w, &u, &err), -1);
  /* the claims changed under the same signature */
  _cleanup_free_ char *forged = drv_strdup(tok);
  char *dot = strchr(forged, '.');
  dot[3] = dot[3] == 'x' ? 'y' : 'x';
  assert_int_equal(auth(k, forged, &w, &u, &err), -1);
  /* not a JWT at all */
  assert_false(drv_jwt_shaped("0123abcd"));
  assert_int_equal(auth(k, "a.b", &w, &u, &err), -1);
  assert_int_equal(auth(k, "a.b.c.d", &w, &u, &err), -1);
  assert_int_equal(auth(k, "!!.??.**", &w, &u, &err), -1);
  drv_jwt_key_free(k);
  drv_jwt_key_free(other);
}

static void test_expired_and_audience(void **state)
{
  (void)state;
  drv_jwt_key *k = drv_jwt_key_generate();
  world w = {"sa-uid-1", "pod-uid-1"};
  drv_auth_user u;
  drv_err err = {0};
  _cleanup_free_ char *old = mint(k, AUD, false, NOW - 7200, 3600);
  assert_int_equal(auth(k, old, &w, &u, &err), -1);
  assert_non_null(strstr(err.msg, "expired"));
  /* within the minute of clock skew allowed */
  _cleanup_free_ char *just = mint(k, AUD, false, NOW - 3630, 3600);
  assert_int_equal(auth(k, just, &w, &u, &err), 0);
  _cleanup_free_ char *future = mint(k, AUD, false, NOW + 600, 3600);
  assert_int_equal(auth(k, future, &w, &u, &err), -1);
  assert_non_null(strstr(err.msg, "not valid yet"));
  _cleanup_free_ char *vault = mint(k, "vault", false, NOW, 3600);
  assert_int_equal(auth(k, vault, &w, &u, &err), -1);
  assert_non_null(strstr(err.msg, "audiences"));
  assert_int_equal(drv_satoken_authenticate(k, "https://elsewhere", AUD, NOW, vault, lookup, &w, &u, &err), -1);
  drv_jwt_key_free(k);
}

static void test_deleted_objects(void **state)
{
  (void)state;
  drv_jwt_key *k = drv_jwt_key_generate();
  _cleanup_free_ char *tok = mint(k, AUD, true, NOW, 3600);
  _cleanup_free_ char *plain = mint(k, AUD, false, NOW, 3600);
  drv_auth_user u;
  drv_err err = {0};
  world gone_sa = {NULL, "pod-uid-1"}, new_sa = {"sa-uid-2", "pod-uid-1"};
  world gone_pod = {"sa-uid-1", NULL}, new_pod = {"sa-uid-1", "pod-uid-2"};
  assert_int_equal(auth(k, tok, &gone_sa, &u, &err), -1);
  assert_non_null(strstr(err.msg, "ServiceAccount ns1/robot has been deleted"));
  assert_int_equal(auth(k, tok, &new_sa, &u, &err), -1);
  assert_non_null(strstr(err.msg, "UID does not match"));
  assert_int_equal(auth(k, tok, &gone_pod, &u, &err), -1);
  assert_non_null(strstr(err.msg, "Pod ns1/web-0 has been deleted"));
  assert_int_equal(auth(k, tok, &new_pod, &u, &err), -1);
  /* a token not bound to the pod does not care about it */
  assert_int_equal(auth(k, plain, &gone_pod, &u, &err), 0);
  drv_jwt_key_free(k);
}

static void test_key_file(void **state)
{
  (void)state;
  char dir[] = "/tmp/drv-satoken-XXXXXX";
  assert_non_null(mkdtemp(dir));
  _cleanup_free_ char *path = drv_asprintf("%s/sa.key", dir);
  drv_jwt_key *k1 = NULL, *k2 = NULL;
  drv_err err = {0};
  assert_int_equal(drv_jwt_key_load(path, &k1, &err), 0); /* generated */
  assert_int_equal(drv_jwt_key_load(path, &k2, &err), 0); /* read back */
  assert_string_equal(drv_jwt_key_id(k1), drv_jwt_key_id(k2));
  _cleanup_free_ char *tok = mint(k1, AUD, false, NOW, 3600);
  world w = {"sa-uid-1", NULL};
  drv_auth_user u;
  assert_int_equal(auth(k2, tok, &w, &u, &err), 0);
  drv_jwt_key_free(k1);
  drv_jwt_key_free(k2);
  /* a file that is not a key */
  assert_int_equal(drv_write_file_atomic(path, "junk\n", 5, 0600, &err), 0);
  assert_int_equal(drv_jwt_key_load(path, &k1, &err), -1);
  assert_non_null(strstr(err.msg, "not a PEM EC private key"));
  unlink(path);
  rmdir(dir);
}

/* One signature, one text: base64url whose unused trailing bits are set decodes to the same
 * bytes and must be refused (otherwise a token has many distinct valid spellings). */
static void test_noncanonical_base64(void **state)
{
  (void)state;
  drv_jwt_key *k = drv_jwt_key_generate();
  _cleanup_free_ char *tok = mint(k, AUD, false, NOW, 3600);
  world w = {"sa-uid-1", NULL};
  drv_auth_user u;
  drv_err err = {0};
  assert_int_equal(auth(k, tok, &w, &u, &err), 0);
  static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  /* the 64-byte signature is 86 characters: the last one carries 2 bits and 4 unused ones */
  _cleanup_free_ char *bad = drv_strdup(tok);
  char *last = bad + strlen(bad) - 1;
  int v = (int)(strchr(alpha, *last) - alpha);
  assert_int_equal(v & 15, 0);
  *last = alpha[v | 1];
  assert_int_equal(auth(k, bad, &w, &u, &err), -1);
  assert_null(drv_jwt_verify(k, bad, &err));
  drv_jwt_key_free(k);
}

/* exp and nbf at the ends of the int64 range: no overflow in the time checks (UBSan), and a
 * far-future exp is not mistaken for a past one. */
static void test_time_claims_extremes(void **state)
{
  (void)state;
  drv_jwt_key *k = drv_jwt_key_generate();
  _cleanup_free_ char *forever = mint(k, AUD, false, NOW, INT64_MAX - NOW);
  world w = {"sa-uid-1", NULL};
  drv_auth_user u;
  drv_err err = {0};
  assert_int_equal(auth(k, forever, &w, &u, &err), 0);
  drv_satoken_claims c;
  assert_int_equal(drv_satoken_verify(k, DRV_SA_ISSUER, AUD, forever, &c, &err), 0);
  c.nbf = INT64_MIN;
  assert_int_equal(drv_satoken_check(&c, NOW, lookup, &w, &u, &err), 0);
  c.exp = INT64_MIN;
  assert_int_equal(drv_satoken_check(&c, NOW, lookup, &w, &u, &err), -1);
  assert_non_null(strstr(err.msg, "expired"));
  c.exp = INT64_MAX, c.nbf = INT64_MAX;
  assert_int_equal(drv_satoken_check(&c, NOW, lookup, &w, &u, &err), -1);
  assert_non_null(strstr(err.msg, "not valid yet"));
  drv_jwt_key_free(k);
}

/* sa.key: created 0600; one found readable by others is made private; a key of another curve
 * than ES256's P-256 is refused. */
static void test_key_file_private(void **state)
{
  (void)state;
  char dir[] = "/tmp/drv-satoken-XXXXXX";
  assert_non_null(mkdtemp(dir));
  _cleanup_free_ char *path = drv_asprintf("%s/sa.key", dir);
  drv_jwt_key *k = NULL;
  drv_err err = {0};
  struct stat st;
  assert_int_equal(drv_jwt_key_load(path, &k, &err), 0);
  drv_jwt_key_free(k);
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_int_equal(chmod(path, 0644), 0);
  assert_int_equal(drv_jwt_key_load(path, &k, &err), 0);
  drv_jwt_key_free(k);
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  /* a P-384 key */
  EVP_PKEY *p = EVP_EC_gen("P-384");
  assert_non_null(p);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  assert_int_equal(PEM_write_PrivateKey(f, p, NULL, NULL, 0, NULL, NULL), 1);
  fclose(f);
  EVP_PKEY_free(p);
  k = NULL;
  assert_int_equal(drv_jwt_key_load(path, &k, &err), -1);
  assert_null(k);
  assert_non_null(strstr(err.msg, "want P-256"));
  unlink(path);
  rmdir(dir);
}

static char *b64u(const void *d, size_t n)
{
  static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const unsigned char *p = d;
  char *out = drv_malloc(4 * n / 3 + 4), *o = out;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
    *o++ = a[v >> 18], *o++ = a[(v >> 12) & 63];
    if (i + 1 < n) *o++ = a[(v >> 6) & 63];
    if (i + 2 < n) *o++ = a[v & 63];
  }
  *o = 0;
  return out;
}

/* Only ES256 over the header as sent, with a 64-byte r||s: alg none, HS256 keyed with the
 * public key id (the classic confusion), a DER signature, a header rewritten to name another
 * key (kid, jku) under the same signature, all refused. */
static void test_alg_confusion(void **state)
{
  (void)state;
  drv_jwt_key *k = drv_jwt_key_generate();
  _cleanup_free_ char *tok = mint(k, AUD, false, NOW, 3600);
  world w = {"sa-uid-1", NULL};
  drv_auth_user u;
  drv_err err = {0};
  const char *d1 = strchr(tok, '.'), *d2 = strrchr(tok, '.');
  _cleanup_free_ char *claims = drv_strndup(d1 + 1, (size_t)(d2 - d1 - 1));
  const char *hdrs[] = {"{\"alg\":\"none\"}", "{\"alg\":\"HS256\"}", "{\"alg\":\"RS256\"}", "{\"alg\":\"es256\"}",
                        "{\"alg\":[\"ES256\"]}", "{}"};
  for (size_t i = 0; i < sizeof hdrs / sizeof *hdrs; i++) {
    _cleanup_free_ char *h = b64u(hdrs[i], strlen(hdrs[i]));
    _cleanup_free_ char *none = drv_asprintf("%s.%s.", h, claims);
    _cleanup_free_ char *same = drv_asprintf("%s.%s%s", h, claims, d2);
    assert_int_equal(auth(k, none, &w, &u, &err), -1);
    assert_int_equal(auth(k, same, &w, &u, &err), -1);
  }
  /* HS256 keyed with what is public (the key id, the SHA-256 of the public key) */
  const char *hs = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
  _cleanup_free_ char *hh = b64u(hs, strlen(hs));
  _cleanup_free_ char *input = drv_asprintf("%s.%s", hh, claims);
  unsigned char mac[32];
  unsigned int maclen = 0;
  HMAC(EVP_sha256(), drv_jwt_key_id(k), (int)strlen(drv_jwt_key_id(k)), (unsigned char *)input, strlen(input), mac,
       &maclen);
  _cleanup_free_ char *macb = b64u(mac, maclen);
  _cleanup_free_ char *hmac_tok = drv_asprintf("%s.%s", input, macb);
  assert_int_equal(auth(k, hmac_tok, &w, &u, &err), -1);
  /* the same signature under a header naming another key: the header is signed */
  const char *kid = "{\"alg\":\"ES256\",\"kid\":\"other\",\"jku\":\"https://evil.example/keys\"}";
  _cleanup_free_ char *kh = b64u(kid, strlen(kid));
  _cleanup_free_ char *kid_tok = drv_asprintf("%s.%s%s", kh, claims, d2);
  assert_int_equal(auth(k, kid_tok, &w, &u, &err), -1);
  /* a signature of another length (DER-like 70 bytes, 65, 63) */
  unsigned char junk[70] = {0x30, 0x44};
  for (size_t n = 63; n <= 70; n++) {
    if (n == 64) continue;
    _cleanup_free_ char *sb = b64u(junk, n);
    _cleanup_free_ char *t = drv_asprintf("%.*s.%s", (int)(d2 - tok), tok, sb);
    assert_int_equal(auth(k, t, &w, &u, &err), -1);
    assert_non_null(strstr(err.msg, "ES256"));
  }
  drv_jwt_key_free(k);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid),
      cmocka_unit_test(test_bad_signature),
      cmocka_unit_test(test_expired_and_audience),
      cmocka_unit_test(test_deleted_objects),
      cmocka_unit_test(test_key_file),
      cmocka_unit_test(test_noncanonical_base64),
      cmocka_unit_test(test_time_claims_extremes),
      cmocka_unit_test(test_key_file_private),
      cmocka_unit_test(test_alg_confusion),
  };
  return cmocka_run_group_tests_name("server_satoken", tests, NULL, NULL);
}
