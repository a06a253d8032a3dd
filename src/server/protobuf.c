/* Request bodies in Kubernetes' protobuf encoding (application/vnd.kubernetes.protobuf), which
 * kubectl's typed commands send (create configmap|secret|namespace|serviceaccount|service|
 * deployment, autoscale, drain). A body is "k8s\0" + runtime.Unknown{typeMeta, raw}; raw is the
 * object's message. Decoded to JSON through tables of the messages those commands produce
 * (field numbers of Kubernetes' generated.proto); anything else is refused naming the field,
 * so nothing is silently dropped. Responses are always JSON (clients accept it). */
#include "server/protobuf.h"

#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/util.h"

typedef enum {
  PB_STR = 1,
  PB_BYTES,   /* base64 in JSON */
  PB_INT,
  PB_BOOL,
  PB_MSG,
  PB_MAP_SS,  /* map<string,string> */
  PB_MAP_SB,  /* map<string,bytes> */
  PB_MAP_SQ,  /* map<string,Quantity> */
  PB_TIME,    /* meta.v1.Time {seconds, nanos} → RFC 3339, zero → absent */
  PB_QTY,     /* resource.Quantity {string} → string */
  PB_INTSTR,  /* intstr.IntOrString {type, intVal, strVal} */
} pb_kind;

typedef struct pb_msg pb_msg;

typedef struct pb_field {
  int num;
  const char *name;
  pb_kind kind;
  bool repeated;
  const pb_msg *msg;
  bool pointer; /* a Go pointer field: its zero value is meaningful and kept */
} pb_field;

struct pb_msg {
  const char *name;
  const pb_field *fields;
  bool ignore_unknown; /* status messages: the server resets them on create anyway */
};

#define F(n, name, kind) {n, name, kind, false, NULL, false}
#define P(n, name, kind) {n, name, kind, false, NULL, true}
#define R(n, name, kind) {n, name, kind, true, NULL, false}
#define M(n, name, m) {n, name, PB_MSG, false, &m, false}
#define RM(n, name, m) {n, name, PB_MSG, true, &m, false}
#define END {0, NULL, 0, false, NULL, false}

/* meta/v1 */
static const pb_field owner_ref_f[] = {F(5, "apiVersion", PB_STR), F(1, "kind", PB_STR), F(3, "name", PB_STR),
                                       F(4, "uid", PB_STR), P(6, "controller", PB_BOOL),
                                       P(7, "blockOwnerDeletion", PB_BOOL), END};
static const pb_msg owner_ref = {"OwnerReference", owner_ref_f, false};
static const pb_field object_meta_f[] = {
    F(1, "name", PB_STR), F(2, "generateName", PB_STR), F(3, "namespace", PB_STR),
    F(4, "selfLink", PB_STR), F(5, "uid", PB_STR), F(6, "resourceVersion", PB_STR),
    F(7, "generation", PB_INT), F(8, "creationTimestamp", PB_TIME),
    F(9, "deletionTimestamp", PB_TIME), P(10, "deletionGracePeriodSeconds", PB_INT),
    F(11, "labels", PB_MAP_SS), F(12, "annotations", PB_MAP_SS), RM(13, "ownerReferences", owner_ref),
    R(14, "finalizers", PB_STR), END};
static const pb_msg object_meta = {"ObjectMeta", object_meta_f, false};
static const pb_field lsr_f[] = {F(1, "key", PB_STR), F(2, "operator", PB_STR), R(3, "values", PB_STR), END};
static const pb_msg lsr = {"LabelSelectorRequirement", lsr_f, false};
static const pb_field label_selector_f[] = {F(1, "matchLabels", PB_MAP_SS), RM(2, "matchExpressions", lsr), END};
static const pb_msg label_selector = {"LabelSelector", label_selector_f, false};
static const pb_field preconditions_f[] = {F(1, "uid", PB_STR), F(2, "resourceVersion", PB_STR), END};
static const pb_msg preconditions = {"Preconditions", preconditions_f, false};
static const pb_field delete_options_f[] = {P(1, "gracePeriodSeconds", PB_INT), M(2, "preconditions", preconditions),
                                            P(3, "orphanDependents", PB_BOOL), F(4, "propagationPolicy", PB_STR),
                                            R(5, "dryRun", PB_STR), END};
