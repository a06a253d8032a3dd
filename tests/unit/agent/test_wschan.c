/* The exec/attach WebSocket session: framing, stdin with backpressure, resize, close. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pty.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/wschan.h"
#include "common/buf.h"

/* A client frame as kubectl sends it: masked, binary, channel byte first. */
static void client_frame(drv_buf *b, int opcode, int channel, const void *data, size_t len)
{
  static const unsigned char mask[4] = {0x11, 0x22, 0x33, 0x44};
  size_t plen = len + (channel >= 0);
  drv_buf_putc(b, (char)(0x80 | opcode));
  if (plen < 126) {
    drv_buf_putc(b, (char)(0x80 | plen));
  } else if (plen < 65536) {
    drv_buf_putc(b, (char)(0x80 | 126));
    drv_buf_putc(b, (char)(plen >> 8));
    drv_buf_putc(b, (char)plen);
  } else {
    drv_buf_putc(b, (char)(0x80 | 127));
    for (int i = 7; i >= 0; i--) drv_buf_putc(b, (char)((uint64_t)plen >> (8 * i)));
  }
  drv_buf_append(b, mask, 4);
  size_t k = 0;
  if (channel >= 0) drv_buf_putc(b, (char)(channel ^ mask[k++ & 3]));
  for (size_t i = 0; i < len; i++) drv_buf_putc(b, (char)(((const unsigned char *)data)[i] ^ mask[k++ & 3]));
}

typedef struct fixture {
  int client, server;
  int in[2]; /* the process's stdin pipe */
  drv_wschan w;
} fixture;

static int setup(void **state)
{
  fixture *f = calloc(1, sizeof *f);
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  f->client = sv[0], f->server = sv[1];
  assert_int_equal(pipe2(f->in, O_CLOEXEC), 0);
  drv_wschan_init(&f->w, f->server, NULL, 0);
  f->w.stdin_fd = f->in[1];
  fcntl(f->in[1], F_SETFL, fcntl(f->in[1], F_GETFL) | O_NONBLOCK);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  fixture *f = *state;
  drv_wschan_free(&f->w);
  close(f->client), close(f->server), close(f->in[0]);
  if (f->in[1] >= 0) close(f->in[1]);
  free(f);
  return 0;
}

static void send_all(int fd, const drv_buf *b)
{
  size_t off = 0;
  while (off < b->len) {
    ssize_t k = write(fd, b->data + off, b->len - off);
    assert_true(k > 0);
    off += (size_t)k;
  }
}

/* Steps until nothing more arrives on the socket. */
static void pump(fixture *f)
{
  for (int i = 0; i < 1000; i++) {
    struct pollfd p = {f->server, drv_wschan_sock_events(&f->w), 0};
    if (poll(&p, 1, 0) <= 0) {
      drv_wschan_step(&f->w, 0, POLLOUT);
      return;
    }
    drv_wschan_step(&f->w, p.revents, POLLOUT);
  }
}

static void stdin_and_v5_eof(void **state)
{
  fixture *f = *state;
  drv_buf b = DRV_BUF_INIT;
  client_frame(&b, 2, 0, "hello ", 6);
  /* split across reads: the second frame arrives in two pieces */
  drv_buf c = DRV_BUF_INIT;
  client_frame(&c, 2, 0, "world", 5);
  drv_buf_append(&b, c.data, 3);
  send_all(f->client, &b);
  pump(f);
  drv_buf_reset(&b);
  drv_buf_append(&b, c.data + 3, c.len - 3);
  unsigned char eof[] = {0};
  client_frame(&b, 2, 255, eof, 1);
  send_all(f->client, &b);
  pump(f);
  char got[32] = "";
  assert_int_equal(read(f->in[0], got, sizeof got), 11);
  assert_memory_equal(got, "hello world", 11);
  assert_true(f->w.stdin_eof);
  assert_false(f->w.gone);
  drv_buf_free(&b);
  drv_buf_free(&c);
}

static void backpressure(void **state)
{
  fixture *f = *state;
  /* the process reads nothing: past DRV_WSCHAN_STDIN_MAX the socket is no longer read */
  size_t chunk = 32768, sent = 0;
  char *data = malloc(chunk);
  memset(data, 'x', chunk);
  fcntl(f->client, F_SETFL, fcntl(f->client, F_GETFL) | O_NONBLOCK);
  drv_buf b = DRV_BUF_INIT;
  while (sent < 3 * DRV_WSCHAN_STDIN_MAX) {
    drv_buf_reset(&b);
    client_frame(&b, 2, 0, data, chunk);
    if (write(f->client, b.data, b.len) != (ssize_t)b.len) break; /* full: stop */
    sent += chunk;
    pump(f);
  }
  assert_int_equal(drv_wschan_sock_events(&f->w), 0);
  assert_int_equal(drv_wschan_stdin_events(&f->w), POLLOUT);
  assert_true(f->w.sin.len - f->w.sin_off >= DRV_WSCHAN_STDIN_MAX);
  /* the process reads: the buffer drains and the socket is read again */
  char buf[65536];
  size_t got = 0;
  for (int i = 0; i < 100000 && got < sent; i++) {
    ssize_t k = read(f->in[0], buf, sizeof buf);
    if (k > 0) got += (size_t)k;
    pump(f);
  }
  assert_int_equal(got, sent);
  assert_int_equal(drv_wschan_sock_events(&f->w), POLLIN);
  drv_buf_free(&b);
  free(data);
}

