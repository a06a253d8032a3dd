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
    const char *field = !strcmp(t->bound_kind, "Pod") ? "pod" : "secret";
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

/* The stored object still there with the uid the token names. */
static int check_object(drv_satoken_lookup_fn lookup, void *ud, const char *kind, const char *ns,
                        const json_t *ref, drv_err *err)
{
  const char *name = json_string_value(json_object_get(ref, "name"));
  const char *uid = json_string_value(json_object_get(ref, "uid"));
  if (!name || !*name || !uid) return drv_error(err, EINVAL, "token names no %s", kind);
  _cleanup_free_ char *have = lookup(ud, kind, ns, name);
  if (!have) return drv_error(err, ENOENT, "%s %s/%s has been deleted", kind, ns, name);
  if (strcmp(have, uid))
    return drv_error(err, ESTALE, "%s UID (%s) does not match claim (%s)", kind, have, uid);
  return 0;
}

int drv_satoken_authenticate(const drv_jwt_key *k, const char *issuer, const char *audience,
                             long long now, const char *tok, drv_satoken_lookup_fn lookup,
                             void *ud, drv_auth_user *u, json_t **aud_out, drv_err *err)
{
  json_t *c = drv_jwt_verify(k, tok, err);
  if (!c) return -1;
  int rc = -1;
  const char *iss = json_string_value(json_object_get(c, "iss"));
  json_t *aud = json_object_get(c, "aud");
  json_t *exp = json_object_get(c, "exp"), *nbf = json_object_get(c, "nbf");
  json_t *kio = json_object_get(c, "kubernetes.io");
  const char *ns = json_string_value(json_object_get(kio, "namespace"));
  json_t *sa = json_object_get(kio, "serviceaccount");
  const char *sa_name = json_string_value(json_object_get(sa, "name"));
  const char *sub = json_string_value(json_object_get(c, "sub"));
  bool aud_ok = json_is_string(aud) && !strcmp(json_string_value(aud), audience);
  size_t i;
  json_t *a;
  json_array_foreach(aud, i, a) aud_ok |= json_is_string(a) && !strcmp(json_string_value(a), audience);
  if (!iss || strcmp(iss, issuer)) {
    drv_error(err, EINVAL, "token issuer `%s` is not this server's", iss ? iss : "");
  } else if (!aud_ok) {
    drv_error(err, EINVAL, "token audiences do not include `%s`", audience);
  } else if (!json_is_integer(exp) || json_integer_value(exp) + LEEWAY_S < now) {
    drv_error(err, EINVAL, "token has expired");
  } else if (json_is_integer(nbf) && json_integer_value(nbf) - LEEWAY_S > now) {
    drv_error(err, EINVAL, "token is not valid yet");
  } else if (!ns || !*ns || !sa_name || !*sa_name) {
    drv_error(err, EINVAL, "token has no kubernetes.io namespace and service account");
  } else {
    _cleanup_free_ char *want = drv_asprintf(DRV_SA_PREFIX "%s:%s", ns, sa_name);
    if (!sub || strcmp(sub, want)) {
      drv_error(err, EINVAL, "token subject `%s` does not match its service account", sub ? sub : "");
    } else if (check_object(lookup, ud, "ServiceAccount", ns, sa, err) == 0 &&
               (!json_object_get(kio, "pod") || check_object(lookup, ud, "Pod", ns, json_object_get(kio, "pod"), err) == 0) &&
               (!json_object_get(kio, "secret") ||
                check_object(lookup, ud, "Secret", ns, json_object_get(kio, "secret"), err) == 0)) {
      memset(u, 0, sizeof *u);
      snprintf(u->name, sizeof u->name, "%s", want);
      add_group(u, DRV_SA_GROUP);
      _cleanup_free_ char *nsg = drv_asprintf(DRV_SA_GROUP ":%s", ns);
      add_group(u, nsg);
      add_group(u, DRV_AUTH_AUTHENTICATED);
      if (aud_out) *aud_out = json_is_array(aud) ? json_incref(aud) : json_pack("[O]", aud);
      rc = 0;
    }
  }
  json_decref(c);
  return rc;
}
