#include "net/service.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/util.h"

#define SVC_MARK "0x4000/0x4000"

/* The owner's chain names: "DRV-<owner>-<what>" (at most 28 bytes, iptables' limit). */
#define CHAIN_LEN 29

static void chain(const char *owner, const char *what, char out[CHAIN_LEN])
{
  snprintf(out, CHAIN_LEN, "DRV-%s-%s", owner, what);
}

static uint64_t fnv(const char *s, uint64_t h)
{
  for (const char *p = s; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
  return h;
}

/* The chain of one service port: "DRV-<owner>-SVC" + 11 hex digits of its key. */
static void svc_chain(const char *owner, const char *key, char out[CHAIN_LEN])
{
  snprintf(out, CHAIN_LEN, "DRV-%s-SVC%011llX", owner,
           (unsigned long long)(fnv(key, 1469598103934665603ull) & 0xfffffffffffull));
}

void drv_svc_owner(const char *node_name, const char *data_dir, char out[DRV_SVC_OWNER_LEN + 1])
{
  uint64_t h = fnv(node_name ? node_name : "", 1469598103934665603ull);
  h = fnv("\n", h);
  h = fnv(data_dir ? data_dir : "", h);
  snprintf(out, DRV_SVC_OWNER_LEN + 1, "%08llX", (unsigned long long)((h ^ (h >> 32)) & 0xffffffffull));
}

static bool owner_ok(const char *o)
{
  if (!o || strlen(o) != DRV_SVC_OWNER_LEN) return false;
  for (const char *p = o; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'F'))) return false;
  return true;
}

static bool proto_ok(const char *p)
{
  return p && (!strcmp(p, "tcp") || !strcmp(p, "udp") || !strcmp(p, "sctp"));
}

/* The hooks from the built-in chains into the owner's. */
static const char *const hooks[][2] = {
    {"PREROUTING", "SERVICES"},
    {"OUTPUT", "SERVICES"},
    {"POSTROUTING", "POSTROUTING"},
};
static const char *const top_chains[] = {"SERVICES", "NODEPORTS", "HOSTPORTS", "POSTROUTING"};

static void declare_top(const char *owner, drv_buf *out)
{
  for (size_t i = 0; i < DRV_ARRAY_LEN(top_chains); i++) {
    char c[CHAIN_LEN];
    chain(owner, top_chains[i], c);
    drv_buf_printf(out, ":%s - [0:0]\n", c);
  }
}

static void render_hostports(const drv_svc_table *t, drv_buf *out)
{
  char hp[CHAIN_LEN];
  chain(t->owner, "HOSTPORTS", hp);
  for (size_t i = 0; i < t->n_hps; i++) {
    const drv_hostport *h = &t->hps[i];
    char pod[INET_ADDRSTRLEN], host[INET_ADDRSTRLEN] = "";
    inet_ntop(AF_INET, &h->pod_ip, pod, sizeof pod);
    if (h->host_ip.s_addr) inet_ntop(AF_INET, &h->host_ip, host, sizeof host);
    char match[128];
    snprintf(match, sizeof match, "%s%s%s-p %s -m %s --dport %u", host[0] ? "-d " : "", host,
             host[0] ? "/32 " : "", h->proto, h->proto, h->host_port);
    /* Hairpin (the pod to its own hostPort) and localhost clients need a source the pod can
     * answer: masqueraded on the way out (the mark), as portmap does. */
    drv_buf_printf(out, "-A %s %s -s %s/32 -m comment --comment \"%s\" -j MARK --set-xmark " SVC_MARK "\n",
                   hp, match, pod, h->key);
    drv_buf_printf(out, "-A %s %s -s 127.0.0.0/8 -m comment --comment \"%s\" -j MARK --set-xmark " SVC_MARK "\n",
                   hp, match, h->key);
    drv_buf_printf(out, "-A %s %s -m comment --comment \"%s\" -j DNAT --to-destination %s:%u\n", hp,
                   match, h->key, pod, h->pod_port);
  }
}

