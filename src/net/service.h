/* Service load balancing with iptables NAT rules, the way kube-proxy's iptables mode does it:
 * a virtual IP:port (ClusterIP) or any local address's nodePort is DNATed to one of the ready
 * endpoints, picked at random with equal weight (the statistic match), and the traffic is
 * masqueraded so replies come back through this node even when client and endpoint share the
 * bridge.
 *
 * Why iptables and not nftables: the Debian iptables binary is there on every node (its nft
 * backend on this kernel), `iptables-restore --noflush` replaces all of drover's chains in one
 * atomic transaction while leaving every other rule of the host alone, and the rules are the
 * ones operators already know how to read from kube-proxy. */
#ifndef DRV_NET_SERVICE_H
#define DRV_NET_SERVICE_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

typedef struct drv_svc_ep {
  struct in_addr ip;
  uint16_t port;
} drv_svc_ep;

/* One service port: key names it ("ns/name:port"), proto is "tcp" or "udp". */
typedef struct drv_svc_rule {
  const char *key;
  const char *proto;
  struct in_addr vip; /* 0 = no ClusterIP (only a NodePort) */
  uint16_t port;
  uint16_t node_port; /* 0 = none */
  const drv_svc_ep *eps;
  size_t n_eps;
} drv_svc_rule;

/* The iptables-restore text for these rules (nat table). stale: chain names present now that
 * are no longer used (deleted in the same transaction); may be NULL. */
int drv_svc_render(const drv_svc_rule *rules, size_t n, char *const *stale, drv_buf *out,
                   drv_err *err);
/* Installs the hooks from PREROUTING/OUTPUT/POSTROUTING (once) and replaces drover's chains
 * with exactly these rules, atomically. */
int drv_svc_sync(const drv_svc_rule *rules, size_t n, drv_err *err);
/* Removes the hooks and all of drover's chains. */
int drv_svc_cleanup(drv_err *err);

#endif
