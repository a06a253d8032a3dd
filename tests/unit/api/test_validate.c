/* Defaults, validation causes, field validation, strategies, conversion. */
#include "helpers.h"

#include "api/convert.h"
#include "api/defaults.h"
#include "api/fieldvalidation.h"
#include "api/resource.h"
#include "api/status.h"
#include "api/strategy.h"
#include "api/validate.h"
#include "common/json.h"

static const drv_api_resource *R(const char *g, const char *v, const char *p)
{
  const drv_api_resource *r = drv_api_resource_find(g, v, p);
  assert_non_null(r);
  return r;
}

static void pod_defaults(void **state)
{
  (void)state;
  json_t *pod = J("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"nginx\","
                  "\"ports\":[{\"containerPort\":80}],\"resources\":{\"limits\":{\"cpu\":\"1\"}},"
                  "\"readinessProbe\":{\"httpGet\":{\"port\":80}}},{\"name\":\"b\",\"image\":\"reg:5000/x:1.2\",\"resources\":{\"limits\":{\"memory\":\"131072Ki\",\"cpu\":1.5},\"requests\":{\"cpu\":\"2000m\"}}},"
                  "{\"name\":\"c\",\"image\":\"x:latest\"},{\"name\":\"d\",\"image\":\"x@sha256:ab\"}]}}");
  drv_api_default(R("", "v1", "pods"), pod);
  json_t *s = json_object_get(pod, "spec");
  assert_string_equal(drv_json_get_str(s, "restartPolicy"), "Always");
  assert_string_equal(drv_json_get_str(s, "dnsPolicy"), "ClusterFirst");
  assert_int_equal(drv_json_get_int(s, "terminationGracePeriodSeconds", 0), 30);
  assert_string_equal(drv_json_get_str(s, "schedulerName"), "default-scheduler");
  assert_string_equal(drv_json_get_str(s, "serviceAccountName"), "default");
  assert_true(json_is_true(json_object_get(s, "enableServiceLinks")));
  json_t *cs = json_object_get(s, "containers");
  json_t *a = json_array_get(cs, 0);
  assert_string_equal(drv_json_get_str(a, "imagePullPolicy"), "Always");
  assert_string_equal(drv_json_get_str(a, "terminationMessagePath"), "/dev/termination-log");
  assert_string_equal(drv_json_get_str(a, "terminationMessagePolicy"), "File");
  assert_string_equal(drv_json_get_str(json_array_get(json_object_get(a, "ports"), 0), "protocol"), "TCP");
  assert_string_equal(drv_json_get_str(a, "resources.requests.cpu"), "1");
  assert_string_equal(drv_json_get_str(json_array_get(cs, 1), "resources.limits.memory"), "128Mi");
  assert_string_equal(drv_json_get_str(json_array_get(cs, 1), "resources.limits.cpu"), "1500m");
  assert_string_equal(drv_json_get_str(json_array_get(cs, 1), "resources.requests.cpu"), "2");
  assert_int_equal(drv_json_get_int(a, "readinessProbe.periodSeconds", 0), 10);
  assert_string_equal(drv_json_get_str(a, "readinessProbe.httpGet.scheme"), "HTTP");
  assert_string_equal(drv_json_get_str(json_array_get(cs, 1), "imagePullPolicy"), "IfNotPresent");
  assert_string_equal(drv_json_get_str(json_array_get(cs, 2), "imagePullPolicy"), "Always");
  assert_string_equal(drv_json_get_str(json_array_get(cs, 3), "imagePullPolicy"), "IfNotPresent");
  assert_non_null(drv_json_get(json_array_get(cs, 1), "resources"));
  json_decref(pod);
}