int drv_svc_render(const drv_svc_table *t, char *const *stale, drv_buf *out, drv_err *err)
{
  if (!owner_ok(t->owner))
    return drv_error(err, EINVAL, "service rules: owner `%s` must be %d hex digits", t->owner ? t->owner : "",
                     DRV_SVC_OWNER_LEN);
  for (size_t i = 0; i < t->n; i++)
    if (!proto_ok(t->rules[i].proto))
      return drv_error(err, EINVAL, "service `%s`: protocol `%s` must be tcp, udp or sctp",
                       t->rules[i].key, t->rules[i].proto ? t->rules[i].proto : "");
  for (size_t i = 0; i < t->n_hps; i++) {
    if (!proto_ok(t->hps[i].proto))
      return drv_error(err, EINVAL, "hostPort `%s`: protocol `%s` must be tcp, udp or sctp",
                       t->hps[i].key, t->hps[i].proto ? t->hps[i].proto : "");
    if (!t->hps[i].host_port || !t->hps[i].pod_port || !t->hps[i].pod_ip.s_addr)
      return drv_error(err, EINVAL, "hostPort `%s`: host port, pod IP and pod port are required", t->hps[i].key);
  }
  char svcs[CHAIN_LEN], nps[CHAIN_LEN], hps[CHAIN_LEN], post[CHAIN_LEN];
  chain(t->owner, "SERVICES", svcs);
  chain(t->owner, "NODEPORTS", nps);
  chain(t->owner, "HOSTPORTS", hps);
  chain(t->owner, "POSTROUTING", post);
  drv_buf_puts(out, "*nat\n");
  declare_top(t->owner, out);
  for (size_t i = 0; i < t->n; i++) {
    if (t->rules[i].n_eps == 0) continue;
    char c[CHAIN_LEN];
    svc_chain(t->owner, t->rules[i].key, c);
    drv_buf_printf(out, ":%s - [0:0]\n", c);
  }
  /* A chain must be empty to be deleted: declaring it flushes it. */
  for (size_t i = 0; stale && stale[i]; i++) drv_buf_printf(out, ":%s - [0:0]\n", stale[i]);
  /* hostPorts first: a node's own port wins over a nodePort (kubelet's portmap hooks in first). */
  if (t->n_hps) drv_buf_printf(out, "-A %s -m addrtype --dst-type LOCAL -j %s\n", svcs, hps);
  render_hostports(t, out);
  for (size_t i = 0; i < t->n; i++) {
    const drv_svc_rule *r = &t->rules[i];
    if (r->n_eps == 0) continue;
    char c[CHAIN_LEN];
    svc_chain(t->owner, r->key, c);
    char vip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &r->vip, vip, sizeof vip);
    if (r->vip.s_addr)
      drv_buf_printf(out, "-A %s -d %s/32 -p %s -m %s --dport %u -m comment "
                          "--comment \"%s\" -j %s\n", svcs, vip, r->proto, r->proto, r->port, r->key, c);
    if (r->node_port)
      drv_buf_printf(out, "-A %s -p %s -m %s --dport %u -m comment --comment "
                          "\"%s\" -j %s\n", nps, r->proto, r->proto, r->node_port, r->key, c);
    drv_buf_printf(out, "-A %s -j MARK --set-xmark " SVC_MARK "\n", c);
    for (size_t e = 0; e < r->n_eps; e++) {
      char ip[INET_ADDRSTRLEN];
      inet_ntop(AF_INET, &r->eps[e].ip, ip, sizeof ip);
      size_t left = r->n_eps - e;
      drv_buf_printf(out, "-A %s -p %s", c, r->proto);
      /* 1/left of what reaches this rule: every endpoint gets 1/n overall. */
      if (left > 1) drv_buf_printf(out, " -m statistic --mode random --probability %.10f", 1.0 / (double)left);
      drv_buf_printf(out, " -j DNAT --to-destination %s:%u\n", ip, r->eps[e].port);
    }
  }
  drv_buf_printf(out, "-A %s -m addrtype --dst-type LOCAL -j %s\n"
                      "-A %s -m mark --mark " SVC_MARK " -j MASQUERADE\n", svcs, nps, post);
  for (size_t i = 0; stale && stale[i]; i++) drv_buf_printf(out, "-X %s\n", stale[i]);
  drv_buf_puts(out, "COMMIT\n");
  return 0;
}

