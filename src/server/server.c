/* Server start and stop: the data dir (lock, certificates, tokens, encryption key,
 * kubeconfig), the store and the HTTP front. */
#include "server/server.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <dirent.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/util.h"
#include "api/rangealloc.h"
#include "server/internal.h"
#include "server/jwt.h"
#include "server/ops.h"
#include "server/pki.h"
#include "store/crypt.h"

/* Processes forked without exec from this one (container monitors started by the in-process
 * agent of `drover up`) must not keep the server's listening socket and data dir lock: a
 * restarted server could not bind or lock, and connections would queue on a socket nobody
 * accepts from. The child closes them right after fork. */
static int fork_close_fds[2] = {-1, -1};

/* Runs in the child right after fork: only raw system calls (no malloc). Besides the server's
 * own fds, every listening socket goes (the local agent's too): a forked child never accepts. */
static void close_in_child(void)
{
  for (size_t i = 0; i < DRV_ARRAY_LEN(fork_close_fds); i++)
    if (fork_close_fds[i] >= 0) close(fork_close_fds[i]);
  int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return;
  char buf[4096];
  long n;
  while ((n = syscall(SYS_getdents64, dir, buf, sizeof buf)) > 0) {
    for (long off = 0; off < n;) {
      struct dirent64 *d = (struct dirent64 *)(buf + off);
      off += d->d_reclen;
      int fd = 0;
      const char *p = d->d_name;
      if (*p < '0' || *p > '9') continue;
      while (*p >= '0' && *p <= '9') fd = fd * 10 + (*p++ - '0');
      if (fd < 3 || fd == dir) continue;
      int listening = 0;
      socklen_t len = sizeof listening;
      if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening) close(fd);
    }
  }
  close(dir);
}

static void register_fork_close(int slot, int fd)
{
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, drv_server_atfork_register);
  __atomic_store_n(&fork_close_fds[slot], fd, __ATOMIC_RELEASE);
}

void drv_server_atfork_register(void)
{
  pthread_atfork(NULL, NULL, close_in_child);
}

static int lock_dir(drv_server *s, drv_err *err)
{
  _cleanup_free_ char *path = drv_asprintf("%s/lock", s->data_dir);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return drv_error(err, errno, "open lock file `%s`", path);
  /* a POSIX record lock belongs to this process only: forked children never hold it */
  struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
  if (fcntl(fd, F_SETLK, &fl) < 0) {
    char pid[32] = "";
    ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
    pid[n > 0 ? n : 0] = 0;
    pid[strcspn(pid, "\n")] = 0;
    close(fd);
    return drv_error(err, 0, "data dir `%s` is in use by another drover%s%s%s", s->data_dir,
                     pid[0] ? " (pid " : "", pid, pid[0] ? ")" : "");
  }
  char pid[32];
  int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
  if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)n, 0) < 0) { /* informational only */
  }
  s->lock_fd = fd;
  register_fork_close(0, fd);
  return 0;
}

static char *b64(const char *data)
{
  size_t n = strlen(data);
  char *out = drv_malloc(4 * ((n + 2) / 3) + 1);
  EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)data, (int)n);
  return out;
}

static int write_kubeconfig(drv_server *s, const char *ca_pem, const char *token, drv_err *err)
{
  _cleanup_free_ char *ca = b64(ca_pem);
  _cleanup_free_ char *url = drv_server_url(s);
  _cleanup_buf_ drv_buf b = DRV_BUF_INIT;
  drv_buf_printf(&b,
                 "apiVersion: v1\n"
                 "kind: Config\n"
                 "clusters:\n"
                 "- name: drover\n"
                 "  cluster:\n"
                 "    server: %s\n"
                 "    certificate-authority-data: %s\n"
                 "users:\n"
                 "- name: admin\n"
                 "  user:\n"
                 "    token: %s\n"
                 "contexts:\n"
                 "- name: drover\n"
                 "  context:\n"
                 "    cluster: drover\n"
                 "    user: admin\n"
                 "    namespace: default\n"
                 "current-context: drover\n",
                 url, ca, token);
  return drv_write_file_atomic(s->kubeconfig, b.data, b.len, 0600, err);
}

char *drv_server_url(drv_server *s)
{
  return drv_asprintf("https://%s", s->server_addr);
}

const char *drv_server_kubeconfig(drv_server *s)
{
  return s->kubeconfig;
}

drv_store *drv_server_store(drv_server *s)
{
  return s->store;
}

