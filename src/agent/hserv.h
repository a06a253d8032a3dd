/* The agent's own small HTTP/1.1 server (GET only, a thread per connection, keep-alive,
 * chunked streaming, hand-over of the socket for WebSocket upgrades). The agent's port serves
 * a handful of plain-HTTP paths; a library server would bring its TLS stack into every node's
 * agent process (libmicrohttpd links GnuTLS and its chain: ~2.5 MB resident). */
#ifndef DRV_AGENT_HSERV_H
#define DRV_AGENT_HSERV_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

typedef struct drv_hkv {
  char *k, *v;
} drv_hkv;

typedef struct drv_hreq {
  int fd;
  char *method;
  char *path;            /* percent-decoded, without the query */
  drv_hkv *args;         /* query arguments, decoded, in order (a key may repeat) */
  size_t n_args;
  drv_hkv *hdrs;
  size_t n_hdrs;
  int minor;             /* HTTP/1.<minor> */
  bool keep_alive;       /* the connection may serve another request after this one */
  bool chunked;          /* a chunked response is under way */
  bool upgraded;         /* the handler took the socket over (101 sent): no more requests */
  const char *extra;     /* bytes the client sent after this request's header (upgrades) */
  size_t n_extra;
} drv_hreq;

typedef void (*drv_hserv_fn)(drv_hreq *r, void *ctx);
typedef struct drv_hserv drv_hserv;

/* Listens on sa (port 0 = any; the port taken goes to *port) and serves each request with fn
 * in the connection's own thread. */
drv_hserv *drv_hserv_start(const struct sockaddr_in *sa, drv_hserv_fn fn, void *ctx, int *port,
                           drv_err *err);
/* Stops listening, cuts the open connections and waits for their threads. */
void drv_hserv_stop(drv_hserv *s);

/* The value of header name (case-insensitive) or query argument k, NULL when absent. */
const char *drv_hreq_header(const drv_hreq *r, const char *name);
const char *drv_hreq_arg(const drv_hreq *r, const char *k);

/* A complete response (Content-Length). extra_headers: "Name: value\r\n" lines or NULL. */
int drv_hreq_reply(drv_hreq *r, int code, const char *ctype, const char *body, size_t len,
                   const char *extra_headers);
/* A streamed response: chunked to HTTP/1.1 clients, else delimited by closing. */
int drv_hreq_stream_start(drv_hreq *r, int code, const char *ctype);
int drv_hreq_stream_write(drv_hreq *r, const void *data, size_t len);
int drv_hreq_stream_end(drv_hreq *r);
/* 101 Switching Protocols with these headers; the socket (r->fd) is the handler's from then
 * on, closed by the server when the handler returns. */
int drv_hreq_upgrade(drv_hreq *r, const char *headers);

#endif
