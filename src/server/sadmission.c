/* ServiceAccount admission, as kube-apiserver's plugin does it on pod create: the pod's
 * service account must exist (403 "error looking up service account" otherwise), and unless
 * automountServiceAccountToken is false (pod, else service account) the pod gets the
 * kube-api-access-XXXXX projected volume (a bound token, the cluster CA from the
 * kube-root-ca.crt ConfigMap, the namespace) mounted read-only at
 * /var/run/secrets/kubernetes.io/serviceaccount in every container and init container; a pod
 * naming no imagePullSecrets gets the service account's.
 *
 * Also what every namespace holds for it: the `default` ServiceAccount and the
 * kube-root-ca.crt ConfigMap, written when a namespace is created (and for the namespaces
 * there at start), so a server without the control loops serves pods too; the
 * serviceaccount and rootca controllers put them back when they are deleted. */
#include <errno.h>
#include <openssl/rand.h>
#include <string.h>
#include <unistd.h>

#include "api/object.h"
#include "api/status.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "server/internal.h"
#include "server/ops.h"

#define SA_MOUNT_PATH "/var/run/secrets/kubernetes.io/serviceaccount"
#define ROOT_CA_CONFIGMAP "kube-root-ca.crt"
#define TOKEN_EXPIRATION_S 3607 /* kube's: an hour and 7 s, so such tokens are recognized */

/* kube's utilrand.String alphabet: no vowels, no look-alikes. */
static void random_suffix(char out[6])
{
  static const char alpha[] = "bcdfghjklmnpqrstvwxz2456789";
  unsigned char r[5];
  if (RAND_bytes(r, sizeof r) != 1)
    for (int i = 0; i < 5; i++) r[i] = (unsigned char)(drv_now_ns() >> (i * 5));
  for (int i = 0; i < 5; i++) out[i] = alpha[r[i] % (sizeof alpha - 1)];
  out[5] = 0;
}

static bool has_volume(const json_t *spec, const char *name)
{
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(spec, "volumes"), i, v)
  {
    const char *n = json_string_value(json_object_get(v, "name"));
    if (n && !strcmp(n, name)) return true;
  }
  return false;
}

/* A container already mounting something at the token path keeps it (as kube does). */
static bool mounts_token_path(const json_t *spec)
{
  const char *lists[] = {"containers", "initContainers"};
  for (size_t l = 0; l < 2; l++) {
    size_t i, j;
    json_t *c, *m;
    json_array_foreach(json_object_get(spec, lists[l]), i, c) json_array_foreach(json_object_get(c, "volumeMounts"), j, m)
    {
      const char *p = json_string_value(json_object_get(m, "mountPath"));
      if (p && !strcmp(p, SA_MOUNT_PATH)) return true;
    }
  }
  return false;
}

static void add_token_volume(json_t *spec)
{
  char suffix[6], name[32];
  do {
    random_suffix(suffix);
    snprintf(name, sizeof name, "kube-api-access-%s", suffix);
  } while (has_volume(spec, name));
  json_t *vol = json_pack(
      "{s:s, s:{s:i, s:[{s:{s:i, s:s}}, {s:{s:s, s:[{s:s, s:s}]}}, {s:{s:[{s:s, s:{s:s, s:s}}]}}]}}", "name", name,
      "projected", "defaultMode", 0644, "sources", "serviceAccountToken", "expirationSeconds", TOKEN_EXPIRATION_S,
      "path", "token", "configMap", "name", ROOT_CA_CONFIGMAP, "items", "key", "ca.crt", "path", "ca.crt",
      "downwardAPI", "items", "path", "namespace", "fieldRef", "apiVersion", "v1", "fieldPath", "metadata.namespace");
  json_t *vols = json_object_get(spec, "volumes");
  if (!json_is_array(vols)) {
    vols = json_array();
    json_object_set_new(spec, "volumes", vols);
  }
  json_array_append_new(vols, vol);
  const char *lists[] = {"containers", "initContainers"};
  for (size_t l = 0; l < 2; l++) {
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(spec, lists[l]), i, c)
    {
      if (!json_is_object(c)) continue;
      json_t *mounts = json_object_get(c, "volumeMounts");
      if (!json_is_array(mounts)) {
        mounts = json_array();
        json_object_set_new(c, "volumeMounts", mounts);
      }
      json_array_append_new(mounts, json_pack("{s:s, s:b, s:s}", "name", name, "readOnly", 1, "mountPath", SA_MOUNT_PATH));
    }
  }
}

