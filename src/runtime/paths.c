/* Resolving container paths inside the rootfs: every lookup goes through openat2 with
 * RESOLVE_IN_ROOT, so ".." and symlinks (absolute or relative) stay inside the root even
 * when the rootfs was crafted to escape (a mount destination pointing at /etc on the host). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/internal.h"

static int openat2_in_root(int rootfd, const char *path, int flags)
{
  struct open_how how = {.flags = (unsigned long long)(flags | O_CLOEXEC),
                         .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
  int fd;
  do
    fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
  while (fd < 0 && errno == EAGAIN);
  return fd;
}

static int create_in_root(int rootfd, const char *path, int create, int depth, drv_err *err)
{
  if (depth > 40) return drv_error(err, ELOOP, "resolve `%s` in the container root", path);
  int fd = openat2_in_root(rootfd, path, O_PATH);
  if (fd >= 0 || errno != ENOENT || create == DRV_RT_NOCREATE) {
    if (fd < 0) return drv_error(err, errno, "open `%s` in the container root", path);
    return fd;
  }
  /* Usually only the last component is missing (a mount point in a fresh tmpfs): make it in
   * its parent, resolved inside the root. Anything else (a missing parent, a dangling symlink
   * in the last place) takes the walk below. */
  {
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    if (*name && strcmp(name, ".") && strcmp(name, "..") && strlen(name) <= NAME_MAX) {
      _cleanup_free_ char *parent =
          slash && slash != path ? drv_strndup(path, (size_t)(slash - path)) : drv_strdup("/");
      _cleanup_close_ int pfd = openat2_in_root(rootfd, parent, O_PATH | O_DIRECTORY);
      int r = -1;
      if (pfd >= 0 && create == DRV_RT_CREATE_FILE) {
        r = openat(pfd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (r >= 0) close(r), r = 0;
      } else if (pfd >= 0) {
        r = mkdirat(pfd, name, 0755);
      }
      if (r == 0) {
        fd = openat2_in_root(rootfd, path, O_PATH);
        if (fd < 0) return drv_error(err, errno, "open `%s` in the container root", path);
        return fd;
      }
    }
  }
  /* Walk the components; each prefix is resolved from the root again, so a symlinked
   * component is followed inside the root. */
  size_t len = strlen(path);
  _cleanup_free_ char *buf = drv_strdup(path);
  size_t i = 0;
  while (i < len) {
    while (i < len && buf[i] == '/')
      i++;
    if (i >= len) break;
    size_t start = i;
    while (i < len && buf[i] != '/')
      i++;
    bool last = true;
    for (size_t k = i; k < len; k++)
      if (buf[k] != '/') last = false;
    char save = buf[i];
    buf[i] = '\0';
    int probe = openat2_in_root(rootfd, buf, O_PATH);
    if (probe >= 0) {
      close(probe);
      buf[i] = save;
      continue;
    }
    if (errno != ENOENT) return drv_error(err, errno, "open `%s` in the container root", buf);
    /* parent = buf[0..start) */
    char comp[NAME_MAX + 1];
    size_t clen = i - start;
    if (clen > NAME_MAX) return drv_error(err, ENAMETOOLONG, "path `%s`", path);
    memcpy(comp, buf + start, clen);
    comp[clen] = '\0';
    char psave = buf[start];
    buf[start] = '\0';
    int pfd = openat2_in_root(rootfd, start ? buf : "/", O_PATH | O_DIRECTORY);
    buf[start] = psave;
    if (pfd < 0)
      return drv_error(err, errno, "open the parent of `%s` in the container root", path);
    /* An O_PATH directory fd serves as dirfd of the *at calls as it is. */
    int r;
    if (last && create == DRV_RT_CREATE_FILE) {
      r = openat(pfd, comp, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (r >= 0) close(r), r = 0;
    } else {
      r = mkdirat(pfd, comp, 0755);
    }
    if (r < 0 && errno == EEXIST) {
      /* A dangling symlink: create its target inside the root, then continue. */
      char target[PATH_MAX];
      ssize_t n = readlinkat(pfd, comp, target, sizeof target - 1);
      close(pfd);
      if (n < 0) return drv_error(err, errno, "create `%s` in the container root", path);
      target[n] = '\0';
      _cleanup_free_ char *dest =
          target[0] == '/' ? drv_strdup(target) : drv_asprintf("%.*s/%s", (int)start, buf, target);
      int tfd = create_in_root(rootfd, dest, last ? create : DRV_RT_CREATE_DIR, depth + 1, err);
      if (tfd < 0) return -1;
      close(tfd);
    } else {
      close(pfd);
      if (r < 0) return drv_error(err, errno, "create `%s` in the container root", buf);
    }
    buf[i] = save;
  }
  fd = openat2_in_root(rootfd, path, O_PATH);
  if (fd < 0) return drv_error(err, errno, "open `%s` in the container root", path);
  return fd;
}

int drv_rt_open_in_root(int rootfd, const char *path, int create, drv_err *err)
{
  return create_in_root(rootfd, path, create, 0, err);
}
