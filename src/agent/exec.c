/* `kubectl exec` on the agent: GET /exec/NS/POD/CONTAINER?command=…&stdin=&stdout=&stderr=
 * upgraded to a WebSocket with Kubernetes' channel protocol (v5.channel.k8s.io, falling back to
 * v4.channel.k8s.io): each binary message starts with a channel byte — 0 stdin, 1 stdout,
 * 2 stderr, 3 the final Status, 4 resize; v5 adds 255 = the client closed a channel. The process
 * runs through the runtime's exec (namespaces and cgroup of the container); with tty=true on a
 * pseudo-terminal whose master the runtime hands over (resize messages set its window size). */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/crilog.h"
#include "agent/exec.h"
#include "agent/hserv.h"
#include "agent/internal.h"
#include "common/buf.h"
#include "common/fs.h"
#include "common/parse_bool.h"
#include "common/util.h"
#include "runtime/runtime.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

typedef struct exec_req {
  drv_agent *a;
  char *rt_id;
  json_t *args;
  bool want_stdin, want_stdout, want_stderr, tty;
  bool v5;
  char *console_path;
  char *extra;
  size_t n_extra;
  int sock;
  bool attach;           /* attach: the container's output as it is written */
  char *log_path;        /* attach: the current attempt's CRI log */
  char *ns, *pod, *ctr;
} exec_req;

static void exec_req_free(exec_req *r)
{
  if (r->console_path) unlink(r->console_path);
  free(r->console_path);
  free(r->rt_id);
  free(r->log_path);
  free(r->ns), free(r->pod), free(r->ctr);
  json_decref(r->args);
  free(r->extra);
  free(r);
}

