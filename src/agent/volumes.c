/* Pod volumes as kubelet makes them: emptyDir (node disk, or tmpfs for medium Memory),
 * configMap, secret, downwardAPI and projected content (service account tokens: satoken.c)
 * written with an atomic `..data` symlink swap (readers never see half a set; updates reach
 * running containers), fsGroup ownership,
 * and subPath mounts resolved inside their volume. Runs on the agent's worker thread only. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "agent/internal.h"
#include "agent/volwrite.h"
#include "api/quantity.h"
#include "api/recorder.h"
#include "common/buf.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"

/* A FailedMount Event is repeated at most this often per pod. */
#define EVENT_EVERY_MS 10000

typedef struct vfile {
  char *path;
  unsigned char *data;
  size_t len;
  int mode;
} vfile;

typedef struct payload {
  vfile *v;
  size_t n, cap;
} payload;

static void payload_free(payload *pl)
{
  for (size_t i = 0; i < pl->n; i++) free(pl->v[i].path), free(pl->v[i].data);
  free(pl->v);
  *pl = (payload){0};
}

/* A later file with the same path replaces an earlier one (projected sources in order). */
static void payload_add(payload *pl, const char *path, const void *data, size_t len, int mode)
{
  for (size_t i = 0; i < pl->n; i++)
    if (!strcmp(pl->v[i].path, path)) {
      free(pl->v[i].data);
      pl->v[i].data = drv_malloc(len + 1);
      memcpy(pl->v[i].data, data, len);
      pl->v[i].len = len;
      pl->v[i].mode = mode;
      return;
    }
  if (pl->n == pl->cap) pl->v = drv_realloc(pl->v, (pl->cap = pl->cap ? pl->cap * 2 : 8) * sizeof *pl->v);
  vfile *f = &pl->v[pl->n++];
  f->path = drv_strdup(path);
  f->data = drv_malloc(len + 1);
  memcpy(f->data, data, len);
  f->len = len;
  f->mode = mode;
}

static int cmp_vfile(const void *x, const void *y)
{
  return strcmp(((const vfile *)x)->path, ((const vfile *)y)->path);
}

static bool has_dotdot(const char *path)
{
  for (const char *s = path; *s;) {
    size_t n = strcspn(s, "/");
    if (n == 2 && !strncmp(s, "..", 2)) return true;
    s += n;
    while (*s == '/') s++;
  }
  return false;
}

/* A path inside a volume: relative, no `..` element, not starting with `..` (kubelet's own
 * names start so). */
static const char *bad_rel_path(const char *path)
{
  if (!*path) return "must not be empty";
  if (path[0] == '/') return "must be a relative path";
  if (has_dotdot(path)) return "must not contain '..'";
  if (!strncmp(path, "..", 2)) return "must not start with '..'";
  return NULL;
}

static unsigned char *b64_decode(const char *s, size_t *len)
{
  size_t n = strlen(s);
  unsigned char *out = drv_malloc(n / 4 * 3 + 4);
  if (n % 4) {
    free(out);
    return NULL;
  }
  int l = n ? EVP_DecodeBlock(out, (const unsigned char *)s, (int)n) : 0;
  if (l < 0) {
    free(out);
    return NULL;
  }
  for (size_t k = n; k > 0 && s[k - 1] == '=' && l > 0; k--) l--; /* DecodeBlock counts padding */
  *len = (size_t)l;
  out[l] = 0;
  return out;
}

/* ---- ConfigMaps and Secrets, shared by the pods of one sync pass ---- */

/* A ConfigMap or Secret changed (on the watch thread): the pods that mount one are due now. */
static void sources_changed(void *ud)
{
  drv_agent *a = ud;
  pthread_mutex_lock(&a->lock);
  for (size_t i = 0; i < a->pods.n; i++)
    if (a->pods.v[i]->vols || !a->pods.v[i]->vols_ready) a->pods.v[i]->next_sync_ms = 0;
  a->wake = true;
  pthread_cond_broadcast(&a->cond);
  pthread_mutex_unlock(&a->lock);
}

/* 0 with *out, 1 when it does not exist, -1 on error. */
static int get_source(drv_agent *a, const char *ns, bool secret, const char *name, json_t **out,
                      drv_err *err)
{
  if (!a->volsrc) a->volsrc = drv_volsrc_new(a->api, sources_changed, a);
  return drv_volsrc_get(a->volsrc, ns, secret, name, out, err);
}

/* A ConfigMap's (data, binaryData) or Secret's (data, base64) keys as files: all of them, or
 * the items asked for. obj NULL: an optional object that does not exist (nothing). */
static int keys_payload(payload *pl, const json_t *obj, bool secret, const json_t *src, int mode,
                        bool optional, drv_err *err)
{
  if (!obj) return 0;
  json_t *data = json_object_get(obj, "data");
  json_t *bin = secret ? NULL : json_object_get(obj, "binaryData");
  json_t *items = json_object_get(src, "items");
  const char *key;
  json_t *v;
  if (!json_array_size(items)) {
    for (int pass = 0; pass < 2; pass++)
      json_object_foreach(pass ? bin : data, key, v)
      {
        if (bad_rel_path(key) || strchr(key, '/')) continue; /* not a file name: as kubelet skips */
        const char *s = json_string_value(v);
        if (!s) continue;
        if (secret || pass) {
          size_t n;
          _cleanup_free_ unsigned char *d = b64_decode(s, &n);
          if (!d) return drv_error(err, 0, "%s key %s is not valid base64", secret ? "secret" : "configmap", key);
          payload_add(pl, key, d, n, mode);
        } else {
          payload_add(pl, key, s, strlen(s), mode);
        }
      }
    return 0;
  }
  size_t i;
  json_t *it;
  json_array_foreach(items, i, it)
  {
    const char *k = json_string_value(json_object_get(it, "key"));
    const char *path = json_string_value(json_object_get(it, "path"));
    if (!k || !path) return drv_error(err, 0, "items[%zu]: needs key and path", i);
    const char *why = bad_rel_path(path);
    if (why) return drv_error(err, 0, "items[%zu].path `%s`: %s", i, path, why);
    json_t *m = json_object_get(it, "mode");
    int fmode = json_is_integer(m) ? (int)json_integer_value(m) : mode;
    const char *s = json_string_value(json_object_get(data, k));
    bool b64 = secret;
    if (!s && bin && (s = json_string_value(json_object_get(bin, k)))) b64 = true;
    if (!s) {
      if (optional) continue;
      return drv_error(err, 0, "%s references non-existent %s key: %s", secret ? "secret" : "configmap",
                       secret ? "secret" : "config", k);
    }
    if (b64) {
      size_t n;
      _cleanup_free_ unsigned char *d = b64_decode(s, &n);
      if (!d) return drv_error(err, 0, "%s key %s is not valid base64", secret ? "secret" : "configmap", k);
      payload_add(pl, path, d, n, fmode);
    } else {
      payload_add(pl, path, s, strlen(s), fmode);
    }
  }
  return 0;
}

