/* `run`: create, start, wait and remove a container kept in hand (drv_rt_container), so that
 * nothing is read back from the state dir, and the removal does its slow parts side by side:
 * the state dir's removal in a helper thread (on a disk mounted with `discard`, freeing its
 * block waits for the device: 0.2-3 ms here), the cgroup directories and the end of the mount
 * namespace (an RCU grace period) in this one. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/log.h"
#include "common/util.h"
#include "runtime/cgroup.h"
#include "runtime/internal.h"

pid_t drv_rt_container_pid(const drv_rt_container *c)
{
  return c->pid;
}

int drv_rt_container_start(drv_rt_container *c, drv_err *err)
{
  if (!c->started) {
    /* No reader (ENXIO): the init died after create. Our own end was closed by create. */
    int fd = openat(c->dir_fd, "exec.fifo", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
      return drv_error(err, errno == ENXIO ? 0 : errno, "start container `%s`: %s", c->id,
                       errno == ENXIO ? "its init is gone" : "open exec.fifo");
    ssize_t w = write(fd, "0", 1);
    int e = errno;
    close(fd);
    if (w != 1) return drv_error(err, e, "start container `%s`: write exec.fifo", c->id);
    unlinkat(c->dir_fd, "exec.fifo", 0);
    c->started = true;
  }
  const drv_rt_spec *s = c->spec;
  if (s->nhooks[DRV_HOOK_POSTSTART]) {
    drv_err he;
    _cleanup_free_ char *st =
        drv_rt_state_text(c->id, c->pid, "running", c->bundle, s->annotations);
    /* The spec: a failing poststart hook is a warning, the container keeps running. */
    if (drv_rt_hooks_run(s->hooks[DRV_HOOK_POSTSTART], s->nhooks[DRV_HOOK_POSTSTART], "poststart",
                         st, &he) < 0)
      drv_log_warn("container `%s`: %s", c->id, he.msg);
  }
  return 0;
}

int drv_rt_container_wait(drv_rt_container *c, int *exit_code, drv_err *err)
{
  if (drv_rt_wait(c->pid, exit_code, err) < 0) return -1;
  c->reaped = true;
  return 0;
}

/* The removal's slow parts, in a helper thread: ending the held mount namespace (an RCU grace
 * period and its file systems' teardown, 0.3-0.5 ms here) and removing the state dir (the
 * directory's blocks are freed when its last reference goes, so dir_fd is closed here too;
 * with `discard` that waits for the device). */
static void drop_mntns(drv_rt_container *c)
{
  if (c->mntns_fd >= 0) close(c->mntns_fd), c->mntns_fd = -1;
}

/* Whether the directory open at fd holds nothing but ".", ".." and `keep`. */
static bool dir_empty(int fd, const char *keep)
{
  char buf[512] __attribute__((aligned(8)));
  long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
  if (n <= 0) return n == 0;
  for (long off = 0; off < n;) {
    struct {
      unsigned long long ino;
      long long off;
      unsigned short reclen;
      unsigned char type;
      char name[];
    } *d = (void *)(buf + off);
    if (strcmp(d->name, ".") && strcmp(d->name, "..") && strcmp(d->name, keep)) return false;
    off += d->reclen;
  }
  return true;
}

static void drop_state(drv_rt_container *c)
{
  if (!c->started) unlinkat(c->dir_fd, "exec.fifo", 0);
  /* Emptied, it becomes the spare for the next create unless there is one already; its
   * state.json stays as the next one's file written aside (an inode neither freed nor made). */
  bool kept = false;
  if (dir_empty(c->dir_fd, "state.json")) {
    _cleanup_free_ char *spare = drv_asprintf("%s/" DRV_RT_SPARE_DIR, c->root);
    kept = renameat2(AT_FDCWD, c->dir, AT_FDCWD, spare, RENAME_NOREPLACE) == 0;
  }
  if (!kept || renameat(c->dir_fd, "state.json", c->dir_fd, ".state.json.tmp") < 0)
    unlinkat(c->dir_fd, "state.json", 0);
  close(c->dir_fd);
  c->dir_fd = -1;
  c->rmdir_errno = !kept && rmdir(c->dir) < 0 && errno != ENOENT ? errno : 0;
}

