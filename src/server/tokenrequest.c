/* Service account tokens in the server: the serviceaccounts/token subresource (TokenRequest,
 * what `kubectl create token` and the agents' projected volumes ask), TokenReview, and the
 * authentication of the tokens against the store (the service account, and the pod, Secret or
 * Node a token is bound to, must still exist with the uid the token names). */
#include <errno.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "api/object.h"
#include "api/status.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "server/internal.h"
#include "server/protobuf.h"
#include "server/satoken.h"
#include "server/tokenrequest.h"

#define MIN_EXPIRATION_S 600
#define DEFAULT_EXPIRATION_S 3600
#define MAX_EXPIRATION_S (1LL << 32)

static const drv_api_resource treq_res = {"authentication.k8s.io", "v1", "TokenRequest", "TokenRequestList",
                                          "token", "", NULL, NULL, true, DRV_VERB_CREATE, 0,
                                          "authentication.k8s.io", "v1", false};

/* ---- authentication ---- */

/* Lookups of one authentication: the store revisions of the service account [0] and bound
 * object [1] already found to carry the token's uids (nothing to parse again while they stay). */
typedef struct lookup_ctx {
  drv_server *s;
  uint64_t known[2], seen[2];
  int n;
} lookup_ctx;

static int has_object(void *ud, const char *kind, const char *ns, const char *name, const char *uid)
{
  lookup_ctx *lc = ud;
  int i = lc->n < 2 ? lc->n++ : 1;
  const char *plural = !strcmp(kind, "ServiceAccount") ? "serviceaccounts" : !strcmp(kind, "Pod") ? "pods"
                       : !strcmp(kind, "Node")            ? "nodes"
                                                          : "secrets";
  const drv_api_resource *res = drv_api_resource_find("", "v1", plural);
  _cleanup_free_ char *key = drv_server_key(res, ns, name);
  drv_store_obj *o;
  if (drv_store_get(lc->s->store, key, &o) < 0) return -ENOENT;
  uint64_t rev = o->mod_rev;
  if (rev && rev == lc->known[i]) {
    drv_store_obj_unref(o);
    lc->seen[i] = rev;
    return 0;
  }
  json_t *obj = json_loadb(o->data, o->len, 0, NULL);
  drv_store_obj_unref(o);
  const char *have = drv_obj_uid(obj), *del = drv_obj_deletion_timestamp(obj);
  /* a service account, Secret or Node being deleted no longer vouches for its tokens; a pod
   * being deleted still runs until its agent removes it, for a minute (Kubernetes' leeway):
   * one stuck terminating must not keep its tokens for ever */
  time_t dt = 0;
  int r = !have ? -ENOENT : strcmp(have, uid) ? -ESTALE : !del ? 0 : strcmp(kind, "Pod") ? -ENOENT
          : drv_api_time_parse(del, &dt) < 0 || (long long)dt < (long long)time(NULL) - 60 ? -ENOENT : 0;
  json_decref(obj);
  if (r == 0 && !del) lc->seen[i] = rev; /* a pod being deleted is looked at again: time runs */
  return r;
}

/* Tokens already verified (signature, issuer, audience, claims): a client sends the same token
 * on every request, and the ECDSA verification would cost it most of the request. The time
 * and store checks still run every time. Entries are overwritten by hash slot. */
#define VCACHE_SLOTS 1024

typedef struct vcache_ent {
  const drv_jwt_key *key;
  char *tok;
  drv_satoken_claims c;
  uint64_t known[2];
} vcache_ent;

static pthread_mutex_t vcache_mu = PTHREAD_MUTEX_INITIALIZER;
static vcache_ent vcache[VCACHE_SLOTS];

/* By the token's last 32 characters: its signature's, random enough (the whole token is
 * compared on a hit). */
static size_t slot_of(const char *tok)
{
  size_t n = strlen(tok);
  uint64_t h = 1469598103934665603ull;
  for (const unsigned char *c = (const unsigned char *)tok + (n > 32 ? n - 32 : 0); *c; c++)
    h = (h ^ *c) * 1099511628211ull;
  return (size_t)(h % VCACHE_SLOTS);
}

static bool vcache_get(const drv_jwt_key *k, const char *tok, drv_satoken_claims *c, uint64_t known[2])
{
  size_t i = slot_of(tok), n = strlen(tok);
  bool hit = false;
  pthread_mutex_lock(&vcache_mu);
  vcache_ent *e = &vcache[i];
  if (e->tok && e->key == k && strlen(e->tok) == n && CRYPTO_memcmp(e->tok, tok, n) == 0) {
    *c = e->c;
    known[0] = e->known[0], known[1] = e->known[1];
    hit = true;
  }
  pthread_mutex_unlock(&vcache_mu);
  return hit;
}

