/* cgroups on this machine's real hierarchies: create with limits, enter children, read stats,
 * freeze/thaw, kill all, destroy; the v2 device eBPF program and CLONE_INTO_CGROUP where a v2
 * hierarchy is mounted. Unique names; teardown kills the children and removes the groups even
 * when a check fails. Skipped without root or cgroups. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/util.h"
#include "runtime/cgroup.h"
#include "runtime/cgroup_internal.h"

static pid_t children[8];
static size_t n_children;
static char *paths[4];
static size_t n_paths;
static int seq;

static char *unique_path(void)
{
  char *p = drv_asprintf("/drover-unit-%d-%d", (int)getpid(), seq++);
  paths[n_paths++] = drv_strdup(p);
  return p;
}

static pid_t spawn(int (*fn)(void *), void *arg)
{
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) _exit(fn(arg));
  children[n_children++] = pid;
  return pid;
}

static int reap(pid_t pid)
{
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  for (size_t i = 0; i < n_children; i++)
    if (children[i] == pid) children[i] = 0;
  return st;
}

static int teardown(void **state)
{
  (void)state;
  for (size_t i = 0; i < n_children; i++) {
    if (children[i] <= 0) continue;
    kill(children[i], SIGKILL);
    waitpid(children[i], NULL, 0);
  }
  n_children = 0;
  drv_cgroup_system *sys;
  drv_err err;
  if (drv_cgroup_system_get(&sys, &err) == 0) {
    for (size_t i = 0; i < n_paths; i++) {
      drv_cgroup *cg;
      if (drv_cgroup_open(sys, paths[i], &cg, &err) == 0) {
        drv_cgroup_freeze(cg, false, &err);
        drv_cgroup_killall(cg, SIGKILL, &err);
        if (drv_cgroup_destroy(cg, &err) < 0) fprintf(stderr, "teardown: %s\n", err.msg);
        drv_cgroup_free(cg);
      }
    }
  }
  for (size_t i = 0; i < n_paths; i++)
    free(paths[i]);
  n_paths = 0;
  return 0;
}

static drv_cgroup_system *system_or_skip(void)
{
  drv_cgroup_system *sys = NULL;
  drv_err err;
  if (geteuid() != 0 || drv_cgroup_system_get(&sys, &err) < 0) skip();
  return sys;
}

static int parse_res(const char *json, drv_cgroup_resources *res)
{
  json_t *j = json_loads(json, 0, NULL);
  assert_non_null(j);
  drv_err err;
  int r = drv_cgroup_resources_from_json(j, res, &err);
  json_decref(j);
  if (r < 0) fail_msg("%s", err.msg);
  return r;
}

/* Child protocol: wait for a byte on fd 0 of the pipe, then run the body. */
struct child_arg {
  int go[2];
  volatile uint64_t *counter;
  int mode;
};

static void wait_go(struct child_arg *a)
{
  char c;
  close(a->go[1]);
  if (read(a->go[0], &c, 1) != 1) _exit(90);
}

static int child_body(void *p)
{
  struct child_arg *a = p;
  wait_go(a);
  switch (a->mode) {
  case 0: /* spin, counting, until killed */
    for (;;)
      (*a->counter)++;
  case 1: { /* devices: /dev/null allowed, /dev/kmsg (1:11) denied */
    int fd = open("/dev/null", O_RDONLY);
    if (fd < 0) return 1;
    close(fd);
    fd = open("/dev/kmsg", O_RDONLY);
    if (fd >= 0 || errno != EPERM) return 2;
    return 0;
  }
  case 2: { /* pids: forking past the limit fails with EAGAIN */
    for (int i = 0; i < 20; i++) {
      pid_t p = fork();
      if (p == 0) {
        pause();
        _exit(0);
      }
      if (p < 0) return errno == EAGAIN ? 0 : 3;
    }
    return 4;
  }
  case 3: { /* memory: touch 256 MiB under a 32 MiB limit → OOM kill */
    size_t n = 256u << 20;
    char *m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return 5;
    for (size_t i = 0; i < n; i += 4096)
      m[i] = 1;
    return 6;
  }
  case 4: { /* eBPF devices on the v2 side: reading /dev/null denied */
    int fd = open("/dev/null", O_RDONLY);
    if (fd >= 0 || errno != EPERM) return 7;
    fd = open("/dev/null", O_WRONLY);
    if (fd < 0) return 8;
    return 0;
  }
  }
  return 99;
}

