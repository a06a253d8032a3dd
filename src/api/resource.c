/* The served resources (see resource.h). Short names and categories follow what a
 * Kubernetes 1.32 API server lists, so `kubectl get po,deploy` and `kubectl get all` work. */
#include "api/resource.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define NAMES(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NONE ((const char *const[]){NULL})
#define ALL NAMES("all")
#define RW DRV_VERBS_ALL
#define RW_NO_DC (DRV_VERBS_ALL & ~DRV_VERB_DELETECOLLECTION)

static const drv_api_resource resources[] = {
    /* core/v1 */
    {"", "v1", "Namespace", "NamespaceList", "namespaces", "namespace", NAMES("ns"), NONE, false,
     RW_NO_DC, DRV_SUB_STATUS | DRV_SUB_FINALIZE, "", "v1", true},
    {"", "v1", "Node", "NodeList", "nodes", "node", NAMES("no"), NONE, false, RW, DRV_SUB_STATUS,
     "", "v1", true},
    {"", "v1", "Pod", "PodList", "pods", "pod", NAMES("po"), ALL, true, RW,
     DRV_SUB_STATUS | DRV_SUB_BINDING | DRV_SUB_EVICTION | DRV_SUB_LOG | DRV_SUB_EXEC |
         DRV_SUB_ATTACH | DRV_SUB_PORTFORWARD,
     "", "v1", true},
    {"", "v1", "Service", "ServiceList", "services", "service", NAMES("svc"), ALL, true, RW,
     DRV_SUB_STATUS, "", "v1", true},
    {"", "v1", "Endpoints", "EndpointsList", "endpoints", "endpoints", NAMES("ep"), NONE, true, RW,
     0, "", "v1", true},
    {"", "v1", "ConfigMap", "ConfigMapList", "configmaps", "configmap", NAMES("cm"), NONE, true, RW,
     0, "", "v1", true},
    {"", "v1", "Secret", "SecretList", "secrets", "secret", NONE, NONE, true, RW, 0, "", "v1", true},
    {"", "v1", "ServiceAccount", "ServiceAccountList", "serviceaccounts", "serviceaccount",
     NAMES("sa"), NONE, true, RW, DRV_SUB_TOKEN, "", "v1", true},
    {"", "v1", "Event", "EventList", "events", "event", NAMES("ev"), NONE, true, RW, 0, "", "v1",
     true},
    /* apps/v1 */
    {"apps", "v1", "Deployment", "DeploymentList", "deployments", "deployment", NAMES("deploy"),
     ALL, true, RW, DRV_SUB_STATUS | DRV_SUB_SCALE, "apps", "v1", true},
    {"apps", "v1", "ReplicaSet", "ReplicaSetList", "replicasets", "replicaset", NAMES("rs"), ALL,
     true, RW, DRV_SUB_STATUS | DRV_SUB_SCALE, "apps", "v1", true},
    /* events.k8s.io/v1: a view of core Events */
    {"events.k8s.io", "v1", "Event", "EventList", "events", "event", NAMES("ev"), NONE, true, RW, 0,
     "", "v1", true},
    /* autoscaling: v2 preferred and stored */
    {"autoscaling", "v2", "HorizontalPodAutoscaler", "HorizontalPodAutoscalerList",
     "horizontalpodautoscalers", "horizontalpodautoscaler", NAMES("hpa"), ALL, true, RW,
     DRV_SUB_STATUS, "autoscaling", "v2", true},
    {"autoscaling", "v1", "HorizontalPodAutoscaler", "HorizontalPodAutoscalerList",
     "horizontalpodautoscalers", "horizontalpodautoscaler", NAMES("hpa"), ALL, true, RW,
     DRV_SUB_STATUS, "autoscaling", "v2", true},
    {"coordination.k8s.io", "v1", "Lease", "LeaseList", "leases", "lease", NONE, NONE, true, RW, 0,
     "coordination.k8s.io", "v1", true},
    {"discovery.k8s.io", "v1", "EndpointSlice", "EndpointSliceList", "endpointslices",
     "endpointslice", NONE, NONE, true, RW, 0, "discovery.k8s.io", "v1", true},
    /* rbac.authorization.k8s.io/v1 */
    {"rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "ClusterRoleBindingList",
     "clusterrolebindings", "clusterrolebinding", NONE, NONE, false, RW, 0,
     "rbac.authorization.k8s.io", "v1", true},
    {"rbac.authorization.k8s.io", "v1", "ClusterRole", "ClusterRoleList", "clusterroles",
     "clusterrole", NONE, NONE, false, RW, 0, "rbac.authorization.k8s.io", "v1", true},
    {"rbac.authorization.k8s.io", "v1", "RoleBinding", "RoleBindingList", "rolebindings",
     "rolebinding", NONE, NONE, true, RW, 0, "rbac.authorization.k8s.io", "v1", true},
    {"rbac.authorization.k8s.io", "v1", "Role", "RoleList", "roles", "role", NONE, NONE, true, RW,
     0, "rbac.authorization.k8s.io", "v1", true},
    /* authorization.k8s.io, authentication.k8s.io: reviews, answered and never stored */
    {"authorization.k8s.io", "v1", "LocalSubjectAccessReview", "LocalSubjectAccessReviewList",
     "localsubjectaccessreviews", "localsubjectaccessreview", NONE, NONE, true, DRV_VERB_CREATE, 0,
     "authorization.k8s.io", "v1", false},
    {"authorization.k8s.io", "v1", "SelfSubjectAccessReview", "SelfSubjectAccessReviewList",
     "selfsubjectaccessreviews", "selfsubjectaccessreview", NONE, NONE, false, DRV_VERB_CREATE, 0,
     "authorization.k8s.io", "v1", false},
    {"authorization.k8s.io", "v1", "SelfSubjectRulesReview", "SelfSubjectRulesReviewList",
     "selfsubjectrulesreviews", "selfsubjectrulesreview", NONE, NONE, false, DRV_VERB_CREATE, 0,
     "authorization.k8s.io", "v1", false},
    {"authorization.k8s.io", "v1", "SubjectAccessReview", "SubjectAccessReviewList",
     "subjectaccessreviews", "subjectaccessreview", NONE, NONE, false, DRV_VERB_CREATE, 0,
     "authorization.k8s.io", "v1", false},
    {"authentication.k8s.io", "v1", "SelfSubjectReview", "SelfSubjectReviewList",
     "selfsubjectreviews", "selfsubjectreview", NONE, NONE, false, DRV_VERB_CREATE, 0,
     "authentication.k8s.io", "v1", false},
    {"authentication.k8s.io", "v1", "TokenReview", "TokenReviewList", "tokenreviews",
     "tokenreview", NONE, NONE, false, DRV_VERB_CREATE, 0, "authentication.k8s.io", "v1", false},
    /* metrics.k8s.io: computed from what agents report, read-only */
    {"metrics.k8s.io", "v1beta1", "NodeMetrics", "NodeMetricsList", "nodes", "", NONE, NONE, false,
     DRV_VERBS_READ, 0, "metrics.k8s.io", "v1beta1", false},
    {"metrics.k8s.io", "v1beta1", "PodMetrics", "PodMetricsList", "pods", "", NONE, NONE, true,
     DRV_VERBS_READ, 0, "metrics.k8s.io", "v1beta1", false},
};

