/* kubectl port-forward on the agent: GET /portForward/NS/POD upgraded to SPDY/3.1
 * (X-Stream-Protocol-Version: portforward.k8s.io), relayed by the API server. */
#ifndef DRV_AGENT_PORTFWD_H
#define DRV_AGENT_PORTFWD_H

#include "agent/hserv.h"

struct drv_agent;

/* rest = the part after /portForward/ (NAMESPACE/POD). */
void drv_agent_serve_portforward(struct drv_agent *a, drv_hreq *c, const char *rest);

#endif
