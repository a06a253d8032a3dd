/* Node IPAM, as kube-controller-manager's with --allocate-node-cidrs: every Node without
 * spec.podCIDR gets the lowest free subnet of the cluster CIDR (spec.podCIDR and
 * spec.podCIDRs), written with the Node's resourceVersion as precondition so a concurrent
 * writer is never overwritten. The used subnets are rebuilt from the Nodes at start (the
 * informers are synced before any worker runs) and followed from then on: a Node's subnet is
 * freed when the Node goes. A Node that finds the range full gets a CIDRAssignmentFailed Event
 * and is retried, and at once when another Node goes. */
#include <stdlib.h>
#include <string.h>

#include "api/object.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "controllers/cidrset.h"
#include "controllers/internal.h"

#define RETRY_FULL_MS 10000

struct ctl_nodeipam {
  pthread_mutex_t lock;
  drv_cidrset *set;
};

static const char *node_cidr(const json_t *node)
{
  const char *c = drv_json_get_str(node, "spec.podCIDR");
  return c && *c ? c : NULL;
}

int drv_controllers_opts_check(const drv_controllers_opts *o, drv_err *err)
{
  uint32_t base;
  int prefix;
  if (o->service_cidr && drv_cidr_parse(o->service_cidr, 8, 30, &base, &prefix, err) < 0)
    return drv_err_prefix(err, "--service-cidr");
  if (o->no_allocate_node_cidrs) return 0;
  drv_cidrset *s = NULL;
  const char *cidr = o->cluster_cidr ? o->cluster_cidr : DRV_CONTROLLERS_CLUSTER_CIDR;
  if (drv_cidr_parse(cidr, 1, 30, &base, &prefix, err) < 0) return drv_err_prefix(err, "--cluster-cidr");
  int mask = o->node_cidr_mask_size ? o->node_cidr_mask_size : DRV_CONTROLLERS_NODE_CIDR_MASK;
  if (drv_cidrset_new(cidr, mask, &s, err) < 0) return drv_err_prefix(err, "--node-cidr-mask-size");
  drv_cidrset_free(s);
  return 0;
}

void ctl_nodeipam_rebuild(drv_cidrset *set, const json_t *nodes)
{
  size_t i;
  json_t *n;
  json_array_foreach(nodes, i, n)
  {
    const char *c = node_cidr(n);
    if (c) drv_cidrset_occupy(set, c);
  }
}

/* Writes cidr into the node; 0 done (or the node is gone), DRV_API_ECONFLICT when the node
 * changed meanwhile, < 0 otherwise. */
static int write_cidr(drv_ctl *ctl, const json_t *node, const char *cidr)
{
  json_t *upd = json_deep_copy(node);
  json_t *spec = drv_json_obj(upd, "spec");
  json_object_set_new(spec, "podCIDR", json_string(cidr));
  json_object_set_new(spec, "podCIDRs", json_pack("[s]", cidr));
  drv_api_ref ref = DRV_REF_NODES;
  ref.name = drv_obj_name(node);
  json_t *out = NULL;
  drv_err err;
  int rc = drv_api_update(ctl->c, &ref, upd, &out, &err);
  json_decref(upd);
  if (rc == 0) drv_informer_store_hint(ctl->nodes, out);
  json_decref(out);
  if (rc < 0 && rc != DRV_API_ECONFLICT && rc != DRV_API_ENOTFOUND)
    drv_log_warn("node-ipam: node %s: set pod CIDR %s: %s", ref.name, cidr, err.msg);
  return rc == DRV_API_ENOTFOUND ? 0 : rc;
}

int drv_ctl_nodeipam_sync(drv_ctl *ctl, const char *name)
{
  struct ctl_nodeipam *ip = ctl->ipam;
  if (!ip) return 0;
  json_t *node = drv_informer_get(ctl->nodes, NULL, name);
  for (int attempt = 0; node && attempt < 5; attempt++) {
    if (node_cidr(node) || drv_obj_deletion_timestamp(node)) break;
    char cidr[DRV_CIDR_STRLEN];
    drv_err err;
    pthread_mutex_lock(&ip->lock);
    int r = drv_cidrset_allocate(ip->set, cidr, &err);
    pthread_mutex_unlock(&ip->lock);
    if (r < 0) {
      drv_recorder_event(ctl->nodeipam.rec, node, "v1", "Node", "Warning", "CIDRAssignmentFailed",
                         "Node %s: CIDR assignment failed: %s", name, err.msg);
      json_decref(node);
      return RETRY_FULL_MS;
    }
    r = write_cidr(ctl, node, cidr);
    if (r == 0) {
      drv_log_info("node-ipam: node %s: pod CIDR %s", name, cidr);
      json_decref(node);
      return 0;
    }
    /* not written: the subnet is free again, unless a Node holds it after all */
    pthread_mutex_lock(&ip->lock);
    drv_cidrset_release(ip->set, cidr);
    json_t *all = drv_informer_list(ctl->nodes, NULL, NULL, NULL);
    ctl_nodeipam_rebuild(ip->set, all);
    json_decref(all);
    pthread_mutex_unlock(&ip->lock);
    json_decref(node);
    if (r != DRV_API_ECONFLICT) return -1;
    /* someone else wrote the Node: read it again and decide again */
    drv_api_ref ref = DRV_REF_NODES;
    ref.name = name;
    node = NULL;
    if (drv_api_get(ctl->c, &ref, &node, &err) == DRV_API_ENOTFOUND) return 0;
    if (!node) return -1;
  }
  json_decref(node);
  return 0;
}

