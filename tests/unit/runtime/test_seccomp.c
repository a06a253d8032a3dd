/* Seccomp: OCI profiles compile with every action and operator, bad input names its field, and
 * the prebuilt programs really load and act in forked children. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/util.h"
#include "runtime/seccomp.h"

static drv_seccomp_filter *compile_ok(const char *json)
{
  drv_seccomp_filter *f = NULL;
  drv_err err;
  if (drv_seccomp_compile_text(json, strlen(json), &f, &err) < 0)
    fail_msg("compile %s: %s", json, err.msg);
  assert_true(drv_seccomp_filter_len(f) > 0);
  return f;
}

static void compile_fails(const char *json, const char *want)
{
  drv_seccomp_filter *f = NULL;
  drv_err err;
  if (drv_seccomp_compile_text(json, strlen(json), &f, &err) == 0) {
    drv_seccomp_free(f);
    fail_msg("compiled, wanted error `%s`: %s", want, json);
  }
  if (!strstr(err.msg, want)) fail_msg("error `%s` lacks `%s`", err.msg, want);
}

static void every_action_compiles(void **state)
{
  (void)state;
  static const char *const actions[] = {
      "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
      "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE",        "SCMP_ACT_LOG",         "SCMP_ACT_NOTIFY"};
  for (size_t i = 0; i < DRV_ARRAY_LEN(actions); i++) {
    _cleanup_free_ char *j =
        drv_asprintf("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"/run/x.sock\","
                     "\"syscalls\":[{\"names\":[\"getpid\",\"no_such_syscall_at_all\"],\"action\":"
                     "\"%s\",\"errnoRet\":5}]}",
                     actions[i]);
    drv_seccomp_filter *f = compile_ok(j);
    assert_int_equal(drv_seccomp_uses_notify(f), strcmp(actions[i], "SCMP_ACT_NOTIFY") == 0);
    drv_seccomp_free(f);
  }
  /* every action as the default too (except NOTIFY, which cannot be) */
  for (size_t i = 0; i + 1 < DRV_ARRAY_LEN(actions); i++) {
    _cleanup_free_ char *j = drv_asprintf(
        "{\"defaultAction\":\"%s\",\"defaultErrnoRet\":38,\"architectures\":[\"SCMP_ARCH_X86_64\","
        "\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\"],\"flags\":[\"SECCOMP_FILTER_FLAG_TSYNC\","
        "\"SECCOMP_FILTER_FLAG_LOG\",\"SECCOMP_FILTER_FLAG_SPEC_ALLOW\"],"
        "\"syscalls\":[{\"names\":[\"read\",\"write\",\"exit_group\"],\"action\":\"SCMP_ACT_"
        "ALLOW\"}]}",
        actions[i]);
    drv_seccomp_filter *f = compile_ok(j);
    assert_int_equal(drv_seccomp_filter_flags(f), 7);
    drv_seccomp_free(f);
  }
}

static void every_operator_compiles(void **state)
{
  (void)state;
  static const char *const ops[] = {"SCMP_CMP_NE",       "SCMP_CMP_LT", "SCMP_CMP_LE",
                                    "SCMP_CMP_EQ",       "SCMP_CMP_GE", "SCMP_CMP_GT",
                                    "SCMP_CMP_MASKED_EQ"};
  for (size_t i = 0; i < DRV_ARRAY_LEN(ops); i++) {
    _cleanup_free_ char *j = drv_asprintf(
        "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"personality\"],"
        "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":255,\"valueTwo\":8,\"op\":"
        "\"%s\"},"
        "{\"index\":1,\"value\":1,\"op\":\"%s\"}]}]}",
        ops[i], ops[i]);
    drv_seccomp_free(compile_ok(j));
  }
  /* same index twice: alternatives, one rule each */
  drv_seccomp_free(compile_ok(
      "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"personality\"],"
      "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_EQ\"},"
      "{\"index\":0,\"value\":2,\"op\":\"SCMP_CMP_EQ\"}]}]}"));
}

