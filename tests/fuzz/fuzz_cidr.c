/* CIDR flags (--cluster-cidr, --service-cidr) and the node subnet bookkeeping behind them. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "controllers/cidrset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 1 || size > 256) return 0;
  char *s = malloc(size);
  memcpy(s, data + 1, size - 1);
  s[size - 1] = '\0';
  uint32_t base;
  int prefix;
  drv_err err;
  if (drv_cidr_parse(s, 0, 32, &base, &prefix, &err) == 0) {
    char out[DRV_CIDR_STRLEN];
    drv_cidr_format(base, prefix, out);
    uint32_t b2;
    int p2;
    if (drv_cidr_parse(out, 0, 32, &b2, &p2, &err) < 0 || b2 != base || p2 != prefix) __builtin_trap();
  }
  drv_cidrset *set;
  if (drv_cidrset_new(s, data[0] % 33, &set, &err) == 0) {
    char c[DRV_CIDR_STRLEN];
    size_t n = 0;
    while (n < 64 && drv_cidrset_allocate(set, c, &err) == 0) {
      if (drv_cidrset_occupy(set, c) != 1) __builtin_trap();
      n++;
    }
    if (drv_cidrset_used(set) != n) __builtin_trap();
    drv_cidrset_release(set, s);
    if (drv_cidrset_used(set) != 0) __builtin_trap();
    drv_cidrset_occupy(set, "0.0.0.0/0");
    if (drv_cidrset_used(set) != drv_cidrset_capacity(set)) __builtin_trap();
    drv_cidrset_free(set);
  }
  free(s);
  return 0;
}