static const pb_msg delete_options = {"DeleteOptions", delete_options_f, false};

/* core/v1 */
static const pb_field configmap_f[] = {M(1, "metadata", object_meta), F(2, "data", PB_MAP_SS),
                                       F(3, "binaryData", PB_MAP_SB), P(4, "immutable", PB_BOOL), END};
static const pb_msg configmap = {"ConfigMap", configmap_f, false};
static const pb_field secret_f[] = {M(1, "metadata", object_meta), F(2, "data", PB_MAP_SB), F(3, "type", PB_STR),
                                    F(4, "stringData", PB_MAP_SS), P(5, "immutable", PB_BOOL), END};
static const pb_msg secret = {"Secret", secret_f, false};
static const pb_field ns_spec_f[] = {R(1, "finalizers", PB_STR), END};
static const pb_msg ns_spec = {"NamespaceSpec", ns_spec_f, false};
static const pb_field ns_status_f[] = {F(1, "phase", PB_STR), END};
static const pb_msg ns_status = {"NamespaceStatus", ns_status_f, false};
static const pb_field namespace_f[] = {M(1, "metadata", object_meta), M(2, "spec", ns_spec), M(3, "status", ns_status), END};
static const pb_msg namespace_m = {"Namespace", namespace_f, false};
static const pb_field object_ref_f[] = {F(1, "kind", PB_STR), F(2, "namespace", PB_STR), F(3, "name", PB_STR),
                                        F(4, "uid", PB_STR), F(5, "apiVersion", PB_STR),
                                        F(6, "resourceVersion", PB_STR), F(7, "fieldPath", PB_STR), END};
static const pb_msg object_ref = {"ObjectReference", object_ref_f, false};
static const pb_field local_ref_f[] = {F(1, "name", PB_STR), END};
static const pb_msg local_ref = {"LocalObjectReference", local_ref_f, false};
static const pb_field sa_f[] = {M(1, "metadata", object_meta), RM(2, "secrets", object_ref),
                                RM(3, "imagePullSecrets", local_ref), P(4, "automountServiceAccountToken", PB_BOOL), END};
static const pb_msg service_account = {"ServiceAccount", sa_f, false};
static const pb_field svc_port_f[] = {F(1, "name", PB_STR), F(2, "protocol", PB_STR), F(6, "appProtocol", PB_STR),
                                      F(3, "port", PB_INT), F(4, "targetPort", PB_INTSTR), F(5, "nodePort", PB_INT), END};
static const pb_msg svc_port = {"ServicePort", svc_port_f, false};
static const pb_field svc_spec_f[] = {RM(1, "ports", svc_port), F(2, "selector", PB_MAP_SS), F(3, "clusterIP", PB_STR),
                                      R(18, "clusterIPs", PB_STR), F(4, "type", PB_STR), R(5, "externalIPs", PB_STR),
                                      F(7, "sessionAffinity", PB_STR), F(8, "loadBalancerIP", PB_STR),
                                      F(10, "externalName", PB_STR), F(11, "externalTrafficPolicy", PB_STR),
                                      R(19, "ipFamilies", PB_STR), F(17, "ipFamilyPolicy", PB_STR),
                                      F(22, "internalTrafficPolicy", PB_STR), END};
static const pb_msg svc_spec = {"ServiceSpec", svc_spec_f, false};
static const pb_field empty_f[] = {END};
static const pb_msg svc_status = {"ServiceStatus", empty_f, true};
static const pb_field service_f[] = {M(1, "metadata", object_meta), M(2, "spec", svc_spec), M(3, "status", svc_status), END};
static const pb_msg service = {"Service", service_f, false};
static const pb_field cport_f[] = {F(1, "name", PB_STR), F(2, "hostPort", PB_INT), F(3, "containerPort", PB_INT),
                                   F(4, "protocol", PB_STR), F(5, "hostIP", PB_STR), END};