static void go(struct child_arg *a)
{
  close(a->go[0]);
  assert_int_equal(write(a->go[1], "x", 1), 1);
  close(a->go[1]);
}

static bool proc_in(pid_t pid, const char *path)
{
  _cleanup_free_ char *f = drv_asprintf("/proc/%d/cgroup", (int)pid), *text = NULL;
  drv_err err;
  if (drv_read_file(f, 0, &text, NULL, &err) < 0) return false;
  _cleanup_free_ char *needle = drv_asprintf(":%s\n", path);
  return strstr(text, needle) != NULL;
}

static void limits_enter_stats_freeze_kill(void **state)
{
  (void)state;
  drv_cgroup_system *sys = system_or_skip();
  _cleanup_free_ char *path = unique_path();
  drv_cgroup_resources res;
  parse_res(
      "{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}],"
      "\"memory\":{\"limit\":67108864,\"swap\":67108864},\"pids\":{\"limit\":16},"
      "\"cpu\":{\"shares\":256,\"quota\":50000,\"period\":100000,\"cpus\":\"0\",\"mems\":\"0\"}}",
      &res);
  drv_cgroup_resources_add_default_devices(&res);
  drv_cgroup *cg;
  drv_err err;
  if (drv_cgroup_create(sys, path, "x", &res, DRV_CGROUP_CREATE_EXCL, &cg, &err) < 0)
    fail_msg("%s", err.msg);
  drv_cgroup_resources_free(&res);
  uint64_t v;
  if (drv_cgroup_dir(cg, DRV_CG_MEMORY)) {
    const char *mem = drv_cgroup_dir(cg, DRV_CG_MEMORY);
    assert_int_equal(drv_cg_read_u64(mem,
                                     drv_cgroup_system_mode(sys) == DRV_CGROUP_MODE_V2
                                         ? "memory.max"
                                         : "memory.limit_in_bytes",
                                     &v, &err),
                     0);
    assert_int_equal(v, 67108864);
  }
  if (drv_cgroup_dir(cg, DRV_CG_PIDS)) {
    assert_int_equal(drv_cg_read_u64(drv_cgroup_dir(cg, DRV_CG_PIDS), "pids.max", &v, &err), 0);
    assert_int_equal(v, 16);
  }

  /* a spinning child, entered */
  volatile uint64_t *counter =
      mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  assert_true(counter != MAP_FAILED);
  struct child_arg a = {.counter = counter, .mode = 0};
  assert_int_equal(pipe(a.go), 0);
  pid_t pid = spawn(child_body, &a);
  if (drv_cgroup_enter(cg, pid, 0, &err) < 0) fail_msg("%s", err.msg);
  go(&a);
  assert_true(proc_in(pid, path));
  pid_t *pids;
  size_t n;
  assert_int_equal(drv_cgroup_pids(cg, true, &pids, &n, &err), 0);
  assert_int_equal(n, 1);
  assert_int_equal(pids[0], pid);
  free(pids);

  /* stats: wait until it has used some cpu */
  drv_cgroup_stats st;
  long long deadline = drv_now_ms() + 5000;
  do {
    assert_int_equal(drv_cgroup_stats_read(cg, &st, &err), 0);
  } while (st.cpu.usage_ns < 1000000 && drv_now_ms() < deadline);
  assert_true(st.have & DRV_CGROUP_STATS_CPU);
  assert_true(st.cpu.usage_ns >= 1000000);
  assert_true(st.have & DRV_CGROUP_STATS_MEMORY);
  assert_true(st.memory.usage > 0);
  assert_int_equal(st.memory.limit, 67108864);
  assert_true(st.have & DRV_CGROUP_STATS_PIDS);
  assert_int_equal(st.pids.current, 1);
  assert_int_equal(st.pids.limit, 16);

  /* freeze: the counter stops; thaw: it moves again */
  if (drv_cgroup_freeze(cg, true, &err) < 0) fail_msg("%s", err.msg);
  bool frozen;
  assert_int_equal(drv_cgroup_is_frozen(cg, &frozen, &err), 0);
  assert_true(frozen);
  uint64_t c1 = *counter;
  struct timespec ts = {0, 30 * 1000000};
  nanosleep(&ts, NULL);
  assert_true(*counter == c1);
  if (drv_cgroup_freeze(cg, false, &err) < 0) fail_msg("%s", err.msg);
  assert_int_equal(drv_cgroup_is_frozen(cg, &frozen, &err), 0);
  assert_false(frozen);
  deadline = drv_now_ms() + 5000;
  while (*counter == c1 && drv_now_ms() < deadline)
    sched_yield();
  assert_true(*counter != c1);

  /* update */
  parse_res("{\"pids\":{\"limit\":32}}", &res);
  if (drv_cgroup_update(cg, &res, &err) < 0) fail_msg("%s", err.msg);
  drv_cgroup_resources_free(&res);
  assert_int_equal(drv_cgroup_stats_read(cg, &st, &err), 0);
  assert_int_equal(st.pids.limit, 32);

  /* kill everything, then destroy */
  if (drv_cgroup_killall(cg, SIGKILL, &err) < 0) fail_msg("%s", err.msg);
  int status = reap(pid);
  assert_true(WIFSIGNALED(status));
  assert_int_equal(WTERMSIG(status), SIGKILL);
  if (drv_cgroup_destroy(cg, &err) < 0) fail_msg("%s", err.msg);
  const char *mount = drv_cgroup_system_v1_mount(sys, DRV_CG_MEMORY);
  if (!mount) mount = drv_cgroup_system_unified_mount(sys);
  _cleanup_free_ char *gone = drv_asprintf("%s%s", mount, path);
  assert_false(drv_path_exists(gone));
  drv_cgroup_free(cg);
  munmap((void *)counter, 4096);
}

