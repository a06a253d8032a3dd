/* Name syntax checks with Kubernetes' messages (validate.h). */
#include <ctype.h>
#include <string.h>

#include "api/validate.h"

#define SUBDOMAIN_MSG                                                                             \
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "   \
  "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used " \
  "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
#define LABEL_MSG                                                                                 \
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "   \
  "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used " \
  "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
#define DNS1035_MSG                                                                               \
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "   \
  "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "          \
  "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
#define QNAME_MSG                                                                                 \
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "  \
  "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for " \
  "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
#define PREFIX_MSG "prefix part " SUBDOMAIN_MSG
#define VALUE_MSG                                                                                 \
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "    \
  "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "            \
  "'my_value',  or '12345', regex used for validation is "                                      \
  "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"

static bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
static bool alnum(char c) { return isalnum((unsigned char)c); }

static bool is_label(const char *s, size_t n)
{
  if (n == 0 || !lower_alnum(s[0]) || !lower_alnum(s[n - 1])) return false;
  for (size_t i = 0; i < n; i++)
    if (!lower_alnum(s[i]) && s[i] != '-') return false;
  return true;
}

static bool is_subdomain(const char *s, size_t n)
{
  if (n == 0) return false;
  size_t start = 0;
  for (size_t i = 0; i <= n; i++)
    if (i == n || s[i] == '.') {
      if (!is_label(s + start, i - start)) return false;
      start = i + 1;
    }
  return true;
}

const char *drv_api_check_dns1123_subdomain(const char *s)
{
  size_t n = strlen(s);
  if (n > 253) return "must be no more than 253 characters";
  return is_subdomain(s, n) ? NULL : SUBDOMAIN_MSG;
}

const char *drv_api_check_dns1123_label(const char *s)
{
  size_t n = strlen(s);
  if (n > 63) return "must be no more than 63 characters";
  return is_label(s, n) ? NULL : LABEL_MSG;
}

const char *drv_api_check_dns1035_label(const char *s)
{
  size_t n = strlen(s);
  if (n > 63) return "must be no more than 63 characters";
  return is_label(s, n) && s[0] >= 'a' && s[0] <= 'z' ? NULL : DNS1035_MSG;
}

static bool is_qname_part(const char *s, size_t n)
{
  if (n == 0 || !alnum(s[0]) || !alnum(s[n - 1])) return false;
  for (size_t i = 0; i < n; i++)
    if (!alnum(s[i]) && !strchr("-_.", s[i])) return false;
  return true;
}

const char *drv_api_check_label_key(const char *s)
{
  const char *slash = strchr(s, '/');
  const char *name = s;
  if (slash) {
    size_t pl = (size_t)(slash - s);
    if (pl == 0) return "prefix part must be non-empty";
    if (pl > 253) return "prefix part must be no more than 253 characters";
    if (!is_subdomain(s, pl)) return PREFIX_MSG;
    name = slash + 1;
    if (strchr(name, '/'))
      return "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and "
             "must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  "
             "or '123-abc', regex used for validation is "
             "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix "
             "and '/' (e.g. 'example.com/MyName')";
  }
  size_t n = strlen(name);
  if (n == 0) return "name part must be non-empty";
  if (n > 63) return "name part must be no more than 63 characters";
  return is_qname_part(name, n) ? NULL : QNAME_MSG;
}

const char *drv_api_check_label_value(const char *s)
{
  size_t n = strlen(s);
  if (n > 63) return "must be no more than 63 characters";
  if (n == 0) return NULL;
  return is_qname_part(s, n) ? NULL : VALUE_MSG;
}

const char *drv_api_check_object_name(const drv_api_resource *res, const char *name)
{
  /* Path segments can never be names (Kubernetes' path-segment rule). */
  if (!strcmp(name, ".") || !strcmp(name, "..")) return "may not be '.' or '..'";
  if (strchr(name, '/')) return "may not contain '/'";
  if (strchr(name, '%')) return "may not contain '%'";
  if (!strcmp(res->kind, "Namespace")) return drv_api_check_dns1123_label(name);
  if (!strcmp(res->kind, "Service")) return drv_api_check_dns1035_label(name);
  /* ConfigMaps, Secrets and Events allow any path-segment name in Kubernetes too loosely
   * (config keys); they still have to be subdomains for Secrets/ConfigMaps. Events' names
   * carry '.' + a hex suffix, which subdomains allow. */
  if (!strcmp(res->kind, "NodeMetrics") || !strcmp(res->kind, "PodMetrics")) return NULL;
  /* RBAC names are any path segment ("system:node", "system:aggregate-to-view") */
  if (!strcmp(res->group, "rbac.authorization.k8s.io")) return NULL;
  return drv_api_check_dns1123_subdomain(name);
}
