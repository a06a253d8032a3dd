/* cgroup code against fixture trees (temp dirs laid out like /sys/fs/cgroup in each mode),
 * detection from fake mountinfo, resources translation for v1 and v2, stats parsing, and the
 * eBPF device program run through a small interpreter. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/util.h"
#include "runtime/cgroup.h"
#include "runtime/cgroup_internal.h"

/* ---- fixture helpers ------------------------------------------------------------------------- */

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

static char *get(const char *dir, const char *file)
{
  _cleanup_free_ char *p = drv_asprintf("%s/%s", dir, file);
  char *data = NULL;
  drv_err err;
  if (drv_read_file(p, 0, &data, NULL, &err) < 0) return drv_strdup("<missing>");
  return data;
}

#define assert_file(dir, file, want)                                                               \
  do {                                                                                             \
    _cleanup_free_ char *got_ = get(dir, file);                                                    \
    assert_string_equal(got_, want);                                                               \
  } while (0)

static char *tmpdir(void)
{
  char t[] = "/tmp/drv-test-cg-XXXXXX";
  assert_non_null(mkdtemp(t));
  return drv_strdup(t);
}

static void rmtree(const char *d)
{
  drv_err err;
  drv_rm_rf(d, &err);
}

static int parse_res(const char *json, drv_cgroup_resources *res, drv_err *err)
{
  json_error_t je;
  json_t *j = json_loads(json, 0, &je);
  assert_non_null(j);
  int r = drv_cgroup_resources_from_json(j, res, err);
  json_decref(j);
  return r;
}

/* ---- detection ------------------------------------------------------------------------------- */

static const char *HYBRID_MI =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory\n"
    "36 31 0:33 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

static void detect_hybrid(void **state)
{
  (void)state;
  const char *pc = "9:name=systemd:/\n4:memory:/process_api/x\n3:freezer:/\n1:cpu:/\n0::/\n";
  drv_cgroup_system *sys;
  drv_err err;
  assert_int_equal(drv_cgroup_system_detect(HYBRID_MI, pc, &sys, &err), 0);
  assert_int_equal(drv_cgroup_system_mode(sys), DRV_CGROUP_MODE_HYBRID);
  assert_string_equal(drv_cgroup_system_unified_mount(sys), "/sys/fs/cgroup/unified");
  assert_string_equal(drv_cgroup_system_v1_mount(sys, DRV_CG_MEMORY), "/sys/fs/cgroup/memory");
  assert_null(drv_cgroup_system_v1_mount(sys, DRV_CG_PIDS));
  assert_int_equal(drv_cgroup_system_controllers(sys),
                   DRV_CG_CPU | DRV_CG_CPUACCT | DRV_CG_MEMORY | DRV_CG_FREEZER);
  assert_string_equal(drv_cgroup_system_own_path(sys, DRV_CG_MEMORY), "/process_api/x");
  assert_string_equal(drv_cgroup_system_own_path(sys, 0), "/");
  assert_string_equal(drv_cgroup_mode_name(drv_cgroup_system_mode(sys)), "hybrid");
  drv_cgroup_system_free(sys);
}

static void detect_v1_comounted(void **state)
{
  (void)state;
  const char *mi =
      "25 20 0:22 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n"
      "26 25 0:23 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct\n"
      "27 25 0:24 / /sys/fs/cgroup/my\\040dir rw - cgroup cgroup rw,pids\n"
      "28 25 0:24 / /mnt/pids-again rw - cgroup cgroup rw,pids\n";
  const char *pc = "2:cpu,cpuacct:/a\n1:pids:/b\n";
  drv_cgroup_system *sys;
  drv_err err;
  assert_int_equal(drv_cgroup_system_detect(mi, pc, &sys, &err), 0);
  assert_int_equal(drv_cgroup_system_mode(sys), DRV_CGROUP_MODE_V1);
  assert_string_equal(drv_cgroup_system_v1_mount(sys, DRV_CG_CPUACCT),
                      "/sys/fs/cgroup/cpu,cpuacct");
  assert_string_equal(drv_cgroup_system_v1_mount(sys, DRV_CG_PIDS), "/sys/fs/cgroup/my dir");
  assert_string_equal(drv_cgroup_system_own_path(sys, DRV_CG_CPU), "/a");
  assert_string_equal(drv_cgroup_system_own_path(sys, DRV_CG_PIDS), "/b");
  assert_null(drv_cgroup_system_unified_mount(sys));
  drv_cgroup_system_free(sys);
}

static void detect_v2_and_none(void **state)
{
  (void)state;
  char *root = tmpdir();
  put(root, "cgroup.controllers", "cpuset cpu io memory pids\n");
  _cleanup_free_ char *mi =
      drv_asprintf("30 20 0:26 / %s rw shared:4 - cgroup2 cgroup2 rw,nsdelegate\n", root);
  drv_cgroup_system *sys;
  drv_err err;
  assert_int_equal(drv_cgroup_system_detect(mi, "0::/user.slice\n", &sys, &err), 0);
  assert_int_equal(drv_cgroup_system_mode(sys), DRV_CGROUP_MODE_V2);
  assert_int_equal(drv_cgroup_system_controllers(sys),
                   DRV_CG_CPUSET | DRV_CG_CPU | DRV_CG_BLKIO | DRV_CG_MEMORY | DRV_CG_PIDS);
  assert_string_equal(drv_cgroup_system_own_path(sys, 0), "/user.slice");
  drv_cgroup_system_free(sys);
  /* Named hierarchies alone (name=systemd) and no cgroup2: nothing to manage. */
  assert_int_equal(drv_cgroup_system_detect("1 0 0:1 / /x rw - cgroup cgroup rw,name=systemd\n",
                                            NULL, &sys, &err),
                   -1);
  assert_non_null(strstr(err.msg, "no cgroup"));
  rmtree(root);
  free(root);
}

static void dynmods_remount_keeps_options(void **state)
{
  (void)state;
  const char *mi = "30 20 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 "
                   "cgroup2 rw,nsdelegate,memory_recursiveprot\n"
                   "41 31 0:38 / /mnt/u ro,relatime - cgroup2 cgroup2 ro,favordynmods\n"
                   "42 31 0:39 / /mnt/v1 rw - cgroup cgroup rw,cpu\n";
  unsigned long flags = 0;
  char *data = NULL;
  assert_int_equal(drv_cg_dynmods_remount_args(mi, "/sys/fs/cgroup", &flags, &data), 0);
  assert_int_equal(flags, MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME);
  assert_string_equal(data, "nsdelegate,memory_recursiveprot,favordynmods");
  free(data);
  assert_int_equal(drv_cg_dynmods_remount_args(mi, "/mnt/u", &flags, &data), 1);
  assert_int_equal(drv_cg_dynmods_remount_args(mi, "/mnt/v1", &flags, &data), -1);
  assert_int_equal(drv_cg_dynmods_remount_args(mi, "/nowhere", &flags, &data), -1);
}

