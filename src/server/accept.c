/* The HTTPS port's listening socket is the server's own, not libmicrohttpd's: one thread
 * accepts, waits (epoll) for each new connection's first byte and peeks at it. A TLS handshake
 * record (0x16) goes to libmicrohttpd (MHD_add_connection); anything else is plain HTTP sent to
 * the HTTPS port and gets the answer Go's servers give — `400 Bad Request` "Client sent an HTTP
 * request to an HTTPS server." — instead of a dropped connection. Connections that send nothing
 * for ACCEPT_IDLE_MS are closed. */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "server/internal.h"

#define ACCEPT_IDLE_MS 10000
#define ACCEPT_MAX_PENDING 1024

typedef struct pending {
  int fd;
  struct sockaddr_storage addr;
  socklen_t addrlen;
  long long since_ms;
} pending;

struct drv_acceptor {
  drv_server *srv;
  int lfd, wake, ep;
  pthread_t thread;
  bool started;
  pending *p;  /* slots; fd < 0 = free */
  size_t np;
  unsigned handed; /* connections MHD_add_connection took, ever */
};

int drv_accept_listen(drv_server *s, const struct sockaddr *sa, socklen_t len, int *port,
                      drv_err *err)
{
  drv_acceptor *a = drv_calloc(1, sizeof *a);
  a->srv = s;
  a->lfd = a->wake = a->ep = -1;
  s->acceptor = a;
  a->lfd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (a->lfd < 0) return drv_error(err, errno, "listen on %s: socket", s->opts.listen);
  int one = 1;
  setsockopt(a->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (sa->sa_family == AF_INET6) setsockopt(a->lfd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind(a->lfd, sa, len) < 0 || listen(a->lfd, 1024) < 0)
    return drv_error(err, errno, "listen on %s", s->opts.listen);
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if (getsockname(a->lfd, (struct sockaddr *)&ss, &sl) < 0)
    return drv_error(err, errno, "listen on %s: getsockname", s->opts.listen);
  *port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                         : ((struct sockaddr_in *)&ss)->sin_port);
  return 0;
}

int drv_accept_fd(drv_server *s)
{
  return s->acceptor ? s->acceptor->lfd : -1;
}

static void drop(drv_acceptor *a, size_t i, bool close_fd)
{
  epoll_ctl(a->ep, EPOLL_CTL_DEL, a->p[i].fd, NULL);
  if (close_fd) close(a->p[i].fd);
  a->p[i].fd = -1;
}

/* Plain HTTP: what is there is read (so closing does not reset the connection before the
 * client has the answer), the answer written, the connection closed. */
static void refuse_plain_http(int fd)
{
  char buf[4096];
  while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0) {
  }
  static const char msg[] = "HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
                            "Connection: close\r\n\r\nClient sent an HTTP request to an HTTPS server.\n";
  ssize_t n = send(fd, msg, sizeof msg - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
  (void)n;
  shutdown(fd, SHUT_WR);
  close(fd);
}

static void on_first_bytes(drv_acceptor *a, size_t i)
{
  pending *p = &a->p[i];
  unsigned char c;
  ssize_t n = recv(p->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    drop(a, i, true);
    return;
  }
  int fd = p->fd;
  drop(a, i, false);
  if (c != 0x16) {
    refuse_plain_http(fd);
    return;
  }
  /* libmicrohttpd counts a connection once its thread runs: those handed over and not started
   * yet count too */
  int unstarted = (int)(a->handed - __atomic_load_n(&a->srv->conns_started, __ATOMIC_ACQUIRE));
  int held = __atomic_load_n(&a->srv->conns, __ATOMIC_RELAXED) + (unstarted > 0 ? unstarted : 0);
  if (held >= DRV_HTTP_MAX_CONNS) {
    close(fd); /* full: stalled handshakes are closed after HTTP_FIRST_REQUEST_S (http.c) */
    return;
  }
  /* MHD owns (and closes) the socket from here, whatever it answers */
  if (MHD_add_connection(a->srv->mhd, fd, (struct sockaddr *)&p->addr, p->addrlen) != MHD_YES)
    drv_log_debug("http: connection not taken: %s", strerror(errno));
  else
    a->handed++;
}

static void accept_new(drv_acceptor *a)
{
  for (;;) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int fd = accept4(a->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE) usleep(10000); /* leave it in the backlog */
      return;
    }
    size_t i = 0;
    while (i < a->np && a->p[i].fd >= 0) i++;
    if (i == a->np) {
      if (a->np == ACCEPT_MAX_PENDING) {
        /* Full of connections that sent nothing: the oldest goes, not the newcomer. Refusing
         * new ones let 1,100 idle sockets lock every client out (10 s, again and again). */
        i = 0;
        for (size_t j = 1; j < a->np; j++)
          if (a->p[j].since_ms < a->p[i].since_ms) i = j;
        epoll_ctl(a->ep, EPOLL_CTL_DEL, a->p[i].fd, NULL);
        close(a->p[i].fd);
      } else {
        a->p = drv_realloc(a->p, ++a->np * sizeof *a->p);
      }
    }
    a->p[i] = (pending){.fd = fd, .addr = ss, .addrlen = sl, .since_ms = drv_now_ms()};
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u64 = i + 2};
    if (epoll_ctl(a->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
      close(fd);
      a->p[i].fd = -1;
    }
  }
}

static void *accept_main(void *arg)
{
  drv_acceptor *a = arg;
  struct epoll_event evs[64];
  for (;;) {
    int n = epoll_wait(a->ep, evs, 64, 1000);
    if (n < 0 && errno != EINTR) break;
    bool stop = false;
    for (int k = 0; k < n; k++) {
      uint64_t id = evs[k].data.u64;
      if (id == 0) stop = true;
      else if (id == 1) accept_new(a);
      else if (id - 2 < a->np && a->p[id - 2].fd >= 0) on_first_bytes(a, id - 2);
    }
    if (stop) break;
    long long now = drv_now_ms();
    for (size_t i = 0; i < a->np; i++)
      if (a->p[i].fd >= 0 && now - a->p[i].since_ms > ACCEPT_IDLE_MS) drop(a, i, true);
  }
  return NULL;
}

int drv_accept_start(drv_server *s, drv_err *err)
{
  drv_acceptor *a = s->acceptor;
  a->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  a->ep = epoll_create1(EPOLL_CLOEXEC);
  if (a->wake < 0 || a->ep < 0) return drv_error(err, errno, "listen on %s: epoll", s->opts.listen);
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0};
  epoll_ctl(a->ep, EPOLL_CTL_ADD, a->wake, &ev);
  ev.data.u64 = 1;
  epoll_ctl(a->ep, EPOLL_CTL_ADD, a->lfd, &ev);
  if (pthread_create(&a->thread, NULL, accept_main, a) != 0)
    return drv_error(err, errno, "listen on %s: start the accept thread", s->opts.listen);
  a->started = true;
  return 0;
}

void drv_accept_stop(drv_server *s)
{
  drv_acceptor *a = s->acceptor;
  if (!a) return;
  if (a->started) {
    uint64_t one = 1;
    ssize_t n = write(a->wake, &one, sizeof one);
    (void)n;
    pthread_join(a->thread, NULL);
  }
  for (size_t i = 0; i < a->np; i++)
    if (a->p[i].fd >= 0) close(a->p[i].fd);
  free(a->p);
  if (a->lfd >= 0) close(a->lfd);
  if (a->wake >= 0) close(a->wake);
  if (a->ep >= 0) close(a->ep);
  free(a);
  s->acceptor = NULL;
}
