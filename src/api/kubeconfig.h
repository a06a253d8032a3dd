/* Reads a kubeconfig (the file kubectl uses): the current context's cluster server URL, its CA
 * (certificate-authority-data or certificate-authority file), insecure-skip-tls-verify, and the
 * user's bearer token (token or tokenFile) or client certificate. */
#ifndef DRV_API_KUBECONFIG_H
#define DRV_API_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

typedef struct drv_kubeconfig {
  char *server;        /* "https://127.0.0.1:6443" */
  char *ca_file;       /* PEM file to trust (from -data: a content-addressed file in
                        * ${TMPDIR:-/tmp}/drover-kubeconfig-<uid>/), NULL = system */
  bool insecure;       /* insecure-skip-tls-verify */
  char *token;         /* bearer token, NULL = none */
  char *client_cert;   /* PEM files for mTLS, NULL = none */
  char *client_key;
  char *tmp_dir;       /* holds a private key decoded from client-key-data; removed by free */
} drv_kubeconfig;

/* path NULL: $KUBECONFIG, else ~/.kube/config. context NULL: current-context. */
int drv_kubeconfig_load(const char *path, const char *context, drv_kubeconfig *out, drv_err *err);
/* The same from kubeconfig text (where names errors after `where`). */
int drv_kubeconfig_parse(const char *text, size_t len, const char *where, const char *context,
                         drv_kubeconfig *out, drv_err *err);
void drv_kubeconfig_free(drv_kubeconfig *kc);

#endif