/* ---- paths ----------------------------------------------------------------------------------- */

static void resolve_paths(void **state)
{
  (void)state;
  drv_err err;
  char *p;
  assert_int_equal(drv_cgroup_resolve_path("/a/b", "x", false, &p, &err), 0);
  assert_string_equal(p, "/a/b");
  free(p);
  assert_int_equal(drv_cgroup_resolve_path("a//b/", "x", false, &p, &err), 0);
  assert_string_equal(p, "/drover/a/b");
  free(p);
  assert_int_equal(drv_cgroup_resolve_path(NULL, "ctr1", false, &p, &err), 0);
  assert_string_equal(p, "/drover/ctr1");
  free(p);
  assert_int_equal(drv_cgroup_resolve_path("machine-a-b.slice:drover:x", "x", false, &p, &err), 0);
  assert_string_equal(p, "/machine.slice/machine-a.slice/machine-a-b.slice/drover-x.scope");
  free(p);
  assert_int_equal(drv_cgroup_resolve_path(":docker:abc", "abc", true, &p, &err), 0);
  assert_string_equal(p, "/system.slice/docker-abc.scope");
  free(p);
  assert_int_equal(drv_cgroup_resolve_path("-.slice:p:n", "n", true, &p, &err), 0);
  assert_string_equal(p, "/p-n.scope");
  free(p);
  assert_int_equal(drv_cgroup_resolve_path("system.slice::pod.slice", "n", true, &p, &err), 0);
  assert_string_equal(p, "/pod.slice");
  free(p);
  assert_int_equal(drv_cgroup_resolve_path("/a/../b", "x", false, &p, &err), -1);
  assert_non_null(strstr(err.msg, "`..`"));
  assert_int_equal(drv_cgroup_resolve_path("/a", "x", true, &p, &err), -1);
  assert_non_null(strstr(err.msg, "slice:prefix:name"));
  assert_int_equal(drv_cgroup_resolve_path("a--b.slice:p:n", "n", false, &p, &err), -1);
  assert_non_null(strstr(err.msg, "a--b.slice"));
  assert_int_equal(drv_cgroup_resolve_path("/", "x", false, &p, &err), -1);
  assert_int_equal(drv_cgroup_resolve_path(NULL, "../x", false, &p, &err), -1);
}

/* ---- resources JSON -------------------------------------------------------------------------- */

static void json_errors_name_the_field(void **state)
{
  (void)state;
  static const struct {
    const char *json, *want;
  } cases[] = {
      {"{\"memory\":{\"limit\":\"lots\"}}", "linux.resources.memory.limit: expected an integer"},
      {"{\"memory\":{\"limit\":1}}", "linux.resources.memory.limit: 1 is below the minimum"},
      {"{\"memory\":{\"limit\":4194304,\"swap\":1048576}}",
       "linux.resources.memory.swap: 1048576 is below"},
      {"{\"memory\":{\"swappiness\":101}}", "linux.resources.memory.swappiness: 101 is above 100"},
      {"{\"cpu\":{\"shares\":1}}", "linux.resources.cpu.shares: 1 is outside"},
      {"{\"cpu\":{\"quota\":10}}", "linux.resources.cpu.quota: 10 is below"},
      {"{\"cpu\":{\"period\":10}}", "linux.resources.cpu.period: 10 is outside"},
      {"{\"cpu\":{\"cpus\":\"0-\"}}", "linux.resources.cpu.cpus `0-`: not a cpu list"},
      {"{\"cpu\":{\"shares\":-5}}", "linux.resources.cpu.shares: expected a non-negative"},
      {"{\"devices\":[{\"allow\":true,\"type\":\"x\"}]}", "linux.resources.devices[0].type: `x`"},
      {"{\"devices\":[{\"allow\":true,\"access\":\"rwx\"}]}",
       "linux.resources.devices[0].access: `rwx`"},
      {"{\"devices\":[{\"type\":\"c\"}]}",
       "linux.resources.devices[0].allow: expected true or false"},
      {"{\"blockIO\":{\"weight\":5}}", "linux.resources.blockIO.weight: 5 is outside 10..1000"},
      {"{\"blockIO\":{\"throttleReadBpsDevice\":[{\"major\":8,\"rate\":1}]}}",
       "linux.resources.blockIO.throttleReadBpsDevice[0].minor: required"},
      {"{\"hugepageLimits\":[{\"pageSize\":\"2XB\",\"limit\":1}]}",
       "linux.resources.hugepageLimits[0].pageSize: `2XB`"},
      {"{\"unified\":{\"../x\":\"1\"}}", "linux.resources.unified: `../x`"},
      {"{\"unified\":{\"cgroup.procs\":\"1\"}}", "linux.resources.unified.cgroup.procs: managed"},
      {"{\"unified\":{\"memory.high\":5}}",
       "linux.resources.unified.memory.high: expected a string"},
      {"{\"pids\":[]}", "linux.resources.pids: expected an object"},
      {"[]", "linux.resources: expected an object"},
  };
  for (size_t i = 0; i < DRV_ARRAY_LEN(cases); i++) {
    drv_cgroup_resources res;
    drv_err err;
    int r = parse_res(cases[i].json, &res, &err);
    if (r == 0) {
      r = drv_cgroup_resources_validate(&res, &err);
      drv_cgroup_resources_free(&res);
    }
    if (r != -1 || !strstr(err.msg, cases[i].want))
      fail_msg("case %zu: got `%s`", i, r ? err.msg : "success");
  }
}

static void json_full_parse(void **state)
{
  (void)state;
  drv_cgroup_resources res;
  drv_err err;
  assert_int_equal(
      parse_res(
          "{\"devices\":[{\"allow\":false,\"access\":\"rwm\"},"
          "{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":3,\"access\":\"rw\"}],"
          "\"memory\":{\"limit\":67108864,\"swap\":-1,\"disableOOMKiller\":true},"
          "\"cpu\":{\"shares\":512,\"quota\":50000,\"period\":100000,\"cpus\":\"0\"},"
          "\"pids\":{\"limit\":10},\"rdma\":{\"mlx5_0\":{\"hcaHandles\":3}},"
          "\"network\":{\"classID\":1048577,\"priorities\":[{\"name\":\"eth0\",\"priority\":5}]}}",
          &res, &err),
      0);
  assert_int_equal(res.n_devices, 2);
  assert_int_equal(res.devices[0].type, 'a');
  assert_false(res.devices[0].allow);
  assert_int_equal(res.devices[1].major, 1);
  assert_string_equal(res.devices[1].access, "rw");
  assert_true(res.memory.limit.set);
  assert_int_equal(res.memory.swap.v, -1);
  assert_true(res.memory.disable_oom_killer.v);
  assert_int_equal(res.cpu.shares.v, 512);
  assert_string_equal(res.cpu.cpus, "0");
  assert_int_equal(res.pids.limit.v, 10);
  assert_string_equal(res.rdma[0].device, "mlx5_0");
  assert_string_equal(res.network.priorities[0].value, "5");
  assert_int_equal(drv_cgroup_resources_validate(&res, &err), 0);
  size_t before = res.n_devices;
  drv_cgroup_resources_add_default_devices(&res);
  assert_true(res.n_devices > before + 8);
  drv_cgroup_resources_free(&res);
  assert_int_equal(drv_cgroup_resources_from_json(NULL, &res, &err), 0);
  drv_cgroup_resources_free(&res);
}