static void devices_pids_and_oom(void **state)
{
  (void)state;
  drv_cgroup_system *sys = system_or_skip();
  if (drv_cgroup_system_mode(sys) == DRV_CGROUP_MODE_V2) skip(); /* device rules via eBPF: below */
  _cleanup_free_ char *path = unique_path();
  drv_cgroup_resources res;
  parse_res("{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}],\"pids\":{\"limit\":4},"
            "\"memory\":{\"limit\":33554432,\"swap\":33554432}}",
            &res);
  drv_cgroup_resources_add_default_devices(&res);
  drv_cgroup *cg;
  drv_err err;
  if (drv_cgroup_create(sys, path, "x", &res, 0, &cg, &err) < 0) fail_msg("%s", err.msg);
  drv_cgroup_resources_free(&res);
  for (int mode = 1; mode <= 3; mode++) {
    struct child_arg a = {.mode = mode};
    assert_int_equal(pipe(a.go), 0);
    pid_t pid = spawn(child_body, &a);
    if (drv_cgroup_enter(cg, pid, 0, &err) < 0) fail_msg("%s", err.msg);
    go(&a);
    int st = reap(pid);
    if (mode == 3) {
      assert_true(WIFSIGNALED(st));
      assert_int_equal(WTERMSIG(st), SIGKILL);
    } else {
      if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) fail_msg("mode %d: status %d", mode, st);
    }
    /* pids test leaves paused grandchildren: clear them out */
    assert_int_equal(drv_cgroup_killall(cg, SIGKILL, &err), 0);
  }
  drv_cgroup_stats st;
  assert_int_equal(drv_cgroup_stats_read(cg, &st, &err), 0);
  assert_true(st.memory.oom_kills >= 1);
  if (drv_cgroup_destroy(cg, &err) < 0) fail_msg("%s", err.msg);
  drv_cgroup_free(cg);
}

