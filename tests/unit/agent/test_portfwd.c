/* The agent's port-forward session over a socket pair, played by a SPDY client written with
 * spdy.h, forwarding into this process's own network namespace: stream replies, bytes both ways,
 * the client's windows kept once it shows it keeps them, WINDOW_UPDATEs for consumed bytes,
 * half-closes, and the error stream for a port nothing listens on. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/portfwd.h"
#include "agent/spdy.h"
#include "common/buf.h"

typedef struct sess {
  int sock, ns;
  pthread_t th;
} sess;

static void *sess_main(void *arg)
{
  sess *s = arg;
  drv_portfwd_session(s->sock, s->ns, "web", "uid-1", false, NULL, 0);
  return NULL;
}

typedef struct client {
  int fd;
  drv_spdy_zctx z;
  drv_buf in;
} client;

static void send_buf(client *c, drv_buf *b)
{
  assert_int_equal(write(c->fd, b->data, b->len), (ssize_t)b->len);
  drv_buf_free(b);
}

static void syn(client *c, uint32_t sid, const char *type, int port)
{
  char p[16];
  snprintf(p, sizeof p, "%d", port);
  drv_spdy_hdr h[] = {{"streamtype", (char *)type, 0}, {"port", p, 0}, {"requestid", "0", 0}};
  drv_buf b = DRV_BUF_INIT;
  drv_err err;
  assert_int_equal(drv_spdy_put_syn_stream(&b, &c->z, sid, 0, h, 3, &err), 0);
  send_buf(c, &b);
}

/* The next frame from the agent (copied into *f's own storage: data in *payload), or false
 * when none comes within ms. */
static bool next_frame(client *c, drv_spdy_frame *f, drv_buf *payload, int ms)
{
  for (;;) {
    drv_err err;
    ssize_t k = drv_spdy_parse((uint8_t *)c->in.data, c->in.len, f, &err);
    assert_true(k >= 0);
    if (k > 0) {
      payload->len = 0;
      drv_buf_append(payload, f->data, f->len);
      if (f->hblock) {
        drv_spdy_hdr *h;
        size_t n;
        assert_int_equal(drv_spdy_headers_decode(&c->z, f->hblock, f->hlen, &h, &n, &err), 0);
        drv_spdy_headers_free(h, n);
        f->hblock = NULL;
      }
      f->data = NULL;
      memmove(c->in.data, c->in.data + k, c->in.len - (size_t)k);
      c->in.len -= (size_t)k;
      return true;
    }
    struct pollfd p = {c->fd, POLLIN, 0};
    if (poll(&p, 1, ms) <= 0) return false;
    char buf[65536];
    ssize_t r = read(c->fd, buf, sizeof buf);
    if (r <= 0) return false;
    drv_buf_append(&c->in, buf, (size_t)r);
  }
}

/* Data bytes received on sid until want bytes or a FIN (fin set) or ms of silence; control
 * frames: WINDOW_UPDATE deltas for sid and for the session are added up. */
static size_t recv_data(client *c, uint32_t sid, size_t want, bool *fin, uint32_t *wu_stream,
                        uint32_t *wu_session, int ms)
{
  size_t got = 0;
  drv_buf pl = DRV_BUF_INIT;
  drv_spdy_frame f;
  while (got < want && next_frame(c, &f, &pl, ms)) {
    if (!f.control && f.stream_id == sid) {
      got += f.len;
      if (f.flags & DRV_SPDY_FLAG_FIN) {
        *fin = true;
        break;
      }
    } else if (f.control && f.type == DRV_SPDY_WINDOW_UPDATE) {
      if (f.stream_id == sid && wu_stream) *wu_stream += f.value;
      if (f.stream_id == 0 && wu_session) *wu_session += f.value;
    }
  }
  drv_buf_free(&pl);
  return got;
}

static int listener(int *port)
{
  int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(l, 4), 0);
  socklen_t al = sizeof a;
  getsockname(l, (struct sockaddr *)&a, &al);
  *port = ntohs(a.sin_port);
  return l;
}

static void start(sess *s, client *c)
{
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  s->sock = sv[1];
  s->ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  assert_true(s->ns >= 0);
  memset(c, 0, sizeof *c);
  c->fd = sv[0];
  drv_err err;
  assert_int_equal(drv_spdy_zinit(&c->z, &err), 0);
  assert_int_equal(pthread_create(&s->th, NULL, sess_main, s), 0);
}

static void finish(sess *s, client *c)
{
  close(c->fd);
  pthread_join(s->th, NULL);
  close(s->sock);
  close(s->ns);
  drv_spdy_zfree(&c->z);
  drv_buf_free(&c->in);
}

