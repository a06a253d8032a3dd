/* kubectl port-forward on the agent: GET /portForward/NS/POD upgraded to SPDY/3.1
 * (X-Stream-Protocol-Version: portforward.k8s.io), relayed by the API server. */
#ifndef DRV_AGENT_PORTFWD_H
#define DRV_AGENT_PORTFWD_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/hserv.h"

struct drv_agent;

/* rest = the part after /portForward/ (NAMESPACE/POD). */
void drv_agent_serve_portforward(struct drv_agent *a, drv_hreq *c, const char *rest);
/* One session on an upgraded socket: connections go to localhost:PORT in the network namespace
 * netns_fd; ws = SPDY tunneled in WebSocket messages; extra = bytes that came with the upgrade.
 * Returns when the client is gone; sock and netns_fd stay the caller's. */
void drv_portfwd_session(int sock, int netns_fd, const char *pod, const char *uid, bool ws,
                         const char *extra, size_t n_extra);

#endif
