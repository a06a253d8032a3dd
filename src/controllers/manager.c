/* Starts the controllers: shared informers, one work queue and worker threads per
 * controller, and a ticker for what time alone changes (node leases). */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "controllers/internal.h"

struct drv_controllers {
  drv_ctl ctl;
};

static void *ticker(void *arg)
{
  drv_ctl *ctl = arg;
  pthread_mutex_lock(&ctl->tick_lock);
  while (!ctl->stop) {
    struct timespec ts = drv_deadline_ms(CLOCK_REALTIME, 250);
    pthread_cond_timedwait(&ctl->tick_cond, &ctl->tick_lock, &ts);
    if (ctl->stop) break;
    pthread_mutex_unlock(&ctl->tick_lock);
    if (drv_leader_is_leader(ctl->leader)) drv_ctl_nodelife_tick(ctl);
    pthread_mutex_lock(&ctl->tick_lock);
  }
  pthread_mutex_unlock(&ctl->tick_lock);
  return NULL;
}

int drv_controllers_start(drv_api_client *c, const drv_controllers_opts *opts,
                          drv_controllers **out, drv_err *err)
{
  if (opts && drv_controllers_opts_check(opts, err) < 0) return -1;
  drv_controllers *cs = drv_calloc(1, sizeof *cs);
  drv_ctl *ctl = &cs->ctl;
  ctl->c = c;
  if (opts) ctl->o = *opts;
  if (ctl->o.node_monitor_grace_ms <= 0) ctl->o.node_monitor_grace_ms = 5000;
  if (ctl->o.pod_eviction_ms <= 0) ctl->o.pod_eviction_ms = 10000;
  if (!ctl->o.service_cidr) ctl->o.service_cidr = "10.96.0.0/12";
  int workers = ctl->o.workers > 0 ? ctl->o.workers : 2;
  pthread_mutex_init(&ctl->exp_lock, NULL);
  pthread_mutex_init(&ctl->tick_lock, NULL);
  pthread_cond_init(&ctl->tick_cond, NULL);
  pthread_mutex_init(&ctl->node_lock, NULL);
  ctl->deleted_uids = json_object();
  ctl->node_state = json_object();
  ctl->pods = drv_informer_new(c, &DRV_REF_PODS, NULL, NULL);
  ctl->rs = drv_informer_new(c, &DRV_REF_RS, NULL, NULL);
  ctl->deploy = drv_informer_new(c, &DRV_REF_DEPLOY, NULL, NULL);
  ctl->nodes = drv_informer_new(c, &DRV_REF_NODES, NULL, NULL);
  ctl->ns = drv_informer_new(c, &DRV_REF_NS, NULL, NULL);
  ctl->svc = drv_informer_new(c, &DRV_REF_SVC, NULL, NULL);
  ctl->leases = drv_informer_new(c, &(drv_api_ref){.group = "coordination.k8s.io", .version = "v1",
                                                   .resource = "leases", .ns = "kube-node-lease"},
                                 NULL, NULL);
  drv_informer_set_index(ctl->pods, ctl_index_controller_uid);
  drv_informer_set_index(ctl->rs, ctl_index_controller_uid);
  ctl_loop_init(ctl, &ctl->deployment, "deployment-controller", drv_ctl_deployment_sync);
  ctl_loop_init(ctl, &ctl->replicaset, "replicaset-controller", drv_ctl_replicaset_sync);
  ctl_loop_init(ctl, &ctl->gc, "garbage-collector-controller", drv_ctl_gc_sync);
  ctl_loop_init(ctl, &ctl->namespace, "namespace-controller", drv_ctl_namespace_sync);
  ctl_loop_init(ctl, &ctl->nodelife, "node-controller", drv_ctl_nodelife_sync);
  ctl_loop_init(ctl, &ctl->service, "service-controller", drv_ctl_service_sync);
  ctl_loop_init(ctl, &ctl->endpoints, "endpoint-controller", drv_ctl_endpoints_sync);
  ctl_loop_init(ctl, &ctl->serviceaccount, "service-account-controller", drv_ctl_serviceaccount_sync);
  ctl_loop_init(ctl, &ctl->rootca, "root-ca-cert-publisher", drv_ctl_rootca_sync);
  ctl_loop_init(ctl, &ctl->satokensecret, "token-controller", drv_ctl_satokensecret_sync);
  drv_ctl_replicaset_register(ctl);
  drv_ctl_deployment_register(ctl);
  drv_ctl_gc_register(ctl);
  drv_ctl_namespace_register(ctl);
  drv_ctl_nodelife_register(ctl);
  drv_ctl_endpoints_register(ctl);
  drv_ctl_nodeipam_register(ctl);
  drv_ctl_serviceaccount_register(ctl);
  drv_ctl_satokensecret_register(ctl);
  if (drv_ctl_rootca_init(ctl, err) < 0) goto fail;
  if (!ctl->o.no_leader_election) {
    _cleanup_free_ char *id = drv_leader_identity();
    ctl->leader = drv_leader_new(c, "kube-system", "drover-controllers", id, 0);
    if (drv_leader_start(ctl->leader, err) < 0) goto fail;
  }
  drv_informer *infs[] = {ctl->pods, ctl->rs, ctl->deploy, ctl->nodes, ctl->ns, ctl->svc, ctl->leases,
                          ctl->tokensecrets};
  for (size_t i = 0; i < DRV_ARRAY_LEN(infs); i++)
    if (drv_informer_start(infs[i], err) < 0) goto fail;
  if (ctl->rootca_cm && drv_informer_start(ctl->rootca_cm, err) < 0) goto fail;
  for (size_t i = 0; i < DRV_ARRAY_LEN(infs); i++) drv_informer_wait_synced(infs[i], 10000);
  if (ctl->rootca_cm) drv_informer_wait_synced(ctl->rootca_cm, 10000);
  ctl_loop *loops[] = {&ctl->deployment, &ctl->replicaset, &ctl->gc, &ctl->namespace,
                       &ctl->nodelife, &ctl->service, &ctl->endpoints, &ctl->nodeipam,
                       &ctl->serviceaccount, &ctl->rootca, &ctl->satokensecret};
  for (size_t i = 0; i < DRV_ARRAY_LEN(loops); i++)
    if (ctl_loop_start(loops[i], workers, err) < 0) goto fail;
  if (pthread_create(&ctl->ticker, NULL, ticker, ctl)) {
    drv_error(err, 0, "start the controllers' ticker");
    goto fail;
  }
  *out = cs;
  return 0;
fail:
  drv_controllers_stop(cs);
  return -1;
}

