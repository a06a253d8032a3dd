#include "agent/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/crilog.h"
#include "common/fs.h"
#include "common/util.h"

unsigned long long drv_proc_start_time(pid_t pid)
{
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  char *p = strrchr(buf, ')');
  if (!p) return 0;
  /* After ") " come fields 3.. ; starttime is field 22. */
  p += 2;
  for (int field = 3; field < 22 && p; field++) {
    p = strchr(p, ' ');
    if (p) p++;
  }
  if (!p) return 0;
  return strtoull(p, NULL, 10);
}

bool drv_proc_alive(pid_t pid, unsigned long long start_time)
{
  if (pid <= 0) return false;
  unsigned long long st = drv_proc_start_time(pid);
  if (st == 0 || st != start_time) return false;
  /* A zombie holds no namespaces worth keeping. */
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return false;
  buf[n] = '\0';
  char *p = strrchr(buf, ')');
  return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

static char *sock_path(const char *pod_dir)
{
  return drv_asprintf("%s/sandbox.sock", pod_dir);
}

int drv_sandbox_spawn(const char *pod_dir, const char *hostname, bool host_network, pid_t *pid,
                      drv_err *err)
{
  _cleanup_free_ char *sock = sock_path(pod_dir);
  _cleanup_free_ char *pidfile = drv_asprintf("%s/sandbox.pid", pod_dir);
  unlink(sock);
  unlink(pidfile);
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return drv_error(err, errno, "spawn sandbox: pipe");
  pid_t child = fork();
  if (child < 0) {
    int e = errno;
    close(p[0]), close(p[1]);
    return drv_error(err, e, "spawn sandbox: fork");
  }
  if (child == 0) {
    /* Only async-signal-safe calls here: the agent is multi-threaded. */
    setsid();
    if (unshare((host_network ? 0 : CLONE_NEWNET) | CLONE_NEWIPC | CLONE_NEWUTS) < 0) {
      int e = errno;
      (void)!write(p[1], &e, sizeof e);
      _exit(1);
    }
    if (hostname) sethostname(hostname, strnlen(hostname, 63));
    pid_t gc = fork();
    if (gc < 0) _exit(1);
    if (gc > 0) _exit(0);
    /* Nothing of the agent's (sockets, locks, pipes) stays open in the sandbox. */
    int ep = fcntl(p[1], F_DUPFD_CLOEXEC, 3);
    if (ep != 3) {
      dup3(ep, 3, O_CLOEXEC);
      close(ep);
    }
    p[1] = 3;
    close_range(4, ~0U, 0);
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      dup2(devnull, 0), dup2(devnull, 1), dup2(devnull, 2);
      if (devnull > 2) close(devnull);
    }
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    char *argv[] = {"drover", "agent", "sandbox", (char *)pod_dir, NULL};
    /* /proc/self/exe, not its path: it works even after the binary was replaced on disk. */
    execv("/proc/self/exe", argv);
    int e = errno;
    (void)!write(p[1], &e, sizeof e);
    _exit(127);
  }
  close(p[1]);
  int st;
  while (waitpid(child, &st, 0) < 0 && errno == EINTR) {}
  int e = 0;
  ssize_t k = read(p[0], &e, sizeof e);
  close(p[0]);
  if (k == sizeof e) return drv_error(err, e, "spawn sandbox for `%s`", pod_dir);
  /* Wait for the socket: the sandbox is ready once it listens; its pid is in sandbox.pid. */
  for (int i = 0; i < 2000; i++) {
    char *data = NULL;
    size_t len;
    drv_err e2;
    if (drv_read_file(pidfile, 64, &data, &len, &e2) == 0) {
      pid_t sp = (pid_t)atoi(data);
      free(data);
      if (sp > 0 && drv_path_exists(sock)) {
        *pid = sp;
        return 0;
      }
    }
    usleep(i < 100 ? 200 : 2000);
  }
  return drv_error(err, ETIMEDOUT, "spawn sandbox for `%s`: it did not start", pod_dir);
}

/* ---- the sandbox process ---- */

typedef struct log_src {
  drv_crilog *log;
  int fds[2];
  int open;
} log_src;

typedef struct src_ref {
  log_src *src;
  int stream;
} src_ref;

static void src_close_fd(int ep, log_src *s, int stream)
{
  epoll_ctl(ep, EPOLL_CTL_DEL, s->fds[stream], NULL);
  close(s->fds[stream]);
  s->fds[stream] = -1;
  drv_err err;
  drv_crilog_flush(s->log, stream, drv_wall_ms() * 1000000LL, &err);
  if (--s->open == 0) {
    drv_crilog_close(s->log);
    free(s);
  }
}

