/* The container's file-system view, built in its own mount namespace before pivot_root while
 * the host /proc is still there: every target is resolved inside the rootfs (RESOLVE_IN_ROOT)
 * and mounted through /proc/self/fd/N, so a symlink swapped in by a hostile image cannot
 * redirect a mount to the host; proc and sysfs targets must be real directories and are
 * checked to carry the right file system after mounting. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/cgroup.h"
#include "runtime/internal.h"

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef SYS_statmount
#define SYS_statmount 457
#endif
#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x4000U
#endif

static int rootfd = -1;

static void fdpath(char *buf, size_t n, int fd)
{
  snprintf(buf, n, "/proc/self/fd/%d", fd);
}

static unsigned long locked_flags(const char *path)
{
  struct statvfs sv;
  unsigned long f = 0;
  if (statvfs(path, &sv) < 0) return 0;
  if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
  if (sv.f_flag & ST_RDONLY) f |= MS_RDONLY;
  if (sv.f_flag & ST_NOATIME) f |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME) f |= MS_RELATIME;
  return f;
}

/* Remount a freshly made bind mount with its flags; inside a user namespace the source's
 * locked flags must be kept, so retry with them. */
static int bind_remount(const char *target, unsigned long flags, const char *what, drv_err *err)
{
  unsigned long f = MS_BIND | MS_REMOUNT | flags;
  if (mount(NULL, target, NULL, f, NULL) == 0) return 0;
  if (errno == EPERM && mount(NULL, target, NULL, f | locked_flags(target), NULL) == 0) return 0;
  return drv_error(err, errno, "%s: remount with its options", what);
}

static int set_rec_attrs(int fd, const drv_rt_mount *m, const char *what, drv_err *err)
{
  if (!m->rec_set && !m->rec_clear) return 0;
  struct mount_attr attr = {.attr_set = m->rec_set, .attr_clr = m->rec_clear};
  if (m->rec_set & (MOUNT_ATTR_NOATIME | MOUNT_ATTR_STRICTATIME | MOUNT_ATTR_RELATIME))
    attr.attr_clr |= MOUNT_ATTR__ATIME;
  if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
    return drv_error(err, errno, "%s: set recursive mount attributes", what);
  return 0;
}

