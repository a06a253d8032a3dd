/* common/http_client.h over OpenSSL and plain sockets, without libcurl: HTTP/1.1 with
 * keep-alive, chunked and sized bodies, redirects, TLS with hostname/IP verification.
 * Linked into build/drover-agent instead of http_client.c: libcurl brings a chain of ~30
 * shared libraries (GnuTLS, Kerberos, LDAP, SSH, ...) whose resident pages alone were over
 * the agent's memory budget, and it has no static library here. The full drover binary keeps
 * the libcurl implementation; both pass the same unit tests (tests/unit/image/test_http.c). */
#include "common/http_client.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/util.h"

#define HEAD_MAX (256 * 1024)

typedef struct url_parts {
  bool tls;
  char host[256];
  char port[8];
  char *path; /* from the first '/' (or "/"), with the query */
} url_parts;

/* One connection, kept between requests while the server allows it. */
typedef struct conn {
  int fd;
  SSL *ssl;
  char *key; /* what it is connected to (scheme, host, port, socket, TLS settings) */
} conn;

struct drv_http_client {
  conn c;
  SSL_CTX *ctx;  /* a reference to the shared one for ctx_key */
  char *ctx_key; /* the TLS settings ctx was made with */
};

/* TLS contexts shared by every client with the same settings: each holds its parsed CA
 * certificates, which pooled clients and watch streams would otherwise each keep a copy of. */
#define CTX_CACHE_MAX 8
static struct {
  char *key;
  SSL_CTX *ctx;
} ctx_cache[CTX_CACHE_MAX];
static pthread_mutex_t ctx_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- URLs ---- */

static int parse_url(const char *url, url_parts *u, drv_err *err)
{
  memset(u, 0, sizeof *u);
  const char *p;
  if (!strncasecmp(url, "https://", 8)) u->tls = true, p = url + 8;
  else if (!strncasecmp(url, "http://", 7)) p = url + 7;
  else return drv_error(err, EINVAL, "URL `%s`: expected http:// or https://", url);
  size_t hl = strcspn(p, "/?#");
  const char *hend = p + hl;
  const char *at = memchr(p, '@', hl);
  if (at) p = at + 1, hl = (size_t)(hend - p);
  const char *colon = NULL;
  if (*p == '[') {
    const char *rb = memchr(p, ']', hl);
    if (!rb) return drv_error(err, EINVAL, "URL `%s`: unterminated IPv6 address", url);
    if ((size_t)(rb - p - 1) >= sizeof u->host) return drv_error(err, EINVAL, "URL `%s`: host too long", url);
    memcpy(u->host, p + 1, (size_t)(rb - p - 1));
    if (rb + 1 < hend && rb[1] == ':') colon = rb + 1;
  } else {
    colon = memchr(p, ':', hl);
    size_t n = colon ? (size_t)(colon - p) : hl;
    if (n == 0 || n >= sizeof u->host) return drv_error(err, EINVAL, "URL `%s`: bad host", url);
    memcpy(u->host, p, n);
  }
  if (colon) {
    size_t n = (size_t)(hend - colon - 1);
    if (n == 0 || n >= sizeof u->port) return drv_error(err, EINVAL, "URL `%s`: bad port", url);
    memcpy(u->port, colon + 1, n);
  } else {
    strcpy(u->port, u->tls ? "443" : "80");
  }
  const char *path = hend;
  size_t plen = strcspn(path, "#");
  u->path = *path == '/' ? drv_strndup(path, plen) : drv_asprintf("/%.*s", (int)plen, path);
  return 0;
}

/* The target of a Location header, absolute. */
static char *resolve_location(const char *base, const char *loc)
{
  if (!strncasecmp(loc, "http://", 7) || !strncasecmp(loc, "https://", 8)) return drv_strdup(loc);
  const char *scheme_end = strstr(base, "://");
  if (!scheme_end) return drv_strdup(loc);
  if (loc[0] == '/' && loc[1] == '/')
    return drv_asprintf("%.*s:%s", (int)(scheme_end - base), base, loc);
  const char *host_end = scheme_end + 3 + strcspn(scheme_end + 3, "/?#");
  if (loc[0] == '/') return drv_asprintf("%.*s%s", (int)(host_end - base), base, loc);
  const char *q = base + strcspn(base, "?#");
  const char *slash = q;
  while (slash > host_end && slash[-1] != '/') slash--;
  if (slash <= host_end) return drv_asprintf("%.*s/%s", (int)(host_end - base), base, loc);
  return drv_asprintf("%.*s%s", (int)(slash - base), base, loc);
}

