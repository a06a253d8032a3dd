/* The API client every control loop uses: get/list/watch/create/update/patch/delete on JSON
 * objects named by group/version/resource/namespace/name, so the same loop drives drover's
 * server in-process or any Kubernetes-API server over HTTP.
 *
 * Two implementations sit behind one small vtable (drv_api_client_ops):
 *   - HTTP:       drv_api_client_http_new() in api/client_http.c (libcurl; kubeconfig.h);
 *   - in-process: the server's client_local.c fills a drv_api_client with its own ops
 *                 (reads its watch cache, writes through the same validation path).
 * A client is shared by many threads (informers, workers): every op must be thread-safe.
 *
 * Objects are jansson values. Results handed out are new references the caller owns
 * (json_decref). Bodies passed in are borrowed: implementations never keep or modify them.
 *
 * Results: 0 on success; on failure a negative code and err filled with the server's Status
 * message when there is one: -HTTP status for an HTTP error (-404 not found, -409 conflict or
 * already exists, -410 gone, -422 invalid, …), DRV_API_ETRANSPORT when no answer came. */
#ifndef DRV_API_CLIENT_H
#define DRV_API_CLIENT_H

#include <jansson.h>
#include <stdbool.h>

#include "common/err.h"

enum {
  DRV_API_ETRANSPORT = -1,  /* connection/TLS/timeout: no HTTP status */
  DRV_API_EEOF = -2,        /* watch: the server ended the stream cleanly (re-watch) */
  DRV_API_EBADREQ = -400,
  DRV_API_EUNAUTH = -401,
  DRV_API_EFORBIDDEN = -403,
  DRV_API_ENOTFOUND = -404,
  DRV_API_ECONFLICT = -409, /* resourceVersion precondition failed, or AlreadyExists on create */
  DRV_API_EGONE = -410,     /* watch/list from a compacted resourceVersion: relist */
  DRV_API_EINVALID = -422,
  DRV_API_ETOOMANY = -429,
};

/* Names a resource (or a collection when name is NULL). group ""/NULL is the core group
 * (/api/v1); otherwise /apis/<group>/<version>. ns NULL/"" means cluster-scoped, or every
 * namespace for list and watch. */
typedef struct drv_api_ref {
  const char *group;
  const char *version;
  const char *resource;     /* plural, lower case: "pods", "deployments", "leases" */
  const char *ns;
  const char *name;
  const char *subresource;  /* NULL, "status", "binding", "scale", "eviction" */
} drv_api_ref;

typedef struct drv_api_list_opts {
  const char *label_selector;   /* Kubernetes syntax, NULL = everything */
  const char *field_selector;   /* e.g. "spec.nodeName=n1", NULL = everything */
  const char *resource_version; /* list: NULL = latest; watch: events after this one */
  long limit;                   /* list page size, 0 = all */
  const char *continue_token;   /* list: next page */
  int timeout_seconds;          /* watch: server ends the stream after this, 0 = server default */
  bool allow_bookmarks;         /* watch: BOOKMARK events carry the newest resourceVersion */
} drv_api_list_opts;

typedef struct drv_api_delete_opts {
  const char *propagation;       /* "Background", "Foreground", "Orphan"; NULL = resource default */
  const char *precondition_uid;  /* NULL = none */
  const char *precondition_rv;   /* NULL = none */
  long grace_period_seconds;     /* < 0 = unset */
} drv_api_delete_opts;

typedef enum {
  DRV_API_PATCH_MERGE = 0,      /* application/merge-patch+json */
  DRV_API_PATCH_STRATEGIC,      /* application/strategic-merge-patch+json */
  DRV_API_PATCH_JSON,           /* application/json-patch+json */
  DRV_API_PATCH_APPLY,          /* application/apply-patch+yaml (server-side apply) */
} drv_api_patch_type;

typedef enum {
  DRV_API_GET = 0,
  DRV_API_LIST,     /* out: the List object ({"items":[…],"metadata":{"resourceVersion"}}) */
  DRV_API_CREATE,   /* also POST to a subresource: pods/x/binding, pods/x/eviction */
  DRV_API_UPDATE,   /* PUT; metadata.resourceVersion in the body is the precondition */
  DRV_API_PATCH,
  DRV_API_DELETE,   /* out: the deleted object (or the object with deletionTimestamp set), may be a Status */
} drv_api_verb;

typedef struct drv_api_request {
  drv_api_verb verb;
  drv_api_ref ref;
  const drv_api_list_opts *list;      /* LIST; NULL = defaults */
  const drv_api_delete_opts *del;     /* DELETE; NULL = defaults */
  drv_api_patch_type patch_type;      /* PATCH */
  json_t *body;                       /* CREATE/UPDATE/PATCH: borrowed */
  const char *field_manager;          /* NULL = the client's default ("drover-controllers"…) */
} drv_api_request;

