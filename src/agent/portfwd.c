/* One `kubectl port-forward` session on the agent (portfwd.h). For each connection accepted by
 * kubectl the client opens two SPDY streams with the same requestID header: "error" (the
 * agent writes a message there when it cannot forward, and closes it) and "data" (the bytes of
 * the connection). The agent connects to the port on localhost inside the pod's network
 * namespace, as kubelet's runtimes do, so servers bound to 127.0.0.1 in the pod work too.
 *
 * Flow control (SPDY/3.1): the agent announces what it consumed with WINDOW_UPDATEs (stream and
 * session) once bytes reach the pod. It honours the client's windows once the client shows it
 * keeps them (its first WINDOW_UPDATE or SETTINGS); kubectl's SPDY library (moby/spdystream)
 * never sends either, so a window kept for it would stall every transfer at 64 KiB. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/internal.h"
#include "agent/portfwd.h"
#include "agent/spdy.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/util.h"

/* client bytes held for a pod that reads slowly before the stream is reset */
#define TO_POD_MAX (8u << 20)
/* frames waiting for the client before the pods' sockets are left unread */
#define OUT_HIGH (256u * 1024)
#define READ_CHUNK 32768
/* kubectl 1.30+ asks for this first: SPDY/3.1 tunneled in WebSocket binary messages */
#define WS_PROTO "SPDY/3.1+portforward.k8s.io"

typedef struct pf_stream {
  char req_id[64];
  int port;
  uint32_t data_sid, err_sid;
  int fd;              /* the connection to the pod, -1 = none */
  drv_buf to_pod;      /* client bytes not written to the pod yet */
  size_t to_pod_off;
  bool client_fin;     /* the client closed its side of the data stream */
  bool pod_eof;        /* the pod closed its side: FIN sent */
  bool shut;           /* SHUT_WR done towards the pod */
  bool err_closed;     /* FIN (or RST) on the error stream is done */
  bool reset;          /* the data stream was reset: drop it */
  int64_t send_win;    /* the client's window for the data stream */
  uint32_t unacked;    /* bytes given to the pod not announced yet */
} pf_stream;

typedef struct pf_session {
  int sock;
  drv_buf in, out;
  size_t out_off;
  drv_spdy_zctx z;
  pf_stream **s;
  size_t n;
  int64_t sess_win, initial_win;
  uint32_t sess_unacked;
  bool peer_flow;
  bool gone;
  uint32_t last_sid;
  int netns;
  const char *pod, *uid;
  bool ws;        /* tunneled: the SPDY bytes ride in WebSocket binary messages */
  drv_buf raw;    /* ws: received bytes not unframed yet */
  drv_buf wire;   /* ws: framed bytes for the socket */
  size_t wire_off;
} pf_session;

#define WS_MAX_MESSAGE (2u << 20)

static size_t pending_out(const pf_session *ss)
{
  return ss->out.len - ss->out_off + ss->wire.len - ss->wire_off;
}

static pf_stream *find_req(pf_session *ss, const char *req_id, bool create)
{
  for (size_t i = 0; i < ss->n; i++)
    if (!strcmp(ss->s[i]->req_id, req_id)) return ss->s[i];
  if (!create) return NULL;
  pf_stream *st = drv_calloc(1, sizeof *st);
  snprintf(st->req_id, sizeof st->req_id, "%s", req_id);
  st->fd = -1;
  st->send_win = ss->initial_win;
  ss->s = drv_realloc(ss->s, (ss->n + 1) * sizeof *ss->s);
  ss->s[ss->n++] = st;
  return st;
}

static pf_stream *find_sid(pf_session *ss, uint32_t sid)
{
  for (size_t i = 0; i < ss->n; i++)
    if (ss->s[i]->data_sid == sid || ss->s[i]->err_sid == sid) return ss->s[i];
  return NULL;
}

static void stream_free(pf_stream *st)
{
  if (st->fd >= 0) close(st->fd);
  drv_buf_free(&st->to_pod);
  free(st);
}

/* localhost:port inside the pod's network namespace (IPv4, then IPv6): the socket keeps the
 * namespace it was made in, so the thread goes back to its own right after. */
