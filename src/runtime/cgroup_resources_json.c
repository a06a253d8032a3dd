/* OCI linux.resources JSON → drv_cgroup_resources; every error names the field. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "runtime/cgroup_internal.h"

#define P "linux.resources"

static int get_i64(const json_t *obj, const char *key, drv_opt_i64 *out, const char *where,
                   drv_err *err)
{
  json_t *v = json_object_get(obj, key);
  if (!v || json_is_null(v)) return 0;
  if (!json_is_integer(v))
    return drv_cg_fail(err, EINVAL, "%s.%s: expected an integer", where, key);
  out->set = true;
  out->v = json_integer_value(v);
  return 0;
}

static int get_u64(const json_t *obj, const char *key, drv_opt_u64 *out, const char *where,
                   drv_err *err)
{
  json_t *v = json_object_get(obj, key);
  if (!v || json_is_null(v)) return 0;
  if (!json_is_integer(v) || json_integer_value(v) < 0)
    return drv_cg_fail(err, EINVAL, "%s.%s: expected a non-negative integer", where, key);
  out->set = true;
  out->v = (uint64_t)json_integer_value(v);
  return 0;
}

static int get_bool(const json_t *obj, const char *key, drv_opt_bool *out, const char *where,
                    drv_err *err)
{
  json_t *v = json_object_get(obj, key);
  if (!v || json_is_null(v)) return 0;
  if (!json_is_boolean(v))
    return drv_cg_fail(err, EINVAL, "%s.%s: expected true or false", where, key);
  out->set = true;
  out->v = json_is_true(v);
  return 0;
}

static int get_str(const json_t *obj, const char *key, char **out, const char *where, drv_err *err)
{
  json_t *v = json_object_get(obj, key);
  if (!v || json_is_null(v)) return 0;
  if (!json_is_string(v)) return drv_cg_fail(err, EINVAL, "%s.%s: expected a string", where, key);
  free(*out);
  *out = drv_strdup(json_string_value(v));
  return 0;
}

static int want_object(const json_t *v, const char *where, drv_err *err)
{
  if (!json_is_object(v)) return drv_cg_fail(err, EINVAL, "%s: expected an object", where);
  return 0;
}

static int want_array(const json_t *v, const char *where, drv_err *err)
{
  if (!json_is_array(v)) return drv_cg_fail(err, EINVAL, "%s: expected an array", where);
  return 0;
}

/* major/minor: a number, or absent/null/-1 for "any". */
static int get_devnum(const json_t *obj, const char *key, int64_t *out, bool required,
                      const char *where, drv_err *err)
{
  json_t *v = json_object_get(obj, key);
  *out = -1;
  if (!v || json_is_null(v)) {
    if (required) return drv_cg_fail(err, EINVAL, "%s.%s: required", where, key);
    return 0;
  }
  if (!json_is_integer(v) || json_integer_value(v) < -1 || json_integer_value(v) > 0xffffffffLL)
    return drv_cg_fail(err, EINVAL, "%s.%s: expected a device number", where, key);
  *out = json_integer_value(v);
  return 0;
}

static int parse_devices(const json_t *arr, drv_cgroup_resources *res, drv_err *err)
{
  if (want_array(arr, P ".devices", err) < 0) return -1;
  size_t i;
  json_t *d;
  json_array_foreach(arr, i, d)
  {
    char where[64];
    snprintf(where, sizeof where, P ".devices[%zu]", i);
    if (want_object(d, where, err) < 0) return -1;
    drv_cgroup_device_rule r = {.type = 'a', .major = -1, .minor = -1};
    json_t *allow = json_object_get(d, "allow");
    if (!json_is_boolean(allow))
      return drv_cg_fail(err, EINVAL, "%s.allow: expected true or false", where);
    r.allow = json_is_true(allow);
    json_t *type = json_object_get(d, "type");
    if (type && !json_is_null(type)) {
      const char *t = json_string_value(type);
      if (!t || strlen(t) != 1 || !strchr("abc", t[0]))
        return drv_cg_fail(err, EINVAL, "%s.type: `%s` is not a, b or c", where, t ? t : "?");
      r.type = t[0];
    }
    if (get_devnum(d, "major", &r.major, false, where, err) < 0) return -1;
    if (get_devnum(d, "minor", &r.minor, false, where, err) < 0) return -1;
    json_t *acc = json_object_get(d, "access");
    if (acc && !json_is_null(acc)) {
      const char *a = json_string_value(acc);
      if (!a) return drv_cg_fail(err, EINVAL, "%s.access: expected a string", where);
      if (strlen(a) > 3 || strspn(a, "rwm") != strlen(a))
        return drv_cg_fail(err, EINVAL, "%s.access: `%s` is not a combination of r, w and m", where,
                           a);
      snprintf(r.access, sizeof r.access, "%s", *a ? a : "rwm");
    } else {
      strcpy(r.access, "rwm");
    }
    drv_cgroup_resources_add_device(res, &r);
  }
  return 0;
}