typedef enum {
  DRV_API_ADDED = 0,
  DRV_API_MODIFIED,
  DRV_API_DELETED,
  DRV_API_BOOKMARK,
} drv_api_event_type;

typedef struct drv_api_event {
  drv_api_event_type type;
  json_t *object;  /* owned by the caller after watch_next returns 1 */
} drv_api_event;

typedef struct drv_api_client drv_api_client;
typedef struct drv_api_watch drv_api_watch;

typedef struct drv_api_client_ops {
  /* One request; *out (may be NULL when the caller does not want it) gets the response object. */
  int (*call)(drv_api_client *c, const drv_api_request *req, json_t **out, drv_err *err);
  /* Opens a watch on a collection (ref.name NULL; a single object uses field_selector
   * metadata.name=X). opts->resource_version is where to start. */
  int (*watch_open)(drv_api_client *c, const drv_api_ref *ref, const drv_api_list_opts *opts,
                    drv_api_watch **out, drv_err *err);
  /* Waits up to timeout_ms for the next event: 1 = *ev filled, 0 = timed out (call again),
   * DRV_API_EEOF = stream ended (open a new watch from the last resourceVersion),
   * DRV_API_EGONE = resourceVersion too old (relist), other < 0 = error. */
  int (*watch_next)(drv_api_watch *w, int timeout_ms, drv_api_event *ev, drv_err *err);
  void (*watch_close)(drv_api_watch *w);
  void (*free)(drv_api_client *c);
  /* Optional: wakes a watch_next waiting in another thread; it and later calls return at once
   * (0 or an end), so a stopping caller need not sit out its timeout. */
  void (*watch_cancel)(drv_api_watch *w);
} drv_api_client_ops;

struct drv_api_client {
  const drv_api_client_ops *ops;
  void *impl;
};

/* Implementations allocate this and keep their stream state in impl; watch_close frees both. */
struct drv_api_watch {
  const drv_api_client_ops *ops;
  void *impl;
};

/* Generic request (dispatches to ops->call). */
int drv_api_call(drv_api_client *c, const drv_api_request *req, json_t **out, drv_err *err);

/* Conveniences over drv_api_call. ref.name/ns name the object; out may be NULL. */
int drv_api_get(drv_api_client *c, const drv_api_ref *ref, json_t **out, drv_err *err);
int drv_api_list(drv_api_client *c, const drv_api_ref *ref, const drv_api_list_opts *opts,
                 json_t **out, drv_err *err);
int drv_api_create(drv_api_client *c, const drv_api_ref *ref, json_t *obj, json_t **out,
                   drv_err *err);
int drv_api_update(drv_api_client *c, const drv_api_ref *ref, json_t *obj, json_t **out,
                   drv_err *err);
/* PUT to the status subresource (ref->subresource is ignored and set to "status"). */
int drv_api_update_status(drv_api_client *c, const drv_api_ref *ref, json_t *obj, json_t **out,
                          drv_err *err);
int drv_api_patch(drv_api_client *c, const drv_api_ref *ref, drv_api_patch_type type,
                  json_t *patch, json_t **out, drv_err *err);
int drv_api_delete(drv_api_client *c, const drv_api_ref *ref, const drv_api_delete_opts *opts,
                   json_t **out, drv_err *err);
/* POST pods/<name>/binding with a v1 Binding to node. */
int drv_api_bind(drv_api_client *c, const char *ns, const char *pod, const char *pod_uid,
                 const char *node, drv_err *err);

int drv_api_watch_open(drv_api_client *c, const drv_api_ref *ref, const drv_api_list_opts *opts,
                       drv_api_watch **out, drv_err *err);
int drv_api_watch_next(drv_api_watch *w, int timeout_ms, drv_api_event *ev, drv_err *err);
void drv_api_watch_close(drv_api_watch *w);
/* From another thread than the one in watch_next; a no-op for clients without the op. */
void drv_api_watch_cancel(drv_api_watch *w);
void drv_api_client_free(drv_api_client *c);

/* The URL path of a ref ("/api/v1/namespaces/ns/pods/name/status"), for HTTP and for logs. */
char *drv_api_ref_path(const drv_api_ref *ref);
/* "ns/name" or "name": the key informer caches and work queues use. */
char *drv_api_key(const char *ns, const char *name);
/* Splits a key made by drv_api_key; *ns is "" for cluster-scoped. Both are new strings. */
void drv_api_key_split(const char *key, char **ns, char **name);

/* Metadata accessors: api/object.h (drv_obj_name…); dotted paths: common/json.h. */

#endif
