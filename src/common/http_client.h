/* A small HTTP(S) client over libcurl, for every layer that talks to a server (registries,
 * the API client). One drv_http_client per thread: it keeps its connection(s) alive between
 * requests. Requests are synchronous; the response status and headers are kept, the body goes
 * into a drv_buf or, for large downloads, to a callback (only for 2xx answers: error bodies
 * always land in the buffer so the caller can report them).
 *
 *   drv_http_client *c = drv_http_client_new();
 *   drv_http_request rq = {.url = "https://host/v2/", .bearer_token = tok};
 *   drv_http_response rs = DRV_HTTP_RESPONSE_INIT;
 *   if (drv_http_do(c, &rq, &rs, &err) < 0) ...;   // transport failure (DNS, TLS, timeout)
 *   if (rs.status == 200) use(rs.body.data, rs.body.len);
 *   drv_http_response_free(&rs); drv_http_client_free(c);
 */
#ifndef DRV_COMMON_HTTP_CLIENT_H
#define DRV_COMMON_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

typedef struct drv_http_client drv_http_client;

/* Receives body bytes of a 2xx answer; return < 0 to abort the transfer (drv_http_do then
 * fails with the message the callback put in *err, or "aborted by the receiver"). */
typedef int (*drv_http_data_fn)(const void *data, size_t len, void *ctx, drv_err *err);

typedef struct drv_http_request {
  const char *method;          /* NULL = GET ("HEAD" sends no body and reads none) */
  const char *url;
  const char *const *headers;  /* "Name: value" lines, NULL-terminated, may be NULL */
  const void *body;            /* request body (POST/PUT/PATCH), may be NULL */
  size_t body_len;
  const char *bearer_token;    /* "Authorization: Bearer …", not sent on cross-host redirects */
  const char *basic_user;      /* HTTP basic auth when non-NULL */
  const char *basic_password;
  const char *unix_socket;     /* connect through this Unix socket (URL host is then only a
                                  name for the Host header), NULL = TCP */
  const char *user_agent;      /* NULL = "drover/<version>" */
  const char *ca_file;         /* PEM bundle to trust instead of the system CAs, NULL = system */
  const char *client_cert;     /* PEM client certificate + key (mTLS), NULL = none */
  const char *client_key;
  bool insecure_tls;           /* skip server certificate verification (tests, bootstrap) */
  bool follow_redirects;       /* follow 3xx (up to 10) */
  int64_t range_start;         /* > 0: "Range: bytes=N-" (resume); check status 206 vs 200 */
  long connect_timeout_ms;     /* 0 = 10 s */
  long timeout_ms;             /* whole transfer, 0 = none */
  long stall_timeout_s;        /* abort when < 1 byte/s for this long, 0 = 30 s, < 0 = never */
  drv_http_data_fn on_data;    /* NULL = body into response.body */
  void *on_data_ctx;
  size_t max_body;             /* limit for a buffered body, 0 = 64 MiB */
} drv_http_request;

typedef struct drv_http_response {
  long status;       /* final status after redirects, 0 when none arrived */
  drv_buf headers;   /* the final response's header lines, "Name: value\r\n" each */
  drv_buf body;      /* buffered body (all of it without on_data; error bodies with it) */
  char *effective_url;
  int64_t bytes;     /* body bytes received (either way) */
} drv_http_response;

#define DRV_HTTP_RESPONSE_INIT {0, DRV_BUF_INIT, DRV_BUF_INIT, NULL, 0}

drv_http_client *drv_http_client_new(void);
void drv_http_client_free(drv_http_client *c);

/* Performs one request. Returns 0 when an HTTP answer arrived (whatever its status: check
 * resp->status), < 0 on a transport error (err says which). errnum is ETIMEDOUT for timeouts
 * and stalls, ECONNREFUSED/EHOSTUNREACH for connection failures, EPROTO for an untrusted or
 * unusable certificate, ECONNRESET for a cut transfer, EIO otherwise, so callers
 * can decide to retry. resp must be initialized (DRV_HTTP_RESPONSE_INIT) and is reset here. */
int drv_http_do(drv_http_client *c, const drv_http_request *req, drv_http_response *resp,
                drv_err *err);

/* The value of the last header `name` (case-insensitive) of the final response, copied into a
 * new string (caller frees), NULL when absent. */
char *drv_http_response_header(const drv_http_response *resp, const char *name);
void drv_http_response_free(drv_http_response *resp);

/* A response body read piece by piece as it arrives (watch streams): the request is sent on
 * the first read; each read waits up to timeout_ms and appends what came to out.
 * Returns 1 when bytes were appended, 0 when none came in time, 2 when the body ended, < 0 on
 * a transport error (err). *status is the response's status once known (else 0). Bodies of
 * answers other than 2xx arrive the same way (the caller reports them). */
typedef struct drv_http_stream drv_http_stream;
drv_http_stream *drv_http_stream_open(const drv_http_request *req);
int drv_http_stream_read(drv_http_stream *s, int timeout_ms, drv_buf *out, long *status,
                         drv_err *err);
void drv_http_stream_close(drv_http_stream *s);

/* Percent-encodes s for use in a query string or path segment (caller frees). */
char *drv_http_escape(const char *s);

#endif
