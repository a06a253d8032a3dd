/* The cgroup front: path resolution, create/open/enter/freeze/kill/destroy over the v1 and v2
 * backends, and the small file helpers they share. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/util.h"
#include "runtime/cgroup_internal.h"

#define DEFAULT_PARENT "/drover"
#define DESTROY_DEADLINE_MS 2000

/* ---- file helpers ---------------------------------------------------------------------------- */

static int join(char *buf, const char *dir, const char *file)
{
  int n = snprintf(buf, PATH_MAX, "%s/%s", dir, file);
  if (n < 0 || n >= PATH_MAX) {
    errno = ENAMETOOLONG;
    return -1;
  }
  return 0;
}

int drv_cg_write(const char *dir, const char *file, const char *value, drv_err *err)
{
  char path[PATH_MAX];
  if (join(path, dir, file) < 0)
    return drv_error(err, errno, "write `%s` to `%s/%s`", value, dir, file);
  int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) return drv_error(err, errno, "write `%s` to `%s`", value, path);
  int r = drv_write_all(fd, value, strlen(value));
  int e = errno;
  close(fd);
  if (r < 0) return drv_error(err, e, "write `%s` to `%s`", value, path);
  return 0;
}

int drv_cg_write_lines(const char *dir, const char *file, char *const *lines, size_t n,
                       drv_err *err)
{
  char path[PATH_MAX];
  if (join(path, dir, file) < 0) return drv_error(err, errno, "write `%s/%s`", dir, file);
  _cleanup_close_ int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) return drv_error(err, errno, "write `%s` to `%s`", n ? lines[0] : "", path);
  for (size_t i = 0; i < n; i++) {
    /* The kernel takes one rule per write(2); the newline keeps fixture files readable. */
    _cleanup_free_ char *l = drv_asprintf("%s\n", lines[i]);
    if (drv_write_all(fd, l, strlen(l)) < 0)
      return drv_error(err, errno, "write `%s` to `%s`", lines[i], path);
  }
  return 0;
}

int drv_cg_read(const char *dir, const char *file, char **out, drv_err *err)
{
  char path[PATH_MAX];
  if (join(path, dir, file) < 0) return drv_error(err, errno, "read `%s/%s`", dir, file);
  char *text;
  size_t len;
  if (drv_read_file(path, 16u << 20, &text, &len, err) < 0) return -1;
  while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
    text[--len] = '\0';
  *out = text;
  return 0;
}

bool drv_cg_has(const char *dir, const char *file)
{
  char path[PATH_MAX];
  if (!dir || join(path, dir, file) < 0) return false;
  return access(path, F_OK) == 0;
}

int drv_cg_parse_u64(const char *s, uint64_t *out)
{
  while (*s == ' ' || *s == '\t')
    s++;
  if (strncmp(s, "max", 3) == 0) {
    *out = DRV_CGROUP_UNLIMITED;
    return 0;
  }
  if (*s < '0' || *s > '9') return -1;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno) return -1;
  while (*end == ' ' || *end == '\n')
    end++;
  if (*end) return -1;
  *out = v;
  return 0;
}

int drv_cg_read_u64(const char *dir, const char *file, uint64_t *out, drv_err *err)
{
  _cleanup_free_ char *text = NULL;
  if (drv_cg_read(dir, file, &text, err) < 0) return -1;
  if (drv_cg_parse_u64(text, out) < 0)
    return drv_cg_fail(err, EINVAL, "read `%s/%s`: `%s` is not a number", dir, file, text);
  return 0;
}

bool drv_cg_kv_get(const char *text, const char *key, uint64_t *out)
{
  size_t kl = strlen(key);
  for (const char *p = text; p && *p;) {
    if (strncmp(p, key, kl) == 0 && (p[kl] == ' ' || p[kl] == '\t')) {
      char *end;
      unsigned long long v = strtoull(p + kl + 1, &end, 10);
      if (end == p + kl + 1) return false;
      *out = v;
      return true;
    }
    p = strchr(p, '\n');
    if (p) p++;
  }
  return false;
}

bool drv_cg_wait(bool (*done)(void *), void *arg, long long deadline_ms)
{
  long long sleep_us = 1000;
  for (;;) {
    if (done(arg)) return true;
    if (drv_now_ms() >= deadline_ms) return done(arg);
    struct timespec ts = {0, sleep_us * 1000};
    nanosleep(&ts, NULL);
    if (sleep_us < 20000) sleep_us *= 2;
  }
}