static int send_frame(int sock, int opcode, int channel, const void *data, size_t len)
{
  unsigned char hdr[16];
  size_t n = 0, plen = len + (channel >= 0 ? 1 : 0);
  hdr[n++] = (unsigned char)(0x80 | opcode);
  if (plen < 126) hdr[n++] = (unsigned char)plen;
  else if (plen < 65536) {
    hdr[n++] = 126;
    hdr[n++] = (unsigned char)(plen >> 8);
    hdr[n++] = (unsigned char)plen;
  } else {
    hdr[n++] = 127;
    for (int i = 7; i >= 0; i--) hdr[n++] = (unsigned char)((uint64_t)plen >> (8 * i));
  }
  if (channel >= 0) hdr[n++] = (unsigned char)channel;
  struct iovec iov[2] = {{hdr, n}, {(void *)data, len}};
  struct msghdr m = {.msg_iov = iov, .msg_iovlen = len ? 2 : 1};
  size_t total = n + len;
  while (total > 0) {
    ssize_t k = sendmsg(sock, &m, MSG_NOSIGNAL);
    if (k < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    total -= (size_t)k;
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
  }
  return 0;
}

/* Parses complete frames from in; calls back for each data payload. Returns bytes used, or -1
 * when the client closed the connection. */
typedef struct ws_state {
  int stdin_fd;
  int sock;
  int tty_fd; /* the pty master with a TTY: resize messages apply to it */
} ws_state;

static ssize_t ws_consume(ws_state *ws, unsigned char *in, size_t len)
{
  size_t pos = 0;
  for (;;) {
    if (len - pos < 2) return (ssize_t)pos;
    unsigned char *f = in + pos;
    int opcode = f[0] & 0x0f;
    bool masked = f[1] & 0x80;
    uint64_t plen = f[1] & 0x7f;
    size_t hl = 2;
    if (plen == 126) {
      if (len - pos < 4) return (ssize_t)pos;
      plen = ((uint64_t)f[2] << 8) | f[3];
      hl = 4;
    } else if (plen == 127) {
      if (len - pos < 10) return (ssize_t)pos;
      plen = 0;
      for (int i = 0; i < 8; i++) plen = (plen << 8) | f[2 + i];
      hl = 10;
    }
    if (masked) hl += 4;
    if (len - pos < hl + plen) return (ssize_t)pos;
    unsigned char *p = f + hl;
    if (masked)
      for (uint64_t i = 0; i < plen; i++) p[i] ^= f[hl - 4 + (i & 3)];
    if (opcode == 0x8) return -1;
    if (opcode == 0x9) send_frame(ws->sock, 0xA, -1, p, plen);
    if ((opcode == 0x2 || opcode == 0x1 || opcode == 0x0) && plen >= 1) {
      int ch = p[0];
      if (ch == 0 && ws->stdin_fd >= 0 && plen > 1) {
        if (drv_write_all(ws->stdin_fd, p + 1, plen - 1) < 0) {
          close(ws->stdin_fd);
          ws->stdin_fd = -1;
        }
      } else if (ch == 4 && ws->tty_fd >= 0 && plen > 1) {
        /* {"Width":W,"Height":H} */
        json_t *j = json_loadb((const char *)p + 1, plen - 1, 0, NULL);
        struct winsize wsz = {.ws_col = (unsigned short)json_integer_value(json_object_get(j, "Width")),
                              .ws_row = (unsigned short)json_integer_value(json_object_get(j, "Height"))};
        if (wsz.ws_col && wsz.ws_row) ioctl(ws->tty_fd, TIOCSWINSZ, &wsz);
        json_decref(j);
      } else if (ch == 255 && plen >= 2 && p[1] == 0 && ws->stdin_fd >= 0 && ws->stdin_fd != ws->tty_fd) {
        close(ws->stdin_fd);
        ws->stdin_fd = -1;
      }
    }
    pos += hl + plen;
  }
}

/* The container's env and working directory (from its bundle's config.json, as the agent
 * started it: image env + pod env), and TERM=xterm with a terminal, as kubelet's runtimes do. */
void drv_ctr_exec_env_cwd(drv_agent *a, const char *rt_id, bool tty, json_t *proc)
{
  drv_rt_state st = {0};
  drv_err e;
  json_t *cfg = NULL;
  if (drv_rt_state_get(a->rt_root, rt_id, &st, &e) == 0 && st.bundle) {
    _cleanup_free_ char *path = drv_asprintf("%s/config.json", st.bundle);
    cfg = json_load_file(path, 0, NULL);
  }
  drv_rt_state_clear(&st);
  json_t *cp = json_object_get(cfg, "process");
  json_t *env = json_array();
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(cp, "env"), i, v)
  {
    const char *kv = json_string_value(v);
    if (kv && !(tty && !strncmp(kv, "TERM=", 5))) json_array_append(env, v);
  }
  if (!json_object_get(cp, "env"))
    json_array_append_new(env, json_string("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
  if (tty) json_array_append_new(env, json_string("TERM=xterm"));
  json_object_set_new(proc, "env", env);
  const char *cwd = json_string_value(json_object_get(cp, "cwd"));
  if (cwd && *cwd) json_object_set_new(proc, "cwd", json_string(cwd));
  json_decref(cfg);
}

static void *exec_thread(void *arg)
{
  exec_req *r = arg;
  int sock = r->sock;
  int in[2] = {-1, -1}, out[2] = {-1, -1}, errp[2] = {-1, -1};
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  drv_err err;
  pid_t pid = -1;
  bool ok = pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0 && pipe2(errp, O_CLOEXEC) == 0;
  if (!ok) drv_error(&err, errno, "exec: pipes");
  int lsock = -1, master = -1;
  if (ok && r->tty) {
    /* The runtime hands the pty master over a unix socket (runc's console-socket protocol). */
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    r->console_path = drv_asprintf("%s/exec-%d-%p.sock", r->a->rt_root, getpid(), (void *)r);
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", r->console_path);
    lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lsock < 0 || strlen(r->console_path) >= sizeof sa.sun_path ||
        bind(lsock, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lsock, 1) < 0) {
      ok = false;
      drv_error(&err, errno, "exec: console socket `%s`", r->console_path);
    }
  }
  if (ok) {
    /* No user: the runtime gives the exec the container's (runAsUser, groups), never root. */
    json_t *proc = json_pack("{s:O, s:s, s:b}", "args", r->args, "cwd", "/", "terminal", r->tty);
    drv_ctr_exec_env_cwd(r->a, r->rt_id, r->tty, proc);
    drv_rt_exec_opts o;
    drv_rt_exec_opts_init(&o);
    o.root = r->a->rt_root;
    o.id = r->rt_id;
    o.process = proc;
    o.stdio[0] = r->want_stdin ? in[0] : devnull;
    o.stdio[1] = r->want_stdout ? out[1] : devnull;
    o.stdio[2] = r->want_stderr ? errp[1] : devnull;
    if (r->tty) o.console_socket = r->console_path;
    ok = drv_rt_exec(&o, &pid, &err) == 0;
    json_decref(proc);
  }
  if (ok && r->tty) {
    int c = accept4(lsock, NULL, NULL, SOCK_CLOEXEC);
    char b[8], cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {b, sizeof b};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
    struct cmsghdr *cm;
    if (c >= 0 && recvmsg(c, &m, MSG_CMSG_CLOEXEC) >= 0 && (cm = CMSG_FIRSTHDR(&m)) &&
        cm->cmsg_type == SCM_RIGHTS)
      memcpy(&master, CMSG_DATA(cm), sizeof master);
    if (c >= 0) close(c);
    if (master < 0) {
      kill(pid, SIGKILL);
      int st;
      waitpid(pid, &st, 0);
      ok = false;
      drv_error(&err, EIO, "exec: no terminal from the runtime");
    }
  }
  if (lsock >= 0) close(lsock);
  if (master >= 0) {
    /* With a TTY, all output comes from the master; stdin goes to it. */
    close(out[0]);
    out[0] = master;
    close(errp[0]);
    errp[0] = -1;
  }
  if (in[0] >= 0) close(in[0]);
  if (out[1] >= 0) close(out[1]);
  if (errp[1] >= 0) close(errp[1]);
  if (devnull >= 0) close(devnull);
  ws_state ws = {.stdin_fd = ok && r->want_stdin ? in[1] : -1, .sock = sock, .tty_fd = master};
  if (!(ok && r->want_stdin) && in[1] >= 0) close(in[1]);
  if (master >= 0) {
    if (ws.stdin_fd >= 0) close(ws.stdin_fd);
    ws.stdin_fd = r->want_stdin ? master : -1;
  }
  int code = -1;
  if (ok) {
    drv_buf inbuf = DRV_BUF_INIT;
    if (r->n_extra) drv_buf_append(&inbuf, r->extra, r->n_extra);
    int fds_open = master >= 0 ? 1 : 2;
    bool client_gone = false;
    while (fds_open > 0 && !client_gone) {
      if (inbuf.len) {
        ssize_t used = ws_consume(&ws, (unsigned char *)inbuf.data, inbuf.len);
        if (used < 0) break;
        memmove(inbuf.data, inbuf.data + used, inbuf.len - (size_t)used);
        inbuf.len -= (size_t)used;
      }
      struct pollfd p[3] = {{out[0], POLLIN, 0}, {errp[0], POLLIN, 0}, {sock, POLLIN, 0}};
      if (poll(p, 3, -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      char buf[32768];
      for (int i = 0; i < 2; i++) {
        if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        ssize_t k = read(p[i].fd, buf, sizeof buf);
        if (k > 0) {
          if (send_frame(sock, 0x2, i + 1, buf, (size_t)k) < 0) client_gone = true;
        } else if (k == 0 || errno != EINTR) {
          close(p[i].fd);
          if (i == 0) out[0] = -1;
          else errp[0] = -1;
          fds_open--;
        }
      }
      if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) {
        ssize_t k = recv(sock, buf, sizeof buf, 0);
        if (k <= 0) client_gone = true;
        else drv_buf_append(&inbuf, buf, (size_t)k);
      }
    }
    drv_buf_free(&inbuf);
    if (client_gone) kill(pid, SIGKILL);
    if (drv_rt_wait(pid, &code, &err) < 0) code = -1;
  }
  if (ws.stdin_fd >= 0 && ws.stdin_fd != master) close(ws.stdin_fd);
  if (out[0] >= 0) close(out[0]);
  if (errp[0] >= 0) close(errp[0]);
  char *status;
  if (!ok)
    status = drv_asprintf("{\"metadata\":{},\"status\":\"Failure\",\"message\":\"%s\",\"reason\":\"InternalError\",\"code\":500}",
                          err.msg);
  else if (code == 0)
    status = drv_strdup("{\"metadata\":{},\"status\":\"Success\"}");
  else
    status = drv_asprintf("{\"metadata\":{},\"status\":\"Failure\",\"message\":\"command terminated with "
                          "non-zero exit code: %d\",\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":"
                          "[{\"reason\":\"ExitCode\",\"message\":\"%d\"}]}}",
                          code, code);
  for (char *c = status; *c; c++)
    if (*c == '\n') *c = ' ';
  send_frame(sock, 0x2, 3, status, strlen(status));
  free(status);
  unsigned char close_code[2] = {0x03, 0xe8};
  send_frame(sock, 0x8, -1, close_code, 2);
  exec_req_free(r);
  return NULL;
}

static bool still_running(exec_req *r)
{
  drv_agent *a = r->a;
  bool running = false;
  pthread_mutex_lock(&a->lock);
  drv_pod *p = drv_agent_find_pod(a, r->ns, r->pod);
  for (size_t i = 0; p && i < p->n_ctrs; i++)
    if (!strcmp(p->ctrs[i].name, r->ctr) && p->ctrs[i].rt_id && !strcmp(p->ctrs[i].rt_id, r->rt_id))
      running = p->ctrs[i].kind == DRV_CS_RUNNING;
  pthread_mutex_unlock(&a->lock);
  return running;
}

/* Attach without stdin: what the container writes from now on, stdout on channel 1 and stderr
 * on 2, read back from its CRI log, until it stops or the client leaves. */
static void *attach_thread(void *arg)
{
  exec_req *r = arg;
  int sock = r->sock;
  FILE *f = fopen(r->log_path, "re");
  off_t off = 0;
  if (f && fseeko(f, 0, SEEK_END) == 0) off = ftello(f);
  drv_buf raw = DRV_BUF_INIT;
  long long quiet_since = drv_now_ms();
  bool gone = false;
  while (!gone) {
    struct stat st;
    if (!f) f = fopen(r->log_path, "re");
    if (f && fstat(fileno(f), &st) == 0 && st.st_size < off) off = 0; /* rotated */
    size_t got = 0;
    if (f && fseeko(f, off, SEEK_SET) == 0) {
      char buf[32768];
      got = fread(buf, 1, sizeof buf, f);
      off += (off_t)got;
      drv_buf_append(&raw, buf, got);
      clearerr(f);
    }
    size_t pos = 0;
    while (raw.data && pos < raw.len) {
      char *nl = memchr(raw.data + pos, '\n', raw.len - pos);
      if (!nl) break;
      drv_crilog_record rec;
      drv_err err;
      if (drv_crilog_parse(raw.data + pos, (size_t)(nl - (raw.data + pos)), &rec, &err) == 0) {
        drv_buf msg = DRV_BUF_INIT;
        drv_buf_append(&msg, rec.msg, rec.msg_len);
        if (!rec.partial) drv_buf_putc(&msg, '\n');
        if (send_frame(sock, 0x2, rec.stream + 1, msg.data, msg.len) < 0) gone = true;
        drv_buf_free(&msg);
      }
      pos = (size_t)(nl - raw.data) + 1;
    }
    if (pos) {
      memmove(raw.data, raw.data + pos, raw.len - pos);
      raw.len -= pos;
    }
    if (got) quiet_since = drv_now_ms();
    else if (!still_running(r) && drv_now_ms() - quiet_since > 300) break;
    struct pollfd p = {sock, POLLIN, 0};
    if (!got && poll(&p, 1, 100) > 0) {
      char b[4096];
      ssize_t k = recv(sock, b, sizeof b, 0);
      if (k <= 0 || ws_consume(&(ws_state){.stdin_fd = -1, .sock = sock, .tty_fd = -1}, (unsigned char *)b, (size_t)k) < 0)
        gone = true;
    }
  }
  if (f) fclose(f);
  drv_buf_free(&raw);
  if (!gone) {
    const char *ok = "{\"metadata\":{},\"status\":\"Success\"}";
    send_frame(sock, 0x2, 3, ok, strlen(ok));
    unsigned char close_code[2] = {0x03, 0xe8};
    send_frame(sock, 0x8, -1, close_code, 2);
  }
  exec_req_free(r);
  return NULL;
}

static void plain(drv_hreq *c, int code, const char *msg)
{
  drv_hreq_reply(c, code, "text/plain; charset=utf-8", msg, strlen(msg), NULL);
}

static bool qbool(drv_hreq *c, const char *k)
{
  return drv_parse_bool_true(drv_hreq_arg(c, k));
}

void drv_agent_serve_exec(drv_agent *a, drv_hreq *c, const char *rest, bool attach)
{
  char ns[256], pod[256], ctr[256];
  if (sscanf(rest, "%255[^/]/%255[^/]/%255[^/?]", ns, pod, ctr) != 3)
    return plain(c, 400, attach ? "expected /attach/NAMESPACE/POD/CONTAINER\n"
                                : "expected /exec/NAMESPACE/POD/CONTAINER\n");
  const char *upgrade = drv_hreq_header(c, "Upgrade");
  const char *key = drv_hreq_header(c, "Sec-WebSocket-Key");
  const char *protos = drv_hreq_header(c, "Sec-WebSocket-Protocol");
  if (!upgrade || strcasecmp(upgrade, "websocket") != 0 || !key)
    return plain(c, 400, "exec needs a WebSocket upgrade (v5.channel.k8s.io or v4.channel.k8s.io)\n");
  const char *proto = NULL;
  if (protos && strstr(protos, "v5.channel.k8s.io")) proto = "v5.channel.k8s.io";
  else if (protos && strstr(protos, "v4.channel.k8s.io")) proto = "v4.channel.k8s.io";
  else if (protos && strstr(protos, "channel.k8s.io")) proto = "channel.k8s.io";
  if (!proto) return plain(c, 400, "unsupported WebSocket subprotocol: want v5.channel.k8s.io or v4.channel.k8s.io\n");
  if (attach && (qbool(c, "stdin") || qbool(c, "tty")))
    return plain(c, 400, "attach: stdin and tty are not supported (containers run without an open "
                         "stdin); attach without -i/-t shows the output\n");
  json_t *args = json_array();
  for (size_t i = 0; i < c->n_args; i++)
    if (!strcmp(c->args[i].k, "command")) json_array_append_new(args, json_string(c->args[i].v));
  if (!attach && json_array_size(args) == 0) {
    json_decref(args);
    return plain(c, 400, "exec: no command given\n");
  }
  char *rt_id = NULL, *log_path = NULL;
  pthread_mutex_lock(&a->lock);
  drv_pod *p = drv_agent_find_pod(a, ns, pod);
  for (size_t i = 0; p && i < p->n_ctrs; i++)
    if (!strcmp(p->ctrs[i].name, ctr) && p->ctrs[i].rt_id && p->ctrs[i].kind == DRV_CS_RUNNING) {
      rt_id = drv_strdup(p->ctrs[i].rt_id);
      log_path = drv_ctr_log_path(p, ctr, p->ctrs[i].attempt);
    }
  pthread_mutex_unlock(&a->lock);
  if (!rt_id) {
    free(log_path);
    json_decref(args);
    _cleanup_free_ char *m = drv_asprintf("container %s is not running in pod %s/%s on this node\n", ctr, ns, pod);
    return plain(c, 404, m);
  }
  exec_req *r = drv_calloc(1, sizeof *r);
  r->a = a;
  r->rt_id = rt_id;
  r->args = args;
  r->attach = attach;
  r->log_path = log_path;
  r->ns = drv_strdup(ns), r->pod = drv_strdup(pod), r->ctr = drv_strdup(ctr);
  r->want_stdin = qbool(c, "stdin") || qbool(c, "input");
  r->want_stdout = qbool(c, "stdout") || qbool(c, "output");
  r->want_stderr = qbool(c, "stderr") || qbool(c, "error");
  r->v5 = !strcmp(proto, "v5.channel.k8s.io");
  r->tty = qbool(c, "tty");
  /* Sec-WebSocket-Accept = base64(SHA-1(key + GUID)). */
  _cleanup_free_ char *cat = drv_asprintf("%s" WS_GUID, key);
  unsigned char md[SHA_DIGEST_LENGTH];
  SHA1((const unsigned char *)cat, strlen(cat), md);
  unsigned char accept[64];
  EVP_EncodeBlock(accept, md, SHA_DIGEST_LENGTH);
  _cleanup_free_ char *hdrs = drv_asprintf("Upgrade: websocket\r\nSec-WebSocket-Accept: %s\r\n"
                                           "Sec-WebSocket-Protocol: %s\r\n", accept, proto);
  if (drv_hreq_upgrade(c, hdrs) < 0) {
    exec_req_free(r);
    return;
  }
  /* The connection's own thread runs the session; the server closes the socket after it. */
  r->sock = c->fd;
  if (c->n_extra) {
    r->extra = drv_malloc(c->n_extra);
    memcpy(r->extra, c->extra, c->n_extra);
    r->n_extra = c->n_extra;
  }
  if (attach) attach_thread(r);
  else exec_thread(r);
}
