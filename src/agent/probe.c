#include "agent/probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/util.h"

static int get_int(const json_t *o, const char *k, int dflt, int min)
{
  json_t *v = json_object_get(o, k);
  if (!json_is_integer(v)) return dflt;
  long long x = json_integer_value(v);
  return x < min ? min : (int)x;
}

static int resolve_port(const json_t *port, const json_t *ctr, const char *field, int *out,
                        drv_err *err)
{
  if (json_is_integer(port)) {
    long long p = json_integer_value(port);
    if (p < 1 || p > 65535) return drv_error(err, EINVAL, "%s.port: %lld is out of range", field, p);
    *out = (int)p;
    return 0;
  }
  const char *name = json_string_value(port);
  if (!name) return drv_error(err, EINVAL, "%s.port: missing", field);
  char *end;
  long n = strtol(name, &end, 10);
  if (!*end && n >= 1 && n <= 65535) {
    *out = (int)n;
    return 0;
  }
  size_t i;
  json_t *p;
  json_array_foreach(json_object_get(ctr, "ports"), i, p)
  {
    const char *pn = json_string_value(json_object_get(p, "name"));
    if (pn && !strcmp(pn, name)) {
      *out = (int)json_integer_value(json_object_get(p, "containerPort"));
      return 0;
    }
  }
  return drv_error(err, EINVAL, "%s.port: no container port named `%s`", field, name);
}

int drv_probe_parse(const json_t *probe, const json_t *ctr, drv_probe_spec *out, drv_err *err)
{
  memset(out, 0, sizeof *out);
  if (!json_is_object(probe)) return 0;
  json_t *ex = json_object_get(probe, "exec");
  json_t *hg = json_object_get(probe, "httpGet");
  json_t *ts = json_object_get(probe, "tcpSocket");
  if (ex) {
    out->kind = DRV_PROBE_EXEC;
    out->command = json_object_get(ex, "command");
    if (!json_is_array(out->command) || json_array_size(out->command) == 0)
      return drv_error(err, EINVAL, "probe exec.command: must be a non-empty list");
  } else if (hg) {
    out->kind = DRV_PROBE_HTTP;
    out->path = json_string_value(json_object_get(hg, "path"));
    if (!out->path || !*out->path) out->path = "/";
    out->host = json_string_value(json_object_get(hg, "host"));
    if (resolve_port(json_object_get(hg, "port"), ctr, "probe httpGet", &out->port, err) < 0)
      return -1;
  } else if (ts) {
    out->kind = DRV_PROBE_TCP;
    out->host = json_string_value(json_object_get(ts, "host"));
    if (resolve_port(json_object_get(ts, "port"), ctr, "probe tcpSocket", &out->port, err) < 0)
      return -1;
  } else {
    return drv_error(err, EINVAL, "probe: needs one of exec, httpGet, tcpSocket");
  }
  out->initial_delay_ms = get_int(probe, "initialDelaySeconds", 0, 0) * 1000;
  out->period_ms = get_int(probe, "periodSeconds", 10, 1) * 1000;
  out->timeout_ms = get_int(probe, "timeoutSeconds", 1, 1) * 1000;
  out->success_threshold = get_int(probe, "successThreshold", 1, 1);
  out->failure_threshold = get_int(probe, "failureThreshold", 3, 1);
  return 0;
}

bool drv_probe_due(const drv_probe_state *st, const drv_probe_spec *sp, long long started_ms,
                   long long now_ms)
{
  if (sp->kind == DRV_PROBE_NONE) return false;
  if (now_ms < started_ms + sp->initial_delay_ms) return false;
  return st->next_ms == 0 || now_ms >= st->next_ms;
}

int drv_probe_record(drv_probe_state *st, const drv_probe_spec *sp, bool ok, long long now_ms)
{
  if (ok) {
    st->failures = 0;
    if (++st->successes >= sp->success_threshold) st->verdict = 1;
  } else {
    st->successes = 0;
    if (++st->failures >= sp->failure_threshold) st->verdict = 0;
  }
  st->next_ms = now_ms + sp->period_ms;
  return st->verdict;
}

void drv_probe_reset(drv_probe_state *st)
{
  st->successes = st->failures = 0;
  st->verdict = -1;
  st->next_ms = 0;
}

/* A connected socket to ip:port or -1, within timeout_ms. */
static int connect_to(int netns_fd, const char *ip, int port, int timeout_ms)
{
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1) return -1;
  int self = -1;
  if (netns_fd >= 0) {
    /* Only this thread enters the pod's namespace, for the socket() call. */
    self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (self < 0 || setns(netns_fd, CLONE_NEWNET) < 0) {
      if (self >= 0) close(self);
      return -1;
    }
  }
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (self >= 0) {
    if (setns(self, CLONE_NEWNET) < 0) abort();
    close(self);
  }
  if (s < 0) return -1;
  if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
    if (errno != EINPROGRESS) {
      close(s);
      return -1;
    }
    struct pollfd p = {s, POLLOUT, 0};
    int soerr = 0;
    socklen_t l = sizeof soerr;
    if (poll(&p, 1, timeout_ms) != 1 || getsockopt(s, SOL_SOCKET, SO_ERROR, &soerr, &l) < 0 ||
        soerr != 0) {
      close(s);
      return -1;
    }
  }
  return s;
}

bool drv_probe_tcp(int netns_fd, const char *ip, int port, int timeout_ms)
{
  int s = connect_to(netns_fd, ip, port, timeout_ms);
  if (s < 0) return false;
  close(s);
  return true;
}

bool drv_probe_http(int netns_fd, const char *ip, int port, const char *path, int timeout_ms)
{
  long long deadline = drv_now_ms() + timeout_ms;
  int s = connect_to(netns_fd, ip, port, timeout_ms);
  if (s < 0) return false;
  char req[2048];
  int n = snprintf(req, sizeof req,
                   "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: kube-probe/1.30\r\n"
                   "Accept: */*\r\nConnection: close\r\n\r\n",
                   path, ip, port);
  bool ok = false;
  if (n > 0 && (size_t)n < sizeof req && send(s, req, (size_t)n, MSG_NOSIGNAL) == n) {
    char buf[64];
    size_t got = 0;
    while (got < 12) {
      long long left = deadline - drv_now_ms();
      struct pollfd p = {s, POLLIN, 0};
      if (left <= 0 || poll(&p, 1, (int)left) != 1) break;
      ssize_t k = recv(s, buf + got, sizeof buf - 1 - got, 0);
      if (k <= 0) break;
      got += (size_t)k;
    }
    buf[got] = '\0';
    int code = 0;
    if (got >= 12 && sscanf(buf, "HTTP/%*d.%*d %d", &code) == 1) ok = code >= 200 && code < 400;
  }
  close(s);
  return ok;
}