static void failure_leaves_nothing(void **state)
{
  (void)state;
  drv_cgroup_system *sys = system_or_skip();
  _cleanup_free_ char *path = unique_path();
  _cleanup_free_ char *deep = drv_asprintf("%s/a/b", path);
  drv_cgroup_resources res;
  /* passes validation, refused by the kernel: cpus this machine does not have */
  parse_res("{\"pids\":{\"limit\":5},\"cpu\":{\"cpus\":\"1000\"}}", &res);
  drv_cgroup *cg;
  drv_err err;
  assert_int_equal(drv_cgroup_create(sys, deep, "x", &res, 0, &cg, &err), -1);
  drv_cgroup_resources_free(&res);
  assert_non_null(
      strstr(err.msg, "linux.resources.cpu.cpus `1000`: not in the cpus this machine has"));
  static const unsigned ctl[] = {DRV_CG_CPU, DRV_CG_MEMORY, DRV_CG_PIDS, DRV_CG_CPUSET,
                                 DRV_CG_FREEZER};
  for (size_t i = 0; i < DRV_ARRAY_LEN(ctl); i++) {
    const char *m = drv_cgroup_system_v1_mount(sys, ctl[i]);
    if (!m) continue;
    _cleanup_free_ char *p = drv_asprintf("%s%s", m, path);
    if (drv_path_exists(p)) fail_msg("left behind: %s", p);
  }
  if (drv_cgroup_system_unified_mount(sys)) {
    _cleanup_free_ char *p = drv_asprintf("%s%s", drv_cgroup_system_unified_mount(sys), path);
    assert_false(drv_path_exists(p));
  }
}

static void unified_bpf_and_clone_into(void **state)
{
  (void)state;
  drv_cgroup_system *sys = system_or_skip();
  if (!drv_cgroup_system_unified_mount(sys)) skip();
  _cleanup_free_ char *path = unique_path();
  drv_cgroup *cg;
  drv_err err;
  if (drv_cgroup_create(sys, path, "x", NULL, 0, &cg, &err) < 0) fail_msg("%s", err.msg);
  const char *u = drv_cgroup_dir(cg, 0);
  assert_non_null(u);

  /* the device program, for real: reads of /dev/null (1:3) denied, writes allowed */
  drv_cgroup_device_rule rules[] = {{false, 'c', 1, 3, "r"}};
  size_t len;
  _cleanup_free_ struct bpf_insn *prog = drv_cg_devices_bpf(rules, 1, &len);
  if (drv_cg_devices_bpf_apply(u, prog, len, &err) < 0) fail_msg("%s", err.msg);
  /* applying again replaces rather than stacks */
  if (drv_cg_devices_bpf_apply(u, prog, len, &err) < 0) fail_msg("%s", err.msg);
  struct child_arg a = {.mode = 4};
  assert_int_equal(pipe(a.go), 0);
  pid_t pid = spawn(child_body, &a);
  if (drv_cgroup_enter(cg, pid, 0, &err) < 0) fail_msg("%s", err.msg);
  go(&a);
  int st = reap(pid);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) fail_msg("device child: status %d", st);

  /* clone3 straight into the v2 group */
  int fd = drv_cgroup_unified_fd(cg, &err);
  assert_true(fd >= 0);
  struct clone_args ca;
  memset(&ca, 0, sizeof ca);
  ca.flags = CLONE_INTO_CGROUP;
  ca.exit_signal = SIGCHLD;
  ca.cgroup = (uint64_t)fd;
  int go_pipe[2];
  assert_int_equal(pipe(go_pipe), 0);
  long r = syscall(SYS_clone3, &ca, sizeof ca);
  if (r == 0) {
    char c;
    close(go_pipe[1]);
    if (read(go_pipe[0], &c, 1) != 1) _exit(1);
    _exit(0);
  }
  close(fd);
  assert_true(r > 0);
  children[n_children++] = (pid_t)r;
  _cleanup_free_ char *f = drv_asprintf("/proc/%ld/cgroup", r), *text = NULL;
  assert_int_equal(drv_read_file(f, 0, &text, NULL, &err), 0);
  _cleanup_free_ char *want = drv_asprintf("0::%s\n", path);
  if (!strstr(text, want)) fail_msg("clone3 child cgroups: %s", text);
  close(go_pipe[0]);
  assert_int_equal(write(go_pipe[1], "x", 1), 1);
  close(go_pipe[1]);
  reap((pid_t)r);
  if (drv_cgroup_destroy(cg, &err) < 0) fail_msg("%s", err.msg);
  drv_cgroup_free(cg);
}