struct rmdir_arg {
  const char *dir;
  int err;
};

static bool try_rmdir(void *p)
{
  struct rmdir_arg *a = p;
  if (rmdir(a->dir) == 0 || errno == ENOENT) {
    a->err = 0;
    return true;
  }
  a->err = errno;
  return a->err != EBUSY; /* only a busy group is worth waiting for */
}

int drv_cg_rmdir_tree(const char *dir, long long deadline_ms, drv_err *err)
{
  {
    _cleanup_dir_ DIR *d = opendir(dir);
    if (!d) {
      if (errno == ENOENT) return 0;
      if (errno != ENOTDIR) return drv_error(err, errno, "remove cgroup `%s`", dir);
    } else {
      struct dirent *de;
      while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || de->d_type != DT_DIR) continue;
        _cleanup_free_ char *sub = drv_asprintf("%s/%s", dir, de->d_name);
        if (drv_cg_rmdir_tree(sub, deadline_ms, err) < 0) return -1;
      }
    }
  }
  struct rmdir_arg a = {dir, 0};
  drv_cg_wait(try_rmdir, &a, deadline_ms);
  if (a.err == ENOTEMPTY) {
    /* A fixture tree (plain directory with files) rather than cgroupfs. */
    if (drv_rm_rf(dir, err) < 0) return -1;
    return 0;
  }
  if (a.err)
    return drv_error(err, a.err, "remove cgroup `%s`%s", dir,
                     a.err == EBUSY ? " (processes are still in it)" : "");
  return 0;
}

/* ---- paths ----------------------------------------------------------------------------------- */

/* "a-b-c.slice" → "/a.slice/a-b.slice/a-b-c.slice"; "-.slice" → "". */
static int expand_slice(const char *slice, drv_buf *out, drv_err *err)
{
  size_t n = strlen(slice);
  if (n < 6 || strcmp(slice + n - 6, ".slice") != 0 || strchr(slice, '/'))
    return drv_cg_fail(err, EINVAL, "slice `%s`: not a systemd slice name (NAME.slice)", slice);
  if (strcmp(slice, "-.slice") == 0) return 0;
  const char *stem_end = slice + n - 6;
  if (slice[0] == '-' || stem_end[-1] == '-' || strstr(slice, "--"))
    return drv_cg_fail(err, EINVAL,
                       "slice `%s`: dashes separate parent slices and may not lead, "
                       "trail or repeat",
                       slice);
  for (const char *p = slice; p <= stem_end; p++) {
    if (p == stem_end || *p == '-') drv_buf_printf(out, "/%.*s.slice", (int)(p - slice), slice);
  }
  return 0;
}

static int resolve_systemd(const char *spec, drv_buf *out, drv_err *err)
{
  const char *c1 = strchr(spec, ':');
  const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
  if (!c1 || !c2 || strchr(c2 + 1, ':'))
    return drv_cg_fail(err, EINVAL, "linux.cgroupsPath `%s`: expected slice:prefix:name", spec);
  _cleanup_free_ char *slice = drv_strndup(spec, (size_t)(c1 - spec));
  _cleanup_free_ char *prefix = drv_strndup(c1 + 1, (size_t)(c2 - c1 - 1));
  const char *name = c2 + 1;
  if (!*name) return drv_cg_fail(err, EINVAL, "linux.cgroupsPath `%s`: the name is empty", spec);
  if (strchr(name, '/') || strchr(prefix, '/'))
    return drv_cg_fail(err, EINVAL, "linux.cgroupsPath `%s`: prefix and name may not contain `/`",
                       spec);
  if (expand_slice(*slice ? slice : "system.slice", out, err) < 0)
    return drv_err_prefix(err, "linux.cgroupsPath `%s`", spec);
  size_t nl = strlen(name);
  if (nl > 6 && strcmp(name + nl - 6, ".slice") == 0) {
    /* The unit is a slice itself: its name already says where it sits. */
    drv_buf_reset(out);
    if (expand_slice(name, out, err) < 0)
      return drv_err_prefix(err, "linux.cgroupsPath `%s`", spec);
  } else if (*prefix) {
    drv_buf_printf(out, "/%s-%s.scope", prefix, name);
  } else {
    drv_buf_printf(out, "/%s.scope", name);
  }
  return 0;
}

