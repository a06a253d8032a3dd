/* cgroup v2 backend: one tree; controllers must be enabled in each parent's
 * cgroup.subtree_control before a child can use them; cgroup.freeze and cgroup.kill. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "common/util.h"
#include "runtime/cgroup_internal.h"

#define FREEZE_DEADLINE_MS 5000

/* Enables in dir's subtree_control every controller of `want` that dir has and has not
 * enabled yet. */
static int enable_controllers(const char *dir, unsigned want, drv_err *err)
{
  if (!want) return 0;
  _cleanup_free_ char *avail = NULL, *enabled = NULL;
  if (drv_cg_read(dir, "cgroup.controllers", &avail, err) < 0) return -1;
  if (drv_cg_read(dir, "cgroup.subtree_control", &enabled, err) < 0) return -1;
  unsigned missing =
      want & drv_cg_controller_bits(avail, true) & ~drv_cg_controller_bits(enabled, true);
  if (!missing) return 0;
  _cleanup_buf_ drv_buf b = DRV_BUF_INIT;
  for (unsigned bit = 1; bit && bit <= missing; bit <<= 1) {
    const char *name = (missing & bit) ? drv_cg_controller_name(bit, true) : NULL;
    if (name) drv_buf_printf(&b, "%s+%s", b.len ? " " : "", name);
  }
  if (b.len && drv_cg_write(dir, "cgroup.subtree_control", b.data, err) < 0) {
    if (err && err->errnum == EBUSY)
      drv_err_prefix(err, "enable controllers (the group holds processes, and v2 allows "
                          "processes only in leaves)");
    return -1;
  }
  return 0;
}

int drv_cg_v2_prepare_dir(const drv_cgroup_system *sys, const char *path, bool excl, char **dir_out,
                          char **created, drv_err *err)
{
  _cleanup_free_ char *dir = drv_asprintf("%s%s", sys->unified, path);
  size_t ml = strlen(sys->unified);
  unsigned want = sys->v2_controllers;
  int retries = 0;
  *created = NULL;
  for (char *s = dir + ml + 1;; s++) {
    if (*s != '/' && *s != '\0') continue;
    char c = *s;
    bool leaf = c == '\0';
    /* The parent of this level must hand the controllers down. */
    char *slash = s;
    do
      slash--;
    while (*slash != '/');
    *slash = '\0';
    int r = enable_controllers(*dir ? dir : "/", want, err);
    *slash = '/';
    if (r < 0 && err && err->errnum == ENOENT && retries++ < 3) {
      s = dir + ml; /* the parent vanished under a concurrent undo: walk down again */
      continue;
    }
    if (r < 0) goto fail;
    *s = '\0';
    if (mkdir(dir, 0755) == 0) {
      if (!*created) *created = drv_strdup(dir);
    } else if (errno == ENOENT && retries++ < 3) {
      /* A concurrent failed create removed a parent it had made: walk down again. */
      *s = c;
      s = dir + ml;
      continue;
    } else if (errno != EEXIST || (leaf && excl)) {
      drv_error(err, errno, "create cgroup `%s`", dir);
      goto fail;
    }
    if (leaf) break;
    *s = c;
  }
  *dir_out = drv_steal_ptr(dir);
  return 0;
fail:
  if (*created) {
    _cleanup_free_ char *full = drv_asprintf("%s%s", sys->unified, path);
    drv_err e;
    size_t tl = strlen(*created);
    for (char *p = full; strlen(p) >= tl;) {
      drv_cg_rmdir_tree(p, 0, &e);
      char *sl = strrchr(p, '/');
      if (!sl) break;
      *sl = '\0';
    }
    free(*created);
    *created = NULL;
  }
  return -1;
}

struct events_arg {
  const char *dir;
  uint64_t want;
};

static bool frozen_reached(void *p)
{
  struct events_arg *a = p;
  _cleanup_free_ char *ev = NULL;
  uint64_t v;
  if (drv_cg_read(a->dir, "cgroup.events", &ev, NULL) < 0) return false;
  return drv_cg_kv_get(ev, "frozen", &v) && v == a->want;
}

int drv_cg_v2_freeze(const char *dir, bool frozen, drv_err *err)
{
  if (!drv_cg_has(dir, "cgroup.freeze"))
    return drv_cg_fail(err, ENOTSUP, "`%s/cgroup.freeze` is missing (kernel older than 5.2)", dir);
  if (drv_cg_write(dir, "cgroup.freeze", frozen ? "1" : "0", err) < 0) return -1;
  struct events_arg a = {dir, frozen ? 1 : 0};
  if (!drv_cg_wait(frozen_reached, &a, drv_now_ms() + FREEZE_DEADLINE_MS)) {
    if (frozen) (void)drv_cg_write(dir, "cgroup.freeze", "0", NULL);
    return drv_cg_fail(err, ETIMEDOUT, "`%s/cgroup.events` did not say frozen %d within %d ms", dir,
                       frozen ? 1 : 0, FREEZE_DEADLINE_MS);
  }
  return 0;
}

int drv_cg_v2_kill(const char *dir, drv_err *err)
{
  if (!drv_cg_has(dir, "cgroup.kill"))
    return drv_cg_fail(err, ENOTSUP, "`%s/cgroup.kill` is missing (kernel older than 5.14)", dir);
  return drv_cg_write(dir, "cgroup.kill", "1", err);
}
