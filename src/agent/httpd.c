/* The agent's HTTP port (kubelet's 10250 role): /healthz, /metrics (Prometheus text, cAdvisor
 * names) and /containerLogs/NS/POD/CONTAINER (tail, follow, timestamps, previous,
 * sinceSeconds, limitBytes) and /exec/… that the API server proxies `kubectl logs`/`exec` to.
 * Logs and exec need a bearer token the API server accepts (checked with it, cached 60 s). */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/crilog.h"
#include "agent/exec.h"
#include "agent/portfwd.h"
#include "agent/hserv.h"
#include "agent/internal.h"
#include "agent/metrics.h"
#include "api/client_http.h"
#include "common/buf.h"
#include "common/parse_bool.h"
#include "common/util.h"

char *drv_ctr_log_path(drv_pod *p, const char *ctr, int attempt)
{
  return drv_asprintf("%s/logs/%s/%d.log", p->dir, ctr, attempt);
}

static void reply_text(drv_hreq *c, int code, const char *msg)
{
  drv_hreq_reply(c, code, "text/plain; charset=utf-8", msg, strlen(msg), NULL);
}

/* Follows a log file as it grows, until the container stops (and the file has no more) or
 * the client goes away. */
typedef struct follow {
  drv_agent *a;
  char *path;
  char *ns, *pod, *ctr;
  int attempt;
  off_t off;
  drv_buf pending; /* rendered text not yet sent */
  drv_buf raw;     /* an unfinished CRI record */
  drv_crilog_read_opts opts;
  long long idle_since;
} follow;

static bool ctr_running(drv_agent *a, const char *ns, const char *pod, const char *ctr, int attempt)
{
  pthread_mutex_lock(&a->lock);
  bool running = false;
  drv_pod *p = drv_agent_find_pod(a, ns, pod);
  for (size_t i = 0; p && i < p->n_ctrs + p->n_init; i++) {
    drv_ctr *c = i < p->n_ctrs ? &p->ctrs[i] : &p->init[i - p->n_ctrs];
    if (!strcmp(c->name, ctr)) running = c->attempt == attempt && (c->rt_id || c->kind == DRV_CS_WAITING);
  }
  pthread_mutex_unlock(&a->lock);
  return running;
}

/* Streams what the log gets until the container stops (and the file has no more) or the
 * client goes away. */
static void follow_run(drv_hreq *c, follow *f)
{
  if (drv_hreq_stream_start(c, 200, "text/plain; charset=utf-8") < 0) return;
  for (;;) {
    if (f->pending.len > 0) {
      if (drv_hreq_stream_write(c, f->pending.data, f->pending.len) < 0) return;
      drv_buf_reset(&f->pending);
    }
    FILE *fp = fopen(f->path, "re");
    struct stat st;
    if (fp && fstat(fileno(fp), &st) == 0) {
      if (st.st_size < f->off) f->off = 0; /* rotated: the new file starts over */
      if (st.st_size > f->off) {
        fseeko(fp, f->off, SEEK_SET);
        char tmp[65536];
        size_t n = fread(tmp, 1, sizeof tmp, fp);
        f->off += (off_t)n;
        drv_buf_append(&f->raw, tmp, n);
        size_t used = drv_crilog_render(f->raw.data, f->raw.len, &f->opts, &f->pending);
        memmove(f->raw.data, f->raw.data + used, f->raw.len - used);
        f->raw.len -= used;
        f->raw.data[f->raw.len] = '\0';
        fclose(fp);
        f->idle_since = drv_now_ms();
        continue;
      }
    }
    if (fp) fclose(fp);
    if (!ctr_running(f->a, f->ns, f->pod, f->ctr, f->attempt) &&
        drv_now_ms() - f->idle_since > 300) {
      drv_hreq_stream_end(c);
      return;
    }
    /* Waiting for more also notices a client that went away. */
    struct pollfd p = {c->fd, POLLIN, 0};
    if (poll(&p, 1, 100) > 0) {
      char b[512];
      ssize_t k = recv(c->fd, b, sizeof b, MSG_DONTWAIT);
      if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR)) return;
    }
  }
}

static void follow_free(follow *f)
{
  free(f->path), free(f->ns), free(f->pod), free(f->ctr);
  drv_buf_free(&f->pending);
  drv_buf_free(&f->raw);
  free(f);
}

static bool arg_true(drv_hreq *c, const char *k)
{
  const char *v = drv_hreq_arg(c, k);
  return drv_parse_bool_true(v);
}

static long arg_long(drv_hreq *c, const char *k, long dflt)
{
  const char *v = drv_hreq_arg(c, k);
  if (!v || !*v) return dflt;
  char *end;
  long x = strtol(v, &end, 10);
  return *end ? dflt : x;
}