/* ---- conversions ----------------------------------------------------------------------------- */

static void conversions(void **state)
{
  (void)state;
  assert_int_equal(drv_cg_shares_to_weight(2), 1);
  assert_int_equal(drv_cg_shares_to_weight(1024), 39);
  assert_int_equal(drv_cg_shares_to_weight(262144), 10000);
  assert_int_equal(drv_cg_blkio_to_io_weight(10), 1);
  assert_int_equal(drv_cg_blkio_to_io_weight(500), 4950);
  assert_int_equal(drv_cg_blkio_to_io_weight(1000), 10000);

  drv_cgroup_resources r;
  drv_cgroup_resources_init(&r);
  int64_t out;
  bool unset;
  drv_err err;
  /* memory+swap 300M with memory 100M → 200M of swap */
  r.memory.limit = (drv_opt_i64){true, 100 << 20};
  r.memory.swap = (drv_opt_i64){true, 300 << 20};
  assert_int_equal(drv_cg_swap_to_v2(&r, &out, &unset, &err), 0);
  assert_false(unset);
  assert_int_equal(out, 200 << 20);
  r.memory.swap.v = 100 << 20; /* equal: no swap at all */
  assert_int_equal(drv_cg_swap_to_v2(&r, &out, &unset, &err), 0);
  assert_int_equal(out, 0);
  r.memory.swap.v = -1;
  assert_int_equal(drv_cg_swap_to_v2(&r, &out, &unset, &err), 0);
  assert_int_equal(out, -1);
  r.memory.swap.set = false;
  assert_int_equal(drv_cg_swap_to_v2(&r, &out, &unset, &err), 0);
  assert_true(unset);
  r.memory.limit.v = -1; /* unlimited memory, swap unsaid → both unlimited */
  assert_int_equal(drv_cg_swap_to_v2(&r, &out, &unset, &err), 0);
  assert_false(unset);
  assert_int_equal(out, -1);
  r.memory.limit.set = false;
  r.memory.swap = (drv_opt_i64){true, 1 << 20};
  assert_int_equal(drv_cg_swap_to_v2(&r, &out, &unset, &err), -1);
  assert_non_null(strstr(err.msg, "needs a memory.limit"));

  uint64_t bits[16];
  assert_int_equal(drv_cg_parse_cpu_list("0-2,5", bits), 0);
  assert_int_equal(bits[0], 0x27);
  assert_int_equal(drv_cg_parse_cpu_list("3-1", bits), -1);
  assert_int_equal(drv_cg_parse_cpu_list("a", bits), -1);
  assert_int_equal(drv_cg_parse_cpu_list("", bits), 0);
}

/* ---- v2 fixture ------------------------------------------------------------------------------ */

static const char *const V2_LEAF_FILES[] = {
    "cgroup.procs",
    "cgroup.freeze",
    "cgroup.kill",
    "cgroup.controllers",
    "cgroup.subtree_control",
    "cpu.weight",
    "cpu.max",
    "cpu.max.burst",
    "cpu.idle",
    "cpuset.cpus",
    "cpuset.mems",
    "memory.max",
    "memory.low",
    "memory.swap.max",
    "memory.current",
    "pids.max",
    "io.weight",
    "io.max",
    "hugetlb.2MB.max",
    "hugetlb.2MB.rsvd.max",
    "rdma.max",
    "memory.high",
};