static void test_forward_and_windows(void **state)
{
  (void)state;
  int port, l = listener(&port);
  sess s;
  client c;
  start(&s, &c);
  /* the client keeps windows, with 1000 bytes to start with */
  drv_buf b = DRV_BUF_INIT;
  drv_spdy_put_settings(&b, DRV_SPDY_SETTINGS_INITIAL_WINDOW, 1000);
  send_buf(&c, &b);
  syn(&c, 1, "error", port);
  syn(&c, 3, "data", port);
  int replies = 0;
  drv_spdy_frame f;
  drv_buf pl = DRV_BUF_INIT;
  while (replies < 2 && next_frame(&c, &f, &pl, 5000))
    if (f.control && f.type == DRV_SPDY_SYN_REPLY) replies++;
  assert_int_equal(replies, 2);
  int pod = accept4(l, NULL, NULL, SOCK_CLOEXEC);
  assert_true(pod >= 0);
  /* pod → client: 1000 bytes, then nothing until the window opens */
  char big[40000];
  memset(big, 'x', sizeof big);
  assert_int_equal(write(pod, big, 5000), 5000);
  bool fin = false;
  assert_int_equal(recv_data(&c, 3, 5000, &fin, NULL, NULL, 300), 1000);
  drv_spdy_put_window_update(&b, 3, 4000);
  send_buf(&c, &b);
  assert_int_equal(recv_data(&c, 3, 4000, &fin, NULL, NULL, 5000), 4000);
  /* consumed: the window opens again (a closed window also holds back the pod's EOF) */
  drv_spdy_put_window_update(&b, 3, 5000);
  send_buf(&c, &b);
  /* client → pod: 40000 bytes arrive; the agent announces what the pod took */
  drv_spdy_put_data(&b, 3, 0, big, sizeof big);
  send_buf(&c, &b);
  size_t at_pod = 0;
  char rb[65536];
  while (at_pod < sizeof big) {
    ssize_t r = read(pod, rb, sizeof rb);
    assert_true(r > 0);
    at_pod += (size_t)r;
  }
  uint32_t wu_stream = 0, wu_session = 0;
  recv_data(&c, 3, 1, &fin, &wu_stream, &wu_session, 300);
  assert_true(wu_stream >= 32768 && wu_stream <= sizeof big);
  assert_true(wu_session >= 32768 && wu_session <= sizeof big);
  /* half-closes: the client's FIN is the pod's EOF; the pod's close is the client's FIN, then
   * the error stream closes (kubectl waits for that) */
  drv_spdy_put_data(&b, 3, DRV_SPDY_FLAG_FIN, NULL, 0);
  send_buf(&c, &b);
  assert_int_equal(read(pod, rb, sizeof rb), 0);
  close(pod);
  fin = false;
  recv_data(&c, 3, 1, &fin, NULL, NULL, 5000);
  assert_true(fin);
  fin = false;
  recv_data(&c, 1, 1, &fin, NULL, NULL, 5000);
  assert_true(fin);
  drv_buf_free(&pl);
  finish(&s, &c);
  close(l);
}

static void test_refused_port(void **state)
{
  (void)state;
  int port, l = listener(&port);
  close(l); /* nothing listens there now */
  sess s;
  client c;
  start(&s, &c);
  syn(&c, 1, "error", port);
  syn(&c, 3, "data", port);
  drv_spdy_frame f;
  drv_buf pl = DRV_BUF_INIT;
  bool data_fin = false, err_fin = false;
  drv_buf msg = DRV_BUF_INIT;
  while (!(data_fin && err_fin) && next_frame(&c, &f, &pl, 5000)) {
    if (f.control) continue;
    if (f.stream_id == 1) {
      drv_buf_append(&msg, pl.data, pl.len);
      if (f.flags & DRV_SPDY_FLAG_FIN) err_fin = true;
    }
    if (f.stream_id == 3 && (f.flags & DRV_SPDY_FLAG_FIN)) data_fin = true;
  }
  assert_true(data_fin && err_fin);
  drv_buf_putc(&msg, 0);
  assert_non_null(strstr(msg.data, "error forwarding port"));
  assert_non_null(strstr(msg.data, "connect: connection refused"));
  /* a bad stream (no port) is refused, the session goes on */
  drv_spdy_hdr h[] = {{"streamtype", "data", 0}};
  drv_buf b = DRV_BUF_INIT;
  drv_err err;
  assert_int_equal(drv_spdy_put_syn_stream(&b, &c.z, 5, 0, h, 1, &err), 0);
  drv_spdy_put_ping(&b, 7);
  send_buf(&c, &b);
  bool rst = false, pong = false;
  while (!(rst && pong) && next_frame(&c, &f, &pl, 5000)) {
    if (f.control && f.type == DRV_SPDY_RST_STREAM && f.stream_id == 5) rst = true;
    if (f.control && f.type == DRV_SPDY_PING && f.value == 7) pong = true;
  }
  assert_true(rst && pong);
  drv_buf_free(&msg);
  drv_buf_free(&pl);
  finish(&s, &c);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_forward_and_windows),
      cmocka_unit_test(test_refused_port),
  };
  return cmocka_run_group_tests_name("agent_portfwd", tests, NULL, NULL);
}
