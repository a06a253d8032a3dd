/* Internal to validate*.c: the error list validation builds, with Kubernetes' cause texts. */
#ifndef DRV_API_VALIDATE_UTIL_H
#define DRV_API_VALIDATE_UTIL_H

#include <jansson.h>
#include <stdbool.h>

typedef struct vctx {
  json_t *causes; /* array of {reason, message, field} */
} vctx;

/* "Required value" */
void v_required(vctx *v, const char *field, const char *detail);
/* `Invalid value: <value>: <detail>` (value printed as Kubernetes does: strings quoted) */
void v_invalid(vctx *v, const char *field, const json_t *value, const char *detail);
void v_invalid_str(vctx *v, const char *field, const char *value, const char *detail);
void v_invalid_int(vctx *v, const char *field, long long value, const char *detail);
/* `Unsupported value: "x": supported values: "a", "b"` (NULL-terminated list) */
void v_unsupported(vctx *v, const char *field, const char *value, const char *const *supported);
void v_duplicate(vctx *v, const char *field, const json_t *value);
void v_forbidden(vctx *v, const char *field, const char *detail);
void v_not_found(vctx *v, const char *field, const json_t *value);
void v_too_long(vctx *v, const char *field, long long max);

/* Checks value against a list; records Unsupported when missing from it. */
bool v_one_of(vctx *v, const char *field, const char *value, const char *const *allowed);
/* When obj has the string field key, checks it against the list at "<base>.<key>". */
void v_optional_one_of(vctx *v, const char *base, const json_t *obj, const char *key,
                       const char *const *allowed);
/* "%s.%s" / "%s[%zu]" paths; caller frees. */
char *v_path(const char *base, const char *child);
char *v_index(const char *base, size_t i);

void v_labels(vctx *v, const char *field, const json_t *labels);
void v_port(vctx *v, const char *field, const json_t *port, bool zero_ok);
/* IANA_SVC_NAME: up to 15 lowercase alphanumerics or '-', at least one letter. */
const char *v_check_port_name(const char *s);
/* a valid environment variable / config key */
const char *v_check_env_name(const char *s);
const char *v_check_config_key(const char *s);

/* Pod spec rules shared by pods and templates; path is "spec" or "spec.template.spec". */
void v_pod_spec(vctx *v, const char *path, const json_t *spec);
/* Object metadata (name/generateName, namespace, labels, annotations, finalizers...). */
struct drv_api_resource;
void v_object_meta(vctx *v, const struct drv_api_resource *res, const json_t *obj);
/* Roles and bindings of rbac.authorization.k8s.io (validate_rbac.c); old on update. */
void v_rbac(vctx *v, const struct drv_api_resource *res, const json_t *obj, const json_t *old);

#endif
