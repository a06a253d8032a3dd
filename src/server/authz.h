/* RBAC authorization (rbac.authorization.k8s.io/v1) as Kubernetes does it: Roles and
 * ClusterRoles hold rules (verbs, apiGroups, resources incl. "pods/log", resourceNames,
 * nonResourceURLs), RoleBindings grant them in one namespace, ClusterRoleBindings everywhere.
 * system:masters is allowed everything without looking at rules.
 *
 * The rules are compiled once from the store's watch cache and recompiled by a watcher thread
 * when an RBAC object changes, so a decision is a walk over the compiled bindings (no parsing,
 * no store access) on every request. */
#ifndef DRV_SERVER_AUTHZ_H
#define DRV_SERVER_AUTHZ_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "server/auth.h"
#include "store/store.h"

typedef struct drv_authz drv_authz;

/* What a request asks to do. */
typedef struct drv_authz_attrs {
  const char *verb;       /* get list watch create update patch delete deletecollection, or an
                             HTTP verb in lower case for a non-resource path */
  bool resource_request;
  const char *group;      /* "" = core */
  const char *resource;   /* plural */
  const char *sub;        /* subresource or "" */
  const char *ns;         /* "" = cluster scope */
  const char *name;       /* "" = any/collection */
  const char *path;       /* non-resource requests: the URL path */
} drv_authz_attrs;

int drv_authz_open(drv_store *st, drv_authz **out, drv_err *err);
void drv_authz_free(drv_authz *z);

/* true when u may do a. why (may be NULL) gets the RBAC reason ("RBAC: allowed by ..."). */
bool drv_authz_allowed(drv_authz *z, const drv_auth_user *u, const drv_authz_attrs *a, char *why,
                       size_t size);
/* As Kubernetes words a refusal: `User "alice" cannot list resource "pods" in API group ""
 * in the namespace "default"` (caller frees). */
char *drv_authz_denied_message(const drv_auth_user *u, const drv_authz_attrs *a);
/* The 403 Status for a refusal (a new reference). */
json_t *drv_authz_forbidden_status(const drv_auth_user *u, const drv_authz_attrs *a);

/* Escalation checks, as Kubernetes makes them on writes of RBAC objects (no waiting: they
 * run inside writes). NULL when u may write obj (a Role, ClusterRole, RoleBinding or
 * ClusterRoleBinding in ns, "" for cluster-scoped), else the reason it may not (caller frees):
 * a role's rules must all be held by u already, unless u may `escalate` roles; a binding's
 * role must be held entirely, unless u may `bind` it. */
char *drv_authz_escalation(drv_authz *z, const drv_auth_user *u, const char *ns, const json_t *obj);

/* A SelfSubjectRulesReview status for u in ns: {resourceRules, nonResourceRules, incomplete}. */
json_t *drv_authz_rules_status(drv_authz *z, const drv_auth_user *u, const char *ns);

/* The default ClusterRoles and ClusterRoleBindings a server keeps (cluster-admin, admin, edit,
 * view, system:basic-user, system:discovery, system:public-info-viewer, system:node, ...), as
 * an array of objects (a new reference). */
json_t *drv_authz_default_policy(void);

#endif