static const pb_msg cport = {"ContainerPort", cport_f, false};
static const pb_field env_f[] = {F(1, "name", PB_STR), F(2, "value", PB_STR), END};
static const pb_msg envvar = {"EnvVar", env_f, false};
static const pb_field resources_f[] = {F(1, "limits", PB_MAP_SQ), F(2, "requests", PB_MAP_SQ), END};
static const pb_msg resources = {"ResourceRequirements", resources_f, false};
static const pb_field vmount_f[] = {F(1, "name", PB_STR), F(2, "readOnly", PB_BOOL), F(3, "mountPath", PB_STR),
                                    F(4, "subPath", PB_STR), END};
static const pb_msg vmount = {"VolumeMount", vmount_f, false};
static const pb_field container_f[] = {
    F(1, "name", PB_STR), F(2, "image", PB_STR), R(3, "command", PB_STR), R(4, "args", PB_STR),
    F(5, "workingDir", PB_STR), RM(6, "ports", cport), RM(7, "env", envvar), M(8, "resources", resources),
    RM(9, "volumeMounts", vmount), F(13, "terminationMessagePath", PB_STR), F(14, "imagePullPolicy", PB_STR),
    F(16, "stdin", PB_BOOL), F(17, "stdinOnce", PB_BOOL), F(18, "tty", PB_BOOL),
    F(20, "terminationMessagePolicy", PB_STR), END};
static const pb_msg container = {"Container", container_f, false};
static const pb_field pod_spec_f[] = {
    RM(2, "containers", container), RM(20, "initContainers", container), F(3, "restartPolicy", PB_STR),
    P(4, "terminationGracePeriodSeconds", PB_INT), P(5, "activeDeadlineSeconds", PB_INT),
    F(6, "dnsPolicy", PB_STR), F(7, "nodeSelector", PB_MAP_SS), F(8, "serviceAccountName", PB_STR),
    F(9, "serviceAccount", PB_STR), P(21, "automountServiceAccountToken", PB_BOOL), F(10, "nodeName", PB_STR),
    F(11, "hostNetwork", PB_BOOL), F(12, "hostPID", PB_BOOL), F(13, "hostIPC", PB_BOOL),
    RM(15, "imagePullSecrets", local_ref), F(16, "hostname", PB_STR), F(17, "subdomain", PB_STR),
    F(19, "schedulerName", PB_STR), F(24, "priorityClassName", PB_STR), P(25, "priority", PB_INT),
    P(30, "enableServiceLinks", PB_BOOL), F(31, "preemptionPolicy", PB_STR), END};
static const pb_msg pod_spec = {"PodSpec", pod_spec_f, false};
static const pb_msg pod_status = {"PodStatus", empty_f, true};
static const pb_field pod_f[] = {M(1, "metadata", object_meta), M(2, "spec", pod_spec), M(3, "status", pod_status), END};
static const pb_msg pod = {"Pod", pod_f, false};
static const pb_field template_f[] = {M(1, "metadata", object_meta), M(2, "spec", pod_spec), END};
static const pb_msg pod_template = {"PodTemplateSpec", template_f, false};

/* apps/v1 */
static const pb_field rolling_f[] = {F(1, "maxUnavailable", PB_INTSTR), F(2, "maxSurge", PB_INTSTR), END};
static const pb_msg rolling = {"RollingUpdateDeployment", rolling_f, false};
static const pb_field strategy_f[] = {F(1, "type", PB_STR), M(2, "rollingUpdate", rolling), END};
static const pb_msg strategy = {"DeploymentStrategy", strategy_f, false};
static const pb_field dspec_f[] = {P(1, "replicas", PB_INT), M(2, "selector", label_selector),
                                   M(3, "template", pod_template), M(4, "strategy", strategy),
                                   F(5, "minReadySeconds", PB_INT), P(6, "revisionHistoryLimit", PB_INT),
                                   F(7, "paused", PB_BOOL), P(9, "progressDeadlineSeconds", PB_INT), END};
