/* The RBAC authorizer over a real server (temp data dir, ephemeral port): default policy,
 * rules with subresources, resourceNames and non-resource URLs, RoleBinding scope,
 * aggregation, bindings honoured right after they are written (the watcher catches up),
 * the 403 wording, the rules review and escalation checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/client.h"
#include "common/fs.h"
#include "common/json.h"
#include "server/authz.h"
#include "server/internal.h"
#include "server/server.h"
#include "server_fixture.h"


static drv_auth_user user(const char *name, const char *group)
{
  drv_auth_user u = {0};
  snprintf(u.name, sizeof u.name, "%s", name);
  if (group) snprintf(u.groups[u.ngroups++], sizeof u.groups[0], "%s", group);
  snprintf(u.groups[u.ngroups++], sizeof u.groups[0], "system:authenticated");
  return u;
}

static bool can(fixture *f, const drv_auth_user *u, const char *verb, const char *group, const char *res,
                const char *sub, const char *ns, const char *name)
{
  drv_authz_attrs a = {.verb = verb, .resource_request = true, .group = group, .resource = res,
                       .sub = sub ? sub : "", .ns = ns ? ns : "", .name = name ? name : ""};
  return drv_authz_allowed(f->srv->authz, u, &a, NULL, 0);
}

static bool can_path(fixture *f, const drv_auth_user *u, const char *verb, const char *path)
{
  drv_authz_attrs a = {.verb = verb, .path = path};
  return drv_authz_allowed(f->srv->authz, u, &a, NULL, 0);
}

static void create(fixture *f, const char *resource, const char *ns, const char *json)
{
  json_error_t je;
  json_t *o = json_loads(json, 0, &je);
  if (!o) fail_msg("bad fixture json: %s", je.text);
  drv_api_ref r = {.group = "rbac.authorization.k8s.io", .version = "v1", .resource = resource, .ns = ns};
  drv_err err = {0};
  if (drv_api_create(f->c, &r, o, NULL, &err) < 0) fail_msg("create %s: %s", resource, err.msg);
  json_decref(o);
}

static void test_defaults_and_masters(void **state)
{
  fixture *f = *state;
  drv_auth_user root = user("root", "system:masters"), nobody = user("nobody", NULL);
  assert_true(can(f, &root, "delete", "", "nodes", NULL, NULL, "n1"));
  assert_false(can(f, &nobody, "list", "", "pods", NULL, "default", NULL));
  assert_true(can_path(f, &nobody, "get", "/apis"));
  assert_true(can_path(f, &nobody, "get", "/apis/apps/v1"));
  assert_false(can_path(f, &nobody, "get", "/metrics"));
  assert_true(can(f, &nobody, "create", "authorization.k8s.io", "selfsubjectaccessreviews", NULL, NULL, NULL));
  drv_auth_user node = user("system:node:n1", "system:nodes");
  assert_true(can(f, &node, "patch", "", "nodes", "status", NULL, "n1"));
  assert_true(can(f, &node, "update", "coordination.k8s.io", "leases", NULL, "kube-node-lease", "n1"));
  assert_false(can(f, &node, "create", "apps", "deployments", NULL, "default", NULL));
  drv_authz_attrs a = {.verb = "list", .resource_request = true, .group = "", .resource = "pods", .sub = "",
                       .ns = "default", .name = ""};
  char *m = drv_authz_denied_message(&nobody, &a);
  assert_string_equal(m, "User \"nobody\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\"");
  free(m);
  json_t *st = drv_authz_forbidden_status(&nobody, &a);
  assert_int_equal(json_integer_value(json_object_get(st, "code")), 403);
  assert_string_equal(json_string_value(json_object_get(st, "message")),
                      "pods is forbidden: User \"nobody\" cannot list resource \"pods\" in API group \"\" in the "
                      "namespace \"default\"");
  json_decref(st);
}

static void test_rules_scope_and_names(void **state)
{
  fixture *f = *state;
  create(f, "roles", "default",
         "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"Role\",\"metadata\":{\"name\":\"r\","
         "\"namespace\":\"default\"},\"rules\":[{\"apiGroups\":[\"\"],\"resources\":[\"pods\",\"pods/log\"],"
         "\"verbs\":[\"get\",\"list\"]},{\"apiGroups\":[\"\"],\"resources\":[\"configmaps\"],"
         "\"resourceNames\":[\"cm1\"],\"verbs\":[\"*\"]},{\"apiGroups\":[\"apps\"],\"resources\":[\"*/scale\"],"
         "\"verbs\":[\"update\"]}]}");
  /* written just now: a refusal waits for the watcher, so this is allowed at once */
  create(f, "rolebindings", "default",
         "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"RoleBinding\",\"metadata\":{\"name\":\"b\","
         "\"namespace\":\"default\"},\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"Role\","
         "\"name\":\"r\"},\"subjects\":[{\"kind\":\"Group\",\"name\":\"devs\",\"apiGroup\":\"rbac.authorization.k8s.io\"}]}");
  drv_auth_user alice = user("alice", "devs"), bob = user("bob", NULL);
  assert_true(can(f, &alice, "list", "", "pods", NULL, "default", NULL));
  assert_true(can(f, &alice, "get", "", "pods", "log", "default", "p"));
  assert_false(can(f, &alice, "get", "", "pods", "exec", "default", "p"));
  assert_false(can(f, &alice, "watch", "", "pods", NULL, "default", NULL));
  assert_false(can(f, &alice, "list", "", "pods", NULL, "kube-system", NULL));
  assert_false(can(f, &alice, "list", "", "pods", NULL, "", NULL)); /* all namespaces */
  assert_false(can(f, &bob, "list", "", "pods", NULL, "default", NULL));
  assert_true(can(f, &alice, "delete", "", "configmaps", NULL, "default", "cm1"));
  assert_false(can(f, &alice, "delete", "", "configmaps", NULL, "default", "cm2"));
  assert_false(can(f, &alice, "list", "", "configmaps", NULL, "default", NULL));
  assert_true(can(f, &alice, "update", "apps", "deployments", "scale", "default", "d"));
  assert_false(can(f, &alice, "update", "apps", "deployments", NULL, "default", "d"));
  json_t *rules = drv_authz_rules_status(f->srv->authz, &alice, "default");
  json_t *rr = json_object_get(rules, "resourceRules");
  bool found = false;
  size_t i;
  json_t *r;
  json_array_foreach(rr, i, r) if (json_array_size(json_object_get(r, "resourceNames")) == 1) found = true;
  assert_true(found);
  json_decref(rules);
  /* a namespace admin may pass on what it holds, not more */
  json_t *role = json_pack("{s:s, s:{s:s}, s:[{s:[s], s:[s], s:[s]}]}", "kind", "Role", "metadata", "name", "x",
                           "rules", "apiGroups", "", "resources", "pods", "verbs", "get");
  char *why = drv_authz_escalation(f->srv->authz, &alice, "default", role);
  assert_null(why);
  json_array_append_new(json_object_get(role, "rules"),
                        json_pack("{s:[s], s:[s], s:[s]}", "apiGroups", "", "resources", "secrets", "verbs", "get"));
  why = drv_authz_escalation(f->srv->authz, &alice, "default", role);
  assert_non_null(why);
  assert_non_null(strstr(why, "Resources:[\"secrets\"]"));
  free(why);
  json_decref(role);
}

