/* create / start / run: the runtime side of the container setup. The init is cloned straight
 * from this process with the new namespaces (one clone; no re-exec, no helper binary); an
 * intermediate process is used only when namespaces must be joined by path first or when the
 * caller asked the init to be detached from it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/log.h"
#include "common/util.h"
#include "runtime/cgroup.h"
#include "runtime/internal.h"
#include "runtime/seccomp.h"

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif

void drv_rt_create_opts_init(drv_rt_create_opts *o)
{
  memset(o, 0, sizeof *o);
  o->root = DRV_RT_DEFAULT_ROOT;
  o->stdio[0] = o->stdio[1] = o->stdio[2] = -1;
}

/* Moves fd to a number >= min (so it cannot collide with preserved fds), close-on-exec. */
static int move_high(int fd, int min)
{
  if (fd < 0 || fd >= min) return fd;
  int n = fcntl(fd, F_DUPFD_CLOEXEC, min);
  close(fd);
  return n;
}

static int write_map(pid_t pid, const char *file, const drv_rt_idmap *m, size_t n, drv_err *err)
{
  char buf[4096];
  size_t len = 0;
  for (size_t i = 0; i < n && len < sizeof buf - 64; i++)
    len += (size_t)snprintf(buf + len, sizeof buf - len, "%u %u %u\n", m[i].container_id,
                            m[i].host_id, m[i].size);
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/%s", pid, file);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return drv_error(err, errno, "open `%s`", path);
  ssize_t w = write(fd, buf, len);
  int e = errno;
  close(fd);
  if (w != (ssize_t)len)
    return drv_error(err, e, "linux.%s: write the mapping",
                     !strcmp(file, "uid_map") ? "uidMappings" : "gidMappings");
  return 0;
}

static int open_join_fds(const drv_rt_spec *s, int *fds, drv_err *err)
{
  for (size_t i = 0; i < s->nns; i++) {
    fds[i] = -1;
    if (!s->ns[i].path) continue;
    fds[i] = open(s->ns[i].path, O_RDONLY | O_CLOEXEC);
    if (fds[i] < 0)
      return drv_error(err, errno, "linux.namespaces[%zu].path: open `%s`", i, s->ns[i].path);
  }
  return 0;
}

/* In the intermediate: user namespace first (it owns the others), then the rest. */
static int join_namespaces(const drv_rt_spec *s, const int *fds, drv_err *err)
{
  for (int pass = 0; pass < 2; pass++)
    for (size_t i = 0; i < s->nns; i++) {
      if (fds[i] < 0 || (pass == 0) != (s->ns[i].type == CLONE_NEWUSER)) continue;
      if (setns(fds[i], s->ns[i].type) < 0)
        return drv_error(err, errno, "linux.namespaces[%zu]: join `%s`", i, s->ns[i].path);
    }
  return 0;
}

static void write_exit_file(int dirfd, int status);

int drv_rt_monitor_run(pid_t pid, int dirfd)
{
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  write_exit_file(dirfd, status);
  return 0;
}

/* The monitor is a fork of the caller: it would keep the caller's pages alive (its heap as it
 * was at fork time) for the container's whole life. When the small static drover-runtime is
 * at hand ($DROVER_RUNTIME, or next to the caller's binary) the monitor becomes that instead:
 * ~0.15 MB private memory. The init stays its child across execve. Returns on failure. */
static void exec_small_monitor(pid_t init, int dirfd)
{
  char path[PATH_MAX];
  const char *env = getenv("DROVER_RUNTIME");
  if (env && env[0]) {
    snprintf(path, sizeof path, "%s", env);
  } else {
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 32);
    if (n <= 0) return;
    path[n] = '\0';
    char *slash = strrchr(path, '/');
    if (!slash) return;
    strcpy(slash + 1, "drover-runtime");
  }
  if (access(path, X_OK) < 0) return;
  int fl = fcntl(dirfd, F_GETFD);
  if (fl < 0 || fcntl(dirfd, F_SETFD, fl & ~FD_CLOEXEC) < 0) return;
  char pid_s[16], fd_s[16];
  snprintf(pid_s, sizeof pid_s, "%d", init);
  snprintf(fd_s, sizeof fd_s, "%d", dirfd);
  char *argv[] = {(char *)"drover-runtime", (char *)DRV_RT_MONITOR_VERB, pid_s, fd_s, NULL};
  char *envp[] = {NULL};
  execve(path, argv, envp);
  fcntl(dirfd, F_SETFD, fl);
}

