/* drover's controllers: Deployment, ReplicaSet, garbage collector, namespace, node
 * lifecycle, node IPAM (pod CIDRs), Service (ClusterIP repair: the server allocates them),
 * Endpoints/EndpointSlices, service accounts (`default` in each namespace), the root CA
 * publisher (kube-root-ca.crt) and the token controller (service account token Secrets).
 * They read through shared informers and write through an API
 * client, so the same code drives drover's server in-process or any Kubernetes-API server
 * over HTTP.
 *
 * Only one instance acts at a time: they hold the Lease kube-system/drover-controllers
 * (api/leader.h) and stand by while another instance does.
 *
 * `drover up` runs them in-process: drv_controllers_start(client, &opts, &c, &err) … at exit
 * drv_controllers_stop(c). `drover controllers --kubeconfig FILE` runs them alone. */
#ifndef DRV_CONTROLLERS_CONTROLLERS_H
#define DRV_CONTROLLERS_CONTROLLERS_H

#include <stdbool.h>

#include "api/client.h"

typedef struct drv_controllers_opts {
  int node_monitor_grace_ms;  /* lease silent this long → node NotReady; 0 = 5000 */
  int pod_eviction_ms;        /* NotReady this long → its pods evicted; 0 = 10000 */
  const char *service_cidr;   /* ClusterIP range; NULL = "10.96.0.0/12" */
  int workers;                /* workers per controller; 0 = 2 */
  bool no_leader_election;    /* act without holding the kube-system/drover-controllers Lease */
  /* Node IPAM: each Node without spec.podCIDR gets a /node_cidr_mask_size of cluster_cidr. */
  const char *cluster_cidr;   /* NULL = DRV_CONTROLLERS_CLUSTER_CIDR */
  int node_cidr_mask_size;    /* 0 = DRV_CONTROLLERS_NODE_CIDR_MASK */
  bool no_allocate_node_cidrs; /* --allocate-node-cidrs=false */
  const char *root_ca_file;   /* the cluster CA published as kube-root-ca.crt; NULL = not */
} drv_controllers_opts;

#define DRV_CONTROLLERS_CLUSTER_CIDR "10.244.0.0/16"
#define DRV_CONTROLLERS_NODE_CIDR_MASK 24

/* Checks the CIDR options; the error names the flag (`--cluster-cidr …: …`). */
int drv_controllers_opts_check(const drv_controllers_opts *opts, drv_err *err);

typedef struct drv_controllers drv_controllers;

int drv_controllers_start(drv_api_client *c, const drv_controllers_opts *opts,
                          drv_controllers **out, drv_err *err);
void drv_controllers_stop(drv_controllers *c);

#endif
