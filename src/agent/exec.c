/* `kubectl exec` and `kubectl attach` on the agent: GET /exec/NS/POD/CONTAINER?command=…&
 * stdin=&stdout=&stderr=&tty= and /attach/NS/POD/CONTAINER?… upgraded to a WebSocket with
 * Kubernetes' channel protocol (wschan.h).
 *
 * exec runs the process through the runtime's exec (namespaces and cgroup of the container);
 * with tty=true on a pseudo-terminal whose master the runtime hands over.
 *
 * attach shows what the container writes from now on, read back from its CRI log (the pod's
 * sandbox writes it; interactive containers get unfinished lines at once). With stdin: true
 * in the container's spec, -i reaches its stdin: the sandbox holds it (the pipe's write end, or
 * the pty master with tty: true) and hands the agent a copy per session, so it outlives agent
 * restarts. stdinOnce: the sandbox lets go of it when the first session ends.
 *
 * Refusals that come after a valid handshake (container not running, -i without stdin: true,
 * a process that cannot start) are a Status on channel 3, as the API server sends them: kubectl
 * prints its message instead of falling back to SPDY. */
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
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/console.h"
#include "agent/crilog.h"
#include "agent/exec.h"
#include "agent/hserv.h"
#include "agent/internal.h"
#include "agent/sandbox.h"
#include "agent/wschan.h"
#include "common/buf.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/parse_bool.h"
#include "common/util.h"
#include "runtime/runtime.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

typedef struct exec_req {
  drv_agent *a;
  char *rt_id;
  json_t *args;
  bool want_stdin, want_stdout, want_stderr, tty;
  int sock;
  const char *extra;     /* bytes that came with the upgrade request */
  size_t n_extra;
  bool attach;           /* attach: the container's output as it is written */
  char *log_path;        /* attach: the current attempt's CRI log */
  char *ns, *pod, *ctr;
  char *pod_dir;         /* attach -i: the sandbox that holds the stdin */
  bool stdin_once;       /* attach: the container's stdinOnce */
  json_t *fail;          /* refused after the handshake: the Status to end with */
} exec_req;

static void exec_req_free(exec_req *r)
{
  free(r->rt_id);
  free(r->log_path);
  free(r->ns), free(r->pod), free(r->ctr);
  free(r->pod_dir);
  json_decref(r->args);
  json_decref(r->fail);
  free(r);
}

/* Sends the Status and closes the WebSocket; the HTTP server closes the socket afterwards. */
static void end_session(exec_req *r, drv_wschan *w, json_t *status)
{
  drv_wschan_finish(w, status);
  drv_wschan_free(w);
  exec_req_free(r);
}