/* A raw clone() does not reset glibc's malloc locks the way fork() does: in a process with
 * other threads (the agent) one of them may hold a lock at that moment, and the child's first
 * malloc would hang. Such callers get a fork()ed intermediate that clones the init. */
static bool multithreaded(void)
{
  char buf[512];
  int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return true;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return true;
  buf[n] = '\0';
  char *p = strrchr(buf, ')');
  for (int field = 2; p && field < 20; field++) {
    p = strchr(p + 1, ' ');
  }
  return !p || atoi(p + 1) != 1;
}

static void write_exit_file(int dirfd, int status)
{
  char buf[16];
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  int n = snprintf(buf, sizeof buf, "%d\n", code);
  /* Written aside and renamed: a reader never sees an empty file. */
  int fd = openat(dirfd, ".exit.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd >= 0) {
    ssize_t w = write(fd, buf, (size_t)n);
    close(fd);
    if (w == n) renameat(dirfd, ".exit.tmp", dirfd, "exit");
  }
}

/* The container's cgroup with the limits and device rules of the spec. With dirs_fd >= 0 the
 * directories are made first and DIRS is sent there before the limits are written: the init
 * bind-mounts the group's directories meanwhile. */
static int make_cgroup(const drv_rt_spec *spec, drv_cgroup_system *sys, const char *id,
                       drv_cgroup_resources *res, int dirs_fd, drv_cgroup **cg, drv_err *err)
{
  if (drv_cgroup_resources_from_json(spec->resources, res, err) < 0) return -1;
  drv_cgroup_resources_add_default_devices(res);
  for (size_t i = 0; i < spec->ndevices; i++) {
    const drv_rt_device *d = &spec->devices[i];
    if (d->type == S_IFIFO) continue;
    drv_cgroup_device_rule rule = {.allow = true,
                                   .type = d->type == S_IFBLK ? 'b' : 'c',
                                   .major = d->major,
                                   .minor = d->minor,
                                   .access = "rwm"};
    drv_cgroup_resources_add_device(res, &rule);
  }
  if (dirs_fd < 0) return drv_cgroup_create(sys, spec->cgroups_path, id, res, 0, cg, err);
  if (drv_cgroup_resources_validate(res, err) < 0 ||
      drv_cgroup_create(sys, spec->cgroups_path, id, NULL, 0, cg, err) < 0)
    return -1;
  /* Not sent (the init is gone): the error shows up at GO. */
  drv_sync_send(dirs_fd, DRV_SYNC_DIRS, 0, NULL);
  if (drv_cgroup_apply(*cg, res, err) < 0) {
    drv_cgroup_free(*cg);
    *cg = NULL;
    return -1;
  }
  return 0;
}

/* A step towards the init failed: when the init reported a failure of its own meanwhile (it
 * may have exited first, which is why the step failed), that is the error to show. */
static void prefer_init_error(int fd, drv_err *err)
{
  drv_sync_msg m;
  memset(&m, 0, sizeof m);
  ssize_t n = recv(fd, &m, sizeof m - 1, MSG_DONTWAIT);
  /* A peer gone with our messages unread reports a reset once, before what it sent. */
  if (n < 0 && errno == ECONNRESET) n = recv(fd, &m, sizeof m - 1, MSG_DONTWAIT);
  if (n >= (ssize_t)offsetof(drv_sync_msg, text) && m.type == DRV_SYNC_ERROR) {
    drv_error(err, 0, "%s", m.text);
    err->errnum = m.value;
  }
}