static int parse_throttle(const json_t *bio, const char *key, drv_cgroup_throttle_device **out,
                          size_t *n, drv_err *err)
{
  json_t *arr = json_object_get(bio, key);
  if (!arr || json_is_null(arr)) return 0;
  char where[96];
  snprintf(where, sizeof where, P ".blockIO.%s", key);
  if (want_array(arr, where, err) < 0) return -1;
  *out = drv_calloc(json_array_size(arr) + 1, sizeof **out);
  size_t i;
  json_t *d;
  json_array_foreach(arr, i, d)
  {
    snprintf(where, sizeof where, P ".blockIO.%s[%zu]", key, i);
    if (want_object(d, where, err) < 0) return -1;
    drv_cgroup_throttle_device *t = &(*out)[*n];
    if (get_devnum(d, "major", &t->major, true, where, err) < 0) return -1;
    if (get_devnum(d, "minor", &t->minor, true, where, err) < 0) return -1;
    drv_opt_u64 rate = {0};
    if (get_u64(d, "rate", &rate, where, err) < 0) return -1;
    if (!rate.set) return drv_cg_fail(err, EINVAL, "%s.rate: required", where);
    t->rate = rate.v;
    (*n)++;
  }
  return 0;
}

static int parse_blkio(const json_t *bio, drv_cgroup_resources *res, drv_err *err)
{
  const char *w = P ".blockIO";
  if (want_object(bio, w, err) < 0) return -1;
  if (get_u64(bio, "weight", &res->blkio.weight, w, err) < 0) return -1;
  if (get_u64(bio, "leafWeight", &res->blkio.leaf_weight, w, err) < 0) return -1;
  json_t *arr = json_object_get(bio, "weightDevice");
  if (arr && !json_is_null(arr)) {
    if (want_array(arr, P ".blockIO.weightDevice", err) < 0) return -1;
    res->blkio.weight_device =
        drv_calloc(json_array_size(arr) + 1, sizeof *res->blkio.weight_device);
    size_t i;
    json_t *d;
    json_array_foreach(arr, i, d)
    {
      char where[96];
      snprintf(where, sizeof where, P ".blockIO.weightDevice[%zu]", i);
      if (want_object(d, where, err) < 0) return -1;
      drv_cgroup_weight_device *wd = &res->blkio.weight_device[res->blkio.n_weight_device];
      if (get_devnum(d, "major", &wd->major, true, where, err) < 0) return -1;
      if (get_devnum(d, "minor", &wd->minor, true, where, err) < 0) return -1;
      if (get_u64(d, "weight", &wd->weight, where, err) < 0) return -1;
      if (get_u64(d, "leafWeight", &wd->leaf_weight, where, err) < 0) return -1;
      res->blkio.n_weight_device++;
    }
  }
  if (parse_throttle(bio, "throttleReadBpsDevice", &res->blkio.read_bps, &res->blkio.n_read_bps,
                     err) < 0 ||
      parse_throttle(bio, "throttleWriteBpsDevice", &res->blkio.write_bps, &res->blkio.n_write_bps,
                     err) < 0 ||
      parse_throttle(bio, "throttleReadIOPSDevice", &res->blkio.read_iops, &res->blkio.n_read_iops,
                     err) < 0 ||
      parse_throttle(bio, "throttleWriteIOPSDevice", &res->blkio.write_iops,
                     &res->blkio.n_write_iops, err) < 0)
    return -1;
  return 0;
}

