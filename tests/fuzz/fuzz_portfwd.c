/* The agent's port-forward session fed whatever the client side sends: the first byte picks
 * plain SPDY or SPDY tunneled in WebSocket messages; the rest arrives on the socket. No network
 * namespace is given (-1), so a stream that asks for a port gets the error path, never a
 * connection. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/portfwd.h"
#include "common/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 1 || size > 65536) return 0;
  drv_log_set_level(DRV_LOG_ERROR);
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) return 0;
  int big = 1 << 20;
  setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  size_t off = 1;
  while (off < size) {
    ssize_t k = write(sv[0], data + off, size - off);
    if (k <= 0) break;
    off += (size_t)k;
  }
  shutdown(sv[0], SHUT_WR);
  drv_portfwd_session(sv[1], -1, "fuzz", "uid", data[0] & 1, NULL, 0);
  close(sv[0]);
  close(sv[1]);
  return 0;
}
