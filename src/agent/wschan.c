#include "agent/wschan.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <termios.h>
#include <unistd.h>

#include "common/util.h"

/* A message larger than this ends the session (kubectl sends at most 32 KiB at a time). */
#define FRAME_MAX (16u << 20)
/* How long a client may leave its socket full before the session counts it as gone. */
#define SEND_WAIT_MS 30000

static void set_nonblock(int fd)
{
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0 && !(fl & O_NONBLOCK)) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

void drv_wschan_init(drv_wschan *w, int sock, const char *extra, size_t n_extra)
{
  *w = (drv_wschan){.sock = sock, .stdin_fd = -1, .tty_fd = -1};
  set_nonblock(sock);
  if (n_extra) drv_buf_append(&w->in, extra, n_extra);
}

void drv_wschan_free(drv_wschan *w)
{
  drv_buf_free(&w->in);
  drv_buf_free(&w->sin);
}

static int send_all(drv_wschan *w, struct iovec *iov, int n)
{
  struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
  while (m.msg_iovlen > 0) {
    ssize_t k = sendmsg(w->sock, &m, MSG_NOSIGNAL);
    if (k < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) return -1;
      struct pollfd p = {w->sock, POLLOUT, 0};
      if (poll(&p, 1, SEND_WAIT_MS) <= 0) return -1;
      continue;
    }
    while (k > 0 && m.msg_iovlen > 0) {
      if ((size_t)k >= m.msg_iov[0].iov_len) {
        k -= (ssize_t)m.msg_iov[0].iov_len;
        m.msg_iov++;
        m.msg_iovlen--;
      } else {
        m.msg_iov[0].iov_base = (char *)m.msg_iov[0].iov_base + k;
        m.msg_iov[0].iov_len -= (size_t)k;
        k = 0;
      }
    }
    while (m.msg_iovlen > 0 && m.msg_iov[0].iov_len == 0) m.msg_iov++, m.msg_iovlen--;
  }
  return 0;
}

static int send_frame(drv_wschan *w, int opcode, int channel, const void *data, size_t len)
{
  if (w->gone && opcode != 0x8) return -1;
  unsigned char hdr[16];
  size_t n = 0, plen = len + (channel >= 0 ? 1 : 0);
  hdr[n++] = (unsigned char)(0x80 | opcode);
  if (plen < 126) {
    hdr[n++] = (unsigned char)plen;
  } else if (plen < 65536) {
    hdr[n++] = 126;
    hdr[n++] = (unsigned char)(plen >> 8);
    hdr[n++] = (unsigned char)plen;
  } else {
    hdr[n++] = 127;
    for (int i = 7; i >= 0; i--) hdr[n++] = (unsigned char)((uint64_t)plen >> (8 * i));
  }
  if (channel >= 0) hdr[n++] = (unsigned char)channel;
  struct iovec iov[2] = {{hdr, n}, {(void *)data, len}};
  if (send_all(w, iov, len ? 2 : 1) < 0) {
    w->gone = true;
    return -1;
  }
  return 0;
}

int drv_wschan_send(drv_wschan *w, int channel, const void *data, size_t len)
{
  return send_frame(w, 0x2, channel, data, len);
}

static void drop_stdin(drv_wschan *w)
{
  w->stdin_fd = -1;
  drv_buf_reset(&w->sin);
  w->sin_off = 0;
}

static void pump_stdin(drv_wschan *w)
{
  while (w->stdin_fd >= 0 && w->sin_off < w->sin.len) {
    ssize_t k = write(w->stdin_fd, w->sin.data + w->sin_off, w->sin.len - w->sin_off);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0 && errno == EAGAIN) return;
    if (k <= 0) {
      drop_stdin(w); /* the process closed its stdin: later input has nowhere to go */
      return;
    }
    w->sin_off += (size_t)k;
  }
  if (w->sin_off == w->sin.len) {
    drv_buf_reset(&w->sin);
    w->sin_off = 0;
    if (w->eof_seen) w->stdin_eof = true;
  }
}

static void on_message(drv_wschan *w, const unsigned char *p, size_t len)
{
  if (len < 1) return;
  int ch = p[0];
  p++, len--;
  if (ch == 0) {
    if (w->stdin_fd >= 0 && !w->eof_seen && len) drv_buf_append(&w->sin, p, len);
  } else if (ch == 4 && w->tty_fd >= 0 && len) {
    /* {"Width":W,"Height":H} */
    json_t *j = json_loadb((const char *)p, len, 0, NULL);
    struct winsize wsz = {.ws_col = (unsigned short)json_integer_value(json_object_get(j, "Width")),
                          .ws_row = (unsigned short)json_integer_value(json_object_get(j, "Height"))};
    if (wsz.ws_col && wsz.ws_row) ioctl(w->tty_fd, TIOCSWINSZ, &wsz);
    json_decref(j);
  } else if (ch == 255 && len >= 1 && p[0] == 0) {
    w->eof_seen = true;
  }
}

