/* The container's init between clone and execve. It runs the runtime's code (no re-exec:
 * that is where the speed comes from), so it does only what needs to happen inside the new
 * namespaces, reports failures over the sync socket and never returns. */
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/internal.h"
#include "runtime/seccomp.h"

#ifndef CLONE_NEWUSER
#define CLONE_NEWUSER 0x10000000
#endif
#define KEYCTL_JOIN_SESSION_KEYRING 1

static void fail(drv_rt_init_ctx *c, drv_err *err)
{
  drv_sync_fail(c->sync_fd, err);
}

/* Makes fds 3 .. 3+preserve-1 survive execve and every other fd close on it. */
static void prepare_fds(int preserve)
{
  syscall(SYS_close_range, 3 + preserve, ~0U, CLOSE_RANGE_CLOEXEC);
  for (int fd = 3; fd < 3 + preserve; fd++) {
    int fl = fcntl(fd, F_GETFD);
    if (fl >= 0) fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
  }
}

static void set_stdio(const int stdio[3])
{
  int tmp[3];
  for (int i = 0; i < 3; i++)
    tmp[i] = stdio[i] >= 0 ? fcntl(stdio[i], F_DUPFD_CLOEXEC, 3) : -1;
  for (int i = 0; i < 3; i++)
    if (tmp[i] >= 0) {
      dup2(tmp[i], i);
      close(tmp[i]);
    }
}

/* GO came: the init is in its cgroup (and the id maps are written). */
static int got_go(drv_rt_init_ctx *c, const drv_sync_msg *m, drv_err *err)
{
  c->go_pending = c->dirs_pending = false;
  c->host_pid = m->value;
  if (c->spec->new_ns_flags & CLONE_NEWUSER) {
    if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
      return drv_error(err, errno, "linux.uidMappings: become root in the user namespace");
  }
  if (c->unshare_late && unshare(c->unshare_late) < 0)
    return drv_error(err, errno, "linux.namespaces: unshare the cgroup namespace");
  return 0;
}

int drv_rt_init_await_dirs(drv_rt_init_ctx *c, drv_err *err)
{
  if (!c->dirs_pending || !c->go_pending) return 0;
  drv_sync_msg m;
  if (drv_sync_recv(c->sync_fd, &m, err) < 0) _exit(1); /* the runtime gave up on us */
  if (m.type != DRV_SYNC_DIRS) return got_go(c, &m, err);
  c->dirs_pending = false;
  return 0;
}

int drv_rt_init_await_go(drv_rt_init_ctx *c, drv_err *err)
{
  if (!c->go_pending) return 0;
  drv_sync_msg m;
  do
    if (drv_sync_recv(c->sync_fd, &m, err) < 0) _exit(1);
  while (m.type == DRV_SYNC_DIRS);
  return got_go(c, &m, err);
}

/* The runtime's answer to PIVOTED with masks: mounted, left to us, or failed. */
static int drv_rt_await_masks(drv_rt_init_ctx *c, drv_err *err)
{
  drv_sync_msg m;
  if (drv_sync_recv(c->sync_fd, &m, err) < 0) _exit(1);
  c->defer_masks = false;
  if (m.type != DRV_SYNC_MASKED)
    return drv_error(err, 0, "unexpected message %d from the runtime", m.type);
  if (m.value == 2) return drv_error(err, 0, "%s", m.text);
  int r = m.value == 1 ? drv_rt_mask_paths_fd(c->spec, c->newroot_fd, c->oldroot_fd, err) : 0;
  close(c->newroot_fd), c->newroot_fd = -1;
  return r;
}

