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

static const char *const hooks[][2] = {
    {"PREROUTING", "DROVER-SERVICES"},
    {"OUTPUT", "DROVER-SERVICES"},
    {"POSTROUTING", "DROVER-POSTROUTING"},
};

static void chain_name(const char *prefix, const char *key, char out[29])
{
  uint64_t h = 1469598103934665603ull;
  for (const char *p = key; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
  snprintf(out, 29, "%s%016llX", prefix, (unsigned long long)h);
}

static bool proto_ok(const char *p)
{
  return p && (!strcmp(p, "tcp") || !strcmp(p, "udp") || !strcmp(p, "sctp"));
}

int drv_svc_render(const drv_svc_rule *rules, size_t n, char *const *stale, drv_buf *out,
                   drv_err *err)
{
  drv_buf_puts(out, "*nat\n:DROVER-SERVICES - [0:0]\n:DROVER-NODEPORTS - [0:0]\n"
                    ":DROVER-POSTROUTING - [0:0]\n");
  for (size_t i = 0; i < n; i++) {
    if (!proto_ok(rules[i].proto))
      return drv_error(err, EINVAL, "service `%s`: protocol `%s` must be tcp, udp or sctp",
                       rules[i].key, rules[i].proto ? rules[i].proto : "");
    if (rules[i].n_eps == 0) continue;
    char c[29];
    chain_name("DROVER-SVC-", rules[i].key, c);
    drv_buf_printf(out, ":%s - [0:0]\n", c);
  }
  /* A chain must be empty to be deleted: declaring it flushes it. */
  for (size_t i = 0; stale && stale[i]; i++) drv_buf_printf(out, ":%s - [0:0]\n", stale[i]);
  for (size_t i = 0; i < n; i++) {
    const drv_svc_rule *r = &rules[i];
    if (r->n_eps == 0) continue;
    char c[29];
    chain_name("DROVER-SVC-", r->key, c);
    char vip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &r->vip, vip, sizeof vip);
    if (r->vip.s_addr)
      drv_buf_printf(out, "-A DROVER-SERVICES -d %s/32 -p %s -m %s --dport %u -m comment "
                          "--comment \"%s\" -j %s\n", vip, r->proto, r->proto, r->port, r->key, c);
    if (r->node_port)
      drv_buf_printf(out, "-A DROVER-NODEPORTS -p %s -m %s --dport %u -m comment --comment "
                          "\"%s\" -j %s\n", r->proto, r->proto, r->node_port, r->key, c);
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
  drv_buf_puts(out, "-A DROVER-SERVICES -m addrtype --dst-type LOCAL -j DROVER-NODEPORTS\n"
                    "-A DROVER-POSTROUTING -m mark --mark " SVC_MARK " -j MASQUERADE\n");
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

static int ensure_hooks(drv_err *err)
{
  /* The chains must exist before a rule can jump to them. */
  if (run_cmd((char *[]){"iptables-restore", "-w", "--noflush", NULL},
              "*nat\n:DROVER-SERVICES - [0:0]\n:DROVER-POSTROUTING - [0:0]\n"
              ":DROVER-NODEPORTS - [0:0]\nCOMMIT\n", NULL, err) < 0)
    return -1;
  for (size_t i = 0; i < DRV_ARRAY_LEN(hooks); i++) {
    drv_err e;
    char *check[] = {"iptables", "-w", "-t", "nat", "-C", (char *)hooks[i][0], "-j",
                     (char *)hooks[i][1], NULL};
    if (run_cmd(check, NULL, NULL, &e) == 0) continue;
    char *add[] = {"iptables", "-w", "-t", "nat", "-I", (char *)hooks[i][0], "-j",
                   (char *)hooks[i][1], NULL};
    if (run_cmd(add, NULL, NULL, err) < 0) return -1;
  }
  return 0;
}

/* drover's per-service chains present in the nat table now. */
static char **current_chains(drv_err *err)
{
  drv_buf out = DRV_BUF_INIT;
  if (run_cmd((char *[]){"iptables-save", "-t", "nat", NULL}, NULL, &out, err) < 0) {
    drv_buf_free(&out);
    return NULL;
  }
  size_t n = 0, cap = 8;
  char **v = drv_calloc(cap, sizeof *v);
  char *save = NULL;
  for (char *line = strtok_r(out.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    if (strncmp(line, ":DROVER-SVC-", 12) != 0) continue;
    char *sp = strchr(line, ' ');
    if (sp) *sp = '\0';
    if (n + 2 > cap) v = drv_realloc(v, (cap *= 2) * sizeof *v);
    v[n++] = drv_strdup(line + 1);
    v[n] = NULL;
  }
  drv_buf_free(&out);
  return v;
}

int drv_svc_sync(const drv_svc_rule *rules, size_t n, drv_err *err)
{
  if (ensure_hooks(err) < 0) return drv_err_prefix(err, "sync service rules");
  _cleanup_strv_ char **cur = current_chains(err);
  if (!cur) return drv_err_prefix(err, "sync service rules");
  /* Stale = present now and not used by any rule with endpoints. */
  size_t k = 0;
  for (size_t i = 0; cur[i]; i++) {
    bool used = false;
    for (size_t j = 0; j < n && !used; j++) {
      char c[29];
      chain_name("DROVER-SVC-", rules[j].key, c);
      used = rules[j].n_eps > 0 && strcmp(c, cur[i]) == 0;
    }
    if (used) free(cur[i]);
    else cur[k++] = cur[i];
  }
  cur[k] = NULL;
  _cleanup_buf_ drv_buf text = DRV_BUF_INIT;
  if (drv_svc_render(rules, n, cur, &text, err) < 0) return -1;
  if (run_cmd((char *[]){"iptables-restore", "-w", "--noflush", NULL}, text.data, NULL, err) < 0)
    return drv_err_prefix(err, "sync service rules");
  return 0;
}

int drv_svc_cleanup(drv_err *err)
{
  for (size_t i = 0; i < DRV_ARRAY_LEN(hooks); i++) {
    drv_err e;
    char *del[] = {"iptables", "-w", "-t", "nat", "-D", (char *)hooks[i][0], "-j",
                   (char *)hooks[i][1], NULL};
    while (run_cmd(del, NULL, NULL, &e) == 0) {}
  }
  _cleanup_strv_ char **cur = current_chains(err);
  if (!cur) return -1;
  drv_buf text = DRV_BUF_INIT;
  drv_buf_puts(&text, "*nat\n:DROVER-SERVICES - [0:0]\n:DROVER-NODEPORTS - [0:0]\n"
                      ":DROVER-POSTROUTING - [0:0]\n");
  for (size_t i = 0; cur[i]; i++) drv_buf_printf(&text, ":%s - [0:0]\n", cur[i]);
  for (size_t i = 0; cur[i]; i++) drv_buf_printf(&text, "-X %s\n", cur[i]);
  drv_buf_puts(&text, "-X DROVER-SERVICES\n-X DROVER-NODEPORTS\n-X DROVER-POSTROUTING\nCOMMIT\n");
  int r = run_cmd((char *[]){"iptables-restore", "-w", "--noflush", NULL}, text.data, NULL, err);
  drv_buf_free(&text);
  return r;
}
