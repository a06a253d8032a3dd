/* Request routing: Kubernetes REST paths into what they name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "server/route.h"

static drv_route parse_ok(const char *path)
{
  drv_route r;
  assert_int_equal(drv_route_parse(path, &r), 0);
  return r;
}

static void test_meta(void **state)
{
  assert_int_equal(parse_ok("/version").kind, DRV_ROUTE_VERSION);
  assert_int_equal(parse_ok("/healthz").kind, DRV_ROUTE_HEALTH);
  assert_int_equal(parse_ok("/readyz/ping").kind, DRV_ROUTE_HEALTH);
  assert_int_equal(parse_ok("/livez").kind, DRV_ROUTE_HEALTH);
  assert_int_equal(parse_ok("/api").kind, DRV_ROUTE_CORE_VERSIONS);
  assert_int_equal(parse_ok("/api/").kind, DRV_ROUTE_CORE_VERSIONS);
  assert_int_equal(parse_ok("/apis").kind, DRV_ROUTE_GROUPS);
  drv_route r = parse_ok("/apis/apps");
  assert_int_equal(r.kind, DRV_ROUTE_GROUP);
  assert_string_equal(r.group, "apps");
  r = parse_ok("/apis/apps/v1");
  assert_int_equal(r.kind, DRV_ROUTE_RESOURCES);
  assert_string_equal(r.version, "v1");
  r = parse_ok("/api/v1");
  assert_int_equal(r.kind, DRV_ROUTE_RESOURCES);
  assert_string_equal(r.group, "");
  r = parse_ok("/openapi/v3");
  assert_int_equal(r.kind, DRV_ROUTE_OPENAPI_V3);
  assert_string_equal(r.doc, "");
  r = parse_ok("/openapi/v3/apis/apps/v1");
  assert_string_equal(r.doc, "apis/apps/v1");
  drv_route bad;
  assert_int_equal(drv_route_parse("/nope", &bad), -1);
  assert_int_equal(bad.kind, DRV_ROUTE_NONE);
  assert_int_equal(drv_route_parse("", &bad), -1);
  assert_int_equal(drv_route_parse("relative", &bad), -1);
  assert_int_equal(drv_route_parse("/version/x", &bad), -1);
}

static void test_objects(void **state)
{
  drv_route r = parse_ok("/api/v1/namespaces/default/pods/web-1/status");
  assert_int_equal(r.kind, DRV_ROUTE_OBJECTS);
  assert_string_equal(r.ns, "default");
  assert_string_equal(r.resource, "pods");
  assert_string_equal(r.name, "web-1");
  assert_string_equal(r.sub, "status");
  r = parse_ok("/api/v1/pods");
  assert_string_equal(r.ns, "");
  assert_string_equal(r.resource, "pods");
  assert_string_equal(r.name, "");
  r = parse_ok("/apis/apps/v1/namespaces/x/deployments");
  assert_string_equal(r.group, "apps");
  assert_string_equal(r.ns, "x");
  assert_string_equal(r.resource, "deployments");
  r = parse_ok("/api/v1/nodes/n1");
  assert_string_equal(r.resource, "nodes");
  assert_string_equal(r.name, "n1");
  /* the namespace object itself and its subresources */
  r = parse_ok("/api/v1/namespaces/kube-system");
  assert_string_equal(r.resource, "namespaces");
  assert_string_equal(r.name, "kube-system");
  assert_string_equal(r.ns, "");
  r = parse_ok("/api/v1/namespaces/x/finalize");
  assert_string_equal(r.resource, "namespaces");
  assert_string_equal(r.sub, "finalize");
  r = parse_ok("/api/v1/namespaces");
  assert_string_equal(r.resource, "namespaces");
  assert_string_equal(r.name, "");
  /* legacy watch paths */
  r = parse_ok("/api/v1/watch/namespaces/d/pods");
  assert_true(r.watch_path);
  assert_string_equal(r.ns, "d");
  assert_string_equal(r.resource, "pods");
  drv_route bad;
  assert_int_equal(drv_route_parse("/api/v1/namespaces/a/pods/b/c/d", &bad), -1);
  assert_int_equal(drv_route_parse("/api/v1/namespaces/a/pods/..", &bad), -1);
  char longp[600] = "/api/v1/namespaces/";
  memset(longp + strlen(longp), 'a', 300);
  assert_int_equal(drv_route_parse(longp, &bad), -1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_meta),
      cmocka_unit_test(test_objects),
  };
  return cmocka_run_group_tests_name("server_route", tests, NULL, NULL);
}
