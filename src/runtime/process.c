/* The last steps of every container process (init and exec): identity, capabilities,
 * rlimits, terminal, executable lookup — plus the tiny sync protocol with the runtime. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/internal.h"
#include "runtime/seccomp.h"

pid_t drv_rt_clone3(unsigned long flags, int cgroup_fd, bool *into_cgroup)
{
  *into_cgroup = false;
  if (cgroup_fd >= 0) {
    /* Born in its v2 group: one cgroup.procs write (and its scheduler wait) less. */
    struct clone_args a = {
        .flags = flags | CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = (uint64_t)cgroup_fd};
    pid_t pid = (pid_t)syscall(SYS_clone3, &a, sizeof a);
    if (pid >= 0) {
      *into_cgroup = true;
      return pid;
    }
  }
  return drv_rt_clone(flags);
}

pid_t drv_rt_clone(unsigned long flags)
{
  /* x86_64/aarch64 argument order: flags, stack, parent_tid, child_tid, tls. A NULL stack
   * gives fork semantics (the child continues on a copy of this stack). */
  return (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
}

/* ---- sync ---------------------------------------------------------------------------------- */

int drv_sync_send(int fd, int type, int value, const char *text)
{
  drv_sync_msg m = {.type = type, .value = value};
  size_t len = offsetof(drv_sync_msg, text);
  if (text) {
    snprintf(m.text, sizeof m.text, "%s", text);
    len += strlen(m.text) + 1;
  }
  ssize_t n;
  do
    n = send(fd, &m, len, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n < 0 ? -1 : 0;
}

/* Sends len bytes of data with n (1 to 3) fds passed alongside (SCM_RIGHTS). */
static int send_with_fds(int sock, const void *data, size_t len, const int *fds, int n)
{
  char cbuf[CMSG_SPACE(3 * sizeof(int))];
  memset(cbuf, 0, sizeof cbuf);
  struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
  struct msghdr msg = {.msg_iov = &iov,
                       .msg_iovlen = 1,
                       .msg_control = cbuf,
                       .msg_controllen = CMSG_SPACE((size_t)n * sizeof(int))};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN((size_t)n * sizeof(int));
  memcpy(CMSG_DATA(c), fds, (size_t)n * sizeof(int));
  ssize_t r;
  do
    r = sendmsg(sock, &msg, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  return r < 0 ? -1 : 0;
}

static int send_with_fd(int sock, const void *data, size_t len, int fd)
{
  return send_with_fds(sock, data, len, &fd, 1);
}

int drv_sync_send_fd(int fd, int type, int value, int passed)
{
  drv_sync_msg m = {.type = type, .value = value};
  return send_with_fd(fd, &m, offsetof(drv_sync_msg, text), passed);
}

int drv_sync_send_fds(int fd, int type, int value, const int *fds, int n)
{
  drv_sync_msg m = {.type = type, .value = value};
  return send_with_fds(fd, &m, offsetof(drv_sync_msg, text), fds, n);
}

int drv_sync_recv(int fd, drv_sync_msg *m, drv_err *err)
{
  return drv_sync_recv_fd(fd, m, NULL, err);
}

int drv_sync_recv_fd(int fd, drv_sync_msg *m, int *passed, drv_err *err)
{
  int two[2] = {passed ? *passed : 0, 0};
  int r = drv_sync_recv_fds(fd, m, passed ? two : NULL, 1, err);
  if (passed) *passed = two[0];
  return r;
}

int drv_sync_recv_fds(int fd, drv_sync_msg *m, int *passed, int npassed, drv_err *err)
{
  memset(m, 0, sizeof *m);
  char cbuf[CMSG_SPACE(3 * sizeof(int))];
  struct iovec iov = {.iov_base = m, .iov_len = sizeof *m - 1};
  struct msghdr msg = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  ssize_t n;
  bool reset = false;
  /* A peer that exited with our messages unread (the init fails before it reads GO) leaves a
   * reset, reported once before the messages it sent, its ERROR among them: read on. */
  do
    n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && (errno == EINTR || (errno == ECONNRESET && !reset && (reset = true))));
  struct cmsghdr *c = n >= 0 ? CMSG_FIRSTHDR(&msg) : NULL;
  if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
    size_t got_n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < got_n && i < 3; i++) {
      int got;
      memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof got);
      if (passed && (int)i < npassed && passed[i] < 0)
        passed[i] = got;
      else
        close(got);
    }
  }
  if (n < 0) return drv_error(err, errno, "read from the container process");
  if (n == 0) return drv_error(err, 0, "the container process exited during setup");
  if ((size_t)n < offsetof(drv_sync_msg, text)) return drv_error(err, 0, "short sync message");
  if (m->type == DRV_SYNC_ERROR) {
    drv_error(err, 0, "%s", m->text);
    err->errnum = m->value;
    return -1;
  }
  return 0;
}

