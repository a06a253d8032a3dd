/* Tables, discovery documents, OpenAPI index and documents. */
#include "helpers.h"

#include <time.h>

#include "api/discovery.h"
#include "api/object.h"
#include "api/openapi.h"
#include "api/resource.h"
#include "api/table.h"
#include "common/json.h"

static const drv_api_resource *R(const char *g, const char *v, const char *p)
{
  return drv_api_resource_find(g, v, p);
}

static void durations(void **state)
{
  (void)state;
  static const struct {
    long long s;
    const char *want;
  } cases[] = {{-5, "<invalid>"}, {0, "0s"},     {119, "119s"},   {120, "2m"},    {150, "2m30s"},
               {600, "10m"},     {10799, "179m"}, {10800, "3h"}, {11000, "3h3m"}, {30000, "8h"},
               {172800, "2d"},   {180000, "2d2h"}, {864000, "10d"}, {63072000, "2y"}, {66000000, "2y33d"}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char buf[32];
    drv_api_human_duration(cases[i].s, buf, sizeof(buf));
    if (strcmp(buf, cases[i].want)) fail_msg("%lld: got %s want %s", cases[i].s, buf, cases[i].want);
  }
}

static json_t *cells(json_t *table, size_t row)
{
  return json_object_get(json_array_get(json_object_get(table, "rows"), row), "cells");
}