static void vcache_put(const drv_jwt_key *k, const char *tok, const drv_satoken_claims *c, const uint64_t seen[2])
{
  size_t i = slot_of(tok);
  pthread_mutex_lock(&vcache_mu);
  vcache_ent *e = &vcache[i];
  if (!e->tok || strcmp(e->tok, tok) || e->key != k) {
    free(e->tok);
    e->tok = drv_strdup(tok);
    e->key = k;
    e->c = *c;
  }
  e->known[0] = seen[0], e->known[1] = seen[1];
  pthread_mutex_unlock(&vcache_mu);
}

/* The checks of a token against now and the store (satoken.h). */
static int check_token(drv_server *s, const char *tok, drv_auth_user *u, drv_err *err)
{
  drv_satoken_claims c;
  lookup_ctx lc = {.s = s};
  bool hit = vcache_get(s->sa_key, tok, &c, lc.known);
  if (!hit && drv_satoken_verify(s->sa_key, DRV_SA_ISSUER, DRV_SA_ISSUER, tok, &c, err) < 0) return -1;
  if (drv_satoken_check(&c, (long long)time(NULL), has_object, &lc, u, err) < 0) return -1;
  if (!hit || lc.seen[0] != lc.known[0] || lc.seen[1] != lc.known[1]) vcache_put(s->sa_key, tok, &c, lc.seen);
  return 0;
}

bool drv_server_sa_authenticate(drv_server *s, const char *tok, drv_auth_user *u)
{
  if (!s->sa_key || !drv_jwt_shaped(tok)) return false;
  drv_err err = {0};
  if (check_token(s, tok, u, &err) == 0) return true;
  drv_log_debug("service account token refused: %s", err.msg);
  return false;
}

static json_t *invalid(const char *name, const char *field, const char *reason, const char *msg)
{
  json_t *causes = json_array();
  json_array_append_new(causes, drv_status_cause(reason, msg, field));
  return drv_status_invalid(&treq_res, name, causes);
}

/* spec.boundObjectRef: the object exists with the uid given, and a pod runs as the service
 * account. NULL, or the Status; kind and name point into the request, bound_uid gets the
 * stored uid (caller frees). */
static json_t *check_bound(drv_server *s, const char *ns, const char *sa, const json_t *ref, const char **kind,
                           const char **name, char **bound_uid)
{
  *kind = *name = NULL;
  *bound_uid = NULL;
  if (!ref || json_is_null(ref)) return NULL;
  if (!json_is_object(ref)) return invalid(sa, "spec.boundObjectRef", "FieldValueInvalid", "Invalid value: must be an object");
  const char *av = json_string_value(json_object_get(ref, "apiVersion"));
  const char *k = json_string_value(json_object_get(ref, "kind"));
  const char *n = json_string_value(json_object_get(ref, "name"));
  const char *uid = json_string_value(json_object_get(ref, "uid"));
  if (!k || (strcmp(k, "Pod") && strcmp(k, "Secret") && strcmp(k, "Node")) || (av && *av && strcmp(av, "v1"))) {
    _cleanup_free_ char *m = drv_asprintf("cannot bind token to object of type %s, Kind=%s (spec.boundObjectRef: "
                                          "want apiVersion v1 and kind Pod, Secret or Node)",
                                          av && *av ? av : "/", k ? k : "");
    return drv_status_bad_request(m);
  }
  if (!n || !*n) return invalid(sa, "spec.boundObjectRef.name", "FieldValueRequired", "Required value");
  bool pod = !strcmp(k, "Pod"), node = !strcmp(k, "Node");
  const char *plural = pod ? "pods" : node ? "nodes" : "secrets";
  json_t *o = drv_server_stored_core(s, plural, node ? "" : ns, n);
  if (!o) return drv_status_not_found(drv_api_resource_find("", "v1", plural), n);
  json_t *st = NULL;
  const char *have = drv_obj_uid(o) ?: "";
  if (uid && *uid && strcmp(uid, have)) {
    _cleanup_free_ char *why = drv_asprintf("the UID in the bound object reference (%s) does not match the UID in "
                                            "record. The object might have been deleted and then recreated", uid);
    st = drv_status_conflict(drv_api_resource_find("", "v1", plural), n, why);
  } else if (pod && strcmp(drv_json_get_str(o, "spec.serviceAccountName") ?: "default", sa)) {
    _cleanup_free_ char *m = drv_asprintf(
        "cannot bind token for serviceaccount \"%s\" to pod running with different serviceaccount name.", sa);
    st = drv_status_bad_request(m);
  }
  if (!st) {
    *kind = k;
    *name = n;
    *bound_uid = drv_strdup(have);
  }
  json_decref(o);
  return st;
}