static void workload_defaults(void **state)
{
  (void)state;
  json_t *d = J("{\"spec\":{\"replicas\":3.0,\"selector\":{\"matchLabels\":{\"a\":\"b\"}},\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i:1\"}]}}}}");
  drv_api_default(R("apps", "v1", "deployments"), d);
  assert_int_equal(drv_json_get_int(d, "spec.replicas", 0), 3);
  assert_int_equal(drv_json_get_int(d, "spec.revisionHistoryLimit", 0), 10);
  assert_int_equal(drv_json_get_int(d, "spec.progressDeadlineSeconds", 0), 600);
  assert_string_equal(drv_json_get_str(d, "spec.strategy.type"), "RollingUpdate");
  assert_string_equal(drv_json_get_str(d, "spec.strategy.rollingUpdate.maxSurge"), "25%");
  assert_string_equal(drv_json_get_str(d, "spec.template.spec.restartPolicy"), "Always");
  assert_null(drv_json_get(d, "spec.template.spec.serviceAccountName")); /* admission: pods only */
  json_decref(d);
  json_t *s = J("{\"spec\":{\"ports\":[{\"port\":80},{\"port\":53,\"protocol\":\"UDP\",\"targetPort\":\"dns\"}]}}");
  drv_api_default(R("", "v1", "services"), s);
  assert_string_equal(drv_json_get_str(s, "spec.type"), "ClusterIP");
  assert_string_equal(drv_json_get_str(s, "spec.sessionAffinity"), "None");
  assert_string_equal(drv_json_get_str(s, "spec.internalTrafficPolicy"), "Cluster");
  assert_json_eq(drv_json_get(s, "spec.ipFamilies"), "[\"IPv4\"]");
  assert_json_eq(drv_json_get(s, "spec.ports"), "[{\"port\":80,\"protocol\":\"TCP\",\"targetPort\":80},{\"port\":53,\"protocol\":\"UDP\",\"targetPort\":\"dns\"}]");
  json_decref(s);
  json_t *ns = J("{\"metadata\":{\"name\":\"x\"}}");
  drv_api_default(R("", "v1", "namespaces"), ns);
  assert_json_eq(drv_json_get(ns, "spec.finalizers"), "[\"kubernetes\"]");
  assert_string_equal(drv_json_get_str(ns, "status.phase"), "Active");
  json_decref(ns);
  json_t *sec = J("{\"stringData\":{\"k\":\"hello\"}}");
  drv_api_default(R("", "v1", "secrets"), sec);
  assert_string_equal(drv_json_get_str(sec, "type"), "Opaque");
  assert_string_equal(drv_json_get_str(sec, "data.k"), "aGVsbG8=");
  assert_null(json_object_get(sec, "stringData"));
  json_decref(sec);
  json_t *h = J("{\"spec\":{\"maxReplicas\":3,\"behavior\":{}}}");
  drv_api_default(R("autoscaling", "v2", "horizontalpodautoscalers"), h);
  assert_int_equal(drv_json_get_int(h, "spec.minReplicas", 0), 1);
  assert_int_equal(drv_json_get_int(h, "spec.behavior.scaleDown.stabilizationWindowSeconds", 0), 300);
  assert_int_equal(json_array_size(drv_json_get(h, "spec.behavior.scaleUp.policies")), 2);
  assert_string_equal(drv_json_get_str(json_array_get(drv_json_get(h, "spec.metrics"), 0), "resource.name"), "cpu");
  json_decref(h);
  /* every NodeSystemInfo string is present (the Python client requires kubeProxyVersion) */
  json_t *node = J("{\"metadata\":{\"name\":\"n\"},\"status\":{\"nodeInfo\":{\"kubeletVersion\":\"v1\"}}}");
  drv_api_default(R("", "v1", "nodes"), node);
  assert_string_equal(drv_json_get_str(node, "status.nodeInfo.kubeProxyVersion"), "");
  assert_string_equal(drv_json_get_str(node, "status.nodeInfo.bootID"), "");
  assert_string_equal(drv_json_get_str(node, "status.nodeInfo.kubeletVersion"), "v1");
  json_decref(node);
}

/* Returns the joined "field: message" list of a validation result, "" when valid. */
static char *causes_of(json_t *st)
{
  if (!st) return strdup("");
  assert_int_equal(drv_status_code(st), 422);
  char *s = strdup(json_string_value(json_object_get(st, "message")));
  json_decref(st);
  return s;
}