static void serve_logs(drv_agent *a, drv_hreq *c, const char *rest)
{
  char ns[256], pod[256], ctr[256];
  if (sscanf(rest, "%255[^/]/%255[^/]/%255[^/?]", ns, pod, ctr) != 3)
    return reply_text(c, 400, "expected /containerLogs/NAMESPACE/POD/CONTAINER\n");
  bool previous = arg_true(c, "previous");
  pthread_mutex_lock(&a->lock);
  drv_pod *p = drv_agent_find_pod(a, ns, pod);
  int attempt = -1;
  char *path = NULL;
  bool has_last = false;
  for (size_t i = 0; p && i < p->n_ctrs + p->n_init; i++) {
    drv_ctr *x = i < p->n_ctrs ? &p->ctrs[i] : &p->init[i - p->n_ctrs];
    if (strcmp(x->name, ctr) != 0) continue;
    /* Running: the current attempt, previous = the one before. Waiting to restart: both are
     * the attempt that ended (as kubelet shows the last container). Not started yet: none. */
    int cur, prev;
    if (x->rt_id || x->kind == DRV_CS_TERMINATED) cur = x->attempt, prev = x->attempt - 1;
    else if (x->has_last) cur = prev = x->attempt - 1;
    else cur = -2, prev = -1;
    has_last = prev >= 0;
    attempt = previous ? prev : cur;
    path = attempt >= 0 ? drv_ctr_log_path(p, ctr, attempt) : NULL;
  }
  pthread_mutex_unlock(&a->lock);
  if (!p) {
    _cleanup_free_ char *m = drv_asprintf("pod %s/%s is not on this node\n", ns, pod);
    return reply_text(c, 404, m);
  }
  if (attempt == -1) {
    _cleanup_free_ char *m = previous && !has_last
        ? drv_asprintf("previous terminated container \"%s\" in pod \"%s\" not found\n", ctr, pod)
        : drv_asprintf("container \"%s\" is not in pod \"%s\"\n", ctr, pod);
    return reply_text(c, previous ? 400 : 404, m);
  }
  if (attempt == -2) {
    _cleanup_free_ char *m = drv_asprintf("container \"%s\" in pod \"%s\" is waiting to start\n", ctr, pod);
    return reply_text(c, 400, m);
  }
  drv_crilog_read_opts o = {.tail = arg_long(c, "tailLines", -1), .timestamps = arg_true(c, "timestamps"),
                            .limit_bytes = arg_long(c, "limitBytes", 0)};
  long since = arg_long(c, "sinceSeconds", 0);
  if (since > 0) o.since_ns = (drv_wall_ms() - since * 1000LL) * 1000000LL;
  const char *since_time = drv_hreq_arg(c, "sinceTime");
  if (since_time) {
    long long t = drv_crilog_parse_time(since_time, strlen(since_time));
    if (t < 0) {
      free(path);
      return reply_text(c, 400, "sinceTime: expected an RFC 3339 time\n");
    }
    o.since_ns = t;
  }
  drv_buf out = DRV_BUF_INIT;
  off_t end = 0;
  drv_err err;
  if (drv_crilog_read(path, DRV_LOG_MAX_FILES, &o, &out, &end, &err) < 0) {
    free(path);
    drv_buf_free(&out);
    return reply_text(c, 500, err.msg);
  }
  if (!arg_true(c, "follow") || previous) {
    drv_hreq_reply(c, 200, "text/plain; charset=utf-8", out.data ? out.data : "", out.len, NULL);
    drv_buf_free(&out);
    free(path);
    return;
  }
  follow *f = drv_calloc(1, sizeof *f);
  f->a = a;
  f->path = path;
  f->ns = drv_strdup(ns), f->pod = drv_strdup(pod), f->ctr = drv_strdup(ctr);
  f->attempt = attempt;
  f->off = end;
  f->pending = out;
  f->opts = o;
  f->opts.tail = -1;
  f->opts.since_ns = 0;
  f->opts.limit_bytes = 0;
  f->idle_since = drv_now_ms();
  follow_run(c, f);
  follow_free(f);
}

/* ---- who may read logs and exec: callers with a token the API server accepts ---- */

struct drv_token_cache {
  unsigned char sha[SHA256_DIGEST_LENGTH];
  long long expires_ms;
};

#define TOKEN_CACHE_MAX 64
#define TOKEN_TTL_MS 60000

