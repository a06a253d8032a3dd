/* Schema lookups over the type tables (schema.h). */
#include <pthread.h>
#include <string.h>

#include "api/schema_types.h"

const drv_schema_type *drv_schema_for(const drv_api_resource *res)
{
  static const struct {
    const char *group, *version, *kind;
    const drv_schema_type *t;
  } map[] = {
      {"", "v1", "Pod", &drv_t_Pod},
      {"", "v1", "Namespace", &drv_t_Namespace},
      {"", "v1", "Node", &drv_t_Node},
      {"", "v1", "Service", &drv_t_Service},
      {"", "v1", "Endpoints", &drv_t_Endpoints},
      {"", "v1", "ConfigMap", &drv_t_ConfigMap},
      {"", "v1", "Secret", &drv_t_Secret},
      {"", "v1", "ServiceAccount", &drv_t_ServiceAccount},
      {"", "v1", "Event", &drv_t_Event},
      {"apps", "v1", "Deployment", &drv_t_Deployment},
      {"apps", "v1", "ReplicaSet", &drv_t_ReplicaSet},
      {"events.k8s.io", "v1", "Event", &drv_t_EventsV1Event},
      {"autoscaling", "v2", "HorizontalPodAutoscaler", &drv_t_HPAv2},
      {"autoscaling", "v1", "HorizontalPodAutoscaler", &drv_t_HPAv1},
      {"autoscaling", "v1", "Scale", &drv_t_Scale},
      {"coordination.k8s.io", "v1", "Lease", &drv_t_Lease},
      {"discovery.k8s.io", "v1", "EndpointSlice", &drv_t_EndpointSlice},
      {"rbac.authorization.k8s.io", "v1", "Role", &drv_t_Role},
      {"rbac.authorization.k8s.io", "v1", "ClusterRole", &drv_t_ClusterRole},
      {"rbac.authorization.k8s.io", "v1", "RoleBinding", &drv_t_RoleBinding},
      {"rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", &drv_t_ClusterRoleBinding},
      {"authorization.k8s.io", "v1", "SelfSubjectAccessReview", &drv_t_SelfSubjectAccessReview},
      {"authorization.k8s.io", "v1", "SubjectAccessReview", &drv_t_SubjectAccessReview},
      {"authorization.k8s.io", "v1", "LocalSubjectAccessReview", &drv_t_LocalSubjectAccessReview},
      {"authorization.k8s.io", "v1", "SelfSubjectRulesReview", &drv_t_SelfSubjectRulesReview},
      {"authentication.k8s.io", "v1", "SelfSubjectReview", &drv_t_SelfSubjectReview},
      {"authentication.k8s.io", "v1", "TokenReview", &drv_t_TokenReview},
      {"authentication.k8s.io", "v1", "TokenRequest", &drv_t_TokenRequest},
      {"metrics.k8s.io", "v1beta1", "NodeMetrics", &drv_t_NodeMetrics},
      {"metrics.k8s.io", "v1beta1", "PodMetrics", &drv_t_PodMetrics},
  };
  if (!res) return NULL;
  for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
    if (!strcmp(map[i].group, res->group) && !strcmp(map[i].version, res->version) &&
        !strcmp(map[i].kind, res->kind))
      return map[i].t;
  return NULL;
}

const drv_schema_field *drv_schema_field_find(const drv_schema_type *t, const char *name)
{
  if (!t) return NULL;
  for (const drv_schema_field *f = t->fields; f->name; f++)
    if (!strcmp(f->name, name)) return f;
  return NULL;
}

#define MAX_TYPES 400

static const drv_schema_type *all[MAX_TYPES + 1];
static size_t nall;

static void collect(const drv_schema_type *t)
{
  if (!t) return;
  for (size_t i = 0; i < nall; i++)
    if (all[i] == t) return;
  if (nall >= MAX_TYPES) return;
  all[nall++] = t;
  for (const drv_schema_field *f = t->fields; f->name; f++) collect(f->type);
}

static void collect_all(void)
{
  static const drv_schema_type *const roots[] = {
      &drv_t_Pod, &drv_t_Namespace, &drv_t_Node, &drv_t_Service, &drv_t_Endpoints,
      &drv_t_ConfigMap, &drv_t_Secret, &drv_t_ServiceAccount, &drv_t_Event, &drv_t_Deployment,
      &drv_t_ReplicaSet, &drv_t_EventsV1Event, &drv_t_HPAv2, &drv_t_HPAv1, &drv_t_Scale,
      &drv_t_Lease, &drv_t_EndpointSlice, &drv_t_NodeMetrics, &drv_t_PodMetrics,
      &drv_t_Role, &drv_t_ClusterRole, &drv_t_RoleBinding, &drv_t_ClusterRoleBinding,
      &drv_t_SelfSubjectAccessReview, &drv_t_SubjectAccessReview, &drv_t_LocalSubjectAccessReview,
      &drv_t_SelfSubjectRulesReview, &drv_t_SelfSubjectReview, &drv_t_TokenReview, &drv_t_TokenRequest,
      &drv_t_ListMeta, &drv_t_Condition};
  for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) collect(roots[i]);
  all[nall] = NULL;
}

const drv_schema_type *const *drv_schema_all_types(void)
{
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, collect_all);
  return all;
}