/* ---- TLS ---- */

static int tls_ctx(drv_http_client *c, const drv_http_request *req, drv_err *err)
{
  _cleanup_free_ char *key = drv_asprintf("%d|%s|%s|%s", req->insecure_tls, req->ca_file ? req->ca_file : "",
                                          req->client_cert ? req->client_cert : "",
                                          req->client_key ? req->client_key : "");
  if (c->ctx && !strcmp(c->ctx_key, key)) return 0;
  SSL_CTX_free(c->ctx);
  free(c->ctx_key);
  c->ctx = NULL;
  c->ctx_key = NULL;
  pthread_mutex_lock(&ctx_lock);
  for (size_t i = 0; i < CTX_CACHE_MAX; i++)
    if (ctx_cache[i].key && !strcmp(ctx_cache[i].key, key)) {
      SSL_CTX_up_ref(ctx_cache[i].ctx);
      c->ctx = ctx_cache[i].ctx;
      c->ctx_key = drv_strdup(key);
      break;
    }
  pthread_mutex_unlock(&ctx_lock);
  if (c->ctx) return 0;
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) return drv_error(err, ENOMEM, "TLS: create a context");
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  /* Idle kept-alive connections give their 2 x 16 KiB record buffers back. */
  SSL_CTX_set_mode(ctx, SSL_MODE_AUTO_RETRY | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
  if (!req->insecure_tls) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    int ok = req->ca_file ? SSL_CTX_load_verify_locations(ctx, req->ca_file, NULL)
                          : SSL_CTX_set_default_verify_paths(ctx);
    if (ok != 1) {
      SSL_CTX_free(ctx);
      return drv_error(err, EPROTO, "TLS: CA file `%s`: cannot be read as PEM certificates",
                       req->ca_file ? req->ca_file : "(system)");
    }
  }
  if (req->client_cert) {
    if (SSL_CTX_use_certificate_chain_file(ctx, req->client_cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, req->client_key ? req->client_key : req->client_cert,
                                    SSL_FILETYPE_PEM) != 1) {
      SSL_CTX_free(ctx);
      return drv_error(err, EPROTO, "TLS: client certificate `%s` or key `%s`: unusable", req->client_cert,
                       req->client_key ? req->client_key : req->client_cert);
    }
  }
  c->ctx = ctx;
  c->ctx_key = drv_strdup(key);
  pthread_mutex_lock(&ctx_lock);
  size_t slot = CTX_CACHE_MAX;
  for (size_t i = 0; i < CTX_CACHE_MAX && slot == CTX_CACHE_MAX; i++)
    if (!ctx_cache[i].key) slot = i;
  if (slot < CTX_CACHE_MAX) {
    SSL_CTX_up_ref(ctx);
    ctx_cache[slot].ctx = ctx;
    ctx_cache[slot].key = drv_strdup(key);
  }
  pthread_mutex_unlock(&ctx_lock);
  return 0;
}

/* ---- I/O on a non-blocking socket, with or without TLS ---- */

static void conn_close(conn *k)
{
  if (k->ssl) SSL_free(k->ssl);
  if (k->fd >= 0) close(k->fd);
  free(k->key);
  k->ssl = NULL;
  k->fd = -1;
  k->key = NULL;
}

/* Waits for fd to be readable/writable until deadline (ms, monotonic). */
static int wait_fd(int fd, bool write, long long deadline, drv_err *err)
{
  for (;;) {
    long long left = deadline - drv_now_ms();
    if (left <= 0) return drv_error(err, ETIMEDOUT, "timed out");
    struct pollfd p = {fd, write ? POLLOUT : POLLIN, 0};
    int r = poll(&p, 1, left > 1000 ? 1000 : (int)left);
    if (r > 0) return 0;
    if (r < 0 && errno != EINTR) return drv_error(err, errno, "poll");
  }
}