int drv_rt_detach_init_old_root(const drv_rt_spec *s, int sync_fd, bool masks, int mntns_fd,
                                int oldroot_fd, int newroot_fd)
{
  /* This process is single-threaded here (direct clone), as setns into a mount namespace
   * asks; it comes back to its own namespace and working directory right after. The old root
   * is named through the init's descriptor of it: nothing else can be unmounted this way.
   * EINVAL: the init was first. */
  int home = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
  int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  int r = 0, answer = 1; /* MASKED: 1 = left to the init */
  drv_err me;
  drv_err_clear(&me);
  if (mntns_fd >= 0 && oldroot_fd >= 0 && home >= 0 && cwd >= 0 &&
      setns(mntns_fd, CLONE_NEWNS) == 0) {
    /* The masks first: their /dev/null comes from the old root. The init waits for them
     * (MASKED) before it drops its capabilities, and checks the old root only after. */
    if (masks) answer = drv_rt_mask_paths_fd(s, newroot_fd, oldroot_fd, &me) < 0 ? 2 : 0;
    bool there = fchdir(oldroot_fd) == 0; /* before MASKED: the init checks right after it */
    if (masks) drv_sync_send(sync_fd, DRV_SYNC_MASKED, answer, answer == 2 ? me.msg : NULL);
    masks = false;
    if (answer != 2 && there) umount2(".", MNT_DETACH);
    if (setns(home, CLONE_NEWNS) < 0 || fchdir(cwd) < 0) r = -1;
  }
  int e = errno;
  if (masks) drv_sync_send(sync_fd, DRV_SYNC_MASKED, 1, NULL);
  if (home >= 0) close(home);
  if (cwd >= 0) close(cwd);
  if (oldroot_fd >= 0) close(oldroot_fd);
  if (newroot_fd >= 0) close(newroot_fd);
  errno = e;
  return r;
}