/* Joins components, dropping empty and "." ones; refuses "..". */
static int normalize(const char *in, drv_buf *out, const char *what, drv_err *err)
{
  _cleanup_free_ char *copy = drv_strdup(in);
  char *save = NULL;
  for (char *t = strtok_r(copy, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
    if (strcmp(t, ".") == 0) continue;
    if (strcmp(t, "..") == 0)
      return drv_cg_fail(err, EINVAL, "linux.cgroupsPath `%s`: `..` is not allowed", what);
    drv_buf_printf(out, "/%s", t);
  }
  return 0;
}

int drv_cgroup_resolve_path(const char *cgroups_path, const char *id, bool systemd, char **out,
                            drv_err *err)
{
  _cleanup_buf_ drv_buf raw = DRV_BUF_INIT;
  _cleanup_buf_ drv_buf norm = DRV_BUF_INIT;
  const char *p = cgroups_path ? cgroups_path : "";
  bool sd_form = *p && *p != '/' && strchr(p, ':');
  if (systemd && *p && !sd_form)
    return drv_cg_fail(err, EINVAL,
                       "linux.cgroupsPath `%s`: with systemd cgroups it must be "
                       "slice:prefix:name",
                       p);
  if (sd_form) {
    if (resolve_systemd(p, &raw, err) < 0) return -1;
  } else if (*p == '/') {
    drv_buf_puts(&raw, p);
  } else if (*p) {
    drv_buf_printf(&raw, "%s/%s", DEFAULT_PARENT, p);
  } else {
    if (!id || !*id || strchr(id, '/') || strcmp(id, "..") == 0 || strcmp(id, ".") == 0)
      return drv_cg_fail(err, EINVAL, "cgroup path: container id `%s` cannot name a cgroup",
                         id ? id : "");
    if (systemd)
      drv_buf_printf(&raw, "/system.slice/drover-%s.scope", id);
    else
      drv_buf_printf(&raw, "%s/%s", DEFAULT_PARENT, id);
  }
  if (normalize(raw.data, &norm, p, err) < 0) return -1;
  if (norm.len == 0)
    return drv_cg_fail(err, EINVAL,
                       "linux.cgroupsPath `%s`: the root cgroup cannot be a "
                       "container's cgroup",
                       p);
  *out = drv_buf_steal(&norm);
  return 0;
}

/* ---- the group ------------------------------------------------------------------------------- */

const char *drv_cg_dir(const drv_cgroup *cg, unsigned controller)
{
  if (controller == 0) return cg->unified_dir;
  for (size_t i = 0; i < cg->sys->n_v1; i++)
    if (cg->sys->v1[i].controllers & controller) return cg->v1_dirs[i];
  return NULL;
}

const char *drv_cgroup_dir(const drv_cgroup *cg, unsigned controller)
{
  if (controller && cg->sys->mode == DRV_CGROUP_MODE_V2)
    return (cg->sys->v2_controllers & controller) ? cg->unified_dir : NULL;
  return drv_cg_dir(cg, controller);
}

const char *drv_cgroup_path(const drv_cgroup *cg)
{
  return cg->path;
}

void drv_cgroup_free(drv_cgroup *cg)
{
  if (!cg) return;
  for (size_t i = 0; i < DRV_CG_MAX_HIER; i++) {
    free(cg->v1_dirs[i]);
    free(cg->v1_created[i]);
  }
  free(cg->unified_dir);
  free(cg->unified_created);
  free(cg->path);
  free(cg);
}

/* Removes leaf and its parents up to and including top (what one create made). */
static void undo_created(const char *leaf, const char *top)
{
  if (!leaf || !top) return;
  drv_err e;
  if (drv_cg_rmdir_tree(leaf, drv_now_ms() + DESTROY_DEADLINE_MS, &e) < 0) {
    drv_log_warn("undo cgroup: %s", e.msg);
    return;
  }
  _cleanup_free_ char *p = drv_strdup(leaf);
  size_t tl = strlen(top);
  for (;;) {
    char *slash = strrchr(p, '/');
    if (!slash || (size_t)(slash - p) < tl) break;
    *slash = '\0';
    if (rmdir(p) < 0 && errno != ENOENT) break;
  }
}

int drv_cgroup_create(drv_cgroup_system *sys, const char *cgroups_path, const char *id,
                      const drv_cgroup_resources *res, unsigned flags, drv_cgroup **out,
                      drv_err *err)
{
  _cleanup_free_ char *path = NULL;
  if (drv_cgroup_resolve_path(cgroups_path, id, flags & DRV_CGROUP_CREATE_SYSTEMD, &path, err) < 0)
    return -1;
  if (res && drv_cgroup_resources_validate(res, err) < 0) return -1;
  bool excl = flags & DRV_CGROUP_CREATE_EXCL;
  drv_cgroup *cg = drv_calloc(1, sizeof *cg);
  cg->sys = sys;
  cg->path = drv_steal_ptr(path);
  int r = 0;
  if (sys->mode != DRV_CGROUP_MODE_V2) {
    for (size_t i = 0; i < sys->n_v1 && r == 0; i++)
      r = drv_cg_v1_prepare_dir(sys, i, cg->path, excl, &cg->v1_dirs[i], &cg->v1_created[i], err);
  }
  if (r == 0 && sys->unified) {
    drv_err e2;
    r = drv_cg_v2_prepare_dir(sys, cg->path, excl, &cg->unified_dir, &cg->unified_created,
                              sys->mode == DRV_CGROUP_MODE_V2 ? err : &e2);
    if (r < 0 && sys->mode == DRV_CGROUP_MODE_HYBRID) {
      /* The v2 side of hybrid only adds cgroup.kill and the unified map: go on without it. */
      drv_log_debug("cgroup %s: no unified group: %s", cg->path, e2.msg);
      r = 0;
    }
  }
  if (r == 0 && res) {
    r = sys->mode == DRV_CGROUP_MODE_V2 ? drv_cg_apply_v2(cg, res, false, err)
                                        : drv_cg_apply_v1(cg, res, false, err);
  }
  if (r < 0) {
    for (size_t i = 0; i < sys->n_v1; i++)
      undo_created(cg->v1_dirs[i], cg->v1_created[i]);
    undo_created(cg->unified_dir, cg->unified_created);
    drv_cgroup_free(cg);
    return -1;
  }
  *out = cg;
  return 0;
}

int drv_cgroup_open(drv_cgroup_system *sys, const char *path, drv_cgroup **out, drv_err *err)
{
  _cleanup_buf_ drv_buf norm = DRV_BUF_INIT;
  if (normalize(path, &norm, path, err) < 0) return -1;
  if (norm.len == 0)
    return drv_cg_fail(err, EINVAL, "open cgroup `%s`: not a container's cgroup", path);
  drv_cgroup *cg = drv_calloc(1, sizeof *cg);
  cg->sys = sys;
  cg->path = drv_buf_steal(&norm);
  bool any = false;
  struct stat st;
  if (sys->mode != DRV_CGROUP_MODE_V2) {
    for (size_t i = 0; i < sys->n_v1; i++) {
      char *d = drv_asprintf("%s%s", sys->v1[i].mount, cg->path);
      if (stat(d, &st) == 0) {
        cg->v1_dirs[i] = d;
        any = true;
      } else {
        free(d);
      }
    }
  }
  if (sys->unified) {
    char *d = drv_asprintf("%s%s", sys->unified, cg->path);
    if (stat(d, &st) == 0) {
      cg->unified_dir = d;
      any = any || sys->mode == DRV_CGROUP_MODE_V2;
    } else {
      free(d);
    }
  }
  if (!any) {
    drv_cgroup_free(cg);
    return drv_error(err, ENOENT, "open cgroup `%s`", path);
  }
  *out = cg;
  return 0;
}

int drv_cgroup_apply(drv_cgroup *cg, const drv_cgroup_resources *res, drv_err *err)
{
  if (drv_cgroup_resources_validate(res, err) < 0) return -1;
  int r = cg->sys->mode == DRV_CGROUP_MODE_V2 ? drv_cg_apply_v2(cg, res, false, err)
                                              : drv_cg_apply_v1(cg, res, false, err);
  if (r < 0) {
    for (size_t i = 0; i < cg->sys->n_v1; i++)
      undo_created(cg->v1_dirs[i], cg->v1_created[i]);
    undo_created(cg->unified_dir, cg->unified_created);
    return -1;
  }
  return 0;
}

int drv_cgroup_update(drv_cgroup *cg, const drv_cgroup_resources *res, drv_err *err)
{
  if (drv_cgroup_resources_validate(res, err) < 0) return -1;
  int r = cg->sys->mode == DRV_CGROUP_MODE_V2 ? drv_cg_apply_v2(cg, res, true, err)
                                              : drv_cg_apply_v1(cg, res, true, err);
  if (r < 0) return drv_err_prefix(err, "update cgroup `%s`", cg->path);
  return 0;
}

int drv_cgroup_enter(drv_cgroup *cg, pid_t pid, unsigned flags, drv_err *err)
{
  char val[32];
  snprintf(val, sizeof val, "%d", (int)pid);
  for (size_t i = 0; i < cg->sys->n_v1; i++) {
    if (!cg->v1_dirs[i]) continue;
    if (drv_cg_write(cg->v1_dirs[i], "cgroup.procs", val, err) < 0)
      return drv_err_prefix(err, "enter cgroup `%s`", cg->path);
  }
  if (cg->unified_dir && !(flags & DRV_CGROUP_ENTER_SKIP_UNIFIED)) {
    if (drv_cg_write(cg->unified_dir, "cgroup.procs", val, err) < 0)
      return drv_err_prefix(err, "enter cgroup `%s`", cg->path);
  }
  return 0;
}

int drv_cgroup_unified_fd(const drv_cgroup *cg, drv_err *err)
{
  if (!cg->unified_dir)
    return drv_cg_fail(err, ENOTSUP, "cgroup `%s`: no cgroup v2 group to clone into", cg->path);
  int fd = open(cg->unified_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return drv_error(err, errno, "open cgroup `%s`", cg->unified_dir);
  return fd;
}

/* The directory whose cgroup.procs lists every process of the group. */
static const char *procs_dir(const drv_cgroup *cg)
{
  if (cg->sys->mode == DRV_CGROUP_MODE_V2) return cg->unified_dir;
  static const unsigned pref[] = {DRV_CG_FREEZER, DRV_CG_PIDS, DRV_CG_MEMORY, DRV_CG_CPU};
  for (size_t i = 0; i < DRV_ARRAY_LEN(pref); i++) {
    const char *d = drv_cg_dir(cg, pref[i]);
    if (d) return d;
  }
  for (size_t i = 0; i < cg->sys->n_v1; i++)
    if (cg->v1_dirs[i]) return cg->v1_dirs[i];
  return cg->unified_dir;
}

static int collect_pids(const char *dir, bool recursive, pid_t **pids, size_t *n, size_t *cap,
                        drv_err *err)
{
  _cleanup_free_ char *text = NULL;
  if (drv_cg_read(dir, "cgroup.procs", &text, err) < 0) {
    if (err && err->errnum == ENOENT) return 0; /* removed meanwhile */
    return -1;
  }
  for (char *p = text; *p;) {
    char *end;
    long v = strtol(p, &end, 10);
    if (end == p) break;
    if (*n == *cap) {
      *cap = *cap ? *cap * 2 : 16;
      *pids = drv_realloc(*pids, *cap * sizeof **pids);
    }
    (*pids)[(*n)++] = (pid_t)v;
    p = end;
    while (*p == '\n')
      p++;
  }
  if (!recursive) return 0;
  _cleanup_dir_ DIR *d = opendir(dir);
  if (!d) return 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.' || de->d_type != DT_DIR) continue;
    _cleanup_free_ char *sub = drv_asprintf("%s/%s", dir, de->d_name);
    if (collect_pids(sub, true, pids, n, cap, err) < 0) return -1;
  }
  return 0;
}

int drv_cgroup_pids(const drv_cgroup *cg, bool recursive, pid_t **pids, size_t *n, drv_err *err)
{
  *pids = NULL;
  *n = 0;
  const char *dir = procs_dir(cg);
  if (!dir) return drv_error(err, ENOENT, "list processes of cgroup `%s`: no group", cg->path);
  size_t cap = 0;
  if (collect_pids(dir, recursive, pids, n, &cap, err) < 0) {
    free(*pids);
    *pids = NULL;
    *n = 0;
    return drv_err_prefix(err, "list processes of cgroup `%s`", cg->path);
  }
  return 0;
}

int drv_cgroup_freeze(drv_cgroup *cg, bool frozen, drv_err *err)
{
  const char *v1 = cg->sys->mode == DRV_CGROUP_MODE_V2 ? NULL : drv_cg_dir(cg, DRV_CG_FREEZER);
  int r;
  if (v1)
    r = drv_cg_v1_freeze(v1, frozen, err);
  else if (cg->unified_dir)
    r = drv_cg_v2_freeze(cg->unified_dir, frozen, err);
  else
    r = drv_cg_fail(err, ENOTSUP, "no freezer controller is mounted");
  if (r < 0) return drv_err_prefix(err, "%s cgroup `%s`", frozen ? "freeze" : "thaw", cg->path);
  return 0;
}

int drv_cgroup_is_frozen(const drv_cgroup *cg, bool *frozen, drv_err *err)
{
  const char *v1 = cg->sys->mode == DRV_CGROUP_MODE_V2 ? NULL : drv_cg_dir(cg, DRV_CG_FREEZER);
  _cleanup_free_ char *text = NULL;
  *frozen = false;
  if (v1) {
    if (drv_cg_read(v1, "freezer.state", &text, err) < 0) return -1;
    *frozen = strcmp(text, "THAWED") != 0;
    return 0;
  }
  if (cg->unified_dir && drv_cg_has(cg->unified_dir, "cgroup.freeze")) {
    if (drv_cg_read(cg->unified_dir, "cgroup.freeze", &text, err) < 0) return -1;
    *frozen = strcmp(text, "1") == 0;
  }
  return 0;
}

static void kill_listed(const drv_cgroup *cg, int sig)
{
  _cleanup_free_ pid_t *pids = NULL;
  size_t n = 0;
  if (drv_cgroup_pids(cg, true, &pids, &n, NULL) < 0) return;
  for (size_t i = 0; i < n; i++)
    kill(pids[i], sig);
}

int drv_cgroup_killall(drv_cgroup *cg, int sig, drv_err *err)
{
  if (sig == SIGKILL && cg->unified_dir) {
    drv_err e;
    if (drv_cg_v2_kill(cg->unified_dir, &e) == 0) {
      /* In hybrid a process may sit only in the v1 groups (entered by another tool). */
      if (cg->sys->mode != DRV_CGROUP_MODE_V2) kill_listed(cg, SIGKILL);
      return 0;
    }
  }
  /* Freeze first so that no process forks a child we would miss. */
  bool was_frozen = false, froze = false;
  (void)drv_cgroup_is_frozen(cg, &was_frozen, NULL);
  drv_err fe;
  if (!was_frozen && drv_cgroup_freeze(cg, true, &fe) == 0) froze = true;
  _cleanup_free_ pid_t *pids = NULL;
  size_t n = 0;
  int r = drv_cgroup_pids(cg, true, &pids, &n, err);
  for (size_t i = 0; r == 0 && i < n; i++) {
    if (kill(pids[i], sig) < 0 && errno != ESRCH) {
      r = drv_error(err, errno, "signal %d to pid %d of cgroup `%s`", sig, (int)pids[i], cg->path);
    }
  }
  if (froze || (was_frozen && sig == SIGKILL)) {
    drv_err te;
    if (drv_cgroup_freeze(cg, false, &te) < 0 && r == 0) {
      if (err) *err = te;
      r = -1;
    }
  }
  return r;
}

static bool rmdir_once(char **dir)
{
  if (!*dir) return true;
  if (rmdir(*dir) < 0 && errno != ENOENT) return false;
  free(*dir);
  *dir = NULL;
  return true;
}

bool drv_cgroup_remove_empty(drv_cgroup *cg)
{
  bool all = true;
  for (size_t i = 0; i < cg->sys->n_v1; i++)
    all &= rmdir_once(&cg->v1_dirs[i]);
  all &= rmdir_once(&cg->unified_dir);
  return all;
}

int drv_cgroup_destroy(drv_cgroup *cg, drv_err *err)
{
  long long deadline = drv_now_ms() + DESTROY_DEADLINE_MS;
  int r = 0;
  drv_err e;
  for (size_t i = 0; i < cg->sys->n_v1; i++) {
    if (!cg->v1_dirs[i]) continue;
    if (drv_cg_rmdir_tree(cg->v1_dirs[i], deadline, &e) < 0 && r == 0) {
      if (err) *err = e;
      r = -1;
    }
  }
  if (cg->unified_dir && drv_cg_rmdir_tree(cg->unified_dir, deadline, &e) < 0 && r == 0) {
    if (err) *err = e;
    r = -1;
  }
  if (r < 0) return drv_err_prefix(err, "destroy cgroup `%s`", cg->path);
  return 0;
}

int drv_cgroup_stats_read(const drv_cgroup *cg, drv_cgroup_stats *st, drv_err *err)
{
  memset(st, 0, sizeof *st);
  int r = cg->sys->mode == DRV_CGROUP_MODE_V2 ? drv_cg_stats_v2(cg->unified_dir, st, err)
                                              : drv_cg_stats_v1(cg, st, err);
  if (r < 0) return drv_err_prefix(err, "read stats of cgroup `%s`", cg->path);
  return 0;
}