/* subPath, subPathExpr, items paths and file modes, as Kubernetes' validateLocal*Path. */
static void pod_volume_paths(void **state)
{
  (void)state;
  const drv_api_resource *pods = R("", "v1", "pods");
  json_t *bad = J("{\"metadata\":{\"name\":\"v\"},\"spec\":{\"volumes\":["
                  "{\"name\":\"cm\",\"configMap\":{\"name\":\"x\",\"defaultMode\":512,\"items\":[{\"key\":\"k\",\"path\":\"../k\"},{\"key\":\"\",\"path\":\"..k\",\"mode\":-1}]}},"
                  "{\"name\":\"d\",\"downwardAPI\":{\"items\":[{\"path\":\"/abs\",\"fieldRef\":{\"fieldPath\":\"metadata.name\"}}]}},"
                  "{\"name\":\"p\",\"projected\":{\"sources\":[{\"secret\":{\"name\":\"s\",\"items\":[{\"key\":\"k\",\"path\":\"a/../../b\"}]}}]}},"
                  "{\"name\":\"e\",\"emptyDir\":{}}],"
                  "\"containers\":[{\"name\":\"c\",\"image\":\"i\",\"volumeMounts\":["
                  "{\"name\":\"e\",\"mountPath\":\"/a\",\"subPath\":\"x/../../y\"},"
                  "{\"name\":\"e\",\"mountPath\":\"/b\",\"subPath\":\"/abs\"},"
                  "{\"name\":\"e\",\"mountPath\":\"/c\",\"subPath\":\"s\",\"subPathExpr\":\"$(X)\"}]}]}}");
  char *msg = causes_of(drv_api_validate(pods, bad, NULL));
  const char *want[] = {
      "spec.volumes[0].configMap.defaultMode: Invalid value: 512: must be a number between 0 and 0777 (octal), both inclusive",
      "spec.volumes[0].configMap.items[0].path: Invalid value: \"../k\": must not contain '..'",
      "spec.volumes[0].configMap.items[1].path: Invalid value: \"..k\": must not start with '..'",
      "spec.volumes[0].configMap.items[1].key: Required value",
      "spec.volumes[0].configMap.items[1].mode: Invalid value: -1",
      "spec.volumes[1].downwardAPI.items[0].path: Invalid value: \"/abs\": must be a relative path",
      "spec.volumes[2].projected.sources[0].secret.items[0].path: Invalid value: \"a/../../b\": must not contain '..'",
      "spec.containers[0].volumeMounts[0].subPath: Invalid value: \"x/../../y\": must not contain '..'",
      "spec.containers[0].volumeMounts[1].subPath: Invalid value: \"/abs\": must be a relative path",
      "spec.containers[0].volumeMounts[2].subPathExpr: Invalid value: \"$(X)\": subPathExpr and subPath are mutually exclusive",
  };
  for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
    if (!strstr(msg, want[i])) fail_msg("missing `%s` in %s", want[i], msg);
  free(msg);
  json_decref(bad);
  /* names with dots that are not `..` elements are fine */
  json_t *ok = J("{\"metadata\":{\"name\":\"v\"},\"spec\":{\"volumes\":[{\"name\":\"e\",\"emptyDir\":{}},"
                 "{\"name\":\"cm\",\"configMap\":{\"name\":\"x\",\"items\":[{\"key\":\"k\",\"path\":\"a..b/c.d\",\"mode\":384}]}}],"
                 "\"containers\":[{\"name\":\"c\",\"image\":\"i\",\"volumeMounts\":[{\"name\":\"e\",\"mountPath\":\"/a\",\"subPath\":\"a..b/..c\"},"
                 "{\"name\":\"cm\",\"mountPath\":\"/b\"}]}]}}");
  drv_api_default(pods, ok);
  json_t *st = drv_api_validate(pods, ok, NULL);
  if (st) fail_msg("valid pod refused: %s", json_string_value(json_object_get(st, "message")));
  json_decref(ok);
}