json_t *drv_server_token_request(drv_server *s, const char *ns, const char *sa, const json_t *body, json_t **status)
{
  json_t *st = NULL;
  const char *av = json_string_value(json_object_get(body, "apiVersion"));
  const char *kind = json_string_value(json_object_get(body, "kind"));
  json_t *spec = json_object_get(body, "spec");
  json_t *aud = json_object_get(spec, "audiences");
  json_t *exp = json_object_get(spec, "expirationSeconds");
  if (!json_is_object(body)) {
    *status = drv_status_bad_request("the body is not an authentication.k8s.io/v1 TokenRequest");
    return NULL;
  }
  const char *bkind = NULL, *bname = NULL;
  _cleanup_free_ char *buid = NULL;
  _cleanup_free_ const char **auds = NULL;
  _cleanup_free_ char *tok = NULL;
  json_t *sao = NULL;
  if ((av && *av && strcmp(av, "authentication.k8s.io/v1")) || (kind && *kind && strcmp(kind, "TokenRequest"))) {
    st = drv_status_bad_request("the body is not an authentication.k8s.io/v1 TokenRequest");
    goto out;
  }
  if (spec && !json_is_object(spec)) {
    st = invalid(sa, "spec", "FieldValueInvalid", "Invalid value: must be an object");
    goto out;
  }
  if (aud && !json_is_null(aud) && !json_is_array(aud)) {
    st = invalid(sa, "spec.audiences", "FieldValueInvalid", "Invalid value: must be a list of strings");
    goto out;
  }
  size_t naud = json_array_size(aud), i;
  json_t *a;
  json_array_foreach(aud, i, a) if (!json_is_string(a) || !*json_string_value(a))
  {
    _cleanup_free_ char *f = drv_asprintf("spec.audiences[%zu]", i);
    st = invalid(sa, f, "FieldValueInvalid", "Invalid value: must be a non-empty string");
    goto out;
  }
  long long secs = DEFAULT_EXPIRATION_S;
  if (exp && !json_is_null(exp)) {
    if (!json_is_integer(exp)) {
      st = invalid(sa, "spec.expirationSeconds", "FieldValueInvalid", "Invalid value: must be an integer");
      goto out;
    }
    secs = json_integer_value(exp);
    const char *why = secs < MIN_EXPIRATION_S ? "may not specify a duration less than 10 minutes"
                      : secs > MAX_EXPIRATION_S ? "may not specify a duration larger than 2^32 seconds"
                                                : NULL;
    if (why) {
      _cleanup_free_ char *m = drv_asprintf("Invalid value: %lld: %s", secs, why);
      st = invalid(sa, "spec.expirationSeconds", "FieldValueInvalid", m);
      goto out;
    }
  }
  sao = drv_server_stored_core(s, "serviceaccounts", ns, sa);
  if (!sao || drv_obj_deletion_timestamp(sao)) {
    st = drv_status_not_found(drv_api_resource_find("", "v1", "serviceaccounts"), sa);
    goto out;
  }
  if ((st = check_bound(s, ns, sa, json_object_get(spec, "boundObjectRef"), &bkind, &bname, &buid))) goto out;
  auds = drv_calloc(naud + 2, sizeof *auds);
  json_array_foreach(aud, i, a) auds[i] = json_string_value(a);
  if (!naud) auds[0] = DRV_SA_ISSUER; /* the API server's own audience */
  long long now = (long long)time(NULL);
  drv_satoken t = {.ns = ns, .sa = sa, .sa_uid = drv_obj_uid(sao), .bound_kind = bkind, .bound_name = bname,
                   .bound_uid = buid, .audiences = auds, .iat = now, .exp = now + secs};
  drv_err err = {0};
  tok = drv_satoken_mint(s->sa_key, DRV_SA_ISSUER, &t, &err);
  if (!tok) {
    st = drv_status_internal(err.msg);
    goto out;
  }
  char ts[64];
  drv_api_time_format((time_t)t.exp, ts, sizeof ts);
  json_t *outaud = json_array();
  for (const char *const *p = auds; *p; p++) json_array_append_new(outaud, json_string(*p));
  json_t *ospec = json_pack("{s:o, s:I, s:n}", "audiences", outaud, "expirationSeconds", (json_int_t)secs,
                            "boundObjectRef");
  if (bkind)
    json_object_set_new(ospec, "boundObjectRef",
                        json_pack("{s:s, s:s, s:s, s:s}", "kind", bkind, "apiVersion", "v1", "name", bname, "uid", buid));
  json_t *resp = json_pack("{s:s, s:s, s:{s:s, s:s, s:n}, s:o, s:{s:s, s:s}}", "kind", "TokenRequest", "apiVersion",
                           "authentication.k8s.io/v1", "metadata", "name", sa, "namespace", ns, "creationTimestamp",
                           "spec", ospec, "status", "token", tok, "expirationTimestamp", ts);
  json_decref(sao);
  return resp;
out:
  json_decref(sao);
  *status = st;
  return NULL;
}