static void bad_input_names_the_field(void **state)
{
  (void)state;
  compile_fails("{}", "linux.seccomp.defaultAction: required");
  compile_fails("[]", "linux.seccomp: expected an object");
  compile_fails("{\"defaultAction\":", "linux.seccomp: line 1");
  compile_fails("{\"defaultAction\":\"SCMP_ACT_MAYBE\"}",
                "linux.seccomp.defaultAction: unknown action `SCMP_ACT_MAYBE`");
  compile_fails("{\"defaultAction\":\"SCMP_ACT_NOTIFY\"}", "cannot be the default");
  compile_fails("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":-1}",
                "errnoRet must be");
  compile_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_Z80\"]}",
                "linux.seccomp.architectures[0]: unknown architecture `SCMP_ARCH_Z80`");
  compile_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"SECCOMP_FILTER_FLAG_FAST\"]}",
                "linux.seccomp.flags[0]: unknown flag `SECCOMP_FILTER_FLAG_FAST`");
  compile_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
                "\"action\":\"SCMP_ACT_NOPE\"}]}",
                "linux.seccomp.syscalls[0].action: unknown action `SCMP_ACT_NOPE`");
  compile_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
                "\"action\":\"SCMP_ACT_ERRNO\","
                "\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_ALMOST\"}]}]}",
                "linux.seccomp.syscalls[0].args[0].op: unknown operator `SCMP_CMP_ALMOST`");
  compile_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
                "\"action\":\"SCMP_ACT_ERRNO\","
                "\"args\":[{\"index\":6,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}]}",
                "linux.seccomp.syscalls[0].args[0].index: expected 0..5");
  compile_fails(
      "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"action\":\"SCMP_ACT_ERRNO\"}]}",
      "linux.seccomp.syscalls[0].names: at least one");
  compile_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
                "\"action\":\"SCMP_ACT_NOTIFY\"}]}",
                "linux.seccomp.listenerPath: required");
  compile_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[3],\"action\":"
                "\"SCMP_ACT_ERRNO\"}]}",
                "linux.seccomp.syscalls[0].names[0]: expected a string");
  compile_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":{}}",
                "linux.seccomp.syscalls: expected an array");
}

/* Runs fn in a forked child after loading the filter; returns the wait status. */
static int run_child(const drv_seccomp_filter *f, int (*fn)(void *), void *arg)
{
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    int r = drv_seccomp_load(f, NULL);
    if (r < 0) _exit(100);
    _exit(fn(arg));
  }
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  return status;
}

static int child_getpid_exdev(void *arg)
{
  (void)arg;
  long r = syscall(SYS_getpid);
  return r == -1 && errno == EXDEV ? 0 : 1;
}

static int child_mkdir_mode(void *arg)
{
  const char *dir = arg;
  _cleanup_free_ char *a = drv_asprintf("%s/a", dir), *b = drv_asprintf("%s/b", dir);
  if (syscall(SYS_mkdir, a, 0700) != -1 || errno != EROFS) return 1; /* mode 0700 refused */
  if (syscall(SYS_mkdir, b, 0755) != 0) return 2;                    /* others pass */
  return 0;
}

static int child_getpid(void *arg)
{
  (void)arg;
  syscall(SYS_getpid);
  return 0;
}

static int child_trace_enosys(void *arg)
{
  (void)arg;
  /* SCMP_ACT_TRACE with no tracer: the syscall fails with ENOSYS. */
  return syscall(SYS_getpid) == -1 && errno == ENOSYS ? 0 : 1;
}

static volatile sig_atomic_t got_sigsys;
static void on_sigsys(int s)
{
  (void)s;
  got_sigsys = 1;
}

static int child_trap(void *arg)
{
  (void)arg;
  signal(SIGSYS, on_sigsys);
  syscall(SYS_getpid);
  return got_sigsys ? 0 : 1;
}

