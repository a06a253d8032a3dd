/* Service account token Secrets, as Kubernetes' token controller fills them: a Secret of type
 * kubernetes.io/service-account-token annotated kubernetes.io/service-account.name gets
 * data.token (a token of that service account, bound to the Secret: it stops working when the
 * Secret is deleted, and lives as long as TokenRequest allows, 2^32 s), data.namespace and
 * data["ca.crt"] (with --root-ca-file), and the annotation kubernetes.io/service-account.uid.
 * The long-lived tokens CI systems and older tools still create this way. */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "api/object.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "controllers/internal.h"

#define TYPE "kubernetes.io/service-account-token"
#define ANN_NAME "kubernetes.io/service-account.name"
#define ANN_UID "kubernetes.io/service-account.uid"
#define LIFETIME_S 4294967296LL /* the longest TokenRequest grants */
#define SA_MISSING_RETRY_MS 5000

static char *b64(const char *s, size_t n)
{
  char *out = drv_malloc(4 * ((n + 2) / 3) + 1);
  EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
  return out;
}

/* Writes the token, namespace and CA into the Secret (sec, a copy is sent). */
static int fill(drv_ctl *ctl, const char *ns, const char *name, const json_t *sec, const char *sa_uid, const char *tok)
{
  json_t *upd = json_deep_copy(sec);
  json_t *data = json_object_get(upd, "data");
  if (!json_is_object(data)) {
    data = json_object();
    json_object_set_new(upd, "data", data);
  }
  _cleanup_free_ char *t64 = b64(tok, strlen(tok)), *n64 = b64(ns, strlen(ns));
  json_object_set_new(data, "token", json_string(t64));
  json_object_set_new(data, "namespace", json_string(n64));
  if (ctl->root_ca) {
    _cleanup_free_ char *c64 = b64(ctl->root_ca, strlen(ctl->root_ca));
    json_object_set_new(data, "ca.crt", json_string(c64));
  }
  json_object_set_new(drv_json_obj(drv_obj_meta(upd), "annotations"), ANN_UID, json_string(sa_uid ? sa_uid : ""));
  drv_api_ref sref = {.version = "v1", .resource = "secrets", .ns = ns, .name = name};
  drv_err err;
  int r = drv_api_update(ctl->c, &sref, upd, NULL, &err);
  json_decref(upd);
  /* 409: changed meanwhile (its event brings it back here); 404: deleted */
  if (r == 0 || r == DRV_API_ENOTFOUND) return 0;
  if (r != DRV_API_ECONFLICT) drv_log_warn("token controller: secret %s/%s: %s", ns, name, err.msg);
  return -1;
}

int drv_ctl_satokensecret_sync(drv_ctl *ctl, const char *key)
{
  _cleanup_free_ char *ns = NULL, *name = NULL;
  drv_api_key_split(key, &ns, &name);
  json_t *sec = drv_informer_get(ctl->tokensecrets, ns, name);
  if (!sec) return 0;
  const char *sa = json_string_value(json_object_get(drv_json_get(sec, "metadata.annotations"), ANN_NAME));
  if (!sa || !*sa || drv_obj_deletion_timestamp(sec) || json_string_length(drv_json_get(sec, "data.token"))) {
    json_decref(sec);
    return 0;
  }
  drv_api_ref saref = {.version = "v1", .resource = "serviceaccounts", .ns = ns, .name = sa};
  json_t *sao = NULL, *resp = NULL;
  drv_err err;
  int r = drv_api_get(ctl->c, &saref, &sao, &err);
  int rc = r == DRV_API_ENOTFOUND ? SA_MISSING_RETRY_MS : r < 0 ? -1 : 0; /* a missing one may come */
  if (r == 0) {
    json_t *req = json_pack("{s:s, s:s, s:{s:I, s:{s:s, s:s, s:s, s:s}}}", "apiVersion", "authentication.k8s.io/v1",
                            "kind", "TokenRequest", "spec", "expirationSeconds", (json_int_t)LIFETIME_S,
                            "boundObjectRef", "apiVersion", "v1", "kind", "Secret", "name", name, "uid",
                            drv_obj_uid(sec) ? drv_obj_uid(sec) : "");
    saref.subresource = "token";
    r = drv_api_create(ctl->c, &saref, req, &resp, &err);
    json_decref(req);
    const char *tok = drv_json_get_str(resp, "status.token");
    if (r < 0 || !tok) {
      drv_log_warn("token controller: secret %s/%s: %s", ns, name, r < 0 ? err.msg : "no token in the answer");
      rc = -1;
    } else {
      rc = fill(ctl, ns, name, sec, drv_obj_uid(sao), tok);
    }
  }
  json_decref(resp);
  json_decref(sao);
  json_decref(sec);
  return rc;
}

static void sec_add(void *ud, json_t *o)
{
  drv_ctl *ctl = ud;
  _cleanup_free_ char *key = drv_asprintf("%s/%s", drv_obj_namespace(o) ?: "", drv_obj_name(o));
  drv_workqueue_add(ctl->satokensecret.q, key);
}

static void sec_upd(void *ud, json_t *old, json_t *o)
{
  (void)old;
  sec_add(ud, o);
}

void drv_ctl_satokensecret_register(drv_ctl *ctl)
{
  ctl->tokensecrets = drv_informer_new(ctl->c, &(drv_api_ref){.version = "v1", .resource = "secrets"}, NULL,
                                       "type=" TYPE);
  drv_informer_add_handlers(ctl->tokensecrets, &(drv_informer_handlers){sec_add, sec_upd, NULL, ctl});
}
