/* The HTTP implementation of the API client (api/client.h) over libcurl: any
 * Kubernetes-API server reachable through a kubeconfig. */
#ifndef DRV_API_CLIENT_HTTP_H
#define DRV_API_CLIENT_HTTP_H

#include "api/client.h"
#include "api/kubeconfig.h"

/* Copies what it needs from kc. user_agent/field_manager NULL = "drover". */
drv_api_client *drv_api_client_http_new(const drv_kubeconfig *kc, const char *field_manager,
                                        drv_err *err);
/* Loads the kubeconfig (path NULL = $KUBECONFIG or ~/.kube/config) and makes a client. */
drv_api_client *drv_api_client_http_from_kubeconfig(const char *path, const char *field_manager,
                                                    drv_err *err);

#endif