/* Reads up to n bytes: > 0 bytes, 0 at the end of the stream, < 0 on error or timeout. */
static ssize_t conn_read(conn *k, void *buf, size_t n, long long deadline, drv_err *err)
{
  for (;;) {
    if (k->ssl) {
      ERR_clear_error();
      int r = SSL_read(k->ssl, buf, (int)(n > 1 << 30 ? 1 << 30 : n));
      if (r > 0) return r;
      int e = SSL_get_error(k->ssl, r);
      if (e == SSL_ERROR_ZERO_RETURN) return 0;
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        if (wait_fd(k->fd, e == SSL_ERROR_WANT_WRITE, deadline, err) < 0) return -1;
        continue;
      }
      if (e == SSL_ERROR_SYSCALL && errno == 0) return 0; /* closed without close_notify */
      return drv_error(err, ECONNRESET, "TLS read"), -1;
    }
    ssize_t r = recv(k->fd, buf, n, 0);
    if (r >= 0) return r;
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {
      if (wait_fd(k->fd, false, deadline, err) < 0) return -1;
      continue;
    }
    return drv_error(err, errno == ECONNRESET ? ECONNRESET : EIO, "read"), -1;
  }
}

static int conn_write(conn *k, const void *data, size_t n, long long deadline, drv_err *err)
{
  const char *p = data;
  while (n > 0) {
    if (k->ssl) {
      ERR_clear_error();
      int r = SSL_write(k->ssl, p, (int)(n > 1 << 30 ? 1 << 30 : n));
      if (r > 0) {
        p += r, n -= (size_t)r;
        continue;
      }
      int e = SSL_get_error(k->ssl, r);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        if (wait_fd(k->fd, e == SSL_ERROR_WANT_WRITE, deadline, err) < 0) return -1;
        continue;
      }
      return drv_error(err, ECONNRESET, "TLS write");
    }
    ssize_t r = send(k->fd, p, n, MSG_NOSIGNAL);
    if (r > 0) {
      p += r, n -= (size_t)r;
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno == EAGAIN) {
      if (wait_fd(k->fd, true, deadline, err) < 0) return -1;
      continue;
    }
    return drv_error(err, ECONNRESET, "write");
  }
  return 0;
}

static int tcp_connect(const url_parts *u, const char *unix_socket, long long deadline, drv_err *err)
{
  if (unix_socket) {
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(unix_socket) >= sizeof sa.sun_path)
      return drv_error(err, ENAMETOOLONG, "unix socket `%s`: path too long", unix_socket);
    strcpy(sa.sun_path, unix_socket);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return drv_error(err, errno, "socket");
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
      int e = errno;
      close(fd);
      return drv_error(err, e == ENOENT ? ECONNREFUSED : e, "connect to `%s`", unix_socket);
    }
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
  }
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
  int gr = getaddrinfo(u->host, u->port, &hints, &res);
  if (gr != 0 || !res)
    return drv_error(err, EHOSTUNREACH, "resolve host `%s`: %s", u->host, gai_strerror(gr));
  int last = ECONNREFUSED, fd = -1;
  for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
      last = errno;
      continue;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
    if (errno == EINPROGRESS) {
      drv_err werr;
      int so = 0;
      socklen_t sl = sizeof so;
      if (wait_fd(fd, true, deadline, &werr) == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl) == 0 &&
          so == 0)
        break;
      last = so ? so : ETIMEDOUT;
    } else {
      last = errno;
    }
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0)
    return drv_error(err, last == ETIMEDOUT ? ETIMEDOUT : ECONNREFUSED, "connect to %s port %s", u->host,
                     u->port);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  return fd;
}

static int conn_open(drv_http_client *c, const url_parts *u, const drv_http_request *req, const char *key,
                     long long deadline, drv_err *err)
{
  conn *k = &c->c;
  conn_close(k);
  if (u->tls && tls_ctx(c, req, err) < 0) return -1;
  k->fd = tcp_connect(u, req->unix_socket, deadline, err);
  if (k->fd < 0) return -1;
  if (u->tls) {
    k->ssl = SSL_new(c->ctx);
    if (!k->ssl) return conn_close(k), drv_error(err, ENOMEM, "TLS: new connection");
    SSL_set_fd(k->ssl, k->fd);
    unsigned char ip[16];
    bool is_ip = inet_pton(AF_INET, u->host, ip) == 1 || inet_pton(AF_INET6, u->host, ip) == 1;
    if (!is_ip) SSL_set_tlsext_host_name(k->ssl, u->host);
    if (!req->insecure_tls) {
      X509_VERIFY_PARAM *vp = SSL_get0_param(k->ssl);
      if (is_ip) X509_VERIFY_PARAM_set1_ip_asc(vp, u->host);
      else X509_VERIFY_PARAM_set1_host(vp, u->host, 0);
    }
    for (;;) {
      ERR_clear_error();
      int r = SSL_connect(k->ssl);
      if (r == 1) break;
      int e = SSL_get_error(k->ssl, r);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        if (wait_fd(k->fd, e == SSL_ERROR_WANT_WRITE, deadline, err) < 0) return conn_close(k), -1;
        continue;
      }
      long v = SSL_get_verify_result(k->ssl);
      if (v != X509_V_OK) {
        drv_error(err, EPROTO, "TLS: certificate of %s: %s", u->host, X509_verify_cert_error_string(v));
      } else {
        char msg[256] = "";
        unsigned long le = ERR_peek_last_error();
        if (le) ERR_error_string_n(le, msg, sizeof msg);
        ERR_clear_error();
        drv_error(err, EIO, "TLS handshake with %s: %s", u->host, msg[0] ? msg : "connection closed");
      }
      conn_close(k);
      return -1;
    }
  }
  k->key = drv_strdup(key);
  return 0;
}

