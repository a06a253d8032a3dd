#include "net/netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

struct drv_nl {
  struct mnl_socket *sock;
  unsigned int portid;
  unsigned int seq;
};

static int nl_bind(struct mnl_socket *sock, drv_nl **out, drv_err *err)
{
  if (mnl_socket_bind(sock, 0, MNL_SOCKET_AUTOPID) < 0) {
    int e = errno;
    mnl_socket_close(sock);
    return drv_error(err, e, "bind netlink socket");
  }
  drv_nl *nl = drv_calloc(1, sizeof *nl);
  nl->sock = sock;
  nl->portid = mnl_socket_get_portid(sock);
  nl->seq = (unsigned int)time(NULL);
  *out = nl;
  return 0;
}

int drv_nl_open(drv_nl **out, drv_err *err)
{
  struct mnl_socket *sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (!sock) return drv_error(err, errno, "open netlink socket");
  return nl_bind(sock, out, err);
}

int drv_nl_open_netns(int nsfd, drv_nl **out, drv_err *err)
{
  _cleanup_close_ int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0) return drv_error(err, errno, "open own network namespace");
  if (setns(nsfd, CLONE_NEWNET) < 0) return drv_error(err, errno, "enter network namespace");
  struct mnl_socket *sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  int e = errno;
  if (setns(self, CLONE_NEWNET) < 0) abort(); /* a thread stuck in a pod's netns must not go on */
  if (!sock) return drv_error(err, e, "open netlink socket in namespace");
  return nl_bind(sock, out, err);
}

void drv_nl_close(drv_nl *nl)
{
  if (!nl) return;
  mnl_socket_close(nl->sock);
  free(nl);
}

void drv_nl_closep(drv_nl **nl)
{
  drv_nl_close(*nl);
  *nl = NULL;
}

/* Sends one request and waits for its ACK (or error). cb/data read any replies. */
static int nl_talk(drv_nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
  nlh->nlmsg_seq = ++nl->seq;
  nlh->nlmsg_flags |= NLM_F_ACK;
  if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0) return -errno;
  char buf[MNL_SOCKET_BUFFER_SIZE];
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl->sock, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    int r = mnl_cb_run(buf, (size_t)n, nl->seq, nl->portid, cb, data);
    if (r < 0) return -errno;
    if (r == MNL_CB_STOP) return 0;
  }
}

static struct nlmsghdr *link_msg(char *buf, int type, int flags, int index)
{
  struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = (uint16_t)type;
  nlh->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
  struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof *ifm);
  ifm->ifi_family = AF_UNSPEC;
  ifm->ifi_index = index;
  return nlh;
}

static int get_index_cb(const struct nlmsghdr *nlh, void *data)
{
  struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
  *(int *)data = ifm->ifi_index;
  return MNL_CB_OK;
}

int drv_nl_link_index(drv_nl *nl, const char *name, drv_err *err)
{
  if (strlen(name) >= IFNAMSIZ) return drv_error(err, EINVAL, "link name `%s` is too long", name);
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh = link_msg(buf, RTM_GETLINK, 0, 0);
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
  int index = 0;
  int r = nl_talk(nl, nlh, get_index_cb, &index);
  if (r < 0 || index <= 0)
    return drv_error(err, r < 0 ? -r : ENODEV, "find link `%s`", name);
  return index;
}

bool drv_nl_link_exists(drv_nl *nl, const char *name)
{
  drv_err err;
  return drv_nl_link_index(nl, name, &err) > 0;
}

int drv_nl_bridge_add(drv_nl *nl, const char *name, drv_err *err)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
  struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
  mnl_attr_nest_end(nlh, info);
  int r = nl_talk(nl, nlh, NULL, NULL);
  if (r == -EEXIST) return 0;
  if (r < 0) return drv_error(err, -r, "create bridge `%s`", name);
  return 0;
}

int drv_nl_veth_add(drv_nl *nl, const char *name, const char *peer, int peer_nsfd, drv_err *err)
{
  if (strlen(name) >= IFNAMSIZ || strlen(peer) >= IFNAMSIZ)
    return drv_error(err, EINVAL, "veth name `%s`/`%s` is too long", name, peer);
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
  struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
  struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
  struct nlattr *pinfo = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
  struct ifinfomsg *pifm = mnl_nlmsg_put_extra_header(nlh, sizeof *pifm);
  memset(pifm, 0, sizeof *pifm);
  pifm->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
  if (peer_nsfd >= 0) mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peer_nsfd);
  mnl_attr_nest_end(nlh, pinfo);
  mnl_attr_nest_end(nlh, data);
  mnl_attr_nest_end(nlh, info);
  int r = nl_talk(nl, nlh, NULL, NULL);
  if (r < 0) return drv_error(err, -r, "create veth pair `%s`/`%s`", name, peer);
  return 0;
}

