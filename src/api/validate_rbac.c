/* Validation of rbac.authorization.k8s.io/v1 objects, with Kubernetes' rules and texts. */
#include <string.h>

#include "api/defaults.h"
#include "api/resource.h"
#include "api/validate_util.h"
#include "common/json.h"
#include "common/util.h"

#define RBAC_GROUP "rbac.authorization.k8s.io"

static void policy_rule(vctx *v, const char *p, const json_t *rule, bool namespaced)
{
  _cleanup_free_ char *verbs = v_path(p, "verbs");
  if (json_array_size(json_object_get(rule, "verbs")) == 0)
    v_required(v, verbs, "verbs must contain at least one value");
  size_t urls = json_array_size(json_object_get(rule, "nonResourceURLs"));
  size_t groups = json_array_size(json_object_get(rule, "apiGroups"));
  size_t resources = json_array_size(json_object_get(rule, "resources"));
  if (urls) {
    _cleanup_free_ char *f = v_path(p, "nonResourceURLs");
    if (namespaced)
      v_invalid(v, f, json_object_get(rule, "nonResourceURLs"),
                "namespaced rules cannot apply to non-resource URLs");
    if (groups || resources)
      v_invalid(v, f, json_object_get(rule, "nonResourceURLs"),
                "rules cannot apply to both regular resources and non-resource URLs");
    return;
  }
  _cleanup_free_ char *g = v_path(p, "apiGroups");
  if (!groups) v_required(v, g, "resource rules must supply at least one api group");
  _cleanup_free_ char *r = v_path(p, "resources");
  if (!resources) v_required(v, r, "resource rules must supply at least one resource");
}

static void rules(vctx *v, const json_t *obj, bool namespaced)
{
  size_t i;
  json_t *rule;
  json_array_foreach(json_object_get(obj, "rules"), i, rule)
  {
    _cleanup_free_ char *p = v_index("rules", i);
    policy_rule(v, p, rule, namespaced);
  }
}

static void binding(vctx *v, const json_t *obj, bool namespaced)
{
  const char *group = drv_json_get_str(obj, "roleRef.apiGroup");
  const char *kind = drv_json_get_str(obj, "roleRef.kind");
  const char *name = drv_json_get_str(obj, "roleRef.name");
  if (!group || strcmp(group, RBAC_GROUP))
    v_unsupported(v, "roleRef.apiGroup", group ? group : "",
                  (const char *const[]){RBAC_GROUP, NULL});
  if (namespaced)
    v_one_of(v, "roleRef.kind", kind ? kind : "", (const char *const[]){"ClusterRole", "Role", NULL});
  else
    v_one_of(v, "roleRef.kind", kind ? kind : "", (const char *const[]){"ClusterRole", NULL});
  if (!name || !*name) v_required(v, "roleRef.name", NULL);
  size_t i;
  json_t *s;
  json_array_foreach(json_object_get(obj, "subjects"), i, s)
  {
    _cleanup_free_ char *p = v_index("subjects", i);
    const char *sk = json_string_value(json_object_get(s, "kind"));
    const char *sn = json_string_value(json_object_get(s, "name"));
    const char *sg = json_string_value(json_object_get(s, "apiGroup"));
    _cleanup_free_ char *fn = v_path(p, "name");
    _cleanup_free_ char *fk = v_path(p, "kind");
    _cleanup_free_ char *fg = v_path(p, "apiGroup");
    if (!sn || !*sn) v_required(v, fn, NULL);
    if (!v_one_of(v, fk, sk ? sk : "", (const char *const[]){"ServiceAccount", "User", "Group", NULL}))
      continue;
    if (!strcmp(sk, "ServiceAccount")) {
      if (sg && *sg) v_unsupported(v, fg, sg, (const char *const[]){"", NULL});
      const char *ns = json_string_value(json_object_get(s, "namespace"));
      if (!namespaced && (!ns || !*ns)) {
        _cleanup_free_ char *f = v_path(p, "namespace");
        v_required(v, f, NULL);
      }
    } else if (!sg || strcmp(sg, RBAC_GROUP)) {
      v_unsupported(v, fg, sg ? sg : "", (const char *const[]){RBAC_GROUP, NULL});
    }
  }
}

void v_rbac(vctx *v, const drv_api_resource *res, const json_t *obj, const json_t *old)
{
  if (strcmp(res->group, RBAC_GROUP)) return;
  const char *k = res->kind;
  if (!strcmp(k, "Role") || !strcmp(k, "ClusterRole")) {
    rules(v, obj, res->namespaced);
    return;
  }
  binding(v, obj, res->namespaced);
  if (old && !json_equal(json_object_get(obj, "roleRef"), json_object_get(old, "roleRef")))
    v_invalid(v, "roleRef", json_object_get(obj, "roleRef"), "cannot change roleRef");
}

void drv_api_default_rbac(json_t *obj)
{
  /* Users and Groups are RBAC subjects: their apiGroup defaults as Kubernetes does */
  size_t i;
  json_t *s;
  json_array_foreach(json_object_get(obj, "subjects"), i, s)
  {
    const char *sk = json_string_value(json_object_get(s, "kind"));
    if (!json_is_object(s) || !sk || json_object_get(s, "apiGroup")) continue;
    if (!strcmp(sk, "User") || !strcmp(sk, "Group"))
      json_object_set_new(s, "apiGroup", json_string(RBAC_GROUP));
  }
}
