/* exec: a new process in a running container. An intermediate joins the container's
 * namespaces (through /proc/PID/ns), then clones the process with CLONE_PARENT so that it
 * is the caller's child (runc does the same); the runtime puts it in the cgroup before it runs. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/util.h"
#include "runtime/cgroup.h"
#include "runtime/internal.h"
#include "runtime/seccomp.h"

void drv_rt_exec_opts_init(drv_rt_exec_opts *o)
{
  memset(o, 0, sizeof *o);
  o->root = DRV_RT_DEFAULT_ROOT;
  o->stdio[0] = o->stdio[1] = o->stdio[2] = -1;
}

/* Order matters: user first (owns the rest), mount last but one, pid last (it only affects
 * children, which is why the process is cloned after the joins). */
static const int join_order[] = {
    CLONE_NEWUSER,           CLONE_NEWIPC,          CLONE_NEWUTS, CLONE_NEWNET,
    0x02000000 /* cgroup */, 0x00000080 /* time */, CLONE_NEWPID, CLONE_NEWNS};

static __attribute__((noreturn)) void exec_child(const drv_rt_process *p,
                                                 const drv_seccomp_filter *f, int sync_fd,
                                                 int console_fd, const int stdio[3], int preserve,
                                                 struct stat *self, bool userns)
{
  drv_err err;
  drv_err_clear(&err);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
  int tmp[3];
  for (int i = 0; i < 3; i++)
    tmp[i] = stdio[i] >= 0 ? fcntl(stdio[i], F_DUPFD_CLOEXEC, 3) : -1;
  for (int i = 0; i < 3; i++)
    if (tmp[i] >= 0) dup2(tmp[i], i), close(tmp[i]);
  drv_sync_msg m;
  if (drv_sync_recv(sync_fd, &m, &err) < 0) _exit(1);
  setsid();
  if (drv_rt_set_oom(p, &err) < 0) drv_sync_fail(sync_fd, &err);
  if (drv_rt_set_rlimits(p, &err) < 0) drv_sync_fail(sync_fd, &err);
  if (p->terminal) {
    if (console_fd < 0) {
      drv_error(&err, 0, "process.terminal: true needs a console socket (--console-socket)");
      drv_sync_fail(sync_fd, &err);
    }
    if (drv_rt_setup_terminal(p, console_fd, &err) < 0) drv_sync_fail(sync_fd, &err);
    close(console_fd);
  }
  {
    _cleanup_close_ int r = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    _cleanup_close_ int cwd = r < 0 ? -1 : drv_rt_open_in_root(r, p->cwd, DRV_RT_NOCREATE, &err);
    if (cwd < 0 || fchdir(cwd) < 0) {
      if (cwd >= 0) drv_error(&err, errno, "process.cwd `%s`", p->cwd);
      drv_sync_fail(sync_fd, &err);
    }
  }
  _cleanup_free_ char *path = drv_rt_lookup(p->args[0], p->env, &err);
  if (!path) drv_sync_fail(sync_fd, &err);
  if (drv_rt_check_not_self(path, self->st_dev, self->st_ino, &err) < 0)
    drv_sync_fail(sync_fd, &err);
  umask(p->has_umask ? p->umask : 022);
  bool setgroups_ok = true;
  if (userns) {
    char buf[16] = {0};
    int fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      if (read(fd, buf, sizeof buf - 1) > 0 && !strncmp(buf, "deny", 4)) setgroups_ok = false;
      close(fd);
    }
  }
  if (drv_rt_apply_identity(p, f, NULL, setgroups_ok, NULL, &err) < 0) drv_sync_fail(sync_fd, &err);
  if (f && p->no_new_privileges && drv_rt_load_seccomp(f, NULL, &err) < 0)
    drv_sync_fail(sync_fd, &err);
  syscall(SYS_close_range, 3 + preserve, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */);
  for (int fd = 3; fd < 3 + preserve; fd++) {
    int fl = fcntl(fd, F_GETFD);
    if (fl >= 0) fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
  }
  execve(path, p->args, p->env);
  drv_error(&err, errno, "exec `%s`", path);
  drv_sync_fail(sync_fd, &err);
}