static void node_add(void *ud, json_t *o)
{
  drv_ctl *ctl = ud;
  const char *c = node_cidr(o);
  if (c) {
    pthread_mutex_lock(&ctl->ipam->lock);
    drv_cidrset_occupy(ctl->ipam->set, c);
    pthread_mutex_unlock(&ctl->ipam->lock);
  } else
    drv_workqueue_add(ctl->nodeipam.q, drv_obj_name(o));
}

static void node_upd(void *ud, json_t *old, json_t *o)
{
  drv_ctl *ctl = ud;
  const char *a = node_cidr(old), *b = node_cidr(o);
  if (old != o && a && (!b || strcmp(a, b))) {
    /* set by hand to another range: the old one is free unless another Node holds it */
    pthread_mutex_lock(&ctl->ipam->lock);
    drv_cidrset_release(ctl->ipam->set, a);
    json_t *all = drv_informer_list(ctl->nodes, NULL, NULL, NULL);
    ctl_nodeipam_rebuild(ctl->ipam->set, all);
    json_decref(all);
    pthread_mutex_unlock(&ctl->ipam->lock);
  }
  node_add(ud, o);
}

static void node_del(void *ud, json_t *o)
{
  drv_ctl *ctl = ud;
  const char *c = node_cidr(o);
  if (!c) return;
  json_t *all = drv_informer_list(ctl->nodes, NULL, NULL, NULL);
  size_t i;
  json_t *n;
  pthread_mutex_lock(&ctl->ipam->lock);
  drv_cidrset_release(ctl->ipam->set, c);
  /* unless another Node holds it too (set by hand) */
  json_array_foreach(all, i, n)
    if (strcmp(drv_obj_name(n), drv_obj_name(o)) && node_cidr(n)) drv_cidrset_occupy(ctl->ipam->set, node_cidr(n));
  pthread_mutex_unlock(&ctl->ipam->lock);
  /* a subnet came free: Nodes waiting for one try again */
  json_array_foreach(all, i, n)
    if (!node_cidr(n) && strcmp(drv_obj_name(n), drv_obj_name(o)))
      drv_workqueue_add(ctl->nodeipam.q, drv_obj_name(n));
  json_decref(all);
}

void drv_ctl_nodeipam_register(drv_ctl *ctl)
{
  ctl_loop_init(ctl, &ctl->nodeipam, "node-ipam-controller", drv_ctl_nodeipam_sync);
  if (ctl->o.no_allocate_node_cidrs) return;
  const char *cidr = ctl->o.cluster_cidr ? ctl->o.cluster_cidr : DRV_CONTROLLERS_CLUSTER_CIDR;
  int mask = ctl->o.node_cidr_mask_size ? ctl->o.node_cidr_mask_size : DRV_CONTROLLERS_NODE_CIDR_MASK;
  drv_cidrset *set;
  drv_err err;
  if (drv_cidrset_new(cidr, mask, &set, &err) < 0) {
    drv_log_error("node-ipam: %s: not allocating node CIDRs", err.msg);
    return;
  }
  ctl->ipam = drv_calloc(1, sizeof *ctl->ipam);
  pthread_mutex_init(&ctl->ipam->lock, NULL);
  ctl->ipam->set = set;
  drv_informer_add_handlers(ctl->nodes, &(drv_informer_handlers){node_add, node_upd, node_del, ctl});
}

void drv_ctl_nodeipam_free(drv_ctl *ctl)
{
  if (!ctl->ipam) return;
  drv_cidrset_free(ctl->ipam->set);
  pthread_mutex_destroy(&ctl->ipam->lock);
  free(ctl->ipam);
  ctl->ipam = NULL;
}
