/* `drover runtime` (also `drover-runtime`): the OCI runtime command line, runc-compatible so
 * that containerd-shim-runc-v2 and Docker can drive it. A thin layer over runtime/runtime.h. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "cli/commands.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/util.h"
#include "runtime/runtime.h"

typedef struct gopts {
  const char *root;
  const char *log;
  bool log_json;
  bool debug;
  bool systemd;
} gopts;

static const char *verb = "runtime";
static bool have_log; /* --log given: errors also go there (containerd reads them back) */

static int fail(const drv_err *err)
{
  fprintf(stderr, "drover runtime %s: %s\n", verb, err->msg);
  if (have_log) drv_log_error("%s", err->msg);
  return 1;
}

static int fail_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail_msg(const char *fmt, ...)
{
  drv_err err;
  va_list ap;
  va_start(ap, fmt);
  drv_verror(&err, 0, fmt, ap);
  va_end(ap);
  return fail(&err);
}

static void usage(FILE *out)
{
  fprintf(out,
          "usage: drover runtime [--root DIR] [--log FILE] [--log-format text|json] [--debug]\n"
          "                      [--systemd-cgroup] COMMAND [OPTIONS] [ID]\n\n"
          "commands (OCI runtime, runc-compatible):\n"
          "  create   [-b BUNDLE] [--pid-file F] [--console-socket S] [--no-pivot]\n"
          "           [--no-new-keyring] [--preserve-fds N] ID\n"
          "  start ID | state ID | kill [-a] ID [SIGNAL] | delete [-f] ID\n"
          "  run      create flags + [-d] ID\n"
          "  exec     [-p process.json] [-d] [-t] [--pid-file F] [--console-socket S]\n"
          "           [-e K=V] [--cwd DIR] [-u UID[:GID]] ID [ARGS...]\n"
          "  list [-q] [--format table|json] | ps [--format table|json] ID\n"
          "  pause ID | resume ID | update [-r FILE|-] [--memory N ...] ID\n"
          "  spec [-b DIR] [--rootless] | features\n");
}

/* A tiny option scanner: --name value, --name=value, -x value; flags anywhere before "--". */
typedef struct optdef {
  const char *lng;
  char shrt;
  bool has_arg;
} optdef;

typedef struct parsed {
  const char *val[32];
  int count[32];
  const char *multi[32][16];
  char *pos[64];
  int npos;
} parsed;

static int parse_opts(int argc, char **argv, const optdef *defs, parsed *p, bool stop_at_pos)
{
  memset(p, 0, sizeof *p);
  for (int i = 0; i < argc; i++) {
    char *a = argv[i];
    if (!strcmp(a, "--")) {
      for (i++; i < argc && p->npos < 63; i++)
        p->pos[p->npos++] = argv[i];
      break;
    }
    if (a[0] != '-' || !a[1]) {
      if (p->npos < 63) p->pos[p->npos++] = a;
      if (stop_at_pos && p->npos >= 1) {
        for (i++; i < argc && p->npos < 63; i++)
          p->pos[p->npos++] = argv[i];
        break;
      }
      continue;
    }
    const char *name = a[1] == '-' ? a + 2 : a + 1;
    bool lng = a[1] == '-' || strlen(name) > 1;
    size_t nlen = strcspn(name, "=");
    int k = -1;
    for (int d = 0; defs[d].lng || defs[d].shrt; d++) {
      if (lng && defs[d].lng && strlen(defs[d].lng) == nlen && !strncmp(defs[d].lng, name, nlen))
        k = d;
      if (!lng && defs[d].shrt == name[0]) k = d;
    }
    if (k < 0) {
      fprintf(stderr, "drover runtime %s: unknown option `%s`\n", verb, a);
      return -1;
    }
    p->count[k]++;
    if (defs[k].has_arg) {
      const char *v = NULL;
      if (name[nlen] == '=')
        v = name + nlen + 1;
      else if (!lng && name[1])
        v = name + 1;
      else if (i + 1 < argc)
        v = argv[++i];
      else {
        fprintf(stderr, "drover runtime %s: option `%s` needs a value\n", verb, a);
        return -1;
      }
      p->val[k] = v;
      if (p->count[k] <= 16) p->multi[k][p->count[k] - 1] = v;
    }
  }
  return 0;
}