/* configMap or secret source (a volume's, or a projected one's) into pl. */
static int object_payload(drv_agent *a, drv_pod *p, bool secret, const json_t *src, int mode,
                          payload *pl, drv_err *err)
{
  const char *name = json_string_value(json_object_get(src, secret ? "secretName" : "name"));
  if (!name && secret) name = json_string_value(json_object_get(src, "name")); /* projected */
  if (!name || !*name) return drv_error(err, 0, "%s: needs a name", secret ? "secret" : "configMap");
  bool optional = json_is_true(json_object_get(src, "optional"));
  json_t *obj = NULL;
  int r = get_source(a, p->ns, secret, name, &obj, err);
  if (r < 0) return -1;
  if (r == 1 && !optional) return drv_error(err, 0, "%s \"%s\" not found", secret ? "secret" : "configmap", name);
  r = keys_payload(pl, obj, secret, src, mode, optional, err);
  json_decref(obj);
  return r;
}

/* ---- downward API ---- */

/* Go's %q of s, as kubelet formats label and annotation values. */
static void go_quote(drv_buf *b, const char *s)
{
  drv_buf_putc(b, '"');
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    switch (*c) {
    case '"': drv_buf_puts(b, "\\\""); break;
    case '\\': drv_buf_puts(b, "\\\\"); break;
    case '\n': drv_buf_puts(b, "\\n"); break;
    case '\t': drv_buf_puts(b, "\\t"); break;
    case '\r': drv_buf_puts(b, "\\r"); break;
    case '\a': drv_buf_puts(b, "\\a"); break;
    case '\b': drv_buf_puts(b, "\\b"); break;
    case '\f': drv_buf_puts(b, "\\f"); break;
    case '\v': drv_buf_puts(b, "\\v"); break;
    default:
      if (*c < 0x20 || *c == 0x7f) drv_buf_printf(b, "\\x%02x", *c);
      else drv_buf_putc(b, (char)*c);
    }
  }
  drv_buf_putc(b, '"');
}

static int cmp_str(const void *x, const void *y)
{
  return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* key="value" lines sorted by key, as kubelet writes metadata.labels and .annotations. */
static char *format_map(const json_t *m)
{
  size_t n = json_object_size(m), i = 0;
  const char **keys = drv_calloc(n + 1, sizeof *keys);
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)m, k, v) keys[i++] = k;
  qsort(keys, n, sizeof *keys, cmp_str);
  drv_buf b = DRV_BUF_INIT;
  drv_buf_puts(&b, "");
  for (i = 0; i < n; i++) {
    if (i) drv_buf_putc(&b, '\n');
    drv_buf_puts(&b, keys[i]);
    drv_buf_putc(&b, '=');
    go_quote(&b, json_string_value(json_object_get(m, keys[i])) ?: "");
  }
  free(keys);
  return drv_buf_steal(&b);
}

static const json_t *container_named(drv_pod *p, const char *name)
{
  const char *lists[] = {"spec.containers", "spec.initContainers"};
  for (int l = 0; l < 2; l++) {
    size_t i;
    json_t *c;
    json_array_foreach(drv_json_get(p->obj, lists[l]), i, c)
      if (!strcmp(json_string_value(json_object_get(c, "name")) ?: "", name)) return c;
  }
  return NULL;
}

/* The node's allocatable amount of cpu (milli), memory or ephemeral-storage (bytes): what a
 * container without a limit may use. */
static int64_t node_allocatable(drv_agent *a, const char *what)
{
  if (!strcmp(what, "cpu")) return (int64_t)sysconf(_SC_NPROCESSORS_ONLN) * 1000;
  if (!strcmp(what, "memory")) {
    struct sysinfo si;
    sysinfo(&si);
    int64_t m = (int64_t)si.totalram * si.mem_unit;
    return m > (100 << 20) ? m - (100 << 20) : m; /* as the Node reports it */
  }
  struct statvfs vfs;
  if (!strcmp(what, "ephemeral-storage") && statvfs(a->data_dir, &vfs) == 0) {
    int64_t d = (int64_t)vfs.f_blocks * (int64_t)vfs.f_frsize;
    return d - d / 10;
  }
  return 0;
}

int drv_resource_field_value(drv_agent *a, drv_pod *p, const json_t *ctr, const json_t *ref,
                             char **out, drv_err *err)
{
  const char *res = json_string_value(json_object_get(ref, "resource"));
  const char *cname = json_string_value(json_object_get(ref, "containerName"));
  if (cname && *cname) {
    ctr = container_named(p, cname);
    if (!ctr) return drv_error(err, 0, "resourceFieldRef: container %s not found in the pod", cname);
  }
  if (!ctr) return drv_error(err, 0, "resourceFieldRef: containerName is required here");
  if (!res) return drv_error(err, 0, "resourceFieldRef: resource is required");
  bool lim = !strncmp(res, "limits.", 7), req = !strncmp(res, "requests.", 9);
  const char *what = lim ? res + 7 : req ? res + 9 : "";
  bool cpu = !strcmp(what, "cpu");
  if (!(lim || req) || !(cpu || !strcmp(what, "memory") || !strcmp(what, "ephemeral-storage") ||
                         !strncmp(what, "hugepages-", 10)))
    return drv_error(err, 0, "unsupported container resource : %s", res);
  const char *q = json_string_value(json_object_get(drv_json_get(ctr, lim ? "resources.limits" : "resources.requests"), what));
  /* Requests default to limits (as the API server defaults them); a missing limit is the
   * node's allocatable amount. */
  if (!q && req) q = json_string_value(json_object_get(drv_json_get(ctr, "resources.limits"), what));
  int64_t v;
  if (q) {
    v = cpu ? drv_quantity_parse_milli(q) : drv_quantity_parse_value(q);
    if (v < 0) return drv_error(err, 0, "resourceFieldRef %s: `%s` is not a quantity", res, q);
  } else {
    v = lim && strncmp(what, "hugepages-", 10) ? node_allocatable(a, what) : 0;
  }
  const char *dv = json_string_value(json_object_get(ref, "divisor"));
  int64_t d = dv && *dv ? (cpu ? drv_quantity_parse_milli(dv) : drv_quantity_parse_value(dv)) : cpu ? 1000 : 1;
  if (d <= 0) return drv_error(err, 0, "resourceFieldRef %s: divisor `%s` is not a positive quantity", res, dv);
  *out = drv_asprintf("%lld", (long long)((v + d - 1) / d)); /* rounded up, as kubelet */
  return 0;
}