int drv_rt_exec(const drv_rt_exec_opts *o, pid_t *pid_out, drv_err *err)
{
  const char *root = o->root ? o->root : DRV_RT_DEFAULT_ROOT;
  drv_rt_saved s;
  if (drv_rt_saved_read(root, o->id, &s, err) < 0) return -1;
  int r = -1;
  drv_rt_process p;
  memset(&p, 0, sizeof p);
  drv_rt_spec *spec = NULL;
  drv_seccomp_filter *filter = NULL;
  drv_cgroup *cg = NULL;
  int nsfd[DRV_ARRAY_LEN(join_order)];
  int sync_fd[2] = {-1, -1}, console_fd = -1;
  pid_t pid = -1;
  for (size_t i = 0; i < DRV_ARRAY_LEN(join_order); i++)
    nsfd[i] = -1;
  drv_rt_status st;
  drv_rt_saved_status(root, &s, &st);
  if (st != DRV_RT_RUNNING && st != DRV_RT_CREATED) {
    drv_error(err, 0, "it is %s, not running", drv_rt_status_name(st));
    goto out;
  }
  if (drv_rt_spec_parse(s.config, &spec, err) < 0) goto out;
  /* What the exec'd process does not say it inherits from the container's own process, as
   * `runc exec` does: an exec never gets more privilege than the container was given. */
  json_t *proc = json_deep_copy(o->process);
  json_t *base = json_object_get(s.config, "process");
  static const char *const inherited[] = {"capabilities", "noNewPrivileges", "rlimits",
                                          "user",         "apparmorProfile", "selinuxLabel",
                                          "oomScoreAdj"};
  for (size_t i = 0; i < DRV_ARRAY_LEN(inherited); i++) {
    json_t *v = json_object_get(base, inherited[i]);
    if (v && !json_object_get(proc, inherited[i])) json_object_set(proc, inherited[i], v);
  }
  int pr = drv_rt_process_parse(proc, "process", true, &p, err);
  json_decref(proc);
  if (pr < 0) goto out;
  json_t *sec = json_object_get(o->process, "seccomp");
  if (!json_is_object(sec)) sec = spec->seccomp;
  if (sec && drv_seccomp_compile(sec, &filter, err) < 0) goto out;
  for (size_t i = 0; i < DRV_ARRAY_LEN(join_order); i++) {
    int t = join_order[i];
    bool in = false;
    for (size_t k = 0; k < spec->nns; k++)
      in |= spec->ns[k].type == t;
    if (!in) continue;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/%s", s.pid, drv_rt_ns_proc_name(t));
    nsfd[i] = open(path, O_RDONLY | O_CLOEXEC);
    if (nsfd[i] < 0) {
      drv_error(err, errno, "open `%s`", path);
      goto out;
    }
  }
  if (drv_rt_open_cgroup(&s, &cg, err) < 0) cg = NULL;
  if (p.terminal && o->console_socket) {
    console_fd = drv_rt_connect_unix(o->console_socket, err);
    if (console_fd < 0) goto out;
  }
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync_fd) < 0) {
    drv_error(err, errno, "socketpair");
    goto out;
  }
  int low = 3 + (o->preserve_fds > 0 ? o->preserve_fds : 0);
  {
    int *fds[] = {&sync_fd[0], &sync_fd[1], &console_fd};
    for (size_t i = 0; i < 3; i++)
      if (*fds[i] >= 0 && *fds[i] < low) {
        int n = fcntl(*fds[i], F_DUPFD_CLOEXEC, low);
        close(*fds[i]);
        *fds[i] = n;
      }
  }
  struct stat self;
  stat("/proc/self/exe", &self);
  bool userns = nsfd[0] >= 0;
  fflush(NULL);
  pid_t mid = fork();
  if (mid < 0) {
    drv_error(err, errno, "fork");
    goto out;
  }
  if (mid == 0) {
    drv_err e;
    drv_err_clear(&e);
    close(sync_fd[0]);
    /* Nobody in the container may open our /proc/<pid>/exe or memory while we are in it. */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    if (o->detach) {
      pid_t m2 = fork();
      if (m2 != 0) _exit(m2 < 0);
    }
    for (size_t i = 0; i < DRV_ARRAY_LEN(join_order); i++)
      if (nsfd[i] >= 0 && setns(nsfd[i], join_order[i]) < 0) {
        drv_error(&e, errno, "join the container's %s namespace",
                  drv_rt_ns_proc_name(join_order[i]));
        drv_sync_fail(sync_fd[1], &e);
      }
    pid_t c = drv_rt_clone(o->detach ? 0 : CLONE_PARENT);
    if (c < 0) {
      drv_error(&e, errno, "clone");
      drv_sync_fail(sync_fd[1], &e);
    }
    if (c == 0)
      exec_child(&p, filter, sync_fd[1], console_fd, o->stdio, o->preserve_fds, &self, userns);
    drv_sync_send(sync_fd[1], DRV_SYNC_PID, c, NULL);
    _exit(0);
  }
  close(sync_fd[1]);
  sync_fd[1] = -1;
  while (waitpid(mid, NULL, 0) < 0 && errno == EINTR) {
  }
  drv_sync_msg m;
  if (drv_sync_recv(sync_fd[0], &m, err) < 0) goto out;
  pid = m.value;
  if (cg && drv_cgroup_enter(cg, pid, 0, err) < 0) goto out;
  if (drv_sync_send(sync_fd[0], DRV_SYNC_GO, pid, NULL) < 0) {
    drv_error(err, errno, "signal the process");
    goto out;
  }
  /* EOF (close-on-exec) means execve succeeded; a message is the child's error. */
  int n;
  do
    n = (int)recv(sync_fd[0], &m, sizeof m - 1, 0);
  while (n < 0 && errno == EINTR);
  if (n > 0) {
    drv_error(err, 0, "%s", m.text); /* the child's text names the errno already */
    err->errnum = m.value;
    if (!o->detach) waitpid(pid, NULL, 0);
    pid = -1;
    goto out;
  }
  if (o->pid_file) {
    char buf[32];
    int len = snprintf(buf, sizeof buf, "%d", pid);
    if (drv_write_file_atomic(o->pid_file, buf, (size_t)len, 0644, err) < 0) goto out;
  }
  if (pid_out) *pid_out = pid;
  r = 0;
out:
  if (r < 0 && pid > 0) {
    kill(pid, SIGKILL);
    if (!o->detach) waitpid(pid, NULL, 0);
  }
  for (size_t i = 0; i < DRV_ARRAY_LEN(join_order); i++)
    if (nsfd[i] >= 0) close(nsfd[i]);
  if (sync_fd[0] >= 0) close(sync_fd[0]);
  if (sync_fd[1] >= 0) close(sync_fd[1]);
  if (console_fd >= 0) close(console_fd);
  drv_cgroup_free(cg);
  drv_seccomp_free(filter);
  drv_rt_process_clear(&p);
  drv_rt_spec_free(spec);
  drv_rt_saved_clear(&s);
  if (r < 0) drv_err_prefix(err, "exec in container `%s`", o->id);
  return r;
}