/* Runs argv with input on stdin; stdout goes to out (if given); a failure's stderr goes into
 * err. */
static int run_cmd(char *const argv[], const char *input, drv_buf *out, drv_err *err)
{
  int in[2], op[2], ep[2];
  if (pipe2(in, O_CLOEXEC) < 0) return drv_error(err, errno, "pipe");
  if (pipe2(op, O_CLOEXEC) < 0) {
    close(in[0]), close(in[1]);
    return drv_error(err, errno, "pipe");
  }
  if (pipe2(ep, O_CLOEXEC) < 0) {
    close(in[0]), close(in[1]), close(op[0]), close(op[1]);
    return drv_error(err, errno, "pipe");
  }
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(in[0]), close(in[1]), close(op[0]), close(op[1]), close(ep[0]), close(ep[1]);
    return drv_error(err, e, "fork for `%s`", argv[0]);
  }
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(op[1], 1);
    dup2(ep[1], 2);
    execvp(argv[0], argv);
    dprintf(2, "exec: %s", strerror(errno));
    _exit(127);
  }
  close(in[0]), close(op[1]), close(ep[1]);
  signal(SIGPIPE, SIG_IGN);
  if (input) drv_write_all(in[1], input, strlen(input));
  close(in[1]);
  drv_buf eb = DRV_BUF_INIT;
  struct pollfd p[2] = {{op[0], POLLIN, 0}, {ep[0], POLLIN, 0}};
  int open_fds = 2;
  while (open_fds > 0) {
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; i++) {
      if (p[i].fd < 0 || !p[i].revents) continue;
      char buf[4096];
      ssize_t k = read(p[i].fd, buf, sizeof buf);
      if (k <= 0) {
        close(p[i].fd);
        p[i].fd = -1;
        open_fds--;
        continue;
      }
      if (i == 0 && out) drv_buf_append(out, buf, (size_t)k);
      if (i == 1 && eb.len < 4096) drv_buf_append(&eb, buf, (size_t)k);
    }
  }
  int st;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
  int r = 0;
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    while (eb.len && (eb.data[eb.len - 1] == '\n')) eb.data[--eb.len] = '\0';
    r = drv_error(err, 0, "`%s` failed (status %d): %s", argv[0],
                  WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), eb.data ? eb.data : "");
  }
  drv_buf_free(&eb);
  return r;
}

static int ensure_hooks(const char *owner, drv_err *err)
{
  /* The chains must exist before a rule can jump to them. */
  _cleanup_buf_ drv_buf decl = DRV_BUF_INIT;
  drv_buf_puts(&decl, "*nat\n");
  declare_top(owner, &decl);
  drv_buf_puts(&decl, "COMMIT\n");
  if (run_cmd((char *[]){"iptables-restore", "-w", "--noflush", NULL}, decl.data, NULL, err) < 0)
    return -1;
  for (size_t i = 0; i < DRV_ARRAY_LEN(hooks); i++) {
    drv_err e;
    char c[CHAIN_LEN];
    chain(owner, hooks[i][1], c);
    char *check[] = {"iptables", "-w", "-t", "nat", "-C", (char *)hooks[i][0], "-j", c, NULL};
    if (run_cmd(check, NULL, NULL, &e) == 0) continue;
    char *add[] = {"iptables", "-w", "-t", "nat", "-I", (char *)hooks[i][0], "-j", c, NULL};
    if (run_cmd(add, NULL, NULL, err) < 0) return -1;
  }
  return 0;
}

