/* Fuzzes what a registry sends before anything is verified: manifests/indexes, image configs,
 * WWW-Authenticate challenges and image references must parse or be refused cleanly. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "image/manifest.h"
#include "image/ref.h"
#include "image/registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *s = malloc(size + 1);
  memcpy(s, data, size);
  s[size] = 0;
  drv_err err;
  drv_image_manifest m;
  if (drv_image_manifest_parse(s, size, "application/vnd.oci.image.manifest.v1+json", &m, &err) == 0) {
    const drv_image_descriptor *d;
    if (m.kind == DRV_MANIFEST_INDEX) drv_image_index_select(&m, "linux", "amd64", &d, &err);
    drv_image_manifest_free(&m);
  }
  drv_image_config cfg;
  char **ids;
  size_t n;
  int64_t created;
  if (drv_image_config_parse(s, size, &cfg, &ids, &n, &created, &err) == 0) {
    drv_image_process p;
    if (drv_image_process_from_config(&cfg, NULL, &p, &err) == 0) drv_image_process_free(&p);
    drv_strv_free(ids);
    drv_image_config_free(&cfg);
  }
  drv_www_auth a;
  if (drv_www_auth_parse(s, &a, &err) == 0) drv_www_auth_free(&a);
  drv_image_ref r;
  if (drv_image_ref_parse(s, &r, &err) == 0) {
    char *x = drv_image_ref_string(&r);
    free(x);
    drv_image_ref_free(&r);
  }
  free(s);
  return 0;
}