/* keep: the container in hand for run.c (NULL: plain create). */
static int create(const drv_rt_create_opts *o, pid_t *pid_out, drv_rt_container **keep,
                  drv_err *err)
{
  const char *root = o->root ? o->root : DRV_RT_DEFAULT_ROOT;
  drv_rt_spec *spec = o->loaded; /* taken over */
  char bundle[PATH_MAX];
  if (drv_rt_check_id(o->id, err) < 0 ||
      (!o->bundle && drv_error(err, 0, "bundle: required") < 0) ||
      (!realpath(o->bundle, bundle) && drv_error(err, errno, "bundle `%s`", o->bundle) < 0)) {
    drv_rt_spec_free(spec);
    return -1;
  }
  if (!spec &&
      (o->spec ? drv_rt_spec_parse(o->spec, &spec, err) : drv_rt_spec_load(bundle, &spec, err)))
    return -1;
  int r = -1;
  char rootfs[PATH_MAX];
  _cleanup_free_ char *dir = drv_rt_state_dir(root, o->id);
  bool dir_made = false;
  int fifo_fd = -1, console_fd = -1, sync_fd[2] = {-1, -1}, dir_fd = -1;
  int *join_fds = NULL;
  size_t njoin = 0;
  int mntns_fd = -1; /* the init's mount namespace, from READY (run) */
  drv_cgroup *cg = NULL;
  char *cg_path = NULL;
  drv_seccomp_filter *filter = NULL;
  drv_cgroup_resources res;
  drv_cgroup_resources_init(&res);
  pid_t pid = -1, mid = -1;
  bool own_child = true;
  _cleanup_free_ char *created = drv_rt_now_rfc3339();

  {
    _cleanup_free_ char *rp = spec->root_path[0] == '/'
                                  ? drv_strdup(spec->root_path)
                                  : drv_asprintf("%s/%s", bundle, spec->root_path);
    struct stat st;
    if (!realpath(rp, rootfs) || stat(rootfs, &st) < 0) {
      drv_error(err, errno, "root.path: rootfs `%s`", rp);
      goto out;
    }
    if (!S_ISDIR(st.st_mode)) {
      drv_error(err, ENOTDIR, "root.path: rootfs `%s`", rp);
      goto out;
    }
  }
  /* A spare state dir left by an earlier run is taken over (rename); otherwise one is made.
   * The root usually exists: make it (and its parents) only when the state dir cannot be. */
  int mk;
  {
    _cleanup_free_ char *spare = drv_asprintf("%s/" DRV_RT_SPARE_DIR, root);
    mk = renameat2(AT_FDCWD, spare, AT_FDCWD, dir, RENAME_NOREPLACE);
  }
  if (mk < 0) mk = mkdir(dir, 0711);
  if (mk < 0 && errno == ENOENT) {
    if (drv_mkdir_p(root, 0711, err) < 0) goto out;
    mk = mkdir(dir, 0711);
  }
  if (mk < 0) {
    if (errno == EEXIST)
      drv_error(err, EEXIST, "container `%s` already exists", o->id);
    else
      drv_error(err, errno, "create the state dir `%s`", dir);
    goto out;
  }
  dir_made = true;
  dir_fd = open(dir, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (dir_fd < 0) {
    drv_error(err, errno, "open the state dir `%s`", dir);
    goto out;
  }
  /* run (opts.start): no fifo to wait on, the init goes on once ready; without the fifo the
   * container reads as running from the moment its state is published. (A fifo costs an
   * inode made and freed on the state dir's file system: 0.15-0.25 ms on this ext4.) */
  if (!(keep && o->start) && mkfifoat(dir_fd, "exec.fifo", 0622) < 0) {
    drv_error(err, errno, "create `%s/exec.fifo`", dir);
    goto out;
  }
  if (!(keep && o->start)) {
    _cleanup_free_ char *fifo = drv_asprintf("%s/exec.fifo", dir);
    fifo_fd = open(fifo, O_RDWR | O_CLOEXEC);
    if (fifo_fd < 0) {
      drv_error(err, errno, "open `%s`", fifo);
      goto out;
    }
  }
  /* cgroup */
  drv_cgroup_system *sys;
  if (drv_cgroup_system_get(&sys, err) < 0) goto out;
  bool detach = o->detach || o->monitor;
  /* The init is cloned straight from here unless namespaces are joined first, the init is to
   * be detached, or other threads make a raw clone unsafe (see multithreaded()). */
  bool direct = !spec->joins && !detach && !multithreaded();
  /* On the direct path the cgroup is made while the init creates its namespaces (the network
   * namespace alone takes ~0.6 ms here, the cgroup ~0.8 ms): the init waits for it before
   * anything else. A v2-only host makes it first, to clone the init straight into it. */
  bool late_cgroup = direct && drv_cgroup_system_mode(sys) != DRV_CGROUP_MODE_V2;
  if (late_cgroup) {
    if (drv_cgroup_resolve_path(spec->cgroups_path, o->id, false, &cg_path, err) < 0) goto out;
  } else {
    if (make_cgroup(spec, sys, o->id, &res, -1, &cg, err) < 0) goto out;
  }
  if (spec->seccomp && drv_seccomp_compile(spec->seccomp, &filter, err) < 0) goto out;
  if (spec->has_process && spec->process.terminal && o->console_socket) {
    console_fd = drv_rt_connect_unix(o->console_socket, err);
    if (console_fd < 0) goto out;
  }
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync_fd) < 0) {
    drv_error(err, errno, "socketpair");
    goto out;
  }
  int low = 3 + (o->preserve_fds > 0 ? o->preserve_fds : 0);
  sync_fd[0] = move_high(sync_fd[0], low);
  sync_fd[1] = move_high(sync_fd[1], low);
  fifo_fd = move_high(fifo_fd, low);
  console_fd = move_high(console_fd, low);
  dir_fd = move_high(dir_fd, low);

  drv_rt_init_ctx ctx = {.spec = spec,
                         .id = o->id,
                         .bundle = bundle,
                         .rootfs = rootfs,
                         .state_dir = dir,
                         .sync_fd = sync_fd[1],
                         .fifo_fd = fifo_fd,
                         .console_fd = console_fd,
                         .stdio = {o->stdio[0], o->stdio[1], o->stdio[2]},
                         .preserve_fds = o->preserve_fds,
                         .no_pivot = o->no_pivot,
                         .no_new_keyring = o->no_new_keyring,
                         .unshare_late = spec->new_ns_flags & CLONE_NEWCGROUP,
                         .seccomp = filter,
                         .cgroup_path = cg ? drv_cgroup_path(cg) : cg_path,
                         .cgroup_sys = sys};
  unsigned long flags = (unsigned long)(spec->new_ns_flags & ~CLONE_NEWCGROUP);
  /* Without a user namespace (which must own them, so it comes first) the init unshares
   * these itself, in parallel with the cgroup work here. */
  if (direct && !(flags & CLONE_NEWUSER)) {
    ctx.unshare_early = (int)(flags & (CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS));
    flags &= ~(unsigned long)ctx.unshare_early;
    /* run holds the init's mount namespace (see run.c). The init sends it with READY: by the
     * time this process could open /proc/PID/ns/mnt, a short container has often exited. */
    ctx.send_mntns = keep && (ctx.unshare_early & CLONE_NEWNS);
  }
  fflush(NULL);
  bool into_cgroup = false;
  if (direct) {
    drv_err ue;
    int cgfd = cg ? drv_cgroup_unified_fd(cg, &ue) : -1;
    pid = drv_rt_clone3(flags, cgfd, &into_cgroup);
    if (cgfd >= 0 && pid != 0) close(cgfd);
    if (pid < 0) {
      drv_error(err, errno, "clone the container init");
      goto out;
    }
    if (pid == 0) {
      close(sync_fd[0]);
      drv_rt_init_main(&ctx);
    }
  } else {
    njoin = spec->nns;
    join_fds = drv_calloc(njoin + 1, sizeof(int));
    for (size_t i = 0; i <= njoin; i++)
      join_fds[i] = -1;
    if (open_join_fds(spec, join_fds, err) < 0) goto out;
    mid = fork();
    if (mid < 0) {
      drv_error(err, errno, "fork");
      goto out;
    }
    if (mid == 0) {
      drv_err e;
      drv_err_clear(&e);
      close(sync_fd[0]);
      if (detach) {
        /* Leave the caller's process tree and session: the caller never reaps us. */
        pid_t m2 = fork();
        if (m2 != 0) _exit(m2 < 0);
        setsid();
      }
      if (join_namespaces(spec, join_fds, &e) < 0) drv_sync_fail(sync_fd[1], &e);
      pid_t init = drv_rt_clone(flags | (detach ? 0 : CLONE_PARENT));
      if (init < 0) {
        drv_error(&e, errno, "clone the container init");
        drv_sync_fail(sync_fd[1], &e);
      }
      if (init == 0) drv_rt_init_main(&ctx);
      drv_sync_send(sync_fd[1], DRV_SYNC_PID, init, NULL);
      close(sync_fd[1]);
      if (!o->monitor) _exit(0);
      /* The monitor: wait for the init, record its exit status. */
      for (int fd = 0; fd < 3; fd++) {
        int nul = open("/dev/null", O_RDWR);
        if (nul >= 0 && nul != fd) dup2(nul, fd), close(nul);
      }
      /* The monitor lives as long as the container: it must not hold the caller's descriptors
       * (an API server's listening socket, a data-dir lock, database files) past its exit. */
      if (dir_fd > 3) syscall(SYS_close_range, 3, dir_fd - 1, 0);
      syscall(SYS_close_range, dir_fd + 1, ~0U, 0);
      exec_small_monitor(init, dir_fd);
      _exit(drv_rt_monitor_run(init, dir_fd) < 0);
    }
    int st;
    while (waitpid(mid, &st, 0) < 0 && errno == EINTR) {
    }
    drv_sync_msg m;
    if (drv_sync_recv(sync_fd[0], &m, err) < 0) goto out;
    if (m.type != DRV_SYNC_PID) {
      drv_error(err, 0, "unexpected message %d from the intermediate process", m.type);
      goto out;
    }
    pid = m.value;
    own_child = !detach;
  }
  close(sync_fd[1]);
  sync_fd[1] = -1;
  if (spec->new_ns_flags & CLONE_NEWUSER) {
    if (write_map(pid, "gid_map", spec->gid_maps, spec->ngid_maps, err) < 0) goto out;
    if (write_map(pid, "uid_map", spec->uid_maps, spec->nuid_maps, err) < 0) goto out;
  }
  if (!cg && make_cgroup(spec, sys, o->id, &res, ctx.unshare_early ? sync_fd[0] : -1, &cg, err) < 0)
    goto out;
  if (drv_cgroup_enter(cg, pid, into_cgroup ? DRV_CGROUP_ENTER_SKIP_UNIFIED : 0, err) < 0) {
    prefer_init_error(sync_fd[0], err);
    goto out;
  }
  if (drv_sync_send(sync_fd[0], DRV_SYNC_GO, pid, NULL) < 0) {
    drv_error(err, errno, "signal the container init");
    prefer_init_error(sync_fd[0], err);
    goto out;
  }
  /* state.json is written aside while the init sets itself up (at the first moment no message
   * waits: PIVOTED is answered first) and renamed into place once it is ready. */
  drv_rt_saved sv = {.id = (char *)o->id,
                     .bundle = bundle,
                     .rootfs = rootfs,
                     .created = created,
                     .cgroup_path = (char *)drv_cgroup_path(cg),
                     .pid = pid,
                     .config = spec->doc,
                     .monitor = o->monitor};
  bool written = false;
  for (;;) {
    drv_sync_msg m;
    char peek;
    if (!written && recv(sync_fd[0], &peek, 1, MSG_PEEK | MSG_DONTWAIT) < 0 && errno == EAGAIN) {
      sv.start_time = drv_rt_proc_start_time(pid, NULL);
      if (drv_rt_saved_write_aside(dir, &sv, err) < 0) goto out;
      written = true;
    }
    int got[3] = {-1, -1, -1};
    int rr = drv_sync_recv_fds(sync_fd[0], &m, got, 3, err);
    if (rr == 0 && m.type == DRV_SYNC_PIVOTED) {
      /* closes got[1] and got[2]; with masks it answers MASKED whatever happens */
      int dr = drv_rt_detach_init_old_root(spec, sync_fd[0], m.value == 1, got[0], got[1], got[2]);
      got[1] = got[2] = -1;
      if (dr < 0) {
        drv_error(err, errno, "return to the runtime's mount namespace");
        if (got[0] >= 0) close(got[0]);
        goto out;
      }
    }
    if (got[2] >= 0) close(got[2]);
    /* The namespace is held for run.c (whatever came: PIVOTED, or READY after --no-pivot). */
    if (got[0] >= 0 && mntns_fd < 0)
      mntns_fd = got[0];
    else if (got[0] >= 0)
      close(got[0]);
    if (got[1] >= 0) close(got[1]);
    if (rr < 0) goto out;
    if (m.type == DRV_SYNC_READY) break;
    if (m.type == DRV_SYNC_HOOKS) {
      /* runtime-spec 1.1: the hooks see the state as "created" (runc passes the same). */
      _cleanup_free_ char *st = drv_rt_state_text(o->id, pid, "created", bundle, spec->annotations);
      if (drv_rt_hooks_run(spec->hooks[DRV_HOOK_PRESTART], spec->nhooks[DRV_HOOK_PRESTART],
                           "prestart", st, err) < 0 ||
          drv_rt_hooks_run(spec->hooks[DRV_HOOK_CREATE_RUNTIME],
                           spec->nhooks[DRV_HOOK_CREATE_RUNTIME], "createRuntime", st, err) < 0)
        goto out;
      drv_sync_send(sync_fd[0], DRV_SYNC_HOOKS_DONE, 0, NULL);
    }
  }
  if (!written) {
    sv.start_time = drv_rt_proc_start_time(pid, NULL);
    if (drv_rt_saved_write_aside(dir, &sv, err) < 0) goto out;
  }
  if (drv_rt_saved_publish(dir, err) < 0) goto out;
  if (o->pid_file) {
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%d", pid);
    if (drv_write_file_atomic(o->pid_file, buf, (size_t)n, 0644, err) < 0) goto out;
  }
  if (pid_out) *pid_out = pid;
  if (keep) {
    drv_rt_container *c = drv_calloc(1, sizeof *c);
    c->root = drv_strdup(root);
    c->id = drv_strdup(o->id);
    c->dir = drv_strdup(dir);
    c->bundle = drv_strdup(bundle);
    c->dir_fd = dir_fd;
    dir_fd = -1;
    c->mntns_fd = mntns_fd;
    mntns_fd = -1;
    c->pidfd = -1;
    c->pid = pid;
    c->started = o->start;
    c->cg = cg;
    cg = NULL;
    c->spec = spec;
    spec = NULL;
    *keep = c;
  }
  r = 0;
