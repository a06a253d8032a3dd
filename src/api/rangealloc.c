/* Range allocation (see rangealloc.h). */
#include "api/rangealloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <stdlib.h>

#include "common/util.h"

void drv_range_alloc_init(drv_range_alloc *a, uint32_t base, uint32_t size)
{
  a->base = base;
  a->size = size;
  a->bits = drv_calloc(size / 8 + 1, 1);
}

void drv_range_alloc_release(drv_range_alloc *a)
{
  free(a->bits);
  a->bits = NULL;
  a->size = 0;
}

bool drv_range_alloc_contains(const drv_range_alloc *a, uint32_t v)
{
  return v >= a->base && v - a->base < a->size;
}

bool drv_range_alloc_is_used(const drv_range_alloc *a, uint32_t v)
{
  if (!drv_range_alloc_contains(a, v)) return false;
  uint32_t off = v - a->base;
  return a->bits[off / 8] & (1u << (off % 8));
}

void drv_range_alloc_use(drv_range_alloc *a, uint32_t v)
{
  if (!drv_range_alloc_contains(a, v)) return;
  uint32_t off = v - a->base;
  a->bits[off / 8] |= (uint8_t)(1u << (off % 8));
}

int drv_range_alloc_pick(drv_range_alloc *a, uint32_t lo, uint32_t hi, uint32_t start,
                         uint32_t *out)
{
  if (hi > a->size) hi = a->size;
  if (lo >= hi) return -1;
  uint32_t span = hi - lo;
  for (uint32_t k = 0; k < span; k++) {
    uint32_t off = lo + (uint32_t)(((uint64_t)start + k) % span);
    if (!(a->bits[off / 8] & (1u << (off % 8)))) {
      a->bits[off / 8] |= (uint8_t)(1u << (off % 8));
      *out = a->base + off;
      return 0;
    }
  }
  return -1;
}

int drv_port_range_parse(const char *s, uint32_t *first, uint32_t *size, drv_err *err)
{
  char *end;
  errno = 0;
  unsigned long lo = strtoul(s, &end, 10);
  if (end == s || *end != '-' || errno)
    return drv_error(err, EINVAL, "port range `%s`: want FIRST-LAST, such as 30000-32767", s);
  const char *p = end + 1;
  unsigned long hi = strtoul(p, &end, 10);
  if (end == p || *end || errno)
    return drv_error(err, EINVAL, "port range `%s`: want FIRST-LAST, such as 30000-32767", s);
  if (lo < 1 || hi > 65535 || lo > hi)
    return drv_error(err, EINVAL, "port range `%s`: ports must be 1 to 65535, first <= last", s);
  *first = (uint32_t)lo;
  *size = (uint32_t)(hi - lo + 1);
  return 0;
}

int drv_ipv4_cidr_range(const char *s, uint32_t *base, uint32_t *size, drv_err *err)
{
  const char *slash = strchr(s, '/');
  char ip[INET_ADDRSTRLEN];
  struct in_addr a;
  char *end;
  long bits = slash ? strtol(slash + 1, &end, 10) : -1;
  if (!slash || (size_t)(slash - s) >= sizeof ip || end == slash + 1 || *end)
    return drv_error(err, EINVAL, "CIDR `%s`: want an IPv4 ADDRESS/BITS such as 10.96.0.0/12", s);
  memcpy(ip, s, (size_t)(slash - s));
  ip[slash - s] = 0;
  if (inet_pton(AF_INET, ip, &a) != 1)
    return drv_error(err, EINVAL, "CIDR `%s`: `%s` is not an IPv4 address", s, ip);
  if (bits < 8 || bits > 30)
    return drv_error(err, EINVAL, "CIDR `%s`: the prefix length must be 8 to 30", s);
  uint32_t mask = 0xffffffffu << (32 - bits);
  *base = ntohl(a.s_addr) & mask;
  *size = 1u << (32 - bits);
  return 0;
}
