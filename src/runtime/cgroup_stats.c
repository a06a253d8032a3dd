/* Usage figures of a group, for v1 and v2, in one shape (drv_cgroup_stats) for `runtime
 * events --stats`, the agent's metrics and the autoscaler. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/cgroup_internal.h"

/* v1 reports "no limit" as the largest page-aligned signed value. */
#define V1_UNLIMITED_MIN (1ull << 62)

static uint64_t kv(const char *text, const char *key)
{
  uint64_t v = 0;
  if (text) drv_cg_kv_get(text, key, &v);
  return v;
}

static bool read_u64(const char *dir, const char *file, uint64_t *out)
{
  return dir && drv_cg_read_u64(dir, file, out, NULL) == 0;
}

static char *read_text(const char *dir, const char *file)
{
  char *t = NULL;
  if (dir && drv_cg_read(dir, file, &t, NULL) < 0) return NULL;
  return t;
}

/* "8:0 Read 4096\n8:0 Write 0\n...\nTotal 4096": sum over devices. */
static void sum_rw(const char *text, uint64_t *rd, uint64_t *wr)
{
  for (const char *p = text; p && *p;) {
    char dev[32], op[16];
    unsigned long long v;
    if (sscanf(p, "%31s %15s %llu", dev, op, &v) == 3) {
      if (strcmp(op, "Read") == 0) *rd += v;
      if (strcmp(op, "Write") == 0) *wr += v;
    }
    p = strchr(p, '\n');
    if (p) p++;
  }
}

void drv_cg_parse_v1_blkio(const char *bytes_text, const char *ops_text, drv_cgroup_stats *st)
{
  sum_rw(bytes_text, &st->io.read_bytes, &st->io.write_bytes);
  sum_rw(ops_text, &st->io.read_ops, &st->io.write_ops);
}

int drv_cg_stats_v1(const drv_cgroup *cg, drv_cgroup_stats *st, drv_err *err)
{
  (void)err;
  const char *acct = drv_cg_dir(cg, DRV_CG_CPUACCT);
  if (read_u64(acct, "cpuacct.usage", &st->cpu.usage_ns)) {
    st->have |= DRV_CGROUP_STATS_CPU;
    if (!read_u64(acct, "cpuacct.usage_user", &st->cpu.user_ns) ||
        !read_u64(acct, "cpuacct.usage_sys", &st->cpu.system_ns)) {
      _cleanup_free_ char *t = read_text(acct, "cpuacct.stat");
      long hz = sysconf(_SC_CLK_TCK);
      uint64_t tick_ns = hz > 0 ? 1000000000ull / (uint64_t)hz : 10000000ull;
      st->cpu.user_ns = kv(t, "user") * tick_ns;
      st->cpu.system_ns = kv(t, "system") * tick_ns;
    }
  }
  _cleanup_free_ char *cs = read_text(drv_cg_dir(cg, DRV_CG_CPU), "cpu.stat");
  if (cs) {
    st->cpu.nr_periods = kv(cs, "nr_periods");
    st->cpu.nr_throttled = kv(cs, "nr_throttled");
    st->cpu.throttled_ns = kv(cs, "throttled_time");
  }

  const char *mem = drv_cg_dir(cg, DRV_CG_MEMORY);
  if (read_u64(mem, "memory.usage_in_bytes", &st->memory.usage)) {
    st->have |= DRV_CGROUP_STATS_MEMORY;
    read_u64(mem, "memory.max_usage_in_bytes", &st->memory.max_usage);
    if (!read_u64(mem, "memory.limit_in_bytes", &st->memory.limit) ||
        st->memory.limit >= V1_UNLIMITED_MIN)
      st->memory.limit = DRV_CGROUP_UNLIMITED;
    read_u64(mem, "memory.failcnt", &st->memory.failcnt);
    _cleanup_free_ char *ms = read_text(mem, "memory.stat");
    /* total_* include sub-groups (the container may nest its own). */
    uint64_t v;
    st->memory.rss = ms && drv_cg_kv_get(ms, "total_rss", &v) ? v : kv(ms, "rss");
    st->memory.cache = ms && drv_cg_kv_get(ms, "total_cache", &v) ? v : kv(ms, "cache");
    st->memory.inactive_file =
        ms && drv_cg_kv_get(ms, "total_inactive_file", &v) ? v : kv(ms, "inactive_file");
    st->memory.working_set = st->memory.usage > st->memory.inactive_file
                                 ? st->memory.usage - st->memory.inactive_file
                                 : 0;
    uint64_t memsw;
    if (read_u64(mem, "memory.memsw.usage_in_bytes", &memsw) && memsw > st->memory.usage)
      st->memory.swap = memsw - st->memory.usage;
    _cleanup_free_ char *oom = read_text(mem, "memory.oom_control");
    st->memory.oom_kills = kv(oom, "oom_kill");
  }

  const char *pids = drv_cg_dir(cg, DRV_CG_PIDS);
  if (read_u64(pids, "pids.current", &st->pids.current)) {
    st->have |= DRV_CGROUP_STATS_PIDS;
    if (!read_u64(pids, "pids.max", &st->pids.limit)) st->pids.limit = DRV_CGROUP_UNLIMITED;
  }

  const char *blk = drv_cg_dir(cg, DRV_CG_BLKIO);
  /* The throttle files count every request, whatever the scheduler; prefer recursive ones. */
  _cleanup_free_ char *bytes = read_text(blk, "blkio.throttle.io_service_bytes_recursive");
  if (!bytes) bytes = read_text(blk, "blkio.throttle.io_service_bytes");
  _cleanup_free_ char *ops = read_text(blk, "blkio.throttle.io_serviced_recursive");
  if (!ops) ops = read_text(blk, "blkio.throttle.io_serviced");
  if (bytes || ops) {
    st->have |= DRV_CGROUP_STATS_IO;
    drv_cg_parse_v1_blkio(bytes, ops, st);
  }
  return 0;
}

