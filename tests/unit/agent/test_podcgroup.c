/* Pod-level cgroups: QoS classes, the pod's summed resources, and the groups written into a
 * fixture cgroup v2 tree (a temp dir laid out like /sys/fs/cgroup). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/podcgroup.h"
#include "common/fs.h"
#include "common/util.h"

static json_t *spec(const char *text)
{
  json_error_t je;
  json_t *j = json_loads(text, 0, &je);
  if (!j) fail_msg("%s: %s", text, je.text);
  return j;
}

#define BE "{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]}"
#define BURST                                                                                       \
  "{\"containers\":[{\"name\":\"a\",\"resources\":{\"requests\":{\"cpu\":\"250m\",\"memory\":\"64Mi\"}," \
  "\"limits\":{\"cpu\":\"500m\",\"memory\":\"128Mi\"}}},"                                             \
  "{\"name\":\"b\",\"resources\":{\"limits\":{\"cpu\":\"1\",\"memory\":\"256Mi\"}}}],"                 \
  "\"initContainers\":[{\"name\":\"i\",\"resources\":{\"limits\":{\"cpu\":\"2\",\"memory\":\"64Mi\"}}}]}"
#define GUAR                                                                                        \
  "{\"containers\":[{\"name\":\"a\",\"resources\":{\"requests\":{\"cpu\":\"1\",\"memory\":\"1Gi\"},"    \
  "\"limits\":{\"cpu\":\"1\",\"memory\":\"1Gi\"}}},"                                                   \
  "{\"name\":\"b\",\"resources\":{\"limits\":{\"cpu\":\"500m\",\"memory\":\"512Mi\"}}}]}"

static void qos_classes(void **state)
{
  (void)state;
  const char *cases[][2] = {
      {BE, "BestEffort"},
      {BURST, "Burstable"},
      {GUAR, "Guaranteed"},
      /* a request without a limit */
      {"{\"containers\":[{\"name\":\"a\",\"resources\":{\"requests\":{\"memory\":\"1Mi\"}}}]}", "Burstable"},
      /* only one container with both limits */
      {"{\"containers\":[{\"name\":\"a\",\"resources\":{\"limits\":{\"cpu\":\"1\",\"memory\":\"1Mi\"}}},"
       "{\"name\":\"b\"}]}", "Burstable"},
      /* requests differ from limits */
      {"{\"containers\":[{\"name\":\"a\",\"resources\":{\"requests\":{\"cpu\":\"500m\",\"memory\":\"1Mi\"},"
       "\"limits\":{\"cpu\":\"1\",\"memory\":\"1Mi\"}}}]}", "Burstable"},
      /* only other resources: still BestEffort */
      {"{\"containers\":[{\"name\":\"a\",\"resources\":{\"limits\":{\"ephemeral-storage\":\"1Gi\"}}}]}", "BestEffort"},
  };
  for (size_t i = 0; i < DRV_ARRAY_LEN(cases); i++) {
    json_t *s = spec(cases[i][0]);
    assert_string_equal(drv_pod_qos_class(s), cases[i][1]);
    json_decref(s);
  }
  _cleanup_free_ char *p1 = drv_pod_cgroup_path_for("Guaranteed", "u1");
  _cleanup_free_ char *p2 = drv_pod_cgroup_path_for("Burstable", "u2");
  _cleanup_free_ char *p3 = drv_pod_cgroup_path_for("BestEffort", "u3");
  assert_string_equal(p1, "/drover/kubepods/podu1");
  assert_string_equal(p2, "/drover/kubepods/burstable/podu2");
  assert_string_equal(p3, "/drover/kubepods/besteffort/podu3");
}

static void summed_resources(void **state)
{
  (void)state;
  drv_cgroup_resources r;
  drv_err err;
  json_t *s = spec(BURST);
  assert_int_equal(drv_pod_cgroup_resources(s, 100, &r, &err), 0);
  /* requests: 250m + 1 (b's limit) = 1250m vs init 2 → 2000m */
  assert_true(r.cpu.shares.set);
  assert_int_equal(r.cpu.shares.v, 2048);
  /* limits: 500m + 1 = 1500m vs init 2 → 2 cpus */
  assert_true(r.cpu.quota.set);
  assert_int_equal(r.cpu.quota.v, 200000);
  assert_int_equal(r.cpu.period.v, 100000);
  /* memory: 128Mi + 256Mi = 384Mi vs init 64Mi */
  assert_true(r.memory.limit.set);
  assert_int_equal(r.memory.limit.v, 384ll << 20);
  assert_true(r.pids.limit.set);
  assert_int_equal(r.pids.limit.v, 100);
  drv_cgroup_resources_free(&r);
  json_decref(s);

  /* one container without a memory limit: no pod memory limit, cpu quota still */
  s = spec("{\"containers\":[{\"name\":\"a\",\"resources\":{\"limits\":{\"cpu\":\"1\",\"memory\":\"1Mi\"}}},"
           "{\"name\":\"b\",\"resources\":{\"limits\":{\"cpu\":\"100m\"}}}]}");
  assert_int_equal(drv_pod_cgroup_resources(s, 0, &r, &err), 0);
  assert_false(r.memory.limit.set);
  assert_true(r.cpu.quota.set);
  assert_int_equal(r.cpu.quota.v, 110000);
  assert_false(r.pids.limit.set);
  drv_cgroup_resources_free(&r);
  json_decref(s);

  s = spec(BE);
  assert_int_equal(drv_pod_cgroup_resources(s, 0, &r, &err), 0);
  assert_int_equal(r.cpu.shares.v, 2);
  assert_false(r.cpu.quota.set);
  assert_false(r.memory.limit.set);
  drv_cgroup_resources_free(&r);
  json_decref(s);

  s = spec("{\"containers\":[{\"name\":\"bad\",\"resources\":{\"limits\":{\"memory\":\"lots\"}}}]}");
  assert_int_equal(drv_pod_cgroup_resources(s, 0, &r, &err), -1);
  assert_non_null(strstr(err.msg, "container `bad`"));
  assert_non_null(strstr(err.msg, "lots"));
  json_decref(s);
}

