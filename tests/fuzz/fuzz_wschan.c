/* The agent's exec/attach WebSocket input (frames from the API server, i.e. from kubectl):
 * framing, masking, channels, resize JSON, v5 close, ping/pong. */
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/wschan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size > 65536) return 0;
  int sv[2], in[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) return 0;
  if (pipe2(in, O_CLOEXEC | O_NONBLOCK) < 0) {
    close(sv[0]), close(sv[1]);
    return 0;
  }
  int big = 1 << 20;
  setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  drv_wschan w;
  drv_wschan_init(&w, sv[1], (const char *)data, size / 2);
  w.stdin_fd = in[1];
  size_t off = size / 2;
  while (off < size) {
    ssize_t k = write(sv[0], data + off, size - off);
    if (k <= 0) break;
    off += (size_t)k;
  }
  shutdown(sv[0], SHUT_WR);
  char sink[65536];
  for (int i = 0; i < 64 && !w.gone; i++) {
    drv_wschan_step(&w, POLLIN, POLLOUT);
    while (read(in[0], sink, sizeof sink) > 0) {}
  }
  drv_wschan_free(&w);
  close(sv[0]), close(sv[1]), close(in[0]), close(in[1]);
  return 0;
}