static void test_aggregation_and_urls(void **state)
{
  fixture *f = *state;
  create(f, "clusterroles", NULL,
         "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRole\",\"metadata\":{\"name\":\"extra\","
         "\"labels\":{\"rbac.authorization.k8s.io/aggregate-to-view\":\"true\"}},\"rules\":[{\"apiGroups\":"
         "[\"coordination.k8s.io\"],\"resources\":[\"leases\"],\"verbs\":[\"get\"]},{\"nonResourceURLs\":"
         "[\"/logs/*\"],\"verbs\":[\"get\"]}]}");
  create(f, "clusterrolebindings", NULL,
         "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRoleBinding\",\"metadata\":{\"name\":"
         "\"carol-admin\"},\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\","
         "\"name\":\"admin\"},\"subjects\":[{\"kind\":\"User\",\"name\":\"carol\",\"apiGroup\":"
         "\"rbac.authorization.k8s.io\"}]}");
  drv_auth_user carol = user("carol", NULL);
  /* view ⊂ edit ⊂ admin: the labelled role reaches admin through two aggregations */
  assert_true(can(f, &carol, "get", "coordination.k8s.io", "leases", NULL, "default", "l"));
  assert_true(can_path(f, &carol, "get", "/logs/kern.log"));
  assert_false(can_path(f, &carol, "get", "/logs"));
  assert_true(can(f, &carol, "create", "rbac.authorization.k8s.io", "rolebindings", NULL, "team", NULL));
  assert_true(can(f, &carol, "get", "", "secrets", NULL, "team", "s"));
  assert_false(can(f, &carol, "create", "", "namespaces", NULL, NULL, NULL));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults_and_masters),
      cmocka_unit_test(test_rules_scope_and_names),
      cmocka_unit_test(test_aggregation_and_urls),
  };
  return cmocka_run_group_tests_name("server_authz", tests, server_fixture_setup, server_fixture_teardown);
}
