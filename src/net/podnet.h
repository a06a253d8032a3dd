/* A node's pod network: one bridge holding the gateway address of the node's pod CIDR, one
 * veth pair per pod (host end on the bridge, the other end as eth0 in the pod's namespace),
 * and routes to the other nodes' pod CIDRs through those nodes' addresses. */
#ifndef DRV_NET_PODNET_H
#define DRV_NET_PODNET_H

#include <netinet/in.h>

#include "common/err.h"

/* Creates the bridge (if missing), gives it gw/prefix, sets it up, and turns on IPv4 forwarding
 * in the current namespace and route_localnet on the bridge (localhost hostPorts). */
int drv_podnet_bridge_setup(const char *bridge, struct in_addr gw, int prefix, drv_err *err);

/* Connects the namespace of netns_fd: a veth named host_if on the bridge, its peer renamed eth0
 * inside with ip/prefix, lo up, and a default route via gw. host_if: at most 15 bytes. */
int drv_podnet_attach(const char *bridge, const char *host_if, int netns_fd, struct in_addr ip,
                      int prefix, struct in_addr gw, drv_err *err);
/* Deletes host_if (its peer goes with it); a missing link is fine. */
int drv_podnet_detach(const char *host_if, drv_err *err);

/* Host end name for a pod: "drv" + 12 hex digits derived from key (a pod uid). */
void drv_podnet_ifname(const char *key, char out[16]);

/* Route dst CIDR (another node's pod CIDR) via that node's address. */
int drv_podnet_route_peer(const char *cidr, struct in_addr via, drv_err *err);
int drv_podnet_unroute_peer(const char *cidr, drv_err *err);

#endif
