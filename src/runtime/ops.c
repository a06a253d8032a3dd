/* Operations on an existing container: kill, delete, list, ps, pause/resume, update. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/log.h"
#include "common/util.h"
#include "runtime/cgroup.h"
#include "runtime/internal.h"

int drv_rt_kill(const char *root, const char *id, int sig, bool all, drv_err *err)
{
  if (!root) root = DRV_RT_DEFAULT_ROOT;
  drv_rt_saved s;
  if (drv_rt_saved_read(root, id, &s, err) < 0) return -1;
  int r = -1;
  bool alive = drv_rt_saved_alive(&s);
  if (all) {
    drv_cgroup *cg = NULL;
    if (drv_rt_open_cgroup(&s, &cg, err) == 0) {
      r = drv_cgroup_killall(cg, sig, err);
      drv_cgroup_free(cg);
      if (r == 0 && alive) kill(s.pid, sig);
    } else if (alive) {
      r = kill(s.pid, sig) < 0 ? drv_error(err, errno, "kill pid %d", s.pid) : 0;
    } else {
      r = 0;
    }
  } else if (!alive) {
    drv_error(err, ESRCH, "container `%s` is not running", id);
  } else if (kill(s.pid, sig) < 0) {
    drv_error(err, errno, "kill container `%s` (pid %d) with signal %d", id, s.pid, sig);
  } else {
    r = 0;
  }
  drv_rt_saved_clear(&s);
  return r;
}

static void wait_gone(const drv_rt_saved *s, int ms)
{
  long long end = drv_now_ms() + ms;
  while (drv_rt_saved_alive(s) && drv_now_ms() < end)
    usleep(1000);
}

int drv_rt_delete(const char *root, const char *id, bool force, drv_err *err)
{
  if (!root) root = DRV_RT_DEFAULT_ROOT;
  _cleanup_free_ char *dir = drv_rt_state_dir(root, id);
  drv_rt_saved s;
  if (drv_rt_saved_read(root, id, &s, err) < 0) {
    struct stat st;
    /* A state dir without state.json: a create that died half-way. */
    if (drv_rt_check_id(id, err) == 0 && stat(dir, &st) == 0 && force) return drv_rm_rf(dir, err);
    return -1;
  }
  int r = -1;
  drv_rt_status st;
  drv_rt_saved_status(root, &s, &st);
  /* A "created" container is killed and removed without --force, as runc does: containerd
   * deletes a task whose start failed that way (no kill before), and a refusal would leave its
   * init blocked forever. The runtime spec asks for an error here; runtime-tools counts it. */
  if (st != DRV_RT_STOPPED && st != DRV_RT_CREATED && !force) {
    drv_error(err, 0, "delete container `%s`: it is %s (stop it first or use --force)", id,
              drv_rt_status_name(st));
    goto out;
  }
  drv_cgroup *cg = NULL;
  drv_err e;
  if (drv_rt_open_cgroup(&s, &cg, &e) < 0) cg = NULL;
  if (st != DRV_RT_STOPPED) {
    if (cg) {
      if (st == DRV_RT_PAUSED) drv_cgroup_freeze(cg, false, &e);
      drv_cgroup_killall(cg, SIGKILL, &e);
    }
    if (drv_rt_saved_alive(&s)) kill(s.pid, SIGKILL);
    wait_gone(&s, 5000);
  } else if (cg) {
    /* Processes left behind by an init that died without a pid namespace. */
    pid_t *pids = NULL;
    size_t n = 0;
    if (drv_cgroup_pids(cg, true, &pids, &n, &e) == 0 && n) drv_cgroup_killall(cg, SIGKILL, &e);
    free(pids);
  }
  drv_rt_wait_exit_file(root, id, s.monitor, 200);
  if (cg) {
    if (drv_cgroup_destroy(cg, &e) < 0) drv_log_warn("delete container `%s`: %s", id, e.msg);
    drv_cgroup_free(cg);
  }
  json_t *hooks = json_object_get(json_object_get(s.config, "hooks"), "poststop");
  if (json_array_size(hooks)) {
    drv_rt_spec *spec;
    if (drv_rt_spec_parse(s.config, &spec, &e) == 0) {
      _cleanup_free_ char *stt = drv_rt_state_text(id, 0, "stopped", s.bundle, s.annotations);
      if (drv_rt_hooks_run(spec->hooks[DRV_HOOK_POSTSTOP], spec->nhooks[DRV_HOOK_POSTSTOP],
                           "poststop", stt, &e) < 0)
        drv_log_warn("container `%s`: %s", id, e.msg);
      drv_rt_spec_free(spec);
    }
  }
  r = drv_rm_rf(dir, err);
out:
  drv_rt_saved_clear(&s);
  return r;
}

static int cmp_state(const void *a, const void *b)
{
  return strcmp(((const drv_rt_state *)a)->id, ((const drv_rt_state *)b)->id);
}

