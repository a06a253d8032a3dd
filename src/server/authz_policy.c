/* The default RBAC policy a server bootstraps (authz.h): the user-facing ClusterRoles
 * cluster-admin, admin, edit, view (the last three aggregated from labelled ClusterRoles as in
 * Kubernetes), what every authenticated identity may do (discovery, self reviews) and what a
 * node agent needs (system:node, bound to the group system:nodes). */
#include <string.h>

#include "server/authz.h"
#include "common/util.h"

#define AGG "rbac.authorization.k8s.io/aggregate-to-"

/* Space-separated words into a JSON array; "" is the core group [""] for apiGroups. */
static json_t *words(const char *s)
{
  json_t *a = json_array();
  if (!*s) {
    json_array_append_new(a, json_string(""));
    return a;
  }
  while (*s) {
    size_t n = strcspn(s, " ");
    if (n) json_array_append_new(a, json_stringn(s, n));
    s += n;
    while (*s == ' ') s++;
  }
  return a;
}

static json_t *rule(const char *verbs, const char *groups, const char *resources)
{
  return json_pack("{s:o, s:o, s:o}", "verbs", words(verbs), "apiGroups", words(groups), "resources",
                   words(resources));
}

static json_t *url_rule(const char *verbs, const char *urls)
{
  return json_pack("{s:o, s:o}", "verbs", words(verbs), "nonResourceURLs", words(urls));
}

static json_t *meta(const char *name, const char *agg_label)
{
  json_t *m = json_pack("{s:s, s:{s:s}, s:{s:s}}", "name", name, "labels", "kubernetes.io/bootstrapping",
                        "rbac-defaults", "annotations", "rbac.authorization.kubernetes.io/autoupdate", "true");
  if (agg_label) {
    char *k = drv_asprintf(AGG "%s", agg_label);
    json_object_set_new(json_object_get(m, "labels"), k, json_string("true"));
    free(k);
  }
  return m;
}

/* rules: a new array reference; agg: the aggregation label this role carries (may be NULL);
 * from: the label its aggregationRule selects (may be NULL). */
static json_t *cluster_role(const char *name, json_t *rules, const char *agg, const char *from)
{
  json_t *r = json_pack("{s:s, s:s, s:o, s:o}", "apiVersion", "rbac.authorization.k8s.io/v1", "kind",
                        "ClusterRole", "metadata", meta(name, agg), "rules", rules);
  if (from) {
    char *k = drv_asprintf(AGG "%s", from);
    json_object_set_new(r, "aggregationRule",
                        json_pack("{s:[{s:{s:s}}]}", "clusterRoleSelectors", "matchLabels", k, "true"));
    free(k);
  }
  return r;
}

static json_t *cluster_binding(const char *name, const char *role, const char *group)
{
  return json_pack("{s:s, s:s, s:o, s:{s:s, s:s, s:s}, s:[{s:s, s:s, s:s}]}", "apiVersion",
                   "rbac.authorization.k8s.io/v1", "kind", "ClusterRoleBinding", "metadata",
                   meta(name, NULL), "roleRef", "apiGroup", "rbac.authorization.k8s.io", "kind",
                   "ClusterRole", "name", role, "subjects", "apiGroup", "rbac.authorization.k8s.io",
                   "kind", "Group", "name", group);
}

#define READ "get list watch"
#define WRITE "create delete deletecollection patch update"

static json_t *view_rules(void)
{
  return json_pack(
      "[o, o, o, o, o, o, o, o]",
      rule(READ, "",
           "pods pods/log pods/status services services/status endpoints configmaps serviceaccounts "
           "events namespaces namespaces/status persistentvolumeclaims "
           "replicationcontrollers limitranges resourcequotas bindings"),
      rule(READ, "apps",
           "deployments deployments/scale deployments/status replicasets replicasets/scale "
           "replicasets/status statefulsets daemonsets controllerrevisions"),
      rule(READ, "autoscaling", "horizontalpodautoscalers horizontalpodautoscalers/status"),
      rule(READ, "events.k8s.io", "events"), rule(READ, "discovery.k8s.io", "endpointslices"),
      rule(READ, "batch", "jobs jobs/status cronjobs cronjobs/status"),
      rule(READ, "metrics.k8s.io", "pods"), rule(READ, "policy", "poddisruptionbudgets"));
}