static bool need_id(parsed *p, int max_pos)
{
  if (p->npos < 1) {
    fprintf(stderr, "drover runtime %s: missing container id\n", verb);
    return false;
  }
  if (max_pos >= 0 && p->npos > max_pos) {
    fprintf(stderr, "drover runtime %s: unexpected argument `%s`\n", verb, p->pos[max_pos]);
    return false;
  }
  return true;
}

static void print_json(json_t *j)
{
  char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  if (s) printf("%s\n", s);
  free(s);
}

/* ---- create / run -------------------------------------------------------------------------- */

enum {
  C_BUNDLE,
  C_PIDFILE,
  C_CONSOLE,
  C_NOPIVOT,
  C_NOKEYRING,
  C_PRESERVE,
  C_DETACH,
  C_KEEP,
  C_NOSUBREAPER
};
static const optdef create_defs[] = {
    {"bundle", 'b', true},
    {"pid-file", 0, true},
    {"console-socket", 0, true},
    {"no-pivot", 0, false},
    {"no-new-keyring", 0, false},
    {"preserve-fds", 0, true},
    {"detach", 'd', false},
    {"keep", 0, false},
    /* run never makes itself a subreaper: --no-subreaper is what it does anyway */
    {"no-subreaper", 0, false},
    {NULL, 0, false}};

static volatile pid_t fwd_pid;
static volatile int fwd_pty = -1;

static void forward(int sig)
{
  if (sig == SIGWINCH && fwd_pty >= 0) {
    struct winsize ws;
    if (ioctl(0, TIOCGWINSZ, &ws) == 0) ioctl(fwd_pty, TIOCSWINSZ, &ws);
    return;
  }
  if (fwd_pid > 0) kill(fwd_pid, sig);
}

/* From here on the signals a shell sends a foreground job go to the container's process, and
 * a window resize to its terminal (master >= 0). */
static void forward_signals(pid_t pid, int master)
{
  fwd_pid = pid;
  fwd_pty = master;
  struct sigaction sa = {.sa_handler = forward};
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
  for (size_t i = 0; i < DRV_ARRAY_LEN(sigs); i++)
    sigaction(sigs[i], &sa, NULL);
}

static int listen_unix(const char *path, drv_err *err)
{
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path) return drv_error(err, ENAMETOOLONG, "socket `%s`", path);
  strcpy(sa.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return drv_error(err, errno, "socket");
  unlink(path);
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 1) < 0) {
    int e = errno;
    close(fd);
    return drv_error(err, e, "listen on `%s`", path);
  }
  return fd;
}

