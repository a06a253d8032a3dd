/* IP address management for one node's pod CIDR. The first host address is the bridge's
 * gateway; the others go to pods. Each allocation is a file DIR/<ip> holding its owner (a pod
 * uid), created with O_EXCL, so allocations survive an agent restart and two processes never
 * hand out the same address. */
#ifndef DRV_NET_IPAM_H
#define DRV_NET_IPAM_H

#include <netinet/in.h>
#include <stddef.h>

#include "common/err.h"

typedef struct drv_ipam drv_ipam;

/* dir is created when missing. cidr: "10.244.1.0/24" (prefix 8..30). */
int drv_ipam_open(const char *dir, const char *cidr, drv_ipam **out, drv_err *err);
void drv_ipam_free(drv_ipam *ipam);

struct in_addr drv_ipam_gateway(const drv_ipam *ipam);
int drv_ipam_prefix(const drv_ipam *ipam);
/* Hands owner an address; the same owner asking again gets the same one back. Fails with
 * errnum ENOSPC when the range is exhausted. */
int drv_ipam_alloc(drv_ipam *ipam, const char *owner, struct in_addr *out, drv_err *err);
/* Address held by owner, 0 when found, -1 when owner holds none. */
int drv_ipam_lookup(drv_ipam *ipam, const char *owner, struct in_addr *out);
/* Frees owner's address; an owner with none is fine. */
int drv_ipam_release(drv_ipam *ipam, const char *owner, drv_err *err);
/* Number of addresses in use. */
size_t drv_ipam_used(drv_ipam *ipam);

#endif
