/* The node's network beyond its pods: routes to the other nodes' pod CIDRs, and the nat rules
 * of Services (ClusterIP, NodePort) and of the containers' hostPorts, in chains owned by this
 * agent alone (another agent in the same network namespace keeps its own). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/internal.h"
#include "api/object.h"
#include "common/buf.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "net/podnet.h"
#include "net/service.h"

void drv_agent_hostports(drv_agent *a, drv_hostport **out, size_t *n_out)
{
  *out = NULL;
  *n_out = 0;
  if (!a->network) return;
  size_t n = 0, cap = 0;
  drv_hostport *v = NULL;
  for (size_t i = 0; i < a->pods.n; i++) {
    drv_pod *p = a->pods.v[i];
    /* Only a running sandbox with its own IP: a hostNetwork pod binds the node's port itself. */
    if (p->gone || p->terminating || !p->obj || drv_obj_deletion_timestamp(p->obj) || p->sandbox_pid <= 0 ||
        !p->ip[0] || drv_json_get_bool(p->obj, "spec.hostNetwork", false))
      continue;
    struct in_addr pod_ip;
    if (inet_pton(AF_INET, p->ip, &pod_ip) != 1) continue;
    size_t j;
    json_t *c;
    json_array_foreach(drv_json_get(p->obj, "spec.containers"), j, c)
    {
      size_t k;
      json_t *port;
      json_array_foreach(json_object_get(c, "ports"), k, port)
      {
        long long hp = drv_json_get_int(port, "hostPort", 0);
        long long cp = drv_json_get_int(port, "containerPort", 0);
        if (hp <= 0 || hp > 65535 || cp <= 0 || cp > 65535) continue;
        const char *proto = json_string_value(json_object_get(port, "protocol"));
        const char *hip = json_string_value(json_object_get(port, "hostIP"));
        struct in_addr host_ip = {0};
        if (hip && *hip && inet_pton(AF_INET, hip, &host_ip) != 1) continue; /* validated by the server */
        if (n == cap) v = drv_realloc(v, (cap = cap ? cap * 2 : 8) * sizeof *v);
        v[n++] = (drv_hostport){
            .key = drv_asprintf("%s/%s/%s:%lld", p->ns, p->name, json_string_value(json_object_get(c, "name")) ?: "",
                                cp),
            .proto = drv_strdup(proto && !strcasecmp(proto, "UDP") ? "udp"
                                : proto && !strcasecmp(proto, "SCTP") ? "sctp" : "tcp"),
            .host_ip = host_ip, .host_port = (uint16_t)hp, .pod_ip = pod_ip, .pod_port = (uint16_t)cp};
      }
    }
  }
  *out = v;
  *n_out = n;
}

void drv_agent_hostports_free(drv_hostport *v, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    free((char *)v[i].key);
    free((char *)v[i].proto);
  }
  free(v);
}

/* Whether ip is an address of this network namespace (it can be bound). */
static bool is_local_address(const char *ip)
{
  struct sockaddr_in sa = {.sin_family = AF_INET};
  if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1) return false;
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return false;
  bool local = bind(s, (struct sockaddr *)&sa, sizeof sa) == 0;
  close(s);
  return local;
}

void drv_agent_sync_routes(drv_agent *a)
{
  if (!a->network || !a->node_inf) return;
  json_t *nodes = drv_informer_list(a->node_inf, NULL, NULL, NULL);
  drv_buf want = DRV_BUF_INIT;
  size_t i;
  json_t *n;
  json_array_foreach(nodes, i, n)
  {
    const char *name = drv_obj_name(n);
    const char *cidr = drv_json_get_str(n, "spec.podCIDR");
    if (!name || !cidr || !strcmp(name, a->node_name)) continue;
    const char *ip = NULL;
    size_t j;
    json_t *ad;
    json_array_foreach(drv_json_get(n, "status.addresses"), j, ad)
    {
      const char *t = json_string_value(json_object_get(ad, "type"));
      if (t && !strcmp(t, "InternalIP")) ip = json_string_value(json_object_get(ad, "address"));
    }
    /* A node on this very host (another agent in this network namespace) has its bridge here
     * already: a route through its address, a local one, would replace that bridge's route. */
    if (ip && !is_local_address(ip)) drv_buf_printf(&want, "%s %s\n", cidr, ip);
  }
  json_decref(nodes);
  const char *cur = want.data ? want.data : "";
  if (a->routes_last && !strcmp(a->routes_last, cur)) {
    drv_buf_free(&want);
    return;
  }
  drv_err err;
  /* Drop routes of nodes that went away, then (re)install the wanted ones. */
  if (a->routes_last) {
    char *save = NULL, *copy = drv_strdup(a->routes_last);
    for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
      char cidr[64];
      if (sscanf(l, "%63s", cidr) == 1 && !strstr(cur, cidr)) drv_podnet_unroute_peer(cidr, &err);
    }
    free(copy);
  }
  bool ok = true;
  char *save = NULL, *copy = drv_strdup(cur);
  for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    char cidr[64], ip[64];
    struct in_addr via;
    if (sscanf(l, "%63s %63s", cidr, ip) != 2 || inet_pton(AF_INET, ip, &via) != 1) continue;
    if (drv_podnet_route_peer(cidr, via, &err) < 0) {
      drv_log_warn("route to pods of %s: %s", ip, err.msg);
      ok = false;
    }
  }
  free(copy);
  free(a->routes_last);
  a->routes_last = ok ? drv_buf_steal(&want) : NULL;
  drv_buf_free(&want);
}