/* The pty master the init sent (SCM_RIGHTS) to our console socket. */
static int recv_pty(int listen_fd, drv_err *err)
{
  int c = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
  if (c < 0) return drv_error(err, errno, "accept the console connection");
  char name[256], cbuf[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {.iov_base = name, .iov_len = sizeof name};
  struct msghdr msg = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  ssize_t n = recvmsg(c, &msg, MSG_CMSG_CLOEXEC);
  close(c);
  struct cmsghdr *cm = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
  if (!cm || cm->cmsg_type != SCM_RIGHTS)
    return drv_error(err, 0, "no pty received from the container");
  int fd;
  memcpy(&fd, CMSG_DATA(cm), sizeof fd);
  return fd;
}

/* Copies stdin → pty and pty → stdout until the container side closes (raw mode on a tty). */
static void relay_pty(int master)
{
  struct termios saved, raw;
  bool tty = isatty(0) && tcgetattr(0, &saved) == 0;
  if (tty) {
    raw = saved;
    cfmakeraw(&raw);
    tcsetattr(0, TCSANOW, &raw);
    struct winsize ws;
    if (ioctl(0, TIOCGWINSZ, &ws) == 0) ioctl(master, TIOCSWINSZ, &ws);
  }
  bool in_open = true;
  char buf[8192];
  for (;;) {
    struct pollfd p[2] = {{.fd = master, .events = POLLIN},
                          {.fd = in_open ? 0 : -1, .events = POLLIN}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[0].revents) {
      ssize_t n = read(master, buf, sizeof buf);
      if (n <= 0) break; /* EIO: every slave fd is closed, the container is done */
      if (drv_write_all(1, buf, (size_t)n) < 0) break;
    }
    if (p[1].revents) {
      ssize_t n = read(0, buf, sizeof buf);
      if (n <= 0)
        in_open = false;
      else if (drv_write_all(master, buf, (size_t)n) < 0)
        break;
    }
  }
  if (tty) tcsetattr(0, TCSANOW, &saved);
  close(master);
  fwd_pty = -1;
}

static int cmd_create_run(const gopts *g, int argc, char **argv, bool run)
{
  parsed p;
  if (parse_opts(argc, argv, create_defs, &p, false) < 0) return 2;
  if (!need_id(&p, 1)) return 2;
  drv_rt_create_opts o;
  drv_rt_create_opts_init(&o);
  o.root = g->root;
  o.id = p.pos[0];
  o.bundle = p.val[C_BUNDLE] ? p.val[C_BUNDLE] : ".";
  o.pid_file = p.val[C_PIDFILE];
  o.console_socket = p.val[C_CONSOLE];
  o.no_pivot = p.count[C_NOPIVOT] > 0;
  o.no_new_keyring = p.count[C_NOKEYRING] > 0;
  o.preserve_fds = p.val[C_PRESERVE] ? atoi(p.val[C_PRESERVE]) : 0;
  if (o.preserve_fds < 0) return fail_msg("--preserve-fds: must be >= 0");
  drv_err err;
  if (!run) {
    if (drv_rt_create(&o, NULL, &err) < 0) return fail(&err);
    return 0;
  }
  bool detach = p.count[C_DETACH] > 0;
  pid_t pid;
  if (detach) {
    if (drv_rt_run(&o, false, NULL, &pid, &err) < 0) return fail(&err);
    return 0;
  }
  /* `run` of a terminal container without --console-socket: receive the pty ourselves and
   * relay it to our stdio, like runc does. */
  int listen_fd = -1, master = -1;
  _cleanup_free_ char *sock_path = NULL;
  /* Loaded once here (create takes it over); a config it cannot load is left for create to
   * report. */
  drv_err le;
  if (drv_rt_spec_load(o.bundle, &o.loaded, &le) < 0) o.loaded = NULL;
  if (!o.console_socket && o.loaded && drv_rt_spec_terminal(o.loaded)) {
    sock_path = drv_asprintf("%s/.console-%d.sock", o.root, getpid());
    if (drv_mkdir_p(o.root, 0711, &err) < 0 || (listen_fd = listen_unix(sock_path, &err)) < 0) {
      drv_rt_spec_free(o.loaded);
      return fail(&err);
    }
    o.console_socket = sock_path;
  }
  /* Without a terminal to hand over first, the init goes on as soon as it is ready. */
  o.start = !o.console_socket;
  drv_rt_container *c;
  int r = drv_rt_create_container(&o, &c, &err);
  if (listen_fd >= 0) {
    if (r == 0) master = recv_pty(listen_fd, &err);
    close(listen_fd);
    unlink(sock_path);
    if (r == 0 && master < 0) {
      drv_err e;
      drv_rt_container_free(c);
      drv_rt_delete(o.root, o.id, true, &e);
      return fail(&err);
    }
  }
  if (r < 0) return fail(&err);
  pid = drv_rt_container_pid(c);
  forward_signals(pid, master);
  if (drv_rt_container_start(c, &err) < 0) {
    drv_err e;
    drv_rt_container_free(c);
    drv_rt_delete(o.root, o.id, true, &e);
    return fail(&err);
  }
  if (master >= 0) relay_pty(master);
  int code = 0;
  r = p.count[C_KEEP] ? drv_rt_container_wait(c, &code, &err)
                     : drv_rt_container_wait_remove(c, &code, &err);
  drv_rt_container_free(c);
  if (r < 0) return fail(&err);
  return code;
}

/* ---- simple verbs -------------------------------------------------------------------------- */

static int cmd_start(const gopts *g, int argc, char **argv)
{
  static const optdef defs[] = {{NULL, 0, false}};
  parsed p;
  if (parse_opts(argc, argv, defs, &p, false) < 0 || !need_id(&p, 1)) return 2;
  drv_err err;
  if (drv_rt_start(g->root, p.pos[0], &err) < 0) return fail(&err);
  return 0;
}

static int cmd_state(const gopts *g, int argc, char **argv)
{
  static const optdef defs[] = {{NULL, 0, false}};
  parsed p;
  if (parse_opts(argc, argv, defs, &p, false) < 0 || !need_id(&p, 1)) return 2;
  drv_err err;
  drv_rt_state st;
  if (drv_rt_state_get(g->root, p.pos[0], &st, &err) < 0) return fail(&err);
  json_t *j = drv_rt_state_json(&st);
  print_json(j);
  json_decref(j);
  drv_rt_state_clear(&st);
  return 0;
}

static int parse_signal(const char *s)
{
  static const struct {
    const char *name;
    int sig;
  } names[] = {{"HUP", SIGHUP},       {"INT", SIGINT},   {"QUIT", SIGQUIT},   {"ILL", SIGILL},
               {"TRAP", SIGTRAP},     {"ABRT", SIGABRT}, {"BUS", SIGBUS},     {"FPE", SIGFPE},
               {"KILL", SIGKILL},     {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},   {"USR2", SIGUSR2},
               {"PIPE", SIGPIPE},     {"ALRM", SIGALRM}, {"TERM", SIGTERM},   {"CHLD", SIGCHLD},
               {"CONT", SIGCONT},     {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},
               {"TTOU", SIGTTOU},     {"URG", SIGURG},   {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ},
               {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},
               {"PWR", SIGPWR},       {"SYS", SIGSYS}};
  char *end;
  long n = strtol(s, &end, 10);
  if (!*end && n > 0 && n < NSIG) return (int)n;
  if (!strncasecmp(s, "SIG", 3)) s += 3;
  for (size_t i = 0; i < DRV_ARRAY_LEN(names); i++)
    if (!strcasecmp(names[i].name, s)) return names[i].sig;
  return -1;
}

static int cmd_kill(const gopts *g, int argc, char **argv)
{
  static const optdef defs[] = {{"all", 'a', false}, {NULL, 0, false}};
  parsed p;
  if (parse_opts(argc, argv, defs, &p, false) < 0 || !need_id(&p, 2)) return 2;
  int sig = SIGTERM;
  if (p.npos > 1 && (sig = parse_signal(p.pos[1])) < 0)
    return fail_msg("signal: unknown signal `%s`", p.pos[1]);
  drv_err err;
  if (drv_rt_kill(g->root, p.pos[0], sig, p.count[0] > 0, &err) < 0) return fail(&err);
  return 0;
}

static int cmd_delete(const gopts *g, int argc, char **argv)
{
  static const optdef defs[] = {{"force", 'f', false}, {NULL, 0, false}};
  parsed p;
  if (parse_opts(argc, argv, defs, &p, false) < 0 || !need_id(&p, 1)) return 2;
  drv_err err;
  if (drv_rt_delete(g->root, p.pos[0], p.count[0] > 0, &err) < 0) {
    /* runc: deleting a missing container with --force succeeds. */
    if (p.count[0] > 0 && err.errnum == ENOENT) return 0;
    return fail(&err);
  }
  return 0;
}

static int cmd_list(const gopts *g, int argc, char **argv)
{
  static const optdef defs[] = {{"quiet", 'q', false}, {"format", 'f', true}, {NULL, 0, false}};
  parsed p;
  if (parse_opts(argc, argv, defs, &p, false) < 0) return 2;
  drv_err err;
  drv_rt_state *list;
  size_t n;
  if (drv_rt_list(g->root, &list, &n, &err) < 0) return fail(&err);
  const char *fmt = p.val[1] ? p.val[1] : "table";
  if (p.count[0]) {
    for (size_t i = 0; i < n; i++)
      printf("%s\n", list[i].id);
  } else if (!strcmp(fmt, "json")) {
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
      json_array_append_new(a, drv_rt_state_json(&list[i]));
    char *s = json_dumps(a, JSON_COMPACT | JSON_PRESERVE_ORDER);
    printf("%s\n", s);
    free(s);
    json_decref(a);
  } else if (!strcmp(fmt, "table")) {
    printf("%-20s %-8s %-10s %-40s %-32s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED",
           "OWNER");
    for (size_t i = 0; i < n; i++)
      printf("%-20s %-8d %-10s %-40s %-32s %s\n", list[i].id, list[i].pid,
             drv_rt_status_name(list[i].status), list[i].bundle, list[i].created,
             list[i].owner[0] ? list[i].owner : "root");
  } else {
    drv_rt_list_free(list, n);
    return fail_msg("--format: unknown format `%s` (table or json)", fmt);
  }
  drv_rt_list_free(list, n);
  return 0;
}

static int cmd_ps(const gopts *g, int argc, char **argv)
{
  static const optdef defs[] = {{"format", 'f', true}, {NULL, 0, false}};
  parsed p;
  if (parse_opts(argc, argv, defs, &p, true) < 0 || !need_id(&p, -1)) return 2;
  drv_err err;
  pid_t *pids;
  size_t n;
  if (drv_rt_ps(g->root, p.pos[0], &pids, &n, &err) < 0) return fail(&err);
  const char *fmt = p.val[0] ? p.val[0] : "table";
  if (!strcmp(fmt, "json")) {
    printf("[");
    for (size_t i = 0; i < n; i++)
      printf("%s%d", i ? "," : "", pids[i]);
    printf("]\n");
  } else {
    /* Like runc: `ps` output (default -ef, or the given ps args) for the container's pids. */
    _cleanup_free_ char *cmd = drv_strdup("ps");
    if (p.npos > 1) {
      for (int i = 1; i < p.npos; i++) {
        char *c = drv_asprintf("%s '%s'", cmd, p.pos[i]);
        free(cmd);
        cmd = c;
      }
    } else {
      free(cmd);
      cmd = drv_strdup("ps -ef");
    }
    fflush(stdout);
    FILE *f = popen(cmd, "r");
    if (!f) {
      free(pids);
      return fail_msg("run `%s`: %s", cmd, strerror(errno));
    }
    char line[4096];
    int pidcol = -1;
    bool first = true;
    while (fgets(line, sizeof line, f)) {
      if (first) {
        first = false;
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s", line);
        int col = 0;
        for (char *s, *t = strtok_r(tmp, " \t\n", &s); t; t = strtok_r(NULL, " \t\n", &s), col++)
          if (!strcmp(t, "PID")) pidcol = col;
        fputs(line, stdout);
        continue;
      }
      char tmp[4096];
      snprintf(tmp, sizeof tmp, "%s", line);
      int col = 0;
      pid_t pid = -1;
      for (char *s, *t = strtok_r(tmp, " \t\n", &s); t; t = strtok_r(NULL, " \t\n", &s), col++)
        if (col == pidcol) pid = atoi(t);
      for (size_t i = 0; i < n; i++)
        if (pids[i] == pid) fputs(line, stdout);
    }
    pclose(f);
  }
  free(pids);
  return 0;
}

static int cmd_pause_resume(const gopts *g, int argc, char **argv, bool pause)
{
  static const optdef defs[] = {{NULL, 0, false}};
  parsed p;
  if (parse_opts(argc, argv, defs, &p, false) < 0 || !need_id(&p, 1)) return 2;
  drv_err err;
  if ((pause ? drv_rt_pause : drv_rt_resume)(g->root, p.pos[0], &err) < 0) return fail(&err);
  return 0;
}

/* ---- update -------------------------------------------------------------------------------- */

enum {
  U_RES,
  U_MEM,
  U_SWAP,
  U_MEMRES,
  U_SHARES,
  U_QUOTA,
  U_PERIOD,
  U_CPUS,
  U_MEMS,
  U_PIDS,
  U_BLKIO,
  U_RTRUN,
  U_RTPER,
  U_KMEM,
  U_KMEMTCP
};
static const optdef update_defs[] = {
    {"resources", 'r', true},       {"memory", 'm', true},
    {"memory-swap", 0, true},       {"memory-reservation", 0, true},
    {"cpu-shares", 0, true},        {"cpu-quota", 0, true},
    {"cpu-period", 0, true},        {"cpuset-cpus", 0, true},
    {"cpuset-mems", 0, true},       {"pids-limit", 0, true},
    {"blkio-weight", 0, true},      {"cpu-rt-runtime", 0, true},
    {"cpu-rt-period", 0, true},     {"kernel-memory", 0, true},
    {"kernel-memory-tcp", 0, true}, {NULL, 0, false}};

static int set_num(json_t *obj, const char *group, const char *key, const char *v, drv_err *err)
{
  char *end;
  long long n = strtoll(v, &end, 10);
  if (*end || !*v) return drv_error(err, 0, "--%s: `%s` is not a number", key, v);
  json_t *g = json_object_get(obj, group);
  if (!g) json_object_set_new(obj, group, g = json_object());
  json_object_set_new(g, key, json_integer(n));
  return 0;
}

static int cmd_update(const gopts *g, int argc, char **argv)
{
  parsed p;
  if (parse_opts(argc, argv, update_defs, &p, false) < 0 || !need_id(&p, 1)) return 2;
  drv_err err;
  json_t *res;
  if (p.val[U_RES]) {
    json_error_t je;
    res = !strcmp(p.val[U_RES], "-") ? json_loadf(stdin, 0, &je)
                                     : json_load_file(p.val[U_RES], 0, &je);
    if (!res) return fail_msg("--resources `%s`: %s", p.val[U_RES], je.text);
  } else {
    res = json_object();
  }
  static const struct {
    int opt;
    const char *group, *key;
  } map[] = {{U_MEM, "memory", "limit"},          {U_SWAP, "memory", "swap"},
             {U_MEMRES, "memory", "reservation"}, {U_KMEM, "memory", "kernel"},
             {U_KMEMTCP, "memory", "kernelTCP"},  {U_SHARES, "cpu", "shares"},
             {U_QUOTA, "cpu", "quota"},           {U_PERIOD, "cpu", "period"},
             {U_RTRUN, "cpu", "realtimeRuntime"}, {U_RTPER, "cpu", "realtimePeriod"},
             {U_PIDS, "pids", "limit"},           {U_BLKIO, "blockIO", "weight"}};
  for (size_t i = 0; i < DRV_ARRAY_LEN(map); i++)
    if (p.val[map[i].opt] && set_num(res, map[i].group, map[i].key, p.val[map[i].opt], &err) < 0) {
      json_decref(res);
      return fail(&err);
    }
  if (p.val[U_CPUS] || p.val[U_MEMS]) {
    json_t *c = json_object_get(res, "cpu");
    if (!c) json_object_set_new(res, "cpu", c = json_object());
    if (p.val[U_CPUS]) json_object_set_new(c, "cpus", json_string(p.val[U_CPUS]));
    if (p.val[U_MEMS]) json_object_set_new(c, "mems", json_string(p.val[U_MEMS]));
  }
  int r = drv_rt_update(g->root, p.pos[0], res, &err);
  json_decref(res);
  return r < 0 ? fail(&err) : 0;
}

/* ---- exec ---------------------------------------------------------------------------------- */

enum {
  E_PROCESS,
  E_DETACH,
  E_TTY,
  E_PIDFILE,
  E_CONSOLE,
  E_ENV,
  E_CWD,
  E_USER,
  E_CAP,
  E_NNP,
  E_PRESERVE,
  E_GIDS,
  E_LABEL,
  E_APPARMOR,
  E_IGNORE
};
static const optdef exec_defs[] = {{"process", 'p', true},
                                   {"detach", 'd', false},
                                   {"tty", 't', false},
                                   {"pid-file", 0, true},
                                   {"console-socket", 0, true},
                                   {"env", 'e', true},
                                   {"cwd", 0, true},
                                   {"user", 'u', true},
                                   {"cap", 'c', true},
                                   {"no-new-privs", 0, false},
                                   {"preserve-fds", 0, true},
                                   {"additional-gids", 'g', true},
                                   {"process-label", 0, true},
                                   {"apparmor", 'a', true},
                                   {"ignore-paused", 0, false},
                                   {NULL, 0, false}};

static json_t *exec_process_from_flags(const gopts *g, parsed *p, drv_err *err)
{
  drv_rt_state st;
  if (drv_rt_state_get(g->root, p->pos[0], &st, err) < 0) return NULL;
  drv_rt_state_clear(&st);
  /* The container's own process object is the base (env, user, capabilities, ...). */
  _cleanup_free_ char *path = drv_asprintf("%s/%s/state.json", g->root, p->pos[0]);
  json_error_t je;
  json_t *state = json_load_file(path, 0, &je);
  if (!state) {
    drv_error(err, 0, "read `%s`: %s", path, je.text);
    return NULL;
  }
  json_t *proc = json_deep_copy(json_object_get(json_object_get(state, "config"), "process"));
  json_decref(state);
  if (!json_is_object(proc)) proc = json_object();
  json_object_del(proc, "consoleSize");
  json_t *args = json_array();
  for (int i = 1; i < p->npos; i++)
    json_array_append_new(args, json_string(p->pos[i]));
  json_object_set_new(proc, "args", args);
  json_object_set_new(proc, "terminal", json_boolean(p->count[E_TTY] > 0));
  if (p->val[E_CWD]) json_object_set_new(proc, "cwd", json_string(p->val[E_CWD]));
  json_t *env = json_object_get(proc, "env");
  if (!json_is_array(env)) json_object_set_new(proc, "env", env = json_array());
  for (int i = 0; i < p->count[E_ENV] && i < 16; i++)
    json_array_append_new(env, json_string(p->multi[E_ENV][i]));
  if (p->val[E_USER]) {
    unsigned uid = 0, gid = 0;
    int n = sscanf(p->val[E_USER], "%u:%u", &uid, &gid);
    if (n < 1) {
      json_decref(proc);
      drv_error(err, 0, "--user: `%s` is not UID[:GID]", p->val[E_USER]);
      return NULL;
    }
    json_t *u = json_object_get(proc, "user");
    if (!json_is_object(u)) json_object_set_new(proc, "user", u = json_object());
    json_object_set_new(u, "uid", json_integer(uid));
    json_object_set_new(u, "gid", json_integer(n > 1 ? gid : 0));
  }
  if (p->count[E_GIDS]) {
    json_t *u = json_object_get(proc, "user");
    if (!json_is_object(u)) json_object_set_new(proc, "user", u = json_object());
    json_t *gids = json_array();
    for (int i = 0; i < p->count[E_GIDS] && i < 16; i++)
      json_array_append_new(gids, json_integer(atoi(p->multi[E_GIDS][i])));
    json_object_set_new(u, "additionalGids", gids);
  }
  if (p->count[E_NNP]) json_object_set_new(proc, "noNewPrivileges", json_true());
  if (p->count[E_CAP]) {
    json_t *caps = json_object_get(proc, "capabilities");
    if (!json_is_object(caps)) json_object_set_new(proc, "capabilities", caps = json_object());
    const char *sets[] = {"bounding", "effective", "permitted", "inheritable"};
    for (size_t s = 0; s < DRV_ARRAY_LEN(sets); s++) {
      json_t *a = json_object_get(caps, sets[s]);
      if (!json_is_array(a)) json_object_set_new(caps, sets[s], a = json_array());
      for (int i = 0; i < p->count[E_CAP] && i < 16; i++)
        json_array_append_new(a, json_string(p->multi[E_CAP][i]));
    }
  }
  return proc;
}

static int cmd_exec(const gopts *g, int argc, char **argv)
{
  parsed p;
  if (parse_opts(argc, argv, exec_defs, &p, true) < 0 || !need_id(&p, -1)) return 2;
  drv_err err;
  json_t *proc;
  if (p.val[E_PROCESS]) {
    json_error_t je;
    proc = json_load_file(p.val[E_PROCESS], 0, &je);
    if (!proc) return fail_msg("--process `%s`: %s", p.val[E_PROCESS], je.text);
  } else {
    if (p.npos < 2) return fail_msg("exec: missing the command to run (or --process)");
    proc = exec_process_from_flags(g, &p, &err);
    if (!proc) return fail(&err);
  }
  drv_rt_exec_opts o;
  drv_rt_exec_opts_init(&o);
  o.root = g->root;
  o.id = p.pos[0];
  o.process = proc;
  o.console_socket = p.val[E_CONSOLE];
  o.pid_file = p.val[E_PIDFILE];
  o.detach = p.count[E_DETACH] > 0;
  o.preserve_fds = p.val[E_PRESERVE] ? atoi(p.val[E_PRESERVE]) : 0;
  /* A foreground terminal exec without --console-socket: relay the pty ourselves (as run). */
  int listen_fd = -1, master = -1;
  _cleanup_free_ char *sock_path = NULL;
  if (!o.console_socket && !o.detach && json_is_true(json_object_get(proc, "terminal"))) {
    sock_path = drv_asprintf("%s/.console-%d.sock", g->root, getpid());
    listen_fd = listen_unix(sock_path, &err);
    if (listen_fd < 0) {
      json_decref(proc);
      return fail(&err);
    }
    o.console_socket = sock_path;
  }
  pid_t pid;
  int r = drv_rt_exec(&o, &pid, &err);
  json_decref(proc);
  if (listen_fd >= 0) {
    if (r == 0 && (master = recv_pty(listen_fd, &err)) < 0) {
      kill(pid, SIGKILL);
      r = -1;
    }
    close(listen_fd);
    unlink(sock_path);
  }
  if (r < 0) return fail(&err);
  if (o.detach) return 0;
  forward_signals(pid, master);
  if (master >= 0) relay_pty(master);
  int code = 0;
  if (drv_rt_wait(pid, &code, &err) < 0) return fail(&err);
  return code;
}

/* ---- spec / features ----------------------------------------------------------------------- */

static int cmd_spec(int argc, char **argv)
{
  static const optdef defs[] = {{"bundle", 'b', true}, {"rootless", 0, false}, {NULL, 0, false}};
  parsed p;
  if (parse_opts(argc, argv, defs, &p, false) < 0) return 2;
  const char *dir = p.val[0] ? p.val[0] : ".";
  _cleanup_free_ char *path = drv_asprintf("%s/config.json", dir);
  if (drv_path_exists(path)) return fail_msg("spec: `%s` exists already; remove it first", path);
  json_t *s = drv_rt_spec_default(p.count[1] > 0);
  char *text = json_dumps(s, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
  json_decref(s);
  drv_err err;
  int r = drv_write_file_atomic(path, text, strlen(text), 0644, &err);
  free(text);
  return r < 0 ? fail(&err) : 0;
}

static int cmd_features(void)
{
  json_t *f = drv_rt_features();
  print_json(f);
  json_decref(f);
  return 0;
}

/* ---- entry --------------------------------------------------------------------------------- */

int drv_cmd_runtime(int argc, char **argv)
{
  /* jansson would seed its hash function from /dev/urandom (open, read, close) at the first
   * object; one getrandom call does the same. */
  size_t seed = 0;
  if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) == (ssize_t)sizeof seed && seed)
    json_object_seed(seed);
  gopts g = {.root = DRV_RT_DEFAULT_ROOT};
  const char *log_format = "text";
  int i = 1;
  for (; i < argc; i++) {
    char *a = argv[i];
    if (a[0] != '-') break;
    const char *eq = strchr(a, '=');
    size_t n = eq ? (size_t)(eq - a) : strlen(a);
#define IS(name) (strlen(name) == n && !strncmp(a, name, n))
#define VAL() (eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL))
    if (IS("--root"))
      g.root = VAL();
    else if (IS("--log"))
      g.log = VAL();
    else if (IS("--log-format"))
      log_format = VAL();
    else if (IS("--debug"))
      g.debug = true;
    else if (IS("--systemd-cgroup"))
      g.systemd = true;
    /* rootless needs no switch here: the user namespace comes from the spec */
    else if (IS("--rootless"))
      (void)VAL();
    else if (IS("--version") || IS("-v")) {
      printf("drover-runtime version %s\nspec: 1.0.2\n", DROVER_VERSION);
      return 0;
    } else if (IS("--help") || IS("-h")) {
      usage(stdout);
      return 0;
    } else {
      fprintf(stderr, "drover runtime: unknown global option `%s`\n", a);
      return 2;
    }
    if (!g.root || !log_format) {
      fprintf(stderr, "drover runtime: option `%s` needs a value\n", a);
      return 2;
    }
#undef IS
#undef VAL
  }
  g.log_json = !strcmp(log_format, "json");
  if (g.log && g.log[0]) {
    if (drv_log_init(g.log, g.log_json, g.debug ? DRV_LOG_DEBUG : DRV_LOG_WARN) < 0)
      fprintf(stderr, "drover runtime: cannot open the log `%s`\n", g.log);
    else
      have_log = true;
  } else if (g.debug) {
    drv_log_set_level(DRV_LOG_DEBUG);
  }
  if (i >= argc) {
    usage(stderr);
    return 2;
  }
  verb = argv[i];
  int vc = argc - i - 1;
  char **vv = argv + i + 1;
  if (!strcmp(verb, "create")) return cmd_create_run(&g, vc, vv, false);
  if (!strcmp(verb, "run")) return cmd_create_run(&g, vc, vv, true);
  if (!strcmp(verb, "start")) return cmd_start(&g, vc, vv);
  if (!strcmp(verb, "state")) return cmd_state(&g, vc, vv);
  if (!strcmp(verb, "kill")) return cmd_kill(&g, vc, vv);
  if (!strcmp(verb, "delete")) return cmd_delete(&g, vc, vv);
  if (!strcmp(verb, "exec")) return cmd_exec(&g, vc, vv);
  if (!strcmp(verb, "list")) return cmd_list(&g, vc, vv);
  if (!strcmp(verb, "ps")) return cmd_ps(&g, vc, vv);
  if (!strcmp(verb, "pause")) return cmd_pause_resume(&g, vc, vv, true);
  if (!strcmp(verb, "resume")) return cmd_pause_resume(&g, vc, vv, false);
  if (!strcmp(verb, "update")) return cmd_update(&g, vc, vv);
  if (!strcmp(verb, "spec")) return cmd_spec(vc, vv);
  if (!strcmp(verb, "features")) return cmd_features();
  if (!strcmp(verb, DRV_RT_MONITOR_VERB) && vc == 2)
    return drv_rt_monitor_run(atoi(vv[0]), atoi(vv[1])) < 0 ? 1 : 0;
  if (!strcmp(verb, "help")) {
    usage(stdout);
    return 0;
  }
  fprintf(stderr, "drover runtime: unknown command `%s`\n", verb);
  return 2;
}
