/* The agent's own structures, shared by its files (not a public interface). */
#ifndef DRV_AGENT_INTERNAL_H
#define DRV_AGENT_INTERNAL_H

#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent/agent.h"
#include "agent/eviction.h"
#include "agent/probe.h"
#include "agent/status.h"
#include "api/client.h"
#include "api/informer.h"
#include "api/kubeconfig.h"
#include "common/err.h"

struct drv_image_store;
struct drv_ipam;

#define DRV_LOG_MAX_SIZE (10u * 1024 * 1024)
#define DRV_LOG_MAX_FILES 5

typedef struct drv_ctr {
  char *name;
  bool init;
  json_t *spec;          /* this container's spec (own reference) */
  int attempt;           /* = restartCount */
  char *rt_id;           /* runtime container id of the current attempt, NULL when none */
  char cid[192];         /* "drover://<id>" of the last started attempt, "" before */
  pid_t pid;
  unsigned long long pid_start; /* start time of pid: a cheap liveness check between syncs */
  char *image_id;
  drv_cs_kind kind;
  char *reason, *message;
  long long started_ms;
  drv_cs_term term;      /* strings below own what term points to */
  char *term_reason, *term_message;
  bool has_last;
  drv_cs_term last;
  char *last_reason;
  int failures;          /* consecutive failures, for back-off */
  long long retry_at_ms; /* monotonic; 0 = now */
  bool ready, started;
  bool done;             /* terminated for good (no restart) */
  drv_probe_state liveness, readiness, startup;
  struct drv_pull_job *pull; /* an image pull running in its own thread, NULL when none */
  json_t *mounts;        /* volumes.c: the volume mounts of the attempt being created */
} drv_ctr;

typedef struct drv_pod {
  char *uid, *ns, *name;
  char *dir;                   /* <data>/pods/<uid> */
  json_t *obj;                 /* latest object from the server, NULL once it is gone */
  pid_t sandbox_pid;
  unsigned long long sandbox_start;
  char ip[INET_ADDRSTRLEN];
  char ifname[16];
  char *cgroup;                /* the pod's cgroup (podcgroup.h), once known */
  bool evicted;                /* evicted or rejected under node pressure: Failed, nothing runs */
  bool sandbox_cg_pending;     /* the sandbox is still to move into the pod's cgroup */
  drv_ctr *init;
  size_t n_init;
  drv_ctr *ctrs;
  size_t n_ctrs;
  bool init_done;
  long long start_ms;          /* wall */
  bool terminating;
  long long kill_at_ms;        /* monotonic: SIGKILL after the grace period */
  bool gone;                   /* cleaned up; drop from the table */
  char *last_status;           /* last status sent (canonical JSON) */
  char *last_sig;              /* summary of the state that status was built from */
  char *reason, *message;      /* pod-level failure */
  long long next_sync_ms;
  json_t *vols;                /* volumes.c: per volume, the digest of the content written */
  bool vols_ready;             /* every volume was set up once */
  long long vols_event_ms;     /* last FailedMount Event (monotonic) */
} drv_pod;

typedef struct drv_agent_pods {
  drv_pod **v;
  size_t n, cap;
} drv_agent_pods;

struct drv_agent {
  drv_agent_opts o;            /* strings owned below */
  char *data_dir, *node_name, *node_ip, *pod_cidr, *bridge, *rt_root, *pods_dir;
  int port;
  drv_api_client *api;
  struct drv_recorder *rec;    /* Events (source kubelet, host = the node) */
  drv_kubeconfig kc;           /* how to reach the server (and check callers' tokens with it) */
  struct drv_token_cache *tokens; /* bearer tokens recently found valid, under lock */
  size_t n_tokens;
  struct drv_image_store *images;
  struct drv_ipam *ipam;
  bool network;                /* pods get a veth on the bridge */
  drv_informer *pod_inf;
  drv_informer *node_inf;
  drv_informer *svc_inf;
  drv_informer *ep_inf;

  pthread_mutex_t lock;        /* pods table, wake flag */
  pthread_cond_t cond;
  bool wake;
  bool stop;
  drv_agent_pods pods;
  pthread_t worker, lease, metrics_thr;
  bool threads_started;
  struct drv_hserv *httpd;
  int dns_fd;                  /* cluster DNS socket, -1 when not serving */
  pthread_t dns_thr;
  char *metrics_last;          /* last snapshot for /metrics as compact JSON, under lock */
  char *svc_rules_last;        /* last iptables rules applied */
  char *routes_last;
  drv_ev_config ev;            /* --eviction-hard */
  bool ev_enabled;
  bool pressure[3];            /* Memory, Disk, PID pressure (atomic: read by the lease thread) */
  long long pressure_at[3];    /* monotonic ms the threshold was last crossed */
  bool node_status_dirty;      /* a condition changed: post the Node's status now (atomic) */
  char cond_evented[4];        /* Ready, Memory/Disk/PIDPressure: status last evented ('T'/'F'), lease thread */
  long long start_ms;
  struct drv_volsrc *volsrc;   /* volsrc.c: the ConfigMaps/Secrets pods mount, watched */
};

/* pod.c */
drv_pod *drv_pod_new(struct drv_agent *a, const char *uid, const char *ns, const char *name);
void drv_pod_free(drv_pod *p);
/* One reconciling step; never blocks longer than one container start or image pull. */
void drv_pod_sync(struct drv_agent *a, drv_pod *p);
/* Sets p->obj from the server's object (or NULL) and the container tables from its spec. */
void drv_pod_set_object(drv_pod *p, json_t *obj);
/* Waits for image pulls still running in their threads (at agent stop). */
void drv_pod_pulls_wait(void);
drv_pod *drv_agent_find_pod(struct drv_agent *a, const char *ns, const char *name);

