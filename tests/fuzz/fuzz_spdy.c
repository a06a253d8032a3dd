/* The agent's port-forward input (frames from kubectl through the API server): SPDY/3.1 frame
 * parsing, SETTINGS lookup and header blocks decompressed through one session's zlib context. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "agent/spdy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  drv_spdy_zctx z;
  drv_err err;
  if (drv_spdy_zinit(&z, &err) < 0) return 0;
  size_t off = 0;
  while (off < size) {
    drv_spdy_frame f;
    ssize_t k = drv_spdy_parse(data + off, size - off, &f, &err);
    if (k <= 0) break;
    off += (size_t)k;
    if (!f.control) continue;
    uint32_t v;
    drv_spdy_settings_get(&f, DRV_SPDY_SETTINGS_INITIAL_WINDOW, &v);
    if (f.hblock) {
      drv_spdy_hdr *h;
      size_t n;
      if (drv_spdy_headers_decode(&z, f.hblock, f.hlen, &h, &n, &err) == 0) {
        drv_spdy_header(h, n, "streamtype");
        drv_spdy_headers_free(h, n);
      }
    }
  }
  drv_spdy_zfree(&z);
  return 0;
}