static int pod_connect(pf_session *ss, int port, int *eno)
{
  int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0 || setns(ss->netns, CLONE_NEWNET) < 0) {
    *eno = errno;
    if (self >= 0) close(self);
    return -1;
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (fd >= 0 && connect(fd, (struct sockaddr *)&a4, sizeof a4) < 0) {
    *eno = errno;
    close(fd);
    fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port),
                              .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a6, sizeof a6) < 0) {
      close(fd);
      fd = -1;
    }
  }
  if (setns(self, CLONE_NEWNET) < 0) {
    /* this thread would stay in the pod's namespace: it must not go on */
    drv_log_error("port-forward: cannot return to the agent's network namespace: %s", strerror(errno));
    abort();
  }
  close(self);
  if (fd >= 0) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  return fd;
}

static void close_err_stream(pf_session *ss, pf_stream *st, const char *msg)
{
  if (st->err_closed || !st->err_sid) return;
  drv_spdy_put_data(&ss->out, st->err_sid, DRV_SPDY_FLAG_FIN, msg, msg ? strlen(msg) : 0);
  st->err_closed = true;
}

static void start_forward(pf_session *ss, pf_stream *st)
{
  int eno = 0;
  st->fd = pod_connect(ss, st->port, &eno);
  if (st->fd >= 0) return;
  /* kubelet's words, which kubectl prints after "an error occurred forwarding" */
  char why[128];
  snprintf(why, sizeof why, "%s", strerror(eno));
  why[0] = (char)tolower((unsigned char)why[0]); /* as Go's syscall errors read */
  _cleanup_free_ char *m = drv_asprintf("error forwarding port %d to pod %s, uid %s: failed to connect "
                                        "to localhost:%d inside namespace of pod %s: dial tcp4 "
                                        "127.0.0.1:%d: connect: %s",
                                        st->port, ss->pod, ss->uid, st->port, ss->pod, st->port, why);
  close_err_stream(ss, st, m);
  drv_spdy_put_data(&ss->out, st->data_sid, DRV_SPDY_FLAG_FIN, NULL, 0);
  st->pod_eof = st->client_fin = true;
}

static int on_syn_stream(pf_session *ss, const drv_spdy_frame *f, drv_err *err)
{
  drv_spdy_hdr *h;
  size_t n;
  if (drv_spdy_headers_decode(&ss->z, f->hblock, f->hlen, &h, &n, err) < 0) return -1;
  if (f->stream_id <= ss->last_sid || !(f->stream_id & 1)) {
    drv_spdy_headers_free(h, n);
    drv_spdy_put_rst(&ss->out, f->stream_id, DRV_SPDY_PROTOCOL_ERROR);
    return 0;
  }
  ss->last_sid = f->stream_id;
  const char *type = drv_spdy_header(h, n, "streamtype");
  const char *port = drv_spdy_header(h, n, "port");
  const char *req = drv_spdy_header(h, n, "requestid");
  char *end = NULL;
  long p = port ? strtol(port, &end, 10) : 0;
  bool ok = type && (!strcmp(type, "error") || !strcmp(type, "data")) && end && !*end && p > 0 && p < 65536;
  if (!ok) {
    drv_log_warn("port-forward: stream %u refused: streamType %s, port %s", f->stream_id,
                 type ? type : "(none)", port ? port : "(none)");
    drv_spdy_headers_free(h, n);
    drv_spdy_put_rst(&ss->out, f->stream_id, DRV_SPDY_REFUSED_STREAM);
    return 0;
  }
  /* clients before requestID paired streams by their order: the port stands in */
  pf_stream *st = find_req(ss, req ? req : port, true);
  st->port = (int)p;
  bool data = !strcmp(type, "data");
  if (data) st->data_sid = f->stream_id;
  else st->err_sid = f->stream_id;
  if (f->flags & DRV_SPDY_FLAG_FIN && data) st->client_fin = true;
  drv_spdy_headers_free(h, n);
  if (drv_spdy_put_syn_reply(&ss->out, &ss->z, f->stream_id, 0, NULL, 0, err) < 0) return -1;
  if (data) start_forward(ss, st);
  return 0;
}

