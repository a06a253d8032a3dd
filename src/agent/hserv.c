#include "agent/hserv.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/util.h"

#define HDR_MAX (64 * 1024)
#define IDLE_MS 60000
#define CONN_STACK (256 * 1024)

struct drv_hserv {
  int lfd;
  int wake[2]; /* stop: the acceptor polls its read end */
  pthread_t acceptor;
  drv_hserv_fn fn;
  void *ctx;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int *conns; /* sockets of the running connection threads */
  size_t n_conns, cap_conns;
  bool stopping;
};

typedef struct conn {
  drv_hserv *s;
  int fd;
} conn;

static int send_all(int fd, const void *p, size_t len)
{
  const char *c = p;
  while (len > 0) {
    ssize_t k = send(fd, c, len, MSG_NOSIGNAL);
    if (k < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    c += k;
    len -= (size_t)k;
  }
  return 0;
}

static const char *reason(int code)
{
  switch (code) {
  case 101: return "Switching Protocols";
  case 200: return "OK";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 413: return "Request Entity Too Large";
  case 500: return "Internal Server Error";
  default: return "";
  }
}

const char *drv_hreq_header(const drv_hreq *r, const char *name)
{
  for (size_t i = 0; i < r->n_hdrs; i++)
    if (!strcasecmp(r->hdrs[i].k, name)) return r->hdrs[i].v;
  return NULL;
}

const char *drv_hreq_arg(const drv_hreq *r, const char *k)
{
  for (size_t i = 0; i < r->n_args; i++)
    if (!strcmp(r->args[i].k, k)) return r->args[i].v;
  return NULL;
}

static int head_out(drv_hreq *r, int code, const char *fmt_headers)
{
  _cleanup_free_ char *h = drv_asprintf("HTTP/1.1 %d %s\r\n%s%s\r\n", code, reason(code), fmt_headers,
                                        r->keep_alive ? "" : "Connection: close\r\n");
  return send_all(r->fd, h, strlen(h));
}

int drv_hreq_reply(drv_hreq *r, int code, const char *ctype, const char *body, size_t len,
                   const char *extra_headers)
{
  _cleanup_free_ char *h = drv_asprintf("Content-Type: %s\r\nContent-Length: %zu\r\n%s", ctype, len,
                                        extra_headers ? extra_headers : "");
  if (head_out(r, code, h) < 0) return -1;
  if (strcmp(r->method, "HEAD") != 0 && len && send_all(r->fd, body, len) < 0) return -1;
  return 0;
}

int drv_hreq_stream_start(drv_hreq *r, int code, const char *ctype)
{
  r->chunked = r->minor >= 1;
  if (!r->chunked) r->keep_alive = false;
  _cleanup_free_ char *h = drv_asprintf("Content-Type: %s\r\n%s", ctype,
                                        r->chunked ? "Transfer-Encoding: chunked\r\n" : "");
  return head_out(r, code, h);
}

int drv_hreq_stream_write(drv_hreq *r, const void *data, size_t len)
{
  if (!len) return 0;
  if (!r->chunked) return send_all(r->fd, data, len);
  char sz[24];
  int n = snprintf(sz, sizeof sz, "%zx\r\n", len);
  if (send_all(r->fd, sz, (size_t)n) < 0 || send_all(r->fd, data, len) < 0) return -1;
  return send_all(r->fd, "\r\n", 2);
}

int drv_hreq_stream_end(drv_hreq *r)
{
  return r->chunked ? send_all(r->fd, "0\r\n\r\n", 5) : 0;
}

int drv_hreq_upgrade(drv_hreq *r, const char *headers)
{
  r->upgraded = true;
  r->keep_alive = false;
  _cleanup_free_ char *h = drv_asprintf("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n%s\r\n",
                                        headers);
  return send_all(r->fd, h, strlen(h));
}

/* Decodes %XX (and '+' as a space in query parts) in place. */
static void pct_decode(char *s, bool plus)
{
  char *o = s;
  for (; *s; s++) {
    if (*s == '%' && isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2])) {
      char hx[3] = {s[1], s[2], 0};
      *o++ = (char)strtol(hx, NULL, 16);
      s += 2;
    } else {
      *o++ = plus && *s == '+' ? ' ' : *s;
    }
  }
  *o = '\0';
}