static json_t *edit_rules(void)
{
  return json_pack(
      "[o, o, o, o, o, o, o, o]",
      rule(WRITE, "", "pods pods/attach pods/exec pods/portforward pods/proxy"),
      rule("create", "", "pods/eviction serviceaccounts/token"),
      rule(WRITE, "",
           "configmaps endpoints persistentvolumeclaims replicationcontrollers "
           "replicationcontrollers/scale secrets serviceaccounts services services/proxy"),
      rule(READ, "", "pods/attach pods/exec pods/portforward pods/proxy secrets services/proxy"),
      rule(WRITE, "apps",
           "deployments deployments/scale deployments/rollback replicasets replicasets/scale "
           "statefulsets statefulsets/scale daemonsets"),
      rule(WRITE, "autoscaling", "horizontalpodautoscalers"),
      rule(WRITE, "batch", "jobs cronjobs"), rule(WRITE, "policy", "poddisruptionbudgets"));
}

static json_t *admin_rules(void)
{
  return json_pack("[o, o]", rule(READ " " WRITE, "rbac.authorization.k8s.io", "roles rolebindings"),
                   rule("create", "authorization.k8s.io", "localsubjectaccessreviews"));
}

static json_t *concat(json_t *a, json_t *b)
{
  json_array_extend(a, b);
  json_decref(b);
  return a;
}

/* What the node agent does: register and heartbeat its Node and Lease, run the pods bound to
 * it and report their status and events, read what containers consume (ConfigMaps, Secrets,
 * Services for environment variables), push metrics, evict. */
static json_t *node_rules(void)
{
  return json_pack(
      "[o, o, o, o, o, o, o, o, o, o, o, o]",
      rule(READ " create delete patch update", "", "nodes"),
      rule("patch update", "", "nodes/status"),
      rule(READ " create delete", "", "pods"),
      rule("patch update", "", "pods/status"),
      rule("create", "", "pods/eviction serviceaccounts/token"),
      rule(READ, "", "configmaps secrets services endpoints namespaces persistentvolumeclaims serviceaccounts"),
      rule("create patch update", "", "events"),
      rule("create patch update", "events.k8s.io", "events"),
      rule(READ " create delete patch update", "coordination.k8s.io", "leases"),
      rule(READ, "discovery.k8s.io", "endpointslices"),
      rule("get update", "metrics.k8s.io", "nodes pods"),
      rule("create", "authorization.k8s.io", "selfsubjectaccessreviews subjectaccessreviews"));
}

json_t *drv_authz_default_policy(void)
{
  json_t *all = json_array();
  json_array_append_new(all, cluster_role("cluster-admin",
                                          json_pack("[o, o]", rule("*", "*", "*"), url_rule("*", "*")),
                                          NULL, NULL));
  json_array_append_new(all, cluster_role("system:aggregate-to-view", view_rules(), "view", NULL));
  json_array_append_new(all, cluster_role("system:aggregate-to-edit", edit_rules(), "edit", NULL));
  json_array_append_new(all, cluster_role("system:aggregate-to-admin", admin_rules(), "admin", NULL));
  /* the aggregated roles carry the union already, as Kubernetes' aggregation controller writes
   * it; the authorizer aggregates again, so labelled roles added later join them */
  json_array_append_new(all, cluster_role("view", view_rules(), "edit", "view"));
  json_array_append_new(all, cluster_role("edit", concat(view_rules(), edit_rules()), "admin", "edit"));
  json_array_append_new(all, cluster_role("admin", concat(concat(view_rules(), edit_rules()), admin_rules()),
                                          NULL, "admin"));
  json_array_append_new(
      all, cluster_role("system:basic-user",
                        json_pack("[o, o]", rule("create", "authorization.k8s.io",
                                                 "selfsubjectaccessreviews selfsubjectrulesreviews"),
                                  rule("create", "authentication.k8s.io", "selfsubjectreviews")),
                        NULL, NULL));
  json_array_append_new(
      all, cluster_role("system:discovery",
                        json_pack("[o]", url_rule("get", "/api /api/* /apis /apis/* /healthz /livez "
                                                         "/openapi /openapi/* /readyz /version /version/")),
                        NULL, NULL));
  json_array_append_new(
      all, cluster_role("system:public-info-viewer",
                        json_pack("[o]", url_rule("get", "/healthz /livez /readyz /version /version/")),
                        NULL, NULL));
  json_array_append_new(all, cluster_role("system:node", node_rules(), NULL, NULL));
  json_array_append_new(all, cluster_binding("cluster-admin", "cluster-admin", DRV_AUTH_MASTERS));
  json_array_append_new(all, cluster_binding("system:basic-user", "system:basic-user", DRV_AUTH_AUTHENTICATED));
  json_array_append_new(all, cluster_binding("system:discovery", "system:discovery", DRV_AUTH_AUTHENTICATED));
  json_array_append_new(all, cluster_binding("system:public-info-viewer", "system:public-info-viewer",
                                             DRV_AUTH_AUTHENTICATED));
  json_array_append_new(all, cluster_binding("system:node", "system:node", DRV_AUTH_NODES));
  return all;
}