static char *v2_fixture(drv_cgroup_system **sys)
{
  char *root = tmpdir();
  put(root, "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
  put(root, "cgroup.subtree_control", "");
  put(root, "cgroup.procs", "");
  _cleanup_free_ char *mid = drv_asprintf("%s/drover", root);
  put(mid, "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
  put(mid, "cgroup.subtree_control", "");
  put(mid, "cpuset.cpus.effective", "0-1\n");
  put(mid, "cpuset.mems.effective", "0\n");
  _cleanup_free_ char *leaf = drv_asprintf("%s/drover/c1", root);
  for (size_t i = 0; i < DRV_ARRAY_LEN(V2_LEAF_FILES); i++)
    put(leaf, V2_LEAF_FILES[i], "");
  put(leaf, "cpu.max", "max 100000\n");
  put(leaf, "memory.current", "1048576\n");
  put(leaf, "cgroup.events", "populated 1\nfrozen 0\n");
  drv_err err;
  assert_int_equal(drv_cgroup_system_from_root(DRV_CGROUP_MODE_V2, root, sys, &err), 0);
  return root;
}

static void v2_resources(void **state)
{
  (void)state;
  drv_cgroup_system *sys;
  _cleanup_free_ char *root = v2_fixture(&sys);
  drv_cgroup_resources res;
  drv_err err;
  assert_int_equal(
      parse_res("{\"cpu\":{\"shares\":1024,\"quota\":50000,\"burst\":1000,\"idle\":0,"
                "\"cpus\":\"1\",\"mems\":\"0\"},"
                "\"memory\":{\"limit\":104857600,\"reservation\":52428800,\"swap\":209715200,"
                "\"kernel\":1},"
                "\"pids\":{\"limit\":-1},"
                "\"blockIO\":{\"weight\":500,\"weightDevice\":[{\"major\":8,\"minor\":0,\"weight\":"
                "1000}],"
                "\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0,\"rate\":1048576}],"
                "\"throttleWriteIOPSDevice\":[{\"major\":8,\"minor\":16,\"rate\":0}]},"
                "\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":4194304}],"
                "\"rdma\":{\"mlx5_0\":{\"hcaHandles\":2,\"hcaObjects\":2000}},"
                "\"unified\":{\"memory.high\":\"90000000\"}}",
                &res, &err),
      0);
  drv_cgroup *cg;
  if (drv_cgroup_create(sys, "c1", "c1", &res, 0, &cg, &err) < 0) fail_msg("%s", err.msg);
  const char *d = drv_cgroup_dir(cg, DRV_CG_MEMORY);
  _cleanup_free_ char *want_dir = drv_asprintf("%s/drover/c1", root);
  assert_string_equal(d, want_dir);
  assert_file(root, "cgroup.subtree_control",
              "+cpu +cpuset +memory +io +pids +hugetlb +rdma +misc");
  assert_file(d, "cpu.weight", "39");
  assert_file(d, "cpu.max", "50000 100000");
  assert_file(d, "cpu.max.burst", "1000");
  assert_file(d, "cpu.idle", "0");
  assert_file(d, "cpuset.cpus", "1");
  assert_file(d, "cpuset.mems", "0");
  assert_file(d, "memory.max", "104857600");
  assert_file(d, "memory.low", "52428800");
  assert_file(d, "memory.swap.max", "104857600");
  assert_file(d, "pids.max", "max");
  assert_file(d, "io.weight", "8:0 10000"); /* the last write: the per-device weight */
  assert_file(d, "io.max", "8:16 wiops=max\n");
  assert_file(d, "hugetlb.2MB.max", "4194304");
  assert_file(d, "hugetlb.2MB.rsvd.max", "4194304");
  assert_file(d, "rdma.max", "mlx5_0 hca_handle=2 hca_object=2000");
  assert_file(d, "memory.high", "90000000");
  drv_cgroup_resources_free(&res);

  /* update: only the period; cpu.max keeps the quota in place. */
  assert_int_equal(
      parse_res("{\"cpu\":{\"period\":200000},\"blockIO\":{\"weight\":10}}", &res, &err), 0);
  if (drv_cgroup_update(cg, &res, &err) < 0) fail_msg("%s", err.msg);
  assert_file(d, "cpu.max", "50000 200000");
  assert_file(d, "io.weight", "default 1");
  drv_cgroup_resources_free(&res);

  /* v1-only knobs are refused by name on v2. */
  static const char *const refused[][2] = {
      {"{\"memory\":{\"swappiness\":10}}", "linux.resources.memory.swappiness"},
      {"{\"memory\":{\"disableOOMKiller\":true}}", "linux.resources.memory.disableOOMKiller"},
      {"{\"cpu\":{\"realtimeRuntime\":1000}}", "linux.resources.cpu.realtimeRuntime"},
      {"{\"network\":{\"classID\":1}}", "linux.resources.network"},
      {"{\"cpu\":{\"cpus\":\"99\"}}",
       "linux.resources.cpu.cpus `99`: not in the cpus this machine has (0-1)"},
      {"{\"hugepageLimits\":[{\"pageSize\":\"1GB\",\"limit\":1}]}",
       "pageSize: `1GB` is not a huge page size"},
      {"{\"unified\":{\"memory.nothere\":\"1\"}}",
       "linux.resources.unified.memory.nothere: no such file"},
  };
  for (size_t i = 0; i < DRV_ARRAY_LEN(refused); i++) {
    assert_int_equal(parse_res(refused[i][0], &res, &err), 0);
    int r = drv_cgroup_update(cg, &res, &err);
    drv_cgroup_resources_free(&res);
    if (r != -1 || !strstr(err.msg, refused[i][1]))
      fail_msg("case %zu: got `%s`", i, r ? err.msg : "success");
  }

  /* enter, pids, freeze (events say frozen as a kernel would), kill */
  assert_int_equal(drv_cgroup_enter(cg, 4242, 0, &err), 0);
  assert_file(d, "cgroup.procs", "4242");
  put(d, "cgroup.procs", "1\n2\n");
  pid_t *pids;
  size_t n;
  assert_int_equal(drv_cgroup_pids(cg, true, &pids, &n, &err), 0);
  assert_int_equal(n, 2);
  assert_int_equal(pids[1], 2);
  free(pids);
  put(d, "cgroup.events", "populated 1\nfrozen 1\n");
  assert_int_equal(drv_cgroup_freeze(cg, true, &err), 0);
  assert_file(d, "cgroup.freeze", "1");
  bool frozen;
  assert_int_equal(drv_cgroup_is_frozen(cg, &frozen, &err), 0);
  assert_true(frozen);
  put(d, "cgroup.procs", "");
  assert_int_equal(drv_cgroup_killall(cg, SIGKILL, &err), 0);
  assert_file(d, "cgroup.kill", "1");
  int fd = drv_cgroup_unified_fd(cg, &err);
  assert_true(fd >= 0);
  close(fd);

  /* open by path finds the same directory; destroy removes it. */
  drv_cgroup *again;
  assert_int_equal(drv_cgroup_open(sys, "/drover/c1", &again, &err), 0);
  assert_string_equal(drv_cgroup_dir(again, 0), d);
  assert_int_equal(drv_cgroup_destroy(again, &err), 0);
  drv_cgroup_free(again);
  assert_false(drv_path_exists(want_dir));
  assert_int_equal(drv_cgroup_open(sys, "/drover/c1", &again, &err), -1);
  drv_cgroup_free(cg);
  drv_cgroup_system_free(sys);
  rmtree(root);
}

static void v2_devices_and_failure_cleanup(void **state)
{
  (void)state;
  drv_cgroup_system *sys;
  _cleanup_free_ char *root = v2_fixture(&sys);
  drv_cgroup_resources res;
  drv_err err;
  /* A new group (fixture: no files appear) fails on its first write and is removed again,
   * with the parents this call made. */
  assert_int_equal(parse_res("{\"memory\":{\"limit\":10485760}}", &res, &err), 0);
  drv_cgroup *cg;
  assert_int_equal(drv_cgroup_create(sys, "c2", "c2", &res, 0, &cg, &err), -1);
  assert_non_null(strstr(err.msg, "linux.resources.memory.limit"));
  assert_non_null(strstr(err.msg, "memory.max"));
  _cleanup_free_ char *made = drv_asprintf("%s/drover/c2", root);
  assert_false(drv_path_exists(made));
  _cleanup_free_ char *kept = drv_asprintf("%s/drover", root);
  assert_true(drv_path_exists(kept));
  drv_cgroup_resources_free(&res);
  /* EXCL refuses an existing leaf. */
  assert_int_equal(drv_cgroup_create(sys, "c1", "c1", NULL, DRV_CGROUP_CREATE_EXCL, &cg, &err), -1);
  assert_int_equal(err.errnum, EEXIST);
  drv_cgroup_system_free(sys);
  rmtree(root);
}

/* ---- v1 fixture ------------------------------------------------------------------------------ */

