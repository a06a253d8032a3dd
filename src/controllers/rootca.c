/* Root CA publisher, as Kubernetes' controller manager runs it: every active namespace has the
 * ConfigMap kube-root-ca.crt whose ca.crt is the cluster CA (--root-ca-file), which the
 * kube-api-access volumes of pods read. Deleted or edited, it is written back. */
#include <string.h>

#include "api/object.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/log.h"
#include "controllers/internal.h"

#define NAME "kube-root-ca.crt"

static const char description[] =
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such "
    "as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across "
    "distributions of Kubernetes clusters.";

int drv_ctl_rootca_sync(drv_ctl *ctl, const char *ns)
{
  if (!ctl_namespace_active(ctl, ns)) return 0;
  json_t *cm = drv_informer_get(ctl->rootca_cm, ns, NAME);
  const char *have = drv_json_get_str(cm, "data.ca.crt");
  drv_api_ref r = {.version = "v1", .resource = "configmaps", .ns = ns};
  drv_err err;
  int rc = 0;
  if (!cm) {
    json_t *obj = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:{s:s}}", "apiVersion", "v1", "kind",
                            "ConfigMap", "metadata", "name", NAME, "namespace", ns, "annotations",
                            "kubernetes.io/description", description, "data", "ca.crt", ctl->root_ca);
    rc = drv_api_create(ctl->c, &r, obj, NULL, &err);
    json_decref(obj);
    /* 409: written meanwhile (the server writes it with the namespace); 403: terminating */
    if (rc == DRV_API_ECONFLICT || rc == DRV_API_EFORBIDDEN) rc = 0;
  } else if (!have || strcmp(have, ctl->root_ca) || json_object_size(json_object_get(cm, "data")) != 1) {
    json_t *upd = json_deep_copy(cm);
    json_object_set_new(upd, "data", json_pack("{s:s}", "ca.crt", ctl->root_ca));
    r.name = NAME;
    rc = drv_api_update(ctl->c, &r, upd, NULL, &err);
    json_decref(upd);
    if (rc == DRV_API_ENOTFOUND) rc = 0; /* deleted meanwhile: its event brings it back */
  }
  json_decref(cm);
  if (rc < 0) {
    drv_log_debug("root-ca-cert-publisher: %s/" NAME ": %s", ns, err.msg);
    return -1;
  }
  return 0;
}

static void cm_changed(void *ud, json_t *o)
{
  drv_ctl *ctl = ud;
  const char *ns = drv_obj_namespace(o);
  if (ns) drv_workqueue_add(ctl->rootca.q, ns);
}

static void cm_upd(void *ud, json_t *old, json_t *o)
{
  (void)old;
  cm_changed(ud, o);
}

int drv_ctl_rootca_init(drv_ctl *ctl, drv_err *err)
{
  if (!ctl->o.root_ca_file) return 0;
  size_t len;
  if (drv_read_file(ctl->o.root_ca_file, 1 << 20, &ctl->root_ca, &len, err) < 0)
    return drv_err_prefix(err, "--root-ca-file");
  ctl->rootca_cm = drv_informer_new(ctl->c, &(drv_api_ref){.version = "v1", .resource = "configmaps"}, NULL,
                                    "metadata.name=" NAME);
  ctl_enqueue_active_namespaces(&ctl->rootca);
  drv_informer_add_handlers(ctl->rootca_cm, &(drv_informer_handlers){NULL, cm_upd, cm_changed, ctl});
  return 0;
}
