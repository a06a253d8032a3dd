/* Leader election through a coordination.k8s.io/v1 Lease, as Kubernetes components do it:
 * one instance of a control loop acts at a time (e.g. `drover up`'s controllers and a
 * `drover controllers` against the same server). The holder renews the Lease every
 * lease/3; another instance takes over once it has seen the Lease unchanged for the whole
 * lease duration (judged by its own clock, so clocks need not agree), or at once when the
 * holder was a process of this host that no longer exists (identities are host_pid). A clean
 * stop releases the Lease so a successor takes over at once. */
#ifndef DRV_API_LEADER_H
#define DRV_API_LEADER_H

#include <stdbool.h>

#include "api/client.h"

typedef struct drv_leader drv_leader;

/* ns/name of the Lease ("kube-system", "drover-controllers"); identity unique per instance;
 * lease_ms 0 = 15 s. */
drv_leader *drv_leader_new(drv_api_client *c, const char *ns, const char *name,
                           const char *identity, int lease_ms);
int drv_leader_start(drv_leader *l, drv_err *err);
bool drv_leader_is_leader(drv_leader *l);
/* Stops campaigning, releases the Lease when held, frees. */
void drv_leader_free(drv_leader *l);
/* "<hostname>_<pid>": an identity for this process. Caller frees. */
char *drv_leader_identity(void);

#endif