/* Moves a new pod's sandbox into its cgroup's leaf (after the worker's pass: see pod.c). */
void drv_pod_sandbox_cgroup(drv_pod *p);
/* Kills and removes everything of p (containers, sandbox, network, cgroups, its dir) and
 * marks it gone. */
void drv_pod_cleanup(struct drv_agent *a, drv_pod *p);

/* eviction.c (under the lock): kubelet's hard-threshold eviction, one check. */
void drv_agent_eviction_check(struct drv_agent *a);
/* A pod not started yet that the node's pressure conditions refuse (it becomes Failed/Evicted),
 * or one evicted already: true = run nothing, just report. */
bool drv_pod_admission_rejects(struct drv_agent *a, drv_pod *p);

/* checkpoint.c */
int drv_pod_checkpoint(struct drv_agent *a, drv_pod *p);
/* Loads every <data>/pods/<uid>/state.json into a->pods. */
void drv_pods_restore(struct drv_agent *a);

/* ocispec.c: the OCI config of one container of p. */
json_t *drv_ctr_oci_spec(struct drv_agent *a, drv_pod *p, drv_ctr *c, const char *rootfs,
                         char **args, char **env, const char *cwd, const char *image_user,
                         drv_err *err);
/* Kubernetes' runAsNonRoot check (before anything is created): EPERM with kubelet's message. */
int drv_ctr_check_nonroot(drv_pod *p, drv_ctr *c, const char *image_user, drv_err *err);
char *drv_ctr_cgroup_path(drv_pod *p, const char *rt_id);
char *drv_pod_cgroup_parent(drv_pod *p);

/* volumes.c */
/* Sets up the pod's volumes (emptyDir, and configMap/secret/downwardAPI/projected content
 * swapped in atomically) and refreshes the content that changed. -1 with kubelet's
 * "MountVolume.SetUp failed for volume ..." while one is not ready (a FailedMount Event). */
int drv_pod_volumes_sync(struct drv_agent *a, drv_pod *p, drv_err *err);
/* The OCI mounts of c's volumeMounts (subPath/subPathExpr resolved inside the volume and bound
 * onto a private path); -1 with kubelet's message (CreateContainerConfigError). */
int drv_ctr_volume_mounts(struct drv_agent *a, drv_pod *p, drv_ctr *c, char *const *env,
                          json_t **out, drv_err *err);
/* Unmounts everything under the pod's dir: -1 when something stays (do not remove the dir). */
int drv_pod_volumes_cleanup(drv_pod *p, drv_err *err);
void drv_pod_volumes_free(drv_pod *p);
char *drv_pod_volume_dir(drv_pod *p, const char *name);
/* A resourceFieldRef's value (limits/requests of cpu, memory, ephemeral-storage with divisor;
 * a missing limit is the node's allocatable); ctr: the container when containerName is unset. */
int drv_resource_field_value(struct drv_agent *a, drv_pod *p, const json_t *ctr, const json_t *ref,
                             char **out, drv_err *err);

/* satoken.c: the token of a projected serviceAccountToken source (src) of pod p, bound to the
 * pod, kept in p->vols and requested again at 80% of its lifetime. *token stays valid until
 * the next call; *issued_ms tells when it was fetched. -1 with kubelet's "failed to fetch
 * token: ..." message. */
int drv_pod_sa_token(struct drv_agent *a, drv_pod *p, const json_t *src, const char **token, long long *issued_ms,
                     drv_err *err);

/* volsrc.c: the ConfigMaps and Secrets pods mount, watched by name; changed(ud) runs on its
 * thread after one changed. drv_volsrc_get: 0 with *out, 1 when it does not exist, -1. */
typedef struct drv_volsrc drv_volsrc;
drv_volsrc *drv_volsrc_new(drv_api_client *api, void (*changed)(void *ud), void *ud);
void drv_volsrc_free(drv_volsrc *v);
int drv_volsrc_get(drv_volsrc *v, const char *ns, bool secret, const char *name, json_t **out,
                   drv_err *err);

/* exec.c: sets proc's env and cwd to the container's (its bundle's config.json: image env +
 * pod env), TERM=xterm with a terminal. */
void drv_ctr_exec_env_cwd(struct drv_agent *a, const char *rt_id, bool tty, json_t *proc);

/* httpd.c */
struct sockaddr_in;
/* "ADDR:PORT" (ADDR may be empty: all addresses) of --listen. */
int drv_agent_listen_parse(const char *listen, struct sockaddr_in *sa, drv_err *err);
int drv_agent_httpd_start(struct drv_agent *a, drv_err *err);
void drv_agent_httpd_stop(struct drv_agent *a);
char *drv_ctr_log_path(drv_pod *p, const char *ctr, int attempt);

/* netsync.c: peer routes, Service and hostPort rules (called without the lock). hostports
 * copies this node's hostPorts out of the pods table (under the lock). */
struct drv_hostport;
void drv_agent_sync_routes(struct drv_agent *a);
void drv_agent_sync_services(struct drv_agent *a, const struct drv_hostport *hps, size_t n_hps);
void drv_agent_hostports(struct drv_agent *a, struct drv_hostport **out, size_t *n);
void drv_agent_hostports_free(struct drv_hostport *v, size_t n);

/* metrics.c */
void *drv_agent_metrics_thread(void *arg);

#endif
