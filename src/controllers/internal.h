/* Shared state and helpers of the controllers (not a public interface). */
#ifndef DRV_CONTROLLERS_INTERNAL_H
#define DRV_CONTROLLERS_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>

#include "api/client.h"
#include "api/informer.h"
#include "api/leader.h"
#include "api/recorder.h"
#include "controllers/controllers.h"
#include "controllers/workqueue.h"

typedef struct drv_ctl drv_ctl;

/* One controller: a queue, workers, a sync function. sync returns 0 (done), < 0 (failed:
 * retried with backoff) or > 0 (requeue after that many ms). */
typedef struct ctl_loop {
  const char *name;
  drv_ctl *ctl;
  drv_workqueue *q;
  int (*sync)(drv_ctl *ctl, const char *key);
  pthread_t threads[4];
  int nthreads;
  drv_recorder *rec;
} ctl_loop;

struct drv_ctl {
  drv_api_client *c;
  drv_controllers_opts o;
  volatile bool stop;
  drv_informer *pods, *rs, *deploy, *nodes, *ns, *svc, *ep, *eps, *leases;
  ctl_loop deployment, replicaset, gc, namespace, nodelife, service, endpoints, nodeipam,
      serviceaccount, rootca, satokensecret;
  drv_informer *tokensecrets; /* Secrets of type kubernetes.io/service-account-token (satokensecret.c) */
  drv_informer *rootca_cm;   /* kube-root-ca.crt ConfigMaps (rootca.c; NULL without a CA) */
  char *root_ca;             /* --root-ca-file's PEM */
  pthread_t ticker;
  pthread_mutex_t tick_lock; /* with tick_cond: stop wakes the ticker from its wait */
  pthread_cond_t tick_cond;
  drv_leader *leader; /* only the leader's workers act */
  /* expectations: pods this process deleted, not yet seen gone (uid → ms) */
  pthread_mutex_t exp_lock;
  json_t *deleted_uids;
  /* node lifecycle state */
  pthread_mutex_t node_lock;
  json_t *node_state; /* name → {"seen": ms, "rv": lease rv, "notready_since": ms} */
  struct ctl_nodeipam *ipam; /* node IPAM's subnets (NULL when it does not allocate) */
};

/* ---- helpers (ctlutil.c) ---- */
extern const drv_api_ref DRV_REF_PODS, DRV_REF_RS, DRV_REF_DEPLOY, DRV_REF_NODES, DRV_REF_NS,
    DRV_REF_SVC, DRV_REF_EP, DRV_REF_EPS, DRV_REF_LEASES;

/* RFC 3339 now. */
void ctl_now(char *buf, size_t size);
/* ms since the RFC 3339 time s (LLONG_MIN/2 when s is NULL or bad). */
long long ctl_age_ms(const char *s);
/* The ownerReference with controller: true, or NULL. */
json_t *ctl_controller_ref(const json_t *obj);
bool ctl_owned_by(const json_t *obj, const char *uid);
/* Index function for informers: the controller's uid, "" for an object without one. */
const char *ctl_index_controller_uid(const json_t *obj);
json_t *ctl_owner_ref(const char *api_version, const char *kind, const json_t *owner, bool controller);
bool ctl_pod_active(const json_t *pod);        /* not terminal, not being deleted */
bool ctl_pod_ready(const json_t *pod);
/* Ready for at least min_ready_s seconds; *wait_ms (may be NULL) gets the time left when
 * ready but not yet available. */
bool ctl_pod_available(const json_t *pod, long long min_ready_s, long long *wait_ms);
/* Condition of type in status.conditions, or NULL. */
json_t *ctl_condition(const json_t *obj, const char *type);
/* Sets a condition in obj's status.conditions (Kubernetes' rules: the transition time is kept
 * when the status does not change; nothing changes when status and reason are the same). */
void ctl_set_condition(json_t *obj, const char *type, const char *status, const char *reason,
                       const char *message, bool keep_update_time_if_same);
void ctl_remove_condition(json_t *obj, const char *type);
/* Keys of the controllers' queues. */
char *ctl_key(const json_t *obj);

void ctl_expect_deleted(drv_ctl *ctl, const char *uid);
bool ctl_is_expected_deleted(drv_ctl *ctl, const char *uid);
void ctl_deleted_seen(drv_ctl *ctl, const char *uid);

/* Loops. */
void ctl_loop_init(drv_ctl *ctl, ctl_loop *l, const char *name, int (*sync)(drv_ctl *, const char *));
int ctl_loop_start(ctl_loop *l, int workers, drv_err *err);
/* Shuts the queue down and joins the workers (informers may still add: a shut queue drops). */
void ctl_loop_stop(ctl_loop *l);
/* After the informers are gone: frees the queue. */
void ctl_loop_free(ctl_loop *l);
void ctl_enqueue(ctl_loop *l, const json_t *obj);
/* The namespace is known to the namespace informer and not terminating. */
bool ctl_namespace_active(drv_ctl *ctl, const char *ns);
/* Queues the name of every namespace that is added or changed while not terminating into l
 * (loops keyed by namespace: default ServiceAccount, root CA ConfigMap). */
void ctl_enqueue_active_namespaces(ctl_loop *l);
/* Queues into l every object of owners (in obj's namespace) whose spec.selector selects obj:
 * the candidates that may adopt an orphan. */
void ctl_enqueue_selecting(ctl_loop *l, drv_informer *owners, const json_t *obj);

/* Controllers. */
int drv_ctl_replicaset_sync(drv_ctl *ctl, const char *key);
void drv_ctl_replicaset_register(drv_ctl *ctl);
int drv_ctl_deployment_sync(drv_ctl *ctl, const char *key);
void drv_ctl_deployment_register(drv_ctl *ctl);
int drv_ctl_gc_sync(drv_ctl *ctl, const char *key);
void drv_ctl_gc_register(drv_ctl *ctl);
int drv_ctl_namespace_sync(drv_ctl *ctl, const char *key);
void drv_ctl_namespace_register(drv_ctl *ctl);
int drv_ctl_serviceaccount_sync(drv_ctl *ctl, const char *ns);
void drv_ctl_serviceaccount_register(drv_ctl *ctl);
int drv_ctl_satokensecret_sync(drv_ctl *ctl, const char *key);
void drv_ctl_satokensecret_register(drv_ctl *ctl);
int drv_ctl_rootca_sync(drv_ctl *ctl, const char *ns);
/* Reads --root-ca-file and registers the publisher's handlers (nothing when it is unset). */
int drv_ctl_rootca_init(drv_ctl *ctl, drv_err *err);
int drv_ctl_nodelife_sync(drv_ctl *ctl, const char *key);
void drv_ctl_nodelife_register(drv_ctl *ctl);
void drv_ctl_nodelife_tick(drv_ctl *ctl);
int drv_ctl_service_sync(drv_ctl *ctl, const char *key);
int drv_ctl_endpoints_sync(drv_ctl *ctl, const char *key);
void drv_ctl_endpoints_register(drv_ctl *ctl);
int drv_ctl_nodeipam_sync(drv_ctl *ctl, const char *key);
void drv_ctl_nodeipam_register(drv_ctl *ctl); /* also initialises its loop */
void drv_ctl_nodeipam_free(drv_ctl *ctl);
struct drv_cidrset;
/* Marks the subnets the nodes' spec.podCIDR hold as used. */
void ctl_nodeipam_rebuild(struct drv_cidrset *set, const json_t *nodes);

#endif
