/* pods/log, pods/exec and pods/attach: forwarded to the agent of the pod's node
 * (http://<InternalIP>:<kubeletEndpoint.Port>/containerLogs|exec|attach/NS/POD/CONTAINER).
 * Logs stream back as the agent sends them; exec and attach are WebSocket upgrades whose
 * bytes are relayed both ways once both sides switched protocols. See docs/api.md. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/object.h"
#include "api/status.h"
#include "common/buf.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/util.h"
#include "server/internal.h"

typedef struct target {
  char host[64];
  int port;
  char container[254];
} target;

/* Pod → node → agent address, and the container (query, annotation or the only one). */
static json_t *find_target(drv_req *r, const drv_api_resource *res, target *t, bool need_ctr)
{
  drv_route *rt = &r->route;
  _cleanup_free_ char *key = drv_server_key(res, rt->ns, rt->name);
  drv_store_obj *o;
  if (drv_store_get(r->srv->store, key, &o) < 0) return drv_status_not_found(res, rt->name);
  json_t *pod = json_loadb(o->data, o->len, 0, NULL);
  drv_store_obj_unref(o);
  const char *c = drv_req_arg(r, "container");
  json_t *ctrs = drv_json_get(pod, "spec.containers");
  if (!c || !*c) c = drv_obj_annotation(pod, "kubectl.kubernetes.io/default-container");
  if ((!c || !*c) && json_array_size(ctrs) == 1) c = drv_json_get_str(json_array_get(ctrs, 0), "name");
  json_t *st = NULL;
  if (!need_ctr) {
    c = ""; /* port-forward: the pod's network, no container */
  } else if (!c || !*c) {
    _cleanup_free_ char *m = drv_asprintf("a container name must be specified for pod %s", rt->name);
    st = drv_status_bad_request(m);
  } else {
    /* only the pod's own containers: the name goes into the agent's URL path */
    bool found = false;
    static const char *const lists[] = {"spec.containers", "spec.initContainers",
                                        "spec.ephemeralContainers", NULL};
    for (const char *const *l = lists; *l && !found; l++) {
      size_t i;
      json_t *ct;
      json_array_foreach(drv_json_get(pod, *l), i, ct)
      {
        if (strcmp(drv_json_get_str(ct, "name") ?: "", c) == 0) found = true;
      }
    }
    if (!found) {
      _cleanup_free_ char *m = drv_asprintf("container %s is not valid for pod %s", c, rt->name);
      st = drv_status_bad_request(m);
    }
  }
  const char *node = drv_json_get_str(pod, "spec.nodeName");
  if (!st && (!node || !*node)) {
    _cleanup_free_ char *m = drv_asprintf("pod %s does not have a host assigned", rt->name);
    st = drv_status_bad_request(m);
  }
  if (st) {
    json_decref(pod);
    return st;
  }
  snprintf(t->container, sizeof t->container, "%s", c);
  const drv_api_resource *nres = drv_api_resource_find("", "v1", "nodes");
  _cleanup_free_ char *nkey = drv_server_key(nres, "", node);
  json_t *n = NULL;
  if (drv_store_get(r->srv->store, nkey, &o) == 0) {
    n = json_loadb(o->data, o->len, 0, NULL);
    drv_store_obj_unref(o);
  }
  json_decref(pod);
  if (!n) return drv_status_not_found(nres, node);
  t->port = (int)drv_json_get_int(n, "status.daemonEndpoints.kubeletEndpoint.Port", 0);
  t->host[0] = 0;
  size_t i;
  json_t *a;
  json_array_foreach(drv_json_get(n, "status.addresses"), i, a)
  {
    if (strcmp(drv_json_get_str(a, "type") ?: "", "InternalIP") == 0) {
      snprintf(t->host, sizeof t->host, "%s", drv_json_get_str(a, "address") ?: "");
      break;
    }
  }
  json_decref(n);
  if (!t->host[0] || t->port <= 0) {
    _cleanup_free_ char *m = drv_asprintf("node %s has no InternalIP and agent port", node);
    return drv_status_failure(503, "ServiceUnavailable", m);
  }
  return NULL;
}

static int dial(const target *t)
{
  char port[16];
  snprintf(port, sizeof port, "%d", t->port);
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
  if (getaddrinfo(t->host, port, &hints, &ai) != 0) return -1;
  int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
    close(fd);
    fd = -1;
  }
  freeaddrinfo(ai);
  /* the relay passes on what arrives as it arrives: kubectl's SPDY frames come in several small
   * writes, and Nagle held each second one for the agent's delayed ACK (40 ms per exchange) */
  int one = 1;
  if (fd >= 0) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