/* ---- responses ---- */

/* Where body bytes go. */
typedef struct sink {
  const drv_http_request *req;
  drv_http_response *resp;
  size_t max_body;
  drv_buf *stream_out; /* streams: the read's buffer */
  bool too_big, failed;
  drv_err *err;
} sink;

static int deliver(sink *s, const char *p, size_t n)
{
  if (!n) return 0;
  s->resp->bytes += (int64_t)n;
  if (s->stream_out) {
    drv_buf_append(s->stream_out, p, n);
    return 0;
  }
  long st = s->resp->status;
  if (s->req->on_data && st >= 200 && st < 300) {
    if (s->req->on_data(p, n, s->req->on_data_ctx, s->err) < 0) {
      s->failed = true;
      return -1;
    }
    return 0;
  }
  if (s->resp->body.len + n > s->max_body) {
    s->too_big = true;
    return -1;
  }
  drv_buf_append(&s->resp->body, p, n);
  return 0;
}

enum body_mode { BODY_NONE, BODY_LEN, BODY_CHUNKED, BODY_CLOSE };
enum chunk_state { CH_SIZE, CH_DATA, CH_DATA_END, CH_TRAILER, CH_DONE };

/* The body being read: how it ends, and the bytes read past what was consumed. */
typedef struct body {
  enum body_mode mode;
  int64_t left;          /* BODY_LEN: bytes to come; BODY_CHUNKED: of the current chunk */
  enum chunk_state cs;
  drv_buf line;          /* chunk-size / trailer line being collected */
  bool done;
  bool reusable;         /* the connection can serve another request afterwards */
} body;

/* Consumes in[0..n) into the sink; sets b->done at the end of the body. */
static int body_feed(body *b, sink *s, const char *in, size_t n, drv_err *err)
{
  size_t i = 0;
  while (i < n && !b->done) {
    if (b->mode == BODY_CLOSE) {
      if (deliver(s, in + i, n - i) < 0) return -1;
      return 0;
    }
    if (b->mode == BODY_LEN) {
      size_t take = (size_t)((int64_t)(n - i) < b->left ? (int64_t)(n - i) : b->left);
      if (deliver(s, in + i, take) < 0) return -1;
      i += take;
      b->left -= (int64_t)take;
      if (b->left == 0) b->done = true;
      continue;
    }
    switch (b->cs) {
    case CH_SIZE:
    case CH_DATA_END:
    case CH_TRAILER: {
      const char *nl = memchr(in + i, '\n', n - i);
      size_t take = nl ? (size_t)(nl - (in + i)) + 1 : n - i;
      if (b->line.len + take > 8192) return drv_error(err, EIO, "chunked body: line too long");
      drv_buf_append(&b->line, in + i, take);
      i += take;
      if (!nl) break;
      char *l = b->line.data;
      if (b->cs == CH_SIZE) {
        char *end;
        errno = 0;
        unsigned long long sz = strtoull(l, &end, 16);
        if (end == l || errno) return drv_error(err, EIO, "chunked body: bad chunk size");
        b->left = (int64_t)sz;
        b->cs = sz ? CH_DATA : CH_TRAILER;
      } else if (b->cs == CH_DATA_END) {
        b->cs = CH_SIZE;
      } else if (l[0] == '\r' || l[0] == '\n') {
        b->cs = CH_DONE;
        b->done = true;
      }
      drv_buf_reset(&b->line);
      break;
    }
    case CH_DATA: {
      size_t take = (size_t)((int64_t)(n - i) < b->left ? (int64_t)(n - i) : b->left);
      if (deliver(s, in + i, take) < 0) return -1;
      i += take;
      b->left -= (int64_t)take;
      if (b->left == 0) b->cs = CH_DATA_END;
      break;
    }
    case CH_DONE: b->done = true; break;
    }
  }
  return 0;
}