/* A fieldRef's value for a downward API file: NULL with err when unsupported. */
static char *field_file(drv_pod *p, const char *field, drv_err *err)
{
  if (!strcmp(field, "metadata.name")) return drv_strdup(p->name);
  if (!strcmp(field, "metadata.namespace")) return drv_strdup(p->ns);
  if (!strcmp(field, "metadata.uid")) return drv_strdup(p->uid);
  if (!strcmp(field, "metadata.labels")) return format_map(drv_json_get(p->obj, "metadata.labels"));
  if (!strcmp(field, "metadata.annotations")) return format_map(drv_json_get(p->obj, "metadata.annotations"));
  const char *pre[] = {"metadata.labels['", "metadata.annotations['"};
  for (int i = 0; i < 2; i++) {
    size_t pl = strlen(pre[i]), fl = strlen(field);
    if (!strncmp(field, pre[i], pl) && fl > pl + 2 && !strcmp(field + fl - 2, "']")) {
      _cleanup_free_ char *k = drv_strndup(field + pl, fl - pl - 2);
      const char *v = json_string_value(json_object_get(drv_json_get(p->obj, i ? "metadata.annotations" : "metadata.labels"), k));
      return drv_strdup(v ? v : "");
    }
  }
  drv_error(err, 0, "unsupported fieldPath: %s", field);
  return NULL;
}

static int downward_payload(drv_agent *a, drv_pod *p, const json_t *src, int mode, payload *pl,
                            drv_err *err)
{
  size_t i;
  json_t *it;
  json_array_foreach(json_object_get(src, "items"), i, it)
  {
    const char *path = json_string_value(json_object_get(it, "path"));
    if (!path) return drv_error(err, 0, "downwardAPI items[%zu]: needs a path", i);
    const char *why = bad_rel_path(path);
    if (why) return drv_error(err, 0, "downwardAPI items[%zu].path `%s`: %s", i, path, why);
    json_t *m = json_object_get(it, "mode");
    int fmode = json_is_integer(m) ? (int)json_integer_value(m) : mode;
    const char *field = drv_json_get_str(it, "fieldRef.fieldPath");
    json_t *rf = json_object_get(it, "resourceFieldRef");
    _cleanup_free_ char *val = NULL;
    if (field) {
      if (!(val = field_file(p, field, err))) return -1;
    } else if (rf) {
      if (drv_resource_field_value(a, p, NULL, rf, &val, err) < 0) return -1;
    } else {
      return drv_error(err, 0, "downwardAPI items[%zu]: needs fieldRef or resourceFieldRef", i);
    }
    payload_add(pl, path, val, strlen(val), fmode);
  }
  return 0;
}

static int mode_of(const json_t *src)
{
  json_t *m = json_object_get(src, "defaultMode");
  return json_is_integer(m) ? (int)json_integer_value(m) : 0644;
}

/* A projected serviceAccountToken source: the pod's bound token (satoken.c). */
static int token_payload(drv_agent *a, drv_pod *p, const json_t *src, int mode, payload *pl, drv_err *err)
{
  const char *path = json_string_value(json_object_get(src, "path"));
  const char *why = path ? bad_rel_path(path) : "is required";
  if (why) return drv_error(err, 0, "serviceAccountToken.path `%s`: %s", path ? path : "", why);
  const char *tok;
  long long issued;
  if (drv_pod_sa_token(a, p, src, &tok, &issued, err) < 0) return -1;
  payload_add(pl, path, tok, strlen(tok), mode);
  return 0;
}

/* What a volume holds now, from the server's objects and the pod. */
static int build_payload(drv_agent *a, drv_pod *p, const json_t *vol, payload *pl, drv_err *err)
{
  json_t *s;
  if ((s = json_object_get(vol, "configMap"))) return object_payload(a, p, false, s, mode_of(s), pl, err);
  if ((s = json_object_get(vol, "secret"))) return object_payload(a, p, true, s, mode_of(s), pl, err);
  if ((s = json_object_get(vol, "downwardAPI"))) return downward_payload(a, p, s, mode_of(s), pl, err);
  s = json_object_get(vol, "projected");
  int mode = mode_of(s);
  size_t i;
  json_t *src;
  json_array_foreach(json_object_get(s, "sources"), i, src)
  {
    json_t *x;
    int r = 0;
    if ((x = json_object_get(src, "configMap"))) r = object_payload(a, p, false, x, mode, pl, err);
    else if ((x = json_object_get(src, "secret"))) r = object_payload(a, p, true, x, mode, pl, err);
    else if ((x = json_object_get(src, "downwardAPI"))) r = downward_payload(a, p, x, mode, pl, err);
    else if ((x = json_object_get(src, "serviceAccountToken"))) r = token_payload(a, p, x, mode, pl, err);
    else r = drv_error(err, 0, "projected sources[%zu]: unsupported source", i);
    if (r < 0) return -1;
  }
  return 0;
}

/* ---- the atomic writer ---- */

/* kubelet's ownership for fsGroup: group fsGroup, group-readable (read-only volumes) or
 * read-write, directories setgid and searchable. Symlinks only change group. */