static int mount_cgroup(drv_rt_init_ctx *c, const drv_rt_mount *m, drv_err *err)
{
  _cleanup_close_ int fd = drv_rt_open_in_root(rootfd, m->destination, DRV_RT_CREATE_DIR, err);
  if (fd < 0) return -1;
  char t[64];
  fdpath(t, sizeof t, fd);
  bool ro = m->flags & MS_RDONLY;
  unsigned long base = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  /* The host's cgroup mounts as the runtime detected them before the clone (this process is
   * a copy of it): no second read of mountinfo, which costs ~1 ms per 100 host mounts. */
  const drv_cgroup_host_mount *mnts;
  size_t n = drv_cgroup_system_host_mounts(c->cgroup_sys, &mnts);
  bool v2_only =
      n == 1 && !strcmp(mnts[0].type, "cgroup2") && !strcmp(mnts[0].point, "/sys/fs/cgroup");
  bool own_ns = (c->spec->new_ns_flags & CLONE_NEWCGROUP) != 0;
  if (v2_only) {
    if (own_ns) {
      if (mount("cgroup2", t, "cgroup2", base | (ro ? MS_RDONLY : 0), NULL) < 0)
        return drv_error(err, errno, "mount cgroup2 on `%s`", m->destination);
      return 0;
    }
    _cleanup_free_ char *src =
        drv_asprintf("/sys/fs/cgroup%s", c->cgroup_path ? c->cgroup_path : "");
    if (mount(src, t, NULL, MS_BIND | MS_REC, NULL) < 0)
      return drv_error(err, errno, "bind `%s` on `%s`", src, m->destination);
    _cleanup_close_ int fd2 = drv_rt_open_in_root(rootfd, m->destination, 0, err);
    if (fd2 < 0) return -1;
    fdpath(t, sizeof t, fd2);
    return bind_remount(t, base | (ro ? MS_RDONLY : 0), m->destination, err);
  }
  if (mount("tmpfs", t, "tmpfs", base, "mode=755") < 0)
    return drv_error(err, errno, "mount tmpfs on `%s`", m->destination);
  /* The tmpfs is ours and fresh (nothing in the image can have put a symlink there): its
   * subdirectories are made and mounted on through its fd, no walk through the root each
   * time. */
  _cleanup_close_ int tfd = drv_rt_open_in_root(rootfd, m->destination, 0, err);
  if (tfd < 0) return -1;
  for (size_t i = 0; i < n; i++) {
    const char *base_name = strrchr(mnts[i].point, '/') + 1;
    _cleanup_free_ char *dest = drv_asprintf("%s/%s", m->destination, base_name);
    if (mkdirat(tfd, base_name, 0755) < 0 && errno != EEXIST)
      return drv_error(err, errno, "mkdir `%s`", dest);
    char st[NAME_MAX + 64];
    snprintf(st, sizeof st, "/proc/self/fd/%d/%s", tfd, base_name);
    if (own_ns) {
      const char *data = strcmp(mnts[i].type, "cgroup2") ? mnts[i].opts : NULL;
      if (mount("cgroup", st, mnts[i].type, base | (ro ? MS_RDONLY : 0), data) < 0)
        return drv_error(err, errno, "mount %s (%s) on `%s`", mnts[i].type, mnts[i].opts, dest);
    } else {
      _cleanup_free_ char *src =
          drv_asprintf("%s%s", mnts[i].point, c->cgroup_path ? c->cgroup_path : "");
      /* Only the container's own group is shown; a hierarchy without it (a named one the
       * runtime does not manage) stays an empty directory rather than exposing the host's. */
      if (mount(src, st, NULL, MS_BIND | MS_REC, NULL) < 0) {
        if (errno == ENOENT) continue;
        return drv_error(err, errno, "bind `%s` on `%s`", src, dest);
      }
    }
  }
  /* One recursive attribute change for the tmpfs and every hierarchy under it. */
  struct mount_attr attr = {.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC |
                                        (ro ? MOUNT_ATTR_RDONLY : 0)};
  if (syscall(SYS_mount_setattr, tfd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
    return drv_error(err, errno, "set the attributes of `%s`", m->destination);
  return 0;
}

static int mount_one(drv_rt_init_ctx *c, size_t idx, const drv_rt_mount *m, drv_err *err)
{
  char what[128];
  snprintf(what, sizeof what, "mounts[%zu] `%s`", idx, m->destination);
  if (!m->bind && !strcmp(m->type, "cgroup")) {
    /* The container's group must exist (and be joined, for a cgroup namespace) first. */
    bool own_ns = c->spec->new_ns_flags & CLONE_NEWCGROUP;
    if ((own_ns ? drv_rt_init_await_go(c, err) : drv_rt_init_await_dirs(c, err)) < 0 ||
        mount_cgroup(c, m, err) < 0)
      return drv_err_prefix(err, "mounts[%zu]", idx);
    return 0;
  }
  _cleanup_free_ char *src = NULL;
  int create = DRV_RT_CREATE_DIR;
  if (m->bind) {
    src = m->source[0] == '/' ? drv_strdup(m->source) : drv_asprintf("%s/%s", c->bundle, m->source);
    struct stat st;
    if (stat(src, &st) < 0) return drv_error(err, errno, "%s: source `%s`", what, src);
    if (!S_ISDIR(st.st_mode)) create = DRV_RT_CREATE_FILE;
  }
  _cleanup_close_ int fd = drv_rt_open_in_root(rootfd, m->destination, create, err);
  if (fd < 0) return drv_err_prefix(err, "%s", what);
  bool special = !m->bind && (!strcmp(m->type, "proc") || !strcmp(m->type, "sysfs"));
  if (special) {
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode))
      return drv_error(err, ENOTDIR, "%s: the target must be a directory", what);
  }
  char t[64];
  fdpath(t, sizeof t, fd);
  unsigned long flags = m->flags & ~(MS_REMOUNT | MS_BIND | MS_REC);
  if (m->bind) {
    if (mount(src, t, NULL, MS_BIND | (m->flags & MS_REC), NULL) < 0)
      return drv_error(err, errno, "%s: bind `%s`", what, src);
  } else {
    const char *source = m->source ? m->source : m->type;
    if (mount(source, t, m->type, flags, m->data) < 0)
      return drv_error(err, errno, "%s: mount %s", what, m->type);
  }
  bool remount = m->bind && (flags & ~(MS_SILENT));
  if (!special && !remount && !m->propagation && !m->rec_set && !m->rec_clear) return 0;
  /* Reopen: the new mount sits on top of what fd points at. */
  _cleanup_close_ int fd2 = drv_rt_open_in_root(rootfd, m->destination, 0, err);
  if (fd2 < 0) return drv_err_prefix(err, "%s", what);
  fdpath(t, sizeof t, fd2);
  if (special) {
    struct statfs sf;
    long want = !strcmp(m->type, "proc") ? PROC_SUPER_MAGIC : SYSFS_MAGIC;
    if (fstatfs(fd2, &sf) < 0 || sf.f_type != want)
      return drv_error(err, EXDEV, "%s: %s is not mounted there after mounting (raced?)", what,
                       m->type);
  }
  if (remount && bind_remount(t, flags, what, err) < 0) return -1;
  if (m->propagation && mount(NULL, t, NULL, m->propagation, NULL) < 0)
    return drv_error(err, errno, "%s: set propagation", what);
  return set_rec_attrs(fd2, m, what, err);
}