static void put(const char *dir, const char *file, const char *content)
{
  _cleanup_free_ char *p = drv_asprintf("%s/%s", dir, file);
  drv_err err;
  assert_int_equal(drv_mkdir_p(dir, 0755, &err), 0);
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fputs(content, f);
  fclose(f);
}

static void assert_file(const char *dir, const char *file, const char *want)
{
  _cleanup_free_ char *p = drv_asprintf("%s/%s", dir, file);
  char *data = NULL;
  drv_err err;
  if (drv_read_file(p, 0, &data, NULL, &err) < 0) fail_msg("%s", err.msg);
  if (strcmp(data, want) != 0) fail_msg("%s: `%s`, want `%s`", p, data, want);
  free(data);
}

static void v2_pod_groups(void **state)
{
  (void)state;
  char root[] = "/tmp/drv-test-podcg-XXXXXX";
  assert_non_null(mkdtemp(root));
  put(root, "cgroup.controllers", "cpuset cpu io memory pids\n");
  put(root, "cgroup.subtree_control", "");
  put(root, "cgroup.procs", "");
  /* What the kernel puts into each new group of a real cgroup2 mount. */
  const char *dirs[] = {"drover", "drover/kubepods", "drover/kubepods/poduid-g", "drover/kubepods/besteffort",
                        "drover/kubepods/besteffort/poduid-b", "drover/kubepods/besteffort/poduid-b/sandbox"};
  for (size_t i = 0; i < DRV_ARRAY_LEN(dirs); i++) {
    _cleanup_free_ char *d = drv_asprintf("%s/%s", root, dirs[i]);
    put(d, "cgroup.controllers", "cpuset cpu io memory pids\n");
    put(d, "cgroup.subtree_control", "");
    put(d, "cgroup.procs", "");
    const char *files[] = {"cpu.weight", "cpu.max", "memory.max", "memory.swap.max", "pids.max"};
    for (size_t k = 0; k < DRV_ARRAY_LEN(files); k++) put(d, files[k], "");
  }
  drv_cgroup_system *sys = NULL;
  drv_err err;
  assert_int_equal(drv_cgroup_system_from_root(DRV_CGROUP_MODE_V2, root, &sys, &err), 0);

  json_t *s = spec(GUAR);
  char *path = NULL;
  if (drv_pod_cgroup_setup(sys, s, "uid-g", 0, &path, &err) < 0) fail_msg("%s", err.msg);
  assert_string_equal(path, "/drover/kubepods/poduid-g");
  _cleanup_free_ char *g = drv_asprintf("%s%s", root, path);
  assert_file(g, "memory.max", "1610612736"); /* 1Gi + 512Mi */
  assert_file(g, "cpu.max", "150000 100000");
  assert_file(g, "cpu.weight", "59"); /* shares 1536 → weight, as runc converts */
  free(path);
  json_decref(s);

  s = spec(BE);
  if (drv_pod_cgroup_setup(sys, s, "uid-b", 64, &path, &err) < 0) fail_msg("%s", err.msg);
  assert_string_equal(path, "/drover/kubepods/besteffort/poduid-b");
  _cleanup_free_ char *b = drv_asprintf("%s%s", root, path);
  _cleanup_free_ char *bq = drv_asprintf("%s/drover/kubepods/besteffort", root);
  assert_file(b, "pids.max", "64");
  assert_file(b, "cpu.weight", "1");
  assert_file(bq, "cpu.weight", "1");
  /* the parents pass the controllers down */
  _cleanup_free_ char *kp = drv_asprintf("%s/drover/kubepods", root);
  _cleanup_free_ char *sc = drv_asprintf("%s/cgroup.subtree_control", kp);
  char *text = NULL;
  assert_int_equal(drv_read_file(sc, 0, &text, NULL, &err), 0);
  assert_non_null(strstr(text, "+memory"));
  assert_non_null(strstr(text, "+pids"));
  free(text);
  /* the sandbox goes into its own leaf under the pod */
  _cleanup_free_ char *leaf = drv_asprintf("%s/sandbox", b);
  if (drv_pod_cgroup_enter_sandbox(sys, path, 4242, &err) < 0) fail_msg("%s", err.msg);
  assert_file(leaf, "cgroup.procs", "4242");
  free(path);
  json_decref(s);

  drv_cgroup_system_free(sys);
  drv_rm_rf(root, &err);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(qos_classes),
      cmocka_unit_test(summed_resources),
      cmocka_unit_test(v2_pod_groups),
  };
  return cmocka_run_group_tests_name("agent_podcgroup", tests, NULL, NULL);
}
