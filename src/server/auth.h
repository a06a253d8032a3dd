/* Bearer tokens: DIR/tokens holds one "TOKEN USER" per line (0600). The server re-reads the
 * file when it changes, so `drover token create|revoke` take effect on a running server. */
#ifndef DRV_SERVER_AUTH_H
#define DRV_SERVER_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

typedef struct drv_auth drv_auth;

int drv_auth_open(const char *data_dir, drv_auth **out, drv_err *err);
void drv_auth_free(drv_auth *a);
/* The user a token belongs to (copied into user, size >= 64), or false. */
bool drv_auth_check(drv_auth *a, const char *token, char *user, size_t size);

/* Token file management (used by `drover token` and first start). */
/* Creates a token for user, appends it; *token gets it (caller frees). */
int drv_token_create(const char *data_dir, const char *user, char **token, drv_err *err);
/* The first token of user, or NULL (caller frees). */
char *drv_token_find(const char *data_dir, const char *user);
/* Lines "USER TOKEN-PREFIX..." into out (caller frees). */
int drv_token_list(const char *data_dir, char **out, drv_err *err);
/* Removes tokens of user or whose text equals what; returns how many were removed. */
int drv_token_revoke(const char *data_dir, const char *what, drv_err *err);

#endif