int drv_nl_link_del(drv_nl *nl, const char *name, drv_err *err)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh = link_msg(buf, RTM_DELLINK, 0, 0);
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
  int r = nl_talk(nl, nlh, NULL, NULL);
  if (r == -ENODEV) return 0;
  if (r < 0) return drv_error(err, -r, "delete link `%s`", name);
  return 0;
}

/* RTM_NEWLINK on an existing link by index, with one attribute set by the caller. */
static int link_change(drv_nl *nl, const char *name, const char *what, drv_err *err,
                       void (*fill)(struct nlmsghdr *, const void *), const void *arg,
                       unsigned int flags, unsigned int change)
{
  int index = drv_nl_link_index(nl, name, err);
  if (index < 0) return drv_err_prefix(err, "%s", what);
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, 0, index);
  struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
  ifm->ifi_flags = flags;
  ifm->ifi_change = change;
  if (fill) fill(nlh, arg);
  int r = nl_talk(nl, nlh, NULL, NULL);
  if (r < 0) return drv_error(err, -r, "%s", what);
  return 0;
}

int drv_nl_link_up(drv_nl *nl, const char *name, drv_err *err)
{
  _cleanup_free_ char *what = drv_asprintf("set link `%s` up", name);
  return link_change(nl, name, what, err, NULL, NULL, IFF_UP, IFF_UP);
}

static void fill_master(struct nlmsghdr *nlh, const void *arg)
{
  mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)*(const int *)arg);
}

int drv_nl_link_set_master(drv_nl *nl, const char *name, const char *master, drv_err *err)
{
  int mindex = drv_nl_link_index(nl, master, err);
  if (mindex < 0) return drv_err_prefix(err, "attach `%s` to `%s`", name, master);
  _cleanup_free_ char *what = drv_asprintf("attach `%s` to `%s`", name, master);
  return link_change(nl, name, what, err, fill_master, &mindex, 0, 0);
}

int drv_nl_link_set_hairpin(drv_nl *nl, const char *name, bool on, drv_err *err)
{
  int index = drv_nl_link_index(nl, name, err);
  if (index < 0) return drv_err_prefix(err, "set hairpin mode");
  char buf[MNL_SOCKET_BUFFER_SIZE];
  /* The bridge's own setlink (RTM_SETLINK of PF_BRIDGE; RTM_NEWLINK never reaches it), and a
   * nested IFLA_PROTINFO: without NLA_F_NESTED the kernel reads it as an old STP state byte. */
  struct nlmsghdr *nlh = link_msg(buf, RTM_SETLINK, 0, index);
  struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
  ifm->ifi_family = AF_BRIDGE;
  struct nlattr *pi = mnl_attr_nest_start(nlh, IFLA_PROTINFO);
  pi->nla_type |= NLA_F_NESTED;
  mnl_attr_put_u8(nlh, IFLA_BRPORT_MODE, on ? 1 : 0);
  mnl_attr_nest_end(nlh, pi);
  int r = nl_talk(nl, nlh, NULL, NULL);
  if (r < 0) return drv_error(err, -r, "set hairpin mode on `%s`", name);
  return 0;
}

static void fill_netns(struct nlmsghdr *nlh, const void *arg)
{
  mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)*(const int *)arg);
}

int drv_nl_link_set_netns(drv_nl *nl, const char *name, int nsfd, drv_err *err)
{
  _cleanup_free_ char *what = drv_asprintf("move link `%s` to a namespace", name);
  return link_change(nl, name, what, err, fill_netns, &nsfd, 0, 0);
}

static void fill_name(struct nlmsghdr *nlh, const void *arg)
{
  mnl_attr_put_strz(nlh, IFLA_IFNAME, arg);
}

int drv_nl_link_rename(drv_nl *nl, const char *name, const char *newname, drv_err *err)
{
  if (strlen(newname) >= IFNAMSIZ) return drv_error(err, EINVAL, "link name `%s` is too long", newname);
  _cleanup_free_ char *what = drv_asprintf("rename link `%s` to `%s`", name, newname);
  return link_change(nl, name, what, err, fill_name, newname, 0, 0);
}