static char *header_value(const char *headers, size_t len, const char *name)
{
  drv_http_response r = {.headers = {(char *)headers, len, len}};
  return drv_http_response_header(&r, name);
}

/* Reads the response head (skipping 1xx answers) into resp; bytes read past it stay in *rest.
 * Returns 0, or < 0 with got_any telling whether the server answered anything at all (a
 * kept-alive connection the server closed meanwhile answers nothing: the caller retries). */
static int read_head(conn *k, drv_http_response *resp, drv_buf *rest, bool *http10, bool *got_any,
                     long long deadline, drv_err *err)
{
  drv_buf in = DRV_BUF_INIT;
  *got_any = false;
  for (;;) {
    char *end = in.len ? memmem(in.data, in.len, "\r\n\r\n", 4) : NULL;
    if (end) {
      size_t hl = (size_t)(end - in.data) + 4;
      if (in.len < 12 || strncmp(in.data, "HTTP/1.", 7) != 0) {
        drv_buf_free(&in);
        return drv_error(err, EIO, "not an HTTP response");
      }
      long status = strtol(in.data + 9, NULL, 10);
      if (status >= 100 && status < 200 && status != 101) {
        memmove(in.data, in.data + hl, in.len - hl);
        in.len -= hl;
        continue;
      }
      resp->status = status;
      drv_buf_reset(&resp->headers);
      const char *first_nl = memchr(in.data, '\n', hl);
      drv_buf_append(&resp->headers, first_nl + 1, hl - (size_t)(first_nl + 1 - in.data));
      drv_buf_reset(rest);
      drv_buf_append(rest, in.data + hl, in.len - hl);
      *http10 = in.data[7] == '0';
      drv_buf_free(&in);
      return 0;
    }
    if (in.len > HEAD_MAX) {
      drv_buf_free(&in);
      return drv_error(err, EIO, "response header larger than %d bytes", HEAD_MAX);
    }
    char buf[16384];
    ssize_t n = conn_read(k, buf, sizeof buf, deadline, err);
    if (n <= 0) {
      bool any = in.len > 0;
      drv_buf_free(&in);
      *got_any = any;
      if (n == 0) return drv_error(err, ECONNRESET, "connection closed before a response");
      return -1;
    }
    *got_any = true;
    drv_buf_append(&in, buf, (size_t)n);
  }
}

static void body_setup(body *b, const char *method, const drv_http_response *resp, bool http10)
{
  memset(b, 0, sizeof *b);
  const char *h = resp->headers.data;
  size_t hl = resp->headers.len;
  _cleanup_free_ char *te = header_value(h, hl, "Transfer-Encoding");
  _cleanup_free_ char *cl = header_value(h, hl, "Content-Length");
  _cleanup_free_ char *conn_h = header_value(h, hl, "Connection");
  bool close_after = conn_h && strcasestr(conn_h, "close");
  /* HTTP/1.0 closes unless it says keep-alive */
  if (http10 && !(conn_h && strcasestr(conn_h, "keep-alive"))) close_after = true;
  if (!strcmp(method, "HEAD") || resp->status == 204 || resp->status == 304) {
    b->mode = BODY_NONE;
    b->done = true;
  } else if (te && strcasestr(te, "chunked")) {
    b->mode = BODY_CHUNKED;
  } else if (cl) {
    b->mode = BODY_LEN;
    b->left = strtoll(cl, NULL, 10);
    if (b->left <= 0) b->done = true;
  } else {
    b->mode = BODY_CLOSE;
    close_after = true;
  }
  b->reusable = !close_after;
}

/* ---- requests ---- */

static char *conn_key(const url_parts *u, const drv_http_request *req)
{
  return drv_asprintf("%d|%s|%s|%s|%d|%s|%s|%s", u->tls, u->host, u->port,
                      req->unix_socket ? req->unix_socket : "", req->insecure_tls,
                      req->ca_file ? req->ca_file : "", req->client_cert ? req->client_cert : "",
                      req->client_key ? req->client_key : "");
}