int drv_server_start(const drv_server_opts *opts, drv_server **out, drv_err *err)
{
  drv_server *s = drv_calloc(1, sizeof *s);
  s->lock_fd = -1;
  s->opts = *opts;
  s->opts.listen = drv_strdup(opts->listen ? opts->listen : "127.0.0.1:6443");
  if (!s->opts.max_body) s->opts.max_body = 3 * 1024 * 1024;
  if (!s->opts.max_inflight) s->opts.max_inflight = 2000;
  if (s->opts.event_ttl_s <= 0) s->opts.event_ttl_s = 3600;
  if (s->opts.max_rps <= 0) s->opts.max_rps = 50000;
  s->tokens = s->opts.max_rps;
  s->rate_last_ns = drv_now_ns();
  s->start_ms = drv_now_ms();
  pthread_mutex_init(&s->rate_mu, NULL);
  s->data_dir = drv_strdup(opts->data_dir);
  s->opts.data_dir = s->data_dir;
  s->kubeconfig = drv_asprintf("%s/kubeconfig", s->data_dir);
  drv_pki pki = {0};
  _cleanup_free_ char *token = NULL;
  _cleanup_free_ char *proxy_tok = NULL;
  _cleanup_free_ char *keypath = drv_asprintf("%s/secrets.key", opts->data_dir);
  _cleanup_free_ char *sakey = drv_asprintf("%s/sa.key", opts->data_dir); /* signs SA tokens */
  pthread_mutex_init(&s->np_mu, NULL);
  pthread_mutex_init(&s->watch_mu, NULL);
  /* a bad address or range is refused before anything is written into the data dir */
  if (drv_http_check_listen(s->opts.listen, err) < 0) goto fail;
  if (drv_port_range_parse(opts->node_port_range ? opts->node_port_range : "30000-32767",
                           &s->np_first, &s->np_size, err) < 0) {
    drv_err_prefix(err, "--service-node-port-range");
    goto fail;
  }
  uint32_t svc_base, svc_size;
  if (drv_ipv4_cidr_range(opts->service_cidr ? opts->service_cidr : "10.96.0.0/12", &svc_base,
                          &svc_size, err) < 0) {
    drv_err_prefix(err, "--service-cluster-ip-range");
    goto fail;
  }
  s->svc_first_ip = svc_base + 1;
  s->svc_base = svc_base;
  s->svc_size = svc_size;
  if (drv_mkdir_p(s->data_dir, 0700, err) < 0) goto fail;
  if (lock_dir(s, err) < 0) goto fail;
  char host[128];
  snprintf(host, sizeof host, "%s", s->opts.listen);
  char *colon = strrchr(host, ':');
  if (colon) *colon = 0;
  if (drv_pki_ensure(s->data_dir, host, &pki, err) < 0) goto fail;
  s->cert_pem = drv_strdup(pki.cert_pem);
  s->key_pem = drv_strdup(pki.key_pem);
  static const char *const masters[] = {DRV_AUTH_MASTERS, NULL};
  token = drv_token_find(s->data_dir, "admin");
  if (!token && drv_token_create(s->data_dir, "admin", masters, &token, err) < 0) goto fail;
  proxy_tok = drv_token_find(s->data_dir, "system:apiserver");
  /* the token the server presents to node agents when it proxies logs and exec */
  if (!proxy_tok && drv_token_create(s->data_dir, "system:apiserver", masters, &proxy_tok, err) < 0) goto fail;
  if (drv_auth_open(s->data_dir, &s->auth, err) < 0) goto fail;
  if (drv_jwt_key_load(sakey, &s->sa_key, err) < 0) goto fail;
  if (drv_store_key_load(keypath, s->secret_key, err) < 0) goto fail;
  static const char *const enc[] = {"/core/secrets/", NULL};
  drv_store_opts so = {.dir = s->data_dir, .history = opts->history,
                       .encrypted_prefixes = enc, .encryption_key = s->secret_key,
                       .attrs_fn = drv_server_attrs, .attrs_free = drv_server_attrs_free};
  if (drv_store_open(&so, &s->store, err) < 0) goto fail;
  if (drv_metrics_new(&s->metrics) < 0) {
    drv_error(err, ENOMEM, "metrics");
    goto fail;
  }
  if (drv_op_bootstrap(s, err) < 0) goto fail;
  if (drv_server_namespace_defaults_all(s, err) < 0) goto fail;
  if (drv_server_rbac_bootstrap(s, err) < 0) goto fail;
  if (drv_authz_open(s->store, &s->authz, err) < 0) goto fail;
  if (drv_http_start(s, err) < 0) goto fail;
  register_fork_close(1, drv_accept_fd(s));
  /* after binding (the Endpoints name the port clients reach), before serving */
  if (drv_server_ensure_kubernetes_service(s, err) < 0) goto fail;
  if (drv_accept_start(s, err) < 0) goto fail;
  if (write_kubeconfig(s, pki.ca_pem, token, err) < 0) goto fail;
  if (drv_server_housekeeping_start(s) < 0) {
    drv_error(err, errno, "start the housekeeping thread");
    goto fail;
  }
  drv_pki_free(&pki);
  drv_log_info("server: serving on https://%s (store revision %llu, %zu objects, started in %lld ms)",
               s->server_addr, (unsigned long long)drv_store_revision(s->store),
               drv_store_count(s->store), drv_now_ms() - s->start_ms);
  *out = s;
  return 0;
fail:
  drv_pki_free(&pki);
  drv_server_stop(s);
  return -1;
}

void drv_server_stop(drv_server *s)
{
  if (!s) return;
  drv_server_housekeeping_stop(s);
  s->stopping = true;
  drv_watch_cancel_all(s);
  __atomic_store_n(&fork_close_fds[1], -1, __ATOMIC_RELEASE);
  /* exec/attach relays notice `stopping` within a second and let go of the server */
  for (int i = 0; i < 50 && __atomic_load_n(&s->relays, __ATOMIC_ACQUIRE) > 0; i++) usleep(100 * 1000);
  drv_http_stop(s);
  drv_authz_free(s->authz);
  drv_store_close(s->store);
  drv_metrics_free(s->metrics);
  drv_auth_free(s->auth);
  drv_jwt_key_free(s->sa_key);
  if (s->lock_fd >= 0) {
    __atomic_store_n(&fork_close_fds[0], -1, __ATOMIC_RELEASE);
    close(s->lock_fd);
  }
  free(s->cert_pem);
  if (s->key_pem) memset(s->key_pem, 0, strlen(s->key_pem));
  free(s->key_pem);
  free(s->kubeconfig);
  free(s->data_dir);
  free((char *)s->opts.listen);
  pthread_mutex_destroy(&s->rate_mu);
  pthread_mutex_destroy(&s->np_mu);
  pthread_mutex_destroy(&s->watch_mu);
  free(s);
}
