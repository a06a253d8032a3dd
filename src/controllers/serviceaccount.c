/* ServiceAccount controller: every active namespace has a ServiceAccount named "default", as
 * Kubernetes' controller manager keeps it, so pods and clients that name it find it. */
#include <string.h>

#include "api/object.h"
#include "common/json.h"
#include "common/log.h"
#include "controllers/internal.h"

static const drv_api_ref sa_ref = {.version = "v1", .resource = "serviceaccounts"};

int drv_ctl_serviceaccount_sync(drv_ctl *ctl, const char *ns)
{
  if (!ctl_namespace_active(ctl, ns)) return 0;
  drv_api_ref r = sa_ref;
  r.ns = ns;
  r.name = "default";
  drv_err err;
  int rc = drv_api_get(ctl->c, &r, NULL, &err);
  if (rc == 0) return 0;
  if (rc != DRV_API_ENOTFOUND) return -1;
  r.name = NULL;
  json_t *sa = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "v1", "kind", "ServiceAccount",
                         "metadata", "name", "default", "namespace", ns);
  rc = drv_api_create(ctl->c, &r, sa, NULL, &err);
  json_decref(sa);
  /* 409: created meanwhile; 403: the namespace started terminating */
  if (rc < 0 && rc != DRV_API_ECONFLICT && rc != DRV_API_EFORBIDDEN) {
    drv_log_debug("serviceaccount controller: %s/default: %s", ns, err.msg);
    return -1;
  }
  return 0;
}

void drv_ctl_serviceaccount_register(drv_ctl *ctl)
{
  ctl_enqueue_active_namespaces(&ctl->serviceaccount);
}