static char *v1_fixture(drv_cgroup_mode mode, drv_cgroup_system **sys)
{
  char *root = tmpdir();
  static const struct {
    const char *hier;
    const char *files[12];
  } layout[] = {
      {"cpu",
       {"cpu.shares", "cpu.cfs_period_us", "cpu.cfs_quota_us", "cpu.cfs_burst_us",
        "cpu.rt_period_us", "cpu.rt_runtime_us", "cpu.idle", "cpu.stat"}},
      {"cpuacct", {"cpuacct.usage", "cpuacct.usage_user", "cpuacct.usage_sys"}},
      {"cpuset", {"cpuset.cpus", "cpuset.mems"}},
      {"memory",
       {"memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.soft_limit_in_bytes",
        "memory.kmem.limit_in_bytes", "memory.kmem.tcp.limit_in_bytes", "memory.swappiness",
        "memory.oom_control", "memory.use_hierarchy", "memory.usage_in_bytes"}},
      {"devices", {"devices.allow", "devices.deny"}},
      {"freezer", {"freezer.state"}},
      {"blkio",
       {"blkio.bfq.weight", "blkio.bfq.weight_device", "blkio.throttle.read_bps_device",
        "blkio.throttle.write_bps_device", "blkio.throttle.read_iops_device",
        "blkio.throttle.write_iops_device"}},
      {"pids", {"pids.max", "pids.current"}},
      {"hugetlb", {"hugetlb.2MB.limit_in_bytes"}},
      {"net_cls", {"net_cls.classid"}},
      {"net_prio", {"net_prio.ifpriomap"}},
  };
  for (size_t i = 0; i < DRV_ARRAY_LEN(layout); i++) {
    _cleanup_free_ char *leaf = drv_asprintf("%s/%s/drover/c1", root, layout[i].hier);
    put(leaf, "cgroup.procs", "");
    for (size_t k = 0; layout[i].files[k]; k++)
      put(leaf, layout[i].files[k], "");
  }
  _cleanup_free_ char *cs = drv_asprintf("%s/cpuset", root);
  put(cs, "cpuset.cpus", "0-1\n");
  put(cs, "cpuset.mems", "0\n");
  put(cs, "cpuset.effective_cpus", "0-1\n");
  put(cs, "cpuset.effective_mems", "0\n");
  _cleanup_free_ char *csd = drv_asprintf("%s/cpuset/drover", root);
  put(csd, "cpuset.cpus", "0-1\n");
  put(csd, "cpuset.mems", "0\n");
  put(csd, "cpuset.effective_cpus", "0-1\n");
  put(csd, "cpuset.effective_mems", "0\n");
  _cleanup_free_ char *mem = drv_asprintf("%s/memory/drover/c1", root);
  put(mem, "memory.limit_in_bytes", "9223372036854771712\n");
  if (mode == DRV_CGROUP_MODE_HYBRID) {
    _cleanup_free_ char *u = drv_asprintf("%s/unified/drover/c1", root);
    put(u, "cgroup.procs", "");
    put(u, "cgroup.kill", "");
    put(u, "cgroup.freeze", "");
    put(u, "cgroup.pressure", "");
    _cleanup_free_ char *u0 = drv_asprintf("%s/unified", root);
    put(u0, "cgroup.controllers", "");
  }
  drv_err err;
  assert_int_equal(drv_cgroup_system_from_root(mode, root, sys, &err), 0);
  return root;
}

