/* drover's Kubernetes-compatible API server: HTTPS (CA and serving certificate generated into
 * the data dir on first start), bearer tokens, the Kubernetes REST API over the store. */
#ifndef DRV_SERVER_SERVER_H
#define DRV_SERVER_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

typedef struct drv_server drv_server;
typedef struct drv_store drv_store;

typedef struct drv_server_opts {
  const char *data_dir;        /* store, certificates, tokens, kubeconfig */
  const char *listen;          /* "ADDR:PORT"; NULL = 127.0.0.1:6443 */
  size_t max_body;             /* request body limit in bytes; 0 = 3 MiB */
  int max_inflight;            /* concurrent requests before 429; 0 = 2000 */
  double max_rps;              /* requests per second before 429; 0 = 50,000 */
  size_t history;              /* watch history events; 0 = store default */
  long event_ttl_s;            /* Events expire this long after last seen; 0 = 3600 */
  const char *service_cidr;    /* ClusterIP range; NULL = 10.96.0.0/12 (its first address is
                                  the `kubernetes` Service's) */
  const char *node_port_range; /* "FIRST-LAST"; NULL = 30000-32767 */
} drv_server_opts;

/* Prepares the data dir (locks it: a second server on the same dir fails with a clear error;
 * creates CA, serving certificate, admin token, secrets key and kubeconfig when missing), opens
 * the store and starts serving. */
int drv_server_start(const drv_server_opts *opts, drv_server **out, drv_err *err);
void drv_server_stop(drv_server *s);

/* "https://127.0.0.1:6443" (caller frees) and the kubeconfig path (static to the server). */
char *drv_server_url(drv_server *s);
const char *drv_server_kubeconfig(drv_server *s);
drv_store *drv_server_store(drv_server *s);

/* An in-process API client (api/client.h) for control loops in the same process: reads from
 * the watch cache, writes through the same operations as HTTP. Free with
 * drv_api_client_free() before drv_server_stop(). */
typedef struct drv_api_client drv_api_client;
drv_api_client *drv_server_client(drv_server *s);

#endif