static void close_fd(int *fd)
{
  if (*fd >= 0) close(*fd);
  *fd = -1;
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

/* Starts the WebSocket session of r; a request refused before the handshake (r->fail) ends it
 * at once with its Status, and false is returned. */
static bool session_open(exec_req *r, drv_wschan *w)
{
  drv_wschan_init(w, r->sock, r->extra, r->n_extra);
  if (!r->fail) return true;
  json_t *st = r->fail;
  r->fail = NULL;
  end_session(r, w, st);
  return false;
}

static void exec_session(exec_req *r)
{
  drv_wschan w;
  if (!session_open(r, &w)) return;
  int in[2] = {-1, -1}, out[2] = {-1, -1}, errp[2] = {-1, -1}, lsock = -1, master = -1;
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  char *console = NULL;
  drv_err err;
  pid_t pid = -1;
  bool ok = pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0 && pipe2(errp, O_CLOEXEC) == 0;
  if (!ok) drv_error(&err, errno, "exec: pipes");
  if (ok && r->tty && (lsock = drv_console_listen(r->a->rt_root, &console, &err)) < 0) ok = false;
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
    if (r->tty) o.console_socket = console;
    ok = drv_rt_exec(&o, &pid, &err) == 0;
    json_decref(proc);
  }
  if (ok && r->tty && drv_console_recv(lsock, 10000, &master, &err) < 0) {
    kill(pid, SIGKILL);
    int code;
    drv_err e2;
    drv_rt_wait(pid, &code, &e2);
    ok = false;
  }
  close_fd(&lsock);
  if (console) unlink(console);
  free(console);
  close_fd(&in[0]);
  close_fd(&out[1]);
  close_fd(&errp[1]);
  close_fd(&devnull);
  if (!ok) {
    close_fd(&in[1]);
    close_fd(&out[0]);
    close_fd(&errp[0]);
    _cleanup_free_ char *m = drv_asprintf("Internal error occurred: error executing command in container: %s", err.msg);
    end_session(r, &w, drv_wschan_status_failure(500, "InternalError", m));
    return;
  }
  if (master >= 0) {
    /* With a TTY, all output comes from the master and stdin goes to it. */
    close_fd(&out[0]);
    close_fd(&errp[0]);
    close_fd(&in[1]);
    out[0] = master;
    fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
    w.tty_fd = master;
    if (r->want_stdin) w.stdin_fd = master;
  } else if (r->want_stdin) {
    fcntl(in[1], F_SETFL, fcntl(in[1], F_GETFL) | O_NONBLOCK);
    w.stdin_fd = in[1];
  } else {
    close_fd(&in[1]);
  }
  int fds_open = (out[0] >= 0) + (errp[0] >= 0);
  drv_wschan_step(&w, 0, 0); /* input that came with the handshake */
  while (fds_open > 0 && !w.gone) {
    if (w.stdin_eof && in[1] >= 0) {
      close_fd(&in[1]); /* the client's EOF reaches the process */
      w.stdin_fd = -1;
    }
    struct pollfd p[4] = {{out[0], POLLIN, 0}, {errp[0], POLLIN, 0},
                          {w.sock, drv_wschan_sock_events(&w), 0},
                          {w.stdin_fd, drv_wschan_stdin_events(&w), 0}};
    if (poll(p, 4, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    char buf[32768];
    for (int i = 0; i < 2; i++) {
      if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t k = read(p[i].fd, buf, sizeof buf);
      if (k > 0) {
        drv_wschan_send(&w, i + 1, buf, (size_t)k);
      } else if (k == 0 || (errno != EINTR && errno != EAGAIN)) {
        close_fd(i == 0 ? &out[0] : &errp[0]);
        fds_open--;
      }
    }
    drv_wschan_step(&w, p[2].revents, p[3].revents);
  }
  if (w.gone) kill(pid, SIGKILL);
  int code = -1;
  if (drv_rt_wait(pid, &code, &err) < 0) code = -1;
  close_fd(&in[1]);
  close_fd(&out[0]);
  close_fd(&errp[0]);
  end_session(r, &w, drv_wschan_status_exit(code));
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

/* Attach: what the container writes from now on, stdout on channel 1 and stderr on 2, read back
 * from its CRI log, until it stops or the client leaves; with -i the client's input goes to the
 * stdin the sandbox holds. */
static void attach_session(exec_req *r)
{
  drv_wschan w;
  if (!session_open(r, &w)) return;
  int in = -1;
  drv_err err;
  if ((r->want_stdin || r->tty) && drv_sandbox_stdin(r->pod_dir, r->rt_id, &in, &err) < 0) {
    _cleanup_free_ char *m = drv_asprintf("Internal error occurred: attach to the stdin of container %s: %s",
                                          r->ctr, err.msg);
    end_session(r, &w, drv_wschan_status_failure(500, "InternalError", m));
    return;
  }
  if (in >= 0) {
    fcntl(in, F_SETFL, fcntl(in, F_GETFL) | O_NONBLOCK);
    if (r->want_stdin) w.stdin_fd = in;
    if (r->tty) w.tty_fd = in;
  }
  /* the log's directory: writes to the file, and the new file a rotation makes */
  int ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  _cleanup_free_ char *log_dir = drv_strdup(r->log_path);
  char *slash = strrchr(log_dir, '/');
  if (slash) *slash = '\0';
  if (ino >= 0 && inotify_add_watch(ino, log_dir, IN_MODIFY | IN_CREATE | IN_MOVED_TO) < 0) close_fd(&ino);
  FILE *f = fopen(r->log_path, "re");
  off_t off = 0;
  if (f && fseeko(f, 0, SEEK_END) == 0) off = ftello(f);
  drv_buf raw = DRV_BUF_INIT;
  long long quiet_since = drv_now_ms();
  bool released = false;
  while (!w.gone) {
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
      if (drv_crilog_parse(raw.data + pos, (size_t)(nl - (raw.data + pos)), &rec, &err) == 0 &&
          (rec.stream == 0 ? r->want_stdout : r->want_stderr)) {
        drv_buf msg = DRV_BUF_INIT;
        drv_buf_append(&msg, rec.msg, rec.msg_len);
        if (!rec.partial) drv_buf_putc(&msg, '\n');
        drv_wschan_send(&w, rec.stream + 1, msg.data, msg.len);
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
    if (w.stdin_eof && r->stdin_once && !released) {
      /* stdinOnce: the client's EOF is the container's */
      drv_sandbox_close_stdin(r->pod_dir, r->rt_id, &err);
      released = true;
      w.stdin_fd = -1;
      if (!r->tty) close_fd(&in);
    }
    struct pollfd p[3] = {{w.sock, drv_wschan_sock_events(&w), 0},
                          {w.stdin_fd, drv_wschan_stdin_events(&w), 0}, {ino, POLLIN, 0}};
    /* woken by the log growing (inotify), else every 200 ms to see whether it still runs */
    int n = poll(p, 3, got ? 0 : ino >= 0 ? 200 : 50);
    if (n < 0 && errno != EINTR) break;
    if (n > 0 && (p[2].revents & POLLIN)) {
      char ev[4096];
      while (read(ino, ev, sizeof ev) > 0) {}
    }
    drv_wschan_step(&w, n > 0 ? p[0].revents : 0, n > 0 ? p[1].revents : 0);
  }
  close_fd(&ino);
  if (f) fclose(f);
  drv_buf_free(&raw);
  close_fd(&in);
  if (r->want_stdin && r->stdin_once && !released)
    drv_sandbox_close_stdin(r->pod_dir, r->rt_id, &err);
  end_session(r, &w, NULL);
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
  json_t *args = json_array();
  for (size_t i = 0; i < c->n_args; i++)
    if (!strcmp(c->args[i].k, "command")) json_array_append_new(args, json_string(c->args[i].v));
  if (!attach && json_array_size(args) == 0) {
    json_decref(args);
    return plain(c, 400, "exec: no command given\n");
  }
  exec_req *r = drv_calloc(1, sizeof *r);
  r->a = a;
  r->args = args;
  r->attach = attach;
  r->ns = drv_strdup(ns), r->pod = drv_strdup(pod), r->ctr = drv_strdup(ctr);
  r->want_stdin = qbool(c, "stdin") || qbool(c, "input");
  r->want_stdout = qbool(c, "stdout") || qbool(c, "output");
  r->want_stderr = qbool(c, "stderr") || qbool(c, "error");
  r->tty = qbool(c, "tty");
  bool ctr_stdin = false, ctr_tty = false;
  pthread_mutex_lock(&a->lock);
  drv_pod *p = drv_agent_find_pod(a, ns, pod);
  for (size_t i = 0; p && i < p->n_ctrs; i++)
    if (!strcmp(p->ctrs[i].name, ctr) && p->ctrs[i].rt_id && p->ctrs[i].kind == DRV_CS_RUNNING) {
      r->rt_id = drv_strdup(p->ctrs[i].rt_id);
      r->log_path = drv_ctr_log_path(p, ctr, p->ctrs[i].attempt);
      r->pod_dir = drv_strdup(p->dir);
      ctr_stdin = drv_json_get_bool(p->ctrs[i].spec, "stdin", false);
      ctr_tty = drv_json_get_bool(p->ctrs[i].spec, "tty", false);
      r->stdin_once = drv_json_get_bool(p->ctrs[i].spec, "stdinOnce", false);
    }
  pthread_mutex_unlock(&a->lock);
  if (!r->rt_id) {
    /* kubelet's words for a container that is not running (kubectl users know them) */
    _cleanup_free_ char *m = drv_asprintf("Internal error occurred: unable to upgrade connection: "
                                          "container not found (\"%s\")", ctr);
    r->fail = drv_wschan_status_failure(500, "InternalError", m);
  } else if (attach && r->want_stdin && !ctr_stdin) {
    _cleanup_free_ char *m = drv_asprintf("cannot attach to the stdin of container %s: it was not started "
                                          "with stdin: true (attach without -i shows its output)", ctr);
    r->fail = drv_wschan_status_failure(400, "BadRequest", m);
  }
  /* attach: the terminal is the container's; exec -t asks for one of its own */
  if (attach) r->tty = ctr_tty;
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
  r->extra = c->extra;
  r->n_extra = c->n_extra;
  if (attach) attach_session(r);
  else exec_session(r);
}
