/* libFuzzer: OCI linux.seccomp JSON → BPF compiler. Any input must give a filter or an error,
 * never a crash, leak or sanitizer report. */
#include <stddef.h>
#include <stdint.h>

#include "runtime/seccomp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  drv_seccomp_filter *f = NULL;
  drv_err err;
  if (drv_seccomp_compile_text((const char *)data, size, &f, &err) == 0) {
    (void)drv_seccomp_filter_len(f);
    drv_seccomp_free(f);
  }
  return 0;
}
