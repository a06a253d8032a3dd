/* common/http_client against a tiny in-process server (a forked child answering canned
 * responses on loopback TCP or a Unix socket): status, headers, bodies, streaming, ranges,
 * auth headers, limits and transport errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/http_client.h"
#include "common/util.h"

/* tests/unit/common/test_http_ossl.c runs these against the OpenSSL implementation. */
#ifndef HTTP_TEST_GROUP
#define HTTP_TEST_GROUP "image_http"
#endif

struct server {
  pid_t pid;
  int port;
  char sock[108];
  char req_file[64]; /* the child writes each request head here for the test to check */
};

/* Answers every connection with the same response (Connection: close). */
static void serve(int lfd, const char *resp, const char *req_file)
{
  for (;;) {
    int c = accept(lfd, NULL, NULL);
    if (c < 0) continue;
    char buf[8192];
    size_t n = 0;
    while (n < sizeof buf - 1) {
      ssize_t r = read(c, buf + n, sizeof buf - 1 - n);
      if (r <= 0) break;
      n += (size_t)r;
      buf[n] = 0;
      if (strstr(buf, "\r\n\r\n")) break;
    }
    FILE *f = fopen(req_file, "w");
    if (f) {
      fwrite(buf, 1, n, f);
      fclose(f);
    }
    drv_write_all(c, resp, strlen(resp));
    close(c);
  }
}

static void start(struct server *s, const char *resp, bool unix_sock)
{
  int lfd;
  snprintf(s->req_file, sizeof s->req_file, "/tmp/drv-http-req-%d", getpid());
  if (unix_sock) {
    snprintf(s->sock, sizeof s->sock, "/tmp/drv-http-%d.sock", getpid());
    unlink(s->sock);
    lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strcpy(a.sun_path, s->sock);
    assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
  } else {
    s->sock[0] = 0;
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t l = sizeof a;
    getsockname(lfd, (struct sockaddr *)&a, &l);
    s->port = ntohs(a.sin_port);
  }
  assert_int_equal(listen(lfd, 8), 0);
  s->pid = fork();
  if (s->pid == 0) {
    serve(lfd, resp, s->req_file);
    _exit(0);
  }
  close(lfd);
}

static void stop(struct server *s)
{
  kill(s->pid, SIGKILL);
  waitpid(s->pid, NULL, 0);
  if (s->sock[0]) unlink(s->sock);
  unlink(s->req_file);
}

static char *last_request(struct server *s)
{
  FILE *f = fopen(s->req_file, "r");
  assert_non_null(f);
  char *buf = drv_calloc(1, 8192);
  size_t n = fread(buf, 1, 8191, f);
  buf[n] = 0;
  fclose(f);
  return buf;
}

static void status_headers_body(void **state)
{
  (void)state;
  struct server s;
  start(&s,
        "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nX-Dup: one\r\nx-dup:  two \r\n"
        "Content-Length: 13\r\nConnection: close\r\n\r\n{\"err\":\"no\"}\n",
        false);
  drv_http_client *c = drv_http_client_new();
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/v2/x?y=1", s.port);
  const char *hdrs[] = {"Accept: a/b", NULL};
  drv_http_request rq = {.url = url, .headers = hdrs, .bearer_token = "tok123", .range_start = 42};
  drv_http_response rs = DRV_HTTP_RESPONSE_INIT;
  drv_err err;
  assert_int_equal(drv_http_do(c, &rq, &rs, &err), 0);
  assert_int_equal(rs.status, 404);
  assert_int_equal(rs.body.len, 13);
  assert_string_equal(rs.body.data, "{\"err\":\"no\"}\n");
  char *v = drv_http_response_header(&rs, "x-DUP");
  assert_string_equal(v, "two");
  free(v);
  assert_null(drv_http_response_header(&rs, "Missing"));
  char *req = last_request(&s);
  assert_non_null(strstr(req, "GET /v2/x?y=1 HTTP/1.1\r\n"));
  assert_non_null(strstr(req, "Authorization: Bearer tok123\r\n"));
  assert_non_null(strstr(req, "Range: bytes=42-\r\n"));
  assert_non_null(strstr(req, "Accept: a/b\r\n"));
  assert_non_null(strstr(req, "User-Agent: drover"));
  free(req);
  drv_http_response_free(&rs);
  drv_http_client_free(c);
  stop(&s);
}

struct sink {
  drv_buf got;
  int calls;
};

static int collect(const void *data, size_t len, void *ctx, drv_err *err)
{
  struct sink *k = ctx;
  k->calls++;
  drv_buf_append(&k->got, data, len);
  return 0;
}

static int refuse(const void *data, size_t len, void *ctx, drv_err *err)
{
  return drv_error(err, ENOSPC, "write blob");
}

static void streaming_and_unix_socket(void **state)
{
  (void)state;
  struct server s;
  start(&s, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello", true);
  drv_http_client *c = drv_http_client_new();
  struct sink k = {DRV_BUF_INIT, 0};
  drv_http_request rq = {.url = "http://registry.local/blob", .unix_socket = s.sock,
                         .basic_user = "u", .basic_password = "p", .on_data = collect,
                         .on_data_ctx = &k, .method = "POST", .body = "xyz", .body_len = 3};
  drv_http_response rs = DRV_HTTP_RESPONSE_INIT;
  drv_err err;
  assert_int_equal(drv_http_do(c, &rq, &rs, &err), 0);
  assert_int_equal(rs.status, 200);
  assert_int_equal(rs.body.len, 0); /* went to the callback */
  assert_string_equal(k.got.data, "hello");
  assert_int_equal(rs.bytes, 5);
  char *req = last_request(&s);
  assert_non_null(strstr(req, "POST /blob HTTP/1.1\r\nHost: registry.local\r\n"));
  assert_non_null(strstr(req, "Authorization: Basic dTpw\r\n"));
  free(req);
  /* a refusing receiver aborts with its own error */
  rq.on_data = refuse;
  assert_int_equal(drv_http_do(c, &rq, &rs, &err), -1);
  assert_int_equal(err.errnum, ENOSPC);
  /* a buffered body over the limit */
  rq.on_data = NULL;
  rq.max_body = 3;
  assert_int_equal(drv_http_do(c, &rq, &rs, &err), -1);
  assert_int_equal(err.errnum, EFBIG);
  drv_buf_free(&k.got);
  drv_http_response_free(&rs);
  drv_http_client_free(c);
  stop(&s);
}

static void transport_errors(void **state)
{
  (void)state;
  /* a port nobody listens on: bind one, close it */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  bind(fd, (struct sockaddr *)&a, sizeof a);
  socklen_t l = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &l);
  close(fd);
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/", ntohs(a.sin_port));
  drv_http_client *c = drv_http_client_new();
  drv_http_request rq = {.url = url};
  drv_http_response rs = DRV_HTTP_RESPONSE_INIT;
  drv_err err;
  assert_int_equal(drv_http_do(c, &rq, &rs, &err), -1);
  assert_int_equal(err.errnum, ECONNREFUSED);
  assert_non_null(strstr(err.msg, url));
  char *e = drv_http_escape("a b/c?d=é");
  assert_string_equal(e, "a%20b%2Fc%3Fd%3D%C3%A9");
  free(e);
  drv_http_response_free(&rs);
  drv_http_client_free(c);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(status_headers_body),
      cmocka_unit_test(streaming_and_unix_socket),
      cmocka_unit_test(transport_errors),
  };
  return cmocka_run_group_tests_name(HTTP_TEST_GROUP, tests, NULL, NULL);
}
