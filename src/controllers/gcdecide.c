/* GC decisions (see gcdecide.h): Kubernetes' rules. A dependent goes when no owner is left
 * (and nothing is uncertain); it goes in the foreground when an owner being deleted in the
 * foreground waits for it (blockOwnerDeletion); it merely loses references to the owners
 * that are gone when others remain. */
#include "controllers/gcdecide.h"

drv_gc_action drv_gc_decide(size_t n, const drv_gc_owner_state *state, const bool *block,
                            bool being_deleted, bool *keep)
{
  size_t kept = 0;
  bool unknown = false, foreground = false;
  for (size_t i = 0; i < n; i++) {
    keep[i] = state[i] != DRV_GC_OWNER_GONE;
    if (keep[i]) kept++;
    if (state[i] == DRV_GC_OWNER_UNKNOWN) unknown = true;
    if (state[i] == DRV_GC_OWNER_FOREGROUND && block[i]) foreground = true;
  }
  if (n == 0) return DRV_GC_KEEP;
  if (foreground) return being_deleted ? DRV_GC_KEEP : DRV_GC_DELETE_FOREGROUND;
  if (kept == 0 && !unknown) return being_deleted ? DRV_GC_KEEP : DRV_GC_DELETE_BACKGROUND;
  if (kept < n) return DRV_GC_DROP_REFS;
  return DRV_GC_KEEP;
}
