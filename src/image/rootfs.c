/* A root filesystem per container: an overlay of the image's shared read-only layer
 * directories with a private upper directory, or a merged copy where overlay is unavailable
 * (no overlay module, container dir on a filesystem overlay refuses as upper, …). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fs.h"
#include "common/util.h"
#include "image/fail.h"
#include "image/image.h"
#include "image/store.h"

/* New mount API first: each lower dir is its own "lowerdir+" parameter, so neither commas in
 * paths nor the one-page limit of mount(2) options constrain the number of layers. */
static int mount_overlay_fsconfig(const drv_image *img, const char *empty, const char *upper,
                                  const char *work, const char *target, drv_err *err)
{
  int fs = fsopen("overlay", FSOPEN_CLOEXEC);
  if (fs < 0) return drv_error(err, errno, "fsopen overlay");
  int rc = -1;
  if (img->n_layers == 0) {
    if (fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", empty, 0) < 0) goto fail;
  }
  for (size_t i = img->n_layers; i-- > 0;) /* topmost layer first */
    if (fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", img->layer_dirs[i], 0) < 0) goto fail;
  if (fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0 ||
      fsconfig(fs, FSCONFIG_SET_STRING, "workdir", work, 0) < 0 ||
      fsconfig(fs, FSCONFIG_SET_STRING, "index", "off", 0) < 0 ||
      fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    goto fail;
  int mfd = fsmount(fs, FSMOUNT_CLOEXEC, 0);
  if (mfd < 0) goto fail;
  if (move_mount(mfd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
    int e = errno;
    close(mfd);
    errno = e;
    goto fail;
  }
  close(mfd);
  rc = 0;
  close(fs);
  return rc;
fail:
  rc = drv_error(err, errno, "mount overlay on `%s`", target);
  close(fs);
  return rc;
}

static int mount_overlay_legacy(const drv_image *img, const char *empty, const char *upper,
                                const char *work, const char *target, drv_err *err)
{
  drv_buf o = DRV_BUF_INIT;
  drv_buf_puts(&o, "lowerdir=");
  if (img->n_layers == 0) drv_buf_puts(&o, empty);
  for (size_t i = img->n_layers; i-- > 0;) {
    if (strpbrk(img->layer_dirs[i], ",:")) {
      drv_buf_free(&o);
      return drv_fail(err, EINVAL, "mount overlay: layer path `%s` has ',' or ':'", img->layer_dirs[i]);
    }
    drv_buf_puts(&o, img->layer_dirs[i]);
    if (i) drv_buf_putc(&o, ':');
  }
  drv_buf_printf(&o, ",upperdir=%s,workdir=%s,index=off", upper, work);
  int rc = 0;
  if (mount("overlay", target, "overlay", 0, o.data) < 0)
    rc = drv_error(err, errno, "mount overlay on `%s`", target);
  drv_buf_free(&o);
  return rc;
}

/* ---- copy fallback ---- */

struct hl {
  dev_t dev;
  ino_t ino;
  char *path;
};

struct copy {
  struct hl *links;
  size_t n, cap;
};

static int copy_meta(const char *src, const char *dst, const struct stat *st, drv_err *err)
{
  if (lchown(dst, st->st_uid, st->st_gid) < 0 && errno != EPERM)
    return drv_error(err, errno, "chown `%s`", dst);
  if (!S_ISLNK(st->st_mode) && chmod(dst, st->st_mode & 07777) < 0)
    return drv_error(err, errno, "chmod `%s`", dst);
  char names[8192];
  ssize_t n = llistxattr(src, names, sizeof names);
  for (ssize_t off = 0; n > 0 && off < n; off += (ssize_t)strlen(names + off) + 1) {
    const char *name = names + off;
    if (!strncmp(name, "trusted.overlay.", 16)) continue;
    char val[65536];
    ssize_t vl = lgetxattr(src, name, val, sizeof val);
    if (vl >= 0) lsetxattr(dst, name, val, (size_t)vl, 0);
  }
  struct timespec ts[2] = {st->st_atim, st->st_mtim};
  utimensat(AT_FDCWD, dst, ts, AT_SYMLINK_NOFOLLOW);
  return 0;
}

static int copy_file(const char *src, const char *dst, const struct stat *st, drv_err *err)
{
  _cleanup_close_ int in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (in < 0) return drv_error(err, errno, "open `%s`", src);
  _cleanup_close_ int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (out < 0) return drv_error(err, errno, "create `%s`", dst);
  off_t left = st->st_size;
  while (left > 0) {
    ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)left, 0);
    if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL)) {
      char buf[1 << 16];
      n = read(in, buf, sizeof buf);
      if (n > 0 && drv_write_all(out, buf, (size_t)n) < 0) return drv_error(err, errno, "write `%s`", dst);
    }
    if (n < 0) return drv_error(err, errno, "copy `%s`", src);
    if (n == 0) break;
    left -= n;
  }
  return 0;
}

