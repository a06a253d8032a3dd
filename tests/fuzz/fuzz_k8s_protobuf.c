/* Fuzzes the decoder of Kubernetes protobuf request bodies (kubectl's typed commands). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "server/protobuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  drv_err err;
  json_t *o = drv_pb_decode((const char *)data, size, &err);
  if (o) {
    char *s = json_dumps(o, JSON_COMPACT);
    free(s);
    json_decref(o);
  }
  return 0;
}
