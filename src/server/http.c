/* HTTP(S) front on libmicrohttpd: one thread per connection (watch streams block in their
 * content callback), request bodies gathered up to the size limit, bearer authentication,
 * the in-flight and rate limits (429), then routing to the handler files. */
#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "api/fieldvalidation.h"
#include "api/status.h"
#include "common/json.h"
#include "common/log.h"
#include "common/parse_bool.h"
#include "common/util.h"
#include "server/internal.h"
#include "server/protobuf.h"

/* A connection has HTTP_FIRST_REQUEST_S to finish its TLS handshake and send its first
 * request's headers (kube-apiserver's ReadHeaderTimeout is 32 s); after that the idle timeout
 * is HTTP_IDLE_S. Stalled handshakes (no token needed to open one) would otherwise hold a slot
 * and a thread for the full idle timeout. */
#define HTTP_FIRST_REQUEST_S 10
#define HTTP_IDLE_S 600

/* ---- responses ---- */

/* libmicrohttpd sends a response's header and body as two TLS records (two sends, and TCP_CORK
 * set and cleared around them). For a small response in one buffer the records are held in the
 * TLS session (gnutls_record_cork) and go out as one when the response is complete
 * (tls_flush from on_completed): one record, one send, one segment for the client to read. */
#define CORK_MAX (8 * 1024) /* with the header: one record (16 KiB at most) */

static void tls_cork(drv_req *r, size_t body_len)
{
  if (body_len > CORK_MAX || r->tls_corked) return;
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
  if (!ci || !ci->tls_session) return;
  gnutls_record_cork((gnutls_session_t)ci->tls_session);
  r->tls_corked = ci->tls_session;
}

static void tls_flush(drv_req *r, bool wait)
{
  gnutls_session_t ses = r->tls_corked;
  r->tls_corked = NULL;
  if (!ses) return;
  /* the socket is non-blocking: a full send buffer (a client not reading) is waited out for a
   * while, as libmicrohttpd's own timeout would */
  int fd = gnutls_transport_get_int(ses);
  for (int tries = 0; tries < 600; tries++) {
    int rc = gnutls_record_uncork(ses, 0);
    if (rc >= 0) {
      /* libmicrohttpd set TCP_CORK for the header and, thinking the body went out behind it,
       * only set TCP_NODELAY after: clear the cork, or the record waits 200 ms in the kernel */
      int off = 0;
      setsockopt(fd, IPPROTO_TCP, TCP_CORK, &off, sizeof off);
      return;
    }
    if (!wait || (rc != GNUTLS_E_AGAIN && rc != GNUTLS_E_INTERRUPTED)) return;
    struct pollfd p = {fd, POLLOUT, 0};
    poll(&p, 1, 1000);
  }
}

static void add_common_headers(drv_req *r, struct MHD_Response *resp)
{
  MHD_add_response_header(resp, "Cache-Control", "no-cache, private");
  if (r->warnings) {
    size_t i;
    json_t *w;
    json_array_foreach(r->warnings, i, w)
    {
      _cleanup_free_ char *h = drv_api_warning_header(json_string_value(w));
      MHD_add_response_header(resp, "Warning", h);
    }
  }
}

enum MHD_Result drv_respond_response(drv_req *r, int code, struct MHD_Response *resp)
{
  add_common_headers(r, resp);
  enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)code, resp);
  MHD_destroy_response(resp);
  return ret;
}

enum MHD_Result drv_respond_bytes(drv_req *r, int code, const char *ctype, char *data, size_t len)
{
  struct MHD_Response *resp =
      MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
  if (!resp) {
    free(data);
    return MHD_NO;
  }
  MHD_add_response_header(resp, "Content-Type", ctype);
  tls_cork(r, len);
  return drv_respond_response(r, code, resp);
}

