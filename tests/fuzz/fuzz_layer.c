/* Fuzzes layer unpacking: any bytes as a (compressed) tar layer must unpack inside the
 * destination or be refused; nothing may appear outside it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "image/unpack.h"

static char root[64];

static void cleanup(void)
{
  drv_rm_rf(root, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (!root[0]) {
    snprintf(root, sizeof root, "/tmp/drv-fuzz-layer-%d", getpid());
    mkdir(root, 0700);
    atexit(cleanup);
  }
  char blob[128], dest[128], canary[128];
  snprintf(blob, sizeof blob, "%s/blob", root);
  snprintf(dest, sizeof dest, "%s/dest", root);
  snprintf(canary, sizeof canary, "%s/escape", root);
  drv_rm_rf(dest, NULL);
  mkdir(dest, 0755);
  FILE *f = fopen(blob, "w");
  if (!f) return 0;
  fwrite(data, 1, size, f);
  fclose(f);
  char diff[DRV_DIGEST_LEN + 1];
  drv_err err;
  drv_image_unpack_layer(blob, dest, diff, &err);
  /* anything named "escape" next to dest means a write outside the layer */
  if (drv_path_exists(canary)) abort();
  drv_rm_rf(dest, NULL);
  return 0;
}