/* Many creates in one new parent at once, half of them failing and undoing what they made:
 * the good ones must all succeed (mkdir races, a parent removed under a sibling's feet). */
struct conc_arg {
  drv_cgroup_system *sys;
  const char *parent;
  int id, ok, failed_ok;
  char msg[1400];
};

static void *conc_worker(void *p)
{
  struct conc_arg *a = p;
  for (int k = 0; k < 15; k++) {
    bool bad = (k + a->id) % 2;
    _cleanup_free_ char *path = drv_asprintf("%s/n%d/t%d-%d", a->parent, k % 3, a->id, k);
    drv_cgroup_resources res;
    drv_cgroup_resources_init(&res);
    res.pids.limit = (drv_opt_i64){true, 10};
    if (bad) res.cpu.cpus = drv_strdup("1000");
    drv_cgroup *cg;
    drv_err err;
    int r = drv_cgroup_create(a->sys, path, "x", &res, 0, &cg, &err);
    drv_cgroup_resources_free(&res);
    if (bad) {
      if (r == 0) {
        snprintf(a->msg, sizeof a->msg, "%s: bad create succeeded", path);
        drv_cgroup_destroy(cg, &err);
        drv_cgroup_free(cg);
      } else {
        a->failed_ok++;
      }
      continue;
    }
    if (r < 0) {
      snprintf(a->msg, sizeof a->msg, "%s: %s", path, err.msg);
      continue;
    }
    a->ok++;
    drv_cgroup_destroy(cg, &err);
    drv_cgroup_free(cg);
  }
  return NULL;
}

static void concurrent_creates(void **state)
{
  (void)state;
  drv_cgroup_system *sys = system_or_skip();
  _cleanup_free_ char *parent = unique_path();
  struct conc_arg args[4];
  pthread_t th[4];
  for (int i = 0; i < 4; i++) {
    args[i] = (struct conc_arg){.sys = sys, .parent = parent, .id = i};
    assert_int_equal(pthread_create(&th[i], NULL, conc_worker, &args[i]), 0);
  }
  int ok = 0, failed_ok = 0;
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    if (args[i].msg[0]) fail_msg("%s", args[i].msg);
    ok += args[i].ok;
    failed_ok += args[i].failed_ok;
  }
  assert_int_equal(ok + failed_ok, 60);
}

/* The v2 backend for real: this machine's v2 hierarchy (hybrid: no controllers, but freeze,
 * kill, cpu.stat and the device program are all core v2). */
static drv_cgroup_system *v2sys;

static int teardown_v2(void **state)
{
  for (size_t i = 0; i < n_children; i++) {
    if (children[i] <= 0) continue;
    kill(children[i], SIGKILL);
    waitpid(children[i], NULL, 0);
  }
  n_children = 0;
  if (v2sys) {
    for (size_t i = 0; i < n_paths; i++) {
      drv_cgroup *cg;
      drv_err err;
      if (drv_cgroup_open(v2sys, paths[i], &cg, &err) == 0) {
        drv_cgroup_killall(cg, SIGKILL, &err);
        drv_cgroup_destroy(cg, &err);
        drv_cgroup_free(cg);
      }
    }
    drv_cgroup_system_free(v2sys);
    v2sys = NULL;
  }
  return teardown(state);
}