static void v1_resources(void **state)
{
  (void)state;
  drv_cgroup_system *sys;
  _cleanup_free_ char *root = v1_fixture(DRV_CGROUP_MODE_V1, &sys);
  drv_cgroup_resources res;
  drv_err err;
  assert_int_equal(
      parse_res(
          "{\"devices\":[{\"allow\":false,\"access\":\"rwm\"},"
          "{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":3,\"access\":\"rwm\"},"
          "{\"allow\":true,\"type\":\"c\",\"major\":136,\"access\":\"rw\"},"
          "{\"allow\":false,\"type\":\"a\",\"access\":\"w\"}],"
          "\"cpu\":{\"shares\":512,\"quota\":20000,\"period\":50000,\"burst\":100,"
          "\"realtimePeriod\":1000000,\"realtimeRuntime\":0,\"idle\":1,\"cpus\":\"0-1\",\"mems\":"
          "\"0\"},"
          "\"memory\":{\"limit\":67108864,\"reservation\":33554432,\"swap\":134217728,"
          "\"kernel\":16777216,\"kernelTCP\":8388608,\"swappiness\":10,\"disableOOMKiller\":true},"
          "\"pids\":{\"limit\":32},"
          "\"blockIO\":{\"weight\":300,\"weightDevice\":[{\"major\":8,\"minor\":0,\"weight\":700}],"
          "\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0,\"rate\":1048576},"
          "{\"major\":8,\"minor\":16,\"rate\":2097152}],"
          "\"throttleWriteBpsDevice\":[{\"major\":8,\"minor\":0,\"rate\":3}],"
          "\"throttleReadIOPSDevice\":[{\"major\":8,\"minor\":0,\"rate\":4}],"
          "\"throttleWriteIOPSDevice\":[{\"major\":8,\"minor\":0,\"rate\":5}]},"
          "\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":2097152}],"
          "\"network\":{\"classID\":1048577,\"priorities\":[{\"name\":\"eth0\",\"priority\":5},"
          "{\"name\":\"lo\",\"priority\":1}]}}",
          &res, &err),
      0);
  drv_cgroup *cg;
  if (drv_cgroup_create(sys, "/drover/c1", "c1", &res, 0, &cg, &err) < 0) fail_msg("%s", err.msg);
  drv_cgroup_resources_free(&res);
  const char *cpu = drv_cgroup_dir(cg, DRV_CG_CPU);
  assert_file(cpu, "cpu.shares", "512");
  assert_file(cpu, "cpu.cfs_period_us", "50000");
  assert_file(cpu, "cpu.cfs_quota_us", "20000");
  assert_file(cpu, "cpu.cfs_burst_us", "100");
  assert_file(cpu, "cpu.rt_period_us", "1000000");
  assert_file(cpu, "cpu.rt_runtime_us", "0");
  assert_file(cpu, "cpu.idle", "1");
  const char *cs = drv_cgroup_dir(cg, DRV_CG_CPUSET);
  assert_file(cs, "cpuset.cpus", "0-1");
  assert_file(cs, "cpuset.mems", "0");
  const char *mem = drv_cgroup_dir(cg, DRV_CG_MEMORY);
  assert_file(mem, "memory.limit_in_bytes", "67108864");
  assert_file(mem, "memory.memsw.limit_in_bytes", "134217728");
  assert_file(mem, "memory.soft_limit_in_bytes", "33554432");
  assert_file(mem, "memory.kmem.limit_in_bytes", "16777216");
  assert_file(mem, "memory.kmem.tcp.limit_in_bytes", "8388608");
  assert_file(mem, "memory.swappiness", "10");
  assert_file(mem, "memory.oom_control", "1");
  assert_file(drv_cgroup_dir(cg, DRV_CG_PIDS), "pids.max", "32");
  const char *blk = drv_cgroup_dir(cg, DRV_CG_BLKIO);
  assert_file(blk, "blkio.bfq.weight", "300");
  assert_file(blk, "blkio.bfq.weight_device", "8:0 700");
  assert_file(blk, "blkio.throttle.read_bps_device", "8:0 1048576\n8:16 2097152\n");
  assert_file(blk, "blkio.throttle.write_bps_device", "8:0 3\n");
  assert_file(blk, "blkio.throttle.read_iops_device", "8:0 4\n");
  assert_file(blk, "blkio.throttle.write_iops_device", "8:0 5\n");
  assert_file(drv_cgroup_dir(cg, DRV_CG_HUGETLB), "hugetlb.2MB.limit_in_bytes", "2097152");
  assert_file(drv_cgroup_dir(cg, DRV_CG_NET_CLS), "net_cls.classid", "1048577");
  assert_file(drv_cgroup_dir(cg, DRV_CG_NET_PRIO), "net_prio.ifpriomap", "eth0 5\nlo 1\n");
  const char *dev = drv_cgroup_dir(cg, DRV_CG_DEVICES);
  assert_file(dev, "devices.deny", "a *:* rwm\nc *:* w\nb *:* w\n");
  assert_file(dev, "devices.allow", "c 1:3 rwm\nc 136:* rw\n");

  /* memory raised with swap: memsw goes first (checked by the order the kernel needs, here by
   * the final values), and a lower limit than usage is refused with checkBeforeUpdate. */
  put(mem, "memory.usage_in_bytes", "50000000\n");
  assert_int_equal(
      parse_res("{\"memory\":{\"limit\":33554432,\"checkBeforeUpdate\":true}}", &res, &err), 0);
  assert_int_equal(drv_cgroup_update(cg, &res, &err), -1);
  assert_non_null(strstr(
      err.msg, "linux.resources.memory.limit: 33554432 is below the current usage of 50000000"));
  drv_cgroup_resources_free(&res);

  /* v2-only input on a v1-only machine */
  assert_int_equal(parse_res("{\"unified\":{\"memory.high\":\"1\"}}", &res, &err), 0);
  assert_int_equal(drv_cgroup_update(cg, &res, &err), -1);
  assert_non_null(strstr(err.msg, "linux.resources.unified: needs a cgroup v2"));
  drv_cgroup_resources_free(&res);
  /* rdma is not mounted in this fixture */
  assert_int_equal(parse_res("{\"rdma\":{\"mlx\":{\"hcaHandles\":1}}}", &res, &err), 0);
  assert_int_equal(drv_cgroup_update(cg, &res, &err), -1);
  assert_non_null(strstr(err.msg, "linux.resources.rdma: the rdma controller is not available"));
  drv_cgroup_resources_free(&res);

  /* enter writes every hierarchy; freezer */
  assert_int_equal(drv_cgroup_enter(cg, 777, 0, &err), 0);
  assert_file(drv_cgroup_dir(cg, DRV_CG_FREEZER), "cgroup.procs", "777");
  assert_file(mem, "cgroup.procs", "777");
  assert_int_equal(drv_cgroup_freeze(cg, true, &err), 0);
  assert_file(drv_cgroup_dir(cg, DRV_CG_FREEZER), "freezer.state", "FROZEN");
  bool frozen;
  assert_int_equal(drv_cgroup_is_frozen(cg, &frozen, &err), 0);
  assert_true(frozen);
  assert_int_equal(drv_cgroup_freeze(cg, false, &err), 0);
  assert_int_equal(drv_cgroup_is_frozen(cg, &frozen, &err), 0);
  assert_false(frozen);
  assert_null(drv_cgroup_dir(cg, 0));
  assert_int_equal(drv_cgroup_unified_fd(cg, &err), -1);

  assert_int_equal(drv_cgroup_destroy(cg, &err), 0);
  _cleanup_free_ char *gone = drv_asprintf("%s/memory/drover/c1", root);
  assert_false(drv_path_exists(gone));
  drv_cgroup_free(cg);
  drv_cgroup_system_free(sys);
  rmtree(root);
}

static void v1_failure_leaves_nothing(void **state)
{
  (void)state;
  drv_cgroup_system *sys;
  _cleanup_free_ char *root = v1_fixture(DRV_CGROUP_MODE_V1, &sys);
  drv_cgroup_resources res;
  drv_err err;
  assert_int_equal(parse_res("{\"pids\":{\"limit\":10}}", &res, &err), 0);
  drv_cgroup *cg;
  /* Fixture directories get no files from a kernel, so this fails part-way. */
  assert_int_equal(drv_cgroup_create(sys, "/new/deeper/c2", "c2", &res, 0, &cg, &err), -1);
  drv_cgroup_resources_free(&res);
  static const char *const hiers[] = {"cpu",     "cpuacct", "cpuset",  "memory",
                                      "devices", "freezer", "blkio",   "pids",
                                      "hugetlb", "net_cls", "net_prio"};
  for (size_t i = 0; i < DRV_ARRAY_LEN(hiers); i++) {
    _cleanup_free_ char *p = drv_asprintf("%s/%s/new", root, hiers[i]);
    if (drv_path_exists(p)) fail_msg("left behind: %s (error was: %s)", p, err.msg);
  }
  drv_cgroup_system_free(sys);
  rmtree(root);
}

static void hybrid_layout(void **state)
{
  (void)state;
  drv_cgroup_system *sys;
  _cleanup_free_ char *root = v1_fixture(DRV_CGROUP_MODE_HYBRID, &sys);
  assert_int_equal(drv_cgroup_system_mode(sys), DRV_CGROUP_MODE_HYBRID);
  drv_cgroup_resources res;
  drv_err err;
  /* hybrid: v1 limits, the unified map into the v2 side */
  assert_int_equal(
      parse_res("{\"pids\":{\"limit\":5},\"unified\":{\"cgroup.pressure\":\"0\"}}", &res, &err), 0);
  drv_cgroup *cg;
  if (drv_cgroup_create(sys, "c1", "c1", &res, 0, &cg, &err) < 0) fail_msg("%s", err.msg);
  drv_cgroup_resources_free(&res);
  _cleanup_free_ char *u = drv_asprintf("%s/unified/drover/c1", root);
  assert_string_equal(drv_cgroup_dir(cg, 0), u);
  assert_file(u, "cgroup.pressure", "0");
  assert_file(drv_cgroup_dir(cg, DRV_CG_PIDS), "pids.max", "5");
  assert_int_equal(drv_cgroup_enter(cg, 99, DRV_CGROUP_ENTER_SKIP_UNIFIED, &err), 0);
  assert_file(u, "cgroup.procs", "");
  assert_file(drv_cgroup_dir(cg, DRV_CG_PIDS), "cgroup.procs", "99");
  put(drv_cgroup_dir(cg, DRV_CG_FREEZER), "cgroup.procs", "");
  assert_int_equal(drv_cgroup_killall(cg, SIGKILL, &err), 0);
  assert_file(u, "cgroup.kill", "1"); /* the v2 side kills in hybrid */
  assert_int_equal(drv_cgroup_destroy(cg, &err), 0);
  assert_false(drv_path_exists(u));
  drv_cgroup_free(cg);
  drv_cgroup_system_free(sys);
  rmtree(root);
}