void drv_sync_fail(int fd, const drv_err *err)
{
  drv_sync_send(fd, DRV_SYNC_ERROR, err->errnum, err->msg);
  _exit(1);
}

/* ---- lookup and the CVE-2019-5736 guard ------------------------------------------------- */

char *drv_rt_lookup(const char *file, char *const *env, drv_err *err)
{
  struct stat st;
  if (strchr(file, '/')) {
    if (stat(file, &st) < 0) {
      drv_error(err, errno, "exec `%s`", file);
      return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
      drv_error(err, EACCES, "exec `%s`: not a regular file", file);
      return NULL;
    }
    return drv_strdup(file);
  }
  const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (size_t i = 0; env && env[i]; i++)
    if (!strncmp(env[i], "PATH=", 5)) path = env[i] + 5;
  const char *p = path;
  while (true) {
    const char *end = strchrnul(p, ':');
    char *cand =
        end == p ? drv_asprintf("./%s", file) : drv_asprintf("%.*s/%s", (int)(end - p), p, file);
    if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111)) return cand;
    free(cand);
    if (!*end) break;
    p = end + 1;
  }
  drv_error(err, ENOENT, "exec `%s`: executable file not found in $PATH", file);
  return NULL;
}

int drv_rt_check_not_self(const char *path, dev_t self_dev, ino_t self_ino, drv_err *err)
{
  char cur[4096];
  snprintf(cur, sizeof cur, "%s", path);
  /* The kernel follows at most 4 levels of #! interpreters (BINPRM_MAX_RECURSION). */
  for (int depth = 0; depth < 5; depth++) {
    struct stat st;
    if (stat(cur, &st) < 0) return 0; /* exec reports it */
    if (st.st_dev == self_dev && st.st_ino == self_ino)
      return drv_error(
          err, EPERM, "exec `%s`: refusing to run the runtime's own binary in the container", path);
    int fd = open(cur, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) fd = open(cur, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return 0;
    char head[256];
    ssize_t n = read(fd, head, sizeof head - 1);
    close(fd);
    if (n < 3 || head[0] != '#' || head[1] != '!') return 0;
    head[n] = '\0';
    char *s = head + 2;
    while (*s == ' ' || *s == '\t')
      s++;
    size_t len = strcspn(s, " \t\n");
    if (!len) return 0;
    s[len] = '\0';
    snprintf(cur, sizeof cur, "%s", s);
  }
  return 0;
}

/* ---- identity ------------------------------------------------------------------------------ */

int drv_rt_set_rlimits(const drv_rt_process *p, drv_err *err)
{
  for (size_t i = 0; i < p->nrlimits; i++)
    if (setrlimit(p->rlimits[i].resource, &p->rlimits[i].lim) < 0)
      return drv_error(err, errno, "process.rlimits[%zu]: setrlimit", i);
  return 0;
}

int drv_rt_set_oom(const drv_rt_process *p, drv_err *err)
{
  if (!p->has_oom_score_adj) return 0;
  int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return drv_error(err, errno, "process.oomScoreAdj: open /proc/self/oom_score_adj");
  char buf[16];
  int n = snprintf(buf, sizeof buf, "%d", p->oom_score_adj);
  ssize_t w = write(fd, buf, (size_t)n);
  int e = errno;
  close(fd);
  if (w != n) return drv_error(err, e, "process.oomScoreAdj: write %d", p->oom_score_adj);
  return 0;
}

static int last_cap(void)
{
  static int last = -1;
  if (last >= 0) return last;
  int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
  char buf[16] = {0};
  if (fd >= 0) {
    if (read(fd, buf, sizeof buf - 1) > 0) last = atoi(buf);
    close(fd);
  }
  if (last <= 0) last = CAP_LAST_CAP;
  return last;
}

int drv_rt_load_seccomp(const drv_seccomp_filter *f, const char *state, drv_err *err)
{
  if (!f) return 0;
  int fd = -1;
  int r = drv_seccomp_load(f, &fd);
  if (r < 0) return drv_error(err, -r, "linux.seccomp: load the filter");
  if (fd < 0) return 0;
  /* SCMP_ACT_NOTIFY: hand the listener to linux.seccomp.listenerPath. */
  json_t *st = json_loads(state ? state : "{}", 0, NULL);
  r = drv_seccomp_send_listener(f, fd, st, err);
  json_decref(st);
  close(fd);
  return r;
}

int drv_rt_drop_bounding(const drv_rt_process *p, uint64_t *bound, drv_err *err)
{
  *bound = 0;
  if (!p->has_caps) return 0;
  int top = last_cap();
  /* Kept ones are read (what is left is the new bounding set, no second pass); the others are
   * dropped unread (dropping one that is not there succeeds). */
  for (int c = 0; c <= top; c++) {
    if (p->caps[DRV_CAP_BOUNDING] & (1ULL << c)) {
      if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1) *bound |= 1ULL << c;
    } else if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 &&
               !(errno == EPERM && prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 0)) {
      /* (without CAP_SETPCAP a capability that is not there is no error) */
      return drv_error(err, errno, "process.capabilities.bounding: drop capability %d", c);
    }
  }
  return 0;
}