/* The owner's chains present in the nat table now: per-service ones only (all=false), or all. */
static char **current_chains(const char *owner, bool all, drv_err *err)
{
  drv_buf out = DRV_BUF_INIT;
  if (run_cmd((char *[]){"iptables-save", "-t", "nat", NULL}, NULL, &out, err) < 0) {
    drv_buf_free(&out);
    return NULL;
  }
  char prefix[CHAIN_LEN];
  snprintf(prefix, sizeof prefix, ":DRV-%s-%s", owner, all ? "" : "SVC");
  size_t n = 0, cap = 8, pl = strlen(prefix);
  char **v = drv_calloc(cap, sizeof *v);
  char *save = NULL;
  for (char *line = out.data ? strtok_r(out.data, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
    if (strncmp(line, prefix, pl) != 0) continue;
    char *sp = strchr(line, ' ');
    if (sp) *sp = '\0';
    if (n + 2 > cap) v = drv_realloc(v, (cap *= 2) * sizeof *v);
    v[n++] = drv_strdup(line + 1);
    v[n] = NULL;
  }
  drv_buf_free(&out);
  return v;
}

int drv_svc_sync(const drv_svc_table *t, drv_err *err)
{
  _cleanup_buf_ drv_buf probe = DRV_BUF_INIT;
  if (drv_svc_render(t, NULL, &probe, err) < 0) return -1; /* bad input changes nothing */
  if (ensure_hooks(t->owner, err) < 0) return drv_err_prefix(err, "sync service rules");
  _cleanup_strv_ char **cur = current_chains(t->owner, false, err);
  if (!cur) return drv_err_prefix(err, "sync service rules");
  /* Stale = present now and not used by any rule with endpoints. */
  size_t k = 0;
  for (size_t i = 0; cur[i]; i++) {
    bool used = false;
    for (size_t j = 0; j < t->n && !used; j++) {
      char c[CHAIN_LEN];
      svc_chain(t->owner, t->rules[j].key, c);
      used = t->rules[j].n_eps > 0 && strcmp(c, cur[i]) == 0;
    }
    if (used) free(cur[i]);
    else cur[k++] = cur[i];
  }
  cur[k] = NULL;
  _cleanup_buf_ drv_buf text = DRV_BUF_INIT;
  if (drv_svc_render(t, cur, &text, err) < 0) return -1;
  if (run_cmd((char *[]){"iptables-restore", "-w", "--noflush", NULL}, text.data, NULL, err) < 0)
    return drv_err_prefix(err, "sync service rules");
  return 0;
}

int drv_svc_cleanup(const char *owner, drv_err *err)
{
  if (!owner_ok(owner))
    return drv_error(err, EINVAL, "service rules: owner `%s` must be %d hex digits", owner ? owner : "",
                     DRV_SVC_OWNER_LEN);
  for (size_t i = 0; i < DRV_ARRAY_LEN(hooks); i++) {
    drv_err e;
    char c[CHAIN_LEN];
    chain(owner, hooks[i][1], c);
    char *del[] = {"iptables", "-w", "-t", "nat", "-D", (char *)hooks[i][0], "-j", c, NULL};
    while (run_cmd(del, NULL, NULL, &e) == 0) {}
  }
  _cleanup_strv_ char **cur = current_chains(owner, true, err);
  if (!cur) return drv_err_prefix(err, "remove service rules");
  if (!cur[0]) return 0;
  _cleanup_buf_ drv_buf text = DRV_BUF_INIT;
  drv_buf_puts(&text, "*nat\n");
  for (size_t i = 0; cur[i]; i++) drv_buf_printf(&text, ":%s - [0:0]\n", cur[i]);
  for (size_t i = 0; cur[i]; i++) drv_buf_printf(&text, "-X %s\n", cur[i]);
  drv_buf_puts(&text, "COMMIT\n");
  if (run_cmd((char *[]){"iptables-restore", "-w", "--noflush", NULL}, text.data, NULL, err) < 0)
    return drv_err_prefix(err, "remove service rules");
  return 0;
}
