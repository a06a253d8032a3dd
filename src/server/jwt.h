/* JSON Web Tokens signed ES256 (ECDSA P-256, SHA-256) with a key kept in the data dir: what
 * service account tokens are made of (satoken.h). Compact serialization only:
 * base64url(header).base64url(claims).base64url(r || s). */
#ifndef DRV_SERVER_JWT_H
#define DRV_SERVER_JWT_H

#include <jansson.h>
#include <stdbool.h>

#include "common/err.h"

typedef struct drv_jwt_key drv_jwt_key;

/* The private key in PEM file path, generated (0600) when the file does not exist. */
int drv_jwt_key_load(const char *path, drv_jwt_key **out, drv_err *err);
/* A new key that lives in memory only (tests). */
drv_jwt_key *drv_jwt_key_generate(void);
void drv_jwt_key_free(drv_jwt_key *k);
/* The key id put into headers: base64url of the SHA-256 of the public key (DER). */
const char *drv_jwt_key_id(const drv_jwt_key *k);

/* The signed token of claims (caller frees), or NULL with err. */
char *drv_jwt_sign(const drv_jwt_key *k, const json_t *claims, drv_err *err);
/* The claims of a token k signed (a new reference), or NULL with err saying why: malformed,
 * another algorithm, a bad signature. Times and audiences are the caller's to check. */
json_t *drv_jwt_verify(const drv_jwt_key *k, const char *token, drv_err *err);
/* true when tok has the shape of a JWT (three base64url parts), so it is worth verifying. */
bool drv_jwt_shaped(const char *tok);

#endif
