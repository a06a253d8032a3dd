/* kubectl exec and attach over WebSocket (Kubernetes channel protocol v5, v4 fallback). */
#ifndef DRV_AGENT_EXEC_H
#define DRV_AGENT_EXEC_H

#include <stdbool.h>

#include "agent/hserv.h"

struct drv_agent;

/* Serves GET /exec/NS/POD/CONTAINER?command=… or, with attach, /attach/NS/POD/CONTAINER
 * (output only) — rest = the part after /exec/ or /attach/. */
void drv_agent_serve_exec(struct drv_agent *a, drv_hreq *c, const char *rest, bool attach);

#endif
