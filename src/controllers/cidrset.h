/* Node pod-CIDR allocation (the node IPAM controller's bookkeeping): a cluster CIDR cut into
 * subnets of one size, each free or used. Allocation hands out the lowest free subnet, so the
 * first node gets the cluster CIDR's first subnet and a released subnet is handed out next. */
#ifndef DRV_CONTROLLERS_CIDRSET_H
#define DRV_CONTROLLERS_CIDRSET_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define DRV_CIDR_STRLEN 19 /* "255.255.255.255/32" */

/* Parses an IPv4 "a.b.c.d/n" with min_prefix <= n <= max_prefix; *base is the network address
 * (host order, host bits cleared). */
int drv_cidr_parse(const char *s, int min_prefix, int max_prefix, uint32_t *base, int *prefix,
                   drv_err *err);
void drv_cidr_format(uint32_t base, int prefix, char out[DRV_CIDR_STRLEN]);

typedef struct drv_cidrset drv_cidrset;

/* cluster_cidr ("10.244.0.0/16") cut into /node_mask subnets: node_mask from the cluster
 * prefix to 30, at most 2^16 subnets. */
int drv_cidrset_new(const char *cluster_cidr, int node_mask, drv_cidrset **out, drv_err *err);
void drv_cidrset_free(drv_cidrset *s);
/* The lowest free subnet, now used; errnum ENOSPC when none is left. */
int drv_cidrset_allocate(drv_cidrset *s, char out[DRV_CIDR_STRLEN], drv_err *err);
/* Marks every subnet cidr overlaps used (occupy) or free (release). Returns the number of
 * subnets it covers, 0 for a CIDR outside the set, -1 for one that does not parse. */
int drv_cidrset_occupy(drv_cidrset *s, const char *cidr);
int drv_cidrset_release(drv_cidrset *s, const char *cidr);
size_t drv_cidrset_used(const drv_cidrset *s);
size_t drv_cidrset_capacity(const drv_cidrset *s);

#endif
