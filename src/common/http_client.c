#include "common/http_client.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"

struct drv_http_client {
  CURL *easy;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static void global_init(void)
{
  curl_global_init(CURL_GLOBAL_ALL);
}

drv_http_client *drv_http_client_new(void)
{
  pthread_once(&global_once, global_init);
  drv_http_client *c = drv_calloc(1, sizeof *c);
  c->easy = curl_easy_init();
  if (!c->easy) {
    fprintf(stderr, "drover: curl_easy_init failed\n");
    abort();
  }
  return c;
}

void drv_http_client_free(drv_http_client *c)
{
  if (!c) return;
  curl_easy_cleanup(c->easy);
  free(c);
}

struct xfer {
  const drv_http_request *req;
  drv_http_response *resp;
  size_t max_body;
  drv_err *err;
  bool sink_failed;
  bool too_big;
};

/* Header lines of every response in a redirect chain arrive here: a new status line starts over,
 * so only the final response's headers are kept. */
static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
  struct xfer *x = ud;
  size_t len = size * n;
  if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
    drv_buf_reset(&x->resp->headers);
    const char *sp = memchr(data, ' ', len);
    x->resp->status = sp ? strtol(sp + 1, NULL, 10) : 0;
    return len;
  }
  drv_buf_append(&x->resp->headers, data, len);
  return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
  struct xfer *x = ud;
  size_t len = size * n;
  x->resp->bytes += (int64_t)len;
  long st = x->resp->status;
  if (x->req->on_data && st >= 200 && st < 300) {
    if (x->req->on_data(data, len, x->req->on_data_ctx, x->err) < 0) {
      x->sink_failed = true;
      return 0;
    }
    return len;
  }
  if (x->resp->body.len + len > x->max_body) {
    x->too_big = true;
    return 0;
  }
  drv_buf_append(&x->resp->body, data, len);
  return len;
}

static int curl_errno(CURLcode rc)
{
  switch (rc) {
  case CURLE_OPERATION_TIMEDOUT: return ETIMEDOUT;
  case CURLE_COULDNT_CONNECT: return ECONNREFUSED;
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY: return EHOSTUNREACH;
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_PARTIAL_FILE: return ECONNRESET;
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_CERTPROBLEM: return EPROTO;
  default: return EIO;
  }
}

int drv_http_do(drv_http_client *c, const drv_http_request *req, drv_http_response *resp,
                drv_err *err)
{
  drv_http_response_free(resp);
  CURL *e = c->easy;
  curl_easy_reset(e);
  struct xfer x = {.req = req, .resp = resp, .max_body = req->max_body ? req->max_body : 64u << 20,
                   .err = err};
  char errbuf[CURL_ERROR_SIZE] = "";
  const char *method = req->method ? req->method : "GET";

  curl_easy_setopt(e, CURLOPT_URL, req->url);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &x);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &x);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   req->connect_timeout_ms > 0 ? req->connect_timeout_ms : 10000L);
  if (req->timeout_ms > 0) curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, req->timeout_ms);
  if (req->stall_timeout_s >= 0) {
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, req->stall_timeout_s ? req->stall_timeout_s : 30L);
  }
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  if (req->follow_redirects) {
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 10L);
  }
#ifdef DROVER_VERSION
  curl_easy_setopt(e, CURLOPT_USERAGENT, req->user_agent ? req->user_agent : "drover/" DROVER_VERSION);
#else
  curl_easy_setopt(e, CURLOPT_USERAGENT, req->user_agent ? req->user_agent : "drover");
#endif
  if (req->unix_socket) curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, req->unix_socket);
  if (req->ca_file) curl_easy_setopt(e, CURLOPT_CAINFO, req->ca_file);
  if (req->client_cert) curl_easy_setopt(e, CURLOPT_SSLCERT, req->client_cert);
  if (req->client_key) curl_easy_setopt(e, CURLOPT_SSLKEY, req->client_key);
  if (req->insecure_tls) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (req->bearer_token) {
    curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
    curl_easy_setopt(e, CURLOPT_XOAUTH2_BEARER, req->bearer_token);
  } else if (req->basic_user) {
    curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(e, CURLOPT_USERNAME, req->basic_user);
    curl_easy_setopt(e, CURLOPT_PASSWORD, req->basic_password ? req->basic_password : "");
  }
  if (strcmp(method, "HEAD") == 0) {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else if (strcmp(method, "GET") != 0) {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
  }
  if (req->body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
      strcmp(method, "PATCH") == 0) {
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body ? req->body : "");
  }
  char range[64];
  if (req->range_start > 0) {
    snprintf(range, sizeof range, "%lld-", (long long)req->range_start);
    curl_easy_setopt(e, CURLOPT_RANGE, range);
  }
  struct curl_slist *hdrs = NULL;
  for (const char *const *h = req->headers; h && *h; h++) hdrs = curl_slist_append(hdrs, *h);
  /* A body of our own needs no "Expect: 100-continue" round trip. */
  if (req->body) hdrs = curl_slist_append(hdrs, "Expect:");
  if (hdrs) curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);

  CURLcode rc = curl_easy_perform(e);
  curl_slist_free_all(hdrs);

  char *eff = NULL;
  if (curl_easy_getinfo(e, CURLINFO_EFFECTIVE_URL, &eff) == CURLE_OK && eff)
    resp->effective_url = drv_strdup(eff);
  if (rc != CURLE_OK) {
    if (x.sink_failed) {
      if (!err || !err->msg[0]) drv_error(err, EIO, "%s %s: aborted by the receiver", method, req->url);
      return -1;
    }
    if (x.too_big)
      return drv_error(err, EFBIG, "%s %s: response body larger than %zu bytes", method, req->url,
                       x.max_body);
    return drv_error(err, curl_errno(rc), "%s %s: %s", method, req->url,
                     errbuf[0] ? errbuf : curl_easy_strerror(rc));
  }
  long code = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
  if (code) resp->status = code;
  return 0;
}