/* Handles the complete frames in w->in. */
static void consume(drv_wschan *w)
{
  unsigned char *in = (unsigned char *)w->in.data;
  size_t len = w->in.len, pos = 0;
  while (!w->gone && len - pos >= 2) {
    unsigned char *f = in + pos;
    int opcode = f[0] & 0x0f;
    bool masked = f[1] & 0x80;
    uint64_t plen = f[1] & 0x7f;
    size_t hl = 2;
    if (plen == 126) {
      if (len - pos < 4) break;
      plen = ((uint64_t)f[2] << 8) | f[3];
      hl = 4;
    } else if (plen == 127) {
      if (len - pos < 10) break;
      plen = 0;
      for (int i = 0; i < 8; i++) plen = (plen << 8) | f[2 + i];
      hl = 10;
    }
    if (plen > (uint64_t)FRAME_MAX) {
      w->gone = true;
      break;
    }
    if (masked) hl += 4;
    if (len - pos < hl + plen) break;
    unsigned char *p = f + hl;
    if (masked)
      for (uint64_t i = 0; i < plen; i++) p[i] ^= f[hl - 4 + (i & 3)];
    if (opcode == 0x8) w->gone = true;
    else if (opcode == 0x9) send_frame(w, 0xA, -1, p, plen);
    else if (opcode == 0x1 || opcode == 0x2 || opcode == 0x0) on_message(w, p, plen);
    pos += hl + plen;
  }
  if (pos) {
    memmove(w->in.data, w->in.data + pos, w->in.len - pos);
    w->in.len -= pos;
  }
}

short drv_wschan_sock_events(const drv_wschan *w)
{
  if (w->gone) return 0;
  return w->sin.len - w->sin_off < DRV_WSCHAN_STDIN_MAX ? POLLIN : 0;
}

short drv_wschan_stdin_events(const drv_wschan *w)
{
  return w->stdin_fd >= 0 && w->sin.len > w->sin_off ? POLLOUT : 0;
}

void drv_wschan_step(drv_wschan *w, short sock_rev, short stdin_rev)
{
  (void)stdin_rev;
  if (sock_rev & (POLLIN | POLLHUP | POLLERR)) {
    char buf[65536];
    ssize_t k = recv(w->sock, buf, sizeof buf, 0);
    if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR)) w->gone = true;
    else if (k > 0) drv_buf_append(&w->in, buf, (size_t)k);
  }
  consume(w);
  pump_stdin(w);
}

void drv_wschan_finish(drv_wschan *w, json_t *status)
{
  json_t *st = status ? status : json_pack("{s:{}, s:s}", "metadata", "status", "Success");
  char *s = json_dumps(st, JSON_COMPACT);
  json_decref(st);
  if (s) drv_wschan_send(w, 3, s, strlen(s));
  free(s);
  unsigned char close_code[2] = {0x03, 0xe8}; /* 1000: normal */
  if (!w->gone) send_frame(w, 0x8, -1, close_code, 2);
  shutdown(w->sock, SHUT_WR);
  /* Until the peer closes; a slow reader may still be taking in the last output, so give up
   * only after 3 s without progress (nothing read, nothing more of ours acknowledged). */
  long long last = drv_now_ms();
  int prev = -1;
  char buf[16384];
  while (drv_now_ms() - last < 3000) {
    struct pollfd p = {w->sock, POLLIN, 0};
    int n = poll(&p, 1, 100);
    if (n < 0 && errno != EINTR) break;
    ssize_t k = recv(w->sock, buf, sizeof buf, 0);
    if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR)) break;
    int queued = 0;
    if (k > 0 || (ioctl(w->sock, SIOCOUTQ, &queued) == 0 && queued != prev)) last = drv_now_ms();
    prev = queued;
  }
}

json_t *drv_wschan_status_exit(int code)
{
  if (code == 0) return json_pack("{s:{}, s:s}", "metadata", "status", "Success");
  char num[16];
  snprintf(num, sizeof num, "%d", code);
  _cleanup_free_ char *msg = drv_asprintf("command terminated with non-zero exit code: %d", code);
  return json_pack("{s:{}, s:s, s:s, s:s, s:{s:[{s:s, s:s}]}}", "metadata", "status", "Failure",
                   "message", msg, "reason", "NonZeroExitCode", "details", "causes", "reason",
                   "ExitCode", "message", num);
}

json_t *drv_wschan_status_failure(int code, const char *reason, const char *message)
{
  return json_pack("{s:{}, s:s, s:s, s:s, s:i}", "metadata", "status", "Failure", "message", message,
                   "reason", reason, "code", code);
}
