/* The API operations behind both the HTTP handlers and the in-process client: create, update,
 * patch, delete of one object, with Kubernetes' semantics (defaults, validation, optimistic
 * concurrency, generateName, finalizers and deletionTimestamp, dry run). Objects go in as JSON
 * in the served version; results come out as stored bytes (storage version).
 * Failures return -1 with *status set to the Status to answer (a new reference). */
#ifndef DRV_SERVER_OPS_H
#define DRV_SERVER_OPS_H

#include <jansson.h>
#include <stdbool.h>

#include "api/fieldvalidation.h"
#include "api/patch.h"
#include "api/resource.h"
#include "server/server.h"
#include "store/store.h"

typedef struct drv_op {
  const drv_api_resource *res;   /* as served (the path's version) */
  const drv_api_resource *sres;  /* as stored */
  const char *ns;                /* "" or NULL for cluster-scoped */
  const char *name;              /* NULL on create */
  const char *sub;               /* NULL, "status", "scale", "finalize" */
  bool dry_run;
  drv_field_validation fv;
  json_t *warnings;              /* borrowed array to add Warning texts to, may be NULL */
  const char *manager;           /* field manager of the write (managedfields.h), NULL = "drover" */
  bool keep_managed;             /* the object's metadata.managedFields are the server's own
                                    (server-side apply): written as given */
} drv_op;

typedef struct drv_delete_opts {
  const char *propagation;       /* Foreground|Background|Orphan, NULL = default */
  long grace_seconds;            /* < 0 = default */
  const char *pre_uid, *pre_rv;  /* preconditions, NULL = none */
} drv_delete_opts;

int drv_op_create(drv_server *s, const drv_op *op, json_t *obj, drv_store_obj **out,
                  json_t **status);
/* PUT: obj's metadata.resourceVersion (when set) must match. */
int drv_op_update(drv_server *s, const drv_op *op, json_t *obj, drv_store_obj **out,
                  json_t **status);
int drv_op_patch(drv_server *s, const drv_op *op, drv_patch_type type, const char *patch,
                 size_t len, drv_store_obj **out, json_t **status);
/* *out: the deleted object, or the object now marked for deletion (finalizers pending);
 * *deleted tells which. */
int drv_op_delete(drv_server *s, const drv_op *op, const drv_delete_opts *dopts,
                  drv_store_obj **out, bool *deleted, json_t **status);
/* pods/binding: assigns the pod to node once (409 when already assigned); uid may be NULL. */
int drv_op_bind(drv_server *s, const drv_op *op, const char *node, const char *uid,
                json_t **status);
/* A stored object as the served version wants it (a new JSON value). */
json_t *drv_op_to_served(const drv_op *op, const drv_store_obj *o);
/* Creates the standard namespaces (default, kube-system, kube-public, kube-node-lease). */
int drv_op_bootstrap(drv_server *s, drv_err *err);

#endif