static const pb_msg dspec = {"DeploymentSpec", dspec_f, false};
static const pb_msg dstatus = {"DeploymentStatus", empty_f, true};
static const pb_field deployment_f[] = {M(1, "metadata", object_meta), M(2, "spec", dspec), M(3, "status", dstatus), END};
static const pb_msg deployment = {"Deployment", deployment_f, false};

/* autoscaling/v1 and v2 */
static const pb_field xref_f[] = {F(1, "kind", PB_STR), F(2, "name", PB_STR), F(3, "apiVersion", PB_STR), END};
static const pb_msg xref = {"CrossVersionObjectReference", xref_f, false};
static const pb_field hpa1_spec_f[] = {M(1, "scaleTargetRef", xref), P(2, "minReplicas", PB_INT),
                                       F(3, "maxReplicas", PB_INT), P(4, "targetCPUUtilizationPercentage", PB_INT), END};
static const pb_msg hpa1_spec = {"HorizontalPodAutoscalerSpec", hpa1_spec_f, false};
static const pb_msg hpa_status = {"HorizontalPodAutoscalerStatus", empty_f, true};
static const pb_field hpa1_f[] = {M(1, "metadata", object_meta), M(2, "spec", hpa1_spec), M(3, "status", hpa_status), END};
static const pb_msg hpa1 = {"HorizontalPodAutoscaler", hpa1_f, false};
static const pb_field mtarget_f[] = {F(1, "type", PB_STR), F(2, "value", PB_QTY), F(3, "averageValue", PB_QTY),
                                     P(4, "averageUtilization", PB_INT), END};
static const pb_msg mtarget = {"MetricTarget", mtarget_f, false};
static const pb_field rmsource_f[] = {F(1, "name", PB_STR), M(2, "target", mtarget), END};
static const pb_msg rmsource = {"ResourceMetricSource", rmsource_f, false};
static const pb_field mspec_f[] = {F(1, "type", PB_STR), M(4, "resource", rmsource), END};
static const pb_msg mspec = {"MetricSpec", mspec_f, false};
static const pb_field hpa2_spec_f[] = {M(1, "scaleTargetRef", xref), P(2, "minReplicas", PB_INT),
                                       F(3, "maxReplicas", PB_INT), RM(4, "metrics", mspec), END};
static const pb_msg hpa2_spec = {"HorizontalPodAutoscalerSpec", hpa2_spec_f, false};
static const pb_field hpa2_f[] = {M(1, "metadata", object_meta), M(2, "spec", hpa2_spec), M(3, "status", hpa_status), END};
static const pb_msg hpa2 = {"HorizontalPodAutoscaler", hpa2_f, false};

/* policy/v1 */
static const pb_field eviction_f[] = {M(1, "metadata", object_meta), M(2, "deleteOptions", delete_options), END};
static const pb_msg eviction = {"Eviction", eviction_f, false};

/* rbac/v1 */
static const pb_field policy_rule_f[] = {R(1, "verbs", PB_STR), R(2, "apiGroups", PB_STR), R(3, "resources", PB_STR),
                                         R(4, "resourceNames", PB_STR), R(5, "nonResourceURLs", PB_STR), END};
static const pb_msg policy_rule = {"PolicyRule", policy_rule_f, false};
static const pb_field subject_f[] = {F(1, "kind", PB_STR), F(2, "apiGroup", PB_STR), F(3, "name", PB_STR),
                                     F(4, "namespace", PB_STR), END};
static const pb_msg subject = {"Subject", subject_f, false};
static const pb_field role_ref_f[] = {F(1, "apiGroup", PB_STR), F(2, "kind", PB_STR), F(3, "name", PB_STR), END};
static const pb_msg role_ref = {"RoleRef", role_ref_f, false};
static const pb_field agg_rule_f[] = {RM(1, "clusterRoleSelectors", label_selector), END};
static const pb_msg agg_rule = {"AggregationRule", agg_rule_f, false};
static const pb_field role_f[] = {M(1, "metadata", object_meta), RM(2, "rules", policy_rule), END};
static const pb_msg role = {"Role", role_f, false};
static const pb_field cluster_role_f[] = {M(1, "metadata", object_meta), RM(2, "rules", policy_rule),
                                          M(3, "aggregationRule", agg_rule), END};