static void accept_log(int ep, int lfd)
{
  int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
  if (c < 0) return;
  char buf[4200];
  char cbuf[CMSG_SPACE(2 * sizeof(int))];
  struct iovec iov = {buf, sizeof buf - 1};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                     .msg_controllen = sizeof cbuf};
  ssize_t n = recvmsg(c, &m, MSG_CMSG_CLOEXEC);
  int fds[2] = {-1, -1};
  struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
  if (n > 0 && cm && cm->cmsg_type == SCM_RIGHTS && cm->cmsg_len == CMSG_LEN(2 * sizeof(int)))
    memcpy(fds, CMSG_DATA(cm), sizeof fds);
  char ok = 'n';
  if (n > 0 && fds[0] >= 0) {
    buf[n] = '\0';
    /* "MAX_SIZE MAX_FILES PATH" */
    unsigned long long max_size = 0;
    int max_files = 1, off = 0;
    if (sscanf(buf, "%llu %d %n", &max_size, &max_files, &off) == 2 && off > 0) {
      drv_crilog *log = NULL;
      drv_err err;
      if (drv_crilog_open(buf + off, (size_t)max_size, max_files, &log, &err) == 0) {
        log_src *s = drv_calloc(1, sizeof *s);
        s->log = log;
        s->fds[0] = fds[0], s->fds[1] = fds[1];
        s->open = 2;
        for (int i = 0; i < 2; i++) {
          src_ref *r = drv_malloc(sizeof *r);
          r->src = s, r->stream = i;
          struct epoll_event ev = {.events = EPOLLIN, .data.ptr = r};
          epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
        }
        fds[0] = fds[1] = -1;
        ok = 'y';
      }
    }
  }
  for (int i = 0; i < 2; i++)
    if (fds[i] >= 0) close(fds[i]);
  (void)!write(c, &ok, 1);
  close(c);
}

int drv_sandbox_main(const char *pod_dir)
{
  signal(SIGPIPE, SIG_IGN);
  signal(SIGCHLD, SIG_IGN);
  _cleanup_free_ char *sock = sock_path(pod_dir);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(sock) >= sizeof sa.sun_path) return 2;
  strcpy(sa.sun_path, sock);
  int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  unlink(sock);
  if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 64) < 0) return 1;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev);
  _cleanup_free_ char *pidfile = drv_asprintf("%s/sandbox.pid", pod_dir);
  char pid[32];
  int plen = snprintf(pid, sizeof pid, "%d", getpid());
  drv_err err;
  if (drv_write_file_atomic(pidfile, pid, (size_t)plen, 0644, &err) < 0) return 1;
  char buf[65536];
  for (;;) {
    struct epoll_event evs[16];
    int n = epoll_wait(ep, evs, 16, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    for (int i = 0; i < n; i++) {
      src_ref *r = evs[i].data.ptr;
      if (!r) {
        accept_log(ep, lfd);
        continue;
      }
      log_src *s = r->src;
      ssize_t k = read(s->fds[r->stream], buf, sizeof buf);
      if (k > 0) {
        drv_crilog_write(s->log, r->stream, buf, (size_t)k, drv_wall_ms() * 1000000LL, &err);
      } else if (k == 0 || (errno != EINTR && errno != EAGAIN)) {
        src_close_fd(ep, s, r->stream);
        free(r);
      }
    }
  }
}

int drv_sandbox_attach_log(const char *pod_dir, const char *log_path, size_t max_size,
                           int max_files, int out_fd, int err_fd, drv_err *err)
{
  _cleanup_free_ char *sock = sock_path(pod_dir);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(sock) >= sizeof sa.sun_path)
    return drv_error(err, ENAMETOOLONG, "sandbox socket `%s`", sock);
  strcpy(sa.sun_path, sock);
  _cleanup_close_ int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c < 0) return drv_error(err, errno, "sandbox socket");
  if (connect(c, (struct sockaddr *)&sa, sizeof sa) < 0)
    return drv_error(err, errno, "connect to sandbox `%s`", sock);
  _cleanup_free_ char *msg = drv_asprintf("%zu %d %s", max_size, max_files, log_path);
  int fds[2] = {out_fd, err_fd};
  char cbuf[CMSG_SPACE(sizeof fds)];
  memset(cbuf, 0, sizeof cbuf);
  struct iovec iov = {msg, strlen(msg)};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                     .msg_controllen = sizeof cbuf};
  struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof fds);
  memcpy(CMSG_DATA(cm), fds, sizeof fds);
  if (sendmsg(c, &m, MSG_NOSIGNAL) < 0) return drv_error(err, errno, "send log pipes to sandbox");
  char ok = 0;
  if (read(c, &ok, 1) != 1 || ok != 'y')
    return drv_error(err, EIO, "sandbox refused log `%s`", log_path);
  return 0;
}