static int parse_all(const json_t *r, drv_cgroup_resources *res, drv_err *err)
{
  if (want_object(r, P, err) < 0) return -1;
  json_t *v;
  if ((v = json_object_get(r, "devices")) && !json_is_null(v) && parse_devices(v, res, err) < 0)
    return -1;

  if ((v = json_object_get(r, "memory")) && !json_is_null(v)) {
    const char *w = P ".memory";
    if (want_object(v, w, err) < 0) return -1;
    if (get_i64(v, "limit", &res->memory.limit, w, err) < 0 ||
        get_i64(v, "reservation", &res->memory.reservation, w, err) < 0 ||
        get_i64(v, "swap", &res->memory.swap, w, err) < 0 ||
        get_i64(v, "kernel", &res->memory.kernel, w, err) < 0 ||
        get_i64(v, "kernelTCP", &res->memory.kernel_tcp, w, err) < 0 ||
        get_u64(v, "swappiness", &res->memory.swappiness, w, err) < 0 ||
        get_bool(v, "disableOOMKiller", &res->memory.disable_oom_killer, w, err) < 0 ||
        get_bool(v, "useHierarchy", &res->memory.use_hierarchy, w, err) < 0 ||
        get_bool(v, "checkBeforeUpdate", &res->memory.check_before_update, w, err) < 0)
      return -1;
  }

  if ((v = json_object_get(r, "cpu")) && !json_is_null(v)) {
    const char *w = P ".cpu";
    if (want_object(v, w, err) < 0) return -1;
    if (get_u64(v, "shares", &res->cpu.shares, w, err) < 0 ||
        get_i64(v, "quota", &res->cpu.quota, w, err) < 0 ||
        get_u64(v, "period", &res->cpu.period, w, err) < 0 ||
        get_u64(v, "burst", &res->cpu.burst, w, err) < 0 ||
        get_i64(v, "realtimeRuntime", &res->cpu.realtime_runtime, w, err) < 0 ||
        get_u64(v, "realtimePeriod", &res->cpu.realtime_period, w, err) < 0 ||
        get_i64(v, "idle", &res->cpu.idle, w, err) < 0 ||
        get_str(v, "cpus", &res->cpu.cpus, w, err) < 0 ||
        get_str(v, "mems", &res->cpu.mems, w, err) < 0)
      return -1;
  }

  if ((v = json_object_get(r, "pids")) && !json_is_null(v)) {
    if (want_object(v, P ".pids", err) < 0) return -1;
    if (get_i64(v, "limit", &res->pids.limit, P ".pids", err) < 0) return -1;
  }

  if ((v = json_object_get(r, "blockIO")) && !json_is_null(v) && parse_blkio(v, res, err) < 0)
    return -1;

  if ((v = json_object_get(r, "hugepageLimits")) && !json_is_null(v)) {
    if (want_array(v, P ".hugepageLimits", err) < 0) return -1;
    res->hugetlb = drv_calloc(json_array_size(v) + 1, sizeof *res->hugetlb);
    size_t i;
    json_t *h;
    json_array_foreach(v, i, h)
    {
      char where[64];
      snprintf(where, sizeof where, P ".hugepageLimits[%zu]", i);
      if (want_object(h, where, err) < 0) return -1;
      drv_cgroup_hugetlb *e = &res->hugetlb[res->n_hugetlb++];
      if (get_str(h, "pageSize", &e->page_size, where, err) < 0) return -1;
      if (!e->page_size) return drv_cg_fail(err, EINVAL, "%s.pageSize: required", where);
      drv_opt_u64 lim = {0};
      if (get_u64(h, "limit", &lim, where, err) < 0) return -1;
      if (!lim.set) return drv_cg_fail(err, EINVAL, "%s.limit: required", where);
      e->limit = lim.v;
    }
  }

  if ((v = json_object_get(r, "network")) && !json_is_null(v)) {
    if (want_object(v, P ".network", err) < 0) return -1;
    if (get_u64(v, "classID", &res->network.class_id, P ".network", err) < 0) return -1;
    json_t *pr = json_object_get(v, "priorities");
    if (pr && !json_is_null(pr)) {
      if (want_array(pr, P ".network.priorities", err) < 0) return -1;
      res->network.priorities =
          drv_calloc(json_array_size(pr) + 1, sizeof *res->network.priorities);
      size_t i;
      json_t *e;
      json_array_foreach(pr, i, e)
      {
        char where[64];
        snprintf(where, sizeof where, P ".network.priorities[%zu]", i);
        if (want_object(e, where, err) < 0) return -1;
        json_t *name = json_object_get(e, "name"), *prio = json_object_get(e, "priority");
        if (!json_is_string(name))
          return drv_cg_fail(err, EINVAL, "%s.name: expected a string", where);
        if (!json_is_integer(prio) || json_integer_value(prio) < 0)
          return drv_cg_fail(err, EINVAL, "%s.priority: expected a non-negative integer", where);
        drv_cgroup_kv *kv = &res->network.priorities[res->network.n_priorities++];
        kv->key = drv_strdup(json_string_value(name));
        kv->value = drv_asprintf("%lld", (long long)json_integer_value(prio));
      }
    }
  }

  if ((v = json_object_get(r, "rdma")) && !json_is_null(v)) {
    if (want_object(v, P ".rdma", err) < 0) return -1;
    res->rdma = drv_calloc(json_object_size(v) + 1, sizeof *res->rdma);
    const char *dev;
    json_t *e;
    json_object_foreach(v, dev, e)
    {
      char where[128];
      snprintf(where, sizeof where, P ".rdma.%s", dev);
      if (want_object(e, where, err) < 0) return -1;
      drv_cgroup_rdma *rd = &res->rdma[res->n_rdma++];
      rd->device = drv_strdup(dev);
      if (get_u64(e, "hcaHandles", &rd->hca_handles, where, err) < 0 ||
          get_u64(e, "hcaObjects", &rd->hca_objects, where, err) < 0)
        return -1;
    }
  }

  if ((v = json_object_get(r, "unified")) && !json_is_null(v)) {
    if (want_object(v, P ".unified", err) < 0) return -1;
    res->unified = drv_calloc(json_object_size(v) + 1, sizeof *res->unified);
    const char *key;
    json_t *e;
    json_object_foreach(v, key, e)
    {
      if (!json_is_string(e))
        return drv_cg_fail(err, EINVAL, P ".unified.%s: expected a string", key);
      drv_cgroup_kv *kv = &res->unified[res->n_unified++];
      kv->key = drv_strdup(key);
      kv->value = drv_strdup(json_string_value(e));
    }
  }
  return 0;
}

int drv_cgroup_resources_from_json(const json_t *resources, drv_cgroup_resources *out, drv_err *err)
{
  drv_cgroup_resources_init(out);
  if (!resources || json_is_null(resources)) return 0;
  if (parse_all(resources, out, err) < 0) {
    drv_cgroup_resources_free(out);
    return -1;
  }
  return 0;
}
