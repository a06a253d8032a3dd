/* Encryption at rest for stored values (Secrets): AES-256-GCM with a random 96-bit nonce per
 * value. Sealed form: "drvenc1:" + nonce(12) + ciphertext + tag(16). */
#ifndef DRV_STORE_CRYPT_H
#define DRV_STORE_CRYPT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

#define DRV_STORE_KEY_LEN 32

/* Returns a malloc'd sealed copy of data. */
int drv_store_seal(const unsigned char *key, const char *data, size_t len, char **out,
                   size_t *out_len, drv_err *err);
/* Opens a sealed value (malloc'd, NUL-terminated). Fails on a wrong key or tampering. */
int drv_store_unseal(const unsigned char *key, const char *data, size_t len, char **out,
                     size_t *out_len, drv_err *err);
bool drv_store_is_sealed(const char *data, size_t len);

/* Reads the 32-byte key at path, creating it (0600, random) when missing. */
int drv_store_key_load(const char *path, unsigned char key[DRV_STORE_KEY_LEN], drv_err *err);

#endif