static void own_at(int dfd, const char *name, int fsgid, bool ro)
{
  struct stat st;
  if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) return;
  if (fchownat(dfd, name, (uid_t)-1, (gid_t)fsgid, AT_SYMLINK_NOFOLLOW) < 0)
    drv_log_debug("fsGroup: chown `%s`: %s", name, strerror(errno));
  if (S_ISLNK(st.st_mode)) return;
  mode_t mask = ro ? 0440 : 0660;
  if (S_ISDIR(st.st_mode)) mask |= S_ISGID | 0110;
  fchmodat(dfd, name, (st.st_mode & 07777) | mask, 0);
}

static void own_tree(int dfd, int fsgid, bool ro)
{
  _cleanup_close_ int fd = dup(dfd);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  if (!d) return;
  fd = -1;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    own_at(dirfd(d), de->d_name, fsgid, ro);
    if (de->d_type == DT_DIR) {
      _cleanup_close_ int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub >= 0) own_tree(sub, fsgid, ro);
    }
  }
  closedir(d);
}

/* Creates path's parent directories under dfd (no symlinks followed); the parent's fd. */
static int open_parent(int dfd, const char *path, const char **base, drv_err *err)
{
  int cur = dup(dfd);
  if (cur < 0) return drv_error(err, errno, "dup");
  _cleanup_free_ char *copy = drv_strdup(path);
  char *s = copy, *slash;
  while ((slash = strchr(s, '/'))) {
    *slash = 0;
    if (*s) {
      if (mkdirat(cur, s, 0755) < 0 && errno != EEXIST) {
        close(cur);
        return drv_error(err, errno, "mkdir `%s`", path);
      }
      int next = openat(cur, s, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      close(cur);
      if (next < 0) return drv_error(err, errno, "open the directory of `%s`", path);
      cur = next;
    }
    s = slash + 1;
  }
  *base = path + (s - copy);
  return cur;
}

/* The first path element of path, into buf. */
static const char *top_name(const char *path, char *buf, size_t n)
{
  snprintf(buf, n, "%.*s", (int)strcspn(path, "/"), path);
  return buf;
}

/* Writes pl into dir as kubelet's AtomicWriter: a new `..<timestamp>` directory, the
 * `..data` symlink swapped to it by rename, then top-level symlinks `name -> ..data/name`
 * added and the ones no longer wanted removed, then the old directory. */
static int atomic_write(const char *dir, const payload *pl, int fsgid, drv_err *err)
{
  _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0) return drv_error(err, errno, "open `%s`", dir);
  char old[256] = "";
  ssize_t ol = readlinkat(dfd, "..data", old, sizeof old - 1);
  if (ol > 0) old[ol] = 0;
  else old[0] = 0;
  char ts[96];
  for (int tries = 0;; tries++) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    char t[40];
    strftime(t, sizeof t, "%Y_%m_%d_%H_%M_%S", &tm);
    snprintf(ts, sizeof ts, "..%s.%09ld", t, now.tv_nsec);
    if (mkdirat(dfd, ts, 0755) == 0) break;
    if (errno != EEXIST || tries > 100) return drv_error(err, errno, "mkdir `%s/%s`", dir, ts);
  }
  _cleanup_close_ int tfd = openat(dfd, ts, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (tfd < 0) return drv_error(err, errno, "open `%s/%s`", dir, ts);
  fchmod(tfd, 0755); /* whatever the umask took away */
  for (size_t i = 0; i < pl->n; i++) {
    const vfile *f = &pl->v[i];
    const char *base = f->path;
    const char *why = bad_rel_path(f->path);
    if (why) {
      drv_error(err, EINVAL, "file path `%s`: %s", f->path, why);
      goto fail;
    }
    int pfd = open_parent(tfd, f->path, &base, err);
    if (pfd < 0) goto fail;
    int fd = openat(pfd, base, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 || drv_write_all(fd, f->data, f->len) < 0 || fchmod(fd, (mode_t)(f->mode & 0777)) < 0) {
      drv_error(err, errno, "write `%s`", f->path);
      if (fd >= 0) close(fd);
      close(pfd);
      goto fail;
    }
    close(fd);
    close(pfd);
  }
  if (fsgid >= 0) {
    own_tree(tfd, fsgid, true);
    own_at(dfd, ts, fsgid, true);
  }
  unlinkat(dfd, "..data_tmp", 0);
  if (symlinkat(ts, dfd, "..data_tmp") < 0 || renameat(dfd, "..data_tmp", dfd, "..data") < 0) {
    drv_error(err, errno, "swap `%s/..data`", dir);
    goto fail;
  }
  /* User-visible names: one symlink per top-level element. */
  char name[256], lk[512];
  for (size_t i = 0; i < pl->n; i++) {
    top_name(pl->v[i].path, name, sizeof name);
    snprintf(lk, sizeof lk, "..data/%s", name);
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) continue;
    if (symlinkat(lk, dfd, name) < 0) return drv_error(err, errno, "symlink `%s/%s`", dir, name);
  }
  /* Names the new set no longer has (from the old directory's top level). */
  if (old[0] && strcmp(old, ts)) {
    _cleanup_close_ int ofd = openat(dfd, old, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d = ofd >= 0 ? fdopendir(ofd) : NULL;
    if (d) ofd = -1;
    struct dirent *de;
    while (d && (de = readdir(d))) {
      if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2]))) continue;
      bool keep = false;
      for (size_t i = 0; i < pl->n && !keep; i++) keep = !strcmp(top_name(pl->v[i].path, name, sizeof name), de->d_name);
      struct stat st;
      if (!keep && fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
        unlinkat(dfd, de->d_name, 0);
    }
    if (d) closedir(d);
  }
  /* Older sets go; the one just replaced stays until the next write, so a reader that resolved
   * `..data` a moment before the swap still finds its files. */
  {
    _cleanup_close_ int lfd = dup(dfd);
    DIR *d = lfd >= 0 ? fdopendir(lfd) : NULL;
    if (d) lfd = -1;
    struct dirent *de;
    while (d && (de = readdir(d))) {
      const char *n = de->d_name;
      struct stat st;
      if (strncmp(n, "..", 2) || !n[2] || !strcmp(n, "..data") || !strcmp(n, ts) || !strcmp(n, old) ||
          fstatat(dfd, n, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
        continue;
      _cleanup_free_ char *op = drv_asprintf("%s/%s", dir, n);
      drv_err e2;
      drv_rm_rf(op, &e2);
    }
    if (d) closedir(d);
  }
  if (fsgid >= 0) {
    own_at(dfd, "..data", fsgid, true);
    for (size_t i = 0; i < pl->n; i++) own_at(dfd, top_name(pl->v[i].path, name, sizeof name), fsgid, true);
  }
  return 0;
fail:;
  _cleanup_free_ char *tp = drv_asprintf("%s/%s", dir, ts);
  drv_err e3;
  drv_rm_rf(tp, &e3);
  return -1;
}

int drv_vol_write(const char *dir, const drv_vol_file *files, size_t n, int fsgid, drv_err *err)
{
  payload pl = {0};
  for (size_t i = 0; i < n; i++) payload_add(&pl, files[i].path, files[i].data, files[i].len, files[i].mode);
  int r = atomic_write(dir, &pl, fsgid, err);
  payload_free(&pl);
  return r;
}

char *drv_vol_format_map(const json_t *m)
{
  return format_map(m);
}

static char *payload_digest(payload *pl, int fsgid)
{
  qsort(pl->v, pl->n, sizeof *pl->v, cmp_vfile);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
  char hdr[64];
  snprintf(hdr, sizeof hdr, "g%d;", fsgid);
  EVP_DigestUpdate(ctx, hdr, strlen(hdr));
  for (size_t i = 0; i < pl->n; i++) {
    snprintf(hdr, sizeof hdr, ";%o;%zu;", pl->v[i].mode, pl->v[i].len);
    EVP_DigestUpdate(ctx, pl->v[i].path, strlen(pl->v[i].path) + 1);
    EVP_DigestUpdate(ctx, hdr, strlen(hdr));
    EVP_DigestUpdate(ctx, pl->v[i].data, pl->v[i].len);
  }
  unsigned char md[32];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx, md, &n);
  EVP_MD_CTX_free(ctx);
  char *hex = drv_malloc(2 * n + 1);
  for (unsigned int i = 0; i < n; i++) sprintf(hex + 2 * i, "%02x", md[i]);
  return hex;
}