static void ack(pf_session *ss, pf_stream *st, size_t n)
{
  uint32_t d = drv_spdy_recv_consumed(&st->unacked, n);
  if (d && !st->client_fin && !st->reset) drv_spdy_put_window_update(&ss->out, st->data_sid, d);
  d = drv_spdy_recv_consumed(&ss->sess_unacked, n);
  if (d) drv_spdy_put_window_update(&ss->out, 0, d);
}

static int on_frame(pf_session *ss, const drv_spdy_frame *f, drv_err *err)
{
  if (!f->control) {
    pf_stream *st = find_sid(ss, f->stream_id);
    if (!st) {
      drv_spdy_put_rst(&ss->out, f->stream_id, 2 /* INVALID_STREAM */);
      return 0;
    }
    if (f->stream_id == st->err_sid || st->reset || st->fd < 0) {
      ack(ss, st, f->len); /* nothing reads it: count it as consumed */
    } else {
      if (st->to_pod.len - st->to_pod_off + f->len > TO_POD_MAX) {
        drv_spdy_put_rst(&ss->out, st->data_sid, DRV_SPDY_FLOW_CONTROL_ERROR);
        st->reset = true;
      } else {
        drv_buf_append(&st->to_pod, f->data, f->len);
      }
    }
    if ((f->flags & DRV_SPDY_FLAG_FIN) && f->stream_id == st->data_sid) st->client_fin = true;
    return 0;
  }
  pf_stream *st;
  uint32_t v;
  switch (f->type) {
  case DRV_SPDY_SYN_STREAM: return on_syn_stream(ss, f, err);
  case DRV_SPDY_RST_STREAM:
    if ((st = find_sid(ss, f->stream_id))) {
      if (f->stream_id == st->data_sid) st->reset = true;
      else st->err_closed = true;
    }
    return 0;
  case DRV_SPDY_SETTINGS:
    if (drv_spdy_settings_get(f, DRV_SPDY_SETTINGS_INITIAL_WINDOW, &v) == 0 && v <= 0x7fffffff) {
      for (size_t i = 0; i < ss->n; i++) ss->s[i]->send_win += (int64_t)v - ss->initial_win;
      ss->initial_win = v;
      ss->peer_flow = true;
    }
    return 0;
  case DRV_SPDY_WINDOW_UPDATE:
    ss->peer_flow = true;
    if (f->stream_id == 0) {
      if (drv_spdy_window_add(&ss->sess_win, f->value) < 0) return drv_error(err, EPROTO, "session window over 2^31-1");
    } else if ((st = find_sid(ss, f->stream_id)) && f->stream_id == st->data_sid) {
      if (drv_spdy_window_add(&st->send_win, f->value) < 0) {
        drv_spdy_put_rst(&ss->out, f->stream_id, DRV_SPDY_FLOW_CONTROL_ERROR);
        st->reset = true;
      }
    }
    return 0;
  case DRV_SPDY_PING:
    /* the client's pings (odd ids) come back; the agent sends none of its own */
    if (f->value & 1) drv_spdy_put_ping(&ss->out, f->value);
    return 0;
  case DRV_SPDY_GOAWAY: ss->gone = true; return 0;
  default: return 0; /* SYN_REPLY, HEADERS: nothing the agent asked for */
  }
}

/* Writes what the pods can take; reads what they send while the client's windows allow. */
static void pump_pod(pf_session *ss, pf_stream *st, short rev)
{
  if (st->fd < 0 || st->reset) return;
  while (st->to_pod_off < st->to_pod.len) {
    ssize_t w = write(st->fd, st->to_pod.data + st->to_pod_off, st->to_pod.len - st->to_pod_off);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) break;
    if (w <= 0) { /* the pod closed: what the client still sends goes nowhere */
      ack(ss, st, st->to_pod.len - st->to_pod_off);
      st->to_pod_off = st->to_pod.len;
      break;
    }
    st->to_pod_off += (size_t)w;
    ack(ss, st, (size_t)w);
  }
  if (st->to_pod_off == st->to_pod.len) {
    st->to_pod.len = st->to_pod_off = 0;
    if (st->client_fin && !st->shut) {
      shutdown(st->fd, SHUT_WR);
      st->shut = true;
    }
  }
  if (st->pod_eof || !(rev & (POLLIN | POLLHUP | POLLERR))) return;
  while (pending_out(ss) < OUT_HIGH) {
    size_t want = ss->peer_flow ? drv_spdy_send_allowed(st->send_win, ss->sess_win, READ_CHUNK) : READ_CHUNK;
    if (!want) break;
    uint8_t buf[READ_CHUNK];
    ssize_t r = read(st->fd, buf, want);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno == EAGAIN) break;
    if (r <= 0) {
      drv_spdy_put_data(&ss->out, st->data_sid, DRV_SPDY_FLAG_FIN, NULL, 0);
      st->pod_eof = true;
      break;
    }
    drv_spdy_put_data(&ss->out, st->data_sid, 0, buf, (size_t)r);
    st->send_win -= r;
    ss->sess_win -= r;
  }
}