enum MHD_Result drv_respond_static(drv_req *r, int code, const char *ctype, const char *data)
{
  struct MHD_Response *resp =
      MHD_create_response_from_buffer(strlen(data), (void *)data, MHD_RESPMEM_PERSISTENT);
  if (!resp) return MHD_NO;
  MHD_add_response_header(resp, "Content-Type", ctype);
  return drv_respond_response(r, code, resp);
}

enum MHD_Result drv_respond_json(drv_req *r, int code, json_t *v)
{
  char *s = json_dumps(v, JSON_COMPACT);
  json_decref(v);
  return drv_respond_bytes(r, code, "application/json", s, strlen(s));
}

static void unref_obj(void *cls)
{
  drv_store_obj_unref(cls);
}

enum MHD_Result drv_respond_obj(drv_req *r, int code, drv_store_obj *o)
{
  /* the stored bytes go out as they are: no copy, no re-encoding */
  struct MHD_Response *resp =
      MHD_create_response_from_buffer_with_free_callback_cls(o->len, o->data, unref_obj, o);
  if (!resp) {
    drv_store_obj_unref(o);
    return MHD_NO;
  }
  MHD_add_response_header(resp, "Content-Type", "application/json");
  tls_cork(r, o->len);
  return drv_respond_response(r, code, resp);
}

enum MHD_Result drv_respond_status(drv_req *r, json_t *status)
{
  int code = drv_status_code(status);
  return drv_respond_json(r, code, status);
}

