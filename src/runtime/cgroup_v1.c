/* cgroup v1 backend: one directory per hierarchy, cpuset inheritance, the freezer. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/util.h"
#include "runtime/cgroup_internal.h"

#define FREEZE_DEADLINE_MS 5000

/* A new v1 cpuset group starts with empty cpus and mems, and no process can enter it until
 * they are set: copy them from the parent (what cgroup.clone_children would have done). */
static int cpuset_inherit(const char *dir, bool fresh, drv_err *err)
{
  static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
  for (size_t i = 0; i < DRV_ARRAY_LEN(files); i++) {
    _cleanup_free_ char *cur = NULL, *parent_val = NULL, *parent = drv_strdup(dir);
    /* A group this call just made starts empty (or, with cgroup.clone_children, with the
     * values written here anyway): no need to read it. */
    if (!fresh && drv_cg_read(dir, files[i], &cur, err) < 0) return -1;
    if (cur && *cur) continue;
    char *slash = strrchr(parent, '/');
    if (slash) *slash = '\0';
    if (drv_cg_read(parent, files[i], &parent_val, err) < 0) return -1;
    if (!*parent_val) continue; /* parent empty too: nothing better to give */
    if (drv_cg_write(dir, files[i], parent_val, err) < 0) return -1;
  }
  return 0;
}

int drv_cg_v1_prepare_dir(const drv_cgroup_system *sys, size_t hier, const char *path, bool excl,
                          char **dir_out, char **created, drv_err *err)
{
  const drv_cg_hier *h = &sys->v1[hier];
  bool cpuset = h->controllers & DRV_CG_CPUSET;
  _cleanup_free_ char *dir = drv_asprintf("%s%s", h->mount, path);
  size_t ml = strlen(h->mount);
  *created = NULL;
  int retries = 0;
  /* Without cpuset nothing is set up per level: the leaf first, the walk only when a parent
   * is missing (one mkdir instead of one per level, usually). */
  if (!cpuset) {
    if (mkdir(dir, 0755) == 0) {
      *created = drv_strdup(dir);
      *dir_out = drv_steal_ptr(dir);
      return 0;
    }
    if (errno == EEXIST) {
      if (excl) return drv_error(err, EEXIST, "create cgroup `%s`", dir);
      *dir_out = drv_steal_ptr(dir);
      return 0;
    }
    if (errno != ENOENT) return drv_error(err, errno, "create cgroup `%s`", dir);
  }
  /* Walk down from the mount point so that each level can be set up as it appears. */
  for (char *s = dir + ml + 1;; s++) {
    if (*s != '/' && *s != '\0') continue;
    char c = *s;
    *s = '\0';
    bool leaf = c == '\0';
    if (mkdir(dir, 0755) == 0) {
      if (!*created) *created = drv_strdup(dir);
      if (cpuset && cpuset_inherit(dir, true, err) < 0) goto fail;
    } else if (errno == EEXIST) {
      if (leaf && excl) {
        drv_error(err, EEXIST, "create cgroup `%s`", dir);
        goto fail;
      }
      /* Another create may have made this level an instant ago and not filled it yet. */
      if (cpuset && cpuset_inherit(dir, false, err) < 0) goto fail;
    } else if (errno == ENOENT && retries++ < 3) {
      /* A concurrent failed create removed a parent it had made: walk down again. */
      *s = c;
      s = dir + ml;
      continue;
    } else {
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
    /* Undo this hierarchy here; the caller undoes the others. */
    _cleanup_free_ char *full = drv_asprintf("%s%s", h->mount, path);
    drv_err e;
    size_t tl = strlen(*created);
    for (char *p = full; strlen(p) >= tl;) {
      drv_cg_rmdir_tree(p, 0, &e);
      char *slash = strrchr(p, '/');
      if (!slash) break;
      *slash = '\0';
    }
    free(*created);
    *created = NULL;
  }
  return -1;
}

struct freezer_arg {
  const char *dir;
  const char *want;
};

static bool freezer_reached(void *p)
{
  struct freezer_arg *a = p;
  _cleanup_free_ char *state = NULL;
  if (drv_cg_read(a->dir, "freezer.state", &state, NULL) < 0) return false;
  if (strcmp(state, a->want) == 0) return true;
  /* A group stuck in FREEZING (a task in uninterruptible sleep) gets the request again. */
  (void)drv_cg_write(a->dir, "freezer.state", a->want, NULL);
  return false;
}

int drv_cg_v1_freeze(const char *dir, bool frozen, drv_err *err)
{
  const char *want = frozen ? "FROZEN" : "THAWED";
  if (drv_cg_write(dir, "freezer.state", want, err) < 0) return -1;
  struct freezer_arg a = {dir, want};
  if (!drv_cg_wait(freezer_reached, &a, drv_now_ms() + FREEZE_DEADLINE_MS)) {
    if (frozen) (void)drv_cg_write(dir, "freezer.state", "THAWED", NULL);
    return drv_cg_fail(err, ETIMEDOUT, "`%s/freezer.state` did not reach %s within %d ms", dir,
                       want, FREEZE_DEADLINE_MS);
  }
  return 0;
}