/* The request's query string as received (MHD hands out decoded pairs: re-encode them). */
static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
  drv_buf *b = cls;
  static const char hex[] = "0123456789ABCDEF";
  drv_buf_putc(b, b->len ? '&' : '?');
  for (const char *s = key; *s; s++) drv_buf_putc(b, *s);
  if (value) {
    drv_buf_putc(b, '=');
    for (const unsigned char *s = (const unsigned char *)value; *s; s++) {
      if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
          strchr("-_.~", *s)) {
        drv_buf_putc(b, (char)*s);
      } else {
        drv_buf_putc(b, '%');
        drv_buf_putc(b, hex[*s >> 4]);
        drv_buf_putc(b, hex[*s & 15]);
      }
    }
  }
  return MHD_YES;
}

static enum MHD_Result add_upgrade_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
  drv_buf *b = cls;
  if (!strncasecmp(key, "Sec-WebSocket-", 14) || !strcasecmp(key, "Upgrade") ||
      !strcasecmp(key, "Connection") || !strcasecmp(key, "X-Stream-Protocol-Version"))
    drv_buf_printf(b, "%s: %s\r\n", key, value);
  return MHD_YES;
}

/* Reads the agent's status line and headers; *hdrs gets them, *extra what came after. */
static int read_head(int fd, int *code, drv_buf *head, size_t *body_off)
{
  char buf[4096];
  for (;;) {
    char *end = head->len ? strstr(head->data, "\r\n\r\n") : NULL;
    if (end) {
      *body_off = (size_t)(end - head->data) + 4;
      if (sscanf(head->data, "HTTP/%*s %d", code) != 1) return -1;
      return 0;
    }
    if (head->len > 64 * 1024) return -1;
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) return -1;
    drv_buf_append(head, buf, (size_t)n);
  }
}

static const char *header_value(const char *head, const char *name, char *out, size_t size)
{
  size_t nl = strlen(name);
  for (const char *p = strstr(head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
    const char *l = p + 2;
    if (!strncasecmp(l, name, nl) && l[nl] == ':') {
      l += nl + 1;
      while (*l == ' ') l++;
      size_t n = strcspn(l, "\r\n");
      snprintf(out, size, "%.*s", (int)(n < size ? n : size - 1), l);
      return out;
    }
  }
  return NULL;
}

/* ---- logs: streamed body ---- */

typedef struct stream {
  int fd, client_fd;
  drv_buf pre;   /* body bytes read with the headers */
  size_t off;
  drv_server *srv;
} stream;

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
  stream *s = cls;
  if (s->off < s->pre.len) {
    size_t n = s->pre.len - s->off;
    if (n > max) n = max;
    memcpy(buf, s->pre.data + s->off, n);
    s->off += n;
    return (ssize_t)n;
  }
  for (;;) {
    if (s->srv->stopping) return MHD_CONTENT_READER_END_OF_STREAM;
    struct pollfd p[2] = {{s->fd, POLLIN, 0}, {s->client_fd, POLLRDHUP, 0}};
    int n = poll(p, s->client_fd >= 0 ? 2 : 1, 1000);
    if (n < 0 && errno != EINTR) return MHD_CONTENT_READER_END_WITH_ERROR;
    if (n > 0 && s->client_fd >= 0 && (p[1].revents & (POLLRDHUP | POLLHUP | POLLERR)))
      return MHD_CONTENT_READER_END_OF_STREAM;
    if (n > 0 && p[0].revents) {
      ssize_t r = read(s->fd, buf, max);
      if (r > 0) return r;
      return MHD_CONTENT_READER_END_OF_STREAM;
    }
  }
}

static void stream_free(void *cls)
{
  stream *s = cls;
  close(s->fd);
  drv_buf_free(&s->pre);
  free(s);
}

static const char *agent_path(const char *sub)
{
  if (!strcmp(sub, "log")) return "containerLogs";
  if (!strcmp(sub, "portforward")) return "portForward";
  return sub; /* exec, attach */
}

static void agent_token(drv_server *s, char *out, size_t size)
{
  _cleanup_free_ char *t = drv_token_find(s->data_dir, "system:apiserver");
  snprintf(out, size, "%s", t ? t : "");
}