static void resize_and_ping(void **state)
{
  fixture *f = *state;
  int master, slave;
  assert_int_equal(openpty(&master, &slave, NULL, NULL, NULL), 0);
  f->w.tty_fd = master;
  drv_buf b = DRV_BUF_INIT;
  const char *sz = "{\"Width\":123,\"Height\":45}";
  client_frame(&b, 2, 4, sz, strlen(sz));
  client_frame(&b, 9, -1, "pp", 2);
  send_all(f->client, &b);
  pump(f);
  struct winsize ws;
  assert_int_equal(ioctl(slave, TIOCGWINSZ, &ws), 0);
  assert_int_equal(ws.ws_col, 123);
  assert_int_equal(ws.ws_row, 45);
  unsigned char pong[4];
  assert_int_equal(read(f->client, pong, sizeof pong), 4);
  assert_int_equal(pong[0], 0x8A);
  assert_int_equal(pong[1], 2);
  assert_memory_equal(pong + 2, "pp", 2);
  close(master), close(slave);
  drv_buf_free(&b);
}

static void finish_sends_status_then_close(void **state)
{
  fixture *f = *state;
  drv_wschan_send(&f->w, 1, "out", 3);
  /* the client still has input in flight when the session ends: it is read, not reset */
  drv_buf b = DRV_BUF_INIT;
  client_frame(&b, 2, 0, "late", 4);
  send_all(f->client, &b);
  shutdown(f->client, SHUT_WR);
  drv_wschan_finish(&f->w, drv_wschan_status_exit(3));
  char buf[4096];
  ssize_t n = 0, k;
  while ((k = read(f->client, buf + n, sizeof buf - (size_t)n)) > 0) n += k;
  /* stdout frame, then the Status on channel 3, then a close frame */
  assert_true(n > 6);
  assert_int_equal((unsigned char)buf[0], 0x82);
  assert_int_equal(buf[2], 1);
  assert_memory_equal(buf + 3, "out", 3);
  unsigned char *s = (unsigned char *)buf + 6;
  assert_int_equal(s[0], 0x82);
  size_t plen = s[1] & 0x7f, hl = 2;
  if (plen == 126) plen = ((size_t)s[2] << 8) | s[3], hl = 4;
  assert_int_equal(s[hl], 3);
  json_t *st = json_loadb((const char *)s + hl + 1, plen - 1, 0, NULL);
  assert_non_null(st);
  assert_string_equal(json_string_value(json_object_get(st, "reason")), "NonZeroExitCode");
  json_decref(st);
  unsigned char *c = s + hl + plen;
  assert_int_equal(c[0], 0x88);
  drv_buf_free(&b);
}

static void close_frame_ends_session(void **state)
{
  fixture *f = *state;
  drv_buf b = DRV_BUF_INIT;
  client_frame(&b, 8, -1, "\x03\xe8", 2);
  send_all(f->client, &b);
  pump(f);
  assert_true(f->w.gone);
  /* a Status message with quotes stays valid JSON */
  json_t *st = drv_wschan_status_failure(500, "InternalError", "exec `\"x\"`: no such file");
  char *s = json_dumps(st, JSON_COMPACT);
  json_t *back = json_loads(s, 0, NULL);
  assert_non_null(back);
  assert_string_equal(json_string_value(json_object_get(back, "message")), "exec `\"x\"`: no such file");
  json_decref(back), json_decref(st), free(s);
  drv_buf_free(&b);
}

static void oversize_frame_ends_session(void **state)
{
  fixture *f = *state;
  /* a header announcing 1 GiB: the session ends instead of buffering it */
  unsigned char h[14] = {0x82, 0x80 | 127, 0, 0, 0, 0, 0x40, 0, 0, 0, 1, 2, 3, 4};
  assert_int_equal(write(f->client, h, sizeof h), (ssize_t)sizeof h);
  pump(f);
  assert_true(f->w.gone);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(stdin_and_v5_eof, setup, teardown),
      cmocka_unit_test_setup_teardown(backpressure, setup, teardown),
      cmocka_unit_test_setup_teardown(resize_and_ping, setup, teardown),
      cmocka_unit_test_setup_teardown(finish_sends_status_then_close, setup, teardown),
      cmocka_unit_test_setup_teardown(close_frame_ends_session, setup, teardown),
      cmocka_unit_test_setup_teardown(oversize_frame_ends_session, setup, teardown),
  };
  return cmocka_run_group_tests_name("agent_wschan", tests, NULL, NULL);
}
