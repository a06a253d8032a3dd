/* OCI linux.resources → cgroup files, for v1 and for v2: validation, the conversions runc and
 * crun agree on (cpu shares → weight, blkio weight → io weight, memory+swap → swap), and the
 * writes, each error naming the OCI field. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/util.h"
#include "runtime/cgroup_internal.h"

#define P "linux.resources"
#define MEMORY_MIN (1LL << 20)

/* ---- the struct ------------------------------------------------------------------------------ */

void drv_cgroup_resources_init(drv_cgroup_resources *res)
{
  memset(res, 0, sizeof *res);
}

static void free_kv(drv_cgroup_kv *kv, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    free(kv[i].key);
    free(kv[i].value);
  }
  free(kv);
}

void drv_cgroup_resources_free(drv_cgroup_resources *res)
{
  if (!res) return;
  free(res->cpu.cpus);
  free(res->cpu.mems);
  free(res->blkio.weight_device);
  free(res->blkio.read_bps);
  free(res->blkio.write_bps);
  free(res->blkio.read_iops);
  free(res->blkio.write_iops);
  for (size_t i = 0; i < res->n_hugetlb; i++)
    free(res->hugetlb[i].page_size);
  free(res->hugetlb);
  free_kv(res->network.priorities, res->network.n_priorities);
  for (size_t i = 0; i < res->n_rdma; i++)
    free(res->rdma[i].device);
  free(res->rdma);
  free_kv(res->unified, res->n_unified);
  free(res->devices);
  memset(res, 0, sizeof *res);
}

void drv_cgroup_resources_add_device(drv_cgroup_resources *res, const drv_cgroup_device_rule *rule)
{
  res->devices = drv_realloc(res->devices, (res->n_devices + 1) * sizeof *res->devices);
  res->devices[res->n_devices++] = *rule;
}

void drv_cgroup_resources_add_default_devices(drv_cgroup_resources *res)
{
  static const drv_cgroup_device_rule defaults[] = {
      {true, 'c', -1, -1, "m"},    {true, 'b', -1, -1, "m"}, {true, 'c', 1, 3, "rwm"}, /* null */
      {true, 'c', 1, 5, "rwm"},                                                        /* zero */
      {true, 'c', 1, 7, "rwm"},                                                        /* full */
      {true, 'c', 1, 8, "rwm"},                                                        /* random */
      {true, 'c', 1, 9, "rwm"},                                                        /* urandom */
      {true, 'c', 5, 0, "rwm"},                                                        /* tty */
      {true, 'c', 5, 1, "rwm"},                                                        /* console */
      {true, 'c', 5, 2, "rwm"},                                                        /* ptmx */
      {true, 'c', 136, -1, "rwm"},                                                     /* pts/N */
      {true, 'c', 10, 200, "rwm"},                                                     /* net/tun */
  };
  for (size_t i = 0; i < DRV_ARRAY_LEN(defaults); i++)
    drv_cgroup_resources_add_device(res, &defaults[i]);
}

/* ---- conversions ----------------------------------------------------------------------------- */

