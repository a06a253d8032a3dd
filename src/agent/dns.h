/* Node-local cluster DNS for Services (A records under svc.cluster.local). */
#ifndef DRV_AGENT_DNS_H
#define DRV_AGENT_DNS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

struct drv_agent;

/* Serves UDP port 53 on addr (the pod bridge's address) until drv_dns_stop. */
int drv_dns_start(struct drv_agent *a, struct in_addr addr, drv_err *err);
/* Joins the thread (after the agent's stop flag is set) and closes the socket. */
void drv_dns_stop(struct drv_agent *a);
/* Addresses of a Service name (NAME.NS.svc.cluster.local); *known: the Service exists. */
size_t drv_dns_lookup(struct drv_agent *a, const char *qname, struct in_addr *out, size_t max,
                      bool *known);
/* The response to one query packet; 0 = no answer (not a query). */
size_t drv_dns_answer(struct drv_agent *a, const unsigned char *q, size_t qlen,
                      unsigned char *resp, size_t size);

#endif