/* One helper thread does both jobs, the namespace's end first (its grace period is the longer
 * wait); a second thread cost more CPU time than the state dir's renames it would overlap. */
static void helper_jobs(drv_rt_container *c)
{
  drop_mntns(c);
  drop_state(c);
}

static void *helper_main(void *arg)
{
  drv_rt_container *c = arg;
  /* Started before the container exits: wait for that (the pidfd turns readable). */
  struct pollfd p = {.fd = c->pidfd, .events = POLLIN};
  while (c->pidfd >= 0 && poll(&p, 1, -1) < 0 && errno == EINTR) {
  }
  helper_jobs(c);
  return NULL;
}

/* Starts the helper; without one, finish_helpers does the jobs inline. */
static void start_helpers(drv_rt_container *c, bool wait_exit)
{
  c->pidfd = wait_exit ? (int)syscall(SYS_pidfd_open, c->pid, 0) : -1;
  if (wait_exit && c->pidfd < 0) return;
  c->armed = wait_exit;
  c->helper_on = pthread_create(&c->helper, NULL, helper_main, c) == 0;
}

static void finish_helpers(drv_rt_container *c)
{
  if (c->helper_on)
    pthread_join(c->helper, NULL);
  else
    helper_jobs(c);
  c->helper_on = false;
  if (c->pidfd >= 0) close(c->pidfd), c->pidfd = -1;
}

static bool fast_removal(const drv_rt_container *c)
{
  /* Only an init in its own pid namespace leaves an empty group when it exits (the kernel
   * kills the rest of the namespace with it); poststop hooks go delete's way. */
  return (c->spec->new_ns_flags & CLONE_NEWPID) && !c->spec->nhooks[DRV_HOOK_POSTSTOP];
}

int drv_rt_container_remove(drv_rt_container *c, drv_err *err)
{
  bool armed = c->armed;
  if (!armed && (!c->reaped || !fast_removal(c))) {
    drop_mntns(c);
    return drv_rt_delete(c->root, c->id, true, err);
  }
  if (!armed) start_helpers(c, false);
  bool cg_gone = !c->cg || drv_cgroup_remove_empty(c->cg);
  finish_helpers(c);
  int r = 0;
  if (!cg_gone) {
    /* Something else joined the group (or made a sub-group): kill and remove as delete. */
    drv_err e;
    drv_cgroup_killall(c->cg, SIGKILL, &e);
    if (drv_cgroup_destroy(c->cg, &e) < 0) drv_log_warn("delete container `%s`: %s", c->id, e.msg);
  }
  /* Anything else in the state dir (not made by create) goes the long way. */
  if (c->rmdir_errno) r = drv_rm_rf(c->dir, err);
  return r;
}

int drv_rt_container_wait_remove(drv_rt_container *c, int *exit_code, drv_err *err)
{
  if (fast_removal(c)) start_helpers(c, true);
  int r = drv_rt_container_wait(c, exit_code, err);
  /* Not reaped here (someone else did): make sure it is gone, the helpers wait for that. */
  if (r < 0) kill(c->pid, SIGKILL);
  drv_err e;
  if (drv_rt_container_remove(c, &e) < 0 && r == 0) {
    *err = e;
    r = -1;
  }
  return r;
}

void drv_rt_container_free(drv_rt_container *c)
{
  if (!c) return;
  if (c->dir_fd >= 0) close(c->dir_fd);
  if (c->mntns_fd >= 0) close(c->mntns_fd);
  drv_cgroup_free(c->cg);
  drv_rt_spec_free(c->spec);
  free(c->root);
  free(c->id);
  free(c->dir);
  free(c->bundle);
  free(c);
}

int drv_rt_run(const drv_rt_create_opts *o, bool wait, int *exit_code, pid_t *pid_out, drv_err *err)
{
  drv_rt_container *c;
  drv_rt_create_opts ro = *o;
  ro.start = !o->console_socket; /* a terminal's master is handed over before the start */
  if (drv_rt_create_container(&ro, &c, err) < 0) return -1;
  if (pid_out) *pid_out = c->pid;
  int r = drv_rt_container_start(c, err);
  if (r < 0) {
    drv_err e;
    drv_rt_delete(c->root, c->id, true, &e);
  } else if (wait) {
    r = drv_rt_container_wait_remove(c, exit_code, err);
  }
  drv_rt_container_free(c);
  return r;
}