int drv_nl_addr_add(drv_nl *nl, const char *dev, struct in_addr addr, int prefix, drv_err *err)
{
  char ip[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &addr, ip, sizeof ip);
  int index = drv_nl_link_index(nl, dev, err);
  if (index < 0) return drv_err_prefix(err, "add address %s/%d", ip, prefix);
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = RTM_NEWADDR;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL;
  struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof *ifa);
  ifa->ifa_family = AF_INET;
  ifa->ifa_prefixlen = (unsigned char)prefix;
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = (unsigned)index;
  mnl_attr_put_u32(nlh, IFA_LOCAL, addr.s_addr);
  mnl_attr_put_u32(nlh, IFA_ADDRESS, addr.s_addr);
  if (prefix < 31) {
    uint32_t brd = htonl(ntohl(addr.s_addr) | ~drv_net_mask(prefix));
    mnl_attr_put_u32(nlh, IFA_BROADCAST, brd);
  }
  int r = nl_talk(nl, nlh, NULL, NULL);
  if (r == -EEXIST) return 0;
  if (r < 0) return drv_error(err, -r, "add address %s/%d to `%s`", ip, prefix, dev);
  return 0;
}

static struct nlmsghdr *route_msg(char *buf, int type, int flags, struct in_addr dst, int prefix)
{
  struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = (uint16_t)type;
  nlh->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
  struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof *rtm);
  rtm->rtm_family = AF_INET;
  rtm->rtm_dst_len = (unsigned char)prefix;
  rtm->rtm_table = RT_TABLE_MAIN;
  rtm->rtm_protocol = RTPROT_STATIC;
  rtm->rtm_type = RTN_UNICAST;
  rtm->rtm_scope = RT_SCOPE_UNIVERSE;
  if (prefix > 0) mnl_attr_put_u32(nlh, RTA_DST, dst.s_addr);
  return nlh;
}

int drv_nl_route_replace(drv_nl *nl, struct in_addr dst, int prefix, struct in_addr gw,
                         const char *dev, drv_err *err)
{
  char d[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &dst, d, sizeof d);
  inet_ntop(AF_INET, &gw, g, sizeof g);
  int index = 0;
  if (dev) {
    index = drv_nl_link_index(nl, dev, err);
    if (index < 0) return drv_err_prefix(err, "add route to %s/%d", d, prefix);
  }
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh = route_msg(buf, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, dst, prefix);
  if (gw.s_addr) mnl_attr_put_u32(nlh, RTA_GATEWAY, gw.s_addr);
  else {
    struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
    rtm->rtm_scope = RT_SCOPE_LINK;
  }
  if (index > 0) mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)index);
  int r = nl_talk(nl, nlh, NULL, NULL);
  if (r < 0) return drv_error(err, -r, "add route to %s/%d via %s", d, prefix, g);
  return 0;
}

int drv_nl_route_del(drv_nl *nl, struct in_addr dst, int prefix, drv_err *err)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh = route_msg(buf, RTM_DELROUTE, 0, dst, prefix);
  struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
  rtm->rtm_scope = RT_SCOPE_NOWHERE;
  rtm->rtm_protocol = 0;
  rtm->rtm_type = 0;
  int r = nl_talk(nl, nlh, NULL, NULL);
  if (r == -ESRCH) return 0;
  if (r < 0) {
    char d[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &dst, d, sizeof d);
    return drv_error(err, -r, "delete route to %s/%d", d, prefix);
  }
  return 0;
}

uint32_t drv_net_mask(int prefix)
{
  return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);
}

int drv_net_parse_cidr(const char *s, struct in_addr *addr, int *prefix, drv_err *err)
{
  const char *slash = s ? strchr(s, '/') : NULL;
  if (!slash || slash - s >= INET_ADDRSTRLEN)
    return drv_error(err, EINVAL, "parse CIDR `%s`: expected a.b.c.d/n", s ? s : "");
  char ip[INET_ADDRSTRLEN];
  memcpy(ip, s, (size_t)(slash - s));
  ip[slash - s] = '\0';
  char *end;
  long p = strtol(slash + 1, &end, 10);
  if (inet_pton(AF_INET, ip, addr) != 1 || *end || end == slash + 1 || p < 0 || p > 32)
    return drv_error(err, EINVAL, "parse CIDR `%s`: expected a.b.c.d/n", s);
  *prefix = (int)p;
  return 0;
}
