#include "agent/podcgroup.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/quantity.h"
#include "common/json.h"
#include "common/util.h"

#define CPU_PERIOD_US 100000

const char *drv_pod_qos_class(const json_t *spec)
{
  static const char *const lists[] = {"initContainers", "containers"};
  static const char *const keys[] = {"cpu", "memory"};
  bool any = false, guaranteed = true;
  for (size_t l = 0; l < DRV_ARRAY_LEN(lists); l++) {
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(spec, lists[l]), i, c)
    {
      json_t *req = drv_json_get(c, "resources.requests");
      json_t *lim = drv_json_get(c, "resources.limits");
      for (size_t k = 0; k < DRV_ARRAY_LEN(keys); k++) {
        const char *r = json_string_value(json_object_get(req, keys[k]));
        const char *m = json_string_value(json_object_get(lim, keys[k]));
        /* A zero quantity counts as unset, as in Kubernetes. */
        if (r && drv_quantity_parse_milli(r) == 0) r = NULL;
        if (m && drv_quantity_parse_milli(m) == 0) m = NULL;
        if (r || m) any = true;
        /* A missing request defaults to the limit (the server fills it in, too). */
        if (!m || (r && drv_quantity_parse_milli(r) != drv_quantity_parse_milli(m))) guaranteed = false;
      }
    }
  }
  return !any ? "BestEffort" : guaranteed ? "Guaranteed" : "Burstable";
}

char *drv_pod_cgroup_path_for(const char *qos, const char *uid)
{
  const char *sub = !strcmp(qos, "Burstable") ? "/burstable" : !strcmp(qos, "BestEffort") ? "/besteffort" : "";
  return drv_asprintf(DRV_POD_CGROUP_ROOT "%s/pod%s", sub, uid);
}

typedef struct {
  int64_t cpu_req_m, cpu_lim_m, mem_lim;
  bool all_cpu_lim, all_mem_lim;
} sums;

/* Sums one list of containers (mode sum) or takes their maximum (init containers run one at a
 * time). */
static int sum_list(const json_t *arr, bool max, sums *s, drv_err *err)
{
  size_t i;
  json_t *c;
  json_array_foreach(arr, i, c)
  {
    const char *name = json_string_value(json_object_get(c, "name")) ?: "";
    json_t *req = drv_json_get(c, "resources.requests");
    json_t *lim = drv_json_get(c, "resources.limits");
    const char *cr = json_string_value(json_object_get(req, "cpu"));
    const char *cl = json_string_value(json_object_get(lim, "cpu"));
    const char *ml = json_string_value(json_object_get(lim, "memory"));
    if (!cr) cr = cl;
    int64_t v[3] = {0, 0, 0};
    const char *q[3] = {cr, cl, ml};
    const char *what[3] = {"requests.cpu", "limits.cpu", "limits.memory"};
    for (int k = 0; k < 3; k++) {
      if (!q[k]) continue;
      v[k] = k == 2 ? drv_quantity_parse_value(q[k]) : drv_quantity_parse_milli(q[k]);
      if (v[k] < 0)
        return drv_error(err, EINVAL, "container `%s`: resources.%s `%s` is not a quantity", name, what[k], q[k]);
    }
    if (!cl || v[1] == 0) s->all_cpu_lim = false;
    if (!ml || v[2] == 0) s->all_mem_lim = false;
    if (max) {
      if (v[0] > s->cpu_req_m) s->cpu_req_m = v[0];
      if (v[1] > s->cpu_lim_m) s->cpu_lim_m = v[1];
      if (v[2] > s->mem_lim) s->mem_lim = v[2];
    } else {
      s->cpu_req_m += v[0];
      s->cpu_lim_m += v[1];
      s->mem_lim += v[2];
    }
  }
  return 0;
}