static void pod_validation_causes(void **state)
{
  (void)state;
  const drv_api_resource *pods = R("", "v1", "pods");
  json_t *pod = J("{\"metadata\":{\"name\":\"Bad_Name\",\"labels\":{\"a\":\"-x\"}},\"spec\":{\"containers\":["
                  "{\"name\":\"c\",\"ports\":[{\"containerPort\":0}],\"volumeMounts\":[{\"name\":\"nope\",\"mountPath\":\"/m\"}]},"
                  "{\"name\":\"c\",\"image\":\"x\",\"imagePullPolicy\":\"Sometimes\",\"env\":[{\"name\":\"1X\"}],"
                  "\"resources\":{\"requests\":{\"cpu\":\"2\"},\"limits\":{\"cpu\":\"1\"}}}],\"restartPolicy\":\"Maybe\"}}");
  json_t *st = drv_api_validate(pods, pod, NULL);
  assert_non_null(st);
  assert_string_equal(drv_json_get_str(st, "details.kind"), "Pod");
  assert_string_equal(drv_json_get_str(st, "details.name"), "Bad_Name");
  json_t *causes = drv_json_get(st, "details.causes");
  const char *want[] = {"metadata.name", "metadata.labels", "spec.containers[0].image",
                        "spec.containers[0].ports[0].containerPort", "spec.containers[0].volumeMounts[0].name",
                        "spec.containers[1].name", "spec.containers[1].imagePullPolicy",
                        "spec.containers[1].env[0].name", "spec.containers[1].resources.requests[cpu]",
                        "spec.restartPolicy"};
  for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
    bool found = false;
    size_t j;
    json_t *c;
    json_array_foreach(causes, j, c) if (!strcmp(json_string_value(json_object_get(c, "field")), want[i])) found = true;
    if (!found) fail_msg("no cause for %s in %s", want[i], json_string_value(json_object_get(st, "message")));
  }
  char *msg = causes_of(st);
  assert_non_null(strstr(msg, "spec.containers[0].image: Required value"));
  assert_non_null(strstr(msg, "spec.containers[1].name: Duplicate value: \"c\""));
  assert_non_null(strstr(msg, "spec.containers[0].ports[0].containerPort: Invalid value: 0: must be between 1 and 65535, inclusive"));
  assert_non_null(strstr(msg, "spec.restartPolicy: Unsupported value: \"Maybe\": supported values: \"Always\", \"OnFailure\", \"Never\""));
  assert_non_null(strstr(msg, "must be less than or equal to cpu limit of 1"));
  free(msg);
  json_decref(pod);
  /* a good pod, defaulted, passes; the one-cause message has no brackets */
  pod = J("{\"metadata\":{\"name\":\"ok\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}");
  drv_api_default(pods, pod);
  assert_null(drv_api_validate(pods, pod, NULL));
  json_t *bad = json_deep_copy(pod);
  json_object_del(json_array_get(drv_json_get(bad, "spec.containers"), 0), "image");
  msg = causes_of(drv_api_validate(pods, bad, NULL));
  assert_string_equal(msg, "Pod \"ok\" is invalid: spec.containers[0].image: Required value");
  free(msg);
  json_decref(bad);
  /* volumes: exactly one source; probe ports */
  bad = J("{\"metadata\":{\"name\":\"v\"},\"spec\":{\"volumes\":[{\"name\":\"a\"},{\"name\":\"b\",\"emptyDir\":{},\"hostPath\":{\"path\":\"/x\"}}],"
          "\"containers\":[{\"name\":\"c\",\"image\":\"i\",\"livenessProbe\":{\"httpGet\":{\"port\":0}}}]}}");
  msg = causes_of(drv_api_validate(pods, bad, NULL));
  assert_non_null(strstr(msg, "spec.volumes[0]: Required value: must specify a volume type"));
  assert_non_null(strstr(msg, "spec.volumes[1].emptyDir: Forbidden: may not specify more than 1 volume type"));
  assert_non_null(strstr(msg, "spec.containers[0].livenessProbe.httpGet.port: Invalid value: 0"));
  free(msg);
  json_decref(bad);
  /* type errors are named before rules */
  bad = J("{\"metadata\":{\"name\":\"t\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\",\"ports\":[{\"containerPort\":\"80\"}]}]}}");
  msg = causes_of(drv_api_validate(pods, bad, NULL));
  assert_non_null(strstr(msg, "spec.containers[0].ports[0].containerPort: Invalid value: \"80\": must be of type integer"));
  free(msg);
  json_decref(bad);
  /* updates: image may change, command may not */
  json_t *upd = json_deep_copy(pod);
  json_object_set_new(json_array_get(drv_json_get(upd, "spec.containers"), 0), "image", json_string("busybox:2"));
  assert_null(drv_api_validate(pods, upd, pod));
  json_object_set_new(json_array_get(drv_json_get(upd, "spec.containers"), 0), "command", json_pack("[s]", "sh"));
  msg = causes_of(drv_api_validate(pods, upd, pod));
  assert_non_null(strstr(msg, "spec: Forbidden: pod updates may not change fields other than"));
  free(msg);
  json_decref(upd);
  json_decref(pod);
}

