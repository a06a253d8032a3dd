#include "common/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"

int drv_mkdir_p(const char *path, mode_t mode, drv_err *err)
{
  _cleanup_free_ char *p = drv_strdup(path);
  size_t n = strlen(p);
  while (n > 1 && p[n - 1] == '/') p[--n] = '\0';
  for (char *s = p + 1; *s; s++) {
    if (*s != '/') continue;
    *s = '\0';
    if (mkdir(p, mode) < 0 && errno != EEXIST) return drv_error(err, errno, "mkdir `%s`", p);
    *s = '/';
  }
  if (mkdir(p, mode) < 0 && errno != EEXIST) return drv_error(err, errno, "mkdir `%s`", p);
  return 0;
}

int drv_read_file(const char *path, size_t max, char **out, size_t *len, drv_err *err)
{
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return drv_error(err, errno, "open `%s`", path);
  size_t cap = 4096, n = 0;
  _cleanup_free_ char *buf = drv_malloc(cap);
  for (;;) {
    if (n + 1 >= cap) {
      cap *= 2;
      buf = drv_realloc(buf, cap);
    }
    ssize_t r = read(fd, buf + n, cap - n - 1);
    if (r < 0) {
      if (errno == EINTR) continue;
      return drv_error(err, errno, "read `%s`", path);
    }
    if (r == 0) break;
    n += (size_t)r;
    if (max && n > max) return drv_error(err, EFBIG, "read `%s`: larger than %zu bytes", path, max);
  }
  buf[n] = '\0';
  if (len) *len = n;
  *out = drv_steal_ptr(buf);
  return 0;
}

int drv_write_all(int fd, const void *buf, size_t len)
{
  const char *p = buf;
  while (len) {
    ssize_t w = write(fd, p, len);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

ssize_t drv_read_all(int fd, void *buf, size_t len)
{
  size_t n = 0;
  while (n < len) {
    ssize_t r = read(fd, (char *)buf + n, len - n);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == 0) break;
    n += (size_t)r;
  }
  return (ssize_t)n;
}

static int fsync_parent(const char *path)
{
  _cleanup_free_ char *dir = drv_strdup(path);
  char *slash = strrchr(dir, '/');
  if (slash == dir) slash[1] = '\0';
  else if (slash) *slash = '\0';
  else strcpy(dir, ".");
  _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -1;
  return fsync(fd);
}

int drv_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, drv_err *err)
{
  _cleanup_free_ char *tmp = drv_asprintf("%s.tmp.%d", path, (int)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return drv_error(err, errno, "create `%s`", tmp);
  if (drv_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
    int e = errno;
    close(fd);
    unlink(tmp);
    return drv_error(err, e, "write `%s`", tmp);
  }
  close(fd);
  if (rename(tmp, path) < 0) {
    int e = errno;
    unlink(tmp);
    return drv_error(err, e, "rename `%s` to `%s`", tmp, path);
  }
  if (fsync_parent(path) < 0) return drv_error(err, errno, "fsync directory of `%s`", path);
  return 0;
}

static int rm_rf_at(int at, const char *name, drv_err *err)
{
  if (unlinkat(at, name, 0) == 0 || errno == ENOENT) return 0;
  if (errno != EISDIR && errno != EPERM) return drv_error(err, errno, "remove `%s`", name);
  int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return drv_error(err, errno, "open `%s`", name);
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return drv_error(err, errno, "opendir `%s`", name);
  }
  struct dirent *de;
  int ret = 0;
  while ((de = readdir(d))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    if (rm_rf_at(dirfd(d), de->d_name, err) < 0) {
      ret = -1;
      break;
    }
  }
  closedir(d);
  if (ret == 0 && unlinkat(at, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return drv_error(err, errno, "rmdir `%s`", name);
  return ret;
}

int drv_rm_rf(const char *path, drv_err *err)
{
  return rm_rf_at(AT_FDCWD, path, err);
}

bool drv_path_exists(const char *path)
{
  struct stat st;
  return lstat(path, &st) == 0;
}
