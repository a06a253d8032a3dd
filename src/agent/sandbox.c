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

pid_t drv_sandbox_find(const char *pod_dir, unsigned long long *start_time)
{
  _cleanup_free_ char *pidfile = drv_asprintf("%s/sandbox.pid", pod_dir);
  char *data = NULL;
  drv_err err;
  if (drv_read_file(pidfile, 64, &data, NULL, &err) < 0) return 0;
  pid_t pid = (pid_t)atoi(data);
  free(data);
  if (pid <= 0) return 0;
  unsigned long long st = drv_proc_start_time(pid);
  /* argv as drv_sandbox_spawn gives it: "drover\0agent\0sandbox\0DIR\0" */
  _cleanup_free_ char *cmdpath = drv_asprintf("/proc/%d/cmdline", pid);
  char *cmd = NULL;
  size_t len = 0;
  if (!st || drv_read_file(cmdpath, 4096, &cmd, &len, &err) < 0) return 0;
  static const char head[] = "drover\0agent\0sandbox";
  size_t dl = strlen(pod_dir);
  bool ours = len == sizeof head + dl + 1 && !memcmp(cmd, head, sizeof head) &&
              !memcmp(cmd + sizeof head, pod_dir, dl + 1);
  free(cmd);
  if (!ours || !drv_proc_alive(pid, st)) return 0;
  *start_time = st;
  return pid;
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

typedef struct stdin_ent stdin_ent;

typedef struct log_src {
  drv_crilog *log;
  int fds[2];
  int open;
  bool eager;     /* interactive: unfinished lines go out at once as P records */
  stdin_ent *ent; /* with a TTY: the stdin entry that shares its master */
  struct src_ref *refs[2];
} log_src;

typedef struct src_ref {
  log_src *src;
  int stream;
} src_ref;

/* A container's stdin held open for `kubectl attach -i`: the write end of its stdin pipe, or
 * its pty master. It lives here, not in the agent, so it survives the agent's restart. */
struct stdin_ent {
  stdin_ent *next;
  char *key;
  int fd;
  log_src *src; /* TTY: the log source reading the same master */
};

static stdin_ent *stdins;

static void src_close_fd(int ep, log_src *s, int stream)
{
  epoll_ctl(ep, EPOLL_CTL_DEL, s->fds[stream], NULL);
  close(s->fds[stream]);
  s->fds[stream] = -1;
  free(s->refs[stream]);
  s->refs[stream] = NULL;
  drv_err err;
  drv_crilog_flush(s->log, stream, drv_wall_ms() * 1000000LL, &err);
  if (--s->open == 0) {
    if (s->ent) s->ent->src = NULL;
    drv_crilog_close(s->log);
    free(s);
  }
}

static stdin_ent **stdin_find(const char *key)
{
  stdin_ent **e = &stdins;
  while (*e && strcmp((*e)->key, key) != 0) e = &(*e)->next;
  return e;
}

/* Drops a container's stdin; with a TTY the master goes too (the terminal hangs up, as a
 * runtime shim does when a stdinOnce session ends). */
static void stdin_drop(int ep, stdin_ent **pe)
{
  stdin_ent *e = *pe;
  *pe = e->next;
  close(e->fd);
  if (e->src) {
    /* a TTY source has the master only: closing it frees the source */
    e->src->ent = NULL;
    src_close_fd(ep, e->src, 0);
  }
  free(e->key);
  free(e);
}

static int add_src(int ep, const char *spec, bool eager, int nfds, const int *fds, log_src **out)
{
  /* "MAX_SIZE MAX_FILES PATH" */
  unsigned long long max_size = 0;
  int max_files = 1, off = 0;
  if (sscanf(spec, "%llu %d %n", &max_size, &max_files, &off) != 2 || off <= 0) return -1;
  drv_crilog *log = NULL;
  drv_err err;
  if (drv_crilog_open(spec + off, (size_t)max_size, max_files, &log, &err) < 0) return -1;
  log_src *s = drv_calloc(1, sizeof *s);
  s->log = log;
  s->fds[0] = fds[0], s->fds[1] = nfds > 1 ? fds[1] : -1;
  s->open = nfds;
  s->eager = eager;
  for (int i = 0; i < nfds; i++) {
    src_ref *r = drv_malloc(sizeof *r);
    r->src = s, r->stream = i;
    s->refs[i] = r;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = r};
    epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
  }
  *out = s;
  return 0;
}