static char *build_head(const url_parts *u, const char *method, const drv_http_request *req, bool send_auth)
{
  drv_buf h = DRV_BUF_INIT;
  bool def_port = !strcmp(u->port, u->tls ? "443" : "80");
  bool v6 = strchr(u->host, ':') != NULL;
  drv_buf_printf(&h, "%s %s HTTP/1.1\r\nHost: %s%s%s%s%s\r\n", method, u->path, v6 ? "[" : "", u->host,
                 v6 ? "]" : "", def_port ? "" : ":", def_port ? "" : u->port);
#ifdef DROVER_VERSION
  drv_buf_printf(&h, "User-Agent: %s\r\n", req->user_agent ? req->user_agent : "drover/" DROVER_VERSION);
#else
  drv_buf_printf(&h, "User-Agent: %s\r\n", req->user_agent ? req->user_agent : "drover");
#endif
  bool has_accept = false;
  for (const char *const *x = req->headers; x && *x; x++)
    if (!strncasecmp(*x, "Accept:", 7)) has_accept = true;
  if (!has_accept) drv_buf_puts(&h, "Accept: */*\r\n");
  if (send_auth && req->bearer_token) {
    drv_buf_printf(&h, "Authorization: Bearer %s\r\n", req->bearer_token);
  } else if (send_auth && req->basic_user) {
    _cleanup_free_ char *up = drv_asprintf("%s:%s", req->basic_user, req->basic_password ? req->basic_password : "");
    size_t n = strlen(up);
    _cleanup_free_ unsigned char *b64 = drv_malloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock(b64, (const unsigned char *)up, (int)n);
    drv_buf_printf(&h, "Authorization: Basic %s\r\n", b64);
  }
  if (req->range_start > 0) drv_buf_printf(&h, "Range: bytes=%lld-\r\n", (long long)req->range_start);
  for (const char *const *x = req->headers; x && *x; x++) {
    const char *colon = strchr(*x, ':');
    /* "Name:" with nothing after removes a header (libcurl's convention): none is added here */
    if (!colon || !colon[1 + strspn(colon + 1, " \t")]) continue;
    drv_buf_printf(&h, "%s\r\n", *x);
  }
  if (req->body || !strcmp(method, "POST") || !strcmp(method, "PUT") || !strcmp(method, "PATCH"))
    drv_buf_printf(&h, "Content-Length: %zu\r\n", req->body ? req->body_len : 0);
  drv_buf_puts(&h, "\r\n");
  return drv_buf_steal(&h);
}

/* Sends one request on a kept or new connection and reads its head. */
static int send_request(drv_http_client *c, const url_parts *u, const char *method, const drv_http_request *req,
                        bool send_auth, drv_http_response *resp, drv_buf *rest, bool *http10,
                        long long conn_deadline, long long deadline, drv_err *err)
{
  _cleanup_free_ char *key = conn_key(u, req);
  _cleanup_free_ char *head = build_head(u, method, req, send_auth);
  /* A small body goes out with the head in one write, as libcurl does: a server that answers
   * after reading the head alone and closes would otherwise reset the connection on the unread
   * body, and the answer with it. */
  bool big_body = req->body && req->body_len > 65536;
  drv_buf out = DRV_BUF_INIT;
  drv_buf_puts(&out, head);
  if (req->body && req->body_len && !big_body) drv_buf_append(&out, req->body, req->body_len);
  for (int attempt = 0; attempt < 2; attempt++) {
    bool reused = c->c.fd >= 0 && c->c.key && !strcmp(c->c.key, key);
    if (!reused && conn_open(c, u, req, key, conn_deadline < deadline ? conn_deadline : deadline, err) < 0)
      break;
    bool got_any = false;
    if (conn_write(&c->c, out.data, out.len, deadline, err) == 0 &&
        (!big_body || conn_write(&c->c, req->body, req->body_len, deadline, err) == 0) &&
        read_head(&c->c, resp, rest, http10, &got_any, deadline, err) == 0) {
      drv_buf_free(&out);
      return 0;
    }
    conn_close(&c->c);
    /* A kept-alive connection the server had closed: once more on a new one. */
    if (!reused || got_any) break;
  }
  drv_buf_free(&out);
  return -1;
}

drv_http_client *drv_http_client_new(void)
{
  drv_http_client *c = drv_calloc(1, sizeof *c);
  c->c.fd = -1;
  return c;
}

void drv_http_client_free(drv_http_client *c)
{
  if (!c) return;
  conn_close(&c->c);
  SSL_CTX_free(c->ctx);
  free(c->ctx_key);
  free(c);
}