static const pb_msg cluster_role = {"ClusterRole", cluster_role_f, false};
static const pb_field binding_f[] = {M(1, "metadata", object_meta), RM(2, "subjects", subject),
                                     M(3, "roleRef", role_ref), END};
static const pb_msg role_binding = {"RoleBinding", binding_f, false};
static const pb_msg cluster_role_binding = {"ClusterRoleBinding", binding_f, false};

/* authorization/v1, authentication/v1: the reviews kubectl auth can-i|whoami send */
static const pb_field res_attrs_f[] = {F(1, "namespace", PB_STR), F(2, "verb", PB_STR), F(3, "group", PB_STR),
                                       F(4, "version", PB_STR), F(5, "resource", PB_STR),
                                       F(6, "subresource", PB_STR), F(7, "name", PB_STR), END};
static const pb_msg res_attrs = {"ResourceAttributes", res_attrs_f, false};
static const pb_field nonres_attrs_f[] = {F(1, "path", PB_STR), F(2, "verb", PB_STR), END};
static const pb_msg nonres_attrs = {"NonResourceAttributes", nonres_attrs_f, false};
static const pb_field ssar_spec_f[] = {M(1, "resourceAttributes", res_attrs),
                                       M(2, "nonResourceAttributes", nonres_attrs), END};
static const pb_msg ssar_spec = {"SelfSubjectAccessReviewSpec", ssar_spec_f, false};
static const pb_msg review_status = {"ReviewStatus", empty_f, true};
static const pb_field ssar_f[] = {M(1, "metadata", object_meta), M(2, "spec", ssar_spec),
                                  M(3, "status", review_status), END};
static const pb_msg ssar = {"SelfSubjectAccessReview", ssar_f, false};
static const pb_field ssrr_spec_f[] = {F(1, "namespace", PB_STR), END};
static const pb_msg ssrr_spec = {"SelfSubjectRulesReviewSpec", ssrr_spec_f, false};
static const pb_field ssrr_f[] = {M(1, "metadata", object_meta), M(2, "spec", ssrr_spec),
                                  M(3, "status", review_status), END};
static const pb_msg ssrr = {"SelfSubjectRulesReview", ssrr_f, false};
static const pb_field sar_spec_f[] = {M(1, "resourceAttributes", res_attrs), M(2, "nonResourceAttributes", nonres_attrs),
                                      F(3, "user", PB_STR), R(4, "groups", PB_STR), F(6, "uid", PB_STR), END};
static const pb_msg sar_spec = {"SubjectAccessReviewSpec", sar_spec_f, false};
static const pb_field sar_f[] = {M(1, "metadata", object_meta), M(2, "spec", sar_spec),
                                 M(3, "status", review_status), END};
static const pb_msg sar = {"SubjectAccessReview", sar_f, false};
static const pb_field ssr_f[] = {M(1, "metadata", object_meta), M(2, "status", review_status), END};
static const pb_msg ssr = {"SelfSubjectReview", ssr_f, false};
/* authentication/v1 TokenRequest (kubectl create token) and TokenReview */
static const pb_field bound_ref_f[] = {F(1, "kind", PB_STR), F(2, "apiVersion", PB_STR), F(3, "name", PB_STR),
                                       F(4, "uid", PB_STR), END};
static const pb_msg bound_ref = {"BoundObjectReference", bound_ref_f, false};
static const pb_field treq_spec_f[] = {R(1, "audiences", PB_STR), M(3, "boundObjectRef", bound_ref),
                                       P(4, "expirationSeconds", PB_INT), END};
static const pb_msg treq_spec = {"TokenRequestSpec", treq_spec_f, false};
static const pb_field treq_f[] = {M(1, "metadata", object_meta), M(2, "spec", treq_spec),
                                  M(3, "status", review_status), END};
static const pb_msg treq = {"TokenRequest", treq_f, false};
static const pb_field trev_spec_f[] = {F(1, "token", PB_STR), R(2, "audiences", PB_STR), END};
static const pb_msg trev_spec = {"TokenReviewSpec", trev_spec_f, false};
static const pb_field trev_f[] = {M(1, "metadata", object_meta), M(2, "spec", trev_spec),
                                  M(3, "status", review_status), END};
