/* The API server's inside: the server state, one request, response helpers shared by the
 * handler files (http.c, objects.c, watch.c, discovery.c, metrics.c, proxy.c). */
#ifndef DRV_SERVER_INTERNAL_H
#define DRV_SERVER_INTERNAL_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "api/resource.h"
#include "common/buf.h"
#include "server/auth.h"
#include "server/authz.h"
#include "server/route.h"
#include "server/server.h"
#include "store/store.h"

/* The agent metrics pushed for metrics.k8s.io, per node and per pod (metrics.c). */
typedef struct drv_metrics drv_metrics;

struct drv_server {
  drv_server_opts opts;
  char *data_dir;
  drv_store *store;
  drv_auth *auth;
  drv_authz *authz;          /* RBAC (authz.c), rules compiled from the watch cache */
  drv_metrics *metrics;
  struct MHD_Daemon *mhd;
  char *cert_pem, *key_pem;
  char server_addr[200];     /* host:port clients reach us at */
  volatile bool stopping;
  int inflight;              /* atomic: requests being served (watches excluded) */
  int conns;                 /* atomic: connections libmicrohttpd holds (accept.c caps it) */
  unsigned conns_started;    /* atomic: connections libmicrohttpd has said it started, ever */
  pthread_mutex_t rate_mu;
  double tokens;             /* rate limiter bucket */
  long long rate_last_ns;
  long long start_ms;
  int lock_fd;
  int relays;                /* atomic: exec/attach sessions being relayed (proxy.c) */
  pthread_mutex_t hk_mu;     /* housekeeping thread (housekeeping.c) */
  pthread_cond_t hk_cond;
  pthread_t hk_thread;
  bool hk_started;
  char *kubeconfig;
  unsigned char secret_key[32];
  uint32_t np_first, np_size;  /* --service-node-port-range */
  pthread_mutex_t np_mu;     /* Service writes that may allocate node ports (services.c) */
  pthread_mutex_t watch_mu;  /* the open HTTP watches (watch.c), woken at stop */
  struct watch_state *watches;
  uint32_t svc_first_ip;     /* the `kubernetes` Service's ClusterIP (host order) */
  uint32_t svc_base, svc_size; /* --service-cluster-ip-range (host order) */
  struct drv_acceptor *acceptor; /* the listening socket and its accept thread (accept.c) */
  struct drv_jwt_key *sa_key;  /* signs service account tokens (DIR/sa.key, tokenrequest.c) */
};

int drv_http_start(drv_server *s, drv_err *err);
/* Checks an "ADDR:PORT" listen address without binding it. */
int drv_http_check_listen(const char *listen, drv_err *err);
void drv_server_atfork_register(void);
int drv_server_housekeeping_start(drv_server *s);
void drv_server_housekeeping_stop(drv_server *s);
/* Deletes Events last seen more than ttl_s before now; returns how many. */
size_t drv_server_expire_events(drv_server *s, time_t now, long ttl_s);
void drv_http_stop(drv_server *s);
/* libmicrohttpd's connection limit, and the cap accept.c keeps s->conns under: libmicrohttpd
 * 0.9.75 deadlocks (every connection thread waits on a mutex nobody holds, for good) when a
 * connection reaches it at its limit, and its own count lags behind closed connections. */
#define DRV_HTTP_MHD_CONN_LIMIT 4000
#define DRV_HTTP_MAX_CONNS 3800

/* The HTTPS listening socket (accept.c): bound by drv_accept_listen (*port = the bound port),
 * connections handed to s->mhd once drv_accept_start runs; plain HTTP gets a 400. */
typedef struct drv_acceptor drv_acceptor;
int drv_accept_listen(drv_server *s, const struct sockaddr *sa, socklen_t len, int *port,
                      drv_err *err);
int drv_accept_start(drv_server *s, drv_err *err);
int drv_accept_fd(drv_server *s);
void drv_accept_stop(drv_server *s);

typedef struct drv_req {
  drv_server *srv;
  struct MHD_Connection *conn;
  const char *method;
  const char *url;
  drv_buf body;
  bool too_large;
  bool counted;              /* counted in srv->inflight */
  void *tls_corked;          /* the GnuTLS session holding this response's records (http.c) */
  drv_route route;
  const char *user;          /* authenticated user name */
  const drv_auth_user *ident; /* and its groups (NULL on public paths) */
  json_t *warnings;          /* strings sent as Warning headers */
} drv_req;

/* ---- responses (http.c) ---- */
/* Each sends and returns MHD's result; they take ownership of what they are given. */
enum MHD_Result drv_respond_bytes(drv_req *r, int code, const char *ctype, char *data, size_t len);
enum MHD_Result drv_respond_static(drv_req *r, int code, const char *ctype, const char *data);
enum MHD_Result drv_respond_json(drv_req *r, int code, json_t *v);
enum MHD_Result drv_respond_obj(drv_req *r, int code, drv_store_obj *o);
enum MHD_Result drv_respond_status(drv_req *r, json_t *status);
enum MHD_Result drv_respond_response(drv_req *r, int code, struct MHD_Response *resp);

const char *drv_req_arg(drv_req *r, const char *name);
const char *drv_req_header(drv_req *r, const char *name);
bool drv_req_flag(drv_req *r, const char *name); /* ?x=true|1 */
/* The request body (JSON or protobuf) as an object, or NULL with *status: 400. */
json_t *drv_req_body_object(drv_req *r, json_t **status);

