/* Projected serviceAccountToken sources, as kubelet's token manager serves them: a token for
 * the pod's service account, bound to the pod (TokenRequest through the API with the node's
 * credentials), kept per pod and source, and requested again once 80% of its lifetime has
 * passed (or after 24 hours), so the file the pod reads is always valid. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "agent/internal.h"
#include "api/object.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"

#define DEFAULT_EXPIRATION_S 3600
#define MAX_AGE_MS (24LL * 3600 * 1000)
/* A failed request is not repeated sooner than this (each sync would ask again). */
#define RETRY_MS 1000

/* Where the tokens live: beside the volumes' digests, under a key no volume name can take. */
#define CACHE_KEY "..tokens"

static long long wall_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static json_t *cache_of(drv_pod *p)
{
  if (!p->vols) p->vols = json_object();
  json_t *c = json_object_get(p->vols, CACHE_KEY);
  if (!c) {
    c = json_object();
    json_object_set_new(p->vols, CACHE_KEY, c);
  }
  return c;
}

/* Asks the API server for a token; *exp_ms gets its expiry (wall clock). */
static char *request_token(drv_agent *a, drv_pod *p, const char *audience, long long secs, long long *exp_ms,
                           drv_err *err)
{
  const char *sa = drv_json_get_str(p->obj, "spec.serviceAccountName");
  if (!sa || !*sa) sa = "default";
  json_t *spec = json_pack("{s:I, s:{s:s, s:s, s:s, s:s}}", "expirationSeconds", (json_int_t)secs, "boundObjectRef",
                           "apiVersion", "v1", "kind", "Pod", "name", p->name, "uid", p->uid);
  if (audience && *audience) json_object_set_new(spec, "audiences", json_pack("[s]", audience));
  json_t *body = json_pack("{s:s, s:s, s:{s:s, s:s}, s:o}", "apiVersion", "authentication.k8s.io/v1", "kind",
                           "TokenRequest", "metadata", "name", sa, "namespace", p->ns, "spec", spec);
  drv_api_ref ref = {.version = "v1", .resource = "serviceaccounts", .ns = p->ns, .name = sa, .subresource = "token"};
  json_t *out = NULL;
  int rc = drv_api_create(a->api, &ref, body, &out, err);
  json_decref(body);
  if (rc < 0) {
    drv_err_prefix(err, "failed to fetch token");
    return NULL;
  }
  const char *tok = drv_json_get_str(out, "status.token");
  const char *ets = drv_json_get_str(out, "status.expirationTimestamp");
  time_t exp;
  char *res = NULL;
  if (!tok || !*tok || !ets || drv_api_time_parse(ets, &exp) < 0) {
    drv_error(err, EPROTO, "failed to fetch token: the TokenRequest answer has no status.token and expirationTimestamp");
  } else {
    res = drv_strdup(tok);
    *exp_ms = (long long)exp * 1000;
  }
  json_decref(out);
  return res;
}

int drv_pod_sa_token(drv_agent *a, drv_pod *p, const json_t *src, const char **token, long long *issued_ms,
                     drv_err *err)
{
  const char *audience = json_string_value(json_object_get(src, "audience"));
  json_t *es = json_object_get(src, "expirationSeconds");
  long long secs = json_is_integer(es) ? json_integer_value(es) : DEFAULT_EXPIRATION_S;
  char key[600];
  snprintf(key, sizeof key, "%lld|%.500s", secs, audience ? audience : "");
  json_t *cache = cache_of(p);
  json_t *ent = json_object_get(cache, key);
  long long now = wall_ms();
  long long refresh = drv_json_get_int(ent, "refresh", 0), failed = drv_json_get_int(ent, "failed", 0);
  const char *have = json_string_value(json_object_get(ent, "token"));
  if (have && now < refresh) {
    *token = have;
    *issued_ms = drv_json_get_int(ent, "issued", 0);
    return 0;
  }
  if (failed && now - failed < RETRY_MS && !have)
    return drv_error(err, EAGAIN, "%s", json_string_value(json_object_get(ent, "error")) ?: "failed to fetch token");
  long long exp_ms = 0;
  _cleanup_free_ char *tok = request_token(a, p, audience, secs, &exp_ms, err);
  if (!tok) {
    if (have && now < drv_json_get_int(ent, "expires", 0)) {
      /* the token in place is still valid: keep it, ask again shortly */
      drv_log_warn("pod %s/%s: %s (the current token stays until it expires)", p->ns, p->name, err->msg);
      json_object_set_new(ent, "refresh", json_integer(now + RETRY_MS));
      *token = have;
      *issued_ms = drv_json_get_int(ent, "issued", 0);
      return 0;
    }
    json_object_set_new(cache, key, json_pack("{s:I, s:s}", "failed", (json_int_t)now, "error", err->msg));
    return -1;
  }
  long long life = exp_ms - now;
  long long at = now + (life > 0 ? life * 8 / 10 : 0);
  if (at > now + MAX_AGE_MS) at = now + MAX_AGE_MS;
  json_object_set_new(cache, key, json_pack("{s:s, s:I, s:I, s:I}", "token", tok, "issued", (json_int_t)now, "refresh",
                                            (json_int_t)at, "expires", (json_int_t)exp_ms));
  ent = json_object_get(cache, key);
  *token = json_string_value(json_object_get(ent, "token"));
  *issued_ms = now;
  return 0;
}
