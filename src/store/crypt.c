/* AES-256-GCM sealing of stored values with OpenSSL's EVP interface. */
#include "store/crypt.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>
#include <sys/stat.h>

#include "common/fs.h"
#include "common/util.h"

#define MAGIC "drvenc1:"
#define MAGIC_LEN 8
#define NONCE_LEN 12
#define TAG_LEN 16

bool drv_store_is_sealed(const char *data, size_t len)
{
  return len >= MAGIC_LEN + NONCE_LEN + TAG_LEN && memcmp(data, MAGIC, MAGIC_LEN) == 0;
}

int drv_store_seal(const unsigned char *key, const char *data, size_t len, char **out,
                   size_t *out_len, drv_err *err)
{
  size_t total = MAGIC_LEN + NONCE_LEN + len + TAG_LEN;
  unsigned char *buf = drv_malloc(total + 1);
  memcpy(buf, MAGIC, MAGIC_LEN);
  unsigned char *nonce = buf + MAGIC_LEN, *ct = nonce + NONCE_LEN, *tag = ct + len;
  if (RAND_bytes(nonce, NONCE_LEN) != 1) {
    free(buf);
    return drv_error(err, EIO, "seal value: no random nonce");
  }
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  int n = 0, ok = c && EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce) == 1 &&
                  EVP_EncryptUpdate(c, ct, &n, (const unsigned char *)data, (int)len) == 1 &&
                  EVP_EncryptFinal_ex(c, ct + n, &n) == 1 &&
                  EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) == 1;
  EVP_CIPHER_CTX_free(c);
  if (!ok) {
    free(buf);
    return drv_error(err, EIO, "seal value: AES-256-GCM encryption failed");
  }
  buf[total] = 0;
  *out = (char *)buf;
  *out_len = total;
  return 0;
}

int drv_store_unseal(const unsigned char *key, const char *data, size_t len, char **out,
                     size_t *out_len, drv_err *err)
{
  if (!drv_store_is_sealed(data, len)) return drv_error(err, EINVAL, "open sealed value: not sealed");
  const unsigned char *nonce = (const unsigned char *)data + MAGIC_LEN;
  const unsigned char *ct = nonce + NONCE_LEN;
  size_t ct_len = len - MAGIC_LEN - NONCE_LEN - TAG_LEN;
  unsigned char tag[TAG_LEN];
  memcpy(tag, ct + ct_len, TAG_LEN);
  unsigned char *pt = drv_malloc(ct_len + 1);
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  int n = 0, ok = c && EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce) == 1 &&
                  EVP_DecryptUpdate(c, pt, &n, ct, (int)ct_len) == 1 &&
                  EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1 &&
                  EVP_DecryptFinal_ex(c, pt + n, &n) == 1;
  EVP_CIPHER_CTX_free(c);
  if (!ok) {
    free(pt);
    return drv_error(err, EBADMSG, "open sealed value: wrong encryption key or corrupted value");
  }
  pt[ct_len] = 0;
  *out = (char *)pt;
  *out_len = ct_len;
  return 0;
}

int drv_store_key_load(const char *path, unsigned char key[DRV_STORE_KEY_LEN], drv_err *err)
{
  _cleanup_free_ char *data = NULL;
  size_t len = 0;
  if (drv_path_exists(path)) {
    if (drv_read_file(path, 4096, &data, &len, err) < 0) return -1;
    if (len != DRV_STORE_KEY_LEN)
      return drv_error(err, EINVAL, "encryption key `%s`: %zu bytes, want %d", path, len,
                       DRV_STORE_KEY_LEN);
    memcpy(key, data, DRV_STORE_KEY_LEN);
    return 0;
  }
  if (RAND_bytes(key, DRV_STORE_KEY_LEN) != 1)
    return drv_error(err, EIO, "create encryption key `%s`: no random bytes", path);
  return drv_write_file_atomic(path, key, DRV_STORE_KEY_LEN, 0600, err);
}
