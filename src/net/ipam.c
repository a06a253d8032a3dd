#include "net/ipam.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/util.h"
#include "net/netlink.h"

struct drv_ipam {
  char *dir;
  uint32_t net;   /* host order */
  int prefix;
  uint32_t first; /* first pod address (net + 2) */
  uint32_t last;  /* last pod address (broadcast - 1) */
  uint32_t next;  /* where the next search starts: round robin delays reuse of freed IPs */
  pthread_mutex_t lock;
};

int drv_ipam_open(const char *dir, const char *cidr, drv_ipam **out, drv_err *err)
{
  struct in_addr a;
  int prefix;
  if (drv_net_parse_cidr(cidr, &a, &prefix, err) < 0) return drv_err_prefix(err, "pod CIDR");
  if (prefix < 8 || prefix > 30)
    return drv_error(err, EINVAL, "pod CIDR `%s`: prefix must be between /8 and /30", cidr);
  if (drv_mkdir_p(dir, 0700, err) < 0) return drv_err_prefix(err, "IPAM");
  drv_ipam *ipam = drv_calloc(1, sizeof *ipam);
  ipam->dir = drv_strdup(dir);
  ipam->prefix = prefix;
  ipam->net = ntohl(a.s_addr) & drv_net_mask(prefix);
  ipam->first = ipam->net + 2;
  ipam->last = (ipam->net | ~drv_net_mask(prefix)) - 1;
  ipam->next = ipam->first;
  pthread_mutex_init(&ipam->lock, NULL);
  *out = ipam;
  return 0;
}

void drv_ipam_free(drv_ipam *ipam)
{
  if (!ipam) return;
  pthread_mutex_destroy(&ipam->lock);
  free(ipam->dir);
  free(ipam);
}

struct in_addr drv_ipam_gateway(const drv_ipam *ipam)
{
  return (struct in_addr){htonl(ipam->net + 1)};
}

int drv_ipam_prefix(const drv_ipam *ipam)
{
  return ipam->prefix;
}

static bool in_range(const drv_ipam *ipam, uint32_t ip)
{
  return ip >= ipam->first && ip <= ipam->last;
}

/* Walks DIR for the file whose content is owner. */
static int find_owner(drv_ipam *ipam, const char *owner, uint32_t *ip)
{
  _cleanup_dir_ DIR *d = opendir(ipam->dir);
  if (!d) return -1;
  struct dirent *de;
  while ((de = readdir(d))) {
    struct in_addr a;
    if (inet_pton(AF_INET, de->d_name, &a) != 1 || !in_range(ipam, ntohl(a.s_addr))) continue;
    _cleanup_free_ char *path = drv_asprintf("%s/%s", ipam->dir, de->d_name);
    char *data = NULL;
    size_t len;
    drv_err e;
    if (drv_read_file(path, 4096, &data, &len, &e) < 0) continue;
    bool match = strcmp(data, owner) == 0;
    free(data);
    if (match) {
      *ip = ntohl(a.s_addr);
      return 0;
    }
  }
  return -1;
}

int drv_ipam_lookup(drv_ipam *ipam, const char *owner, struct in_addr *out)
{
  pthread_mutex_lock(&ipam->lock);
  uint32_t ip;
  int r = find_owner(ipam, owner, &ip);
  pthread_mutex_unlock(&ipam->lock);
  if (r == 0) out->s_addr = htonl(ip);
  return r;
}

int drv_ipam_alloc(drv_ipam *ipam, const char *owner, struct in_addr *out, drv_err *err)
{
  if (!owner || !*owner || strchr(owner, '\n'))
    return drv_error(err, EINVAL, "allocate address: bad owner `%s`", owner ? owner : "");
  pthread_mutex_lock(&ipam->lock);
  uint32_t ip;
  if (find_owner(ipam, owner, &ip) == 0) {
    pthread_mutex_unlock(&ipam->lock);
    out->s_addr = htonl(ip);
    return 0;
  }
  uint32_t n = ipam->last - ipam->first + 1;
  for (uint32_t i = 0; i < n; i++) {
    ip = ipam->first + (ipam->next - ipam->first + i) % n;
    char s[INET_ADDRSTRLEN];
    struct in_addr a = {htonl(ip)};
    inet_ntop(AF_INET, &a, s, sizeof s);
    _cleanup_free_ char *path = drv_asprintf("%s/%s", ipam->dir, s);
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
      if (errno == EEXIST) continue;
      int e = errno;
      pthread_mutex_unlock(&ipam->lock);
      return drv_error(err, e, "allocate address: create `%s`", path);
    }
    if (drv_write_all(fd, owner, strlen(owner)) < 0 || fsync(fd) < 0) {
      int e = errno;
      unlink(path);
      pthread_mutex_unlock(&ipam->lock);
      return drv_error(err, e, "allocate address: write `%s`", path);
    }
    ipam->next = ip + 1 > ipam->last ? ipam->first : ip + 1;
    pthread_mutex_unlock(&ipam->lock);
    *out = a;
    return 0;
  }
  pthread_mutex_unlock(&ipam->lock);
  return drv_error(err, ENOSPC, "allocate address for `%s`: all %u addresses are in use", owner, n);
}

int drv_ipam_release(drv_ipam *ipam, const char *owner, drv_err *err)
{
  pthread_mutex_lock(&ipam->lock);
  uint32_t ip;
  int r = 0;
  if (find_owner(ipam, owner, &ip) == 0) {
    char s[INET_ADDRSTRLEN];
    struct in_addr a = {htonl(ip)};
    inet_ntop(AF_INET, &a, s, sizeof s);
    _cleanup_free_ char *path = drv_asprintf("%s/%s", ipam->dir, s);
    if (unlink(path) < 0 && errno != ENOENT) r = drv_error(err, errno, "release address %s", s);
  }
  pthread_mutex_unlock(&ipam->lock);
  return r;
}

size_t drv_ipam_used(drv_ipam *ipam)
{
  pthread_mutex_lock(&ipam->lock);
  size_t n = 0;
  DIR *d = opendir(ipam->dir);
  if (d) {
    struct dirent *de;
    while ((de = readdir(d))) {
      struct in_addr a;
      if (inet_pton(AF_INET, de->d_name, &a) == 1 && in_range(ipam, ntohl(a.s_addr))) n++;
    }
    closedir(d);
  }
  pthread_mutex_unlock(&ipam->lock);
  return n;
}