/* ---- exec/attach: WebSocket relay ---- */

typedef struct relay {
  drv_server *srv;
  int agent_fd;
  MHD_socket client;    /* MHD's socket pair end, or the TCP socket when `tls` is set */
  gnutls_session_t tls; /* the client's TLS session, taken over from MHD (on_upgraded) */
  struct MHD_UpgradeResponseHandle *urh;
  drv_buf pending; /* agent bytes that arrived with its 101 */
  char *extra_in;  /* client bytes MHD read before the switch */
  size_t extra_len;
} relay;

/* One direction of the relay: bytes read from `from` wait in `buf` until `to` takes them.
 * Both sockets are non-blocking (MHD's upgraded socket always is), so a slow reader only
 * stops its own direction: we poll for POLLOUT instead of failing on EAGAIN, and stop
 * reading `from` while its bytes are still pending. */
typedef struct pipe_dir {
  int from, to;
  gnutls_session_t from_tls, to_tls; /* set: that end speaks TLS on its fd */
  const char *data; /* pending bytes: in buf, or what came with the switch */
  size_t off, len;
  char buf[65536];
} pipe_dir;

/* read(2) and write(2) on a TLS session: -1 with errno EAGAIN when the socket has no data or
 * room (a send that returned EAGAIN is repeated with the same bytes, as GnuTLS wants), 0 at
 * the peer's close_notify or a close without one. */
static ssize_t tls_read(gnutls_session_t s, void *buf, size_t len)
{
  ssize_t n = gnutls_record_recv(s, buf, len);
  if (n >= 0) return n;
  if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) errno = EAGAIN;
  else if (n == GNUTLS_E_PREMATURE_TERMINATION) return 0;
  else errno = EPROTO;
  return -1;
}

static ssize_t tls_write(gnutls_session_t s, const void *buf, size_t len)
{
  ssize_t n = gnutls_record_send(s, buf, len);
  if (n >= 0) return n;
  errno = n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED ? EAGAIN : EPIPE;
  return -1;
}

/* Moves what can move now; 1 when `from` finished sending (all of it passed on), < 0 when
 * the direction is broken. */
static int dir_step(pipe_dir *d, short rev_from, short rev_to)
{
  if (d->len == 0 && (rev_from & (POLLIN | POLLHUP | POLLERR))) {
    ssize_t n = d->from_tls ? tls_read(d->from_tls, d->buf, sizeof d->buf)
                            : read(d->from, d->buf, sizeof d->buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
    if (n == 0) return 1;
    if (n < 0) return -1;
    d->data = d->buf;
    d->off = 0;
    d->len = (size_t)n;
    rev_to |= POLLOUT; /* try at once: usually there is room */
  }
  if (d->len && (rev_to & (POLLOUT | POLLERR | POLLHUP))) {
    ssize_t n = d->to_tls ? tls_write(d->to_tls, d->data + d->off, d->len)
                          : write(d->to, d->data + d->off, d->len);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
    if (n <= 0) return -1;
    d->off += (size_t)n;
    d->len -= (size_t)n;
  }
  return 0;
}

static void set_nonblock(int fd)
{
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void relay_run(relay *rl)
{
  set_nonblock(rl->agent_fd);
  set_nonblock(rl->client);
  _cleanup_free_ pipe_dir *up = drv_calloc(1, sizeof *up);   /* client → agent */
  _cleanup_free_ pipe_dir *down = drv_calloc(1, sizeof *down); /* agent → client */
  *up = (pipe_dir){.from = rl->client, .to = rl->agent_fd, .from_tls = rl->tls};
  *down = (pipe_dir){.from = rl->agent_fd, .to = rl->client, .to_tls = rl->tls};
  /* the bytes that came with the switch go first */
  down->data = rl->pending.data;
  down->len = rl->pending.len;
  up->data = rl->extra_in;
  up->len = rl->extra_len;
  bool up_done = false, down_done = false;
  while (!rl->srv->stopping) { /* the server going away ends the session */
    struct pollfd p[2] = {{rl->agent_fd, 0, 0}, {rl->client, 0, 0}};
    if (down->len) p[1].events |= POLLOUT;
    else p[0].events |= POLLIN;
    if (up->len) p[0].events |= POLLOUT;
    else if (!up_done) p[1].events |= POLLIN;
    /* GnuTLS may hold decrypted bytes the socket no longer signals */
    bool held = rl->tls && (p[1].events & POLLIN) && gnutls_record_check_pending(rl->tls) > 0;
    int n = poll(p, 2, held ? 0 : 1000);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (held) p[1].revents |= POLLIN;
    else if (n == 0) continue;
    int rd = dir_step(down, p[0].revents, p[1].revents);
    if (rd < 0) break;
    if (rd > 0) {
      down_done = true;
      break;
    }
    int ru = up_done ? 0 : dir_step(up, p[1].revents, p[0].revents);
    if (ru < 0) break;
    if (ru > 0) { /* the client finished sending: the agent reads EOF, its answer still comes */
      up_done = true;
      shutdown(rl->agent_fd, SHUT_WR);
    }
  }
  if (down_done) {
    /* The agent ended the session (its Status and close frame are on their way): wait until
     * the client has them and closes too, reading what it still sends. Closing early drops
     * what is still queued (in MHD's socket pair, or unsent in the TCP socket), and closing
     * with unread input resets the connection; either way the client loses the last frames. */
    long long last = drv_now_ms();
    int prev = -1;
    char buf[4096];
    while (!rl->srv->stopping && drv_now_ms() - last < 3000) { /* 3 s without progress: give up */
      struct pollfd p = {rl->client, POLLIN, 0};
      if (poll(&p, 1, 100) < 0 && errno != EINTR) break;
      ssize_t k = rl->tls ? tls_read(rl->tls, buf, sizeof buf)
                          : read(rl->client, buf, sizeof buf);
      if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR)) break;
      int queued = 0;
      if (k > 0 || (ioctl(rl->client, SIOCOUTQ, &queued) == 0 && queued != prev)) last = drv_now_ms();
      prev = queued;
    }
  }
  close(rl->agent_fd);
  MHD_upgrade_action(rl->urh, MHD_UPGRADE_ACTION_CLOSE);
  drv_buf_free(&rl->pending);
  free(rl->extra_in);
  drv_server *srv = rl->srv;
  free(rl);
  __atomic_sub_fetch(&srv->relays, 1, __ATOMIC_RELEASE); /* last touch of the server */
}