void drv_controllers_stop(drv_controllers *cs)
{
  if (!cs) return;
  drv_ctl *ctl = &cs->ctl;
  pthread_mutex_lock(&ctl->tick_lock);
  ctl->stop = true;
  pthread_cond_broadcast(&ctl->tick_cond);
  pthread_mutex_unlock(&ctl->tick_lock);
  if (ctl->ticker) pthread_join(ctl->ticker, NULL);
  ctl_loop *loops[] = {&ctl->deployment, &ctl->replicaset, &ctl->gc, &ctl->namespace,
                       &ctl->nodelife, &ctl->service, &ctl->endpoints, &ctl->nodeipam,
                       &ctl->serviceaccount, &ctl->rootca, &ctl->satokensecret};
  for (size_t i = 0; i < DRV_ARRAY_LEN(loops); i++) ctl_loop_stop(loops[i]);
  drv_leader_free(ctl->leader);
  /* informer threads call handlers that add to the queues: stop them before the queues go */
  drv_informer *infs[] = {ctl->pods, ctl->rs, ctl->deploy, ctl->nodes, ctl->ns, ctl->svc, ctl->leases,
                          ctl->tokensecrets};
  for (size_t i = 0; i < DRV_ARRAY_LEN(infs); i++) drv_informer_free(infs[i]);
  if (ctl->rootca_cm) drv_informer_free(ctl->rootca_cm);
  free(ctl->root_ca);
  for (size_t i = 0; i < DRV_ARRAY_LEN(loops); i++) ctl_loop_free(loops[i]);
  json_decref(ctl->deleted_uids);
  json_decref(ctl->node_state);
  drv_ctl_nodeipam_free(ctl);
  pthread_mutex_destroy(&ctl->exp_lock);
  pthread_mutex_destroy(&ctl->tick_lock);
  pthread_cond_destroy(&ctl->tick_cond);
  pthread_mutex_destroy(&ctl->node_lock);
  free(cs);
}