static void loads_and_acts(void **state)
{
  (void)state;
  drv_seccomp_filter *f = compile_ok(
      "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"SECCOMP_FILTER_FLAG_TSYNC\"],"
      "\"syscalls\":[{\"names\":[\"getpid\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":18}]}");
  int st = run_child(f, child_getpid_exdev, NULL);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  drv_seccomp_free(f);

  /* argument rule: mkdir(path, 0700) → EROFS, other modes pass */
  char dir[] = "/tmp/drv-test-sc-XXXXXX";
  assert_non_null(mkdtemp(dir));
  f = compile_ok("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\"],"
                 "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":30,"
                 "\"args\":[{\"index\":1,\"value\":448,\"op\":\"SCMP_CMP_EQ\"}]}]}");
  st = run_child(f, child_mkdir_mode, dir);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  drv_seccomp_free(f);
  drv_err err;
  drv_rm_rf(dir, &err);

  f = compile_ok("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getpid\"],"
                 "\"action\":\"SCMP_ACT_KILL_PROCESS\"}]}");
  st = run_child(f, child_getpid, NULL);
  assert_true(WIFSIGNALED(st));
  assert_int_equal(WTERMSIG(st), SIGSYS);
  drv_seccomp_free(f);

  f = compile_ok("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getpid\"],"
                 "\"action\":\"SCMP_ACT_KILL\"}]}");
  st = run_child(f, child_getpid, NULL);
  assert_true(WIFSIGNALED(st));
  assert_int_equal(WTERMSIG(st), SIGSYS);
  drv_seccomp_free(f);

  f = compile_ok("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getpid\"],"
                 "\"action\":\"SCMP_ACT_TRAP\"}]}");
  st = run_child(f, child_trap, NULL);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  drv_seccomp_free(f);

  f = compile_ok("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getpid\"],"
                 "\"action\":\"SCMP_ACT_TRACE\"}]}");
  st = run_child(f, child_trace_enosys, NULL);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  drv_seccomp_free(f);

  /* LOG allows (and logs) */
  f = compile_ok("{\"defaultAction\":\"SCMP_ACT_LOG\",\"syscalls\":[{\"names\":[\"getpid\"],"
                 "\"action\":\"SCMP_ACT_ALLOW\"}]}");
  st = run_child(f, child_getpid, NULL);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  drv_seccomp_free(f);
}

/* ---- notify ---------------------------------------------------------------------------------- */

static void notify_listener(void **state)
{
  (void)state;
  char dir[] = "/tmp/drv-test-sc-XXXXXX";
  assert_non_null(mkdtemp(dir));
  _cleanup_free_ char *sock = drv_asprintf("%s/l.sock", dir);
  int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  strcpy(sa.sun_path, sock);
  assert_int_equal(bind(ls, (struct sockaddr *)&sa, sizeof sa), 0);
  assert_int_equal(listen(ls, 1), 0);
  _cleanup_free_ char *j =
      drv_asprintf("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"%s\","
                   "\"listenerMetadata\":\"hello\","
                   "\"syscalls\":[{\"names\":[\"getppid\"],\"action\":\"SCMP_ACT_NOTIFY\"}]}",
                   sock);
  drv_seccomp_filter *f = compile_ok(j);
  assert_string_equal(drv_seccomp_listener_metadata(f), "hello");
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int fd;
    if (drv_seccomp_load(f, &fd) < 0 || fd < 0) _exit(100);
    json_t *st = json_pack("{s:s, s:i}", "id", "c1", "pid", (int)getpid());
    drv_err err;
    if (drv_seccomp_send_listener(f, fd, st, &err) < 0) _exit(101);
    close(fd);
    long r = syscall(SYS_getppid); /* answered by the listener */
    _exit(r == 4242 ? 0 : 102);
  }
  int c = accept(ls, NULL, NULL);
  assert_true(c >= 0);
  char buf[4096];
  union {
    char b[CMSG_SPACE(sizeof(int))];
    struct cmsghdr a;
  } u;
  struct iovec iov = {buf, sizeof buf - 1};
  struct msghdr mh = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof u.b};
  ssize_t n = recvmsg(c, &mh, 0);
  assert_true(n > 0);
  buf[n] = '\0';
  struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
  assert_non_null(cm);
  int nfd;
  memcpy(&nfd, CMSG_DATA(cm), sizeof nfd);
  json_t *msg = json_loads(buf, 0, NULL);
  assert_non_null(msg);
  assert_string_equal(json_string_value(json_array_get(json_object_get(msg, "fds"), 0)),
                      "seccompFd");
  assert_string_equal(json_string_value(json_object_get(msg, "metadata")), "hello");
  assert_int_equal(json_integer_value(json_object_get(msg, "pid")), pid);
  assert_string_equal(json_string_value(json_object_get(json_object_get(msg, "state"), "id")),
                      "c1");
  json_decref(msg);
  struct seccomp_notif *req;
  struct seccomp_notif_resp *resp;
  assert_int_equal(seccomp_notify_alloc(&req, &resp), 0);
  assert_int_equal(seccomp_notify_receive(nfd, req), 0);
  assert_int_equal(req->pid, pid);
  resp->id = req->id;
  resp->val = 4242;
  resp->error = 0;
  resp->flags = 0;
  assert_int_equal(seccomp_notify_respond(nfd, resp), 0);
  seccomp_notify_free(req, resp);
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  close(nfd);
  close(c);
  close(ls);
  drv_seccomp_free(f);
  drv_err err;
  drv_rm_rf(dir, &err);
}

/* ---- default profile ------------------------------------------------------------------------- */