const drv_api_resource *drv_api_resources(size_t *n)
{
  *n = sizeof(resources) / sizeof(resources[0]);
  return resources;
}

#define FOREACH(r) for (const drv_api_resource *r = resources; r < resources + sizeof(resources) / sizeof(resources[0]); r++)

const drv_api_resource *drv_api_resource_find(const char *group, const char *version,
                                              const char *plural)
{
  if (!group) group = "";
  FOREACH(r)
  if (strcmp(r->group, group) == 0 && strcmp(r->version, version) == 0 &&
      strcmp(r->plural, plural) == 0)
    return r;
  return NULL;
}

const drv_api_resource *drv_api_resource_by_gvk(const char *group, const char *version,
                                                const char *kind)
{
  if (!group) group = "";
  FOREACH(r)
  if (strcmp(r->group, group) == 0 && strcmp(r->version, version) == 0 &&
      strcmp(r->kind, kind) == 0)
    return r;
  return NULL;
}

int drv_api_split_api_version(const char *api_version, char *group, char *version, size_t size)
{
  if (!api_version || !*api_version) return -1;
  const char *slash = strchr(api_version, '/');
  if (!slash) {
    if (strlen(api_version) >= size) return -1;
    group[0] = '\0';
    strcpy(version, api_version);
    return 0;
  }
  size_t gl = (size_t)(slash - api_version);
  if (gl == 0 || gl >= size || strlen(slash + 1) >= size || !slash[1] || strchr(slash + 1, '/'))
    return -1;
  memcpy(group, api_version, gl);
  group[gl] = '\0';
  strcpy(version, slash + 1);
  return 0;
}