const char *drv_req_arg(drv_req *r, const char *name)
{
  return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *drv_req_header(drv_req *r, const char *name)
{
  return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

bool drv_req_flag(drv_req *r, const char *name)
{
  const char *v = drv_req_arg(r, name);
  return drv_parse_bool_true(v);
}

json_t *drv_req_body_object(drv_req *r, json_t **status)
{
  drv_err err = {0};
  json_t *b = NULL;
  if (drv_pb_is_protobuf(drv_req_header(r, "Content-Type")))
    b = r->body.len ? drv_pb_decode(r->body.data, r->body.len, &err) : NULL;
  else if (r->body.len)
    b = drv_json_parse(r->body.data, r->body.len, &err);
  if (!json_is_object(b)) {
    json_decref(b);
    *status = drv_status_bad_request(err.msg[0] ? err.msg : "the request body is not an object");
    return NULL;
  }
  return b;
}

/* ---- limits ---- */

static bool rate_ok(drv_server *s)
{
  pthread_mutex_lock(&s->rate_mu);
  long long now = drv_now_ns();
  double rate = s->opts.max_rps;
  s->tokens += (double)(now - s->rate_last_ns) / 1e9 * rate;
  if (s->tokens > rate) s->tokens = rate; /* burst: one second's worth */
  s->rate_last_ns = now;
  bool ok = s->tokens >= 1.0;
  if (ok) s->tokens -= 1.0;
  pthread_mutex_unlock(&s->rate_mu);
  return ok;
}

static bool public_path(const drv_route *rt)
{
  return rt->kind == DRV_ROUTE_VERSION || rt->kind == DRV_ROUTE_HEALTH;
}

static enum MHD_Result too_many(drv_req *r)
{
  json_t *st = drv_status_too_many_requests(1);
  char *s = json_dumps(st, JSON_COMPACT);
  json_decref(st);
  struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
  MHD_add_response_header(resp, "Content-Type", "application/json");
  MHD_add_response_header(resp, "Retry-After", "1");
  return drv_respond_response(r, 429, resp);
}

/* ---- dispatch ---- */

/* How far past the body limit a request is read before it is answered (see on_request). */
#define DRAIN_FACTOR 4

static enum MHD_Result dispatch(drv_req *r)
{
  drv_server *s = r->srv;
  if (r->too_large) {
    /* kube-apiserver's words */
    _cleanup_free_ char *msg = drv_asprintf("Request entity too large: limit is %zu", s->opts.max_body);
    return drv_respond_status(r, drv_status_too_large(msg));
  }
  drv_route_parse(r->url, &r->route);
  drv_server_tls_ident = NULL;
  if (!public_path(&r->route)) {
    const char *authz = drv_req_header(r, "Authorization");
    static __thread drv_auth_user ident;
    if (!authz || strncasecmp(authz, "Bearer ", 7) != 0 ||
        (!drv_auth_check(s->auth, authz + 7, &ident) && !drv_server_sa_authenticate(s, authz + 7, &ident)))
      return drv_respond_status(r, drv_status_unauthorized());
    json_t *imp = drv_server_impersonate(r, &ident);
    if (imp) return drv_respond_status(r, imp);
    r->user = ident.name;
    r->ident = &ident;
    drv_server_tls_ident = &ident;
    json_t *denied = drv_server_authorize(r);
    if (denied) return drv_respond_status(r, denied);
  }
  if (!rate_ok(s)) return too_many(r);
  bool handled = false;
  switch (r->route.kind) {
  case DRV_ROUTE_NONE:
    break;
  case DRV_ROUTE_OBJECTS: {
    enum MHD_Result m = drv_serve_metrics(r, &handled);
    if (handled) return m;
    m = drv_serve_reviews(r, &handled);
    if (handled) return m;
    return drv_serve_objects(r);
  }
  default:
    return drv_serve_meta(r);
  }
  json_t *st = drv_status_failure(404, "NotFound", "the server could not find the requested resource");
  return drv_respond_status(r, st);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **con_cls)
{
  drv_server *s = cls;
  drv_req *r = *con_cls;
  if (!r) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_TIMEOUT);
    if (ci && ci->connection_timeout != HTTP_IDLE_S)
      MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, (unsigned)HTTP_IDLE_S);
    r = drv_calloc(1, sizeof *r);
    r->srv = s;
    r->conn = conn;
    r->method = method;
    r->url = url;
    *con_cls = r;
    /* A body over the limit is read and dropped, then answered with 413 (clients that write
     * it all before reading get their answer); one announced far over it is answered at once
     * and the connection closed (MHD does when a body is left unread). */
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    if (cl && strtoull(cl, NULL, 10) > DRAIN_FACTOR * s->opts.max_body) {
      r->too_large = true;
      return dispatch(r);
    }
    return MHD_YES;
  }
  if (*upload_size) {
    if (!r->too_large && r->body.len + *upload_size > s->opts.max_body) {
      r->too_large = true;
      drv_buf_free(&r->body);
    }
    if (!r->too_large) drv_buf_append(&r->body, upload_data, *upload_size);
    *upload_size = 0;
    return MHD_YES;
  }
  if (!r->counted) {
    r->counted = true;
    int n = __atomic_add_fetch(&s->inflight, 1, __ATOMIC_RELAXED);
    if (n > s->opts.max_inflight) return too_many(r);
  }
  return dispatch(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
  drv_server *s = cls;
  drv_req *r = *con_cls;
  if (!r) return;
  tls_flush(r, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
  if (r->counted) __atomic_sub_fetch(&s->inflight, 1, __ATOMIC_RELAXED);
  drv_buf_free(&r->body);
  json_decref(r->warnings);
  free(r);
  *con_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
  (void)socket_context;
  drv_server *s = cls;
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    __atomic_add_fetch(&s->conns, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&s->conns_started, 1, __ATOMIC_RELEASE);
    MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, (unsigned)HTTP_FIRST_REQUEST_S);
  } else {
    __atomic_sub_fetch(&s->conns, 1, __ATOMIC_RELAXED);
  }
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
  char msg[512];
  vsnprintf(msg, sizeof msg, fmt, ap);
  size_t n = strlen(msg);
  while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) msg[--n] = 0;
  drv_log_debug("http: %s", msg);
}

