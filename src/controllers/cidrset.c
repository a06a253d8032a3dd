/* A bitmap of a cluster CIDR's node subnets. */
#include "controllers/cidrset.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

struct drv_cidrset {
  uint32_t base;
  int prefix, node_mask;
  size_t n, used;
  uint8_t *bits;
};

int drv_cidr_parse(const char *s, int min_prefix, int max_prefix, uint32_t *base, int *prefix,
                   drv_err *err)
{
  const char *slash = s ? strchr(s, '/') : NULL;
  if (!slash || slash == s || slash - s >= INET_ADDRSTRLEN)
    return drv_error(err, EINVAL, "CIDR `%s`: expected a.b.c.d/n", s ? s : "");
  char ip[INET_ADDRSTRLEN];
  memcpy(ip, s, (size_t)(slash - s));
  ip[slash - s] = '\0';
  char *end;
  errno = 0;
  long p = strtol(slash + 1, &end, 10);
  struct in_addr a;
  if (inet_pton(AF_INET, ip, &a) != 1 || *end || slash[1] < '0' || slash[1] > '9' || errno)
    return drv_error(err, EINVAL, "CIDR `%s`: expected a.b.c.d/n", s);
  if (p < min_prefix || p > max_prefix)
    return drv_error(err, EINVAL, "CIDR `%s`: prefix must be between /%d and /%d", s, min_prefix,
                     max_prefix);
  uint32_t mask = p == 0 ? 0 : 0xffffffffu << (32 - p);
  *base = ntohl(a.s_addr) & mask;
  *prefix = (int)p;
  return 0;
}

void drv_cidr_format(uint32_t base, int prefix, char out[DRV_CIDR_STRLEN])
{
  snprintf(out, DRV_CIDR_STRLEN, "%u.%u.%u.%u/%d", base >> 24, (base >> 16) & 255, (base >> 8) & 255,
           base & 255, prefix);
}

int drv_cidrset_new(const char *cluster_cidr, int node_mask, drv_cidrset **out, drv_err *err)
{
  uint32_t base;
  int prefix;
  if (drv_cidr_parse(cluster_cidr, 1, 30, &base, &prefix, err) < 0) return -1;
  if (node_mask < prefix || node_mask > 30)
    return drv_error(err, EINVAL, "node CIDR mask size %d: must be between the cluster CIDR's /%d and /30",
                     node_mask, prefix);
  if (node_mask - prefix > 16)
    return drv_error(err, EINVAL, "node CIDR mask size %d: more than 2^16 subnets of %s (at most /%d)",
                     node_mask, cluster_cidr, prefix + 16);
  drv_cidrset *s = drv_calloc(1, sizeof *s);
  s->base = base;
  s->prefix = prefix;
  s->node_mask = node_mask;
  s->n = (size_t)1 << (node_mask - prefix);
  s->bits = drv_calloc(s->n / 8 + 1, 1);
  *out = s;
  return 0;
}

void drv_cidrset_free(drv_cidrset *s)
{
  if (!s) return;
  free(s->bits);
  free(s);
}

static bool is_used(const drv_cidrset *s, size_t i)
{
  return s->bits[i / 8] & (1u << (i % 8));
}

static void set_used(drv_cidrset *s, size_t i, bool used)
{
  if (is_used(s, i) == used) return;
  s->bits[i / 8] ^= (uint8_t)(1u << (i % 8));
  s->used += used ? 1 : (size_t)-1;
}

int drv_cidrset_allocate(drv_cidrset *s, char out[DRV_CIDR_STRLEN], drv_err *err)
{
  for (size_t i = 0; i < s->n; i++) {
    if (is_used(s, i)) continue;
    set_used(s, i, true);
    drv_cidr_format(s->base + ((uint32_t)i << (32 - s->node_mask)), s->node_mask, out);
    return 0;
  }
  char c[DRV_CIDR_STRLEN];
  drv_cidr_format(s->base, s->prefix, c);
  return drv_error(err, ENOSPC, "no /%d left in cluster CIDR %s (all %zu in use)", s->node_mask, c, s->n);
}

/* Subnets [*first, *last] that cidr overlaps: 1; 0 when none, -1 when it does not parse. */
static int covered(const drv_cidrset *s, const char *cidr, size_t *first, size_t *last)
{
  uint32_t base;
  int prefix;
  drv_err err;
  if (drv_cidr_parse(cidr, 0, 32, &base, &prefix, &err) < 0) return -1;
  uint64_t lo = base, hi = (uint64_t)base + ((uint64_t)1 << (32 - prefix)) - 1;
  uint64_t slo = s->base, shi = (uint64_t)s->base + ((uint64_t)s->n << (32 - s->node_mask)) - 1;
  if (hi < slo || lo > shi) return 0;
  if (lo < slo) lo = slo;
  if (hi > shi) hi = shi;
  *first = (size_t)((lo - slo) >> (32 - s->node_mask));
  *last = (size_t)((hi - slo) >> (32 - s->node_mask));
  return 1;
}

static int mark(drv_cidrset *s, const char *cidr, bool used)
{
  size_t first, last;
  int r = covered(s, cidr, &first, &last);
  if (r <= 0) return r;
  for (size_t i = first; i <= last; i++) set_used(s, i, used);
  return (int)(last - first + 1);
}

int drv_cidrset_occupy(drv_cidrset *s, const char *cidr)
{
  return mark(s, cidr, true);
}

int drv_cidrset_release(drv_cidrset *s, const char *cidr)
{
  return mark(s, cidr, false);
}

size_t drv_cidrset_used(const drv_cidrset *s)
{
  return s->used;
}

size_t drv_cidrset_capacity(const drv_cidrset *s)
{
  return s->n;
}