static int merge_dir(struct copy *c, const char *src, const char *dst, drv_err *err)
{
  _cleanup_dir_ DIR *d = opendir(src);
  if (!d) return drv_error(err, errno, "open `%s`", src);
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    _cleanup_free_ char *s = drv_asprintf("%s/%s", src, e->d_name);
    _cleanup_free_ char *t = drv_asprintf("%s/%s", dst, e->d_name);
    struct stat st, tst;
    if (lstat(s, &st) < 0) return drv_error(err, errno, "lstat `%s`", s);
    bool exists = lstat(t, &tst) == 0;
    if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) { /* whiteout */
      if (exists && drv_rm_rf(t, err) < 0) return -1;
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      char v[2];
      bool opaque = lgetxattr(s, "trusted.overlay.opaque", v, sizeof v) == 1 && v[0] == 'y';
      if (exists && (!S_ISDIR(tst.st_mode) || opaque)) {
        if (drv_rm_rf(t, err) < 0) return -1;
        exists = false;
      }
      if (!exists && mkdir(t, 0700) < 0) return drv_error(err, errno, "mkdir `%s`", t);
      if (merge_dir(c, s, t, err) < 0) return -1;
      if (copy_meta(s, t, &st, err) < 0) return -1;
      continue;
    }
    if (exists && drv_rm_rf(t, err) < 0) return -1;
    if (S_ISREG(st.st_mode) && st.st_nlink > 1) { /* keep hardlinks within the image */
      bool linked = false;
      for (size_t i = 0; i < c->n && !linked; i++)
        if (c->links[i].dev == st.st_dev && c->links[i].ino == st.st_ino && link(c->links[i].path, t) == 0)
          linked = true;
      if (linked) continue;
      if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->links = drv_realloc(c->links, c->cap * sizeof *c->links);
      }
      c->links[c->n++] = (struct hl){st.st_dev, st.st_ino, drv_strdup(t)};
    }
    if (S_ISREG(st.st_mode)) {
      if (copy_file(s, t, &st, err) < 0) return -1;
    } else if (S_ISLNK(st.st_mode)) {
      char buf[4096];
      ssize_t n = readlink(s, buf, sizeof buf - 1);
      if (n < 0) return drv_error(err, errno, "readlink `%s`", s);
      buf[n] = '\0';
      if (symlink(buf, t) < 0) return drv_error(err, errno, "symlink `%s`", t);
    } else if (mknod(t, st.st_mode, st.st_rdev) < 0) {
      return drv_error(err, errno, "mknod `%s`", t);
    }
    if (copy_meta(s, t, &st, err) < 0) return -1;
  }
  return 0;
}

static int copy_layers(const drv_image *img, const char *target, drv_err *err)
{
  struct copy c = {0};
  int rc = 0;
  for (size_t i = 0; i < img->n_layers && rc == 0; i++) {
    rc = merge_dir(&c, img->layer_dirs[i], target, err);
    /* hardlinks never span layers */
    for (size_t j = 0; j < c.n; j++) free(c.links[j].path);
    c.n = 0;
  }
  free(c.links);
  if (rc == 0) chmod(target, 0755);
  return rc;
}

int drv_image_rootfs_prepare(drv_image_store *s, const drv_image *img, const char *container_dir,
                             char **rootfs_out, drv_err *err)
{
  (void)s;
  _cleanup_free_ char *rootfs = drv_asprintf("%s/rootfs", container_dir);
  _cleanup_free_ char *upper = drv_asprintf("%s/upper", container_dir);
  _cleanup_free_ char *work = drv_asprintf("%s/work", container_dir);
  _cleanup_free_ char *empty = drv_asprintf("%s/empty", container_dir);
  for (size_t i = 0; i < img->n_layers; i++)
    if (!drv_path_exists(img->layer_dirs[i]))
      return drv_fail(err, ENOENT, "rootfs for `%s`: layer %s is not unpacked (pull the image again)",
                       img->ref, img->diff_ids[i]);
  if (mkdir(container_dir, 0711) < 0 && errno != EEXIST && drv_mkdir_p(container_dir, 0711, err) < 0)
    return drv_err_prefix(err, "rootfs");
  if (mkdir(rootfs, 0755) < 0 && errno != EEXIST) return drv_error(err, errno, "rootfs: mkdir `%s`", rootfs);
  const char *force_copy = getenv("DROVER_ROOTFS_COPY");
  if (!(force_copy && *force_copy == '1')) {
    drv_err merr;
    if ((mkdir(upper, 0755) == 0 || errno == EEXIST) && (mkdir(work, 0700) == 0 || errno == EEXIST) &&
        (img->n_layers || mkdir(empty, 0755) == 0 || errno == EEXIST)) {
      if (mount_overlay_fsconfig(img, empty, upper, work, rootfs, &merr) == 0 ||
          mount_overlay_legacy(img, empty, upper, work, rootfs, &merr) == 0) {
        *rootfs_out = drv_steal_ptr(rootfs);
        return 0;
      }
    }
    rmdir(work);
    rmdir(upper);
    rmdir(empty);
  }
  if (copy_layers(img, rootfs, err) < 0) {
    drv_rm_rf(rootfs, NULL);
    return drv_err_prefix(err, "rootfs for `%s` (copy)", img->ref);
  }
  *rootfs_out = drv_steal_ptr(rootfs);
  return 0;
}

int drv_image_rootfs_remove(const char *container_dir, drv_err *err)
{
  _cleanup_free_ char *rootfs = drv_asprintf("%s/rootfs", container_dir);
  if (umount2(rootfs, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
    return drv_error(err, errno, "unmount `%s`", rootfs);
  const char *parts[] = {"rootfs", "upper", "work", "empty"};
  for (size_t i = 0; i < DRV_ARRAY_LEN(parts); i++) {
    _cleanup_free_ char *p = drv_asprintf("%s/%s", container_dir, parts[i]);
    if (drv_rm_rf(p, err) < 0) return -1;
  }
  return 0;
}