/* A forward is over when both sides closed (or the client reset it): its error stream gets its
 * FIN, which kubectl waits for before it lets the connection go. */
static void reap(pf_session *ss)
{
  for (size_t i = 0; i < ss->n;) {
    pf_stream *st = ss->s[i];
    bool flushed = st->to_pod_off == st->to_pod.len;
    bool over = st->data_sid && (st->reset || (st->pod_eof && st->client_fin && flushed));
    if (!over) {
      i++;
      continue;
    }
    close_err_stream(ss, st, NULL);
    stream_free(st);
    ss->s[i] = ss->s[--ss->n];
  }
}

static int write_buf(int sock, drv_buf *b, size_t *off)
{
  while (*off < b->len) {
    ssize_t w = write(sock, b->data + *off, b->len - *off);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) return 0;
    if (w <= 0) return -1;
    *off += (size_t)w;
  }
  b->len = *off = 0;
  return 0;
}

/* One unmasked WebSocket frame (server to client). */
static void ws_frame(drv_buf *b, int opcode, const void *data, size_t len)
{
  uint8_t h[10];
  size_t n = 2;
  h[0] = (uint8_t)(0x80 | opcode);
  if (len < 126) {
    h[1] = (uint8_t)len;
  } else if (len < 65536) {
    h[1] = 126, h[2] = (uint8_t)(len >> 8), h[3] = (uint8_t)len;
    n = 4;
  } else {
    h[1] = 127;
    for (int i = 0; i < 8; i++) h[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
    n = 10;
  }
  drv_buf_append(b, h, n);
  if (len) drv_buf_append(b, data, len);
}

static int flush_out(pf_session *ss)
{
  if (!ss->ws) return write_buf(ss->sock, &ss->out, &ss->out_off);
  if (ss->out.len) {
    ws_frame(&ss->wire, 2, ss->out.data, ss->out.len);
    ss->out.len = 0;
  }
  return write_buf(ss->sock, &ss->wire, &ss->wire_off);
}

/* ws: the binary messages' payloads (continuations too) go on as one byte stream, as client-go's
 * tunneling connection reads them; pings are answered; a close or a text message ends it. */
static int ws_unframe(pf_session *ss)
{
  size_t off = 0;
  int ret = 0;
  if (!ss->raw.len) return 0;
  for (;;) {
    uint8_t *p = (uint8_t *)ss->raw.data + off;
    size_t n = ss->raw.len - off;
    if (n < 2) break;
    int op = p[0] & 15;
    uint64_t len = p[1] & 127;
    size_t h = 2;
    if (len == 126) {
      if (n < 4) break;
      len = (uint64_t)p[2] << 8 | p[3];
      h = 4;
    } else if (len == 127) {
      if (n < 10) break;
      len = 0;
      for (int i = 0; i < 8; i++) len = len << 8 | p[2 + i];
      h = 10;
    }
    if (len > WS_MAX_MESSAGE) {
      drv_log_warn("port-forward to pod %s: WebSocket frame of %llu bytes", ss->pod, (unsigned long long)len);
      ret = -1;
      break;
    }
    bool masked = p[1] & 0x80;
    if (masked) h += 4;
    if (n < h + len) break;
    uint8_t *d = p + h;
    if (masked)
      for (uint64_t i = 0; i < len; i++) d[i] ^= p[h - 4 + (i & 3)];
    off += h + (size_t)len;
    if (op == 0 || op == 2) {
      drv_buf_append(&ss->in, d, (size_t)len);
    } else if (op == 9) {
      ws_frame(&ss->wire, 10, d, (size_t)len);
    } else if (op == 8 || op == 1) {
      ret = -1;
      break;
    }
  }
  if (off) {
    memmove(ss->raw.data, ss->raw.data + off, ss->raw.len - off);
    ss->raw.len -= off;
  }
  return ret;
}

static void run(pf_session *ss, const char *extra, size_t n_extra)
{
  drv_err err;
  if (n_extra) drv_buf_append(ss->ws ? &ss->raw : &ss->in, extra, n_extra);
  if (ss->ws && ws_unframe(ss) < 0) return;
  fcntl(ss->sock, F_SETFL, fcntl(ss->sock, F_GETFL) | O_NONBLOCK);
  int one = 1;
  setsockopt(ss->sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  /* the agent's window: the default, said once so the client need not assume it */
  drv_spdy_put_settings(&ss->out, DRV_SPDY_SETTINGS_INITIAL_WINDOW, DRV_SPDY_INITIAL_WINDOW);
  size_t in_off = 0;
  while (!ss->gone) {
    for (;;) { /* every complete frame received */
      if (in_off == ss->in.len) break;
      drv_spdy_frame f;
      ssize_t k = drv_spdy_parse((const uint8_t *)ss->in.data + in_off, ss->in.len - in_off, &f, &err);
      if (k < 0 || (k > 0 && on_frame(ss, &f, &err) < 0)) {
        drv_log_warn("port-forward to pod %s: %s", ss->pod, err.msg);
        drv_spdy_put_goaway(&ss->out, ss->last_sid, DRV_SPDY_PROTOCOL_ERROR);
        flush_out(ss);
        return;
      }
      if (k == 0) break;
      in_off += (size_t)k;
    }
    if (in_off) {
      memmove(ss->in.data, ss->in.data + in_off, ss->in.len - in_off);
      ss->in.len -= in_off;
      in_off = 0;
    }
    for (size_t i = 0; i < ss->n; i++) pump_pod(ss, ss->s[i], 0);
    reap(ss);
    if (flush_out(ss) < 0) return;
    size_t np = ss->n + 1;
    struct pollfd p[np];
    bool out_full = pending_out(ss) >= OUT_HIGH;
    p[0] = (struct pollfd){ss->sock, (short)(POLLIN | (pending_out(ss) ? POLLOUT : 0)), 0};
    for (size_t i = 0; i < ss->n; i++) {
      pf_stream *st = ss->s[i];
      short ev = 0;
      bool can_send = !ss->peer_flow || drv_spdy_send_allowed(st->send_win, ss->sess_win, 1);
      if (st->fd >= 0 && !st->reset) {
        if (!st->pod_eof && !out_full && can_send) ev |= POLLIN;
        if (st->to_pod_off < st->to_pod.len) ev |= POLLOUT;
      }
      p[i + 1] = (struct pollfd){ev ? st->fd : -1, ev, 0};
    }
    /* input the pods cannot take yet stays in the socket (backpressure) */
    size_t pending = 0;
    for (size_t i = 0; i < ss->n; i++) pending += ss->s[i]->to_pod.len - ss->s[i]->to_pod_off;
    if (pending > TO_POD_MAX / 2) p[0].events &= (short)~POLLIN;
    int r = poll(p, (nfds_t)np, 30000);
    if (r < 0 && errno != EINTR) return;
    if (r <= 0) continue;
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[65536];
      ssize_t k = read(ss->sock, buf, sizeof buf);
      if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR)) return;
      if (k > 0 && !ss->ws) drv_buf_append(&ss->in, buf, (size_t)k);
      if (k > 0 && ss->ws) {
        drv_buf_append(&ss->raw, buf, (size_t)k);
        if (ws_unframe(ss) < 0) break;
      }
    }
    for (size_t i = 0; i < ss->n && i + 1 < np; i++)
      if (p[i + 1].revents) pump_pod(ss, ss->s[i], p[i + 1].revents);
  }
  flush_out(ss);
  if (ss->ws) { /* a normal close: client-go reads it as the end of the stream */
    static const uint8_t normal[2] = {0x03, 0xe8};
    ws_frame(&ss->wire, 8, normal, 2);
    flush_out(ss);
  }
}