const drv_api_resource *drv_api_resource_by_kind(const char *api_version, const char *kind)
{
  char g[128], v[128];
  if (!kind || drv_api_split_api_version(api_version, g, v, sizeof(g)) < 0) return NULL;
  return drv_api_resource_by_gvk(g, v, kind);
}

static bool in_names(const char *const *names, const char *s)
{
  for (; *names; names++)
    if (strcasecmp(*names, s) == 0) return true;
  return false;
}

const drv_api_resource *drv_api_resource_lookup(const char *name)
{
  char base[128];
  const char *group = NULL;
  const char *dot = strchr(name, '.');
  if (dot) {
    size_t n = (size_t)(dot - name);
    if (n >= sizeof(base)) return NULL;
    memcpy(base, name, n);
    base[n] = '\0';
    group = dot + 1;
  } else {
    snprintf(base, sizeof(base), "%s", name);
  }
  /* First pass: plural/singular/short name; second: kind (kubectl's own order). The core
   * group wins over events.k8s.io and metrics.k8s.io for unqualified names. */
  for (int pass = 0; pass < 2; pass++) {
    FOREACH(r)
    {
      if (group ? strcasecmp(r->group, group) != 0 : (r->group[0] && strcmp(r->group, "apps") &&
                                                      strcmp(r->group, "autoscaling") &&
                                                      strcmp(r->group, "coordination.k8s.io") &&
                                                      strcmp(r->group, "discovery.k8s.io") &&
                                                      strcmp(r->group, "rbac.authorization.k8s.io")))
        continue;
      bool hit = pass == 0 ? (strcasecmp(r->plural, base) == 0 ||
                              (r->singular[0] && strcasecmp(r->singular, base) == 0) ||
                              in_names(r->short_names, base))
                           : strcasecmp(r->kind, base) == 0;
      if (hit) return r;
    }
  }
  return NULL;
}

const drv_api_resource *drv_api_resource_storage(const drv_api_resource *res)
{
  const drv_api_resource *s = drv_api_resource_find(res->storage_group, res->storage_version,
                                                    res->plural);
  return s ? s : res;
}

const char *drv_api_resource_api_version(const drv_api_resource *res, char *buf, size_t size)
{
  if (res->group[0]) snprintf(buf, size, "%s/%s", res->group, res->version);
  else snprintf(buf, size, "%s", res->version);
  return buf;
}

const char *drv_api_resource_qualified(const drv_api_resource *res, char *buf, size_t size)
{
  if (res->group[0]) snprintf(buf, size, "%s.%s", res->plural, res->group);
  else snprintf(buf, size, "%s", res->plural);
  return buf;
}

static const char *const group_versions[] = {"v1",
                                             "apps/v1",
                                             "events.k8s.io/v1",
                                             "autoscaling/v2",
                                             "autoscaling/v1",
                                             "coordination.k8s.io/v1",
                                             "discovery.k8s.io/v1",
                                             "rbac.authorization.k8s.io/v1",
                                             "authorization.k8s.io/v1",
                                             "authentication.k8s.io/v1",
                                             "metrics.k8s.io/v1beta1",
                                             NULL};

const char *const *drv_api_group_versions(void) { return group_versions; }

const char *drv_api_group_preferred_version(const char *group)
{
  if (!group) group = "";
  FOREACH(r)
  if (strcmp(r->group, group) == 0) return r->version;
  return NULL;
}

static const char *const sub_names[] = {"status", "scale", "binding", "eviction",
                                        "log",    "exec",  "attach",  "finalize", "portforward", "token"};
static const char *const verb_names[] = {"create", "delete", "deletecollection", "get",
                                         "list",   "patch",  "update",           "watch"};

const char *drv_api_subresource_name(unsigned bit)
{
  for (unsigned i = 0; i < sizeof sub_names / sizeof *sub_names; i++)
    if (bit == 1u << i) return sub_names[i];
  return NULL;
}

unsigned drv_api_subresource_bit(const char *name)
{
  for (unsigned i = 0; i < sizeof sub_names / sizeof *sub_names; i++)
    if (strcmp(sub_names[i], name) == 0) return 1u << i;
  return 0;
}

unsigned drv_api_verb_bit(const char *name)
{
  for (unsigned i = 0; i < 8; i++)
    if (strcmp(verb_names[i], name) == 0) return 1u << i;
  return 0;
}

const char *drv_api_verb_name(unsigned bit)
{
  for (unsigned i = 0; i < 8; i++)
    if (bit == 1u << i) return verb_names[i];
  return NULL;
}