/* One request per connection, answered 'y' or 'n':
 *   "MAX_SIZE MAX_FILES PATH" + [out, err]       log a container's output
 *   "io FLAGS KEY MAX_SIZE MAX_FILES PATH" + fds  the same for an interactive container;
 *        FLAGS "t": [pty master] (output and input), "i": [out, err, stdin write end]
 *   "stdin KEY"                                   answered 'y' + a copy of the stdin fd
 *   "close KEY"                                   drop the stdin (stdinOnce, container gone) */
static void serve_request(int ep, int lfd)
{
  int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
  if (c < 0) return;
  char buf[4200];
  char cbuf[CMSG_SPACE(3 * sizeof(int))];
  struct iovec iov = {buf, sizeof buf - 1};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                     .msg_controllen = sizeof cbuf};
  ssize_t n = recvmsg(c, &m, MSG_CMSG_CLOEXEC);
  int fds[3] = {-1, -1, -1}, nfds = 0;
  struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
  if (n > 0 && cm && cm->cmsg_type == SCM_RIGHTS && cm->cmsg_len >= CMSG_LEN(sizeof(int))) {
    nfds = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    if (nfds > 3) nfds = 3;
    memcpy(fds, CMSG_DATA(cm), (size_t)nfds * sizeof(int));
  }
  char ok = 'n';
  int send_fd = -1;
  buf[n > 0 ? n : 0] = '\0';
  char flags[8], key[1100];
  int off = 0;
  log_src *src;
  if (n > 0 && buf[0] >= '0' && buf[0] <= '9') {
    if (nfds == 2 && add_src(ep, buf, false, 2, fds, &src) == 0) nfds = 0, ok = 'y';
  } else if (sscanf(buf, "io %7s %1099s %n", flags, key, &off) == 2 && off > 0) {
    /* a key already here is a try of the same attempt that never got to release it */
    stdin_ent **old = stdin_find(key);
    if (*old) stdin_drop(ep, old);
    bool tty = strchr(flags, 't') != NULL;
    int want = tty ? 1 : 3;
    int in = tty ? fcntl(fds[0], F_DUPFD_CLOEXEC, 3) : fds[2];
    if (nfds == want && in >= 0 && add_src(ep, buf + off, true, tty ? 1 : 2, fds, &src) == 0) {
      stdin_ent *e = drv_calloc(1, sizeof *e);
      e->key = drv_strdup(key);
      e->fd = in;
      if (tty) e->src = src, src->ent = e;
      e->next = stdins;
      stdins = e;
      nfds = 0, ok = 'y';
    } else if (tty && in >= 0) {
      close(in);
    }
  } else if (sscanf(buf, "stdin %1099s", key) == 1) {
    stdin_ent *e = *stdin_find(key);
    if (e) send_fd = e->fd, ok = 'y';
  } else if (sscanf(buf, "close %1099s", key) == 1) {
    stdin_ent **pe = stdin_find(key);
    if (*pe) stdin_drop(ep, pe);
    ok = 'y';
  }
  for (int i = 0; i < nfds; i++)
    if (fds[i] >= 0) close(fds[i]);
  char rc[CMSG_SPACE(sizeof(int))];
  memset(rc, 0, sizeof rc);
  struct iovec riov = {&ok, 1};
  struct msghdr rm = {.msg_iov = &riov, .msg_iovlen = 1};
  if (send_fd >= 0) {
    rm.msg_control = rc;
    rm.msg_controllen = sizeof rc;
    struct cmsghdr *rcm = CMSG_FIRSTHDR(&rm);
    rcm->cmsg_level = SOL_SOCKET;
    rcm->cmsg_type = SCM_RIGHTS;
    rcm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(rcm), &send_fd, sizeof(int));
  }
  (void)!sendmsg(c, &rm, MSG_NOSIGNAL);
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
        serve_request(ep, lfd);
        break; /* it may have closed sources of later events: epoll reports those again */
      }
      log_src *s = r->src;
      ssize_t k = read(s->fds[r->stream], buf, sizeof buf);
      if (k > 0) {
        long long ts = drv_wall_ms() * 1000000LL;
        drv_crilog_write(s->log, r->stream, buf, (size_t)k, ts, &err);
        if (s->eager) drv_crilog_flush_partial(s->log, r->stream, ts, &err);
      } else if (k == 0 || (errno != EINTR && errno != EAGAIN)) {
        src_close_fd(ep, s, r->stream);
      }
    }
  }
}