static const pb_msg trev = {"TokenReview", trev_f, false};

static const struct {
  const char *api_version, *kind;
  const pb_msg *msg;
} top[] = {
    {"v1", "ConfigMap", &configmap},
    {"v1", "Secret", &secret},
    {"v1", "Namespace", &namespace_m},
    {"v1", "ServiceAccount", &service_account},
    {"v1", "Service", &service},
    {"v1", "Pod", &pod},
    {"apps/v1", "Deployment", &deployment},
    {"autoscaling/v1", "HorizontalPodAutoscaler", &hpa1},
    {"autoscaling/v2", "HorizontalPodAutoscaler", &hpa2},
    {"policy/v1", "Eviction", &eviction},
    {"rbac.authorization.k8s.io/v1", "Role", &role},
    {"rbac.authorization.k8s.io/v1", "ClusterRole", &cluster_role},
    {"rbac.authorization.k8s.io/v1", "RoleBinding", &role_binding},
    {"rbac.authorization.k8s.io/v1", "ClusterRoleBinding", &cluster_role_binding},
    {"authorization.k8s.io/v1", "SelfSubjectAccessReview", &ssar},
    {"authorization.k8s.io/v1", "SelfSubjectRulesReview", &ssrr},
    {"authorization.k8s.io/v1", "SubjectAccessReview", &sar},
    {"authorization.k8s.io/v1", "LocalSubjectAccessReview", &sar},
    {"authentication.k8s.io/v1", "SelfSubjectReview", &ssr},
    {"authentication.k8s.io/v1", "TokenRequest", &treq},
    {"authentication.k8s.io/v1", "TokenReview", &trev},
    {"meta.k8s.io/v1", "DeleteOptions", &delete_options},
    {"v1", "DeleteOptions", &delete_options},
};

/* ---- wire format ---- */

typedef struct rd {
  const uint8_t *p, *end;
} rd;

static int varint(rd *r, uint64_t *v)
{
  *v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (r->p >= r->end) return -1;
    uint8_t b = *r->p++;
    *v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) return 0;
  }
  return -1;
}

static int lenbytes(rd *r, const uint8_t **data, size_t *len)
{
  uint64_t n;
  if (varint(r, &n) < 0 || n > (uint64_t)(r->end - r->p)) return -1;
  *data = r->p;
  *len = (size_t)n;
  r->p += n;
  return 0;
}

static int skip(rd *r, int wt)
{
  uint64_t v;
  const uint8_t *d;
  size_t n;
  switch (wt) {
  case 0: return varint(r, &v);
  case 1: if (r->end - r->p < 8) return -1; r->p += 8; return 0;
  case 2: return lenbytes(r, &d, &n);
  case 5: if (r->end - r->p < 4) return -1; r->p += 4; return 0;
  default: return -1;
  }
}

static json_t *b64(const uint8_t *d, size_t n)
{
  char *out = drv_malloc(4 * ((n + 2) / 3) + 1);
  EVP_EncodeBlock((unsigned char *)out, d, (int)n);
  json_t *s = json_string(out);
  free(out);
  return s;
}

static json_t *decode_msg(const pb_msg *m, const uint8_t *d, size_t n, drv_err *err, int depth);