static bool token_valid(drv_agent *a, const char *token)
{
  unsigned char h[SHA256_DIGEST_LENGTH];
  SHA256((const unsigned char *)token, strlen(token), h);
  long long now = drv_now_ms();
  pthread_mutex_lock(&a->lock);
  for (size_t i = 0; i < a->n_tokens; i++)
    if (a->tokens[i].expires_ms > now && !memcmp(a->tokens[i].sha, h, sizeof h)) {
      pthread_mutex_unlock(&a->lock);
      return true;
    }
  pthread_mutex_unlock(&a->lock);
  /* Ask the API server: a token it accepts for reading this Node is good enough here. */
  drv_kubeconfig kc = a->kc;
  kc.token = (char *)token;
  kc.client_cert = kc.client_key = NULL;
  kc.tmp_dir = NULL;
  drv_err err;
  drv_api_client *c = drv_api_client_http_new(&kc, "drover-agent-authn", &err);
  if (!c) return false;
  drv_api_ref ref = {.version = "v1", .resource = "nodes", .name = a->node_name};
  int r = drv_api_get(c, &ref, NULL, &err);
  drv_api_client_free(c);
  if (r != 0) return false;
  pthread_mutex_lock(&a->lock);
  if (!a->tokens) a->tokens = drv_calloc(TOKEN_CACHE_MAX, sizeof *a->tokens);
  size_t slot = 0;
  for (size_t i = 0; i < a->n_tokens; i++)
    if (a->tokens[i].expires_ms < a->tokens[slot].expires_ms) slot = i;
  if (a->n_tokens < TOKEN_CACHE_MAX) slot = a->n_tokens++;
  memcpy(a->tokens[slot].sha, h, sizeof h);
  a->tokens[slot].expires_ms = now + TOKEN_TTL_MS;
  pthread_mutex_unlock(&a->lock);
  return true;
}

static bool authorized(drv_agent *a, drv_hreq *c)
{
  const char *auth = drv_hreq_header(c, "Authorization");
  if (!auth || strncasecmp(auth, "Bearer ", 7) != 0 || !auth[7]) return false;
  return token_valid(a, auth + 7);
}

static void handler(drv_hreq *c, void *cls)
{
  drv_agent *a = cls;
  const char *url = c->path;
  if (strcmp(c->method, "GET") != 0 && strcmp(c->method, "HEAD") != 0)
    return reply_text(c, 405, "method not allowed\n");
  if (!strcmp(url, "/healthz")) return reply_text(c, 200, "ok");
  if (!strcmp(url, "/metrics") || !strcmp(url, "/metrics/cadvisor")) {
    drv_buf out = DRV_BUF_INIT;
    pthread_mutex_lock(&a->lock);
    char *text = a->metrics_last ? drv_strdup(a->metrics_last) : NULL;
    pthread_mutex_unlock(&a->lock);
    json_t *snap = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    drv_metrics_prometheus(snap, a->node_name, &out);
    json_decref(snap);
    drv_hreq_reply(c, 200, "text/plain; version=0.0.4; charset=utf-8", out.data ? out.data : "",
                   out.len, NULL);
    drv_buf_free(&out);
    return;
  }
  bool logs = !strncmp(url, "/containerLogs/", 15), exec = !strncmp(url, "/exec/", 6);
  bool attach = !strncmp(url, "/attach/", 8), pf = !strncmp(url, "/portForward/", 13);
  if ((logs || exec || attach || pf) && !authorized(a, c))
    return reply_text(c, 401, "Unauthorized: a bearer token the API server accepts is required\n");
  if (logs) return serve_logs(a, c, url + 15);
  if (exec) return drv_agent_serve_exec(a, c, url + 6, false);
  if (attach) return drv_agent_serve_exec(a, c, url + 8, true);
  if (pf) return drv_agent_serve_portforward(a, c, url + 13);
  return reply_text(c, 404, "not found\n");
}

int drv_agent_listen_parse(const char *listen, struct sockaddr_in *sa, drv_err *err)
{
  char host[64] = "";
  int port = -1, n = 0;
  const char *colon = strrchr(listen, ':');
  if (!colon || sscanf(colon + 1, "%d%n", &port, &n) != 1 || colon[1 + n] || port < 0 || port > 65535 ||
      (size_t)(colon - listen) >= sizeof host)
    return drv_error(err, EINVAL, "agent --listen `%s`: expected ADDR:PORT", listen);
  snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
  *sa = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (*host && inet_pton(AF_INET, host, &sa->sin_addr) != 1)
    return drv_error(err, EINVAL, "agent listen address `%s`: not an IPv4 address", host);
  return 0;
}

int drv_agent_httpd_start(drv_agent *a, drv_err *err)
{
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(10250)};
  if (a->o.listen) {
    if (drv_agent_listen_parse(a->o.listen, &sa, err) < 0) return -1;
  } else if (inet_pton(AF_INET, a->node_ip, &sa.sin_addr) != 1) {
    return drv_error(err, EINVAL, "agent listen address `%s`: not an IPv4 address", a->node_ip);
  }
  char host[INET_ADDRSTRLEN] = "";
  inet_ntop(AF_INET, &sa.sin_addr, host, sizeof host);
  int port = ntohs(sa.sin_port);
  a->httpd = drv_hserv_start(&sa, handler, a, &a->port, err);
  if (!a->httpd) return drv_err_prefix(err, "agent: listen on %s:%d", host, port), -1;
  return 0;
}

void drv_agent_httpd_stop(drv_agent *a)
{
  if (a && a->httpd) {
    drv_hserv_stop(a->httpd);
    a->httpd = NULL;
  }
}