void drv_agent_serve_portforward(drv_agent *a, drv_hreq *c, const char *rest)
{
  char ns[256], pod[256];
  if (sscanf(rest, "%255[^/]/%255[^/?]", ns, pod) != 2) {
    const char *m = "expected /portForward/NAMESPACE/POD\n";
    drv_hreq_reply(c, 400, "text/plain; charset=utf-8", m, strlen(m), NULL);
    return;
  }
  const char *upgrade = drv_hreq_header(c, "Upgrade");
  const char *key = drv_hreq_header(c, "Sec-WebSocket-Key");
  bool proto_ok = false, ws = upgrade && !strcasecmp(upgrade, "websocket");
  for (size_t i = 0; i < c->n_hdrs; i++) {
    const char *k = c->hdrs[i].k, *v = c->hdrs[i].v;
    if (!ws && !strcasecmp(k, "X-Stream-Protocol-Version") && strstr(v, "portforward.k8s.io")) proto_ok = true;
    if (ws && !strcasecmp(k, "Sec-WebSocket-Protocol") && strstr(v, WS_PROTO)) proto_ok = true;
  }
  if (ws && !key) proto_ok = false;
  if (!upgrade || !(ws || !strcasecmp(upgrade, "SPDY/3.1")) || !proto_ok) {
    const char *m = "port-forward needs an upgrade to SPDY/3.1 with X-Stream-Protocol-Version: portforward.k8s.io, "
                    "or a WebSocket with subprotocol " WS_PROTO "\n";
    drv_hreq_reply(c, 400, "text/plain; charset=utf-8", m, strlen(m), NULL);
    return;
  }
  pid_t pid = 0;
  char uid[128] = "";
  pthread_mutex_lock(&a->lock);
  drv_pod *p = drv_agent_find_pod(a, ns, pod);
  if (p && !p->terminating) {
    pid = p->sandbox_pid;
    snprintf(uid, sizeof uid, "%s", p->uid);
  }
  pthread_mutex_unlock(&a->lock);
  int nsfd = -1;
  if (pid > 0) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/net", (int)pid);
    nsfd = open(path, O_RDONLY | O_CLOEXEC);
  }
  if (nsfd < 0) {
    _cleanup_free_ char *m = drv_asprintf("pod %s/%s is not running on this node (no network namespace to forward into)\n", ns, pod);
    drv_hreq_reply(c, 404, "text/plain; charset=utf-8", m, strlen(m), NULL);
    return;
  }
  _cleanup_free_ char *hdrs = NULL;
  if (ws) {
    /* Sec-WebSocket-Accept = base64(SHA-1(key + GUID)) */
    _cleanup_free_ char *cat = drv_asprintf("%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
    unsigned char md[SHA_DIGEST_LENGTH], accept[64];
    SHA1((const unsigned char *)cat, strlen(cat), md);
    EVP_EncodeBlock(accept, md, SHA_DIGEST_LENGTH);
    hdrs = drv_asprintf("Upgrade: websocket\r\nSec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: " WS_PROTO "\r\n", accept);
  } else {
    hdrs = drv_strdup("Upgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\n");
  }
  if (drv_hreq_upgrade(c, hdrs) < 0) {
    close(nsfd);
    return;
  }
  drv_portfwd_session(c->fd, nsfd, pod, uid, ws, c->extra, c->n_extra);
  close(nsfd);
}

void drv_portfwd_session(int sock, int netns_fd, const char *pod, const char *uid, bool ws,
                         const char *extra, size_t n_extra)
{
  pf_session ss = {.sock = sock, .netns = netns_fd, .pod = pod, .uid = uid, .ws = ws,
                   .sess_win = DRV_SPDY_INITIAL_WINDOW, .initial_win = DRV_SPDY_INITIAL_WINDOW};
  drv_err err;
  if (drv_spdy_zinit(&ss.z, &err) == 0) {
    run(&ss, extra, n_extra);
    drv_spdy_zfree(&ss.z);
  } else {
    drv_log_warn("port-forward to pod %s: %s", pod, err.msg);
  }
  for (size_t i = 0; i < ss.n; i++) stream_free(ss.s[i]);
  free(ss.s);
  drv_buf_free(&ss.in);
  drv_buf_free(&ss.out);
  drv_buf_free(&ss.raw);
  drv_buf_free(&ss.wire);
}