static void *relay_main(void *arg)
{
  relay_run(arg);
  return NULL;
}

static void on_upgraded(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra_in,
                        size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
  relay *rl = cls;
  rl->client = sock;
  rl->urh = urh;
  if (extra_in_size) {
    rl->extra_in = drv_malloc(extra_in_size);
    memcpy(rl->extra_in, extra_in, extra_in_size);
    rl->extra_len = extra_in_size;
  }
  /* Over TLS, libmicrohttpd 0.9.75 forwards between the session and `sock` through whatever
   * its connection pool has left, and the response header's write buffer has taken all of it:
   * the forwarder falls back to an 8-byte buffer, 4 bytes each way, one TLS record each
   * (0.3 MB/s; fixed upstream in 0.9.77). So the relay speaks TLS on the connection itself,
   * here on the connection's own thread: MHD's forwarder starts only after this returns, by
   * then closed (MHD_UPGRADE_ACTION_CLOSE), and never touches the session meanwhile. */
  const union MHD_ConnectionInfo *tls =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
  const union MHD_ConnectionInfo *fd =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
  if (tls && tls->tls_session && fd) {
    rl->tls = tls->tls_session;
    rl->client = fd->connect_fd;
    /* MHD turned Nagle back on for the switch; interactive sessions want each frame sent now
     * (what kube-apiserver's Go listener does) */
    int one = 1;
    setsockopt(rl->client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    __atomic_add_fetch(&rl->srv->relays, 1, __ATOMIC_ACQ_REL);
    relay_run(rl);
    return;
  }
  pthread_t th;
  pthread_attr_t at;
  pthread_attr_init(&at);
  pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
  __atomic_add_fetch(&rl->srv->relays, 1, __ATOMIC_ACQ_REL);
  if (pthread_create(&th, &at, relay_main, rl) != 0) {
    __atomic_sub_fetch(&rl->srv->relays, 1, __ATOMIC_RELEASE);
    close(rl->agent_fd);
    MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
    drv_buf_free(&rl->pending);
    free(rl->extra_in);
    free(rl);
  }
  pthread_attr_destroy(&at);
}

/* Reads up to `want` more bytes into b, waiting at most `ms` for each; < 0 on error or timeout
 * (an agent that keeps the connection open must not hold a server thread). */
static int read_more(int fd, drv_buf *b, size_t want, int ms)
{
  char buf[4096];
  while (want > 0) {
    struct pollfd p = {fd, POLLIN, 0};
    int n = poll(&p, 1, ms);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    ssize_t k = read(fd, buf, want < sizeof buf ? want : sizeof buf);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return -1;
    drv_buf_append(b, buf, (size_t)k);
    want -= (size_t)k;
  }
  return 0;
}

#define ERR_BODY_MAX (64 * 1024)

/* The body of the agent's (error) answer, framed as its headers say: Content-Length, chunked,
 * or until the agent closes. Truncated at ERR_BODY_MAX; `raw` holds what came with the head. */
static void read_error_body(int fd, const char *head, const char *raw, size_t raw_len, drv_buf *body)
{
  char v[64];
  drv_buf in = DRV_BUF_INIT;
  drv_buf_append(&in, raw, raw_len);
  if (header_value(head, "Transfer-Encoding", v, sizeof v) && strcasestr(v, "chunked")) {
    size_t pos = 0;
    for (;;) {
      char *nl;
      while (!(nl = in.len > pos ? memmem(in.data + pos, in.len - pos, "\r\n", 2) : NULL))
        if (in.len - pos > 64 || read_more(fd, &in, 1, 5000) < 0) goto out;
      size_t n = strtoul(in.data + pos, NULL, 16);
      pos = (size_t)(nl - in.data) + 2;
      if (n == 0 || body->len + n > ERR_BODY_MAX) break;
      if (in.len < pos + n + 2 && read_more(fd, &in, pos + n + 2 - in.len, 5000) < 0) goto out;
      drv_buf_append(body, in.data + pos, n);
      pos += n + 2;
    }
  } else if (header_value(head, "Content-Length", v, sizeof v)) {
    size_t n = strtoul(v, NULL, 10);
    if (n > ERR_BODY_MAX) n = ERR_BODY_MAX;
    if (in.len < n && read_more(fd, &in, n - in.len, 5000) < 0) n = in.len;
    drv_buf_append(body, in.data, n < in.len ? n : in.len);
  } else {
    /* HTTP/1.0 style: the body ends when the agent closes */
    while (in.len < ERR_BODY_MAX && read_more(fd, &in, 1, 5000) == 0) {}
    drv_buf_append(body, in.data, in.len);
  }
out:
  drv_buf_free(&in);
}

/* The agent's refusal, as the Status Kubernetes gives: its own Status if it sent one, else its
 * text with the reason its code means (a 400 stays a BadRequest). */
static enum MHD_Result forward_error(drv_req *r, int code, const char *body, size_t len)
{
  json_t *st = len ? json_loadb(body, len, 0, NULL) : NULL;
  if (json_is_object(st) && json_object_get(st, "kind")) return drv_respond_json(r, code, st);
  json_decref(st);
  while (len && (body[len - 1] == '\n' || body[len - 1] == '\r' || body[len - 1] == ' ')) len--;
  if (len > 500) len = 500;
  const char *reason;
  switch (code) {
  case 400: reason = "BadRequest"; break;
  case 401: reason = "Unauthorized"; break;
  case 403: reason = "Forbidden"; break;
  case 404: reason = "NotFound"; break;
  case 405: reason = "MethodNotAllowed"; break;
  case 409: reason = "Conflict"; break;
  case 503: reason = "ServiceUnavailable"; break;
  default: reason = "InternalError";
  }
  _cleanup_free_ char *m = len ? drv_asprintf("%.*s", (int)len, body)
                               : drv_asprintf("the node agent answered %d", code);
  return drv_respond_status(r, drv_status_failure(code >= 400 && code <= 599 ? code : 502, reason, m));
}

enum MHD_Result drv_serve_pod_proxy(drv_req *r, const drv_api_resource *res)
{
  drv_route *rt = &r->route;
  bool upgrade = strcmp(rt->sub, "log") != 0;
  bool method_ok = !strcmp(r->method, "GET") || (upgrade && !strcmp(r->method, "POST"));
  if (!method_ok)
    return drv_respond_status(r, drv_status_method_not_allowed(res, r->method));
  /* The pod's own problems first: kubectl, refused on WebSocket, retries with SPDY and shows
   * this answer ("unable to upgrade connection: pod … does not have a host assigned"). */
  bool pf = !strcmp(rt->sub, "portforward");
  target t;
  json_t *st = find_target(r, res, &t, !pf);
  if (st) return drv_respond_status(r, st);
  if (pf) {
    /* kubectl asks for a WebSocket first (SPDY frames tunneled in binary messages, subprotocol
     * SPDY/3.1+portforward.k8s.io) and, refused, upgrades to SPDY/3.1 itself; the agent serves
     * both (an agent without the tunnel refuses it and kubectl falls back) */
    const char *u = drv_req_header(r, "Upgrade");
    if (!u || (strcasecmp(u, "SPDY/3.1") != 0 && strcasecmp(u, "websocket") != 0))
      return drv_respond_status(r, drv_status_bad_request("port-forward needs an upgrade to SPDY/3.1 (portforward.k8s.io) or a WebSocket (SPDY/3.1+portforward.k8s.io)"));
  } else if (upgrade) {
    const char *u = drv_req_header(r, "Upgrade");
    if (!u || strcasecmp(u, "websocket") != 0)
      return drv_respond_status(r, drv_status_bad_request("exec and attach need a WebSocket upgrade (v5.channel.k8s.io)"));
  }
  int fd = dial(&t);
  if (fd < 0) {
    _cleanup_free_ char *m = drv_asprintf("cannot reach the node agent at %s:%d", t.host, t.port);
    return drv_respond_status(r, drv_status_failure(502, "InternalError", m));
  }
  drv_buf q = DRV_BUF_INIT;
  MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, add_arg, &q);
  char tok[128];
  agent_token(r->srv, tok, sizeof tok);
  drv_buf req = DRV_BUF_INIT;
  drv_buf_printf(&req, "GET /%s/%s/%s%s%s%s HTTP/%s\r\nHost: %s:%d\r\nAuthorization: Bearer %s\r\n",
                 agent_path(rt->sub), rt->ns, rt->name, pf ? "" : "/", t.container, q.data ? q.data : "",
                 upgrade ? "1.1" : "1.0", t.host, t.port, tok);
  drv_buf_free(&q);
  if (upgrade)
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, add_upgrade_header, &req);
  drv_buf_puts(&req, "\r\n");
  int wr = drv_write_all(fd, req.data, req.len);
  drv_buf_free(&req);
  int code = 0;
  size_t off = 0;
  drv_buf head = DRV_BUF_INIT;
  if (wr < 0 || read_head(fd, &code, &head, &off) < 0) {
    close(fd);
    drv_buf_free(&head);
    return drv_respond_status(r, drv_status_failure(502, "InternalError", "the node agent closed the connection"));
  }
  if (upgrade && code == 101) {
    relay *rl = drv_calloc(1, sizeof *rl);
    rl->srv = r->srv;
    rl->agent_fd = fd;
    drv_buf_append(&rl->pending, head.data + off, head.len - off);
    struct MHD_Response *resp = MHD_create_response_for_upgrade(on_upgraded, rl);
    char v[512];
    static const char *const copy[] = {"Upgrade", "Sec-WebSocket-Accept", "Sec-WebSocket-Protocol",
                                       "X-Stream-Protocol-Version", NULL};
    for (const char *const *h = copy; *h; h++)
      if (header_value(head.data, *h, v, sizeof v)) MHD_add_response_header(resp, *h, v);
    drv_buf_free(&head);
    enum MHD_Result ret = MHD_queue_response(r->conn, 101, resp);
    MHD_destroy_response(resp);
    return ret;
  }
  if (code != 200) {
    /* the error body by its framing; the agent may keep the connection alive: close it */
    drv_buf body = DRV_BUF_INIT;
    read_error_body(fd, head.data, head.data + off, head.len - off, &body);
    close(fd);
    drv_buf_free(&head);
    enum MHD_Result ret = forward_error(r, code, body.data ? body.data : "", body.len);
    drv_buf_free(&body);
    return ret;
  }
  stream *s = drv_calloc(1, sizeof *s);
  s->fd = fd;
  s->srv = r->srv;
  drv_buf_append(&s->pre, head.data + off, head.len - off);
  drv_buf_free(&head);
  const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
  s->client_fd = ci ? ci->connect_fd : -1;
  if (r->counted) {
    __atomic_sub_fetch(&r->srv->inflight, 1, __ATOMIC_RELAXED);
    r->counted = false;
  }
  struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, stream_read, s, stream_free);
  MHD_add_response_header(resp, "Content-Type", "text/plain");
  return drv_respond_response(r, 200, resp);
}
