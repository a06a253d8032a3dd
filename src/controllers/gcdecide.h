/* The garbage collector's decision for one dependent, apart from any API: given what became
 * of each of its owners, keep it, delete it (background or foreground), or drop the
 * references to owners that are gone. Unit-tested on its own. */
#ifndef DRV_CONTROLLERS_GCDECIDE_H
#define DRV_CONTROLLERS_GCDECIDE_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
  DRV_GC_OWNER_EXISTS = 0,
  DRV_GC_OWNER_GONE,        /* absent, or present with another uid */
  DRV_GC_OWNER_UNKNOWN,     /* could not tell (API error, a kind drover does not serve) */
  DRV_GC_OWNER_FOREGROUND,  /* exists, being deleted with foregroundDeletion */
} drv_gc_owner_state;

typedef enum {
  DRV_GC_KEEP = 0,
  DRV_GC_DELETE_BACKGROUND,
  DRV_GC_DELETE_FOREGROUND,
  DRV_GC_DROP_REFS,         /* remove the references whose keep[i] is false */
} drv_gc_action;

/* n owners: state[i] and block[i] (the reference's blockOwnerDeletion). keep[i] (n entries)
 * tells which references stay. being_deleted: the dependent already has deletionTimestamp. */
drv_gc_action drv_gc_decide(size_t n, const drv_gc_owner_state *state, const bool *block,
                            bool being_deleted, bool *keep);

#endif