static void req_clear(drv_hreq *r)
{
  for (size_t i = 0; i < r->n_args; i++) free(r->args[i].k), free(r->args[i].v);
  for (size_t i = 0; i < r->n_hdrs; i++) free(r->hdrs[i].k), free(r->hdrs[i].v);
  free(r->args), free(r->hdrs), free(r->method), free(r->path);
  int fd = r->fd;
  *r = (drv_hreq){.fd = fd};
}

/* Parses the request head (text up to the blank line, NUL-terminated). */
static int parse_head(drv_hreq *r, char *head)
{
  char *save = NULL, *line = strtok_r(head, "\r\n", &save);
  if (!line) return -1;
  char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
  if (!sp1 || !sp2 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0) return -1;
  r->method = drv_strndup(line, (size_t)(sp1 - line));
  r->minor = atoi(sp2 + 8);
  *sp2 = '\0';
  char *target = sp1 + 1, *q = strchr(target, '?');
  if (q) *q++ = '\0';
  r->path = drv_strdup(target);
  pct_decode(r->path, false);
  size_t cap = 0;
  for (char *qs = q, *tok; qs && (tok = strsep(&qs, "&"));) {
    if (!*tok) continue;
    char *eq = strchr(tok, '=');
    if (eq) *eq++ = '\0';
    if (r->n_args == cap) r->args = drv_realloc(r->args, (cap = cap ? cap * 2 : 8) * sizeof *r->args);
    drv_hkv *kv = &r->args[r->n_args++];
    kv->k = drv_strdup(tok);
    kv->v = drv_strdup(eq ? eq : "");
    pct_decode(kv->k, true);
    pct_decode(kv->v, true);
  }
  cap = 0;
  while ((line = strtok_r(NULL, "\r\n", &save))) {
    char *colon = strchr(line, ':');
    if (!colon) return -1;
    char *v = colon + 1;
    while (*v == ' ' || *v == '\t') v++;
    char *e = v + strlen(v);
    while (e > v && (e[-1] == ' ' || e[-1] == '\t')) *--e = '\0';
    if (r->n_hdrs == cap) r->hdrs = drv_realloc(r->hdrs, (cap = cap ? cap * 2 : 16) * sizeof *r->hdrs);
    r->hdrs[r->n_hdrs].k = drv_strndup(line, (size_t)(colon - line));
    r->hdrs[r->n_hdrs++].v = drv_strdup(v);
  }
  const char *c = drv_hreq_header(r, "Connection");
  r->keep_alive = r->minor >= 1 ? !(c && strcasestr(c, "close")) : (c && strcasestr(c, "keep-alive"));
  return 0;
}

static void serve(drv_hserv *s, int fd)
{
  drv_buf in = DRV_BUF_INIT;
  drv_hreq r = {.fd = fd};
  for (;;) {
    char *end = NULL;
    while (!(end = in.len ? memmem(in.data, in.len, "\r\n\r\n", 4) : NULL)) {
      if (in.len >= HDR_MAX) {
        r.method = drv_strdup("GET");
        drv_hreq_reply(&r, 413, "text/plain", "request header too large\n", 25, NULL);
        goto out;
      }
      struct pollfd p = {fd, POLLIN, 0};
      int pr = poll(&p, 1, IDLE_MS);
      if (pr < 0 && errno == EINTR) continue;
      if (pr <= 0) goto out;
      char buf[4096];
      ssize_t k = recv(fd, buf, sizeof buf, 0);
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0) goto out;
      drv_buf_append(&in, buf, (size_t)k);
    }
    size_t head_len = (size_t)(end - in.data) + 4;
    _cleanup_free_ char *head = drv_strndup(in.data, head_len - 4);
    if (parse_head(&r, head) < 0) {
      free(r.method);
      r.method = drv_strdup("GET");
      r.keep_alive = false;
      drv_hreq_reply(&r, 400, "text/plain", "malformed request\n", 18, NULL);
      goto out;
    }
    /* A body (none is expected on these GETs) is read and dropped. */
    const char *cl = drv_hreq_header(&r, "Content-Length");
    size_t body = cl ? strtoul(cl, NULL, 10) : 0;
    while (in.len < head_len + body) {
      char buf[4096];
      ssize_t k = recv(fd, buf, sizeof buf, 0);
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0) goto out;
      drv_buf_append(&in, buf, (size_t)k);
    }
    r.extra = in.data + head_len + body;
    r.n_extra = in.len - head_len - body;
    s->fn(&r, s->ctx);
    if (!r.keep_alive || r.upgraded) goto out;
    memmove(in.data, in.data + head_len + body, r.n_extra);
    in.len = r.n_extra;
    req_clear(&r);
  }