/* ---- objects (objects.c) ---- */
enum MHD_Result drv_serve_objects(drv_req *r);
/* Storage key and collection prefix for a stored resource. Caller frees. */
char *drv_server_key(const drv_api_resource *sres, const char *ns, const char *name);
char *drv_server_prefix(const drv_api_resource *sres, const char *ns);
/* The stored core/v1 object plural ns/name, decoded (a new reference), or NULL. */
json_t *drv_server_stored_core(drv_server *s, const char *plural, const char *ns, const char *name);

/* ---- Services (services.c) ---- */
/* Node ports for a NodePort/LoadBalancer Service being written (svc, changed in place; old: the
 * Service before an update, or NULL): missing ones allocated, explicit ones checked (in range,
 * not another Service's). NULL, or the Status to answer. Call with s->np_mu held. */
json_t *drv_server_node_ports(drv_server *s, const drv_api_resource *res, json_t *svc,
                              const json_t *old);
/* The ClusterIP of a Service being written (svc, changed in place; old: before an update, or
 * NULL): allocated when missing, a requested one checked (valid, in range, not another
 * Service's), "None" kept (headless), none for ExternalName; spec.clusterIPs follows. The set
 * in use is read from the stored Services, so a deleted Service's address is free again. NULL,
 * or the Status to answer. Call with s->np_mu held. */
json_t *drv_server_cluster_ip(drv_server *s, const drv_api_resource *res, json_t *svc, const json_t *old);
/* Creates or refreshes Service, Endpoints and EndpointSlice `kubernetes` in default. */
int drv_server_ensure_kubernetes_service(drv_server *s, drv_err *err);

/* ---- service account tokens (tokenrequest.c) ---- */
/* The identity of a valid service account token (satoken.h); false when it is not one. */
bool drv_server_sa_authenticate(drv_server *s, const char *tok, drv_auth_user *u);
/* POST serviceaccounts/NAME/token (TokenRequest). */
enum MHD_Result drv_serve_token_request(drv_req *r);
/* A TokenReview body (stolen) answered. */
enum MHD_Result drv_serve_token_review(drv_req *r, json_t *body);

/* ---- ServiceAccount admission and each namespace's defaults (sadmission.c) ---- */
/* On pod create: the service account defaulted and looked up, the token volume added. NULL,
 * or the Status to answer. */
json_t *drv_server_pod_sa_admit(drv_server *s, const drv_api_resource *res, const char *ns, json_t *pod);
/* The `default` ServiceAccount and kube-root-ca.crt ConfigMap of ns, created when missing. */
int drv_server_namespace_defaults(drv_server *s, const char *ns, drv_err *err);
int drv_server_namespace_defaults_all(drv_server *s, drv_err *err);

/* ---- watch (watch.c) ---- */
enum MHD_Result drv_serve_watch(drv_req *r, const drv_api_resource *res,
                                const drv_api_resource *sres);
/* Wakes every open watch (after `stopping` is set) so that each ends now, not at its next
 * one-second check. */
void drv_watch_cancel_all(drv_server *s);

/* ---- discovery, version, health, openapi (discovery.c) ---- */
enum MHD_Result drv_serve_meta(drv_req *r);

/* ---- metrics.k8s.io and the agents' push endpoint (metrics.c) ---- */
int drv_metrics_new(drv_metrics **out);
void drv_metrics_free(drv_metrics *m);
/* Serves /apis/metrics.k8s.io/v1beta1/... and the push endpoint; returns MHD_NO-as-false when
 * the route is not for it (handled = false). */
enum MHD_Result drv_serve_metrics(drv_req *r, bool *handled);


/* ---- authorization (rbac.c) ---- */
/* NULL when r's identity may do what r asks, else the 403 Status to answer. */
json_t *drv_server_authorize(drv_req *r);
/* Creates the default ClusterRoles and bindings that are missing (authz_policy.c). */
int drv_server_rbac_bootstrap(drv_server *s, drv_err *err);
/* authorization.k8s.io and authentication.k8s.io reviews; handled = false when the route is
 * not one of them. */
enum MHD_Result drv_serve_reviews(drv_req *r, bool *handled);
/* Impersonate-User/Impersonate-Group (kubectl --as/--as-group): when present and the
 * identity may impersonate them, *ident becomes the impersonated one; else the Status. */
json_t *drv_server_impersonate(drv_req *r, drv_auth_user *ident);
/* The identity of the HTTP request this thread serves (NULL for in-process callers and public
 * paths), for checks deep in writes. */
extern __thread const drv_auth_user *drv_server_tls_ident;
/* Escalation check of a write of an RBAC object by that identity: NULL, or the 403 Status. */
json_t *drv_server_rbac_admit(drv_server *s, const drv_api_resource *res, const char *ns, const json_t *obj);

/* ---- pods/log, exec, attach proxied to the node agent (proxy.c) ---- */
enum MHD_Result drv_serve_pod_proxy(drv_req *r, const drv_api_resource *res);

/* Object-level selector data (labels + the object, for field selectors), computed lazily
 * by the store (objects.c). */
void *drv_server_attrs(const drv_store_obj *o);
void drv_server_attrs_free(void *a);
/* labels of an object's attrs (may be NULL) and the parsed object */
const json_t *drv_server_attrs_labels(void *a);
const json_t *drv_server_attrs_obj(void *a);

#endif
