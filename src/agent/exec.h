/* kubectl exec over WebSocket (Kubernetes channel protocol v5, v4 fallback). */
#ifndef DRV_AGENT_EXEC_H
#define DRV_AGENT_EXEC_H

#include <microhttpd.h>

struct drv_agent;

/* Serves GET /exec/NS/POD/CONTAINER?command=… (rest = the part after /exec/). */
enum MHD_Result drv_agent_serve_exec(struct drv_agent *a, struct MHD_Connection *c, const char *rest);

#endif
