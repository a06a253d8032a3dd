/* sha256 digests as OCI writes them: "sha256:" + 64 lowercase hex digits. */
#ifndef DRV_IMAGE_DIGEST_H
#define DRV_IMAGE_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

#define DRV_DIGEST_LEN 71 /* "sha256:" + 64 */

typedef struct drv_sha256 {
  void *ctx; /* EVP_MD_CTX */
} drv_sha256;

void drv_sha256_init(drv_sha256 *h);
void drv_sha256_update(drv_sha256 *h, const void *data, size_t len);
/* Writes "sha256:<hex>" into out (DRV_DIGEST_LEN + 1 bytes) and releases the context. */
void drv_sha256_final(drv_sha256 *h, char out[DRV_DIGEST_LEN + 1]);
/* Releases a context that will not be finalized (safe after final too). */
void drv_sha256_discard(drv_sha256 *h);
void drv_sha256_digest(const void *data, size_t len, char out[DRV_DIGEST_LEN + 1]);
/* Hashes a whole file. */
int drv_sha256_file(const char *path, char out[DRV_DIGEST_LEN + 1], drv_err *err);

/* True for "sha256:" + 64 lowercase hex digits. */
bool drv_digest_valid(const char *d);
/* The hex part of a valid digest. */
static inline const char *drv_digest_hex(const char *d)
{
  return d + 7;
}

#endif
