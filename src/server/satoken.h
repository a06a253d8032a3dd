/* Service account tokens as Kubernetes makes them (TokenRequest): JWTs (jwt.h) with the claims
 * iss, sub system:serviceaccount:NS:NAME, aud, exp, iat, nbf, jti and kubernetes.io {namespace,
 * serviceaccount {name, uid}, pod|secret {name, uid}}. A token authenticates while it is
 * signed by the key, unexpired, meant for the server's audience, and the service account (and
 * the object it is bound to) still exist with the same uid. */
#ifndef DRV_SERVER_SATOKEN_H
#define DRV_SERVER_SATOKEN_H

#include <jansson.h>

#include "common/err.h"
#include "server/auth.h"
#include "server/jwt.h"

/* What Kubernetes' API server uses by default as issuer and (its only) audience. */
#define DRV_SA_ISSUER "https://kubernetes.default.svc.cluster.local"
#define DRV_SA_PREFIX "system:serviceaccount:"
#define DRV_SA_GROUP "system:serviceaccounts"

typedef struct drv_satoken {
  const char *ns, *sa, *sa_uid;
  const char *bound_kind;           /* "Pod", "Secret" or NULL */
  const char *bound_name, *bound_uid;
  const char *const *audiences;     /* NULL-terminated, non-empty */
  long long iat, exp;               /* seconds since the epoch */
} drv_satoken;

/* The signed token (caller frees), or NULL with err. */
char *drv_satoken_mint(const drv_jwt_key *k, const char *issuer, const drv_satoken *t, drv_err *err);

/* The uid of a stored object (kind "ServiceAccount", "Pod" or "Secret" in ns), or NULL when
 * it does not exist or is being deleted (caller frees). */
typedef char *(*drv_satoken_lookup_fn)(void *ud, const char *kind, const char *ns, const char *name);

/* Authenticates tok: 0 and *u filled (user system:serviceaccount:NS:NAME, groups
 * system:serviceaccounts, system:serviceaccounts:NS, system:authenticated), or -1 and err
 * saying why. audience: the one the token must name. *aud_out (may be NULL) gets the
 * token's audiences (a new reference). */
int drv_satoken_authenticate(const drv_jwt_key *k, const char *issuer, const char *audience,
                             long long now, const char *tok, drv_satoken_lookup_fn lookup,
                             void *ud, drv_auth_user *u, json_t **aud_out, drv_err *err);

#endif