static void deployment_validation(void **state)
{
  (void)state;
  const drv_api_resource *d = R("apps", "v1", "deployments");
  json_t *dep = J("{\"metadata\":{\"name\":\"web\"},\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"web\"}},"
                  "\"template\":{\"metadata\":{\"labels\":{\"app\":\"other\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}}}");
  drv_api_default(d, dep);
  char *msg = causes_of(drv_api_validate(d, dep, NULL));
  assert_non_null(strstr(msg, "spec.template.metadata.labels: Invalid value: {\"app\":\"other\"}: `selector` does not match template `labels`"));
  free(msg);
  json_object_set_new(drv_json_get(dep, "spec.template.metadata.labels"), "app", json_string("web"));
  assert_null(drv_api_validate(d, dep, NULL));
  json_t *nosel = json_deep_copy(dep);
  drv_json_del(nosel, "spec.selector");
  msg = causes_of(drv_api_validate(d, nosel, NULL));
  assert_non_null(strstr(msg, "spec.selector: Required value"));
  free(msg);
  json_decref(nosel);
  json_t *upd = json_deep_copy(dep);
  drv_json_set(upd, "spec.selector.matchLabels.tier", json_string("x"));
  drv_json_set(upd, "spec.template.metadata.labels.tier", json_string("x"));
  msg = causes_of(drv_api_validate(d, upd, dep));
  assert_non_null(strstr(msg, "spec.selector: Invalid value:"));
  assert_non_null(strstr(msg, "field is immutable"));
  free(msg);
  json_decref(upd);
  json_t *rec = json_deep_copy(dep);
  drv_json_set(rec, "spec.strategy.type", json_string("Recreate"));
  msg = causes_of(drv_api_validate(d, rec, NULL));
  assert_non_null(strstr(msg, "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"));
  free(msg);
  json_decref(rec);
  json_decref(dep);
  /* services, namespaces, configmaps */
  const drv_api_resource *svc = R("", "v1", "services");
  json_t *s = J("{\"metadata\":{\"name\":\"1svc\"},\"spec\":{\"ports\":[{\"port\":70000},{\"port\":80}]}}");
  msg = causes_of(drv_api_validate(svc, s, NULL));
  assert_non_null(strstr(msg, "metadata.name: Invalid value: \"1svc\": a DNS-1035 label"));
  assert_non_null(strstr(msg, "spec.ports[0].port: Invalid value: 70000"));
  assert_non_null(strstr(msg, "spec.ports[0].name: Required value"));
  free(msg);
  json_decref(s);
  json_t *cnp = J("{\"metadata\":{\"name\":\"s\"},\"spec\":{\"type\":\"ClusterIP\",\"ports\":[{\"port\":80,\"nodePort\":30001}]}}");
  msg = causes_of(drv_api_validate(svc, cnp, NULL));
  assert_non_null(strstr(msg, "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"));
  free(msg);
  drv_json_set(cnp, "spec.type", json_string("NodePort"));
  msg = causes_of(drv_api_validate(svc, cnp, NULL));
  assert_string_equal(msg, "");
  free(msg);
  /* NodePort → ClusterIP: the node port kept from before is dropped, the update is valid */
  json_t *cip = json_deep_copy(cnp);
  drv_json_set(cip, "spec.type", json_string("ClusterIP"));
  drv_api_prepare_for_update(svc, cip, cnp);
  assert_null(json_object_get(json_array_get(drv_json_get(cip, "spec.ports"), 0), "nodePort"));
  msg = causes_of(drv_api_validate(svc, cip, cnp));
  assert_string_equal(msg, "");
  free(msg);
  json_decref(cip);
  json_decref(cnp);
  json_t *cm = J("{\"metadata\":{\"name\":\"c\"},\"data\":{\"bad key\":\"v\"}}");
  msg = causes_of(drv_api_validate(R("", "v1", "configmaps"), cm, NULL));
  assert_non_null(strstr(msg, "data[bad key]: Invalid value: \"bad key\": a valid config key"));
  free(msg);
  json_decref(cm);
  /* 1 MiB of keys and values at most (binaryData and Secret data counted decoded) */
  char *big = malloc(1048576 + 1);
  memset(big, 'x', 1048576);
  big[1048576] = 0;
  json_t *cmbig = json_pack("{s:{s:s}, s:{s:s%}}", "metadata", "name", "c", "data", "k", big, (size_t)1048575);
  msg = causes_of(drv_api_validate(R("", "v1", "configmaps"), cmbig, NULL));
  assert_string_equal(msg, "");
  free(msg);
  json_object_set_new(json_object_get(cmbig, "data"), "k", json_stringn(big, 1048576));
  msg = causes_of(drv_api_validate(R("", "v1", "configmaps"), cmbig, NULL));
  assert_non_null(strstr(msg, "[]: Too long: must have at most 1048576 bytes"));
  free(msg);
  json_decref(cmbig);
  /* Secret data counted decoded: 1398100 base64 chars are 1048575 bytes, + "k" = the limit */
  char *b64 = malloc(1398104);
  memset(b64, 'A', 1398104);
  json_t *sec = json_pack("{s:{s:s}, s:{s:s%}}", "metadata", "name", "s", "data", "k", b64, (size_t)1398100);
  msg = causes_of(drv_api_validate(R("", "v1", "secrets"), sec, NULL));
  assert_string_equal(msg, "");
  free(msg);
  b64[1398102] = b64[1398103] = '='; /* 1048576 bytes, one over */
  json_object_set_new(json_object_get(sec, "data"), "k", json_stringn(b64, 1398104));
  msg = causes_of(drv_api_validate(R("", "v1", "secrets"), sec, NULL));
  assert_non_null(strstr(msg, "data: Too long: must have at most 1048576 bytes"));
  free(msg);
  free(b64);
  json_decref(sec);
  free(big);
  json_t *noname = J("{\"metadata\":{}}");
  msg = causes_of(drv_api_validate(R("", "v1", "configmaps"), noname, NULL));
  assert_non_null(strstr(msg, "metadata.name: Required value: name or generateName is required"));
  free(msg);
  json_decref(noname);
  json_t *h = J("{\"metadata\":{\"name\":\"h\"},\"spec\":{\"scaleTargetRef\":{\"kind\":\"Deployment\",\"name\":\"web\"},\"minReplicas\":3,\"maxReplicas\":2}}");
  msg = causes_of(drv_api_validate(R("autoscaling", "v2", "horizontalpodautoscalers"), h, NULL));
  assert_non_null(strstr(msg, "spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`"));
  free(msg);
  json_decref(h);
}