static int child_default_profile(void *arg)
{
  bool admin = arg != NULL;
  /* ordinary work goes on */
  pid_t p = fork();
  if (p < 0) return 1;
  if (p == 0) _exit(7);
  int st;
  if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 7) return 2;
  if (personality(0xffffffff) == -1) return 3;
  /* namespaces and mounts need CAP_SYS_ADMIN in the profile */
  int r = unshare(CLONE_NEWUTS);
  if (admin ? r != 0 : (r != -1 || errno != EPERM)) return 4;
  r = (int)syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, NULL, NULL, NULL, NULL);
  if (r == 0) _exit(0);
  if (admin ? r < 0 : (r != -1 || errno != EPERM)) return 5;
  if (r > 0) waitpid(r, NULL, 0);
  if (!admin && (syscall(SYS_clone3, NULL, 0) != -1 || errno != ENOSYS)) return 6;
  if (syscall(SYS_reboot, 0, 0, 0, NULL) != -1 || errno != EPERM) return 7;
  if (personality(0x0040000) != -1 || errno != EPERM) return 8; /* ADDR_COMPAT_LAYOUT alone */
  if (syscall(SYS_io_uring_setup, 1, NULL) != -1 || errno != EPERM) return 9;
  if (syscall(SYS_adjtimex, NULL) != -1 || errno != EFAULT) return 10; /* reaches the kernel */
  return 0;
}

static void default_profile(void **state)
{
  (void)state;
  drv_err err;
  json_t *prof = drv_seccomp_default_profile(0);
  assert_string_equal(json_string_value(json_object_get(prof, "defaultAction")), "SCMP_ACT_ERRNO");
  drv_seccomp_filter *f = NULL;
  if (drv_seccomp_compile(prof, &f, &err) < 0) fail_msg("%s", err.msg);
  json_decref(prof);
  int st = run_child(f, child_default_profile, NULL);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  drv_seccomp_free(f);

  prof = drv_seccomp_default_profile((1ull << CAP_SYS_ADMIN) | (1ull << CAP_BPF));
  if (drv_seccomp_compile(prof, &f, &err) < 0) fail_msg("%s", err.msg);
  json_decref(prof);
  st = run_child(f, child_default_profile, (void *)1);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  drv_seccomp_free(f);
}

static void compile_cache(void **state)
{
  (void)state;
  char dir[] = "/tmp/drv-test-sc-XXXXXX";
  assert_non_null(mkdtemp(dir));
  _cleanup_free_ char *cdir = drv_asprintf("%s/cache", dir);
  json_t *prof = drv_seccomp_default_profile(0);
  drv_err err;
  drv_seccomp_filter *a, *b, *c;
  drv_seccomp_cache_clear();
  long long t0 = drv_now_ns();
  if (drv_seccomp_compile_cached(prof, cdir, &a, &err) < 0) fail_msg("%s", err.msg);
  long long t1 = drv_now_ns();
  if (drv_seccomp_compile_cached(prof, cdir, &b, &err) < 0) fail_msg("%s", err.msg); /* memory */
  long long t2 = drv_now_ns();
  drv_seccomp_cache_clear();
  if (drv_seccomp_compile_cached(prof, cdir, &c, &err) < 0) fail_msg("%s", err.msg); /* disk */
  long long t3 = drv_now_ns();
  print_message("compile %.3f ms, memory hit %.3f ms, disk hit %.3f ms\n", (t1 - t0) / 1e6,
                (t2 - t1) / 1e6, (t3 - t2) / 1e6);
  assert_int_equal(drv_seccomp_filter_len(a), drv_seccomp_filter_len(b));
  assert_int_equal(drv_seccomp_filter_len(a), drv_seccomp_filter_len(c));
  assert_true(t2 - t1 < t1 - t0);
  assert_true(t3 - t2 < t1 - t0);
  /* the disk copy acts like the compiled one */
  int st = run_child(c, child_default_profile, NULL);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  drv_seccomp_free(a);
  drv_seccomp_free(b);
  drv_seccomp_free(c);
  /* a cache file others may write is not trusted: compiled again */
  DIR *d = opendir(cdir);
  assert_non_null(d);
  struct dirent *de;
  int files = 0;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.') continue;
    files++;
    _cleanup_free_ char *p = drv_asprintf("%s/%s", cdir, de->d_name);
    assert_int_equal(chmod(p, 0666), 0);
    FILE *f = fopen(p, "r+");
    assert_non_null(f);
    fseek(f, 40, SEEK_SET);
    fputc(0, f); /* would change the program */
    fclose(f);
  }
  closedir(d);
  assert_int_equal(files, 1);
  drv_seccomp_cache_clear();
  if (drv_seccomp_compile_cached(prof, cdir, &c, &err) < 0) fail_msg("%s", err.msg);
  st = run_child(c, child_default_profile, NULL);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  drv_seccomp_free(c);
  /* a different profile is a different entry; bad input still errors */
  json_object_set_new(prof, "defaultErrnoRet", json_integer(38));
  if (drv_seccomp_compile_cached(prof, NULL, &c, &err) < 0) fail_msg("%s", err.msg);
  drv_seccomp_free(c);
  json_object_set_new(prof, "defaultAction", json_string("SCMP_ACT_NOPE"));
  assert_int_equal(drv_seccomp_compile_cached(prof, NULL, &c, &err), -1);
  assert_non_null(strstr(err.msg, "linux.seccomp.defaultAction: unknown action"));
  json_decref(prof);
  drv_seccomp_cache_clear();
  drv_rm_rf(dir, &err);
}

