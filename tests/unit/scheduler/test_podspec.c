/* Pod and Node objects → the core's structs: requests (containers summed, init containers'
 * maximum, overhead, limits for missing requests), selectors, affinity, tolerations, ports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scheduler/podspec.h"

static void test_pod(void **st)
{
  drv_sched *s = drv_sched_new(NULL);
  json_t *pod = json_loads(
      "{\"metadata\":{\"name\":\"p\",\"namespace\":\"ns\",\"labels\":{\"app\":\"web\"}},"
      "\"spec\":{\"priority\":7,\"nodeSelector\":{\"disk\":\"ssd\"},"
      "\"containers\":[{\"name\":\"a\",\"resources\":{\"requests\":{\"cpu\":\"250m\",\"memory\":\"64Mi\"}},"
      "\"ports\":[{\"containerPort\":80,\"hostPort\":8080},{\"containerPort\":81}]},"
      "{\"name\":\"b\",\"resources\":{\"limits\":{\"cpu\":\"1\",\"memory\":\"1Gi\"}}}],"
      "\"initContainers\":[{\"name\":\"i\",\"resources\":{\"requests\":{\"cpu\":\"2\"}}}],"
      "\"overhead\":{\"cpu\":\"100m\"},"
      "\"tolerations\":[{\"key\":\"k\",\"operator\":\"Exists\",\"effect\":\"NoSchedule\"},{\"operator\":\"Exists\"}],"
      "\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":{\"nodeSelectorTerms\":"
      "[{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"In\",\"values\":[\"a\",\"b\"]}]}]},"
      "\"preferredDuringSchedulingIgnoredDuringExecution\":[{\"weight\":20,\"preference\":{\"matchExpressions\":"
      "[{\"key\":\"gpu\",\"operator\":\"Exists\"}]}}]},"
      "\"podAntiAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":[{\"labelSelector\":"
      "{\"matchLabels\":{\"app\":\"web\"}},\"topologyKey\":\"kubernetes.io/hostname\"}],"
      "\"preferredDuringSchedulingIgnoredDuringExecution\":[{\"weight\":30,\"podAffinityTerm\":{\"labelSelector\":"
      "{\"matchLabels\":{\"app\":\"web\"}},\"topologyKey\":\"zone\"}}]}},"
      "\"topologySpreadConstraints\":[{\"maxSkew\":2,\"topologyKey\":\"zone\",\"whenUnsatisfiable\":\"ScheduleAnyway\","
      "\"labelSelector\":{\"matchLabels\":{\"app\":\"web\"}}}]}}",
      0, NULL);
  assert_non_null(pod);
  drv_sched_pod p;
  drv_sched_pod_from_json(s, pod, &p);
  assert_int_equal(p.cpu_m, 2000 + 100); /* init container's 2 cores beat 1.25, plus overhead */
  assert_int_equal(p.mem, 64LL * 1024 * 1024 + 1024LL * 1024 * 1024);
  assert_int_equal(p.priority, 7);
  assert_int_equal(p.nlabels, 1);
  assert_int_equal(p.nselector, 1);
  assert_string_equal(drv_sched_string(s, p.selector[0].key), "disk");
  assert_int_equal(p.nrequired, 1);
  assert_int_equal(p.required[0].exprs[0].nvalues, 2);
  assert_int_equal(p.npreferred, 1);
  assert_int_equal(p.preferred[0].weight, 20);
  assert_int_equal(p.ntols, 2);
  assert_true(p.tols[0].exists);
  assert_int_equal(p.tols[0].effect, DRV_SCHED_NO_SCHEDULE);
  assert_int_equal(p.tols[1].key, 0);
  assert_int_equal(p.nports, 1);
  assert_int_equal(p.ports[0].port, 8080);
  assert_int_equal(p.nanti, 1);
  assert_string_equal(drv_sched_string(s, p.anti[0].topology_key), "kubernetes.io/hostname");
  assert_string_equal(drv_sched_string(s, p.ns), "ns");
  assert_int_equal(p.npanti, 1);
  assert_int_equal(p.panti[0].sel.weight, 30);
  assert_int_equal(p.nspread, 1);
  assert_int_equal(p.spread[0].max_skew, 2);
  assert_false(p.spread[0].hard);
  drv_sched_pod_clear(&p);
  json_decref(pod);
  drv_sched_free(s);
}

static void test_node(void **st)
{
  drv_sched *s = drv_sched_new(NULL);
  json_t *node = json_loads(
      "{\"metadata\":{\"name\":\"n1\",\"labels\":{\"kubernetes.io/hostname\":\"n1\",\"zone\":\"a\"}},"
      "\"spec\":{\"unschedulable\":true,\"taints\":[{\"key\":\"t\",\"value\":\"v\",\"effect\":\"NoExecute\"}]},"
      "\"status\":{\"capacity\":{\"cpu\":\"8\",\"memory\":\"16Gi\",\"pods\":\"110\"},"
      "\"allocatable\":{\"cpu\":\"7500m\",\"memory\":\"15Gi\",\"pods\":\"100\"}}}",
      0, NULL);
  drv_sched_node_spec sp;
  drv_sched_label *labels;
  drv_sched_taint *taints;
  drv_sched_node_from_json(s, node, &sp, &labels, &taints);
  assert_string_equal(sp.name, "n1");
  assert_int_equal(sp.cpu_m, 7500);
  assert_int_equal(sp.mem, 15LL * 1024 * 1024 * 1024);
  assert_int_equal(sp.pods, 100);
  assert_true(sp.unschedulable);
  assert_int_equal(sp.nlabels, 2);
  assert_int_equal(sp.ntaints, 1);
  assert_int_equal(sp.taints[0].effect, DRV_SCHED_NO_EXECUTE);
  uint32_t id = drv_sched_node_set(s, &sp);
  free(labels);
  free(taints);
  assert_int_equal(drv_sched_node_find(s, "n1"), id);
  json_decref(node);
  drv_sched_free(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pod),
      cmocka_unit_test(test_node),
  };
  return cmocka_run_group_tests_name("scheduler_podspec", tests, NULL, NULL);
}
