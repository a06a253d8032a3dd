/* OCI distribution client: manifests and blobs of one repository, with the auth dance
 * (anonymous, Bearer token challenge, basic credentials from a docker config.json), retries
 * with backoff on 5xx/429/timeouts, and resumed, verified blob downloads. A drv_registry is
 * shared by the threads of one pull (the token is cached under a mutex); each thread brings
 * its own drv_http_client. */
#ifndef DRV_IMAGE_REGISTRY_H
#define DRV_IMAGE_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/http_client.h"
#include "image/digest.h"
#include "image/ref.h"

typedef struct drv_registry drv_registry;

typedef struct drv_registry_opts {
  const char *auth_file; /* docker config.json, NULL = none */
  const char *ca_file;   /* NULL = system CAs */
  bool insecure;         /* plain HTTP (loopback registries always use it) */
  int max_attempts;      /* per request, 0 = 4 */
} drv_registry_opts;

int drv_registry_open(const drv_image_ref *ref, const drv_registry_opts *o, drv_registry **out,
                      drv_err *err);
void drv_registry_close(drv_registry *r);

/* GET /v2/<path>/manifests/<tag or digest>. *digest_out gets the sha256 of the body; when
 * reference is a digest the body must match it. content_type (caller frees) may be NULL. */
int drv_registry_get_manifest(drv_registry *r, drv_http_client *c, const char *reference,
                              drv_buf *body, char **content_type,
                              char digest_out[DRV_DIGEST_LEN + 1], drv_err *err);

/* Called with each chunk's size while a blob downloads (may be negative when a resume is
 * refused and the download restarts from zero). */
typedef void (*drv_registry_progress_fn)(int64_t delta, void *ctx);

/* Downloads blob `digest` of `size` bytes into partial_path, resuming what is already there
 * (Range), retrying transient failures, verifying size and digest at the end. On a digest
 * mismatch the partial file is removed. */
int drv_registry_fetch_blob(drv_registry *r, drv_http_client *c, const char *digest, int64_t size,
                            const char *partial_path, drv_registry_progress_fn progress,
                            void *progress_ctx, drv_err *err);

/* ---- pieces exposed for tests ---- */
typedef struct drv_www_auth {
  char *scheme; /* "Bearer", "Basic" */
  char *realm, *service, *scope, *error;
} drv_www_auth;
/* Parses one challenge: `Bearer realm="…",service="…",scope="…"`. */
int drv_www_auth_parse(const char *header, drv_www_auth *out, drv_err *err);
void drv_www_auth_free(drv_www_auth *a);

/* Credentials for host from a docker config.json `auths` map ("auth": base64(user:pass) or
 * "username"/"password"). ENOENT when the file has none for host. */
int drv_registry_credentials(const char *auth_file, const char *host, char **user, char **pass,
                             drv_err *err);

#endif