enum MHD_Result drv_serve_token_request(drv_req *r)
{
  if (strcmp(r->method, "POST")) return drv_respond_status(r, drv_status_method_not_allowed(&treq_res, r->method));
  json_t *st = NULL;
  json_t *body = drv_req_body_object(r, &st);
  if (!body) return drv_respond_status(r, st);
  json_t *resp = drv_server_token_request(r->srv, r->route.ns, r->route.name, body, &st);
  json_decref(body);
  return resp ? drv_respond_json(r, 201, resp) : drv_respond_status(r, st);
}

enum MHD_Result drv_serve_token_review(drv_req *r, json_t *body)
{
  drv_server *s = r->srv;
  const drv_api_resource *res = drv_api_resource_find("authentication.k8s.io", "v1", "tokenreviews");
  const char *tok = drv_json_get_str(body, "spec.token");
  json_t *aud = drv_json_get(body, "spec.audiences");
  if (!tok || !*tok) {
    json_decref(body);
    json_t *causes = json_array();
    json_array_append_new(causes, drv_status_cause("FieldValueRequired", "Required value: token must not be empty",
                                                   "spec.token"));
    return drv_respond_status(r, drv_status_invalid(res, "", causes));
  }
  /* spec.audiences: the token must be meant for one of them (an outside service checks the
   * tokens minted for it this way); none asked: the server's own */
  if (aud && !json_is_null(aud) && !json_is_array(aud)) {
    json_decref(body);
    json_t *causes = json_array();
    json_array_append_new(causes, drv_status_cause("FieldValueInvalid", "Invalid value: must be a list of strings",
                                                   "spec.audiences"));
    return drv_respond_status(r, drv_status_invalid(res, "", causes));
  }
  drv_auth_user u = {0};
  drv_err err = {0};
  bool ok = false;
  const char *matched = DRV_SA_ISSUER;
  size_t i, n = json_array_size(aud);
  if (drv_jwt_shaped(tok)) {
    for (i = 0; i < (n ? n : 1) && !ok && s->sa_key; i++) {
      const char *want = n ? json_string_value(json_array_get(aud, i)) : DRV_SA_ISSUER;
      drv_satoken_claims c;
      lookup_ctx lc = {.s = s};
      if (!want) continue;
      if (!strcmp(want, DRV_SA_ISSUER)) {
        ok = check_token(s, tok, &u, &err) == 0; /* the server's own: cached as for requests */
      } else {
        ok = drv_satoken_verify(s->sa_key, DRV_SA_ISSUER, want, tok, &c, &err) == 0 &&
             drv_satoken_check(&c, (long long)time(NULL), has_object, &lc, &u, &err) == 0;
      }
      if (ok) matched = want;
    }
  } else {
    /* a static token is for this server only */
    bool ours = !n;
    json_t *a;
    json_array_foreach(aud, i, a) ours |= json_is_string(a) && !strcmp(json_string_value(a), DRV_SA_ISSUER);
    if (!(ok = ours && drv_auth_check(s->auth, tok, &u))) drv_error(&err, EINVAL, "the token is not known");
  }
  json_t *status;
  if (ok) {
    status = json_pack("{s:b, s:o, s:[s]}", "authenticated", 1, "user", drv_server_user_info(&u), "audiences", matched);
  } else {
    drv_log_debug("token review: %s", err.msg);
    status = json_pack("{s:b, s:s}", "authenticated", 0, "error", "[invalid bearer token, token lookup failed]");
  }
  json_object_set_new(body, "status", status);
  json_object_set_new(body, "apiVersion", json_string("authentication.k8s.io/v1"));
  json_object_set_new(body, "kind", json_string("TokenReview"));
  if (!json_is_object(json_object_get(body, "metadata"))) json_object_set_new(body, "metadata", json_object());
  return drv_respond_json(r, 201, body);
}