void drv_cg_parse_v2_io_stat(const char *text, drv_cgroup_stats *st)
{
  for (const char *p = text; p && *p;) {
    const char *eol = strchr(p, '\n');
    size_t n = eol ? (size_t)(eol - p) : strlen(p);
    _cleanup_free_ char *line = drv_strndup(p, n);
    char *save = NULL;
    strtok_r(line, " ", &save); /* maj:min */
    for (char *t = strtok_r(NULL, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
      char *eq = strchr(t, '=');
      if (!eq) continue;
      *eq = '\0';
      uint64_t v = strtoull(eq + 1, NULL, 10);
      if (strcmp(t, "rbytes") == 0)
        st->io.read_bytes += v;
      else if (strcmp(t, "wbytes") == 0)
        st->io.write_bytes += v;
      else if (strcmp(t, "rios") == 0)
        st->io.read_ops += v;
      else if (strcmp(t, "wios") == 0)
        st->io.write_ops += v;
    }
    p = eol ? eol + 1 : NULL;
  }
}

int drv_cg_stats_v2(const char *dir, drv_cgroup_stats *st, drv_err *err)
{
  (void)err;
  if (!dir) return 0;
  _cleanup_free_ char *cs = read_text(dir, "cpu.stat");
  if (cs) {
    st->have |= DRV_CGROUP_STATS_CPU;
    st->cpu.usage_ns = kv(cs, "usage_usec") * 1000;
    st->cpu.user_ns = kv(cs, "user_usec") * 1000;
    st->cpu.system_ns = kv(cs, "system_usec") * 1000;
    st->cpu.nr_periods = kv(cs, "nr_periods");
    st->cpu.nr_throttled = kv(cs, "nr_throttled");
    st->cpu.throttled_ns = kv(cs, "throttled_usec") * 1000;
  }

  if (read_u64(dir, "memory.current", &st->memory.usage)) {
    st->have |= DRV_CGROUP_STATS_MEMORY;
    read_u64(dir, "memory.peak", &st->memory.max_usage);
    if (!read_u64(dir, "memory.max", &st->memory.limit)) st->memory.limit = DRV_CGROUP_UNLIMITED;
    _cleanup_free_ char *ms = read_text(dir, "memory.stat");
    st->memory.rss = kv(ms, "anon");
    st->memory.cache = kv(ms, "file");
    st->memory.inactive_file = kv(ms, "inactive_file");
    st->memory.working_set = st->memory.usage > st->memory.inactive_file
                                 ? st->memory.usage - st->memory.inactive_file
                                 : 0;
    read_u64(dir, "memory.swap.current", &st->memory.swap);
    _cleanup_free_ char *ev = read_text(dir, "memory.events");
    st->memory.failcnt = kv(ev, "max");
    st->memory.oom_events = kv(ev, "oom");
    st->memory.oom_kills = kv(ev, "oom_kill");
  }

  if (read_u64(dir, "pids.current", &st->pids.current)) {
    st->have |= DRV_CGROUP_STATS_PIDS;
    if (!read_u64(dir, "pids.max", &st->pids.limit)) st->pids.limit = DRV_CGROUP_UNLIMITED;
  }

  _cleanup_free_ char *io = read_text(dir, "io.stat");
  if (io) {
    st->have |= DRV_CGROUP_STATS_IO;
    drv_cg_parse_v2_io_stat(io, st);
  }
  return 0;
}