/* ---- ENOSYS prologue ----------------------------------------------------------------------------
 */

/* A classic BPF interpreter for what libseccomp and the prologue emit. */
static uint32_t run_cbpf(const struct sock_filter *p, size_t len, const struct seccomp_data *d)
{
  uint32_t A = 0, X = 0, M[BPF_MEMWORDS] = {0};
  const uint8_t *data = (const uint8_t *)d;
  for (size_t pc = 0; pc < len; pc++) {
    const struct sock_filter *i = &p[pc];
    switch (BPF_CLASS(i->code)) {
    case BPF_LD:
      if (BPF_MODE(i->code) == BPF_ABS)
        memcpy(&A, data + i->k, 4);
      else if (BPF_MODE(i->code) == BPF_IMM)
        A = i->k;
      else if (BPF_MODE(i->code) == BPF_MEM)
        A = M[i->k];
      else
        fail_msg("ld mode 0x%x", i->code);
      break;
    case BPF_LDX:
      if (BPF_MODE(i->code) == BPF_IMM)
        X = i->k;
      else if (BPF_MODE(i->code) == BPF_MEM)
        X = M[i->k];
      else
        fail_msg("ldx mode 0x%x", i->code);
      break;
    case BPF_ST:
      M[i->k] = A;
      break;
    case BPF_STX:
      M[i->k] = X;
      break;
    case BPF_ALU: {
      uint32_t v = BPF_SRC(i->code) == BPF_X ? X : i->k;
      switch (BPF_OP(i->code)) {
      case BPF_AND:
        A &= v;
        break;
      case BPF_OR:
        A |= v;
        break;
      case BPF_ADD:
        A += v;
        break;
      case BPF_SUB:
        A -= v;
        break;
      case BPF_LSH:
        A <<= v;
        break;
      case BPF_RSH:
        A >>= v;
        break;
      default:
        fail_msg("alu op 0x%x", i->code);
      }
      break;
    }
    case BPF_JMP: {
      if (BPF_OP(i->code) == BPF_JA) {
        pc += i->k;
        break;
      }
      uint32_t v = BPF_SRC(i->code) == BPF_X ? X : i->k;
      bool c;
      switch (BPF_OP(i->code)) {
      case BPF_JEQ:
        c = A == v;
        break;
      case BPF_JGT:
        c = A > v;
        break;
      case BPF_JGE:
        c = A >= v;
        break;
      case BPF_JSET:
        c = (A & v) != 0;
        break;
      default:
        fail_msg("jmp op 0x%x", i->code);
        c = false;
      }
      pc += c ? i->jt : i->jf;
      break;
    }
    case BPF_RET:
      return BPF_RVAL(i->code) == BPF_A ? A : i->k;
    case BPF_MISC:
      if (BPF_MISCOP(i->code) == BPF_TAX)
        X = A;
      else
        A = X;
      break;
    default:
      fail_msg("class 0x%x", i->code);
    }
  }
  fail_msg("fell off the program");
  return 0;
}

static uint32_t decide(const drv_seccomp_filter *f, uint32_t arch, uint32_t nr)
{
  struct seccomp_data d = {.nr = (int)nr, .arch = arch};
  return run_cbpf(drv_seccomp_filter_program(f), drv_seccomp_filter_len(f), &d);
}

#define RET_ERRNO(e) (SECCOMP_RET_ERRNO | (e))