/* Reads the rest of the body into s until it ends. */
static int read_body(conn *k, body *b, sink *s, drv_buf *rest, long long deadline, long stall_s, drv_err *err)
{
  if (rest->len && body_feed(b, s, rest->data, rest->len, err) < 0) return -1;
  drv_buf_reset(rest);
  char buf[65536];
  while (!b->done) {
    long long d = deadline;
    if (stall_s > 0 && drv_now_ms() + stall_s * 1000 < d) d = drv_now_ms() + stall_s * 1000;
    ssize_t n = conn_read(k, buf, sizeof buf, d, err);
    if (n < 0) return -1;
    if (n == 0) {
      if (b->mode == BODY_CLOSE) {
        b->done = true;
        break;
      }
      return drv_error(err, ECONNRESET, "connection closed in the middle of the body");
    }
    if (body_feed(b, s, buf, (size_t)n, err) < 0) return -1;
  }
  return 0;
}

int drv_http_do(drv_http_client *c, const drv_http_request *req, drv_http_response *resp, drv_err *err)
{
  drv_http_response_free(resp);
  const char *method = req->method ? req->method : "GET";
  long long now = drv_now_ms();
  long long deadline = req->timeout_ms > 0 ? now + req->timeout_ms : now + 365LL * 86400 * 1000;
  long stall_s = req->stall_timeout_s < 0 ? 0 : req->stall_timeout_s ? req->stall_timeout_s : 30;
  sink s = {.req = req, .resp = resp, .max_body = req->max_body ? req->max_body : 64u << 20, .err = err};
  char *url = drv_strdup(req->url);
  _cleanup_free_ char *first_host = NULL;
  drv_buf rest = DRV_BUF_INIT;
  int rc = -1;
  drv_err e2;
  drv_err *ierr = err ? err : &e2;
  for (int hop = 0;; hop++) {
    url_parts u;
    if (parse_url(url, &u, ierr) < 0) break;
    if (!first_host) first_host = drv_strdup(u.host);
    long long conn_deadline = drv_now_ms() + (req->connect_timeout_ms > 0 ? req->connect_timeout_ms : 10000);
    long long stall_deadline = stall_s ? drv_now_ms() + stall_s * 1000 : deadline;
    /* Credentials go to the host they were given for, not to one a redirect names. */
    bool send_auth = !strcasecmp(u.host, first_host);
    resp->status = 0;
    drv_buf_reset(&resp->body);
    resp->bytes = 0;
    bool http10 = false;
    int r = send_request(c, &u, method, req, send_auth, resp, &rest, &http10, conn_deadline,
                         stall_deadline < deadline ? stall_deadline : deadline, ierr);
    free(u.path);
    if (r < 0) break;
    long st = resp->status;
    _cleanup_free_ char *loc = NULL;
    if (req->follow_redirects && (st == 301 || st == 302 || st == 303 || st == 307 || st == 308))
      loc = drv_http_response_header(resp, "Location");
    body b;
    body_setup(&b, method, resp, http10);
    if (loc && hop < 10) {
      /* The redirect's own body is read and dropped (to keep the connection). */
      sink drop = {.req = &(drv_http_request){0}, .resp = &(drv_http_response){0}, .max_body = 1 << 20, .err = ierr};
      int br = read_body(&c->c, &b, &drop, &rest, deadline, stall_s, ierr);
      drv_http_response_free(drop.resp);
      if (br < 0 || !b.reusable) conn_close(&c->c);
      char *next = resolve_location(url, loc);
      free(url);
      url = next;
      if (st == 303) method = "GET";
      continue;
    }
    if (read_body(&c->c, &b, &s, &rest, deadline, stall_s, ierr) < 0) {
      conn_close(&c->c);
      if (s.failed) {
        if (!err || !err->msg[0]) drv_error(ierr, EIO, "%s %s: aborted by the receiver", method, req->url);
      } else if (s.too_big) {
        drv_error(ierr, EFBIG, "%s %s: response body larger than %zu bytes", method, req->url, s.max_body);
      } else {
        drv_err_prefix(ierr, "%s %s", method, req->url);
      }
      drv_buf_free(&b.line);
      rc = -1;
      goto out;
    }
    drv_buf_free(&b.line);
    if (!b.reusable) conn_close(&c->c);
    rc = 0;
    goto out;
  }
  drv_err_prefix(ierr, "%s %s", method, req->url);
out:
  resp->effective_url = url;
  drv_buf_free(&rest);
  return rc;
}

/* ---- streamed bodies ---- */