/* "ADDR:PORT", "[v6]:PORT" or ":PORT". */
static int parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *len,
                        char *host, size_t hsize, int *port, drv_err *err)
{
  const char *colon = strrchr(listen, ':');
  if (!colon) return drv_error(err, 0, "listen address `%s`: want ADDR:PORT", listen);
  char *end;
  long p = strtol(colon + 1, &end, 10);
  if (*end || p < 0 || p > 65535)
    return drv_error(err, 0, "listen address `%s`: bad port", listen);
  size_t hl = (size_t)(colon - listen);
  if (hl >= hsize) return drv_error(err, EINVAL, "listen address `%s`: host too long", listen);
  memcpy(host, listen, hl);
  host[hl] = 0;
  if (host[0] == '[' && hl >= 2 && host[hl - 1] == ']') {
    memmove(host, host + 1, hl - 2);
    host[hl - 2] = 0;
  }
  if (!host[0]) snprintf(host, hsize, "0.0.0.0");
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET, strcmp(host, "localhost") == 0 ? "127.0.0.1" : host, &in4->sin_addr) == 1) {
    in4->sin_family = AF_INET;
    in4->sin_port = htons((uint16_t)p);
    *len = sizeof *in4;
  } else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons((uint16_t)p);
    *len = sizeof *in6;
  } else {
    return drv_error(err, EINVAL, "listen address `%s`: `%s` is not an IP address", listen, host);
  }
  *port = (int)p;
  return 0;
}

int drv_http_check_listen(const char *listen, drv_err *err)
{
  struct sockaddr_storage ss;
  socklen_t sl;
  char host[128];
  int port;
  return parse_listen(listen, &ss, &sl, host, sizeof host, &port, err);
}

/* One descriptor per connection: a soft limit of 1024 (a shell's default) would refuse clients
 * long before DRV_HTTP_MAX_CONNS. The soft limit goes up to the hard one, as Go programs such
 * as kube-apiserver do at start. */
static void raise_fd_limit(void)
{
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

int drv_http_start(drv_server *s, drv_err *err)
{
  raise_fd_limit();
  struct sockaddr_storage ss;
  socklen_t sl;
  char host[128];
  int port = 0;
  if (parse_listen(s->opts.listen, &ss, &sl, host, sizeof host, &port, err) < 0) return -1;
  if (drv_accept_listen(s, (struct sockaddr *)&ss, sl, &port, err) < 0) return -1;
  const char *adv = strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0 ? "127.0.0.1" : host;
  if (strchr(adv, ':'))
    snprintf(s->server_addr, sizeof s->server_addr, "[%s]:%d", adv, port);
  else
    snprintf(s->server_addr, sizeof s->server_addr, "%s:%d", adv, port);
  unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS |
                   MHD_ALLOW_UPGRADE | MHD_USE_ERROR_LOG | MHD_USE_POLL |
                   MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC; /* accept.c hands it connections */
  if (ss.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
  s->mhd = MHD_start_daemon(
      flags, (uint16_t)port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
      MHD_OPTION_HTTPS_MEM_KEY, s->key_pem, MHD_OPTION_HTTPS_MEM_CERT, s->cert_pem,
      MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
      MHD_OPTION_CONNECTION_LIMIT, (unsigned)DRV_HTTP_MHD_CONN_LIMIT,
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_IDLE_S, MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
      MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s, MHD_OPTION_THREAD_STACK_SIZE, (size_t)(1024 * 1024),
      MHD_OPTION_END);
  if (!s->mhd) return drv_error(err, EADDRINUSE, "listen on %s", s->opts.listen);
  if (port == 0) { /* ephemeral: advertise the port the kernel chose */
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
    if (di) port = di->port;
    if (strchr(adv, ':'))
      snprintf(s->server_addr, sizeof s->server_addr, "[%s]:%d", adv, port);
    else
      snprintf(s->server_addr, sizeof s->server_addr, "%s:%d", adv, port);
  }
  return 0;
}

void drv_http_stop(drv_server *s)
{
  drv_accept_stop(s); /* no new connections first */
  if (s->mhd) MHD_stop_daemon(s->mhd);
  s->mhd = NULL;
}
