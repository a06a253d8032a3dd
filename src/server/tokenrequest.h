/* TokenRequest (serviceaccounts/NAME/token) for callers other than the HTTP handler (the
 * in-process client, client_local.c; see tokenrequest.c), and the UserInfo the reviews answer
 * with. */
#ifndef DRV_SERVER_TOKENREQUEST_H
#define DRV_SERVER_TOKENREQUEST_H

#include <jansson.h>

#include "server/auth.h"
#include "server/server.h"

/* The TokenRequest answered for service account ns/sa (a new reference), or NULL and *status
 * (the Status to answer: 404, 409, 400 or 422 naming the field). */
json_t *drv_server_token_request(drv_server *s, const char *ns, const char *sa, const json_t *body, json_t **status);

/* authentication.k8s.io/v1 UserInfo of an identity: username, uid, groups, extra (rbac.c). */
json_t *drv_server_user_info(const drv_auth_user *u);

#endif
