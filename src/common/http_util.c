/* What both HTTP client implementations (http_client.c over libcurl, http_client_ossl.c over
 * OpenSSL for drover-agent) share: the parts that do not touch the transport. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/http_client.h"
#include "common/util.h"

void drv_http_response_free(drv_http_response *resp)
{
  if (!resp) return;
  drv_buf_free(&resp->headers);
  drv_buf_free(&resp->body);
  free(resp->effective_url);
  resp->effective_url = NULL;
  resp->status = 0;
  resp->bytes = 0;
}

char *drv_http_response_header(const drv_http_response *resp, const char *name)
{
  size_t nlen = strlen(name);
  const char *p = resp->headers.data, *end = p ? p + resp->headers.len : NULL;
  char *found = NULL;
  while (p && p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    const char *lend = eol ? eol : end;
    if ((size_t)(lend - p) > nlen && strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
      const char *v = p + nlen + 1;
      const char *ve = lend;
      while (v < ve && (*v == ' ' || *v == '\t')) v++;
      while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t')) ve--;
      free(found);
      found = drv_strndup(v, (size_t)(ve - v));
    }
    p = eol ? eol + 1 : end;
  }
  return found;
}

char *drv_http_escape(const char *s)
{
  static const char hex[] = "0123456789ABCDEF";
  size_t n = strlen(s);
  char *out = drv_malloc(n * 3 + 1), *o = out;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~') {
      *o++ = (char)*p;
    } else {
      *o++ = '%';
      *o++ = hex[*p >> 4];
      *o++ = hex[*p & 15];
    }
  }
  *o = '\0';
  return out;
}
