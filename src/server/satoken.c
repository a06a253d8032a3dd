/* Service account token claims: minting and authentication (see satoken.h). */
#include "server/satoken.h"

#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "common/json.h"
#include "common/util.h"

/* Clock skew allowed on exp and nbf, as Kubernetes' validator (go-jose's default leeway). */
#define LEEWAY_S 60

char *drv_satoken_mint(const drv_jwt_key *k, const char *issuer, const drv_satoken *t, drv_err *err)
{
  if (!t->ns || !t->sa || !t->sa_uid || !t->audiences || !t->audiences[0]) {
    drv_error(err, EINVAL, "service account token: namespace, name, uid and an audience are required");
    return NULL;
  }
  unsigned char rnd[16];
  char jti[40];
  if (RAND_bytes(rnd, sizeof rnd) != 1) {
    drv_error(err, EIO, "service account token: no random bytes");
    return NULL;
  }
  snprintf(jti, sizeof jti, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1],
           rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7], rnd[8], rnd[9], rnd[10], rnd[11], rnd[12], rnd[13],
           rnd[14], rnd[15]);
  json_t *aud = json_array();
  for (const char *const *a = t->audiences; *a; a++) json_array_append_new(aud, json_string(*a));
  _cleanup_free_ char *sub = drv_asprintf(DRV_SA_PREFIX "%s:%s", t->ns, t->sa);
  json_t *kio = json_pack("{s:s, s:{s:s, s:s}}", "namespace", t->ns, "serviceaccount", "name", t->sa,
                          "uid", t->sa_uid);
  if (t->bound_kind && t->bound_name) {
    const char *field = !strcmp(t->bound_kind, "Pod") ? "pod" : !strcmp(t->bound_kind, "Node") ? "node" : "secret";
    json_object_set_new(kio, field, json_pack("{s:s, s:s}", "name", t->bound_name, "uid",
                                              t->bound_uid ? t->bound_uid : ""));
  }
  json_t *claims = json_pack("{s:s, s:s, s:o, s:I, s:I, s:I, s:s, s:o}", "iss", issuer, "sub", sub, "aud",
                             aud, "exp", (json_int_t)t->exp, "iat", (json_int_t)t->iat, "nbf",
                             (json_int_t)t->iat, "jti", jti, "kubernetes.io", kio);
  char *tok = drv_jwt_sign(k, claims, err);
  json_decref(claims);
  return tok;
}

static void add_group(drv_auth_user *u, const char *g)
{
  if (u->ngroups < DRV_AUTH_MAX_GROUPS && strlen(g) < sizeof u->groups[0])
    snprintf(u->groups[u->ngroups++], sizeof u->groups[0], "%s", g);
}

static void add_extra(drv_auth_user *u, const char *key, const char *prefix, const char *value)
{
  if (u->nextra >= DRV_AUTH_MAX_EXTRA) return;
  snprintf(u->extra[u->nextra][0], sizeof u->extra[0][0], "%s", key);
  snprintf(u->extra[u->nextra][1], sizeof u->extra[0][1], "%s%s", prefix, value);
  u->nextra++;
}

/* A name and uid claim ({name, uid}) into fixed fields; false when missing or too long. */
static bool copy_ref(const json_t *ref, char *name, size_t nsize, char *uid, size_t usize)
{
  const char *n = json_string_value(json_object_get(ref, "name"));
  const char *id = json_string_value(json_object_get(ref, "uid"));
  if (!n || !*n || !id || strlen(n) >= nsize || strlen(id) >= usize) return false;
  memcpy(name, n, strlen(n) + 1);
  memcpy(uid, id, strlen(id) + 1);
  return true;
}