/* ---- streamed bodies: one multi handle each, so a read can wait with a timeout ---- */

struct drv_http_stream {
  CURL *easy;
  CURLM *multi;
  struct curl_slist *hdrs;
  drv_buf *out;  /* the current read's buffer */
  size_t got;    /* bytes appended during the current read */
  bool done;
  CURLcode result;
  char errbuf[CURL_ERROR_SIZE];
};

static size_t stream_write(char *p, size_t sz, size_t n, void *ud)
{
  drv_http_stream *s = ud;
  drv_buf_append(s->out, p, sz * n);
  s->got += sz * n;
  return sz * n;
}

drv_http_stream *drv_http_stream_open(const drv_http_request *req)
{
  pthread_once(&global_once, global_init);
  drv_http_stream *s = drv_calloc(1, sizeof *s);
  s->easy = curl_easy_init();
  s->multi = curl_multi_init();
  if (!s->easy || !s->multi) {
    fprintf(stderr, "drover: curl handle creation failed\n");
    abort();
  }
  for (const char *const *h = req->headers; h && *h; h++) s->hdrs = curl_slist_append(s->hdrs, *h);
  if (req->bearer_token) {
    _cleanup_free_ char *auth = drv_asprintf("Authorization: Bearer %s", req->bearer_token);
    s->hdrs = curl_slist_append(s->hdrs, auth);
  }
  CURL *e = s->easy;
  curl_easy_setopt(e, CURLOPT_URL, req->url);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, s->errbuf);
  if (s->hdrs) curl_easy_setopt(e, CURLOPT_HTTPHEADER, s->hdrs);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, stream_write);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, s);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   req->connect_timeout_ms > 0 ? req->connect_timeout_ms : 10000L);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  if (req->unix_socket) curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, req->unix_socket);
  if (req->ca_file) curl_easy_setopt(e, CURLOPT_CAINFO, req->ca_file);
  if (req->insecure_tls) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (req->client_cert) curl_easy_setopt(e, CURLOPT_SSLCERT, req->client_cert);
  if (req->client_key) curl_easy_setopt(e, CURLOPT_SSLKEY, req->client_key);
  curl_multi_add_handle(s->multi, e);
  return s;
}

int drv_http_stream_read(drv_http_stream *s, int timeout_ms, drv_buf *out, long *status,
                         drv_err *err)
{
  long long deadline = drv_now_ms() + timeout_ms;
  s->out = out;
  s->got = 0;
  for (;;) {
    if (!s->done) {
      int running = 0;
      curl_multi_perform(s->multi, &running);
      CURLMsg *m;
      int left;
      while ((m = curl_multi_info_read(s->multi, &left)))
        if (m->msg == CURLMSG_DONE) {
          s->done = true;
          s->result = m->data.result;
        }
    }
    *status = 0;
    curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, status);
    if (s->got) return 1;
    if (s->done) {
      if (s->result != CURLE_OK)
        return drv_error(err, curl_errno(s->result), "%s",
                         s->errbuf[0] ? s->errbuf : curl_easy_strerror(s->result));
      return 2;
    }
    long long left_ms = deadline - drv_now_ms();
    if (left_ms <= 0) return 0;
    curl_multi_poll(s->multi, NULL, 0, (int)(left_ms > 1000 ? 1000 : left_ms), NULL);
  }
}

void drv_http_stream_close(drv_http_stream *s)
{
  if (!s) return;
  curl_multi_remove_handle(s->multi, s->easy);
  curl_easy_cleanup(s->easy);
  curl_multi_cleanup(s->multi);
  curl_slist_free_all(s->hdrs);
  free(s);
}