/* ---- volume directories ---- */

static bool is_mountpoint(const char *path)
{
  struct stat st, pst;
  _cleanup_free_ char *parent = drv_asprintf("%s/..", path);
  if (lstat(path, &st) < 0 || stat(parent, &pst) < 0) return false;
  return st.st_dev != pst.st_dev;
}

/* A tmpfs at dir (kept when one is there already: containers hold it). */
static int ensure_tmpfs(const char *dir, const char *size, drv_err *err)
{
  if (drv_mkdir_p(dir, 0755, err) < 0) return -1;
  struct statfs sf;
  if (is_mountpoint(dir) && statfs(dir, &sf) == 0 && sf.f_type == TMPFS_MAGIC) return 0;
  _cleanup_free_ char *opts = size ? drv_asprintf("mode=1777,size=%s", size) : drv_strdup("mode=1777");
  if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
    return drv_error(err, errno, "mount a tmpfs on `%s`", dir);
  return 0;
}

char *drv_pod_volume_dir(drv_pod *p, const char *name)
{
  return drv_asprintf("%s/volumes/%s", p->dir, name);
}

static int fs_group(drv_pod *p)
{
  json_t *g = drv_json_get(p->obj, "spec.securityContext.fsGroup");
  return json_is_integer(g) && json_integer_value(g) >= 0 ? (int)json_integer_value(g) : -1;
}

static int empty_dir(drv_pod *p, const json_t *vol, const char *dir, drv_err *err)
{
  const char *medium = drv_json_get_str(vol, "emptyDir.medium");
  if (medium && !strcmp(medium, "Memory")) {
    const char *lim = drv_json_get_str(vol, "emptyDir.sizeLimit");
    char size[32] = "";
    if (lim) {
      int64_t b = drv_quantity_parse_value(lim);
      if (b <= 0) return drv_error(err, EINVAL, "emptyDir.sizeLimit `%s` is not a positive quantity", lim);
      snprintf(size, sizeof size, "%lld", (long long)b);
    }
    if (ensure_tmpfs(dir, lim ? size : NULL, err) < 0) return -1;
  } else if (medium && *medium) {
    return drv_error(err, EINVAL, "emptyDir.medium `%s` is not supported (\"\" or Memory)", medium);
  } else if (drv_mkdir_p(dir, 0777, err) < 0) {
    return -1;
  }
  chmod(dir, 0777); /* writable by any user of the pod, as kubelet makes it */
  int g = fs_group(p);
  if (g >= 0) {
    if (chown(dir, (uid_t)-1, (gid_t)g) < 0) return drv_error(err, errno, "fsGroup: chown `%s`", dir);
    chmod(dir, 0777 | S_ISGID);
  }
  return 0;
}