static void pod_table(void **state)
{
  (void)state;
  time_t now;
  drv_api_time_parse("2024-01-01T00:10:00Z", &now);
  json_t *list = J("{\"metadata\":{\"resourceVersion\":\"42\"},\"items\":["
      "{\"metadata\":{\"name\":\"run\",\"creationTimestamp\":\"2024-01-01T00:05:00Z\"},\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]},"
      "\"status\":{\"phase\":\"Running\",\"podIP\":\"10.0.0.5\",\"containerStatuses\":[{\"name\":\"a\",\"ready\":true,\"restartCount\":1,\"state\":{\"running\":{}},"
      "\"lastState\":{\"terminated\":{\"finishedAt\":\"2024-01-01T00:08:00Z\"}}},{\"name\":\"b\",\"ready\":false,\"restartCount\":2,\"state\":{\"waiting\":{\"reason\":\"CrashLoopBackOff\"}}}]}},"
      "{\"metadata\":{\"name\":\"new\",\"creationTimestamp\":\"2024-01-01T00:09:50Z\"},\"spec\":{\"containers\":[{\"name\":\"a\"}]},\"status\":{\"phase\":\"Pending\"}},"
      "{\"metadata\":{\"name\":\"init\"},\"spec\":{\"initContainers\":[{\"name\":\"i\"}],\"containers\":[{\"name\":\"a\"}]},"
      "\"status\":{\"phase\":\"Pending\",\"initContainerStatuses\":[{\"name\":\"i\",\"state\":{\"running\":{}}}]}},"
      "{\"metadata\":{\"name\":\"del\",\"deletionTimestamp\":\"2024-01-01T00:09:00Z\"},\"spec\":{\"containers\":[{\"name\":\"a\"}]},\"status\":{\"phase\":\"Running\"}},"
      "{\"metadata\":{\"name\":\"done\"},\"spec\":{\"containers\":[{\"name\":\"a\"}]},\"status\":{\"phase\":\"Succeeded\",\"containerStatuses\":[{\"name\":\"a\",\"state\":{\"terminated\":{\"exitCode\":0,\"reason\":\"Completed\"}}}]}}"
      "]}");
  json_t *t = drv_api_table(R("", "v1", "pods"), list, DRV_TABLE_OBJECT_METADATA, now);
  assert_string_equal(drv_json_get_str(t, "kind"), "Table");
  assert_string_equal(drv_json_get_str(t, "apiVersion"), "meta.k8s.io/v1");
  assert_string_equal(drv_json_get_str(t, "metadata.resourceVersion"), "42");
  json_t *defs = json_object_get(t, "columnDefinitions");
  assert_string_equal(drv_json_get_str(json_array_get(defs, 0), "name"), "Name");
  assert_string_equal(drv_json_get_str(json_array_get(defs, 5), "name"), "IP");
  assert_int_equal(drv_json_get_int(json_array_get(defs, 5), "priority", 0), 1);
  assert_json_eq(cells(t, 0), "[\"run\",\"1/2\",\"CrashLoopBackOff\",\"3 (2m ago)\",\"5m\",\"10.0.0.5\",\"n1\",\"<none>\",\"<none>\"]");
  assert_json_eq(cells(t, 1), "[\"new\",\"0/1\",\"Pending\",\"0\",\"10s\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
  assert_string_equal(json_string_value(json_array_get(cells(t, 2), 2)), "Init:0/1");
  assert_string_equal(json_string_value(json_array_get(cells(t, 2), 4)), "<unknown>");
  assert_string_equal(json_string_value(json_array_get(cells(t, 3), 2)), "Terminating");
  assert_string_equal(json_string_value(json_array_get(cells(t, 4), 2)), "Completed");
  json_t *obj = json_object_get(json_array_get(json_object_get(t, "rows"), 0), "object");
  assert_string_equal(drv_json_get_str(obj, "kind"), "PartialObjectMetadata");
  assert_string_equal(drv_json_get_str(obj, "metadata.name"), "run");
  json_decref(t);
  t = drv_api_table(R("", "v1", "pods"), json_array_get(json_object_get(list, "items"), 1), DRV_TABLE_OBJECT_NONE, now);
  assert_int_equal(json_array_size(json_object_get(t, "rows")), 1);
  assert_null(json_object_get(json_array_get(json_object_get(t, "rows"), 0), "object"));
  json_decref(t);
  json_decref(list);
}

static void other_tables(void **state)
{
  (void)state;
  time_t now;
  drv_api_time_parse("2024-01-02T00:00:00Z", &now);
  json_t *d = J("{\"metadata\":{\"name\":\"web\",\"creationTimestamp\":\"2024-01-01T00:00:00Z\"},\"spec\":{\"replicas\":3,"
                "\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"template\":{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"nginx:1\"},{\"name\":\"b\",\"image\":\"x\"}]}}},"
                "\"status\":{\"readyReplicas\":2,\"updatedReplicas\":3,\"availableReplicas\":2}}");
  json_t *t = drv_api_table(R("apps", "v1", "deployments"), d, DRV_TABLE_OBJECT_FULL, now);
  assert_json_eq(cells(t, 0), "[\"web\",\"2/3\",3,2,\"24h\",\"a,b\",\"nginx:1,x\",\"app=web\"]");
  assert_string_equal(drv_json_get_str(json_object_get(json_array_get(json_object_get(t, "rows"), 0), "object"), "metadata.name"), "web");
  json_decref(t);
  t = drv_api_table(R("apps", "v1", "replicasets"), d, DRV_TABLE_OBJECT_NONE, now);
  assert_json_eq(cells(t, 0), "[\"web\",3,0,2,\"24h\",\"a,b\",\"nginx:1,x\",\"app=web\"]");
  json_decref(t);
  json_decref(d);
  json_t *s = J("{\"metadata\":{\"name\":\"svc\"},\"spec\":{\"type\":\"NodePort\",\"clusterIP\":\"10.96.0.10\",\"selector\":{\"app\":\"web\"},"
                "\"ports\":[{\"port\":80,\"nodePort\":30080,\"protocol\":\"TCP\"},{\"port\":53,\"protocol\":\"UDP\"}]}}");
  t = drv_api_table(R("", "v1", "services"), s, DRV_TABLE_OBJECT_NONE, now);
  assert_json_eq(cells(t, 0), "[\"svc\",\"NodePort\",\"10.96.0.10\",\"<none>\",\"80:30080/TCP,53/UDP\",\"<unknown>\",\"app=web\"]");
  json_decref(t);
  json_decref(s);
  json_t *n = J("{\"metadata\":{\"name\":\"n1\",\"labels\":{\"node-role.kubernetes.io/worker\":\"\",\"node-role.kubernetes.io/control-plane\":\"\"}},"
                "\"spec\":{\"unschedulable\":true},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}],"
                "\"nodeInfo\":{\"kubeletVersion\":\"v1.32.0-drover\"},\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"10.1.1.1\"}]}}");
  t = drv_api_table(R("", "v1", "nodes"), n, DRV_TABLE_OBJECT_NONE, now);
  json_t *c = cells(t, 0);
  assert_string_equal(json_string_value(json_array_get(c, 1)), "Ready,SchedulingDisabled");
  assert_string_equal(json_string_value(json_array_get(c, 2)), "control-plane,worker");
  assert_string_equal(json_string_value(json_array_get(c, 4)), "v1.32.0-drover");
  assert_string_equal(json_string_value(json_array_get(c, 5)), "10.1.1.1");
  json_decref(t);
  /* A node whose Ready condition is Unknown (lease expired) reads NotReady, as in kubectl. */
  json_object_set_new(json_array_get(drv_json_get(n, "status.conditions"), 0), "status", json_string("Unknown"));
  t = drv_api_table(R("", "v1", "nodes"), n, DRV_TABLE_OBJECT_NONE, now);
  assert_string_equal(json_string_value(json_array_get(cells(t, 0), 1)), "NotReady,SchedulingDisabled");
  json_decref(t);
  json_decref(n);
  json_t *h = J("{\"metadata\":{\"name\":\"h\"},\"spec\":{\"scaleTargetRef\":{\"kind\":\"Deployment\",\"name\":\"web\"},\"minReplicas\":1,\"maxReplicas\":5,"
                "\"metrics\":[{\"type\":\"Resource\",\"resource\":{\"name\":\"cpu\",\"target\":{\"type\":\"Utilization\",\"averageUtilization\":80}}}]},"
                "\"status\":{\"currentReplicas\":2,\"currentMetrics\":[{\"type\":\"Resource\",\"resource\":{\"name\":\"cpu\",\"current\":{\"averageUtilization\":35}}}]}}");
  t = drv_api_table(R("autoscaling", "v2", "horizontalpodautoscalers"), h, DRV_TABLE_OBJECT_NONE, now);
  assert_json_eq(cells(t, 0), "[\"h\",\"Deployment/web\",\"cpu: 35%/80%\",\"1\",5,2,\"<unknown>\"]");
  json_decref(t);
  json_decref(h);
  json_t *e = J("{\"metadata\":{\"name\":\"e1\"},\"type\":\"Warning\",\"reason\":\"FailedScheduling\",\"message\":\"0/3 nodes are available\","
                "\"involvedObject\":{\"kind\":\"Pod\",\"name\":\"p\"},\"count\":3,\"firstTimestamp\":\"2024-01-01T23:50:00Z\",\"lastTimestamp\":\"2024-01-01T23:59:00Z\","
                "\"source\":{\"component\":\"default-scheduler\"}}");
  t = drv_api_table(R("", "v1", "events"), e, DRV_TABLE_OBJECT_NONE, now);
  assert_json_eq(cells(t, 0), "[\"60s (x3 over 10m)\",\"Warning\",\"FailedScheduling\",\"pod/p\",\"\",\"default-scheduler\",\"0/3 nodes are available\",\"10m\",\"3\",\"e1\"]");
  json_decref(t);
  json_decref(e);
  json_t *cm = J("{\"metadata\":{\"name\":\"cm\"},\"data\":{\"a\":\"1\",\"b\":\"2\"}}");
  t = drv_api_table(R("", "v1", "configmaps"), cm, DRV_TABLE_OBJECT_NONE, now);
  assert_int_equal(json_integer_value(json_array_get(cells(t, 0), 1)), 2);
  json_decref(t);
  json_decref(cm);
  json_t *ep = J("{\"metadata\":{\"name\":\"ep\"},\"subsets\":[{\"addresses\":[{\"ip\":\"1.1.1.1\"},{\"ip\":\"1.1.1.2\"}],\"ports\":[{\"port\":80},{\"port\":81}]}]}");
  t = drv_api_table(R("", "v1", "endpoints"), ep, DRV_TABLE_OBJECT_NONE, now);
  assert_string_equal(json_string_value(json_array_get(cells(t, 0), 1)), "1.1.1.1:80,1.1.1.1:81,1.1.1.2:80 + 1 more...");
  json_decref(t);
  json_decref(ep);
  drv_table_include inc;
  assert_int_equal(drv_table_include_parse("Object", &inc), 0);
  assert_int_equal(inc, DRV_TABLE_OBJECT_FULL);
  assert_int_equal(drv_table_include_parse("All", &inc), -1);
}

static json_t *parse_free(char *s)
{
  assert_non_null(s);
  json_t *v = J(s);
  free(s);
  return v;
}

static json_t *find_named(json_t *arr, const char *key, const char *name)
{
  size_t i;
  json_t *e;
  json_array_foreach(arr, i, e) if (!strcmp(json_string_value(json_object_get(e, key)) ?: "", name)) return e;
  return NULL;
}

static void discovery_documents(void **state)
{
  (void)state;
  json_t *v = parse_free(drv_api_discovery_core_versions("127.0.0.1:6443"));
  assert_json_eq(v, "{\"kind\":\"APIVersions\",\"versions\":[\"v1\"],\"serverAddressByClientCIDRs\":[{\"clientCIDR\":\"0.0.0.0/0\",\"serverAddress\":\"127.0.0.1:6443\"}]}");
  json_decref(v);
  v = parse_free(drv_api_discovery_group_list());
  json_t *as = find_named(json_object_get(v, "groups"), "name", "autoscaling");
  assert_non_null(as);
  assert_string_equal(drv_json_get_str(as, "preferredVersion.groupVersion"), "autoscaling/v2");
  assert_int_equal(json_array_size(json_object_get(as, "versions")), 2);
  assert_null(find_named(json_object_get(v, "groups"), "name", ""));
  json_decref(v);
  v = parse_free(drv_api_discovery_group("apps"));
  assert_string_equal(drv_json_get_str(v, "kind"), "APIGroup");
  json_decref(v);
  assert_null(drv_api_discovery_group("widgets.example.com"));
  v = parse_free(drv_api_discovery_resource_list("", "v1"));
  assert_string_equal(drv_json_get_str(v, "groupVersion"), "v1");
  json_t *res = json_object_get(v, "resources");
  json_t *pods = find_named(res, "name", "pods");
  assert_json_eq(json_object_get(pods, "shortNames"), "[\"po\"]");
  assert_json_eq(json_object_get(pods, "categories"), "[\"all\"]");
  assert_json_eq(json_object_get(pods, "verbs"), "[\"create\",\"delete\",\"deletecollection\",\"get\",\"list\",\"patch\",\"update\",\"watch\"]");
  assert_true(json_is_true(json_object_get(pods, "namespaced")));
  assert_non_null(find_named(res, "name", "pods/status"));
  json_t *ev = find_named(res, "name", "pods/eviction");
  assert_string_equal(drv_json_get_str(ev, "group"), "policy");
  assert_json_eq(json_object_get(find_named(res, "name", "pods/log"), "verbs"), "[\"get\"]");
  assert_false(json_is_true(json_object_get(find_named(res, "name", "nodes"), "namespaced")));
  json_decref(v);
  v = parse_free(drv_api_discovery_resource_list("apps", "v1"));
  json_t *scale = find_named(json_object_get(v, "resources"), "name", "deployments/scale");
  assert_string_equal(drv_json_get_str(scale, "kind"), "Scale");
  assert_string_equal(drv_json_get_str(scale, "group"), "autoscaling");
  json_decref(v);
  assert_null(drv_api_discovery_resource_list("apps", "v2"));
  v = parse_free(drv_api_discovery_aggregated(0));
  assert_string_equal(drv_json_get_str(v, "kind"), "APIGroupDiscoveryList");
  assert_string_equal(drv_json_get_str(v, "apiVersion"), "apidiscovery.k8s.io/v2");
  json_t *items = json_object_get(v, "items");
  json_t *apps = NULL;
  size_t i;
  json_t *it;
  json_array_foreach(items, i, it) if (!strcmp(drv_json_get_str(it, "metadata.name") ?: "", "apps")) apps = it;
  assert_non_null(apps);
  json_t *dep = find_named(json_object_get(json_array_get(json_object_get(apps, "versions"), 0), "resources"), "resource", "deployments");
  assert_string_equal(drv_json_get_str(dep, "scope"), "Namespaced");
  assert_string_equal(drv_json_get_str(dep, "responseKind.kind"), "Deployment");
  assert_json_eq(json_object_get(dep, "shortNames"), "[\"deploy\"]");
  assert_non_null(find_named(json_object_get(dep, "subresources"), "subresource", "scale"));
  json_decref(v);
  v = parse_free(drv_api_discovery_aggregated(1));
  json_t *core = json_array_get(json_object_get(v, "items"), 0);
  assert_string_equal(drv_json_get_str(json_array_get(json_object_get(core, "versions"), 0), "version"), "v1");
  json_decref(v);
}

static void openapi_documents(void **state)
{
  (void)state;
  json_t *idx = J(drv_api_openapi_index());
  json_t *paths = json_object_get(idx, "paths");
  assert_non_null(json_object_get(paths, "api/v1"));
  const char *url = drv_json_get_str(json_object_get(paths, "apis/apps/v1"), "serverRelativeURL");
  assert_non_null(url);
  assert_true(!strncmp(url, "/openapi/v3/apis/apps/v1?hash=", 30));
  const char *hash = NULL;
  const char *doc = drv_api_openapi_doc("/openapi/v3/apis/apps/v1?hash=x", &hash);
  assert_non_null(doc);
  assert_string_equal(hash, url + 30);
  assert_null(drv_api_openapi_doc("apis/widgets/v1", NULL));
  json_t *d = J(doc);
  assert_string_equal(drv_json_get_str(d, "openapi"), "3.0.0");
  json_t *schemas = drv_json_get(d, "components.schemas");
  json_t *deploy = json_object_get(schemas, "io.k8s.api.apps.v1.Deployment");
  assert_non_null(deploy);
  assert_json_eq(json_object_get(deploy, "x-kubernetes-group-version-kind"), "[{\"group\":\"apps\",\"version\":\"v1\",\"kind\":\"Deployment\"}]");
  json_t *spec = json_object_get(json_object_get(deploy, "properties"), "spec");
  assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(spec, "allOf"), 0), "$ref")),
                      "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec");
  json_t *ps = json_object_get(schemas, "io.k8s.api.core.v1.PodSpec");
  json_t *containers = drv_json_get(ps, "properties.containers");
  assert_string_equal(drv_json_get_str(containers, "x-kubernetes-patch-merge-key"), "name");
  assert_string_equal(drv_json_get_str(containers, "x-kubernetes-patch-strategy"), "merge");
  assert_string_equal(drv_json_get_str(drv_json_get(ps, "properties.volumes"), "x-kubernetes-patch-strategy"), "merge,retainKeys");
  json_t *req = json_object_get(json_object_get(schemas, "io.k8s.api.apps.v1.DeploymentSpec"), "required");
  assert_json_eq(req, "[\"selector\",\"template\"]");
  json_t *patch = drv_json_get(json_object_get(drv_json_get(d, "paths"), "/apis/apps/v1/namespaces/{namespace}/deployments/{name}"), "patch");
  assert_non_null(patch);
  assert_json_eq(json_object_get(patch, "x-kubernetes-group-version-kind"), "{\"group\":\"apps\",\"version\":\"v1\",\"kind\":\"Deployment\"}");
  assert_non_null(find_named(json_object_get(patch, "parameters"), "name", "fieldValidation"));
  assert_non_null(json_object_get(json_object_get(drv_json_get(d, "paths"), "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"), "put"));
  assert_non_null(json_object_get(schemas, "io.k8s.api.autoscaling.v1.Scale"));
  assert_non_null(json_object_get(schemas, "io.k8s.api.apps.v1.DeploymentList"));
  /* every $ref resolves */
  char *all = json_dumps(d, JSON_COMPACT);
  for (char *p = all; (p = strstr(p, "\"$ref\":\"#/components/schemas/")); p++) {
    char name[256];
    sscanf(p + strlen("\"$ref\":\"#/components/schemas/"), "%255[^\"]", name);
    if (!json_object_get(schemas, name)) fail_msg("dangling $ref %s", name);
  }
  free(all);
  json_decref(d);
  json_decref(idx);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(durations),           cmocka_unit_test(pod_table),
      cmocka_unit_test(other_tables),        cmocka_unit_test(discovery_documents),
      cmocka_unit_test(openapi_documents),
  };
  return cmocka_run_group_tests_name("api_serving", tests, NULL, NULL);
}
