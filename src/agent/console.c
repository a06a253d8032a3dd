#include "agent/console.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/util.h"

int drv_console_listen(const char *dir, char **path, drv_err *err)
{
  static atomic_uint seq;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  /* short names: the whole path must fit sun_path (108 bytes) */
  char *p = drv_asprintf("%s/con-%d-%u.sock", dir, getpid(), atomic_fetch_add(&seq, 1));
  if (strlen(p) >= sizeof sa.sun_path) {
    drv_error(err, ENAMETOOLONG, "console socket `%s`", p);
    free(p);
    return -1;
  }
  strcpy(sa.sun_path, p);
  unlink(p);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 1) < 0) {
    drv_error(err, errno, "console socket `%s`", p);
    if (fd >= 0) close(fd);
    unlink(p);
    free(p);
    return -1;
  }
  *path = p;
  return fd;
}

static int wait_in(int fd, int timeout_ms)
{
  struct pollfd p = {fd, POLLIN, 0};
  int n;
  while ((n = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR) {}
  return n;
}

int drv_console_recv(int lsock, int timeout_ms, int *master, drv_err *err)
{
  *master = -1;
  if (wait_in(lsock, timeout_ms) <= 0)
    return drv_error(err, ETIMEDOUT, "no terminal from the runtime");
  _cleanup_close_ int c = accept4(lsock, NULL, NULL, SOCK_CLOEXEC);
  if (c < 0) return drv_error(err, errno, "console socket: accept");
  if (wait_in(c, timeout_ms) <= 0) return drv_error(err, ETIMEDOUT, "no terminal from the runtime");
  char b[64], cbuf[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {b, sizeof b};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  if (recvmsg(c, &m, MSG_CMSG_CLOEXEC) < 0) return drv_error(err, errno, "console socket: receive");
  struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
  if (!cm || cm->cmsg_type != SCM_RIGHTS || cm->cmsg_len != CMSG_LEN(sizeof(int)))
    return drv_error(err, EIO, "no terminal from the runtime");
  memcpy(master, CMSG_DATA(cm), sizeof *master);
  return 0;
}