/* hostPath `type` as kubelet checks (and creates) it before the pod starts. */
static int host_path(const json_t *vol, drv_err *err)
{
  const char *hp = drv_json_get_str(vol, "hostPath.path");
  const char *type = drv_json_get_str(vol, "hostPath.type");
  if (!hp || hp[0] != '/') return drv_error(err, 0, "hostPath.path `%s` must be absolute", hp ? hp : "");
  if (!type || !*type) return 0;
  struct stat st;
  bool exists = stat(hp, &st) == 0;
  if (!strcmp(type, "DirectoryOrCreate")) {
    if (!exists) return drv_mkdir_p(hp, 0755, err);
    type = "Directory";
  } else if (!strcmp(type, "FileOrCreate")) {
    if (!exists) {
      int fd = open(hp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (fd < 0 && errno != EEXIST) return drv_error(err, errno, "create `%s`", hp);
      if (fd >= 0) close(fd);
      return 0;
    }
    type = "File";
  }
  static const struct {
    const char *type, *what;
    mode_t fmt;
  } kinds[] = {{"Directory", "a directory", S_IFDIR}, {"File", "a file", S_IFREG},
               {"Socket", "a socket file", S_IFSOCK}, {"CharDevice", "a character device", S_IFCHR},
               {"BlockDevice", "a block device", S_IFBLK}};
  for (size_t i = 0; i < DRV_ARRAY_LEN(kinds); i++)
    if (!strcmp(type, kinds[i].type)) {
      if (!exists || (st.st_mode & S_IFMT) != kinds[i].fmt)
        return drv_error(err, 0, "hostPath type check failed: %s is not %s", hp, kinds[i].what);
      return 0;
    }
  return drv_error(err, 0, "hostPath.type `%s` is not supported", type);
}

static bool writer_volume(const json_t *vol)
{
  return json_object_get(vol, "configMap") || json_object_get(vol, "secret") ||
         json_object_get(vol, "downwardAPI") || json_object_get(vol, "projected");
}

/* What a volume's content is made of, cheaply: its spec, fsGroup, the uid and resourceVersion
 * of each ConfigMap/Secret it reads, and the pod's labels, annotations and resources when it
 * has downward API files. Same inputs, same content: the set is not built again (decoding and
 * hashing every sync would cost each pod its volumes' size per second). NULL when an object
 * cannot be read (the build then says why). */
static char *input_sig(drv_agent *a, drv_pod *p, const json_t *vol)
{
  drv_buf b = DRV_BUF_INIT;
  char *spec = drv_json_dump_canonical(vol);
  drv_buf_printf(&b, "%s|g%d|", spec, fs_group(p));
  free(spec);
  json_t *list = json_array();
  if (json_object_get(vol, "projected")) json_array_extend(list, drv_json_get(vol, "projected.sources"));
  else json_array_append(list, (json_t *)vol);
  bool downward = false;
  size_t i;
  json_t *src;
  json_array_foreach(list, i, src)
  {
    for (int k = 0; k < 2; k++) {
      json_t *x = json_object_get(src, k ? "secret" : "configMap");
      if (!x) continue;
      const char *name = json_string_value(json_object_get(x, k && json_object_get(x, "secretName") ? "secretName" : "name"));
      json_t *obj = NULL;
      drv_err err;
      int r = name ? get_source(a, p->ns, k, name, &obj, &err) : 1;
      if (r < 0) {
        json_decref(list);
        drv_buf_free(&b);
        return NULL;
      }
      drv_buf_printf(&b, "%c:%s:%s:%s;", k ? 's' : 'c', name ? name : "", r ? "-" : drv_json_get_str(obj, "metadata.uid") ?: "",
                     r ? "-" : drv_json_get_str(obj, "metadata.resourceVersion") ?: "");
      json_decref(obj);
    }
    downward |= json_object_get(src, "downwardAPI") != NULL;
    json_t *sat = json_object_get(src, "serviceAccountToken");
    if (sat) { /* a refreshed token is new content */
      const char *tok;
      long long issued;
      drv_err err;
      if (drv_pod_sa_token(a, p, sat, &tok, &issued, &err) < 0) {
        json_decref(list);
        drv_buf_free(&b);
        return NULL;
      }
      drv_buf_printf(&b, "t:%lld;", issued);
    }
  }
  json_decref(list);
  if (downward) {
    const char *parts[] = {"metadata.labels", "metadata.annotations", "spec.containers", "spec.initContainers"};
    for (size_t k = 0; k < DRV_ARRAY_LEN(parts); k++) {
      json_t *v = drv_json_get(p->obj, parts[k]);
      if (k < 2) {
        char *t = v ? drv_json_dump_canonical(v) : NULL;
        drv_buf_printf(&b, "|%s", t ? t : "");
        free(t);
        continue;
      }
      json_t *c;
      json_array_foreach(v, i, c)
      {
        char *t = drv_json_dump_canonical(json_object_get(c, "resources") ?: json_null());
        drv_buf_printf(&b, "|%s", t ? t : "");
        free(t);
      }
    }
  }
  return drv_buf_steal(&b);
}

static int writer_setup(drv_agent *a, drv_pod *p, const json_t *vol, const char *name,
                        const char *dir, drv_err *err)
{
  _cleanup_free_ char *in = input_sig(a, p, vol);
  json_t *st = json_object_get(p->vols, name);
  if (in && st && !strcmp(json_string_value(json_object_get(st, "in")) ?: "", in)) return 0;
  payload pl = {0};
  int r = build_payload(a, p, vol, &pl, err);
  if (r == 0) {
    int g = fs_group(p);
    _cleanup_free_ char *dig = payload_digest(&pl, g);
    const char *have = json_string_value(json_object_get(st, "out"));
    if (!have || strcmp(have, dig)) {
      /* Secrets (and projected sets, which may hold them) never touch the node's disk. */
      bool mem = json_object_get(vol, "secret") || json_object_get(vol, "projected");
      r = mem ? ensure_tmpfs(dir, NULL, err) : drv_mkdir_p(dir, 0777, err);
      if (r == 0 && !mem) chmod(dir, 0777);
      if (r == 0 && g >= 0) {
        if (chown(dir, (uid_t)-1, (gid_t)g) < 0) r = drv_error(err, errno, "fsGroup: chown `%s`", dir);
        else own_at(AT_FDCWD, dir, g, true);
      }
      if (r == 0) r = atomic_write(dir, &pl, g, err);
      if (r == 0 && have) drv_log_info("pod %s/%s: volume %s updated", p->ns, p->name, name);
    }
    if (r == 0) {
      if (!p->vols) p->vols = json_object();
      json_object_set_new(p->vols, name, json_pack("{s:s?, s:s}", "in", in, "out", dig));
    }
  }
  payload_free(&pl);
  return r;
}

static void failed_mount_event(drv_agent *a, drv_pod *p, const char *msg)
{
  long long now = drv_now_ms();
  if (p->vols_event_ms && now - p->vols_event_ms < EVENT_EVERY_MS) return;
  p->vols_event_ms = now;
  json_t *obj = json_pack("{s:{s:s, s:s, s:s}}", "metadata", "name", p->name, "namespace", p->ns, "uid", p->uid);
  drv_recorder_event(a->rec, obj, "v1", "Pod", "Warning", "FailedMount", "%s", msg);
  json_decref(obj);
}

int drv_pod_volumes_sync(drv_agent *a, drv_pod *p, drv_err *err)
{
  json_t *vols = drv_json_get(p->obj, "spec.volumes");
  int rc = 0;
  size_t i;
  json_t *vol;
  json_array_foreach(vols, i, vol)
  {
    const char *name = json_string_value(json_object_get(vol, "name"));
    if (!name || bad_rel_path(name) || strchr(name, '/')) continue;
    _cleanup_free_ char *dir = drv_pod_volume_dir(p, name);
    drv_err e;
    int r = 0;
    if (json_object_get(vol, "emptyDir")) {
      if (!p->vols_ready) r = empty_dir(p, vol, dir, &e);
    } else if (json_object_get(vol, "hostPath")) {
      if (!p->vols_ready) r = host_path(vol, &e);
    } else if (writer_volume(vol)) {
      r = writer_setup(a, p, vol, name, dir, &e);
      if (r < 0) {
        /* Content written before stays (kubelet keeps the last good set) */
        _cleanup_free_ char *data = drv_asprintf("%s/..data", dir);
        if (drv_path_exists(data)) {
          char msg[DRV_ERR_MSG_MAX + 128];
          snprintf(msg, sizeof msg, "MountVolume.SetUp failed for volume \"%s\" : %s", name, e.msg);
          failed_mount_event(a, p, msg);
          r = 0;
        }
      }
    }
    if (r < 0 && rc == 0) {
      rc = drv_error(err, 0, "MountVolume.SetUp failed for volume \"%s\" : %s", name, e.msg);
      failed_mount_event(a, p, err->msg);
    }
  }
  if (rc == 0) p->vols_ready = true;
  return rc;
}

/* ---- container mounts ---- */

static int openat2_beneath(int dfd, const char *path, int flags)
{
  struct open_how how = {.flags = (unsigned long long)(flags | O_CLOEXEC),
                         .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
  int fd;
  do fd = (int)syscall(SYS_openat2, dfd, path, &how, sizeof how);
  while (fd < 0 && errno == EAGAIN);
  return fd;
}

/* The subPath inside the volume at vfd, its missing directories made when create is set (each
 * element resolved beneath the volume again): an O_PATH fd, or -1 (errno EXDEV or ELOOP: it
 * leads outside the volume). */
static int resolve_sub(int vfd, const char *sub, bool create)
{
  int fd = openat2_beneath(vfd, sub, O_PATH);
  if (fd >= 0 || errno != ENOENT || !create) return fd;
  _cleanup_free_ char *copy = drv_strdup(sub);
  size_t len = strlen(copy);
  for (size_t k = 1; k <= len; k++) {
    if ((copy[k] != '/' && copy[k]) || copy[k - 1] == '/') continue;
    char keep = copy[k];
    copy[k] = 0;
    int t = openat2_beneath(vfd, copy, O_PATH);
    if (t < 0 && errno == ENOENT) {
      char *last = strrchr(copy, '/');
      int pfd;
      if (last) {
        *last = 0;
        pfd = openat2_beneath(vfd, copy, O_PATH | O_DIRECTORY);
        *last = '/';
      } else {
        pfd = dup(vfd);
      }
      if (pfd < 0) return -1;
      int r = mkdirat(pfd, last ? last + 1 : copy, 0777);
      int e = errno;
      close(pfd);
      if (r < 0 && e != EEXIST) {
        errno = e;
        return -1;
      }
      t = openat2_beneath(vfd, copy, O_PATH);
    }
    if (t < 0) return -1;
    copy[k] = keep;
    if (k == len) return t;
    close(t);
  }
  errno = ENOENT;
  return -1;
}

/* Kubernetes' $(VAR) in subPathExpr, from the container's env. */
static char *expand_env(const char *in, char *const *env)
{
  drv_buf b = DRV_BUF_INIT;
  drv_buf_puts(&b, "");
  for (const char *q = in; *q;) {
    const char *close = q[0] == '$' && q[1] == '(' ? strchr(q + 2, ')') : NULL;
    if (q[0] == '$' && q[1] == '$') {
      drv_buf_putc(&b, '$');
      q += 2;
    } else if (close) {
      size_t nl = (size_t)(close - q - 2);
      const char *val = NULL;
      for (size_t i = 0; env && env[i] && !val; i++)
        if (!strncmp(env[i], q + 2, nl) && env[i][nl] == '=') val = env[i] + nl + 1;
      if (val) drv_buf_puts(&b, val);
      q = close + 1;
    } else {
      drv_buf_putc(&b, *q++);
    }
  }
  return drv_buf_steal(&b);
}

static void unmount_all(const char *path)
{
  for (int i = 0; i < 16 && umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) == 0; i++) {}
}

/* Binds what fd points at onto a private path of the pod, which the container then mounts:
 * kubelet's way to keep a swapped-in symlink from redirecting the mount. */
static char *bind_sub(drv_pod *p, const char *vname, const char *cname, size_t idx, int fd,
                      drv_err *err)
{
  char *dst = drv_asprintf("%s/volume-subpaths/%s/%s/%zu", p->dir, vname, cname, idx);
  _cleanup_free_ char *parent = drv_asprintf("%s/volume-subpaths/%s/%s", p->dir, vname, cname);
  struct stat st;
  if (fstat(fd, &st) < 0 || drv_mkdir_p(parent, 0700, err) < 0) goto fail;
  unmount_all(dst);
  if (unlink(dst) < 0 && errno == EISDIR) rmdir(dst);
  int r = S_ISDIR(st.st_mode) ? mkdir(dst, 0700) : close(open(dst, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600));
  if (r < 0) {
    drv_error(err, errno, "create `%s`", dst);
    goto fail;
  }
  char src[64];
  snprintf(src, sizeof src, "/proc/self/fd/%d", fd);
  if (mount(src, dst, NULL, MS_BIND, NULL) < 0) {
    drv_error(err, errno, "bind the subPath onto `%s`", dst);
    goto fail;
  }
  return dst;
fail:
  free(dst);
  return NULL;
}

int drv_ctr_volume_mounts(drv_agent *a, drv_pod *p, drv_ctr *c, char *const *env, json_t **out,
                          drv_err *err)
{
  json_t *vols = drv_json_get(p->obj, "spec.volumes");
  json_t *mounts = json_array();
  size_t i;
  json_t *vm;
  (void)a;
  json_array_foreach(json_object_get(c->spec, "volumeMounts"), i, vm)
  {
    const char *vname = json_string_value(json_object_get(vm, "name"));
    const char *dest = json_string_value(json_object_get(vm, "mountPath"));
    if (!vname || !dest || dest[0] != '/') {
      drv_error(err, EINVAL, "container `%s`: volumeMounts[%zu]: needs name and an absolute mountPath", c->name, i);
      goto fail;
    }
    json_t *vol = NULL;
    size_t j;
    json_t *v;
    json_array_foreach(vols, j, v)
      if (!strcmp(json_string_value(json_object_get(v, "name")) ?: "", vname)) vol = v;
    if (!vol) {
      drv_error(err, EINVAL, "container `%s`: volume `%s` is not in spec.volumes", c->name, vname);
      goto fail;
    }
    _cleanup_free_ char *src = NULL;
    bool ro = json_is_true(json_object_get(vm, "readOnly")), writer = writer_volume(vol);
    if (json_object_get(vol, "emptyDir") || writer) {
      src = drv_pod_volume_dir(p, vname);
      ro |= writer; /* kubelet mounts these read-only whatever the mount asks */
    } else if (json_object_get(vol, "hostPath")) {
      const char *hp = drv_json_get_str(vol, "hostPath.path");
      const char *type = drv_json_get_str(vol, "hostPath.type");
      if (!hp || hp[0] != '/') {
        drv_error(err, EINVAL, "volume `%s`: hostPath.path must be absolute", vname);
        goto fail;
      }
      if (type && !strcmp(type, "DirectoryOrCreate") && drv_mkdir_p(hp, 0755, err) < 0) goto fail;
      if (!drv_path_exists(hp)) { /* (checked with its type before the pod started; gone since) */
        drv_error(err, ENOENT, "volume `%s`: hostPath `%s` does not exist", vname, hp);
        goto fail;
      }
      src = drv_strdup(hp);
    } else {
      drv_error(err, EINVAL, "volume `%s`: only emptyDir, hostPath, configMap, secret, downwardAPI and projected are supported", vname);
      goto fail;
    }
    const char *sp = json_string_value(json_object_get(vm, "subPath"));
    const char *expr = json_string_value(json_object_get(vm, "subPathExpr"));
    _cleanup_free_ char *sub = sp && *sp ? drv_strdup(sp) : expr && *expr ? expand_env(expr, env) : NULL;
    if (sub && *sub) {
      if (sub[0] == '/') {
        drv_error(err, 0, "error SubPath `%s` must not be an absolute path", sub);
        goto fail;
      }
      if (has_dotdot(sub)) {
        drv_error(err, 0, "unable to provision SubPath `%s`: must not contain '..'", sub);
        goto fail;
      }
      _cleanup_close_ int vfd = open(src, O_PATH | O_DIRECTORY | O_CLOEXEC);
      _cleanup_close_ int fd = vfd < 0 ? -1 : resolve_sub(vfd, sub, !writer);
      if (fd < 0) {
        int e = errno;
        drv_log_warn("pod %s/%s: container %s: subPath `%s` of volume %s: %s", p->ns, p->name, c->name, sub,
                     vname, strerror(e));
        drv_error(err, 0, "failed to prepare subPath for volumeMount \"%s\" of container \"%s\"%s", vname, c->name,
                  e == EXDEV || e == ELOOP ? ": it leads outside the volume" : e == ENOENT ? ": it does not exist" : "");
        goto fail;
      }
      char *b = bind_sub(p, vname, c->name, i, fd, err);
      if (!b) goto fail;
      free(src);
      src = b;
    }
    json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:[s,s,s]}", "destination", dest, "type", "bind",
                                            "source", src, "options", "rbind", "rprivate", ro ? "ro" : "rw"));
  }
  *out = mounts;
  return 0;
