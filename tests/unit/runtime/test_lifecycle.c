/* The library as the agent uses it: an in-memory spec, detached + monitored init, stdio fds,
 * exit status from drv_rt_state_get, from a caller that has other threads busy in malloc.
 * Needs root and /bin/busybox (busybox-static); skipped otherwise. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/util.h"
#include "runtime/runtime.h"

static char base[64];
static atomic_bool stop_churn;

static void *churn(void *arg)
{
  (void)arg;
  while (!atomic_load(&stop_churn)) free(malloc(64 + (size_t)(rand() % 4096)));
  return NULL;
}

static int setup(void **state)
{
  (void)state;
  /* meson test: use the build's drover-runtime as the monitor */
  const char *br = getenv("DROVER_BUILD_ROOT");
  char rt[512];
  if (br) {
    snprintf(rt, sizeof rt, "%s/drover-runtime", br);
    if (access(rt, X_OK) == 0) setenv("DROVER_RUNTIME", rt, 1);
  }
  if (geteuid() != 0 || access("/bin/busybox", X_OK) != 0) return 0;
  snprintf(base, sizeof base, "/tmp/drv-rtlib-%d", getpid());
  char p[256];
  snprintf(p, sizeof p, "%s/rootfs/bin", base);
  drv_err err;
  assert_int_equal(drv_mkdir_p(p, 0755, &err), 0);
  for (const char *d = "proc\0dev\0sys\0tmp\0"; *d; d += strlen(d) + 1) {
    snprintf(p, sizeof p, "%s/rootfs/%s", base, d);
    mkdir(p, 0755);
  }
  snprintf(p, sizeof p, "%s/rootfs/bin/busybox", base);
  char *data;
  size_t len;
  assert_int_equal(drv_read_file("/bin/busybox", 0, &data, &len, &err), 0);
  int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0755);
  assert_true(fd >= 0);
  assert_int_equal(drv_write_all(fd, data, len), 0);
  close(fd);
  free(data);
  snprintf(p, sizeof p, "%s/rootfs/bin/sh", base);
  assert_int_equal(symlink("busybox", p), 0);
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  drv_err err;
  if (base[0]) drv_rm_rf(base, &err);
  return 0;
}

static void detached_monitored_exit_code(void **state)
{
  (void)state;
  if (!base[0]) skip();
  pthread_t th[2];
  for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, churn, NULL);
  json_t *spec = drv_rt_spec_default(false);
  json_t *proc = json_object_get(spec, "process");
  json_object_set_new(proc, "terminal", json_false());
  json_object_set_new(proc, "args", json_pack("[s,s,s]", "/bin/sh", "-c", "echo out-line; exit 7"));
  _cleanup_free_ char *rootfs = drv_asprintf("%s/rootfs", base);
  json_object_set_new(json_object_get(spec, "root"), "path", json_string(rootfs));
  int out[2];
  assert_int_equal(pipe(out), 0);
  drv_rt_create_opts o;
  drv_rt_create_opts_init(&o);
  _cleanup_free_ char *root = drv_asprintf("%s/state", base);
  _cleanup_free_ char *id = drv_asprintf("lib%d", getpid());
  o.root = root;
  o.id = id;
  o.bundle = base;
  o.spec = spec;
  o.stdio[1] = out[1];
  o.detach = true;
  o.monitor = true;
  pid_t pid = 0;
  drv_err err;
  if (drv_rt_create(&o, &pid, &err) < 0) fail_msg("%s", err.msg);
  close(out[1]);
  assert_true(pid > 0);
  if (getenv("DROVER_RUNTIME")) {
    /* The monitor (the init's parent) turns into the small static drover-runtime. */
    char path[64], exe[4096] = "";
    unsigned long long ppid = 0;
    long long until = drv_now_ms() + 3000;
    while (drv_now_ms() < until) {
      snprintf(path, sizeof path, "/proc/%d/stat", pid);
      _cleanup_free_ char *stat = NULL;
      if (drv_read_file(path, 0, &stat, NULL, &err) == 0)
        sscanf(strrchr(stat, ')') + 2, "%*c %llu", &ppid);
      snprintf(path, sizeof path, "/proc/%llu/exe", ppid);
      ssize_t n = readlink(path, exe, sizeof exe - 1);
      exe[n > 0 ? n : 0] = '\0';
      if (strstr(exe, "drover-runtime")) break;
      usleep(5000);
    }
    assert_non_null(strstr(exe, "drover-runtime"));
  }
  drv_rt_state st;
  assert_int_equal(drv_rt_state_get(root, id, &st, &err), 0);
  assert_int_equal(st.status, DRV_RT_CREATED);
  drv_rt_state_clear(&st);
  if (drv_rt_start(root, id, &err) < 0) fail_msg("%s", err.msg);
  char buf[64] = {0};
  ssize_t n = drv_read_all(out[0], buf, sizeof buf - 1);
  close(out[0]);
  assert_true(n > 0);
  assert_string_equal(buf, "out-line\n");
  long long end = drv_now_ms() + 10000;
  do {
    assert_int_equal(drv_rt_state_get(root, id, &st, &err), 0);
    drv_rt_status s = st.status;
    int code = st.exit_code;
    drv_rt_state_clear(&st);
    if (s == DRV_RT_STOPPED) {
      assert_int_equal(code, 7);
      break;
    }
    usleep(2000);
  } while (drv_now_ms() < end);
  assert_int_equal(drv_rt_delete(root, id, false, &err), 0);
  atomic_store(&stop_churn, true);
  for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
  json_decref(spec);
}

/* A delete right when the init exits removes the whole state dir: the init is gone (a zombie)
 * before its monitor has reaped it and written `exit` into the dir, so a delete that did not
 * wait for the monitor left dirs holding only that file (the agent deletes on its pidfd). */
static void delete_at_exit_leaves_no_state(void **state)
{
  (void)state;
  if (!base[0]) skip();
  json_t *spec = drv_rt_spec_default(false);
  json_t *proc = json_object_get(spec, "process");
  json_object_set_new(proc, "terminal", json_false());
  json_object_set_new(proc, "args", json_pack("[s,s,s]", "/bin/sh", "-c", "exit 3"));
  _cleanup_free_ char *rootfs = drv_asprintf("%s/rootfs", base);
  json_object_set_new(json_object_get(spec, "root"), "path", json_string(rootfs));
  _cleanup_free_ char *root = drv_asprintf("%s/state", base);
  for (int i = 0; i < 20; i++) {
    _cleanup_free_ char *id = drv_asprintf("del%d-%d", getpid(), i);
    drv_rt_create_opts o;
    drv_rt_create_opts_init(&o);
    o.root = root;
    o.id = id;
    o.bundle = base;
    o.spec = spec;
    o.detach = true;
    o.monitor = true;
    pid_t pid = 0;
    drv_err err;
    if (drv_rt_create(&o, &pid, &err) < 0) fail_msg("%s", err.msg);
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    assert_true(pfd >= 0);
    if (drv_rt_start(root, id, &err) < 0) fail_msg("%s", err.msg);
    struct pollfd p = {.fd = pfd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 10000), 1);
    close(pfd);
    assert_int_equal(drv_rt_delete(root, id, false, &err), 0);
    _cleanup_free_ char *dir = drv_asprintf("%s/%s", root, id);
    assert_int_equal(access(dir, F_OK), -1);
  }
  json_decref(spec);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(detached_monitored_exit_code),
      cmocka_unit_test(delete_at_exit_leaves_no_state),
  };
  return cmocka_run_group_tests_name("runtime_lifecycle", tests, setup, teardown);
}
