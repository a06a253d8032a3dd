/* The data dir's CA and serving certificate (PEM), created on first start. */
#ifndef DRV_SERVER_PKI_H
#define DRV_SERVER_PKI_H

#include "common/err.h"

typedef struct drv_pki {
  char *ca_pem, *cert_pem, *key_pem;
} drv_pki;

/* Loads DIR/{ca.crt,server.crt,server.key}, generating them when missing; host (may be NULL)
 * is added to the serving certificate's names besides localhost/127.0.0.1/::1. */
int drv_pki_ensure(const char *dir, const char *host, drv_pki *out, drv_err *err);
void drv_pki_free(drv_pki *p);

#endif