/* A small message {1: string} (Quantity) or an IntOrString or a Time. */
static json_t *decode_special(pb_kind k, const uint8_t *d, size_t n, drv_err *err)
{
  rd r = {d, d + n};
  uint64_t type = 0, ival = 0, secs = 0, nanos = 0;
  json_t *str = NULL;
  while (r.p < r.end) {
    uint64_t tag;
    if (varint(&r, &tag) < 0) goto bad;
    int num = (int)(tag >> 3), wt = (int)(tag & 7);
    if (wt == 2) {
      const uint8_t *s;
      size_t sl;
      if (lenbytes(&r, &s, &sl) < 0) goto bad;
      if ((k == PB_QTY && num == 1) || (k == PB_INTSTR && num == 3)) {
        json_decref(str);
        str = json_stringn((const char *)s, sl);
        if (!str) goto bad;
      }
    } else if (wt == 0) {
      uint64_t v;
      if (varint(&r, &v) < 0) goto bad;
      if (k == PB_INTSTR && num == 1) type = v;
      if (k == PB_INTSTR && num == 2) ival = v;
      if (k == PB_TIME && num == 1) secs = v;
      if (k == PB_TIME && num == 2) nanos = v;
    } else if (skip(&r, wt) < 0) {
      goto bad;
    }
  }
  if (k == PB_TIME) {
    if (!secs && !nanos) return json_null();
    time_t t = (time_t)(int64_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    char buf[64];
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_string(buf);
  }
  if (k == PB_INTSTR && type == 0) {
    json_decref(str);
    return json_integer((json_int_t)(int32_t)ival);
  }
  return str ? str : json_string("");
bad:
  json_decref(str);
  drv_error(err, 0, "malformed protobuf value");
  return NULL;
}

static json_t *decode_map_entry(pb_kind k, const uint8_t *d, size_t n, char **key, drv_err *err)
{
  rd r = {d, d + n};
  json_t *val = NULL;
  *key = NULL;
  while (r.p < r.end) {
    uint64_t tag;
    const uint8_t *s;
    size_t sl;
    if (varint(&r, &tag) < 0 || (tag & 7) != 2 || lenbytes(&r, &s, &sl) < 0) goto bad;
    if ((tag >> 3) == 1) {
      free(*key);
      *key = drv_strndup((const char *)s, sl);
    } else if ((tag >> 3) == 2) {
      json_decref(val);
      if (k == PB_MAP_SS)
        val = json_stringn((const char *)s, sl);
      else if (k == PB_MAP_SB)
        val = b64(s, sl);
      else
        val = decode_special(PB_QTY, s, sl, err);
      if (!val) goto bad;
    }
  }
  if (!*key) *key = drv_strdup("");
  if (!val) val = json_string("");
  return val;
bad:
  free(*key);
  *key = NULL;
  json_decref(val);
  if (!err->msg[0]) drv_error(err, 0, "malformed protobuf map entry");
  return NULL;
}

static json_t *decode_msg(const pb_msg *m, const uint8_t *d, size_t n, drv_err *err, int depth)
{
  if (depth > 32) {
    drv_error(err, 0, "protobuf nesting too deep");
    return NULL;
  }
  json_t *obj = json_object();
  rd r = {d, d + n};
  while (r.p < r.end) {
    uint64_t tag;
    if (varint(&r, &tag) < 0) goto bad;
    int num = (int)(tag >> 3), wt = (int)(tag & 7);
    const pb_field *f = m->fields;
    while (f->name && f->num != num) f++;
    if (!f->name) {
      /* Go encodes non-pointer fields even at their zero value: those carry nothing */
      const uint8_t *at = r.p;
      uint64_t x = 1;
      const uint8_t *sd;
      size_t sl = 1;
      bool zero = (wt == 0 && varint(&r, &x) == 0 && x == 0) ||
                  (wt == 2 && lenbytes(&r, &sd, &sl) == 0 && sl == 0);
      if (zero) continue;
      r.p = at;
      if (m->ignore_unknown && skip(&r, wt) == 0) continue;
      drv_error(err, 0, "field %d of %s is not supported in protobuf bodies: send JSON or YAML", num, m->name);
      goto fail;
    }
    json_t *v = NULL;
    if (wt == 0) {
      uint64_t x;
      if (varint(&r, &x) < 0 || (f->kind != PB_INT && f->kind != PB_BOOL)) goto bad;
      if (x == 0 && !f->pointer && !f->repeated) continue; /* Go's omitempty */
      v = f->kind == PB_BOOL ? json_boolean(x != 0) : json_integer((json_int_t)(int64_t)x);
    } else if (wt == 2) {
      const uint8_t *s;
      size_t sl;
      if (lenbytes(&r, &s, &sl) < 0) goto bad;
      switch (f->kind) {
      case PB_STR:
        if (sl == 0 && !f->repeated) continue; /* Go's omitempty */
        v = json_stringn((const char *)s, sl);
        if (!v) {
          drv_error(err, 0, "%s.%s: not UTF-8", m->name, f->name);
          goto fail;
        }
        break;
      case PB_BYTES: v = b64(s, sl); break;
      case PB_MSG: v = decode_msg(f->msg, s, sl, err, depth + 1); break;
      case PB_TIME:
      case PB_QTY:
      case PB_INTSTR:
        v = decode_special(f->kind, s, sl, err);
        if (v && json_is_null(v)) {
          json_decref(v);
          continue;
        }
        break;
      case PB_MAP_SS:
      case PB_MAP_SB:
      case PB_MAP_SQ: {
        char *key;
        json_t *val = decode_map_entry(f->kind, s, sl, &key, err);
        if (!val) goto fail;
        json_t *map = json_object_get(obj, f->name);
        if (!map) {
          map = json_object();
          json_object_set_new(obj, f->name, map);
        }
        json_object_set_new(map, key, val);
        free(key);
        continue;
      }
      default: goto bad;
      }
      if (!v) goto fail;
    } else {
      goto bad;
    }
    if (f->repeated) {
      json_t *arr = json_object_get(obj, f->name);
      if (!arr) {
        arr = json_array();
        json_object_set_new(obj, f->name, arr);
      }
      json_array_append_new(arr, v);
    } else {
      json_object_set_new(obj, f->name, v);
    }
  }
  return obj;
bad:
  drv_error(err, 0, "malformed protobuf in %s", m->name);
fail:
  json_decref(obj);
  return NULL;
}

bool drv_pb_is_protobuf(const char *content_type)
{
  return content_type && strncmp(content_type, "application/vnd.kubernetes.protobuf", 35) == 0;
}

json_t *drv_pb_decode(const char *body, size_t len, drv_err *err)
{
  const uint8_t *d = (const uint8_t *)body;
  if (len < 4 || memcmp(d, "k8s\0", 4) != 0) {
    drv_error(err, 0, "protobuf body without the k8s envelope");
    return NULL;
  }
  rd r = {d + 4, d + len};
  char av[128] = "", kind[128] = "";
  const uint8_t *raw = NULL;
  size_t raw_len = 0;
  while (r.p < r.end) {
    uint64_t tag;
    const uint8_t *s;
    size_t sl;
    if (varint(&r, &tag) < 0) goto bad;
    if ((tag & 7) != 2) {
      if (skip(&r, (int)(tag & 7)) < 0) goto bad;
      continue;
    }
    if (lenbytes(&r, &s, &sl) < 0) goto bad;
    if ((tag >> 3) == 1) { /* typeMeta {apiVersion 1, kind 2} */
      rd t = {s, s + sl};
      while (t.p < t.end) {
        uint64_t tt;
        const uint8_t *ts;
        size_t tl;
        if (varint(&t, &tt) < 0 || (tt & 7) != 2 || lenbytes(&t, &ts, &tl) < 0) goto bad;
        char *dst = (tt >> 3) == 1 ? av : (tt >> 3) == 2 ? kind : NULL;
        if (dst) snprintf(dst, 128, "%.*s", (int)(tl < 127 ? tl : 127), (const char *)ts);
      }
    } else if ((tag >> 3) == 2) {
      raw = s;
      raw_len = sl;
    }
  }
  for (size_t i = 0; i < DRV_ARRAY_LEN(top); i++) {
    if (strcmp(top[i].api_version, av) || strcmp(top[i].kind, kind)) continue;
    json_t *obj = decode_msg(top[i].msg, raw ? raw : (const uint8_t *)"", raw_len, err, 0);
    if (!obj) return NULL;
    json_object_set_new(obj, "apiVersion", json_string(av));
    json_object_set_new(obj, "kind", json_string(kind));
    return obj;
  }
  drv_error(err, 0, "protobuf bodies of %s %s are not supported: send JSON or YAML", av, kind);
  return NULL;
bad:
  drv_error(err, 0, "malformed protobuf envelope");
  return NULL;
}
