/* Bearer tokens: DIR/tokens holds one "TOKEN USER GROUPS" per line (0600), GROUPS comma-separated
 * or "-" for none. A line without GROUPS (data dirs from before identities) is a member of
 * system:masters. The server re-reads the file when it changes, so `drover token
 * create|revoke` take effect on a running server. Every authenticated identity is also in
 * system:authenticated. */
#ifndef DRV_SERVER_AUTH_H
#define DRV_SERVER_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

typedef struct drv_auth drv_auth;

#define DRV_AUTH_MAX_GROUPS 16
#define DRV_AUTH_MASTERS "system:masters"
#define DRV_AUTH_AUTHENTICATED "system:authenticated"
#define DRV_AUTH_NODES "system:nodes"
#define DRV_AUTH_NODE_PREFIX "system:node:"

#define DRV_AUTH_MAX_EXTRA 4

/* Who a request comes from. */
typedef struct drv_auth_user {
  char name[256];
  char groups[DRV_AUTH_MAX_GROUPS][128];
  int ngroups;
  char uid[64];                            /* "" when the identity has none */
  char extra[DRV_AUTH_MAX_EXTRA][2][256];  /* key, value: what a service account token says
                                              (credential id, pod name and uid) */
  int nextra;
} drv_auth_user;

bool drv_auth_user_in_group(const drv_auth_user *u, const char *group);

int drv_auth_open(const char *data_dir, drv_auth **out, drv_err *err);
void drv_auth_free(drv_auth *a);
/* The identity a token belongs to (copied into *user), or false. */
bool drv_auth_check(drv_auth *a, const char *token, drv_auth_user *user);

/* Token file management (used by `drover token` and first start). */
/* Creates a token for user in groups (NULL-terminated, may be NULL), appends it; *token gets it
 * (caller frees). */
int drv_token_create(const char *data_dir, const char *user, const char *const *groups,
                     char **token, drv_err *err);
/* The first token of user, or NULL (caller frees). */
char *drv_token_find(const char *data_dir, const char *user);
/* Lines "USER GROUPS TOKEN-PREFIX..." into out (caller frees). */
int drv_token_list(const char *data_dir, char **out, drv_err *err);
/* Removes tokens of user or whose text equals what; returns how many were removed. */
int drv_token_revoke(const char *data_dir, const char *what, drv_err *err);

#endif
