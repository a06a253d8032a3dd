/* Cluster DNS, node-local: a small UDP server on the pod bridge's address that answers A
 * queries for Services — NAME.NS.svc.cluster.local → the ClusterIP, or the ready endpoint
 * addresses of a headless Service — from the agent's Service and Endpoints caches. Pods get
 * it as their nameserver with Kubernetes' search path. Other names: NXDOMAIN (no forwarding). */
#include "agent/dns.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/internal.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"

#define DNS_DOMAIN "svc.cluster.local"
#define DNS_MAX_ANSWERS 32

/* Reads the question name as dotted lower case; returns the offset after QCLASS or -1. */
static int read_question(const unsigned char *pkt, size_t len, char *name, size_t size,
                         int *qtype)
{
  size_t pos = 12, out = 0;
  for (;;) {
    if (pos >= len) return -1;
    unsigned l = pkt[pos++];
    if (l == 0) break;
    if (l > 63 || pos + l > len || out + l + 2 > size) return -1;
    if (out) name[out++] = '.';
    for (unsigned i = 0; i < l; i++) name[out++] = (char)tolower(pkt[pos + i]);
    pos += l;
  }
  name[out] = '\0';
  if (pos + 4 > len) return -1;
  *qtype = (pkt[pos] << 8) | pkt[pos + 1];
  return (int)(pos + 4);
}

/* "name.ns.svc.cluster.local" → name, ns. */
static bool split_service(const char *q, char *name, char *ns, size_t size)
{
  size_t ql = strlen(q), dl = strlen(DNS_DOMAIN);
  if (ql <= dl + 1 || strcmp(q + ql - dl, DNS_DOMAIN) != 0 || q[ql - dl - 1] != '.') return false;
  char head[256];
  snprintf(head, sizeof head, "%.*s", (int)(ql - dl - 1), q);
  char *dot = strchr(head, '.');
  if (!dot || strchr(dot + 1, '.')) return false;
  *dot = '\0';
  snprintf(name, size, "%s", head);
  snprintf(ns, size, "%s", dot + 1);
  return *name && *ns;
}

size_t drv_dns_lookup(drv_agent *a, const char *qname, struct in_addr *out, size_t max, bool *known)
{
  char name[256], ns[256];
  *known = false;
  if (!a->svc_inf || !split_service(qname, name, ns, sizeof name)) return 0;
  json_t *svc = drv_informer_get(a->svc_inf, ns, name);
  if (!svc) return 0;
  *known = true;
  size_t n = 0;
  const char *cip = drv_json_get_str(svc, "spec.clusterIP");
  if (cip && strcmp(cip, "None") != 0) {
    if (n < max && inet_pton(AF_INET, cip, &out[n]) == 1) n++;
  } else if (a->ep_inf) {
    json_t *ep = drv_informer_get(a->ep_inf, ns, name);
    size_t i, j;
    json_t *sub, *ad;
    json_array_foreach(json_object_get(ep, "subsets"), i, sub)
      json_array_foreach(json_object_get(sub, "addresses"), j, ad)
        if (n < max && inet_pton(AF_INET, json_string_value(json_object_get(ad, "ip")) ?: "", &out[n]) == 1) n++;
    json_decref(ep);
  }
  json_decref(svc);
  return n;
}

size_t drv_dns_answer(drv_agent *a, const unsigned char *q, size_t qlen, unsigned char *resp,
                      size_t size)
{
  if (qlen < 12 || size < 512 || (q[2] & 0x80)) return 0; /* not a query */
  char name[256];
  int qtype = 0;
  int end = read_question(q, qlen, name, sizeof name, &qtype);
  bool one_question = q[4] == 0 && q[5] == 1;
  if (end < 0 || !one_question) {
    if (qlen < 12) return 0;
    memcpy(resp, q, 12);
    resp[2] = 0x80 | (q[2] & 0x01);
    resp[3] = 1; /* FORMERR */
    memset(resp + 4, 0, 8);
    return 12;
  }
  struct in_addr ips[DNS_MAX_ANSWERS];
  bool known = false;
  size_t n = drv_dns_lookup(a, name, ips, DNS_MAX_ANSWERS, &known);
  if (qtype != 1 && qtype != 255) n = 0; /* only A records; the name may still exist */
  memcpy(resp, q, (size_t)end);
  resp[2] = (unsigned char)(0x84 | (q[2] & 0x01)); /* QR, AA, RD copied */
  resp[3] = (unsigned char)(0x80 | (known ? 0 : 3)); /* RA; NXDOMAIN for unknown names */
  resp[6] = 0, resp[7] = (unsigned char)n;
  resp[8] = resp[9] = resp[10] = resp[11] = 0;
  size_t pos = (size_t)end;
  for (size_t i = 0; i < n && pos + 16 <= size; i++) {
    unsigned char rr[16] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4};
    memcpy(rr + 12, &ips[i].s_addr, 4);
    memcpy(resp + pos, rr, 16);
    pos += 16;
  }
  return pos;
}

static void *dns_thread(void *arg)
{
  drv_agent *a = arg;
  unsigned char q[1500], r[1500];
  for (;;) {
    pthread_mutex_lock(&a->lock);
    bool stop = a->stop;
    pthread_mutex_unlock(&a->lock);
    if (stop) break;
    struct pollfd p = {a->dns_fd, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    ssize_t k = recvfrom(a->dns_fd, q, sizeof q, 0, (struct sockaddr *)&from, &fl);
    if (k <= 0) continue;
    size_t n = drv_dns_answer(a, q, (size_t)k, r, sizeof r);
    if (n) sendto(a->dns_fd, r, n, 0, (struct sockaddr *)&from, fl);
  }
  return NULL;
}

int drv_dns_start(drv_agent *a, struct in_addr addr, drv_err *err)
{
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return drv_error(err, errno, "cluster DNS: socket");
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(53), .sin_addr = addr};
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    close(fd);
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &addr, ip, sizeof ip);
    return drv_error(err, e, "cluster DNS: bind %s:53", ip);
  }
  a->dns_fd = fd;
  if (pthread_create(&a->dns_thr, NULL, dns_thread, a) != 0) {
    close(fd);
    a->dns_fd = -1;
    return drv_error(err, errno, "cluster DNS: thread");
  }
  return 0;
}

void drv_dns_stop(drv_agent *a)
{
  if (a->dns_fd < 0) return;
  pthread_join(a->dns_thr, NULL);
  close(a->dns_fd);
  a->dns_fd = -1;
}