/* One request to the sandbox (see serve_request): msg with fds; 'y' expected. recv_fd, when
 * given, gets the fd that comes with the answer. */
static int sandbox_request(const char *pod_dir, const char *msg, const int *fds, int nfds,
                           int *recv_fd, drv_err *err)
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
  char cbuf[CMSG_SPACE(3 * sizeof(int))];
  memset(cbuf, 0, sizeof cbuf);
  struct iovec iov = {(void *)msg, strlen(msg)};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
  if (nfds > 0) {
    m.msg_control = cbuf;
    m.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
    memcpy(CMSG_DATA(cm), fds, (size_t)nfds * sizeof(int));
  }
  if (sendmsg(c, &m, MSG_NOSIGNAL) < 0) return drv_error(err, errno, "send to sandbox `%s`", sock);
  char ok = 0;
  char rc[CMSG_SPACE(sizeof(int))];
  struct iovec riov = {&ok, 1};
  struct msghdr rm = {.msg_iov = &riov, .msg_iovlen = 1, .msg_control = rc, .msg_controllen = sizeof rc};
  ssize_t n;
  while ((n = recvmsg(c, &rm, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {}
  int got = -1;
  struct cmsghdr *cm = n > 0 ? CMSG_FIRSTHDR(&rm) : NULL;
  if (cm && cm->cmsg_type == SCM_RIGHTS && cm->cmsg_len == CMSG_LEN(sizeof(int)))
    memcpy(&got, CMSG_DATA(cm), sizeof got);
  if (n != 1 || ok != 'y') {
    if (got >= 0) close(got);
    return drv_error(err, EIO, "the pod sandbox refused `%.40s`", msg);
  }
  if (recv_fd) *recv_fd = got;
  else if (got >= 0) close(got);
  return 0;
}

int drv_sandbox_attach_log(const char *pod_dir, const char *log_path, size_t max_size,
                           int max_files, int out_fd, int err_fd, drv_err *err)
{
  _cleanup_free_ char *msg = drv_asprintf("%zu %d %s", max_size, max_files, log_path);
  int fds[2] = {out_fd, err_fd};
  if (sandbox_request(pod_dir, msg, fds, 2, NULL, err) < 0)
    return drv_err_prefix(err, "log `%s`", log_path);
  return 0;
}

int drv_sandbox_attach_io(const char *pod_dir, const char *key, bool tty, const char *log_path,
                          size_t max_size, int max_files, const int *fds, drv_err *err)
{
  _cleanup_free_ char *msg = drv_asprintf("io %s %s %zu %d %s", tty ? "t" : "i", key, max_size,
                                          max_files, log_path);
  if (sandbox_request(pod_dir, msg, fds, tty ? 1 : 3, NULL, err) < 0)
    return drv_err_prefix(err, "stdin and log of `%s`", key);
  return 0;
}

int drv_sandbox_stdin(const char *pod_dir, const char *key, int *fd, drv_err *err)
{
  _cleanup_free_ char *msg = drv_asprintf("stdin %s", key);
  *fd = -1;
  if (sandbox_request(pod_dir, msg, NULL, 0, fd, err) < 0) return -1;
  if (*fd < 0) return drv_error(err, EIO, "the pod sandbox sent no stdin for `%s`", key);
  return 0;
}

int drv_sandbox_close_stdin(const char *pod_dir, const char *key, drv_err *err)
{
  _cleanup_free_ char *msg = drv_asprintf("close %s", key);
  return sandbox_request(pod_dir, msg, NULL, 0, NULL, err);
}