static void field_validation(void **state)
{
  (void)state;
  const drv_api_resource *d = R("apps", "v1", "deployments");
  const char *body = "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"x\"},"
                     "\"spec\":{\"replicas\":1,\"replicas\":2,\"foo\":1,\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"imagee\":\"x\"}]}}}}";
  json_t *st = NULL, *warn = NULL;
  assert_null(drv_api_decode(d, body, strlen(body), false, DRV_FV_STRICT, &warn, &st));
  assert_int_equal(drv_status_code(st), 400);
  assert_string_equal(json_string_value(json_object_get(st, "message")),
                      "Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: "
                      "duplicate field \"spec.replicas\", unknown field \"spec.foo\", unknown field \"spec.template.spec.containers[0].imagee\"");
  json_decref(st);
  json_t *o = drv_api_decode(d, body, strlen(body), false, DRV_FV_WARN, &warn, &st);
  assert_non_null(o);
  assert_int_equal(json_array_size(warn), 3);
  assert_string_equal(json_string_value(json_array_get(warn, 1)), "unknown field \"spec.foo\"");
  json_decref(o);
  json_decref(warn);
  warn = NULL;
  o = drv_api_decode(d, body, strlen(body), false, DRV_FV_IGNORE, &warn, &st);
  assert_non_null(o);
  assert_null(warn);
  json_decref(o);
  /* open types (volume sources, securityContext) keep their fields; YAML bodies decode */
  const char *y = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  securityContext: {runAsUser: 1}\n"
                  "  volumes: [{name: v, emptyDir: {medium: Memory}}]\n  containers: [{name: c, image: i}]\n";
  o = drv_api_decode(R("", "v1", "pods"), y, strlen(y), true, DRV_FV_STRICT, &warn, &st);
  assert_non_null(o);
  json_decref(o);
  assert_null(drv_api_decode(d, "[1]", 3, false, DRV_FV_STRICT, &warn, &st));
  assert_int_equal(drv_status_code(st), 400);
  json_decref(st);
  char *h = drv_api_warning_header("unknown field \"spec.foo\"");
  assert_string_equal(h, "299 - \"unknown field \\\"spec.foo\\\"\"");
  free(h);
  drv_field_validation fv;
  assert_int_equal(drv_field_validation_parse(NULL, &fv), 0);
  assert_int_equal(fv, DRV_FV_WARN);
  assert_int_equal(drv_field_validation_parse("Loose", &fv), -1);
}

