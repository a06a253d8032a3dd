/* Kubernetes Status objects (kind Status, apiVersion v1): how every failed request answers.
 * Every builder returns a new reference the caller owns; drv_status_code() tells the HTTP
 * status to send. `res` may be NULL where the resource is unknown. */
#ifndef DRV_API_STATUS_H
#define DRV_API_STATUS_H

#include <jansson.h>

#include "api/resource.h"

/* Generic Failure: {kind, apiVersion, metadata{}, status:"Failure", message, reason, code}. */
json_t *drv_status_failure(int code, const char *reason, const char *message);
/* {status: "Success", code 200} (as DELETE of a collection/with no object answers). */
json_t *drv_status_success(const char *name, const drv_api_resource *res);

/* 404 `pods "x" not found` (qualified resource: `deployments.apps "x" not found`). */
json_t *drv_status_not_found(const drv_api_resource *res, const char *name);
/* 409 AlreadyExists `pods "x" already exists`. */
json_t *drv_status_already_exists(const drv_api_resource *res, const char *name);
/* 409 Conflict `Operation cannot be fulfilled on pods "x": <why>`; why NULL → the
 * stale-resourceVersion text ("the object has been modified; please apply your changes to the
 * latest version and try again"). */
json_t *drv_status_conflict(const drv_api_resource *res, const char *name, const char *why);
/* 422 Invalid `Pod "x" is invalid: <causes joined>`; causes: array of
 * {reason, message, field} (drv_status_cause()); stolen. */
json_t *drv_status_invalid(const drv_api_resource *res, const char *name, json_t *causes);
/* One cause: reason a metav1.CauseType ("FieldValueRequired", "FieldValueInvalid", ...). */
json_t *drv_status_cause(const char *reason, const char *message, const char *field);
/* 400 BadRequest with message. */
json_t *drv_status_bad_request(const char *message);
/* 401 Unauthorized, message "Unauthorized". */
json_t *drv_status_unauthorized(void);
/* 403 `pods "x" is forbidden: <why>` (name may be NULL → `pods is forbidden: <why>`). */
json_t *drv_status_forbidden(const drv_api_resource *res, const char *name, const char *why);
/* 410 Expired, message e.g. "too old resource version: 5 (100)". */
json_t *drv_status_gone(const char *message);
/* 405 MethodNotAllowed `<method> is not supported on resources of kind "pods"`... */
json_t *drv_status_method_not_allowed(const drv_api_resource *res, const char *method);
/* 429 TooManyRequests with details.retryAfterSeconds. */
json_t *drv_status_too_many_requests(int retry_after_seconds);
/* 500 InternalError `Internal error occurred: <msg>`. */
json_t *drv_status_internal(const char *message);
/* 413 RequestEntityTooLarge. */
json_t *drv_status_too_large(const char *message);
/* 415 UnsupportedMediaType `the body of the request was in an unknown format - accepted media types include: ...`. */
json_t *drv_status_unsupported_media_type(const char *content_type);
/* 406 NotAcceptable. */
json_t *drv_status_not_acceptable(const char *message);

/* The HTTP code of a Status (its "code" member), 500 when missing. */
int drv_status_code(const json_t *status);

#endif