out:
  req_clear(&r);
  drv_buf_free(&in);
}

static void *conn_thread(void *arg)
{
  conn *c = arg;
  drv_hserv *s = c->s;
  serve(s, c->fd);
  pthread_mutex_lock(&s->mu);
  for (size_t i = 0; i < s->n_conns; i++)
    if (s->conns[i] == c->fd) {
      s->conns[i] = s->conns[--s->n_conns];
      break;
    }
  close(c->fd);
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
  free(c);
  return NULL;
}

static void *accept_thread(void *arg)
{
  drv_hserv *s = arg;
  pthread_attr_t at;
  pthread_attr_init(&at);
  pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&at, CONN_STACK);
  for (;;) {
    struct pollfd p[2] = {{s->lfd, POLLIN, 0}, {s->wake[0], POLLIN, 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[1].revents) break;
    int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) usleep(100000);
      continue;
    }
    conn *c = drv_calloc(1, sizeof *c);
    c->s = s;
    c->fd = fd;
    pthread_mutex_lock(&s->mu);
    if (s->n_conns == s->cap_conns)
      s->conns = drv_realloc(s->conns, (s->cap_conns = s->cap_conns ? s->cap_conns * 2 : 16) * sizeof *s->conns);
    s->conns[s->n_conns++] = fd;
    pthread_t t;
    bool started = pthread_create(&t, &at, conn_thread, c) == 0;
    if (!started) s->n_conns--;
    pthread_mutex_unlock(&s->mu);
    if (!started) {
      close(fd);
      free(c);
    }
  }
  pthread_attr_destroy(&at);
  return NULL;
}

drv_hserv *drv_hserv_start(const struct sockaddr_in *sa, drv_hserv_fn fn, void *ctx, int *port,
                           drv_err *err)
{
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return drv_error(err, errno, "socket"), NULL;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in got;
  socklen_t gl = sizeof got;
  if (bind(fd, (const struct sockaddr *)sa, sizeof *sa) < 0 || listen(fd, 128) < 0 ||
      getsockname(fd, (struct sockaddr *)&got, &gl) < 0) {
    int e = errno;
    close(fd);
    return drv_error(err, e, "bind"), NULL;
  }
  drv_hserv *s = drv_calloc(1, sizeof *s);
  s->lfd = fd;
  s->fn = fn;
  s->ctx = ctx;
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->cv, NULL);
  pthread_attr_t at;
  pthread_attr_init(&at);
  pthread_attr_setstacksize(&at, 64 * 1024);
  if (pipe2(s->wake, O_CLOEXEC) < 0 || pthread_create(&s->acceptor, &at, accept_thread, s) != 0) {
    int e = errno;
    pthread_attr_destroy(&at);
    close(fd);
    free(s);
    return drv_error(err, e, "start the HTTP server thread"), NULL;
  }
  pthread_attr_destroy(&at);
  *port = ntohs(got.sin_port);
  return s;
}

void drv_hserv_stop(drv_hserv *s)
{
  if (!s) return;
  if (write(s->wake[1], "x", 1) < 0) { /* the acceptor polls it: it cannot be full */ }
  pthread_join(s->acceptor, NULL);
  close(s->lfd);
  close(s->wake[0]);
  close(s->wake[1]);
  pthread_mutex_lock(&s->mu);
  for (size_t i = 0; i < s->n_conns; i++) shutdown(s->conns[i], SHUT_RDWR);
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 10;
  while (s->n_conns > 0)
    if (pthread_cond_timedwait(&s->cv, &s->mu, &until) == ETIMEDOUT) break;
  bool idle = s->n_conns == 0;
  pthread_mutex_unlock(&s->mu);
  /* A handler still running after 10 s keeps the server's memory: freeing it under the
   * thread would be worse than leaving it. */
  if (!idle) return;
  pthread_mutex_destroy(&s->mu);
  pthread_cond_destroy(&s->cv);
  free(s->conns);
  free(s);
}