static void strategies_and_scale(void **state)
{
  (void)state;
  const drv_api_resource *d = R("apps", "v1", "deployments");
  json_t *dep = J("{\"metadata\":{\"name\":\"w\",\"namespace\":\"n\",\"uid\":\"u1\"},\"spec\":{\"replicas\":2,"
                  "\"selector\":{\"matchLabels\":{\"app\":\"w\"}}},\"status\":{\"replicas\":9}}");
  drv_api_prepare_for_create(d, dep);
  assert_int_equal(drv_json_get_int(dep, "metadata.generation", 0), 1);
  assert_json_eq(json_object_get(dep, "status"), "{}");
  drv_json_set(dep, "status.replicas", json_integer(2));
  json_t *upd = json_deep_copy(dep);
  drv_json_set(upd, "spec.replicas", json_integer(5));
  drv_json_set(upd, "status.replicas", json_integer(7));
  drv_json_set(upd, "metadata.uid", json_string("forged"));
  drv_api_prepare_for_update(d, upd, dep);
  assert_int_equal(drv_json_get_int(upd, "metadata.generation", 0), 2);
  assert_int_equal(drv_json_get_int(upd, "status.replicas", 0), 2);
  assert_string_equal(drv_json_get_str(upd, "metadata.uid"), "u1");
  json_t *su = json_deep_copy(upd);
  drv_json_set(su, "spec.replicas", json_integer(1));
  drv_json_set(su, "status.replicas", json_integer(5));
  drv_api_prepare_for_status_update(d, su, upd);
  assert_int_equal(drv_json_get_int(su, "spec.replicas", 0), 5);
  assert_int_equal(drv_json_get_int(su, "status.replicas", 0), 5);
  /* a node's status write gets every NodeSystemInfo string too */
  json_t *nold = J("{\"metadata\":{\"name\":\"n\"},\"spec\":{}}");
  json_t *nnew = J("{\"metadata\":{\"name\":\"n\"},\"status\":{\"nodeInfo\":{\"osImage\":\"L\"}}}");
  drv_api_prepare_for_status_update(R("", "v1", "nodes"), nnew, nold);
  assert_string_equal(drv_json_get_str(nnew, "status.nodeInfo.kubeProxyVersion"), "");
  assert_string_equal(drv_json_get_str(nnew, "status.nodeInfo.osImage"), "L");
  json_decref(nold);
  json_decref(nnew);
  json_t *scale = drv_api_scale_get(d, upd);
  assert_string_equal(drv_json_get_str(scale, "kind"), "Scale");
  assert_int_equal(drv_json_get_int(scale, "spec.replicas", 0), 5);
  assert_string_equal(drv_json_get_str(scale, "status.selector"), "app=w");
  drv_json_set(scale, "spec.replicas", json_integer(8));
  long long gen = drv_json_get_int(upd, "metadata.generation", 0);
  assert_int_equal(drv_api_scale_set(d, upd, scale), 0);
  assert_int_equal(drv_json_get_int(upd, "spec.replicas", 0), 8);
  assert_int_equal(drv_json_get_int(upd, "metadata.generation", 0), gen + 1);
  assert_int_equal(drv_api_scale_set(d, upd, scale), 0); /* same count: no new generation */
  assert_int_equal(drv_json_get_int(upd, "metadata.generation", 0), gen + 1);
  assert_null(drv_api_scale_get(R("", "v1", "pods"), upd));
  json_decref(scale);
  json_decref(su);
  json_decref(upd);
  json_decref(dep);
  json_t *pod = J("{\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":{\"limits\":{\"cpu\":\"1\",\"memory\":\"1Gi\"},\"requests\":{\"cpu\":\"1000m\",\"memory\":\"1Gi\"}}}]}}");
  drv_api_prepare_for_create(R("", "v1", "pods"), pod);
  assert_string_equal(drv_json_get_str(pod, "status.phase"), "Pending");
  assert_string_equal(drv_json_get_str(pod, "status.qosClass"), "Guaranteed");
  json_decref(pod);
}

static void conversions(void **state)
{
  (void)state;
  const drv_api_resource *v1 = R("autoscaling", "v1", "horizontalpodautoscalers");
  const drv_api_resource *v2 = R("autoscaling", "v2", "horizontalpodautoscalers");
  json_t *h1 = J("{\"metadata\":{\"name\":\"h\"},\"spec\":{\"scaleTargetRef\":{\"kind\":\"Deployment\",\"name\":\"w\"},"
                 "\"minReplicas\":1,\"maxReplicas\":5,\"targetCPUUtilizationPercentage\":50},"
                 "\"status\":{\"currentReplicas\":2,\"desiredReplicas\":3,\"currentCPUUtilizationPercentage\":70}}");
  drv_err err;
  json_t *h2 = drv_api_convert(h1, v1, v2, &err);
  assert_string_equal(drv_json_get_str(h2, "apiVersion"), "autoscaling/v2");
  assert_int_equal(drv_json_get_int(json_array_get(drv_json_get(h2, "spec.metrics"), 0), "resource.target.averageUtilization", 0), 50);
  assert_int_equal(drv_json_get_int(json_array_get(drv_json_get(h2, "status.currentMetrics"), 0), "resource.current.averageUtilization", 0), 70);
  json_t *back = drv_api_convert(h2, v2, v1, &err);
  json_object_del(back, "apiVersion");
  json_object_del(back, "kind");
  assert_true(json_equal(back, h1));
  json_decref(back);
  json_decref(h2);
  json_decref(h1);
  const drv_api_resource *ev = R("", "v1", "events"), *ev1 = R("events.k8s.io", "v1", "events");
  json_t *e = J("{\"metadata\":{\"name\":\"e\"},\"involvedObject\":{\"kind\":\"Pod\",\"name\":\"p\"},\"message\":\"m\",\"reason\":\"r\",\"count\":2,\"source\":{\"component\":\"s\"}}");
  json_t *e1 = drv_api_convert(e, ev, ev1, &err);
  assert_string_equal(drv_json_get_str(e1, "note"), "m");
  assert_string_equal(drv_json_get_str(e1, "regarding.name"), "p");
  assert_int_equal(drv_json_get_int(e1, "deprecatedCount", 0), 2);
  json_t *e0 = drv_api_convert(e1, ev1, ev, &err);
  json_object_del(e0, "apiVersion");
  json_object_del(e0, "kind");
  assert_true(json_equal(e0, e));
  json_decref(e0);
  json_decref(e1);
  assert_null(drv_api_convert(e, ev, v1, &err));
  json_decref(e);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(pod_defaults),          cmocka_unit_test(workload_defaults),
      cmocka_unit_test(pod_validation_causes), cmocka_unit_test(pod_volume_paths),
      cmocka_unit_test(deployment_validation),
      cmocka_unit_test(field_validation),      cmocka_unit_test(strategies_and_scale),
      cmocka_unit_test(conversions),
  };
  return cmocka_run_group_tests_name("api_validate", tests, NULL, NULL);
}