void drv_rt_init_main(drv_rt_init_ctx *c)
{
  drv_err err;
  drv_err_clear(&err);
  const drv_rt_spec *s = c->spec;
  const drv_rt_process *p = &s->process;
  /* The runtime may be a signal-handling program (the agent): start clean. */
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
  set_stdio(c->stdio);
  if (c->unshare_early && unshare(c->unshare_early) < 0) {
    drv_error(&err, errno, "linux.namespaces: create the namespaces");
    fail(c, &err);
  }
  /* Opened now, while the host's /proc is at hand; sent with READY, closed before execve. */
  int mntns = c->send_mntns ? open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC) : -1;
  c->mntns_fd = mntns;
  c->oldroot_fd = c->newroot_fd = -1;

  /* With its namespaces made here (no user namespace) the init goes on to its mounts while
   * the runtime makes the cgroup: it waits for DIRS (the group's directories exist) before the
   * first cgroup mount, and for GO (joined, limits written) only before the hooks or the
   * exec. Its mounts are charged to the runtime's memory cgroup, as the namespaces made by
   * unshare above are; no container process runs before GO. */
  c->go_pending = c->dirs_pending = true;
  if (!c->unshare_early && drv_rt_init_await_go(c, &err) < 0) fail(c, &err);
  setsid();
  umask(0);
  if (!c->no_new_keyring) syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, c->id);
  if (s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0) {
    drv_error(&err, errno, "hostname: sethostname `%s`", s->hostname);
    fail(c, &err);
  }
  if (s->domainname && setdomainname(s->domainname, strlen(s->domainname)) < 0) {
    drv_error(&err, errno, "domainname: setdomainname `%s`", s->domainname);
    fail(c, &err);
  }
  if (drv_rt_set_oom(p, &err) < 0) fail(c, &err);
  /* Without a mount namespace (new or joined) nothing is mounted: that would change the
   * host. The container only gets its root (chroot). */
  bool has_mnt = s->new_ns_flags & CLONE_NEWNS;
  for (size_t i = 0; i < s->nns; i++)
    has_mnt |= s->ns[i].type == CLONE_NEWNS;
  if (has_mnt && drv_rt_setup_rootfs(c, &err) < 0) fail(c, &err);
  drv_sync_msg m;
  /* The hooks get the state with the pid, and the runtime runs them only after GO. */
  if ((s->nhooks[DRV_HOOK_PRESTART] || s->nhooks[DRV_HOOK_CREATE_RUNTIME] ||
       s->nhooks[DRV_HOOK_CREATE_CONTAINER]) &&
      drv_rt_init_await_go(c, &err) < 0)
    fail(c, &err);

  if (s->nhooks[DRV_HOOK_PRESTART] || s->nhooks[DRV_HOOK_CREATE_RUNTIME]) {
    if (drv_sync_send(c->sync_fd, DRV_SYNC_HOOKS, 0, NULL) < 0) _exit(1);
    if (drv_sync_recv(c->sync_fd, &m, &err) < 0) _exit(1);
  }
  if (s->nhooks[DRV_HOOK_CREATE_CONTAINER]) {
    _cleanup_free_ char *st =
        drv_rt_state_text(c->id, c->host_pid, "created", c->bundle, s->annotations);
    if (drv_rt_hooks_run(s->hooks[DRV_HOOK_CREATE_CONTAINER], s->nhooks[DRV_HOOK_CREATE_CONTAINER],
                         "createContainer", st, &err) < 0)
      fail(c, &err);
  }
  struct stat self_st = {0};
  stat("/proc/self/exe", &self_st);
  if (has_mnt) {
    if (drv_rt_finish_rootfs(c, &err) < 0) fail(c, &err);
    if (drv_rt_pivot(c, &err) < 0) fail(c, &err);
  } else if (chroot(c->rootfs) < 0 || chdir("/") < 0) {
    drv_error(&err, errno, "root.path: chroot `%s`", c->rootfs);
    fail(c, &err);
  }
  /* No process: the container only exists (created → stopped once started). */
  if (!s->has_process) {
    if (drv_rt_init_await_go(c, &err) < 0 || (c->defer_masks && drv_rt_await_masks(c, &err) < 0) ||
        drv_rt_detach_old_root(c, &err) < 0)
      fail(c, &err);
    prepare_fds(0);
    if (drv_sync_send(c->sync_fd, DRV_SYNC_READY, 0, NULL) < 0) _exit(1);
    close(c->sync_fd);
    char b;
    while (c->fifo_fd >= 0 && read(c->fifo_fd, &b, 1) < 0 && errno == EINTR) {
    }
    _exit(0);
  }

  if (drv_rt_set_rlimits(p, &err) < 0) fail(c, &err);
  if (s->has_personality && personality(s->personality) < 0) {
    drv_error(&err, errno, "linux.personality: set");
    fail(c, &err);
  }
  if (p->terminal) {
    if (c->console_fd < 0) {
      drv_error(&err, 0, "process.terminal: true needs a console socket (--console-socket)");
      fail(c, &err);
    }
    if (drv_rt_setup_terminal(p, c->console_fd, &err) < 0) fail(c, &err);
    close(c->console_fd);
  }
  /* cwd: created when missing (like runc), always resolved inside the new root. */
  {
    _cleanup_close_ int r = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    _cleanup_close_ int cwd = r < 0 ? -1 : drv_rt_open_in_root(r, p->cwd, DRV_RT_CREATE_DIR, &err);
    if (cwd < 0 || fchdir(cwd) < 0) {
      if (cwd >= 0) drv_error(&err, errno, "process.cwd `%s`", p->cwd);
      drv_err_prefix(&err, "process.cwd");
      fail(c, &err);
    }
    char buf[8];
    if (!getcwd(buf, sizeof buf) && errno != ERANGE) {
      drv_error(&err, errno, "process.cwd `%s` is not inside the container", p->cwd);
      fail(c, &err);
    }
  }
  /* A missing executable is reported after start (like crun): `create` succeeds and the
   * process exits 127 with the message on its stderr. */
  drv_err lookup_err;
  drv_err_clear(&lookup_err);
  _cleanup_free_ char *path = drv_rt_lookup(p->args[0], p->env, &lookup_err);
  if (path && drv_rt_check_not_self(path, self_st.st_dev, self_st.st_ino, &err) < 0) fail(c, &err);
  umask(p->has_umask ? p->umask : 022);
  bool setgroups_ok = true;
  if (s->new_ns_flags & CLONE_NEWUSER) {
    char buf[16] = {0};
    int fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      if (read(fd, buf, sizeof buf - 1) > 0 && !strncmp(buf, "deny", 4)) setgroups_ok = false;
      close(fd);
    }
  }
  /* In its cgroup, with the limits written, before anything of the container runs. */
  if (drv_rt_init_await_go(c, &err) < 0) fail(c, &err);
  pid_t host_pid = c->host_pid;
  /* Only a seccomp listener gets the state. */
  _cleanup_free_ char *state =
      c->seccomp ? drv_rt_state_text(c->id, host_pid, "creating", c->bundle, s->annotations)
                 : NULL;
  /* The bounding set goes first (it leaves the effective set alone): the runtime's masks and
   * its unmount of the old root (see drv_rt_pivot) get that much more time. */
  uint64_t bound;
  if (drv_rt_drop_bounding(p, &bound, &err) < 0 ||
      (c->defer_masks && drv_rt_await_masks(c, &err) < 0) || drv_rt_detach_old_root(c, &err) < 0 ||
      drv_rt_apply_identity(p, c->seccomp, state, setgroups_ok, &bound, &err) < 0)
    fail(c, &err);
  prepare_fds(c->preserve_fds);

  if ((mntns >= 0 && !c->pivoted_sent ? drv_sync_send_fd(c->sync_fd, DRV_SYNC_READY, 0, mntns)
                  : drv_sync_send(c->sync_fd, DRV_SYNC_READY, 0, NULL)) < 0)
    _exit(1);
  if (mntns >= 0) close(mntns);
  close(c->sync_fd);
  /* Blocked here ("created") until `start` writes to the fifo; `run` has none (started). */
  if (c->fifo_fd >= 0) {
    char b;
    ssize_t n;
    do
      n = read(c->fifo_fd, &b, 1);
    while (n < 0 && errno == EINTR);
    if (n != 1) _exit(1);
    close(c->fifo_fd);
  }

  if (s->nhooks[DRV_HOOK_START_CONTAINER]) {
    _cleanup_free_ char *st =
        drv_rt_state_text(c->id, host_pid, "running", c->bundle, s->annotations);
    if (drv_rt_hooks_run(s->hooks[DRV_HOOK_START_CONTAINER], s->nhooks[DRV_HOOK_START_CONTAINER],
                         "startContainer", st, &err) < 0) {
      fprintf(stderr, "drover runtime: %s\n", err.msg);
      _exit(127);
    }
  }
  if (!path) {
    fprintf(stderr, "drover runtime: %s\n", lookup_err.msg);
    _exit(127);
  }
  if (c->seccomp && p->no_new_privileges && drv_rt_load_seccomp(c->seccomp, state, &err) < 0) {
    fprintf(stderr, "drover runtime: %s\n", err.msg);
    _exit(127);
  }
  execve(path, p->args, p->env);
  fprintf(stderr, "drover runtime: exec `%s`: %s\n", path, strerror(errno));
  _exit(127);
}
