/* Service load balancing with iptables NAT rules, the way kube-proxy's iptables mode does it:
 * a virtual IP:port (ClusterIP) or any local address's nodePort is DNATed to one of the ready
 * endpoints, picked at random with equal weight (the statistic match), and the traffic is
 * masqueraded so replies come back through this node even when client and endpoint share the
 * bridge. Containers' hostPorts go into the same chains (see drv_hostport).
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

/* A container's hostPort, as the CNI portmap plugin does it: host_ip:host_port (any local
 * address when host_ip is 0) is DNATed to pod_ip:pod_port, from outside (PREROUTING) and from the
 * node itself (OUTPUT, localhost included); the pod reaching its own hostPort (hairpin) and
 * localhost clients are masqueraded. */
typedef struct drv_hostport {
  const char *key;        /* "ns/pod/container:port", a comment on the rule */
  const char *proto;      /* "tcp", "udp" or "sctp" */
  struct in_addr host_ip; /* 0 = every local address */
  uint16_t host_port;
  struct in_addr pod_ip;
  uint16_t pod_port;
} drv_hostport;

/* Everything one agent wants in the nat table. Chains are named after owner ("DRV-<owner>-…"),
 * so agents sharing a network namespace (several nodes on one host) each keep their own. */
typedef struct drv_svc_table {
  const char *owner; /* from drv_svc_owner() */
  const drv_svc_rule *rules;
  size_t n;
  const drv_hostport *hps;
  size_t n_hps;
} drv_svc_table;

#define DRV_SVC_OWNER_LEN 8

/* The owner tag of an agent: 8 hex digits from its node name and data dir (stable across
 * restarts, different for two agents on one host). */
void drv_svc_owner(const char *node_name, const char *data_dir, char out[DRV_SVC_OWNER_LEN + 1]);

/* The iptables-restore text for t (nat table). stale: per-rule chain names of this owner present
 * now that are no longer used (deleted in the same transaction); may be NULL. */
int drv_svc_render(const drv_svc_table *t, char *const *stale, drv_buf *out, drv_err *err);
/* Installs the owner's hooks from PREROUTING/OUTPUT/POSTROUTING (once) and replaces the owner's
 * chains with exactly t, atomically. Other owners' chains and every other rule stay. */
int drv_svc_sync(const drv_svc_table *t, drv_err *err);
/* Removes the hooks and all chains of owner (and nothing else). */
int drv_svc_cleanup(const char *owner, drv_err *err);

#endif