uint64_t drv_cg_shares_to_weight(uint64_t shares)
{
  if (shares < 2) shares = 2;
  if (shares > 262144) shares = 262144;
  return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t drv_cg_blkio_to_io_weight(uint64_t weight)
{
  if (weight < 10) weight = 10;
  if (weight > 1000) weight = 1000;
  return 1 + ((weight - 10) * 9999) / 990;
}

int drv_cg_swap_to_v2(const drv_cgroup_resources *res, int64_t *out, bool *unset, drv_err *err)
{
  int64_t swap = res->memory.swap.set ? res->memory.swap.v : 0;
  int64_t limit = res->memory.limit.set ? res->memory.limit.v : 0;
  *unset = false;
  /* v1 habit: an unlimited memory with no swap said means both unlimited. */
  if (limit == -1 && swap == 0) {
    *out = -1;
    return 0;
  }
  if (swap == 0) {
    *unset = true;
    return 0;
  }
  if (swap == -1) {
    *out = -1;
    return 0;
  }
  if (limit <= 0)
    return drv_cg_fail(err, EINVAL,
                       P ".memory.swap: %lld needs a memory.limit too (swap is "
                         "memory plus swap)",
                       (long long)swap);
  if (swap < limit)
    return drv_cg_fail(err, EINVAL,
                       P ".memory.swap: %lld is below memory.limit %lld (swap is "
                         "memory plus swap)",
                       (long long)swap, (long long)limit);
  *out = swap - limit;
  return 0;
}

int drv_cg_parse_cpu_list(const char *list, uint64_t bits[16])
{
  memset(bits, 0, 16 * sizeof bits[0]);
  const char *p = list;
  while (*p == ' ' || *p == '\n')
    p++;
  if (!*p) return 0;
  for (;;) {
    char *end;
    if (*p < '0' || *p > '9') return -1;
    unsigned long a = strtoul(p, &end, 10), b = a;
    p = end;
    if (*p == '-') {
      p++;
      if (*p < '0' || *p > '9') return -1;
      b = strtoul(p, &end, 10);
      p = end;
    }
    if (a > b || b >= 1024) return -1;
    for (unsigned long i = a; i <= b; i++)
      bits[i / 64] |= 1ull << (i % 64);
    while (*p == ' ' || *p == '\n')
      p++;
    if (!*p) return 0;
    if (*p != ',') return -1;
    p++;
  }
}

/* ---- validation ------------------------------------------------------------------------------ */

static bool page_size_ok(const char *s)
{
  size_t n = strspn(s, "0123456789");
  return n > 0 &&
         (strcmp(s + n, "KB") == 0 || strcmp(s + n, "MB") == 0 || strcmp(s + n, "GB") == 0);
}

static bool is_word(const char *s)
{
  return *s && !strpbrk(s, " \t\n/");
}

int drv_cgroup_resources_validate(const drv_cgroup_resources *res, drv_err *err)
{
  for (size_t i = 0; i < res->n_devices; i++) {
    const drv_cgroup_device_rule *d = &res->devices[i];
    if (!strchr("abc", d->type) || !d->type)
      return drv_cg_fail(err, EINVAL, P ".devices[%zu].type: `%c` is not a, b or c", i, d->type);
    if (!d->access[0] || strspn(d->access, "rwm") != strlen(d->access))
      return drv_cg_fail(err, EINVAL,
                         P ".devices[%zu].access: `%s` is not a combination of r, w "
                           "and m",
                         i, d->access);
  }
  const typeof(res->cpu) *c = &res->cpu;
  if (c->shares.set && c->shares.v && (c->shares.v < 2 || c->shares.v > 262144))
    return drv_cg_fail(err, EINVAL, P ".cpu.shares: %llu is outside 2..262144",
                       (unsigned long long)c->shares.v);
  if (c->quota.set && c->quota.v != 0 && c->quota.v != -1 && c->quota.v < 1000)
    return drv_cg_fail(err, EINVAL,
                       P ".cpu.quota: %lld is below the minimum of 1000 µs (or -1 "
                         "for no limit)",
                       (long long)c->quota.v);
  if (c->period.set && c->period.v && (c->period.v < 1000 || c->period.v > 1000000))
    return drv_cg_fail(err, EINVAL, P ".cpu.period: %llu is outside 1000..1000000 µs",
                       (unsigned long long)c->period.v);
  if (c->idle.set && c->idle.v != 0 && c->idle.v != 1)
    return drv_cg_fail(err, EINVAL, P ".cpu.idle: %lld is not 0 or 1", (long long)c->idle.v);
  uint64_t bits[16];
  if (c->cpus && *c->cpus && drv_cg_parse_cpu_list(c->cpus, bits) < 0)
    return drv_cg_fail(err, EINVAL, P ".cpu.cpus `%s`: not a cpu list like 0-3,5", c->cpus);
  if (c->mems && *c->mems && drv_cg_parse_cpu_list(c->mems, bits) < 0)
    return drv_cg_fail(err, EINVAL, P ".cpu.mems `%s`: not a node list like 0-1", c->mems);

  const typeof(res->memory) *m = &res->memory;
  if (m->limit.set && m->limit.v != 0 && m->limit.v != -1) {
    if (m->limit.v < 0)
      return drv_cg_fail(err, EINVAL, P ".memory.limit: %lld is negative (-1 means no limit)",
                         (long long)m->limit.v);
    if (m->limit.v < MEMORY_MIN)
      return drv_cg_fail(err, EINVAL,
                         P ".memory.limit: %lld is below the minimum of %lld bytes "
                           "(1 MiB)",
                         (long long)m->limit.v, MEMORY_MIN);
  }
  if (m->reservation.set && m->reservation.v < -1)
    return drv_cg_fail(err, EINVAL, P ".memory.reservation: %lld is negative (-1 means no limit)",
                       (long long)m->reservation.v);
  if (m->swap.set && m->swap.v < -1)
    return drv_cg_fail(err, EINVAL, P ".memory.swap: %lld is negative (-1 means no limit)",
                       (long long)m->swap.v);
  if (m->swap.set && m->swap.v > 0 && m->limit.set && m->limit.v > 0 && m->swap.v < m->limit.v)
    return drv_cg_fail(err, EINVAL,
                       P ".memory.swap: %lld is below memory.limit %lld (swap is "
                         "memory plus swap)",
                       (long long)m->swap.v, (long long)m->limit.v);
  if (m->swappiness.set && m->swappiness.v > 100)
    return drv_cg_fail(err, EINVAL, P ".memory.swappiness: %llu is above 100",
                       (unsigned long long)m->swappiness.v);

  const typeof(res->blkio) *b = &res->blkio;
  if (b->weight.set && b->weight.v && (b->weight.v < 10 || b->weight.v > 1000))
    return drv_cg_fail(err, EINVAL, P ".blockIO.weight: %llu is outside 10..1000",
                       (unsigned long long)b->weight.v);
  if (b->leaf_weight.set && b->leaf_weight.v && (b->leaf_weight.v < 10 || b->leaf_weight.v > 1000))
    return drv_cg_fail(err, EINVAL, P ".blockIO.leafWeight: %llu is outside 10..1000",
                       (unsigned long long)b->leaf_weight.v);
  for (size_t i = 0; i < b->n_weight_device; i++) {
    const drv_cgroup_weight_device *w = &b->weight_device[i];
    if (w->major < 0 || w->minor < 0)
      return drv_cg_fail(err, EINVAL, P ".blockIO.weightDevice[%zu]: major and minor are required",
                         i);
    if (w->weight.set && (w->weight.v < 10 || w->weight.v > 1000))
      return drv_cg_fail(err, EINVAL,
                         P ".blockIO.weightDevice[%zu].weight: %llu is outside "
                           "10..1000",
                         i, (unsigned long long)w->weight.v);
    if (w->leaf_weight.set && (w->leaf_weight.v < 10 || w->leaf_weight.v > 1000))
      return drv_cg_fail(err, EINVAL,
                         P ".blockIO.weightDevice[%zu].leafWeight: %llu is outside "
                           "10..1000",
                         i, (unsigned long long)w->leaf_weight.v);
  }
  for (size_t i = 0; i < res->n_hugetlb; i++)
    if (!page_size_ok(res->hugetlb[i].page_size))
      return drv_cg_fail(err, EINVAL,
                         P ".hugepageLimits[%zu].pageSize: `%s` is not a size like "
                           "2MB or 1GB",
                         i, res->hugetlb[i].page_size);
  for (size_t i = 0; i < res->network.n_priorities; i++)
    if (!is_word(res->network.priorities[i].key))
      return drv_cg_fail(err, EINVAL,
                         P ".network.priorities[%zu].name: `%s` is not an interface "
                           "name",
                         i, res->network.priorities[i].key);
  for (size_t i = 0; i < res->n_rdma; i++)
    if (!is_word(res->rdma[i].device))
      return drv_cg_fail(err, EINVAL, P ".rdma: `%s` is not a device name", res->rdma[i].device);
  for (size_t i = 0; i < res->n_unified; i++) {
    const char *k = res->unified[i].key;
    const char *dot = strchr(k, '.');
    if (!is_word(k) || k[0] == '.' || !dot || !dot[1])
      return drv_cg_fail(err, EINVAL,
                         P ".unified: `%s` is not a cgroup file name like "
                           "memory.high",
                         k);
    if (strcmp(k, "cgroup.procs") == 0 || strcmp(k, "cgroup.threads") == 0 ||
        strcmp(k, "cgroup.kill") == 0 || strcmp(k, "cgroup.subtree_control") == 0)
      return drv_cg_fail(err, EINVAL, P ".unified.%s: managed by the runtime, not settable", k);
  }
  return 0;
}

/* ---- write helpers --------------------------------------------------------------------------- */

/* Writes a formatted value; on failure the message starts with the OCI field. */
static int __attribute__((format(printf, 5, 6)))
wr(const char *dir, const char *file, const char *field, drv_err *err, const char *fmt, ...)
{
  char val[128];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(val, sizeof val, fmt, ap);
  va_end(ap);
  if (drv_cg_write(dir, file, val, err) < 0) return drv_err_prefix(err, "%s", field);
  return 0;
}

static int no_controller(const char *field, const char *controller, drv_err *err)
{
  return drv_cg_fail(err, ENOTSUP, "%s: the %s controller is not available on this machine", field,
                     controller);
}

static const char *parent_of(const char *dir, char *buf, size_t n)
{
  snprintf(buf, n, "%s", dir);
  char *slash = strrchr(buf, '/');
  if (slash && slash != buf) *slash = '\0';
  return buf;
}

/* cpus/mems must be within what the parent group may use. */
static int check_cpuset(const char *dir, const char *parent_file, const char *value,
                        const char *field, const char *what, drv_err *err)
{
  char pbuf[4096];
  _cleanup_free_ char *avail = NULL;
  if (drv_cg_read(parent_of(dir, pbuf, sizeof pbuf), parent_file, &avail, NULL) < 0 || !*avail)
    return 0;
  uint64_t want[16], have[16];
  if (drv_cg_parse_cpu_list(value, want) < 0 || drv_cg_parse_cpu_list(avail, have) < 0) return 0;
  for (size_t i = 0; i < 16; i++)
    if (want[i] & ~have[i])
      return drv_cg_fail(err, EINVAL, "%s `%s`: not in the %s this machine has (%s)", field, value,
                         what, avail);
  return 0;
}

static int write_cpuset(const char *dir, bool v2, const drv_cgroup_resources *res, drv_err *err)
{
  const char *cpus = res->cpu.cpus, *mems = res->cpu.mems;
  if ((!cpus || !*cpus) && (!mems || !*mems)) return 0;
  if (!dir) return no_controller(P ".cpu.cpus", "cpuset", err);
  if (mems && *mems) {
    if (check_cpuset(dir, v2 ? "cpuset.mems.effective" : "cpuset.effective_mems", mems,
                     P ".cpu.mems", "memory nodes", err) < 0 ||
        wr(dir, "cpuset.mems", P ".cpu.mems", err, "%s", mems) < 0)
      return -1;
  }
  if (cpus && *cpus) {
    if (check_cpuset(dir, v2 ? "cpuset.cpus.effective" : "cpuset.effective_cpus", cpus,
                     P ".cpu.cpus", "cpus", err) < 0 ||
        wr(dir, "cpuset.cpus", P ".cpu.cpus", err, "%s", cpus) < 0)
      return -1;
  }
  return 0;
}

static char *devnum(int64_t v)
{
  return v < 0 ? drv_strdup("*") : drv_asprintf("%lld", (long long)v);
}

static int check_usage(const char *dir, const char *file, const drv_cgroup_resources *res,
                       drv_err *err)
{
  if (!res->memory.check_before_update.v || !res->memory.limit.set || res->memory.limit.v <= 0)
    return 0;
  uint64_t usage;
  if (drv_cg_read_u64(dir, file, &usage, err) < 0) return drv_err_prefix(err, P ".memory.limit");
  if ((uint64_t)res->memory.limit.v < usage)
    return drv_cg_fail(err, EBUSY,
                       P ".memory.limit: %lld is below the current usage of %llu bytes "
                         "(checkBeforeUpdate)",
                       (long long)res->memory.limit.v, (unsigned long long)usage);
  return 0;
}

/* Several "maj:min value" lines into one file. */
static int write_dev_lines(const char *dir, const char *file, const char *field,
                           const drv_cgroup_throttle_device *t, size_t n, const char *key,
                           drv_err *err)
{
  if (!n) return 0;
  char **lines = drv_calloc(n + 1, sizeof *lines);
  for (size_t i = 0; i < n; i++) {
    if (key) /* v2 io.max: "maj:min rbps=N", 0 = no limit */
      lines[i] = t[i].rate ? drv_asprintf("%lld:%lld %s=%llu", (long long)t[i].major,
                                          (long long)t[i].minor, key, (unsigned long long)t[i].rate)
                           : drv_asprintf("%lld:%lld %s=max", (long long)t[i].major,
                                          (long long)t[i].minor, key);
    else
      lines[i] = drv_asprintf("%lld:%lld %llu", (long long)t[i].major, (long long)t[i].minor,
                              (unsigned long long)t[i].rate);
  }
  int r = drv_cg_write_lines(dir, file, lines, n, err);
  drv_strv_free(lines);
  if (r < 0) return drv_err_prefix(err, "%s", field);
  return 0;
}

static int write_rdma(const char *dir, const drv_cgroup_resources *res, drv_err *err)
{
  if (!res->n_rdma) return 0;
  if (!dir) return no_controller(P ".rdma", "rdma", err);
  for (size_t i = 0; i < res->n_rdma; i++) {
    const drv_cgroup_rdma *r = &res->rdma[i];
    if (!r->hca_handles.set && !r->hca_objects.set) continue;
    _cleanup_buf_ drv_buf b = DRV_BUF_INIT;
    drv_buf_puts(&b, r->device);
    if (r->hca_handles.set)
      drv_buf_printf(&b, " hca_handle=%llu", (unsigned long long)r->hca_handles.v);
    if (r->hca_objects.set)
      drv_buf_printf(&b, " hca_object=%llu", (unsigned long long)r->hca_objects.v);
    if (drv_cg_write(dir, "rdma.max", b.data, err) < 0)
      return drv_err_prefix(err, P ".rdma.%s", r->device);
  }
  return 0;
}

static int write_hugetlb(const char *dir, const drv_cgroup_resources *res, bool v2, drv_err *err)
{
  if (!res->n_hugetlb) return 0;
  if (!dir) return no_controller(P ".hugepageLimits", "hugetlb", err);
  for (size_t i = 0; i < res->n_hugetlb; i++) {
    const drv_cgroup_hugetlb *h = &res->hugetlb[i];
    char file[96], rsvd[96], field[64];
    snprintf(file, sizeof file, "hugetlb.%s.%s", h->page_size, v2 ? "max" : "limit_in_bytes");
    snprintf(rsvd, sizeof rsvd, "hugetlb.%s.rsvd.%s", h->page_size, v2 ? "max" : "limit_in_bytes");
    snprintf(field, sizeof field, P ".hugepageLimits[%zu]", i);
    if (!drv_cg_has(dir, file))
      return drv_cg_fail(err, EINVAL, "%s.pageSize: `%s` is not a huge page size of this machine",
                         field, h->page_size);
    if (wr(dir, file, field, err, "%llu", (unsigned long long)h->limit) < 0) return -1;
    /* Reservations are limited alike, or a mapping could reserve past the limit. */
    if (drv_cg_has(dir, rsvd) &&
        wr(dir, rsvd, field, err, "%llu", (unsigned long long)h->limit) < 0)
      return -1;
  }
  return 0;
}

static int write_unified(const char *dir, const drv_cgroup_resources *res, drv_err *err)
{
  for (size_t i = 0; i < res->n_unified; i++) {
    const drv_cgroup_kv *kv = &res->unified[i];
    if (!drv_cg_has(dir, kv->key))
      return drv_cg_fail(err, ENOENT,
                         P ".unified.%s: no such file in `%s` (controller not "
                           "enabled, or not a cgroup file)",
                         kv->key, dir);
    if (drv_cg_write(dir, kv->key, kv->value, err) < 0)
      return drv_err_prefix(err, P ".unified.%s", kv->key);
  }
  return 0;
}

/* ---- v1 -------------------------------------------------------------------------------------- */

static bool cpu_fields_set(const drv_cgroup_resources *res)
{
  const typeof(res->cpu) *c = &res->cpu;
  return (c->shares.set && c->shares.v) || (c->quota.set && c->quota.v) ||
         (c->period.set && c->period.v) || c->burst.set || (c->realtime_runtime.set) ||
         (c->realtime_period.set && c->realtime_period.v) || c->idle.set;
}

static int v1_cpu(drv_cgroup *cg, const drv_cgroup_resources *res, drv_err *err)
{
  const typeof(res->cpu) *c = &res->cpu;
  if (cpu_fields_set(res)) {
    const char *d = drv_cg_dir(cg, DRV_CG_CPU);
    if (!d) return no_controller(P ".cpu", "cpu", err);
    if (c->shares.set && c->shares.v &&
        wr(d, "cpu.shares", P ".cpu.shares", err, "%llu", (unsigned long long)c->shares.v) < 0)
      return -1;
    if (c->period.set && c->period.v &&
        wr(d, "cpu.cfs_period_us", P ".cpu.period", err, "%llu", (unsigned long long)c->period.v) <
            0)
      return -1;
    if (c->quota.set && c->quota.v &&
        wr(d, "cpu.cfs_quota_us", P ".cpu.quota", err, "%lld", (long long)c->quota.v) < 0)
      return -1;
    if (c->burst.set) {
      if (!drv_cg_has(d, "cpu.cfs_burst_us"))
        return drv_cg_fail(err, ENOTSUP, P ".cpu.burst: this kernel has no cpu.cfs_burst_us");
      if (wr(d, "cpu.cfs_burst_us", P ".cpu.burst", err, "%llu", (unsigned long long)c->burst.v) <
          0)
        return -1;
    }
    /* The period first: a runtime is checked against the period in place. */
    if (c->realtime_period.set && c->realtime_period.v &&
        wr(d, "cpu.rt_period_us", P ".cpu.realtimePeriod", err, "%llu",
           (unsigned long long)c->realtime_period.v) < 0)
      return -1;
    if (c->realtime_runtime.set && wr(d, "cpu.rt_runtime_us", P ".cpu.realtimeRuntime", err, "%lld",
                                      (long long)c->realtime_runtime.v) < 0)
      return -1;
    if (c->idle.set) {
      if (!drv_cg_has(d, "cpu.idle"))
        return drv_cg_fail(err, ENOTSUP, P ".cpu.idle: this kernel has no cpu.idle");
      if (wr(d, "cpu.idle", P ".cpu.idle", err, "%lld", (long long)c->idle.v) < 0) return -1;
    }
  }
  return write_cpuset(drv_cg_dir(cg, DRV_CG_CPUSET), false, res, err);
}

static int kmem_write(const char *d, const char *file, const char *field, int64_t v, drv_err *err)
{
  if (!drv_cg_has(d, file)) return 0;
  if (wr(d, file, field, err, "%lld", (long long)v) == 0) return 0;
  if (err && (err->errnum == EOPNOTSUPP || err->errnum == 524 /* ENOTSUPP */)) {
    drv_log_debug("%s", err->msg);
    return 0;
  }
  return -1;
}

static int v1_memory(drv_cgroup *cg, const drv_cgroup_resources *res, drv_err *err)
{
  const typeof(res->memory) *m = &res->memory;
  bool lim = m->limit.set && m->limit.v, swap = m->swap.set && m->swap.v;
  bool any = lim || swap || (m->reservation.set && m->reservation.v) || m->kernel.set ||
             m->kernel_tcp.set || m->swappiness.set || m->disable_oom_killer.set ||
             m->use_hierarchy.set;
  if (!any) return 0;
  const char *d = drv_cg_dir(cg, DRV_CG_MEMORY);
  if (!d) return no_controller(P ".memory", "memory", err);
  if (check_usage(d, "memory.usage_in_bytes", res, err) < 0) return -1;
  if (swap && !drv_cg_has(d, "memory.memsw.limit_in_bytes"))
    return drv_cg_fail(err, ENOTSUP,
                       P ".memory.swap: swap accounting is off on this machine (no "
                         "memory.memsw.limit_in_bytes; boot with swapaccount=1)");
  /* memsw must stay >= limit at every step: raise memsw first when the limit grows. */
  bool swap_first = false;
  if (lim && swap) {
    uint64_t cur;
    uint64_t want = m->limit.v < 0 ? UINT64_MAX : (uint64_t)m->limit.v;
    if (drv_cg_read_u64(d, "memory.limit_in_bytes", &cur, NULL) == 0 && want > cur)
      swap_first = true;
  }
  if (swap && swap_first &&
      wr(d, "memory.memsw.limit_in_bytes", P ".memory.swap", err, "%lld", (long long)m->swap.v) < 0)
    return -1;
  if (lim &&
      wr(d, "memory.limit_in_bytes", P ".memory.limit", err, "%lld", (long long)m->limit.v) < 0)
    return -1;
  if (swap && !swap_first &&
      wr(d, "memory.memsw.limit_in_bytes", P ".memory.swap", err, "%lld", (long long)m->swap.v) < 0)
    return -1;
  if (m->reservation.set && m->reservation.v &&
      wr(d, "memory.soft_limit_in_bytes", P ".memory.reservation", err, "%lld",
         (long long)m->reservation.v) < 0)
    return -1;
  /* Kernel memory limits are going away (no file, or EOPNOTSUPP since 5.16 on some
   * configurations): what the kernel no longer offers is skipped, as runc does. */
  if (m->kernel.set &&
      kmem_write(d, "memory.kmem.limit_in_bytes", P ".memory.kernel", m->kernel.v, err) < 0)
    return -1;
  if (m->kernel_tcp.set && kmem_write(d, "memory.kmem.tcp.limit_in_bytes", P ".memory.kernelTCP",
                                      m->kernel_tcp.v, err) < 0)
    return -1;
  if (m->swappiness.set && wr(d, "memory.swappiness", P ".memory.swappiness", err, "%llu",
                              (unsigned long long)m->swappiness.v) < 0)
    return -1;
  if (m->disable_oom_killer.set && wr(d, "memory.oom_control", P ".memory.disableOOMKiller", err,
                                      "%d", m->disable_oom_killer.v) < 0)
    return -1;
  if (m->use_hierarchy.set) {
    /* Kernels since 5.16 are always hierarchical and only accept 1. */
    _cleanup_free_ char *cur = NULL;
    bool same = drv_cg_read(d, "memory.use_hierarchy", &cur, NULL) == 0 &&
                strcmp(cur, m->use_hierarchy.v ? "1" : "0") == 0;
    if (!same &&
        wr(d, "memory.use_hierarchy", P ".memory.useHierarchy", err, "%d", m->use_hierarchy.v) < 0)
      return -1;
  }
  return 0;
}

static int v1_blkio(drv_cgroup *cg, const drv_cgroup_resources *res, drv_err *err)
{
  const typeof(res->blkio) *b = &res->blkio;
  bool any = (b->weight.set && b->weight.v) || (b->leaf_weight.set && b->leaf_weight.v) ||
             b->n_weight_device || b->n_read_bps || b->n_write_bps || b->n_read_iops ||
             b->n_write_iops;
  if (!any) return 0;
  const char *d = drv_cg_dir(cg, DRV_CG_BLKIO);
  if (!d) return no_controller(P ".blockIO", "blkio", err);
  /* CFQ's blkio.weight is gone since 5.0; BFQ offers blkio.bfq.weight. */
  bool cfq = drv_cg_has(d, "blkio.weight");
  const char *wfile = cfq ? "blkio.weight" : "blkio.bfq.weight";
  const char *wdfile = cfq ? "blkio.weight_device" : "blkio.bfq.weight_device";
  if (b->weight.set && b->weight.v) {
    if (!drv_cg_has(d, wfile))
      return drv_cg_fail(err, ENOTSUP,
                         P ".blockIO.weight: no proportional io scheduler (CFQ or "
                           "BFQ) offers weights on this machine");
    if (wr(d, wfile, P ".blockIO.weight", err, "%llu", (unsigned long long)b->weight.v) < 0)
      return -1;
  }
  if (b->leaf_weight.set && b->leaf_weight.v) {
    if (!drv_cg_has(d, "blkio.leaf_weight"))
      return drv_cg_fail(err, ENOTSUP,
                         P ".blockIO.leafWeight: this kernel has no blkio.leaf_weight");
    if (wr(d, "blkio.leaf_weight", P ".blockIO.leafWeight", err, "%llu",
           (unsigned long long)b->leaf_weight.v) < 0)
      return -1;
  }
  for (size_t i = 0; i < b->n_weight_device; i++) {
    const drv_cgroup_weight_device *w = &b->weight_device[i];
    char field[64];
    snprintf(field, sizeof field, P ".blockIO.weightDevice[%zu]", i);
    if (w->weight.set) {
      if (!drv_cg_has(d, wdfile))
        return drv_cg_fail(err, ENOTSUP, "%s.weight: no per-device weights on this machine", field);
      if (wr(d, wdfile, field, err, "%lld:%lld %llu", (long long)w->major, (long long)w->minor,
             (unsigned long long)w->weight.v) < 0)
        return -1;
    }
    if (w->leaf_weight.set) {
      if (!drv_cg_has(d, "blkio.leaf_weight_device"))
        return drv_cg_fail(err, ENOTSUP,
                           "%s.leafWeight: this kernel has no blkio.leaf_weight_device", field);
      if (wr(d, "blkio.leaf_weight_device", field, err, "%lld:%lld %llu", (long long)w->major,
             (long long)w->minor, (unsigned long long)w->leaf_weight.v) < 0)
        return -1;
    }
  }
  if (write_dev_lines(d, "blkio.throttle.read_bps_device", P ".blockIO.throttleReadBpsDevice",
                      b->read_bps, b->n_read_bps, NULL, err) < 0 ||
      write_dev_lines(d, "blkio.throttle.write_bps_device", P ".blockIO.throttleWriteBpsDevice",
                      b->write_bps, b->n_write_bps, NULL, err) < 0 ||
      write_dev_lines(d, "blkio.throttle.read_iops_device", P ".blockIO.throttleReadIOPSDevice",
                      b->read_iops, b->n_read_iops, NULL, err) < 0 ||
      write_dev_lines(d, "blkio.throttle.write_iops_device", P ".blockIO.throttleWriteIOPSDevice",
                      b->write_iops, b->n_write_iops, NULL, err) < 0)
    return -1;
  return 0;
}

/* One v1 rule line; 'a' with partial access becomes c and b exceptions, because the kernel
 * reads a bare 'a' as "switch the default" whatever access follows. */
static size_t v1_device_lines(const drv_cgroup_device_rule *r, char *out[2])
{
  _cleanup_free_ char *maj = devnum(r->major), *min = devnum(r->minor);
  if (r->type == 'a') {
    if (strlen(r->access) == 3) {
      out[0] = drv_strdup("a *:* rwm");
      return 1;
    }
    out[0] = drv_asprintf("c *:* %s", r->access);
    out[1] = drv_asprintf("b *:* %s", r->access);
    return 2;
  }
  out[0] = drv_asprintf("%c %s:%s %s", r->type, maj, min, r->access);
  return 1;
}

static int v1_devices(const char *d, const drv_cgroup_resources *res, drv_err *err)
{
  _cleanup_close_ int allow = -1, deny = -1;
  for (size_t i = 0; i < res->n_devices; i++) {
    const drv_cgroup_device_rule *r = &res->devices[i];
    const char *file = r->allow ? "devices.allow" : "devices.deny";
    int *fd = r->allow ? &allow : &deny;
    _cleanup_free_ char *path = drv_asprintf("%s/%s", d, file);
    if (*fd < 0) {
      *fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
      if (*fd < 0) return drv_error(err, errno, P ".devices[%zu]: open `%s`", i, path);
    }
    char *lines[2] = {0};
    size_t n = v1_device_lines(r, lines);
    int e = 0;
    for (size_t k = 0; k < n && !e; k++) {
      _cleanup_free_ char *l = drv_asprintf("%s\n", lines[k]);
      if (drv_write_all(*fd, l, strlen(l)) < 0) e = errno;
    }
    if (e) drv_error(err, e, P ".devices[%zu]: write `%s` to `%s`", i, lines[0], path);
    free(lines[0]);
    free(lines[1]);
    if (e) return -1;
  }
  return 0;
}

static int devices_bpf(const char *dir, const drv_cgroup_resources *res, drv_err *err)
{
  size_t len;
  _cleanup_free_ struct bpf_insn *prog = drv_cg_devices_bpf(res->devices, res->n_devices, &len);
  if (drv_cg_devices_bpf_apply(dir, prog, len, err) < 0) return drv_err_prefix(err, P ".devices");
  return 0;
}

int drv_cg_apply_v1(drv_cgroup *cg, const drv_cgroup_resources *res, bool update, drv_err *err)
{
  (void)update;
  if (v1_cpu(cg, res, err) < 0 || v1_memory(cg, res, err) < 0) return -1;
  if (res->pids.limit.set && res->pids.limit.v) {
    const char *d = drv_cg_dir(cg, DRV_CG_PIDS);
    if (!d) return no_controller(P ".pids", "pids", err);
    if ((res->pids.limit.v > 0
             ? wr(d, "pids.max", P ".pids.limit", err, "%lld", (long long)res->pids.limit.v)
             : wr(d, "pids.max", P ".pids.limit", err, "max")) < 0)
      return -1;
  }
  if (v1_blkio(cg, res, err) < 0) return -1;
  if (write_hugetlb(drv_cg_dir(cg, DRV_CG_HUGETLB), res, false, err) < 0) return -1;
  if (res->network.class_id.set) {
    const char *d = drv_cg_dir(cg, DRV_CG_NET_CLS);
    if (!d) return no_controller(P ".network.classID", "net_cls", err);
    if (wr(d, "net_cls.classid", P ".network.classID", err, "%llu",
           (unsigned long long)res->network.class_id.v) < 0)
      return -1;
  }
  if (res->network.n_priorities) {
    const char *d = drv_cg_dir(cg, DRV_CG_NET_PRIO);
    if (!d) return no_controller(P ".network.priorities", "net_prio", err);
    char **lines = drv_calloc(res->network.n_priorities + 1, sizeof *lines);
    for (size_t i = 0; i < res->network.n_priorities; i++)
      lines[i] =
          drv_asprintf("%s %s", res->network.priorities[i].key, res->network.priorities[i].value);
    int r = drv_cg_write_lines(d, "net_prio.ifpriomap", lines, res->network.n_priorities, err);
    drv_strv_free(lines);
    if (r < 0) return drv_err_prefix(err, P ".network.priorities");
  }
  if (write_rdma(drv_cg_dir(cg, DRV_CG_RDMA), res, err) < 0) return -1;
  if (res->n_devices) {
    const char *d = drv_cg_dir(cg, DRV_CG_DEVICES);
    if (d) {
      if (v1_devices(d, res, err) < 0) return -1;
    } else if (cg->unified_dir) {
      if (devices_bpf(cg->unified_dir, res, err) < 0) return -1;
    } else {
      return no_controller(P ".devices", "devices", err);
    }
  }
  if (res->n_unified) {
    if (!cg->unified_dir)
      return drv_cg_fail(err, ENOTSUP,
                         P ".unified: needs a cgroup v2 hierarchy (this machine "
                           "has only v1)");
    if (write_unified(cg->unified_dir, res, err) < 0) return -1;
  }
  return 0;
}

/* ---- v2 -------------------------------------------------------------------------------------- */

static const char *v2_dir(drv_cgroup *cg, unsigned controller)
{
  return (cg->sys->v2_controllers & controller) ? cg->unified_dir : NULL;
}

static int v2_cpu(drv_cgroup *cg, const drv_cgroup_resources *res, drv_err *err)
{
  const typeof(res->cpu) *c = &res->cpu;
  if (c->realtime_runtime.set && c->realtime_runtime.v)
    return drv_cg_fail(err, ENOTSUP,
                       P ".cpu.realtimeRuntime: cgroup v2 has no realtime bandwidth "
                         "control");
  if (c->realtime_period.set && c->realtime_period.v)
    return drv_cg_fail(err, ENOTSUP,
                       P ".cpu.realtimePeriod: cgroup v2 has no realtime bandwidth "
                         "control");
  if (cpu_fields_set(res)) {
    const char *d = v2_dir(cg, DRV_CG_CPU);
    if (!d) return no_controller(P ".cpu", "cpu", err);
    if (c->shares.set && c->shares.v &&
        wr(d, "cpu.weight", P ".cpu.shares", err, "%llu",
           (unsigned long long)drv_cg_shares_to_weight(c->shares.v)) < 0)
      return -1;
    bool q = c->quota.set && c->quota.v, p = c->period.set && c->period.v;
    if (q || p) {
      /* cpu.max holds both: keep the half that was not asked for. */
      char cur_q[32] = "max";
      unsigned long long cur_p = 100000;
      _cleanup_free_ char *cur = NULL;
      if (drv_cg_read(d, "cpu.max", &cur, NULL) == 0) sscanf(cur, "%31s %llu", cur_q, &cur_p);
      char quota[32];
      if (!q)
        snprintf(quota, sizeof quota, "%s", cur_q);
      else if (c->quota.v < 0)
        snprintf(quota, sizeof quota, "max");
      else
        snprintf(quota, sizeof quota, "%lld", (long long)c->quota.v);
      unsigned long long period = p ? (unsigned long long)c->period.v : cur_p;
      if (wr(d, "cpu.max", q ? P ".cpu.quota" : P ".cpu.period", err, "%s %llu", quota, period) < 0)
        return -1;
    }
    if (c->burst.set) {
      if (!drv_cg_has(d, "cpu.max.burst"))
        return drv_cg_fail(err, ENOTSUP, P ".cpu.burst: this kernel has no cpu.max.burst");
      if (wr(d, "cpu.max.burst", P ".cpu.burst", err, "%llu", (unsigned long long)c->burst.v) < 0)
        return -1;
    }
    if (c->idle.set) {
      if (!drv_cg_has(d, "cpu.idle"))
        return drv_cg_fail(err, ENOTSUP, P ".cpu.idle: this kernel has no cpu.idle");
      if (wr(d, "cpu.idle", P ".cpu.idle", err, "%lld", (long long)c->idle.v) < 0) return -1;
    }
  }
  return write_cpuset(v2_dir(cg, DRV_CG_CPUSET), true, res, err);
}

static int v2_memory(drv_cgroup *cg, const drv_cgroup_resources *res, drv_err *err)
{
  const typeof(res->memory) *m = &res->memory;
  if (m->swappiness.set)
    return drv_cg_fail(err, ENOTSUP, P ".memory.swappiness: cgroup v2 has no per-group swappiness");
  if (m->disable_oom_killer.set && m->disable_oom_killer.v)
    return drv_cg_fail(err, ENOTSUP,
                       P ".memory.disableOOMKiller: cgroup v2 cannot disable the OOM "
                         "killer");
  if (m->use_hierarchy.set && !m->use_hierarchy.v)
    return drv_cg_fail(err, ENOTSUP, P ".memory.useHierarchy: cgroup v2 is always hierarchical");
  if (m->kernel.set || m->kernel_tcp.set)
    drv_log_debug("cgroup %s: memory.kernel/kernelTCP ignored: cgroup v2 accounts kernel memory "
                  "within memory.max",
                  cg->path);
  int64_t swap;
  bool swap_unset;
  if (drv_cg_swap_to_v2(res, &swap, &swap_unset, err) < 0) return -1;
  bool lim = m->limit.set && m->limit.v, resv = m->reservation.set && m->reservation.v;
  if (!lim && !resv && swap_unset) return 0;
  const char *d = v2_dir(cg, DRV_CG_MEMORY);
  if (!d) return no_controller(P ".memory", "memory", err);
  if (check_usage(d, "memory.current", res, err) < 0) return -1;
  if (!swap_unset) {
    if (!drv_cg_has(d, "memory.swap.max")) {
      /* No swap accounting: "unlimited" is what the machine does anyway. */
      if (swap != -1)
        return drv_cg_fail(err, ENOTSUP,
                           P ".memory.swap: swap accounting is off on this machine "
                             "(no memory.swap.max)");
    } else if ((swap < 0 ? wr(d, "memory.swap.max", P ".memory.swap", err, "max")
                         : wr(d, "memory.swap.max", P ".memory.swap", err, "%lld",
                              (long long)swap)) < 0) {
      return -1;
    }
  }
  if (lim && (m->limit.v < 0
                  ? wr(d, "memory.max", P ".memory.limit", err, "max")
                  : wr(d, "memory.max", P ".memory.limit", err, "%lld", (long long)m->limit.v)) < 0)
    return -1;
  if (resv && (m->reservation.v < 0 ? wr(d, "memory.low", P ".memory.reservation", err, "max")
                                    : wr(d, "memory.low", P ".memory.reservation", err, "%lld",
                                         (long long)m->reservation.v)) < 0)
    return -1;
  return 0;
}

static int v2_io(drv_cgroup *cg, const drv_cgroup_resources *res, drv_err *err)
{
  const typeof(res->blkio) *b = &res->blkio;
  bool any = (b->weight.set && b->weight.v) || b->n_weight_device || b->n_read_bps ||
             b->n_write_bps || b->n_read_iops || b->n_write_iops;
  if (b->leaf_weight.set && b->leaf_weight.v)
    drv_log_debug("cgroup %s: blockIO.leafWeight ignored: cgroup v2 has no leaf weights", cg->path);
  if (!any) return 0;
  const char *d = v2_dir(cg, DRV_CG_BLKIO);
  if (!d) return no_controller(P ".blockIO", "io", err);
  /* BFQ takes the blkio range as it is; io.weight (iocost) wants 1..10000. */
  bool bfq = drv_cg_has(d, "io.bfq.weight");
  if (b->weight.set && b->weight.v) {
    int r = bfq ? wr(d, "io.bfq.weight", P ".blockIO.weight", err, "%llu",
                     (unsigned long long)b->weight.v)
                : wr(d, "io.weight", P ".blockIO.weight", err, "default %llu",
                     (unsigned long long)drv_cg_blkio_to_io_weight(b->weight.v));
    if (r < 0) return -1;
  }
  for (size_t i = 0; i < b->n_weight_device; i++) {
    const drv_cgroup_weight_device *w = &b->weight_device[i];
    if (!w->weight.set) continue;
    char field[64];
    snprintf(field, sizeof field, P ".blockIO.weightDevice[%zu]", i);
    int r =
        bfq ? wr(d, "io.bfq.weight", field, err, "%lld:%lld %llu", (long long)w->major,
                 (long long)w->minor, (unsigned long long)w->weight.v)
            : wr(d, "io.weight", field, err, "%lld:%lld %llu", (long long)w->major,
                 (long long)w->minor, (unsigned long long)drv_cg_blkio_to_io_weight(w->weight.v));
    if (r < 0) return -1;
  }
  if (b->n_read_bps + b->n_write_bps + b->n_read_iops + b->n_write_iops) {
    if (!drv_cg_has(d, "io.max"))
      return drv_cg_fail(err, ENOTSUP, P ".blockIO: this kernel has no io.max (throttling)");
    if (write_dev_lines(d, "io.max", P ".blockIO.throttleReadBpsDevice", b->read_bps, b->n_read_bps,
                        "rbps", err) < 0 ||
        write_dev_lines(d, "io.max", P ".blockIO.throttleWriteBpsDevice", b->write_bps,
                        b->n_write_bps, "wbps", err) < 0 ||
        write_dev_lines(d, "io.max", P ".blockIO.throttleReadIOPSDevice", b->read_iops,
                        b->n_read_iops, "riops", err) < 0 ||
        write_dev_lines(d, "io.max", P ".blockIO.throttleWriteIOPSDevice", b->write_iops,
                        b->n_write_iops, "wiops", err) < 0)
      return -1;
  }
  return 0;
}

int drv_cg_apply_v2(drv_cgroup *cg, const drv_cgroup_resources *res, bool update, drv_err *err)
{
  (void)update;
  if (!cg->unified_dir) return drv_cg_fail(err, ENOENT, "cgroup `%s`: no v2 group", cg->path);
  if (v2_cpu(cg, res, err) < 0 || v2_memory(cg, res, err) < 0) return -1;
  if (res->pids.limit.set && res->pids.limit.v) {
    const char *d = v2_dir(cg, DRV_CG_PIDS);
    if (!d) return no_controller(P ".pids", "pids", err);
    if ((res->pids.limit.v > 0
             ? wr(d, "pids.max", P ".pids.limit", err, "%lld", (long long)res->pids.limit.v)
             : wr(d, "pids.max", P ".pids.limit", err, "max")) < 0)
      return -1;
  }
  if (v2_io(cg, res, err) < 0) return -1;
  if (write_hugetlb(v2_dir(cg, DRV_CG_HUGETLB), res, true, err) < 0) return -1;
  if (res->network.class_id.set || res->network.n_priorities)
    return drv_cg_fail(err, ENOTSUP, P ".network: net_cls and net_prio do not exist on cgroup v2");
  if (write_rdma(v2_dir(cg, DRV_CG_RDMA), res, err) < 0) return -1;
  if (res->n_devices && devices_bpf(cg->unified_dir, res, err) < 0) return -1;
  if (write_unified(cg->unified_dir, res, err) < 0) return -1;
  return 0;
}