fail:
  json_decref(mounts);
  return -1;
}

/* ---- removal ---- */

/* Mount points at or under dir, from /proc/self/mountinfo, deepest last. */
static char **mounts_under(const char *dir)
{
  _cleanup_free_ char *text = NULL;
  drv_err err;
  char **v = drv_calloc(1, sizeof *v);
  size_t n = 0, dl = strlen(dir);
  if (drv_read_file("/proc/self/mountinfo", 0, &text, NULL, &err) < 0) return v;
  char *save = NULL;
  for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    char mp[4096];
    if (sscanf(l, "%*s %*s %*s %*s %4095s", mp) != 1) continue;
    /* undo the \ooo escapes of spaces and the like */
    char *w = mp;
    for (char *r = mp; *r; r++) {
      if (r[0] == '\\' && r[1] >= '0' && r[1] <= '7' && r[2] && r[3]) {
        *w++ = (char)strtol((char[]){r[1], r[2], r[3], 0}, NULL, 8);
        r += 3;
      } else {
        *w++ = *r;
      }
    }
    *w = 0;
    if (strncmp(mp, dir, dl) || (mp[dl] && mp[dl] != '/')) continue;
    v = drv_realloc(v, (n + 2) * sizeof *v);
    v[n++] = drv_strdup(mp);
    v[n] = NULL;
  }
  return v;
}

int drv_pod_volumes_cleanup(drv_pod *p, drv_err *err)
{
  for (int round = 0; round < 3; round++) {
    _cleanup_strv_ char **m = mounts_under(p->dir);
    size_t n = drv_strv_len(m);
    if (!n) return 0;
    for (size_t i = n; i-- > 0;) umount2(m[i], MNT_DETACH | UMOUNT_NOFOLLOW);
  }
  _cleanup_strv_ char **left = mounts_under(p->dir);
  if (drv_strv_len(left))
    return drv_error(err, EBUSY, "`%s` is still mounted: the pod's files are left in place", left[0]);
  return 0;
}

void drv_pod_volumes_free(drv_pod *p)
{
  json_decref(p->vols);
  p->vols = NULL;
}
