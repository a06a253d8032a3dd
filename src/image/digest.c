#include "image/digest.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"

void drv_sha256_init(drv_sha256 *h)
{
  h->ctx = EVP_MD_CTX_new();
  if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
    fprintf(stderr, "drover: sha256 init failed\n");
    abort();
  }
}

void drv_sha256_update(drv_sha256 *h, const void *data, size_t len)
{
  EVP_DigestUpdate(h->ctx, data, len);
}

void drv_sha256_final(drv_sha256 *h, char out[DRV_DIGEST_LEN + 1])
{
  unsigned char md[32];
  unsigned int n = 0;
  EVP_DigestFinal_ex(h->ctx, md, &n);
  memcpy(out, "sha256:", 7);
  for (int i = 0; i < 32; i++) snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
  drv_sha256_discard(h);
}

void drv_sha256_discard(drv_sha256 *h)
{
  if (h->ctx) EVP_MD_CTX_free(h->ctx);
  h->ctx = NULL;
}

void drv_sha256_digest(const void *data, size_t len, char out[DRV_DIGEST_LEN + 1])
{
  drv_sha256 h;
  drv_sha256_init(&h);
  drv_sha256_update(&h, data, len);
  drv_sha256_final(&h, out);
}

int drv_sha256_file(const char *path, char out[DRV_DIGEST_LEN + 1], drv_err *err)
{
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return drv_error(err, errno, "open `%s`", path);
  drv_sha256 h;
  drv_sha256_init(&h);
  char buf[1 << 16];
  for (;;) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r < 0) {
      if (errno == EINTR) continue;
      drv_sha256_discard(&h);
      return drv_error(err, errno, "read `%s`", path);
    }
    if (r == 0) break;
    drv_sha256_update(&h, buf, (size_t)r);
  }
  drv_sha256_final(&h, out);
  return 0;
}

bool drv_digest_valid(const char *d)
{
  if (!d || strncmp(d, "sha256:", 7) != 0 || strlen(d) != DRV_DIGEST_LEN) return false;
  for (const char *p = d + 7; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) return false;
  return true;
}