json_t *drv_server_pod_sa_admit(drv_server *s, const drv_api_resource *res, const char *ns, json_t *pod)
{
  json_t *spec = json_object_get(pod, "spec");
  if (!json_is_object(spec)) return NULL; /* validation names what is missing */
  const char *sa_name = json_string_value(json_object_get(spec, "serviceAccountName"));
  if (!sa_name || !*sa_name) {
    json_object_set_new(spec, "serviceAccountName", json_string("default"));
    sa_name = "default";
  }
  if (!json_is_string(json_object_get(spec, "serviceAccount")))
    json_object_set_new(spec, "serviceAccount", json_string(sa_name));
  json_t *sa = drv_server_stored_core(s, "serviceaccounts", ns, sa_name);
  /* the serviceaccount controller makes `default` soon after its namespace: wait for it a
   * little, as kube's plugin does (10 tries) */
  for (int i = 0; !sa && !strcmp(sa_name, "default") && i < 10; i++) {
    usleep(100 * 1000);
    sa = drv_server_stored_core(s, "serviceaccounts", ns, sa_name);
  }
  if (!sa) {
    _cleanup_free_ char *why = drv_asprintf("error looking up service account %s/%s: serviceaccount \"%s\" not found",
                                            ns, sa_name, sa_name);
    return drv_status_forbidden(res, drv_obj_name(pod), why);
  }
  /* the service account's image pull secrets, for a pod that names none */
  json_t *ips = json_object_get(sa, "imagePullSecrets");
  if (json_array_size(ips) && !json_array_size(json_object_get(spec, "imagePullSecrets"))) {
    json_t *copy = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(ips, i, e)
    {
      const char *n = json_string_value(json_object_get(e, "name"));
      if (n && *n) json_array_append_new(copy, json_pack("{s:s}", "name", n));
    }
    json_object_set_new(spec, "imagePullSecrets", copy);
  }
  json_t *pa = json_object_get(spec, "automountServiceAccountToken");
  json_t *sa_auto = json_object_get(sa, "automountServiceAccountToken");
  bool mount = json_is_boolean(pa) ? json_is_true(pa) : !json_is_false(sa_auto);
  json_decref(sa);
  if (mount && !mounts_token_path(spec)) add_token_volume(spec);
  return NULL;
}

/* ---- what every namespace holds ---- */

static int create_missing(drv_server *s, const char *plural, const char *ns, json_t *obj, drv_err *err)
{
  json_t *have = drv_server_stored_core(s, plural, ns, drv_obj_name(obj));
  if (have) {
    json_decref(have);
    return 0;
  }
  const drv_api_resource *res = drv_api_resource_find("", "v1", plural);
  drv_op op = {.res = res, .sres = res, .ns = ns, .fv = DRV_FV_IGNORE};
  drv_store_obj *out = NULL;
  json_t *st = NULL;
  int rc = drv_op_create(s, &op, obj, &out, &st);
  drv_store_obj_unref(out);
  int code = st ? drv_status_code(st) : 0;
  /* 409: written meanwhile (a controller); 403/404: the namespace is going or gone */
  if (rc < 0 && code != 409 && code != 403 && code != 404) {
    drv_error(err, EIO, "create %s %s/%s: %s", res->kind, ns, drv_obj_name(obj),
              json_string_value(json_object_get(st, "message")) ?: "failed");
    json_decref(st);
    return -1;
  }
  json_decref(st);
  return 0;
}

int drv_server_namespace_defaults(drv_server *s, const char *ns, drv_err *err)
{
  json_t *sa = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "v1", "kind", "ServiceAccount", "metadata", "name",
                         "default", "namespace", ns);
  int rc = create_missing(s, "serviceaccounts", ns, sa, err);
  json_decref(sa);
  if (rc < 0) return -1;
  _cleanup_free_ char *path = drv_asprintf("%s/ca.crt", s->data_dir);
  _cleanup_free_ char *ca = NULL;
  size_t len;
  if (drv_read_file(path, 1 << 20, &ca, &len, err) < 0) return drv_err_prefix(err, "publish the cluster CA");
  json_t *cm = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
                         "metadata", "name", ROOT_CA_CONFIGMAP, "namespace", ns, "annotations",
                         "kubernetes.io/description",
                         "Contains a CA bundle that can be used to verify the kube-apiserver when using internal "
                         "endpoints such as the internal service IP or kubernetes.default.svc. No other usage is "
                         "guaranteed across distributions of Kubernetes clusters.",
                         "data", "ca.crt", ca);
  rc = create_missing(s, "configmaps", ns, cm, err);
  json_decref(cm);
  return rc;
}

int drv_server_namespace_defaults_all(drv_server *s, drv_err *err)
{
  const drv_api_resource *res = drv_api_resource_find("", "v1", "namespaces");
  _cleanup_free_ char *prefix = drv_server_prefix(res, "");
  drv_store_list l;
  drv_store_list_prefix(s->store, prefix, NULL, 0, NULL, NULL, &l);
  int rc = 0;
  for (size_t i = 0; i < l.n && rc == 0; i++) {
    json_t *o = json_loadb(l.items[i]->data, l.items[i]->len, 0, NULL);
    if (o && !drv_obj_deletion_timestamp(o)) rc = drv_server_namespace_defaults(s, drv_obj_name(o), err);
    json_decref(o);
  }
  drv_store_list_free(&l);
  return rc;
}