int drv_rt_list(const char *root, drv_rt_state **out, size_t *n, drv_err *err)
{
  if (!root) root = DRV_RT_DEFAULT_ROOT;
  *out = NULL;
  *n = 0;
  _cleanup_dir_ DIR *d = opendir(root);
  if (!d) {
    if (errno == ENOENT) return 0;
    return drv_error(err, errno, "list `%s`", root);
  }
  size_t cap = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.') continue;
    drv_rt_state st;
    drv_err e;
    if (drv_rt_state_get(root, de->d_name, &st, &e) < 0) continue;
    if (*n == cap) {
      cap = cap ? cap * 2 : 16;
      *out = drv_realloc(*out, cap * sizeof **out);
    }
    (*out)[(*n)++] = st;
  }
  if (*n) qsort(*out, *n, sizeof **out, cmp_state);
  return 0;
}

void drv_rt_list_free(drv_rt_state *list, size_t n)
{
  for (size_t i = 0; i < n; i++)
    drv_rt_state_clear(&list[i]);
  free(list);
}

static int cmp_pid(const void *a, const void *b)
{
  pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
  return (x > y) - (x < y);
}

int drv_rt_ps(const char *root, const char *id, pid_t **pids, size_t *n, drv_err *err)
{
  if (!root) root = DRV_RT_DEFAULT_ROOT;
  *pids = NULL;
  *n = 0;
  drv_rt_saved s;
  if (drv_rt_saved_read(root, id, &s, err) < 0) return -1;
  drv_cgroup *cg = NULL;
  int r = drv_rt_open_cgroup(&s, &cg, err);
  if (r == 0) r = drv_cgroup_pids(cg, true, pids, n, err);
  if (r == 0 && *n) qsort(*pids, *n, sizeof **pids, cmp_pid);
  drv_cgroup_free(cg);
  drv_rt_saved_clear(&s);
  return r;
}

static int freeze(const char *root, const char *id, bool frozen, drv_err *err)
{
  if (!root) root = DRV_RT_DEFAULT_ROOT;
  drv_rt_saved s;
  if (drv_rt_saved_read(root, id, &s, err) < 0) return -1;
  int r = -1;
  drv_rt_status st;
  drv_rt_saved_status(root, &s, &st);
  if (frozen && st != DRV_RT_RUNNING) {
    drv_error(err, 0, "pause container `%s`: it is %s, not running", id, drv_rt_status_name(st));
  } else if (!frozen && st != DRV_RT_PAUSED) {
    drv_error(err, 0, "resume container `%s`: it is %s, not paused", id, drv_rt_status_name(st));
  } else {
    drv_cgroup *cg = NULL;
    r = drv_rt_open_cgroup(&s, &cg, err);
    if (r == 0) r = drv_cgroup_freeze(cg, frozen, err);
    drv_cgroup_free(cg);
  }
  drv_rt_saved_clear(&s);
  return r;
}

int drv_rt_pause(const char *root, const char *id, drv_err *err)
{
  return freeze(root, id, true, err);
}

int drv_rt_resume(const char *root, const char *id, drv_err *err)
{
  return freeze(root, id, false, err);
}

int drv_rt_update(const char *root, const char *id, json_t *resources, drv_err *err)
{
  if (!root) root = DRV_RT_DEFAULT_ROOT;
  drv_rt_saved s;
  if (drv_rt_saved_read(root, id, &s, err) < 0) return -1;
  int r = -1;
  drv_cgroup_resources res;
  drv_cgroup_resources_init(&res);
  drv_cgroup *cg = NULL;
  _cleanup_free_ char *dir = drv_rt_state_dir(root, id);
  drv_rt_status st;
  drv_rt_saved_status(root, &s, &st);
  if (st == DRV_RT_STOPPED) {
    drv_error(err, 0, "update container `%s`: it is stopped", id);
    goto out;
  }
  if (drv_cgroup_resources_from_json(resources, &res, err) < 0) goto out;
  if (drv_rt_open_cgroup(&s, &cg, err) < 0) goto out;
  if (drv_cgroup_update(cg, &res, err) < 0) goto out;
  /* Keep the recorded spec in step, so `state`/later updates see the new limits. */
  json_t *lx = json_object_get(s.config, "linux");
  if (!json_is_object(lx)) {
    lx = json_object();
    json_object_set_new(s.config, "linux", lx);
  }
  json_t *old = json_object_get(lx, "resources");
  if (json_is_object(old))
    json_object_update_recursive(old, resources);
  else
    json_object_set(lx, "resources", resources);
  r = drv_rt_saved_write(dir, &s, err);
out:
  drv_cgroup_free(cg);
  drv_cgroup_resources_free(&res);
  drv_rt_saved_clear(&s);
  if (r < 0) drv_err_prefix(err, "update container `%s`", id);
  return r;
}
