/* Image config → the container's process, with Kubernetes' override rules, and user names
 * resolved inside the container's root filesystem. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/util.h"
#include "image/fail.h"
#include "image/image.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static void strv_push(char ***v, size_t *n, const char *s)
{
  *v = drv_realloc(*v, (*n + 2) * sizeof(char *));
  (*v)[(*n)++] = drv_strdup(s);
  (*v)[*n] = NULL;
}

static void strv_extend(char ***v, size_t *n, char *const *src)
{
  for (; src && *src; src++) strv_push(v, n, *src);
}

void drv_image_process_free(drv_image_process *p)
{
  if (!p) return;
  drv_strv_free(p->args);
  drv_strv_free(p->env);
  free(p->cwd);
  free(p->user);
  free(p->stop_signal);
  memset(p, 0, sizeof *p);
}

static size_t env_name_len(const char *e)
{
  const char *eq = strchr(e, '=');
  return eq ? (size_t)(eq - e) : strlen(e);
}

int drv_image_process_from_config(const drv_image_config *cfg, const drv_image_overrides *ov,
                                  drv_image_process *out, drv_err *err)
{
  static const drv_image_overrides none = {0};
  if (!ov) ov = &none;
  memset(out, 0, sizeof *out);
  size_t na = 0, ne = 0;
  if (ov->command) {
    strv_extend(&out->args, &na, ov->command);
    strv_extend(&out->args, &na, ov->args);
  } else {
    strv_extend(&out->args, &na, cfg->entrypoint);
    strv_extend(&out->args, &na, ov->args ? ov->args : cfg->cmd);
  }
  if (na == 0) {
    drv_image_process_free(out);
    return drv_fail(err, EINVAL, "no command to run: the image has no Entrypoint or Cmd and none was given");
  }
  strv_extend(&out->env, &ne, cfg->env);
  for (char *const *e = ov->env; e && *e; e++) {
    size_t kl = env_name_len(*e);
    bool replaced = false;
    for (size_t i = 0; i < ne; i++)
      if (env_name_len(out->env[i]) == kl && !strncmp(out->env[i], *e, kl)) {
        free(out->env[i]);
        out->env[i] = drv_strdup(*e);
        replaced = true;
      }
    if (!replaced) strv_push(&out->env, &ne, *e);
  }
  bool has_path = false;
  for (size_t i = 0; i < ne; i++)
    if (!strncmp(out->env[i], "PATH=", 5)) has_path = true;
  if (!has_path) {
    /* PATH first, as Docker puts it. */
    char **nv = drv_calloc(ne + 2, sizeof *nv);
    nv[0] = drv_strdup(DEFAULT_PATH);
    if (ne) memcpy(nv + 1, out->env, ne * sizeof *nv);
    free(out->env);
    out->env = nv;
  }
  const char *cwd = ov->working_dir ? ov->working_dir : cfg->working_dir;
  out->cwd = drv_strdup(cwd && *cwd ? cwd : "/");
  const char *user = ov->user ? ov->user : cfg->user;
  out->user = user && *user ? drv_strdup(user) : NULL;
  out->stop_signal = cfg->stop_signal ? drv_strdup(cfg->stop_signal) : NULL;
  return 0;
}

/* Opens a file inside rootfs, resolving symlinks as if rootfs were "/" (a hostile image's
 * /etc/passwd → /host/path symlink stays inside). */
static FILE *open_in_root(const char *rootfs, const char *rel)
{
  _cleanup_close_ int rfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rfd < 0) return NULL;
  struct open_how how = {.flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
  int fd = (int)syscall(SYS_openat2, rfd, rel, &how, sizeof how);
  if (fd < 0) return NULL;
  FILE *f = fdopen(fd, "r");
  if (!f) close(fd);
  return f;
}

static bool parse_id(const char *s, uint32_t *out)
{
  if (!*s) return false;
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (*end || errno || v > 0xffffffffUL || *s == '-') return false;
  *out = (uint32_t)v;
  return true;
}

/* Finds a passwd/group line whose field 0 equals name (or field 2 equals id when name NULL);
 * returns fields 2 and 3. */
static bool find_entry(const char *rootfs, const char *file, const char *name, uint32_t id,
                       uint32_t *f2, uint32_t *f3)
{
  _cleanup_fclose_ FILE *f = open_in_root(rootfs, file);
  if (!f) return false;
  char line[4096];
  while (fgets(line, sizeof line, f)) {
    char *fields[4] = {0};
    char *p = line;
    for (int i = 0; i < 4 && p; i++) {
      fields[i] = p;
      p = strchr(p, ':');
      if (p) *p++ = '\0';
    }
    if (!fields[2]) continue;
    if (fields[3]) fields[3][strcspn(fields[3], ":\n")] = '\0';
    uint32_t v2 = 0, v3 = 0;
    if (!parse_id(fields[2], &v2)) continue;
    if (fields[3] && !parse_id(fields[3], &v3)) v3 = 0;
    if (name ? !strcmp(fields[0], name) : v2 == id) {
      *f2 = v2;
      if (f3) *f3 = v3;
      return true;
    }
  }
  return false;
}

int drv_image_resolve_user(const char *rootfs, const char *user, uint32_t *uid, uint32_t *gid,
                           drv_err *err)
{
  *uid = *gid = 0;
  if (!user || !*user) return 0;
  _cleanup_free_ char *u = drv_strdup(user);
  char *g = strchr(u, ':');
  if (g) *g++ = '\0';
  uint32_t pgid = 0, dummy;
  bool have_pgid = false;
  if (parse_id(u, uid)) {
    have_pgid = find_entry(rootfs, "etc/passwd", NULL, *uid, &dummy, &pgid);
  } else if (find_entry(rootfs, "etc/passwd", u, 0, uid, &pgid)) {
    have_pgid = true;
  } else {
    return drv_fail(err, ENOENT, "user `%s`: no such user in the image's /etc/passwd", u);
  }
  if (g && *g) {
    if (!parse_id(g, gid) && !find_entry(rootfs, "etc/group", g, 0, gid, NULL))
      return drv_fail(err, ENOENT, "user `%s`: no such group `%s` in the image's /etc/group", user, g);
  } else {
    *gid = have_pgid ? pgid : 0;
  }
  return 0;
}