/* ---- stats ----------------------------------------------------------------------------------- */

static void stats_v1(void **state)
{
  (void)state;
  drv_cgroup_system *sys;
  _cleanup_free_ char *root = v1_fixture(DRV_CGROUP_MODE_V1, &sys);
  drv_cgroup *cg;
  drv_err err;
  assert_int_equal(drv_cgroup_open(sys, "/drover/c1", &cg, &err), 0);
  const char *acct = drv_cgroup_dir(cg, DRV_CG_CPUACCT);
  put(acct, "cpuacct.usage", "123456789\n");
  put(acct, "cpuacct.usage_user", "100000000\n");
  put(acct, "cpuacct.usage_sys", "23456789\n");
  put(drv_cgroup_dir(cg, DRV_CG_CPU), "cpu.stat",
      "nr_periods 10\nnr_throttled 3\nthrottled_time 5000\n");
  const char *mem = drv_cgroup_dir(cg, DRV_CG_MEMORY);
  put(mem, "memory.usage_in_bytes", "10485760\n");
  put(mem, "memory.max_usage_in_bytes", "20971520\n");
  put(mem, "memory.limit_in_bytes", "9223372036854771712\n");
  put(mem, "memory.memsw.usage_in_bytes", "11534336\n");
  put(mem, "memory.failcnt", "7\n");
  put(mem, "memory.stat",
      "cache 1\nrss 2\ninactive_file 3\ntotal_cache 4194304\ntotal_rss 6291456\n"
      "total_inactive_file 1048576\n");
  put(mem, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
  put(drv_cgroup_dir(cg, DRV_CG_PIDS), "pids.current", "3\n");
  put(drv_cgroup_dir(cg, DRV_CG_PIDS), "pids.max", "max\n");
  put(drv_cgroup_dir(cg, DRV_CG_BLKIO), "blkio.throttle.io_service_bytes_recursive",
      "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:16 Read 1\n8:16 Write 2\nTotal 12291\n");
  put(drv_cgroup_dir(cg, DRV_CG_BLKIO), "blkio.throttle.io_serviced_recursive",
      "8:0 Read 1\n8:0 Write 2\nTotal 3\n");
  drv_cgroup_stats st;
  assert_int_equal(drv_cgroup_stats_read(cg, &st, &err), 0);
  assert_int_equal(st.have, DRV_CGROUP_STATS_CPU | DRV_CGROUP_STATS_MEMORY | DRV_CGROUP_STATS_PIDS |
                                DRV_CGROUP_STATS_IO);
  assert_int_equal(st.cpu.usage_ns, 123456789);
  assert_int_equal(st.cpu.user_ns, 100000000);
  assert_int_equal(st.cpu.system_ns, 23456789);
  assert_int_equal(st.cpu.nr_throttled, 3);
  assert_int_equal(st.cpu.throttled_ns, 5000);
  assert_int_equal(st.memory.usage, 10485760);
  assert_int_equal(st.memory.max_usage, 20971520);
  assert_true(st.memory.limit == DRV_CGROUP_UNLIMITED);
  assert_int_equal(st.memory.rss, 6291456);
  assert_int_equal(st.memory.cache, 4194304);
  assert_int_equal(st.memory.working_set, 10485760 - 1048576);
  assert_int_equal(st.memory.swap, 1048576);
  assert_int_equal(st.memory.failcnt, 7);
  assert_int_equal(st.memory.oom_kills, 2);
  assert_int_equal(st.pids.current, 3);
  assert_true(st.pids.limit == DRV_CGROUP_UNLIMITED);
  assert_int_equal(st.io.read_bytes, 4097);
  assert_int_equal(st.io.write_bytes, 8194);
  assert_int_equal(st.io.read_ops, 1);
  assert_int_equal(st.io.write_ops, 2);
  drv_cgroup_free(cg);
  drv_cgroup_system_free(sys);
  rmtree(root);
}

static void stats_v2(void **state)
{
  (void)state;
  drv_cgroup_system *sys;
  _cleanup_free_ char *root = v2_fixture(&sys);
  drv_cgroup *cg;
  drv_err err;
  assert_int_equal(drv_cgroup_open(sys, "/drover/c1", &cg, &err), 0);
  const char *d = drv_cgroup_dir(cg, 0);
  put(d, "cpu.stat",
      "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 4\nnr_throttled 1\n"
      "throttled_usec 20\n");
  put(d, "memory.current", "8388608\n");
  put(d, "memory.peak", "9437184\n");
  put(d, "memory.max", "16777216\n");
  put(d, "memory.stat",
      "anon 4194304\nfile 2097152\nkernel 100\nactive_file 1\ninactive_file 1048576\n");
  put(d, "memory.swap.current", "4096\n");
  put(d, "memory.events", "low 0\nhigh 0\nmax 5\noom 2\noom_kill 1\noom_group_kill 0\n");
  put(d, "pids.current", "4\n");
  put(d, "pids.max", "100\n");
  put(d, "io.stat",
      "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n"
      "8:16 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0\n");
  drv_cgroup_stats st;
  assert_int_equal(drv_cgroup_stats_read(cg, &st, &err), 0);
  assert_int_equal(st.have, DRV_CGROUP_STATS_CPU | DRV_CGROUP_STATS_MEMORY | DRV_CGROUP_STATS_PIDS |
                                DRV_CGROUP_STATS_IO);
  assert_int_equal(st.cpu.usage_ns, 1500000);
  assert_int_equal(st.cpu.user_ns, 1000000);
  assert_int_equal(st.cpu.system_ns, 500000);
  assert_int_equal(st.cpu.throttled_ns, 20000);
  assert_int_equal(st.memory.usage, 8388608);
  assert_int_equal(st.memory.max_usage, 9437184);
  assert_int_equal(st.memory.limit, 16777216);
  assert_int_equal(st.memory.rss, 4194304);
  assert_int_equal(st.memory.cache, 2097152);
  assert_int_equal(st.memory.working_set, 8388608 - 1048576);
  assert_int_equal(st.memory.swap, 4096);
  assert_int_equal(st.memory.failcnt, 5);
  assert_int_equal(st.memory.oom_events, 2);
  assert_int_equal(st.memory.oom_kills, 1);
  assert_int_equal(st.pids.current, 4);
  assert_int_equal(st.pids.limit, 100);
  assert_int_equal(st.io.read_bytes, 101);
  assert_int_equal(st.io.write_bytes, 202);
  assert_int_equal(st.io.read_ops, 4);
  assert_int_equal(st.io.write_ops, 6);
  /* working set never goes below zero */
  put(d, "memory.current", "1\n");
  assert_int_equal(drv_cgroup_stats_read(cg, &st, &err), 0);
  assert_int_equal(st.memory.working_set, 0);
  drv_cgroup_free(cg);
  drv_cgroup_system_free(sys);
  rmtree(root);
}

/* ---- eBPF device program --------------------------------------------------------------------- */

/* Runs the subset of eBPF the generator emits. */
static int run_bpf(const struct bpf_insn *p, size_t len, uint32_t type, uint32_t access,
                   uint32_t major, uint32_t minor)
{
  uint32_t ctx[3] = {(access << 16) | type, major, minor};
  uint64_t r[11] = {0};
  size_t pc = 0;
  for (int steps = 0; steps < 10000; steps++) {
    assert_true(pc < len);
    const struct bpf_insn *i = &p[pc++];
    switch (i->code) {
    case BPF_LDX | BPF_MEM | BPF_W:
      assert_int_equal(i->src_reg, BPF_REG_1);
      r[i->dst_reg] = ctx[i->off / 4];
      break;
    case BPF_ALU | BPF_AND | BPF_K:
      r[i->dst_reg] = (uint32_t)(r[i->dst_reg] & (uint32_t)i->imm);
      break;
    case BPF_ALU | BPF_RSH | BPF_K:
      r[i->dst_reg] = (uint32_t)r[i->dst_reg] >> i->imm;
      break;
    case BPF_ALU | BPF_MOV | BPF_X:
      r[i->dst_reg] = (uint32_t)r[i->src_reg];
      break;
    case BPF_ALU64 | BPF_MOV | BPF_K:
      r[i->dst_reg] = (uint64_t)(int64_t)i->imm;
      break;
    case BPF_JMP | BPF_JNE | BPF_K:
      if (r[i->dst_reg] != (uint64_t)(uint32_t)i->imm) pc += (size_t)i->off;
      break;
    case BPF_JMP | BPF_JEQ | BPF_K:
      if (r[i->dst_reg] == (uint64_t)(uint32_t)i->imm) pc += (size_t)i->off;
      break;
    case BPF_JMP | BPF_EXIT:
      return (int)r[0];
    default:
      fail_msg("unexpected opcode 0x%x", i->code);
    }
  }
  fail_msg("program did not exit");
  return -1;
}

#define C BPF_DEVCG_DEV_CHAR
#define B BPF_DEVCG_DEV_BLOCK
#define RD BPF_DEVCG_ACC_READ
#define WR BPF_DEVCG_ACC_WRITE
#define MK BPF_DEVCG_ACC_MKNOD

static void devices_bpf_translation(void **state)
{
  (void)state;
  drv_cgroup_device_rule rules[] = {
      {false, 'a', -1, -1, "rwm"}, /* deny all */
      {true, 'c', -1, -1, "m"},    /* mknod any char device */
      {true, 'c', 1, 3, "rwm"},    /* /dev/null */
      {true, 'c', 136, -1, "rw"},  /* pts */
      {true, 'b', 8, 0, "r"},      /* read sda */
      {false, 'c', 1, 3, "w"},     /* ... but no writing to null (later rule wins) */
  };
  size_t len;
  struct bpf_insn *p = drv_cg_devices_bpf(rules, DRV_ARRAY_LEN(rules), &len);
  assert_int_equal(run_bpf(p, len, C, RD, 1, 3), 1);
  assert_int_equal(run_bpf(p, len, C, WR, 1, 3), 0);
  assert_int_equal(run_bpf(p, len, C, RD | WR, 1, 3), 0);
  assert_int_equal(run_bpf(p, len, C, MK, 1, 3), 1);
  assert_int_equal(run_bpf(p, len, C, MK, 4, 7), 1);
  assert_int_equal(run_bpf(p, len, C, RD, 4, 7), 0);
  assert_int_equal(run_bpf(p, len, C, RD | WR, 136, 5), 1);
  assert_int_equal(run_bpf(p, len, C, MK, 136, 5), 1);
  assert_int_equal(run_bpf(p, len, B, RD, 8, 0), 1);
  assert_int_equal(run_bpf(p, len, B, WR, 8, 0), 0);
  assert_int_equal(run_bpf(p, len, B, MK, 8, 0), 0);
  assert_int_equal(run_bpf(p, len, B, RD, 8, 1), 0);
  free(p);
  /* No rules: everything allowed (like a fresh v1 group under an allow-all parent). */
  p = drv_cg_devices_bpf(NULL, 0, &len);
  assert_int_equal(run_bpf(p, len, B, WR, 8, 0), 1);
  free(p);
  /* allow all after deny all */
  drv_cgroup_device_rule all[] = {{false, 'a', -1, -1, "rwm"}, {true, 'a', -1, -1, "rwm"}};
  p = drv_cg_devices_bpf(all, 2, &len);
  assert_int_equal(run_bpf(p, len, B, WR, 8, 0), 1);
  free(p);
  /* deny-all alone */
  p = drv_cg_devices_bpf(all, 1, &len);
  assert_int_equal(run_bpf(p, len, C, RD, 1, 3), 0);
  free(p);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(detect_hybrid),      cmocka_unit_test(detect_v1_comounted),
      cmocka_unit_test(detect_v2_and_none), cmocka_unit_test(dynmods_remount_keeps_options),
      cmocka_unit_test(resolve_paths),      cmocka_unit_test(json_errors_name_the_field),
      cmocka_unit_test(json_full_parse),    cmocka_unit_test(conversions),
      cmocka_unit_test(v2_resources),       cmocka_unit_test(v2_devices_and_failure_cleanup),
      cmocka_unit_test(v1_resources),       cmocka_unit_test(v1_failure_leaves_nothing),
      cmocka_unit_test(hybrid_layout),      cmocka_unit_test(stats_v1),
      cmocka_unit_test(stats_v2),           cmocka_unit_test(devices_bpf_translation),
  };
  return cmocka_run_group_tests_name("runtime_cgroup", tests, NULL, NULL);
}
