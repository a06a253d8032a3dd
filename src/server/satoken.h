/* Service account tokens as Kubernetes makes them (TokenRequest): JWTs (jwt.h) with the claims
 * iss, sub system:serviceaccount:NS:NAME, aud, exp, iat, nbf, jti and kubernetes.io {namespace,
 * serviceaccount {name, uid}, pod|secret|node {name, uid}}. A token authenticates while it is
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
  const char *bound_kind;           /* "Pod", "Secret", "Node" or NULL */
  const char *bound_name, *bound_uid;
  const char *const *audiences;     /* NULL-terminated, non-empty */
  long long iat, exp;               /* seconds since the epoch */
} drv_satoken;

/* The signed token (caller frees), or NULL with err. */
char *drv_satoken_mint(const drv_jwt_key *k, const char *issuer, const drv_satoken *t, drv_err *err);

/* Whether a stored object exists with uid (kind "ServiceAccount", "Pod" or "Secret" in ns, or
 * the cluster-scoped "Node"):
 * 0, -ENOENT when it does not exist (or a service account or Secret is being deleted),
 * -ESTALE when it has another uid. */
typedef int (*drv_satoken_lookup_fn)(void *ud, const char *kind, const char *ns, const char *name,
                                     const char *uid);

/* What a verified token says (drv_satoken_verify), fixed-size so it can be cached. */
typedef struct drv_satoken_claims {
  char ns[64], sa[254], sa_uid[64];
  char bound_kind[8], bound_name[254], bound_uid[64]; /* bound_kind "" when unbound */
  char jti[64];                                       /* "" when the token has none */
  long long exp, nbf;
} drv_satoken_claims;

/* The checks that depend only on the token: signature, issuer, audience (the one it must
 * name), the subject and kubernetes.io claims' shape. 0 with *c, or -1 and err. */
int drv_satoken_verify(const drv_jwt_key *k, const char *issuer, const char *audience, const char *tok,
                       drv_satoken_claims *c, drv_err *err);
/* The checks that depend on now and the store: exp/nbf (60 s skew), the service account and
 * the bound object existing with their uids. 0 and *u filled (user
 * system:serviceaccount:NS:NAME with the service account's uid, groups system:serviceaccounts,
 * system:serviceaccounts:NS, system:authenticated, and Kubernetes' extra fields
 * authentication.kubernetes.io/credential-id JTI=..., pod-name, pod-uid, node-name, node-uid),
 * or -1 and err saying why. */
int drv_satoken_check(const drv_satoken_claims *c, long long now, drv_satoken_lookup_fn lookup, void *ud,
                      drv_auth_user *u, drv_err *err);
/* Both. */
int drv_satoken_authenticate(const drv_jwt_key *k, const char *issuer, const char *audience,
                             long long now, const char *tok, drv_satoken_lookup_fn lookup,
                             void *ud, drv_auth_user *u, drv_err *err);

#endif