static void v2_backend_on_this_machine(void **state)
{
  (void)state;
  drv_cgroup_system *sys = system_or_skip();
  const char *u = drv_cgroup_system_unified_mount(sys);
  if (!u || drv_cgroup_system_mode(sys) == DRV_CGROUP_MODE_V2) skip(); /* v2 hosts: test above */
  drv_err err;
  assert_int_equal(drv_cgroup_system_from_root(DRV_CGROUP_MODE_V2, u, &v2sys, &err), 0);
  assert_int_equal(drv_cgroup_system_mode(v2sys), DRV_CGROUP_MODE_V2);
  _cleanup_free_ char *path = unique_path();
  _cleanup_free_ char *leaf = drv_asprintf("%s/pod/ctr", path);
  drv_cgroup_resources res;
  parse_res(
      "{\"devices\":[{\"allow\":false,\"type\":\"c\",\"major\":1,\"minor\":3,\"access\":\"r\"}]}",
      &res);
  drv_cgroup *cg;
  if (drv_cgroup_create(v2sys, leaf, "x", &res, 0, &cg, &err) < 0) fail_msg("%s", err.msg);
  drv_cgroup_resources_free(&res);

  /* devices through the program create attached */
  struct child_arg a = {.mode = 4};
  assert_int_equal(pipe(a.go), 0);
  pid_t pid = spawn(child_body, &a);
  if (drv_cgroup_enter(cg, pid, 0, &err) < 0) fail_msg("%s", err.msg);
  go(&a);
  int st = reap(pid);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) fail_msg("device child: status %d", st);

  /* freeze/thaw with cgroup.freeze, stats from cpu.stat, kill with cgroup.kill */
  volatile uint64_t *counter =
      mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  assert_true(counter != MAP_FAILED);
  struct child_arg b = {.counter = counter, .mode = 0};
  assert_int_equal(pipe(b.go), 0);
  pid = spawn(child_body, &b);
  if (drv_cgroup_enter(cg, pid, 0, &err) < 0) fail_msg("%s", err.msg);
  go(&b);
  long long deadline = drv_now_ms() + 5000;
  while (*counter == 0 && drv_now_ms() < deadline)
    sched_yield();
  if (drv_cgroup_freeze(cg, true, &err) < 0) fail_msg("%s", err.msg);
  bool frozen;
  assert_int_equal(drv_cgroup_is_frozen(cg, &frozen, &err), 0);
  assert_true(frozen);
  uint64_t c1 = *counter;
  struct timespec ts = {0, 30 * 1000000};
  nanosleep(&ts, NULL);
  assert_true(*counter == c1);
  if (drv_cgroup_freeze(cg, false, &err) < 0) fail_msg("%s", err.msg);
  deadline = drv_now_ms() + 5000;
  while (*counter == c1 && drv_now_ms() < deadline)
    sched_yield();
  assert_true(*counter != c1);
  drv_cgroup_stats stats;
  assert_int_equal(drv_cgroup_stats_read(cg, &stats, &err), 0);
  assert_true(stats.have & DRV_CGROUP_STATS_CPU);
  assert_true(stats.cpu.usage_ns > 0);
  pid_t *pids;
  size_t n;
  assert_int_equal(drv_cgroup_pids(cg, true, &pids, &n, &err), 0);
  assert_int_equal(n, 1);
  free(pids);
  if (drv_cgroup_killall(cg, SIGKILL, &err) < 0) fail_msg("%s", err.msg);
  st = reap(pid);
  assert_true(WIFSIGNALED(st));
  /* destroying the parent takes the nested groups with it */
  drv_cgroup *top;
  assert_int_equal(drv_cgroup_open(v2sys, path, &top, &err), 0);
  if (drv_cgroup_destroy(top, &err) < 0) fail_msg("%s", err.msg);
  drv_cgroup_free(top);
  _cleanup_free_ char *gone = drv_asprintf("%s%s", u, path);
  assert_false(drv_path_exists(gone));
  drv_cgroup_free(cg);
  munmap((void *)counter, 4096);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(limits_enter_stats_freeze_kill, teardown),
      cmocka_unit_test_teardown(devices_pids_and_oom, teardown),
      cmocka_unit_test_teardown(failure_leaves_nothing, teardown),
      cmocka_unit_test_teardown(unified_bpf_and_clone_into, teardown),
      cmocka_unit_test_teardown(v2_backend_on_this_machine, teardown_v2),
      cmocka_unit_test_teardown(concurrent_creates, teardown),
  };
  return cmocka_run_group_tests_name("runtime_cgroup_real", tests, NULL, NULL);
}
