#include "net/podnet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/fs.h"
#include "common/util.h"
#include "net/netlink.h"

static int sysctl_set(const char *path, const char *value, drv_err *err)
{
  char cur[16] = "";
  FILE *f = fopen(path, "re");
  if (f) {
    if (!fgets(cur, sizeof cur, f)) cur[0] = '\0';
    fclose(f);
  }
  if (strncmp(cur, value, strlen(value)) == 0) return 0;
  f = fopen(path, "we");
  if (!f) return drv_error(err, errno, "open `%s`", path);
  int r = fputs(value, f) < 0 ? -1 : 0;
  if (fclose(f) != 0) r = -1;
  if (r < 0) return drv_error(err, errno, "write `%s`", path);
  return 0;
}

int drv_podnet_bridge_setup(const char *bridge, struct in_addr gw, int prefix, drv_err *err)
{
  _cleanup_nl_ drv_nl *nl = NULL;
  if (drv_nl_open(&nl, err) < 0) return -1;
  if (drv_nl_bridge_add(nl, bridge, err) < 0) return -1;
  if (drv_nl_addr_add(nl, bridge, gw, prefix, err) < 0) return -1;
  if (drv_nl_link_up(nl, bridge, err) < 0) return -1;
  /* hostPorts on localhost are DNATed to pods behind the bridge: the kernel must let a
   * 127.0.0.0/8 source be routed out of it (then masqueraded), as the CNI portmap plugin sets. */
  _cleanup_free_ char *localnet = drv_asprintf("/proc/sys/net/ipv4/conf/%s/route_localnet", bridge);
  if (sysctl_set(localnet, "1", err) < 0) return -1;
  return sysctl_set("/proc/sys/net/ipv4/ip_forward", "1", err);
}

int drv_podnet_attach(const char *bridge, const char *host_if, int netns_fd, struct in_addr ip,
                      int prefix, struct in_addr gw, drv_err *err)
{
  _cleanup_nl_ drv_nl *host = NULL;
  _cleanup_nl_ drv_nl *pod = NULL;
  if (drv_nl_open(&host, err) < 0 || drv_nl_open_netns(netns_fd, &pod, err) < 0)
    return drv_err_prefix(err, "connect pod");
  /* Peer is created right inside the pod under a temporary name unique to this pod, then
   * renamed eth0: a half-done earlier attempt never blocks with a stale eth0. */
  char peer[16];
  snprintf(peer, sizeof peer, "p%s", host_if + 3);
  drv_nl_link_del(host, host_if, err); /* a leftover from an interrupted attempt */
  if (drv_nl_link_exists(pod, "eth0")) drv_nl_link_del(pod, "eth0", err);
  if (drv_nl_veth_add(host, host_if, peer, netns_fd, err) < 0) goto fail;
  if (drv_nl_link_set_master(host, host_if, bridge, err) < 0) goto fail;
  if (drv_nl_link_set_hairpin(host, host_if, true, err) < 0) goto fail;
  if (drv_nl_link_up(host, host_if, err) < 0) goto fail;
  if (drv_nl_link_rename(pod, peer, "eth0", err) < 0) goto fail;
  if (drv_nl_addr_add(pod, "eth0", ip, prefix, err) < 0) goto fail;
  if (drv_nl_link_up(pod, "eth0", err) < 0) goto fail;
  if (drv_nl_link_up(pod, "lo", err) < 0) goto fail;
  if (drv_nl_route_replace(pod, (struct in_addr){0}, 0, gw, "eth0", err) < 0) goto fail;
  return 0;
fail:;
  drv_err e2;
  drv_nl_link_del(host, host_if, &e2);
  return drv_err_prefix(err, "connect pod");
}

int drv_podnet_detach(const char *host_if, drv_err *err)
{
  _cleanup_nl_ drv_nl *nl = NULL;
  if (drv_nl_open(&nl, err) < 0) return -1;
  return drv_nl_link_del(nl, host_if, err);
}

void drv_podnet_ifname(const char *key, char out[16])
{
  /* FNV-1a, 48 bits: short enough for IFNAMSIZ, wide enough that 2 pods never collide in
   * practice. */
  uint64_t h = 1469598103934665603ull;
  for (const char *p = key; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
  snprintf(out, 16, "drv%012llx", (unsigned long long)(h & 0xffffffffffffull));
}

int drv_podnet_route_peer(const char *cidr, struct in_addr via, drv_err *err)
{
  struct in_addr dst;
  int prefix;
  if (drv_net_parse_cidr(cidr, &dst, &prefix, err) < 0) return -1;
  dst.s_addr &= htonl(drv_net_mask(prefix));
  _cleanup_nl_ drv_nl *nl = NULL;
  if (drv_nl_open(&nl, err) < 0) return -1;
  return drv_nl_route_replace(nl, dst, prefix, via, NULL, err);
}

int drv_podnet_unroute_peer(const char *cidr, drv_err *err)
{
  struct in_addr dst;
  int prefix;
  if (drv_net_parse_cidr(cidr, &dst, &prefix, err) < 0) return -1;
  dst.s_addr &= htonl(drv_net_mask(prefix));
  _cleanup_nl_ drv_nl *nl = NULL;
  if (drv_nl_open(&nl, err) < 0) return -1;
  return drv_nl_route_del(nl, dst, prefix, err);
}
