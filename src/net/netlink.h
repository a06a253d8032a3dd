/* rtnetlink through libmnl: the few link, address and route operations pod networking needs.
 * A drv_nl is one NETLINK_ROUTE socket bound to the network namespace it was opened in, so
 * the same calls configure the host or, through drv_nl_open_netns(), a pod's namespace. */
#ifndef DRV_NET_NETLINK_H
#define DRV_NET_NETLINK_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

typedef struct drv_nl drv_nl;

int drv_nl_open(drv_nl **out, drv_err *err);
/* Opens the socket inside the namespace of nsfd (a /proc/PID/ns/net or bind-mount fd): the
 * calling thread enters it only for the socket() call, then returns to its own. */
int drv_nl_open_netns(int nsfd, drv_nl **out, drv_err *err);
void drv_nl_close(drv_nl *nl);
void drv_nl_closep(drv_nl **nl);
#define _cleanup_nl_ __attribute__((cleanup(drv_nl_closep)))

/* ifindex of a link, or -1 with err (errnum ENODEV when it does not exist). */
int drv_nl_link_index(drv_nl *nl, const char *name, drv_err *err);
bool drv_nl_link_exists(drv_nl *nl, const char *name);
/* A bridge; an existing bridge of that name is fine. */
int drv_nl_bridge_add(drv_nl *nl, const char *name, drv_err *err);
/* A veth pair; with peer_nsfd >= 0 the peer is created directly inside that namespace. */
int drv_nl_veth_add(drv_nl *nl, const char *name, const char *peer, int peer_nsfd, drv_err *err);
int drv_nl_link_del(drv_nl *nl, const char *name, drv_err *err);
int drv_nl_link_up(drv_nl *nl, const char *name, drv_err *err);
int drv_nl_link_set_master(drv_nl *nl, const char *name, const char *master, drv_err *err);
/* Hairpin mode on a bridge port: frames may leave through the port they came in (a pod
 * reaching itself through a Service address). */
int drv_nl_link_set_hairpin(drv_nl *nl, const char *name, bool on, drv_err *err);
int drv_nl_link_set_netns(drv_nl *nl, const char *name, int nsfd, drv_err *err);
int drv_nl_link_rename(drv_nl *nl, const char *name, const char *newname, drv_err *err);
/* IPv4 address; an address already present is fine. */
int drv_nl_addr_add(drv_nl *nl, const char *dev, struct in_addr addr, int prefix, drv_err *err);
/* IPv4 route to dst/prefix via gw (0 = on-link) out of dev (NULL = let the kernel choose from
 * gw). Replaces an existing route to the same destination. */
int drv_nl_route_replace(drv_nl *nl, struct in_addr dst, int prefix, struct in_addr gw,
                         const char *dev, drv_err *err);
int drv_nl_route_del(drv_nl *nl, struct in_addr dst, int prefix, drv_err *err);

/* Parses "a.b.c.d/n" (host bits allowed). */
int drv_net_parse_cidr(const char *s, struct in_addr *addr, int *prefix, drv_err *err);
uint32_t drv_net_mask(int prefix); /* host order */

#endif