int drv_rt_apply_identity(const drv_rt_process *p, const drv_seccomp_filter *seccomp,
                          const char *state, bool setgroups_ok, const uint64_t *bounded,
                          drv_err *err)
{
  /* Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: do it while we have it. */
  if (seccomp && !p->no_new_privileges && drv_rt_load_seccomp(seccomp, state, err) < 0) return -1;
  if (setgroups_ok && setgroups(p->ngroups, p->groups) < 0)
    return drv_error(err, errno, "process.user.additionalGids: setgroups");
  int top = last_cap();
  uint64_t bound = 0;
  if (bounded)
    bound = *bounded;
  else if (drv_rt_drop_bounding(p, &bound, err) < 0)
    return -1;
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) return drv_error(err, errno, "prctl(KEEPCAPS)");
  if (setresgid(p->gid, p->gid, p->gid) < 0)
    return drv_error(err, errno, "process.user.gid: setgid %u", p->gid);
  if (setresuid(p->uid, p->uid, p->uid) < 0)
    return drv_error(err, errno, "process.user.uid: setuid %u", p->uid);
  prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
  if (p->has_caps) {
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct cur[2], set[2];
    if (syscall(SYS_capget, &hdr, cur) < 0) return drv_error(err, errno, "capget");
    uint64_t have = (uint64_t)cur[0].permitted | (uint64_t)cur[1].permitted << 32;
    /* Caps the runtime itself does not hold cannot be granted; runc fails the same way later
     * in an obscure place, we just leave them out. */
    uint64_t perm = p->caps[DRV_CAP_PERMITTED] & have;
    uint64_t eff = p->caps[DRV_CAP_EFFECTIVE] & perm;
    uint64_t inh = p->caps[DRV_CAP_INHERITABLE] &
                   (bound | ((uint64_t)cur[0].inheritable | (uint64_t)cur[1].inheritable << 32));
    set[0].effective = (uint32_t)eff, set[1].effective = (uint32_t)(eff >> 32);
    set[0].permitted = (uint32_t)perm, set[1].permitted = (uint32_t)(perm >> 32);
    set[0].inheritable = (uint32_t)inh, set[1].inheritable = (uint32_t)(inh >> 32);
    if (syscall(SYS_capset, &hdr, set) < 0)
      return drv_error(err, errno, "process.capabilities: capset");
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    for (int c = 0; c <= top; c++)
      if ((p->caps[DRV_CAP_AMBIENT] & (1ULL << c)) && (perm & inh & (1ULL << c)) &&
          prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
        return drv_error(err, errno, "process.capabilities.ambient: raise capability %d", c);
  }
  if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return drv_error(err, errno, "process.noNewPrivileges: prctl");
  /* With no_new_privs the caller loads the filter as the very last step before execve. */
  return 0;
}

/* ---- terminal ------------------------------------------------------------------------------ */

static int send_fd(int sock, int fd, const char *name)
{
  return send_with_fd(sock, name, strlen(name), fd);
}

int drv_rt_setup_terminal(const drv_rt_process *p, int console_fd, drv_err *err)
{
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) return drv_error(err, errno, "process.terminal: open /dev/ptmx");
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0) {
    close(master);
    return drv_error(err, errno, "process.terminal: unlock pty");
  }
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
  if (slave < 0) {
    close(master);
    return drv_error(err, errno, "process.terminal: open the pty slave");
  }
  int ptyno = 0;
  ioctl(master, TIOCGPTN, &ptyno);
  char name[64];
  snprintf(name, sizeof name, "/dev/pts/%d", ptyno);
  if (p->console_height || p->console_width) {
    struct winsize ws = {.ws_row = p->console_height, .ws_col = p->console_width};
    ioctl(slave, TIOCSWINSZ, &ws);
  }
  if (send_fd(console_fd, master, name) < 0) {
    int e = errno;
    close(master);
    close(slave);
    return drv_error(err, e, "process.terminal: send the pty to the console socket");
  }
  close(master);
  if (ioctl(slave, TIOCSCTTY, 0) < 0) {
    close(slave);
    return drv_error(err, errno, "process.terminal: set the controlling terminal");
  }
  for (int fd = 0; fd < 3; fd++)
    if (dup2(slave, fd) < 0) return drv_error(err, errno, "process.terminal: dup2");
  if (slave > 2) close(slave);
  return 0;
}

int drv_rt_connect_unix(const char *path, drv_err *err)
{
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path)
    return drv_error(err, ENAMETOOLONG, "console socket `%s`", path);
  strcpy(sa.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return drv_error(err, errno, "console socket: socket");
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    close(fd);
    return drv_error(err, e, "connect to the console socket `%s`", path);
  }
  return fd;
}