int drv_pod_cgroup_resources(const json_t *spec, int64_t pod_max_pids, drv_cgroup_resources *res,
                             drv_err *err)
{
  drv_cgroup_resources_init(res);
  sums app = {.all_cpu_lim = true, .all_mem_lim = true};
  sums init = {.all_cpu_lim = true, .all_mem_lim = true};
  if (sum_list(json_object_get(spec, "containers"), false, &app, err) < 0 ||
      sum_list(json_object_get(spec, "initContainers"), true, &init, err) < 0)
    return -1;
  /* What the pod needs at any moment: the larger of its init phase and its app phase. */
  int64_t req = app.cpu_req_m > init.cpu_req_m ? app.cpu_req_m : init.cpu_req_m;
  int64_t cpu_lim = app.cpu_lim_m > init.cpu_lim_m ? app.cpu_lim_m : init.cpu_lim_m;
  int64_t mem_lim = app.mem_lim > init.mem_lim ? app.mem_lim : init.mem_lim;
  const char *qos = drv_pod_qos_class(spec);
  int64_t shares = !strcmp(qos, "BestEffort") ? 2 : req * 1024 / 1000;
  res->cpu.shares = (drv_opt_u64){true, (uint64_t)(shares < 2 ? 2 : shares)};
  if (strcmp(qos, "BestEffort") != 0 && app.all_cpu_lim && init.all_cpu_lim && cpu_lim > 0) {
    int64_t quota = cpu_lim * CPU_PERIOD_US / 1000;
    res->cpu.quota = (drv_opt_i64){true, quota < 1000 ? 1000 : quota};
    res->cpu.period = (drv_opt_u64){true, CPU_PERIOD_US};
  }
  /* Below the runtime's minimum (1 MiB) the pod group stays unlimited: the container's own
   * limit then fails its start and the container status says why (StartError), as with kubelet. */
  if (strcmp(qos, "BestEffort") != 0 && app.all_mem_lim && init.all_mem_lim && mem_lim >= (1 << 20))
    res->memory.limit = (drv_opt_i64){true, mem_lim};
  if (pod_max_pids > 0) res->pids.limit = (drv_opt_i64){true, pod_max_pids};
  return 0;
}

int drv_pod_cgroup_setup(drv_cgroup_system *sys, const json_t *spec, const char *uid, int64_t pod_max_pids,
                         char **path_out, drv_err *err)
{
  const char *qos = drv_pod_qos_class(spec);
  if (!strcmp(qos, "BestEffort")) {
    /* The BestEffort parent gets the least cpu weight there is, as kubelet gives it. */
    drv_cgroup_resources be;
    drv_cgroup_resources_init(&be);
    be.cpu.shares = (drv_opt_u64){true, 2};
    drv_cgroup *qcg = NULL;
    if (drv_cgroup_create(sys, DRV_POD_CGROUP_ROOT "/besteffort", "besteffort", &be, 0, &qcg, err) < 0)
      return drv_err_prefix(err, "QoS cgroup " DRV_POD_CGROUP_ROOT "/besteffort");
    drv_cgroup_free(qcg);
  }
  drv_cgroup_resources res;
  if (drv_pod_cgroup_resources(spec, pod_max_pids, &res, err) < 0) return -1;
  _cleanup_free_ char *path = drv_pod_cgroup_path_for(qos, uid);
  drv_cgroup *cg = NULL;
  int r = drv_cgroup_create(sys, path, uid, &res, 0, &cg, err);
  drv_cgroup_resources_free(&res);
  if (r < 0) return drv_err_prefix(err, "pod cgroup `%s`", path);
  drv_cgroup_free(cg);
  *path_out = drv_steal_ptr(path);
  return 0;
}

int drv_pod_cgroup_enter_sandbox(drv_cgroup_system *sys, const char *pod_path, pid_t pid, drv_err *err)
{
  _cleanup_free_ char *path = drv_asprintf("%s/sandbox", pod_path);
  drv_cgroup *cg = NULL;
  if (drv_cgroup_create(sys, path, "sandbox", NULL, 0, &cg, err) < 0)
    return drv_err_prefix(err, "sandbox cgroup `%s`", path);
  int r = drv_cgroup_enter(cg, pid, 0, err);
  drv_cgroup_free(cg);
  if (r < 0) return drv_err_prefix(err, "sandbox cgroup `%s`", path);
  return 0;
}