int drv_satoken_verify(const drv_jwt_key *k, const char *issuer, const char *audience, const char *tok,
                       drv_satoken_claims *out, drv_err *err)
{
  json_t *c = drv_jwt_verify(k, tok, err);
  if (!c) return -1;
  int rc = -1;
  memset(out, 0, sizeof *out);
  const char *iss = json_string_value(json_object_get(c, "iss"));
  json_t *aud = json_object_get(c, "aud");
  json_t *exp = json_object_get(c, "exp"), *nbf = json_object_get(c, "nbf");
  json_t *kio = json_object_get(c, "kubernetes.io");
  const char *ns = json_string_value(json_object_get(kio, "namespace"));
  const char *sub = json_string_value(json_object_get(c, "sub"));
  json_t *pod = json_object_get(kio, "pod"), *secret = json_object_get(kio, "secret");
  json_t *node = json_object_get(kio, "node");
  /* one bound object: a pod, a Secret or a Node */
  const char *bkind = pod ? "Pod" : secret ? "Secret" : node ? "Node" : NULL;
  json_t *bound = pod ? pod : secret ? secret : node;
  bool aud_ok = json_is_string(aud) && !strcmp(json_string_value(aud), audience);
  size_t i;
  json_t *a;
  json_array_foreach(aud, i, a) aud_ok |= json_is_string(a) && !strcmp(json_string_value(a), audience);
  if (!iss || strcmp(iss, issuer)) {
    drv_error(err, EINVAL, "token issuer `%s` is not this server's", iss ? iss : "");
  } else if (!aud_ok) {
    drv_error(err, EINVAL, "token audiences do not include `%s`", audience);
  } else if (!json_is_integer(exp) || (nbf && !json_is_integer(nbf))) {
    drv_error(err, EINVAL, "token has no integer exp (and nbf)");
  } else if (!ns || !*ns || strlen(ns) >= sizeof out->ns ||
             !copy_ref(json_object_get(kio, "serviceaccount"), out->sa, sizeof out->sa, out->sa_uid,
                       sizeof out->sa_uid)) {
    drv_error(err, EINVAL, "token has no kubernetes.io namespace and service account {name, uid}");
  } else if (bound && !copy_ref(bound, out->bound_name, sizeof out->bound_name, out->bound_uid,
                                 sizeof out->bound_uid)) {
    drv_error(err, EINVAL, "token names no %s {name, uid}", bkind);
  } else {
    memcpy(out->ns, ns, strlen(ns) + 1);
    if (bkind) snprintf(out->bound_kind, sizeof out->bound_kind, "%s", bkind);
    const char *jti = json_string_value(json_object_get(c, "jti"));
    if (jti && strlen(jti) < sizeof out->jti) memcpy(out->jti, jti, strlen(jti) + 1);
    out->exp = json_integer_value(exp);
    out->nbf = nbf ? json_integer_value(nbf) : 0;
    _cleanup_free_ char *want = drv_asprintf(DRV_SA_PREFIX "%s:%s", ns, out->sa);
    if (!sub || strcmp(sub, want))
      drv_error(err, EINVAL, "token subject `%s` does not match its service account", sub ? sub : "");
    else
      rc = 0;
  }
  json_decref(c);
  return rc;
}

static int check_object(drv_satoken_lookup_fn lookup, void *ud, const char *kind, const char *ns,
                        const char *name, const char *uid, drv_err *err)
{
  int r = lookup(ud, kind, ns, name, uid);
  if (r == -ENOENT) return drv_error(err, ENOENT, "%s %s/%s has been deleted", kind, ns, name);
  if (r < 0) return drv_error(err, ESTALE, "%s %s/%s: its UID does not match the token's (%s)", kind, ns, name, uid);
  return 0;
}

int drv_satoken_check(const drv_satoken_claims *c, long long now, drv_satoken_lookup_fn lookup, void *ud,
                      drv_auth_user *u, drv_err *err)
{
  /* now +/- the leeway, not exp/nbf: claims at the ends of the int64 range must not overflow */
  if (c->exp < now - LEEWAY_S) return drv_error(err, EINVAL, "token has expired");
  if (c->nbf > now + LEEWAY_S) return drv_error(err, EINVAL, "token is not valid yet");
  if (check_object(lookup, ud, "ServiceAccount", c->ns, c->sa, c->sa_uid, err) < 0) return -1;
  if (c->bound_kind[0] && check_object(lookup, ud, c->bound_kind, c->ns, c->bound_name, c->bound_uid, err) < 0)
    return -1;
  char name[sizeof c->ns + sizeof c->sa + 32];
  int n = snprintf(name, sizeof name, DRV_SA_PREFIX "%s:%s", c->ns, c->sa);
  if (n < 0 || (size_t)n >= sizeof u->name) return drv_error(err, ENAMETOOLONG, "token's user name is too long");
  memcpy(u->name, name, (size_t)n + 1);
  u->ngroups = 0;
  snprintf(u->uid, sizeof u->uid, "%s", c->sa_uid);
  u->nextra = 0;
  if (c->jti[0]) add_extra(u, "authentication.kubernetes.io/credential-id", "JTI=", c->jti);
  const char *bk = !strcmp(c->bound_kind, "Pod") ? "pod" : !strcmp(c->bound_kind, "Node") ? "node" : NULL;
  if (bk) {
    char key[64];
    snprintf(key, sizeof key, "authentication.kubernetes.io/%s-name", bk);
    add_extra(u, key, "", c->bound_name);
    snprintf(key, sizeof key, "authentication.kubernetes.io/%s-uid", bk);
    add_extra(u, key, "", c->bound_uid);
  }
  add_group(u, DRV_SA_GROUP);
  char nsg[128];
  snprintf(nsg, sizeof nsg, DRV_SA_GROUP ":%s", c->ns);
  add_group(u, nsg);
  add_group(u, DRV_AUTH_AUTHENTICATED);
  return 0;
}

int drv_satoken_authenticate(const drv_jwt_key *k, const char *issuer, const char *audience,
                             long long now, const char *tok, drv_satoken_lookup_fn lookup,
                             void *ud, drv_auth_user *u, drv_err *err)
{
  drv_satoken_claims c;
  if (drv_satoken_verify(k, issuer, audience, tok, &c, err) < 0) return -1;
  return drv_satoken_check(&c, now, lookup, ud, u, err);
}
