/* The data dir's certificates: a CA (ca.crt, ca.key) and a serving certificate signed by it
 * (server.crt, server.key) for localhost, 127.0.0.1, ::1 and the listen address, ECDSA P-256,
 * ten years. Made with OpenSSL on first start and reused after. */
#include "server/pki.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fs.h"
#include "common/util.h"

static EVP_PKEY *new_key(void)
{
  return EVP_EC_gen("P-256");
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
  X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
  if (!ex) return -1;
  int ok = X509_add_ext(cert, ex, -1);
  X509_EXTENSION_free(ex);
  return ok ? 0 : -1;
}

static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
                       bool ca, const char *san)
{
  X509 *c = X509_new();
  if (!c) return NULL;
  X509_set_version(c, 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(c), -3600);
  X509_gmtime_adj(X509_getm_notAfter(c), 10L * 365 * 24 * 3600);
  X509_set_pubkey(c, key);
  X509_NAME *name = X509_get_subject_name(c);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"drover", -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
  X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : name);
  X509 *iss = issuer ? issuer : c;
  int bad = 0;
  if (ca) {
    bad |= add_ext(c, iss, NID_basic_constraints, "critical,CA:TRUE");
    bad |= add_ext(c, iss, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
    bad |= add_ext(c, iss, NID_subject_key_identifier, "hash");
  } else {
    bad |= add_ext(c, iss, NID_basic_constraints, "critical,CA:FALSE");
    bad |= add_ext(c, iss, NID_key_usage, "critical,digitalSignature,keyEncipherment");
    bad |= add_ext(c, iss, NID_ext_key_usage, "serverAuth");
    bad |= add_ext(c, iss, NID_authority_key_identifier, "keyid");
    bad |= add_ext(c, iss, NID_subject_alt_name, san);
  }
  if (bad || !X509_sign(c, issuer_key ? issuer_key : key, EVP_sha256())) {
    X509_free(c);
    return NULL;
  }
  return c;
}

static char *pem_cert(X509 *c)
{
  BIO *b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, c);
  char *p;
  long n = BIO_get_mem_data(b, &p);
  char *s = drv_strndup(p, (size_t)n);
  BIO_free(b);
  return s;
}

static char *pem_key(EVP_PKEY *k)
{
  BIO *b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
  char *p;
  long n = BIO_get_mem_data(b, &p);
  char *s = drv_strndup(p, (size_t)n);
  BIO_free(b);
  return s;
}

static int write_pem(const char *dir, const char *name, const char *pem, mode_t mode, drv_err *err)
{
  _cleanup_free_ char *path = drv_asprintf("%s/%s", dir, name);
  return drv_write_file_atomic(path, pem, strlen(pem), mode, err);
}

static bool is_ip(const char *h)
{
  return strspn(h, "0123456789.") == strlen(h) || strchr(h, ':') != NULL;
}

/* ",IP:a,IP:b" for this machine's addresses other than loopback: agents on other machines
 * reach the server at one of them and verify it against the certificate. */
static char *local_ips(void)
{
  drv_buf b = DRV_BUF_INIT;
  drv_buf_puts(&b, "");
  struct ifaddrs *ifs = NULL;
  if (getifaddrs(&ifs) < 0) return drv_buf_steal(&b);
  for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
    if (!i->ifa_addr || (i->ifa_flags & IFF_LOOPBACK)) continue;
    char ip[INET6_ADDRSTRLEN];
    if (i->ifa_addr->sa_family == AF_INET) {
      inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, ip, sizeof ip);
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      struct in6_addr *a6 = &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
      if (IN6_IS_ADDR_LINKLOCAL(a6)) continue;
      inet_ntop(AF_INET6, a6, ip, sizeof ip);
    } else {
      continue;
    }
    if (!strstr(b.data, ip)) drv_buf_printf(&b, ",IP:%s", ip);
  }
  freeifaddrs(ifs);
  return drv_buf_steal(&b);
}

int drv_pki_ensure(const char *dir, const char *host, drv_pki *out, drv_err *err)
{
  memset(out, 0, sizeof *out);
  _cleanup_free_ char *ca_crt = drv_asprintf("%s/ca.crt", dir);
  _cleanup_free_ char *srv_crt = drv_asprintf("%s/server.crt", dir);
  _cleanup_free_ char *srv_key = drv_asprintf("%s/server.key", dir);
  size_t len;
  if (drv_path_exists(ca_crt) && drv_path_exists(srv_crt) && drv_path_exists(srv_key)) {
    if (drv_read_file(ca_crt, 1 << 20, &out->ca_pem, &len, err) < 0 ||
        drv_read_file(srv_crt, 1 << 20, &out->cert_pem, &len, err) < 0 ||
        drv_read_file(srv_key, 1 << 20, &out->key_pem, &len, err) < 0) {
      drv_pki_free(out);
      return -1;
    }
    return 0;
  }
  char hostname[256] = "localhost";
  gethostname(hostname, sizeof hostname - 1);
  _cleanup_free_ char *san = NULL;
  bool extra = host && *host && strcmp(host, "127.0.0.1") && strcmp(host, "localhost") &&
               strcmp(host, "0.0.0.0") && strcmp(host, "::");
  _cleanup_free_ char *ifips = local_ips();
  san = drv_asprintf("DNS:localhost,DNS:%s,IP:127.0.0.1,IP:::1%s%s%s", hostname,
                     extra ? (is_ip(host) ? ",IP:" : ",DNS:") : "", extra ? host : "", ifips);
  EVP_PKEY *cakey = new_key(), *skey = new_key();
  X509 *ca = cakey ? make_cert(cakey, "drover-ca", NULL, NULL, true, NULL) : NULL;
  X509 *srv = ca && skey ? make_cert(skey, "drover-apiserver", ca, cakey, false, san) : NULL;
  int rc = -1;
  _cleanup_free_ char *ca_key_pem = NULL;
  if (!srv) {
    drv_error(err, EIO, "generate certificates in `%s`: OpenSSL failed", dir);
    goto out;
  }
  ca_key_pem = pem_key(cakey);
  out->ca_pem = pem_cert(ca);
  out->cert_pem = pem_cert(srv);
  out->key_pem = pem_key(skey);
  if (write_pem(dir, "ca.key", ca_key_pem, 0600, err) < 0 ||
      write_pem(dir, "server.key", out->key_pem, 0600, err) < 0 ||
      write_pem(dir, "server.crt", out->cert_pem, 0644, err) < 0 ||
      write_pem(dir, "ca.crt", out->ca_pem, 0644, err) < 0) {
    drv_pki_free(out);
    goto out;
  }
  rc = 0;
out:
  X509_free(ca);
  X509_free(srv);
  EVP_PKEY_free(cakey);
  EVP_PKEY_free(skey);
  return rc;
}

void drv_pki_free(drv_pki *p)
{
  free(p->ca_pem);
  free(p->cert_pem);
  if (p->key_pem) OPENSSL_cleanse(p->key_pem, strlen(p->key_pem));
  free(p->key_pem);
  memset(p, 0, sizeof *p);
}
