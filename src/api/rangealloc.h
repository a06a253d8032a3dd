/* Allocation from a range of numbers [base, base + size): ClusterIPs (the service controller)
 * and node ports (the server's Service writes) both work this way. The set in use is rebuilt
 * from the stored Services before each allocation, so nothing but the Services is persisted and
 * a restart loses nothing. */
#ifndef DRV_API_RANGEALLOC_H
#define DRV_API_RANGEALLOC_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

typedef struct drv_range_alloc {
  uint32_t base, size;
  uint8_t *bits;        /* one bit per value, set = in use */
} drv_range_alloc;

/* An empty set over [base, base + size); size > 0. Free with drv_range_alloc_release. */
void drv_range_alloc_init(drv_range_alloc *a, uint32_t base, uint32_t size);
void drv_range_alloc_release(drv_range_alloc *a);
bool drv_range_alloc_contains(const drv_range_alloc *a, uint32_t v);
bool drv_range_alloc_is_used(const drv_range_alloc *a, uint32_t v);
/* Marks v in use (values outside the range are ignored). */
void drv_range_alloc_use(drv_range_alloc *a, uint32_t v);
/* A free value among offsets [lo, hi) of the range, searched from offset lo + start % (hi - lo)
 * upwards (wrapping): callers spread concurrent allocators with a hash or a random start. It is
 * marked in use. Returns 0, or -1 when every value there is in use. */
int drv_range_alloc_pick(drv_range_alloc *a, uint32_t lo, uint32_t hi, uint32_t start,
                         uint32_t *out);

/* "30000-32767" → first 30000, size 2768 (1 <= first <= last <= 65535). */
int drv_port_range_parse(const char *s, uint32_t *first, uint32_t *size, drv_err *err);
/* An IPv4 "a.b.c.d/n" (8 <= n <= 30) as a range: the network address (host order) and the
 * number of addresses. */
int drv_ipv4_cidr_range(const char *s, uint32_t *base, uint32_t *size, drv_err *err);

#endif
