/* Fuzzes request routing: any byte string as a URL path must parse or be refused cleanly. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *path = malloc(size + 1);
  memcpy(path, data, size);
  path[size] = 0;
  drv_route r;
  if (drv_route_parse(path, &r) == 0) {
    /* every field stays terminated and within its size */
    if (strlen(r.name) >= sizeof r.name || strlen(r.ns) >= sizeof r.ns) abort();
  }
  free(path);
  return 0;
}