struct drv_http_stream {
  drv_http_client *c;
  drv_http_request req; /* strings below are copies */
  char *url, *bearer, *ca, *cert, *key, *sock;
  char **hdrs;
  bool started, ended;
  drv_http_response resp;
  body b;
  drv_buf rest;
};

static char *dup0(const char *s)
{
  return s ? drv_strdup(s) : NULL;
}

drv_http_stream *drv_http_stream_open(const drv_http_request *req)
{
  drv_http_stream *s = drv_calloc(1, sizeof *s);
  s->c = drv_http_client_new();
  s->req = *req;
  s->req.url = s->url = drv_strdup(req->url);
  s->req.bearer_token = s->bearer = dup0(req->bearer_token);
  s->req.ca_file = s->ca = dup0(req->ca_file);
  s->req.client_cert = s->cert = dup0(req->client_cert);
  s->req.client_key = s->key = dup0(req->client_key);
  s->req.unix_socket = s->sock = dup0(req->unix_socket);
  size_t n = 0;
  while (req->headers && req->headers[n]) n++;
  s->hdrs = drv_calloc(n + 1, sizeof *s->hdrs);
  for (size_t i = 0; i < n; i++) s->hdrs[i] = drv_strdup(req->headers[i]);
  s->req.headers = (const char *const *)s->hdrs;
  s->req.method = "GET";
  s->req.body = NULL;
  s->req.follow_redirects = false;
  return s;
}

int drv_http_stream_read(drv_http_stream *s, int timeout_ms, drv_buf *out, long *status, drv_err *err)
{
  *status = s->resp.status;
  if (s->ended) return 2;
  sink sk = {.req = &s->req, .resp = &s->resp, .stream_out = out, .err = err};
  size_t before = out->len;
  if (!s->started) {
    s->started = true;
    url_parts u;
    if (parse_url(s->url, &u, err) < 0) return -1;
    long long now = drv_now_ms();
    long long cd = now + (s->req.connect_timeout_ms > 0 ? s->req.connect_timeout_ms : 10000);
    bool http10 = false;
    int r = send_request(s->c, &u, "GET", &s->req, true, &s->resp, &s->rest, &http10, cd, cd, err);
    free(u.path);
    if (r < 0) {
      s->ended = true;
      return -1;
    }
    *status = s->resp.status;
    body_setup(&s->b, "GET", &s->resp, http10);
    if (s->rest.len && body_feed(&s->b, &sk, s->rest.data, s->rest.len, err) < 0) return -1;
    drv_buf_reset(&s->rest);
  }
  long long deadline = drv_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
  char buf[65536];
  while (!s->b.done && out->len == before) {
    /* TLS may hold decrypted bytes the socket no longer shows. */
    bool pending = s->c->c.ssl && SSL_pending(s->c->c.ssl) > 0;
    if (!pending) {
      long long left = deadline - drv_now_ms();
      struct pollfd p = {s->c->c.fd, POLLIN, 0};
      int pr = poll(&p, 1, left > 0 ? (int)(left > 1000 ? 1000 : left) : 0);
      if (pr < 0 && errno != EINTR) return drv_error(err, errno, "poll"), -1;
      if (pr <= 0) {
        if (drv_now_ms() >= deadline) return 0;
        continue;
      }
    }
    drv_err rerr;
    ssize_t n = conn_read(&s->c->c, buf, sizeof buf, drv_now_ms() + 30000, &rerr);
    if (n < 0) {
      if (rerr.errnum == ETIMEDOUT) continue; /* a TLS record not complete yet */
      s->ended = true;
      if (err) *err = rerr;
      return -1;
    }
    if (n == 0) {
      s->ended = true;
      if (s->b.mode == BODY_CLOSE) return out->len > before ? 1 : 2;
      return drv_error(err, ECONNRESET, "connection closed in the middle of the body"), -1;
    }
    if (body_feed(&s->b, &sk, buf, (size_t)n, err) < 0) return -1;
  }
  if (s->b.done && out->len == before) {
    s->ended = true;
    return 2;
  }
  return 1;
}

void drv_http_stream_close(drv_http_stream *s)
{
  if (!s) return;
  drv_http_client_free(s->c);
  drv_http_response_free(&s->resp);
  drv_buf_free(&s->b.line);
  drv_buf_free(&s->rest);
  for (char **h = s->hdrs; h && *h; h++) free(*h);
  free(s->hdrs);
  free(s->url), free(s->bearer), free(s->ca), free(s->cert), free(s->key), free(s->sock);
  free(s);
}
