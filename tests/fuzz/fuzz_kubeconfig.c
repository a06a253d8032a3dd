/* libFuzzer harness: kubeconfig text (YAML) → drv_kubeconfig; anything may come in, a clear
 * error or a config must come out, with nothing left behind. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/kubeconfig.h"
#include "common/fs.h"

static char tmpdir[] = "/tmp/drover-fuzz-kubeconfig-XXXXXX";

static void cleanup(void)
{
  drv_err err;
  drv_rm_rf(tmpdir, &err);
}

/* Decoded certificates go under TMPDIR: a private one, removed at exit. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  if (mkdtemp(tmpdir)) {
    setenv("TMPDIR", tmpdir, 1);
    atexit(cleanup);
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *text = malloc(size + 1);
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  drv_kubeconfig kc;
  drv_err err;
  if (drv_kubeconfig_parse(text, size, "fuzz", NULL, &kc, &err) == 0) drv_kubeconfig_free(&kc);
  free(text);
  return 0;
}