void drv_agent_sync_services(drv_agent *a, const drv_hostport *hps, size_t n_hps)
{
  if (!a->network || !a->svc_inf || !a->ep_inf) return;
  char owner[DRV_SVC_OWNER_LEN + 1];
  drv_svc_owner(a->node_name, a->data_dir, owner);
  json_t *svcs = drv_informer_list(a->svc_inf, NULL, NULL, NULL);
  size_t cap = 16, n = 0;
  drv_svc_rule *rules = drv_calloc(cap, sizeof *rules);
  char **keys = drv_calloc(cap, sizeof *keys);
  drv_svc_ep **eps = drv_calloc(cap, sizeof *eps);
  char **protos = drv_calloc(cap, sizeof *protos);
  size_t i;
  json_t *s;
  json_array_foreach(svcs, i, s)
  {
    const char *cip = drv_json_get_str(s, "spec.clusterIP");
    struct in_addr vip = {0};
    if (cip && strcmp(cip, "None") != 0) inet_pton(AF_INET, cip, &vip);
    json_t *ep = drv_informer_get(a->ep_inf, drv_obj_namespace(s), drv_obj_name(s));
    size_t j;
    json_t *sp;
    json_array_foreach(drv_json_get(s, "spec.ports"), j, sp)
    {
      const char *pname = json_string_value(json_object_get(sp, "name"));
      const char *proto = json_string_value(json_object_get(sp, "protocol"));
      int port = (int)json_integer_value(json_object_get(sp, "port"));
      int np = (int)json_integer_value(json_object_get(sp, "nodePort"));
      if (!vip.s_addr && !np) continue;
      if (n == cap) {
        cap *= 2;
        rules = drv_realloc(rules, cap * sizeof *rules);
        keys = drv_realloc(keys, cap * sizeof *keys);
        eps = drv_realloc(eps, cap * sizeof *eps);
        protos = drv_realloc(protos, cap * sizeof *protos);
      }
      keys[n] = drv_asprintf("%s/%s:%s", drv_obj_namespace(s), drv_obj_name(s), pname ? pname : "");
      protos[n] = drv_strdup(proto && !strcasecmp(proto, "UDP") ? "udp" : proto && !strcasecmp(proto, "SCTP") ? "sctp" : "tcp");
      size_t ne = 0, ecap = 4;
      eps[n] = drv_calloc(ecap, sizeof **eps);
      size_t k;
      json_t *sub;
      json_array_foreach(json_object_get(ep, "subsets"), k, sub)
      {
        int tport = 0;
        size_t q;
        json_t *epp;
        json_array_foreach(json_object_get(sub, "ports"), q, epp)
        {
          const char *en = json_string_value(json_object_get(epp, "name"));
          if ((!pname && !en) || (pname && en && !strcmp(pname, en)) ||
              json_array_size(json_object_get(sub, "ports")) == 1)
            tport = (int)json_integer_value(json_object_get(epp, "port"));
        }
        if (!tport) continue;
        size_t w;
        json_t *ad;
        json_array_foreach(json_object_get(sub, "addresses"), w, ad)
        {
          struct in_addr ip;
          if (inet_pton(AF_INET, json_string_value(json_object_get(ad, "ip")) ?: "", &ip) != 1) continue;
          if (ne == ecap) eps[n] = drv_realloc(eps[n], (ecap *= 2) * sizeof **eps);
          eps[n][ne++] = (drv_svc_ep){ip, (uint16_t)tport};
        }
      }
      rules[n] = (drv_svc_rule){.key = keys[n], .proto = protos[n], .vip = vip,
                                .port = (uint16_t)port, .node_port = (uint16_t)np,
                                .eps = eps[n], .n_eps = ne};
      n++;
    }
    json_decref(ep);
  }
  json_decref(svcs);
  drv_buf text = DRV_BUF_INIT;
  drv_err err;
  drv_svc_table t = {.owner = owner, .rules = rules, .n = n, .hps = hps, .n_hps = n_hps};
  if (drv_svc_render(&t, NULL, &text, &err) < 0) drv_log_warn("service rules: %s", err.msg);
  else if (!a->svc_rules_last || strcmp(a->svc_rules_last, text.data) != 0) {
    if (drv_svc_sync(&t, &err) < 0) drv_log_warn("service rules: %s", err.msg);
    else {
      free(a->svc_rules_last);
      a->svc_rules_last = drv_buf_steal(&text);
    }
  }
  drv_buf_free(&text);
  for (size_t k = 0; k < n; k++) free(keys[k]), free(eps[k]), free(protos[k]);
  free(keys), free(eps), free(protos), free(rules);
}