out:
  if (r < 0 && pid > 0) {
    kill(pid, SIGKILL);
    if (own_child)
      while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
      }
  }
  if (r < 0 && cg) {
    drv_err e;
    drv_cgroup_destroy(cg, &e);
  }
  if (r < 0 && dir_made) {
    drv_err e;
    drv_rm_rf(dir, &e);
  }
  for (size_t i = 0; i < njoin; i++)
    if (join_fds[i] >= 0) close(join_fds[i]);
  free(join_fds);
  if (fifo_fd >= 0) close(fifo_fd);
  if (console_fd >= 0) close(console_fd);
  if (sync_fd[0] >= 0) close(sync_fd[0]);
  if (sync_fd[1] >= 0) close(sync_fd[1]);
  if (dir_fd >= 0) close(dir_fd);
  if (mntns_fd >= 0) close(mntns_fd);
  drv_cgroup_free(cg);
  free(cg_path);
  drv_seccomp_free(filter);
  drv_cgroup_resources_free(&res);
  drv_rt_spec_free(spec);
  if (r < 0) drv_err_prefix(err, "create container `%s`", o->id);
  return r;
}

int drv_rt_start(const char *root, const char *id, drv_err *err)
{
  if (!root) root = DRV_RT_DEFAULT_ROOT;
  drv_rt_saved s;
  if (drv_rt_saved_read(root, id, &s, err) < 0) return -1;
  int r = -1;
  _cleanup_free_ char *fifo = drv_asprintf("%s/%s/exec.fifo", root, id);
  drv_rt_status st;
  drv_rt_saved_status(root, &s, &st);
  if (st != DRV_RT_CREATED) {
    drv_error(err, 0, "start container `%s`: it is %s, not created", id, drv_rt_status_name(st));
    goto out;
  }
  int fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    drv_error(err, errno == ENXIO ? 0 : errno, "start container `%s`: %s", id,
              errno == ENXIO ? "its init is gone" : "open exec.fifo");
    goto out;
  }
  ssize_t w = write(fd, "0", 1);
  int e = errno;
  close(fd);
  if (w != 1) {
    drv_error(err, e, "start container `%s`: write exec.fifo", id);
    goto out;
  }
  unlink(fifo);
  r = 0;
  json_t *hooks = json_object_get(json_object_get(s.config, "hooks"), "poststart");
  if (json_array_size(hooks)) {
    drv_rt_spec *spec;
    drv_err he;
    if (drv_rt_spec_parse(s.config, &spec, &he) == 0) {
      _cleanup_free_ char *stt = drv_rt_state_text(id, s.pid, "running", s.bundle, s.annotations);
      /* The spec: a failing poststart hook is a warning, the container keeps running. */
      if (drv_rt_hooks_run(spec->hooks[DRV_HOOK_POSTSTART], spec->nhooks[DRV_HOOK_POSTSTART],
                           "poststart", stt, &he) < 0)
        drv_log_warn("container `%s`: %s", id, he.msg);
      drv_rt_spec_free(spec);
    }
  }
out:
  drv_rt_saved_clear(&s);
  return r;
}

int drv_rt_wait(pid_t pid, int *exit_code, drv_err *err)
{
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return drv_error(err, errno, "wait for pid %d", pid);
  if (exit_code) *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return 0;
}

int drv_rt_create(const drv_rt_create_opts *o, pid_t *pid_out, drv_err *err)
{
  return create(o, pid_out, NULL, err);
}

int drv_rt_create_container(const drv_rt_create_opts *o, drv_rt_container **out, drv_err *err)
{
  *out = NULL;
  return create(o, NULL, out, err);
}