/* Directory fds of device parents (almost always just /dev), resolved inside the root once. */
static char *dev_dir_name;
static int dev_dir_fd = -1;

static int device_dir(const char *dir, drv_err *err)
{
  if (dev_dir_fd >= 0 && !strcmp(dev_dir_name, dir)) return dev_dir_fd;
  _cleanup_close_ int dfd = drv_rt_open_in_root(rootfd, dir[0] ? dir : "/", DRV_RT_CREATE_DIR, err);
  if (dfd < 0) return -1;
  char dp[64];
  fdpath(dp, sizeof dp, dfd);
  /* *at calls want a real directory fd, not O_PATH: reopen through the magic link. */
  int d = open(dp, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (d < 0) return drv_error(err, errno, "open `%s`", dir);
  if (dev_dir_fd >= 0) close(dev_dir_fd);
  free(dev_dir_name);
  dev_dir_fd = d;
  dev_dir_name = drv_strdup(dir);
  return d;
}

static int make_device(drv_rt_init_ctx *c, const char *path, mode_t type, unsigned maj,
                       unsigned min, mode_t mode, uid_t uid, gid_t gid, bool bind_only,
                       drv_err *err)
{
  _cleanup_free_ char *dir = drv_strdup(path);
  char *slash = strrchr(dir, '/');
  const char *name = slash + 1;
  *slash = '\0';
  int d = device_dir(dir, err);
  if (d < 0) return drv_err_prefix(err, "device `%s`", path);
  char dp[64];
  fdpath(dp, sizeof dp, d);
  /* mknod first: /dev is usually a fresh tmpfs; an existing node is looked at on EEXIST. */
  int r = bind_only ? -1 : mknodat(d, name, type | (mode & 07777), makedev(maj, min));
  if (bind_only || (r < 0 && errno == EEXIST)) {
    struct stat st;
    if (fstatat(d, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
      if ((st.st_mode & S_IFMT) == type && st.st_rdev == makedev(maj, min)) return 0;
      if (unlinkat(d, name, 0) < 0 && errno != EISDIR)
        return drv_error(err, errno, "device `%s`: replace the existing file", path);
    }
    if (!bind_only) r = mknodat(d, name, type | (mode & 07777), makedev(maj, min));
  }
  if (r == 0) {
    /* Made by the init with umask 0: the mode is exact and the owner is the init's unless
     * another one is asked (set-id bits are set again in case the kernel dropped them). */
    static uid_t euid = (uid_t)-1;
    static gid_t egid;
    if (euid == (uid_t)-1) euid = geteuid(), egid = getegid(); /* the init's, fixed by now */
    if ((uid != euid || gid != egid) &&
        fchownat(d, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
      return drv_error(err, errno, "device `%s`: chown", path);
    if (mode & 07000) fchmodat(d, name, mode & 07777, 0);
    return 0;
  }
  if (!bind_only && errno != EPERM) return drv_error(err, errno, "device `%s`: mknod", path);
  /* In a user namespace mknod is refused: bind the host's node instead. */
  int f = openat(d, name, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0000);
  if (f < 0) return drv_error(err, errno, "device `%s`: create the bind target", path);
  close(f);
  char target[128];
  snprintf(target, sizeof target, "%s/%s", dp, name);
  char host[64];
  snprintf(host, sizeof host, "/dev/%s", name);
  const char *src = path;
  struct stat hs;
  if (stat(src, &hs) < 0 || (hs.st_mode & S_IFMT) != type || hs.st_rdev != makedev(maj, min))
    src = host;
  if (mount(src, target, NULL, MS_BIND, NULL) < 0)
    return drv_error(err, errno, "device `%s`: bind the host's `%s`", path, src);
  return 0;
}

static int setup_devices(drv_rt_init_ctx *c, drv_err *err)
{
  static const struct {
    const char *path;
    unsigned maj, min;
  } defs[] = {{"/dev/null", 1, 3},   {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
              {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0}};
  bool userns = c->spec->new_ns_flags & CLONE_NEWUSER;
  for (size_t i = 0; i < c->spec->ndevices; i++) {
    const drv_rt_device *d = &c->spec->devices[i];
    if (make_device(c, d->path, d->type, d->major, d->minor, d->mode, d->uid, d->gid, userns, err) <
        0)
      return drv_err_prefix(err, "linux.devices[%zu]", i);
  }
  for (size_t i = 0; i < DRV_ARRAY_LEN(defs); i++) {
    bool listed = false;
    for (size_t k = 0; k < c->spec->ndevices; k++)
      listed |= !strcmp(c->spec->devices[k].path, defs[i].path);
    if (!listed && make_device(c, defs[i].path, S_IFCHR, defs[i].maj, defs[i].min, 0666, 0, 0,
                               userns, err) < 0)
      return -1;
  }
  static const char *const links[][2] = {{"/proc/self/fd", "fd"},
                                         {"/proc/self/fd/0", "stdin"},
                                         {"/proc/self/fd/1", "stdout"},
                                         {"/proc/self/fd/2", "stderr"},
                                         {"pts/ptmx", "ptmx"}};
  int d = device_dir("/dev", err);
  if (d < 0) return -1;
  for (size_t i = 0; i < DRV_ARRAY_LEN(links); i++)
    if (symlinkat(links[i][0], d, links[i][1]) < 0 && errno != EEXIST)
      return drv_error(err, errno, "symlink /dev/%s", links[i][1]);
  return 0;
}

static int mask_paths(drv_rt_init_ctx *c, drv_err *err)
{
  const drv_rt_spec *s = c->spec;
  for (size_t i = 0; s->masked_paths && s->masked_paths[i]; i++) {
    drv_err e;
    _cleanup_close_ int fd = drv_rt_open_in_root(rootfd, s->masked_paths[i], 0, &e);
    if (fd < 0) continue; /* absent: nothing to hide */
    struct stat st;
    if (fstat(fd, &st) < 0) continue;
    char t[64];
    fdpath(t, sizeof t, fd);
    int r = S_ISDIR(st.st_mode) ? mount("tmpfs", t, "tmpfs", MS_RDONLY, "size=0k")
                                : mount("/dev/null", t, NULL, MS_BIND, NULL);
    if (r < 0) return drv_error(err, errno, "linux.maskedPaths[%zu] `%s`", i, s->masked_paths[i]);
  }
  for (size_t i = 0; s->readonly_paths && s->readonly_paths[i]; i++) {
    drv_err e;
    _cleanup_close_ int fd = drv_rt_open_in_root(rootfd, s->readonly_paths[i], 0, &e);
    if (fd < 0) continue;
    char t[64];
    fdpath(t, sizeof t, fd);
    if (mount(t, t, NULL, MS_BIND | MS_REC, NULL) < 0)
      return drv_error(err, errno, "linux.readonlyPaths[%zu] `%s`: bind", i, s->readonly_paths[i]);
    _cleanup_close_ int fd2 = drv_rt_open_in_root(rootfd, s->readonly_paths[i], 0, err);
    if (fd2 < 0) return -1;
    char t2[64];
    fdpath(t2, sizeof t2, fd2);
    char what[64];
    snprintf(what, sizeof what, "linux.readonlyPaths[%zu]", i);
    if (bind_remount(t2, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, what, err) < 0) return -1;
  }
  return 0;
}

static int write_sysctls(drv_rt_init_ctx *c, drv_err *err)
{
  const drv_rt_spec *s = c->spec;
  for (size_t i = 0; i < s->nsysctl; i++) {
    _cleanup_free_ char *path = drv_asprintf("/proc/sys/%s", s->sysctl_keys[i]);
    for (char *p = path + 10; *p; p++)
      if (*p == '.') *p = '/';
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return drv_error(err, errno, "linux.sysctl.%s", s->sysctl_keys[i]);
    ssize_t w = write(fd, s->sysctl_values[i], strlen(s->sysctl_values[i]));
    int e = errno;
    close(fd);
    if (w < 0)
      return drv_error(err, e, "linux.sysctl.%s: write `%s`", s->sysctl_keys[i],
                       s->sysctl_values[i]);
  }
  return 0;
}

int drv_rt_setup_rootfs(drv_rt_init_ctx *c, drv_err *err)
{
  const drv_rt_spec *s = c->spec;
  /* Nothing done here may reach the host; shared propagation is applied after pivot_root
   * (pivot_root refuses shared mounts). */
  unsigned long prop = (s->rootfs_propagation & MS_PRIVATE) ? MS_PRIVATE : MS_SLAVE;
  if (mount(NULL, "/", NULL, prop | MS_REC, NULL) < 0)
    return drv_error(err, errno, "make / a slave mount in the container's mount namespace");
  if (mount(c->rootfs, c->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
    return drv_error(err, errno, "root.path: bind `%s` onto itself", c->rootfs);
  rootfd = open(c->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) return drv_error(err, errno, "root.path: open `%s`", c->rootfs);
  for (size_t i = 0; i < s->nmounts; i++)
    if (mount_one(c, i, &s->mounts[i], err) < 0) return -1;
  if (setup_devices(c, err) < 0) return -1;
  if (write_sysctls(c, err) < 0) return -1;
  return 0;
}

int drv_rt_finish_rootfs(drv_rt_init_ctx *c, drv_err *err)
{
  /* run: after pivot_root, by the runtime (see drv_rt_pivot). */
  c->defer_masks = c->mntns_fd >= 0 && !c->no_pivot && drv_rt_has_masks(c->spec);
  if (c->defer_masks) return 0;
  /* Still before pivot_root: masks need /proc/self/fd of the host. */
  return mask_paths(c, err);
}

bool drv_rt_has_masks(const drv_rt_spec *s)
{
  return (s->masked_paths && s->masked_paths[0]) || (s->readonly_paths && s->readonly_paths[0]);
}

#ifndef SYS_open_tree
#define SYS_open_tree 428
#define SYS_move_mount 429
#define SYS_fsopen 430
#define SYS_fsconfig 431
#define SYS_fsmount 432
#endif

/* Puts the detached mount tree at target (an O_PATH fd), as a mount on top of it. */
static int attach(int tree, int target)
{
  return (int)syscall(SYS_move_mount, tree, "", target, "",
                      MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}

static int empty_ro_tmpfs(void)
{
  _cleanup_close_ int fs = (int)syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
  if (fs < 0 || syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "source", "tmpfs", 0) < 0 ||
      syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "size", "0k", 0) < 0 ||
      syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    return -1;
  return (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY);
}

int drv_rt_mask_paths_fd(const drv_rt_spec *s, int root_fd, int oldroot_fd, drv_err *err)
{
  if (root_fd < 0 || oldroot_fd < 0) return drv_error(err, EBADF, "mask paths: no root");
  for (size_t i = 0; s->masked_paths && s->masked_paths[i]; i++) {
    drv_err e;
    _cleanup_close_ int fd = drv_rt_open_in_root(root_fd, s->masked_paths[i], 0, &e);
    if (fd < 0) continue; /* absent: nothing to hide */
    struct stat st;
    if (fstat(fd, &st) < 0) continue;
    /* A directory gets an empty read-only tmpfs, anything else the host's /dev/null. */
    _cleanup_close_ int tree =
        S_ISDIR(st.st_mode)
            ? empty_ro_tmpfs()
            : (int)syscall(SYS_open_tree, oldroot_fd, "dev/null", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (tree < 0 || attach(tree, fd) < 0)
      return drv_error(err, errno, "linux.maskedPaths[%zu] `%s`", i, s->masked_paths[i]);
  }
  for (size_t i = 0; s->readonly_paths && s->readonly_paths[i]; i++) {
    drv_err e;
    _cleanup_close_ int fd = drv_rt_open_in_root(root_fd, s->readonly_paths[i], 0, &e);
    if (fd < 0) continue;
    /* A recursive bind of the path onto itself, its top mount made read-only (as a bind
     * remount would). */
    _cleanup_close_ int tree = (int)syscall(
        SYS_open_tree, fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
                                          MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC};
    if (tree < 0 ||
        syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0 ||
        attach(tree, fd) < 0)
      return drv_error(err, errno, "linux.readonlyPaths[%zu] `%s`", i, s->readonly_paths[i]);
  }
  return 0;
}

int drv_rt_pivot(drv_rt_init_ctx *c, drv_err *err)
{
  const drv_rt_spec *s = c->spec;
  if (chdir(c->rootfs) < 0) return drv_error(err, errno, "chdir to the rootfs");
  if (c->no_pivot) {
    if (mount(c->rootfs, "/", NULL, MS_MOVE, NULL) < 0)
      return drv_error(err, errno, "move the rootfs to / (--no-pivot)");
    if (chroot(".") < 0) return drv_error(err, errno, "chroot (--no-pivot)");
  } else {
    _cleanup_close_ int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    if (oldroot < 0) return drv_error(err, errno, "open /");
    if (syscall(SYS_pivot_root, ".", ".") < 0) return drv_error(err, errno, "pivot_root");
    if (fchdir(oldroot) < 0) return drv_error(err, errno, "fchdir to the old root");
    /* Detach the old root without letting the unmount propagate to the host. */
    if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
      return drv_error(err, errno, "make the old root a slave");
    /* run: the runtime unmounts it while this process goes on (the unmount waits for an RCU
     * grace period, 0.1-2 ms here); drv_rt_detach_old_root checks before the exec. With
     * defer_masks the runtime mounts the masked and read-only paths there first. */
    int fds[3] = {c->mntns_fd, oldroot, rootfd};
    if (c->mntns_fd >= 0 && rootfd >= 0 &&
        drv_sync_send_fds(c->sync_fd, DRV_SYNC_PIVOTED, c->defer_masks, fds, 3) == 0) {
      c->pivoted_sent = true;
      c->oldroot_fd = oldroot;
      oldroot = -1;
      if (c->defer_masks && (c->newroot_fd = fcntl(rootfd, F_DUPFD_CLOEXEC, 3)) < 0)
        return drv_error(err, errno, "keep the new root");
    } else if (c->defer_masks) {
      /* Not sent: this process mounts them itself (the old root is still there for them). */
      c->defer_masks = false;
      if (drv_rt_mask_paths_fd(s, rootfd, oldroot, err) < 0) return -1;
      if (umount2(".", MNT_DETACH) < 0) return drv_error(err, errno, "unmount the old root");
    } else if (umount2(".", MNT_DETACH) < 0) {
      return drv_error(err, errno, "unmount the old root");
    }
  }
  if (chdir("/") < 0) return drv_error(err, errno, "chdir /");
  if (rootfd >= 0) close(rootfd), rootfd = -1;
  if (s->rootfs_propagation && mount(NULL, "/", NULL, s->rootfs_propagation, NULL) < 0)
    return drv_error(err, errno, "linux.rootfsPropagation: apply on /");
  if (s->root_readonly) {
    unsigned long f = MS_BIND | MS_REMOUNT | MS_RDONLY;
    if (mount(NULL, "/", NULL, f, NULL) < 0 &&
        mount(NULL, "/", NULL, f | locked_flags("/"), NULL) < 0)
      return drv_error(err, errno, "root.readonly: remount / read-only");
  }
  return 0;
}

/* Whether the mount behind fd has left this mount namespace (statmount: ENOENT). */
static bool mount_gone(int fd)
{
  struct statx sx;
  if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID_UNIQUE, &sx) < 0 ||
      !(sx.stx_mask & STATX_MNT_ID_UNIQUE))
    return false;
  struct {
    uint32_t size, spare;
    uint64_t mnt_id, param;
  } req = {.size = 24, .mnt_id = sx.stx_mnt_id, .param = 0x1 /* STATMOUNT_SB_BASIC */};
  char buf[512] __attribute__((aligned(8)));
  return syscall(SYS_statmount, &req, buf, sizeof buf, 0) < 0 && errno == ENOENT;
}

int drv_rt_detach_old_root(drv_rt_init_ctx *c, drv_err *err)
{
  if (c->oldroot_fd < 0) return 0;
  int fd = c->oldroot_fd;
  c->oldroot_fd = -1;
  _cleanup_close_ int here = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  int r = -1;
  if (here < 0) {
    drv_error(err, errno, "open the working directory");
  } else if (fchdir(fd) < 0) {
    drv_error(err, errno, "fchdir to the old root");
  } else {
    /* EINVAL: not a mount of this namespace any more, i.e. the runtime's helper detached it
     * (statmount confirms it: a locked mount gives EINVAL too and must not pass). */
    if (umount2(".", MNT_DETACH) == 0 || (errno == EINVAL && mount_gone(fd)))
      r = 0;
    else
      drv_error(err, errno, "unmount the old root");
    if (fchdir(here) < 0 && r == 0) r = drv_error(err, errno, "fchdir back");
  }
  close(fd);
  return r;
}