static int child_enosys(void *arg)
{
  (void)arg;
  if (syscall(SYS_getpid) <= 0) return 1;                                   /* allowed */
  if (syscall(SYS_reboot, 0, 0, 0, NULL) != -1 || errno != EPERM) return 2; /* refused: EPERM */
  if (syscall(1000) != -1 || errno != ENOSYS) return 3; /* newer than the profile */
  return 0;
}

static void enosys_for_newer_syscalls(void **state)
{
  (void)state;
  drv_seccomp_filter *f = compile_ok("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"architectures\":["
                                     "\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\","
                                     "\"SCMP_ARCH_X32\"],\"syscalls\":[{\"names\":[\"read\","
                                     "\"write\",\"exit\",\"exit_group\",\"getpid\","
                                     "\"rt_sigreturn\"],\"action\":\"SCMP_ACT_ALLOW\"}]}");
  /* x86_64: getpid 39 allowed, getppid 110 (< exit_group 231) EPERM, 400 ENOSYS */
  assert_int_equal(decide(f, AUDIT_ARCH_X86_64, 39), SECCOMP_RET_ALLOW);
  assert_int_equal(decide(f, AUDIT_ARCH_X86_64, 110), RET_ERRNO(EPERM));
  assert_int_equal(decide(f, AUDIT_ARCH_X86_64, 400), RET_ERRNO(ENOSYS));
  /* i386: getpid 20, getppid 64 (< exit_group 252), 300 */
  assert_int_equal(decide(f, AUDIT_ARCH_I386, 20), SECCOMP_RET_ALLOW);
  assert_int_equal(decide(f, AUDIT_ARCH_I386, 64), RET_ERRNO(EPERM));
  assert_int_equal(decide(f, AUDIT_ARCH_I386, 300), RET_ERRNO(ENOSYS));
  /* x32: numbers with bit 30; its rt_sigreturn is 513, the highest named */
  assert_int_equal(decide(f, AUDIT_ARCH_X86_64, 0x40000000u | 39), SECCOMP_RET_ALLOW);
  assert_int_equal(decide(f, AUDIT_ARCH_X86_64, 0x40000000u | 400), RET_ERRNO(EPERM));
  assert_int_equal(decide(f, AUDIT_ARCH_X86_64, 0x40000000u | 600), RET_ERRNO(ENOSYS));
  /* an arch the profile does not list: the program's bad-arch answer (kill) */
  assert_int_equal(decide(f, AUDIT_ARCH_AARCH64, 400), SECCOMP_RET_KILL_THREAD);
  drv_seccomp_free(f);
  /* for real, with the default profile (a child under ASan needs more than a toy allowlist) */
  json_t *prof = drv_seccomp_default_profile(0);
  drv_err err;
  if (drv_seccomp_compile(prof, &f, &err) < 0) fail_msg("%s", err.msg);
  json_decref(prof);
  int st = run_child(f, child_enosys, NULL);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  drv_seccomp_free(f);

  /* without x32 in the list, x32 calls stay the program's business (bad arch: kill) */
  f = compile_ok("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"getpid\"],"
                 "\"action\":\"SCMP_ACT_ALLOW\"}]}");
  assert_int_equal(decide(f, AUDIT_ARCH_X86_64, 0x40000000u | 400), SECCOMP_RET_KILL_THREAD);
  assert_int_equal(decide(f, AUDIT_ARCH_X86_64, 40), RET_ERRNO(ENOSYS));
  assert_int_equal(decide(f, AUDIT_ARCH_X86_64, 38), RET_ERRNO(EPERM));
  drv_seccomp_free(f);

  /* a denylist (default allow) has no prologue: new syscalls stay allowed */
  f = compile_ok("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getpid\"],"
                 "\"action\":\"SCMP_ACT_ERRNO\"}]}");
  assert_int_equal(decide(f, AUDIT_ARCH_X86_64, 400), SECCOMP_RET_ALLOW);
  assert_int_equal(decide(f, AUDIT_ARCH_X86_64, 39), RET_ERRNO(EPERM));
  drv_seccomp_free(f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_action_compiles),
      cmocka_unit_test(every_operator_compiles),
      cmocka_unit_test(bad_input_names_the_field),
      cmocka_unit_test(loads_and_acts),
      cmocka_unit_test(notify_listener),
      cmocka_unit_test(default_profile),
      cmocka_unit_test(compile_cache),
      cmocka_unit_test(enosys_for_newer_syscalls),
  };
  return cmocka_run_group_tests_name("runtime_seccomp", tests, NULL, NULL);
}
