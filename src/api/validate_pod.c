/* Pod spec validation (PodSpec and pod templates), as Kubernetes' ValidatePodSpec. */
#include <string.h>

#include "api/quantity.h"
#include "api/validate.h"
#include "api/validate_util.h"
#include "common/json.h"
#include "common/util.h"

static const char *const pull_policies[] = {"Always", "IfNotPresent", "Never", NULL};
static const char *const protocols[] = {"SCTP", "TCP", "UDP", NULL};
static const char *const restart_policies[] = {"Always", "OnFailure", "Never", NULL};
static const char *const dns_policies[] = {"ClusterFirst", "ClusterFirstWithHostNet", "Default", "None", NULL};
static const char *const msg_policies[] = {"File", "FallbackToLogsOnError", NULL};
static const char *const toleration_ops[] = {"Equal", "Exists", NULL};
static const char *const taint_effects[] = {"NoExecute", "NoSchedule", "PreferNoSchedule", NULL};

static void resources(vctx *v, const char *path, const json_t *res)
{
  if (!json_is_object(res)) return;
  const char *which[] = {"limits", "requests"};
  json_t *parsed[2] = {json_object(), json_object()};
  for (int w = 0; w < 2; w++) {
    json_t *m = json_object_get(res, which[w]);
    const char *k;
    json_t *q;
    json_object_foreach(m, k, q)
    {
      char *base = v_path(path, which[w]);
      char *p = drv_asprintf("%s[%s]", base, k);
      free(base);
      drv_quantity qty;
      drv_err err;
      char text[64];
      const char *s = json_string_value(q);
      if (json_is_integer(q)) {
        snprintf(text, sizeof(text), "%lld", (long long)json_integer_value(q));
        s = text;
      } else if (json_is_real(q)) {
        snprintf(text, sizeof(text), "%g", json_real_value(q));
        s = text;
      }
      if (!s || drv_quantity_parse(s, &qty, &err) < 0) {
        v_invalid(v, p, q, s ? err.msg : "must be a quantity");
      } else if (qty.milli < 0) {
        v_invalid(v, p, q, "must be greater than or equal to 0");
      } else {
        json_object_set_new(parsed[w], k, json_integer(qty.milli));
      }
      free(p);
    }
  }
  const char *k;
  json_t *req;
  json_object_foreach(parsed[1], k, req)
  {
    json_t *lim = json_object_get(parsed[0], k);
    if (lim && json_integer_value(req) > json_integer_value(lim)) {
      char *base = v_path(path, "requests");
      char *p = drv_asprintf("%s[%s]", base, k);
      json_t *lv = json_object_get(json_object_get(res, "limits"), k);
      char *ls = json_is_string(lv) ? drv_strdup(json_string_value(lv)) : json_dumps(lv, JSON_ENCODE_ANY);
      char *detail = drv_asprintf("must be less than or equal to %s limit of %s", k, ls ? ls : "");
      free(ls);
      v_invalid(v, p, json_object_get(json_object_get(res, "requests"), k), detail);
      free(detail);
      free(p);
      free(base);
    }
  }
  json_decref(parsed[0]);
  json_decref(parsed[1]);
}

/* A probe or hook port: a number in range or an IANA service name. */
static void handler_port(vctx *v, const char *path, const json_t *handler)
{
  json_t *port = json_object_get(handler, "port");
  if (!json_is_object(handler)) return;
  char *f = v_path(path, "port");
  if (!port) v_required(v, f, NULL);
  else if (json_is_integer(port)) v_port(v, f, port, false);
  else if (json_is_string(port)) {
    const char *why = v_check_port_name(json_string_value(port));
    if (why) v_invalid(v, f, port, why);
  }
  free(f);
}

static void probe(vctx *v, const char *path, const json_t *p)
{
  if (!json_is_object(p)) return;
  const char *ported[] = {"httpGet", "tcpSocket"};
  for (size_t i = 0; i < 2; i++) {
    char *hp = v_path(path, ported[i]);
    handler_port(v, hp, json_object_get(p, ported[i]));
    free(hp);
  }
  const char *nums[] = {"initialDelaySeconds", "timeoutSeconds", "periodSeconds",
                        "successThreshold", "failureThreshold"};
  for (size_t i = 0; i < DRV_ARRAY_LEN(nums); i++) {
    json_t *n = json_object_get(p, nums[i]);
    if (json_is_integer(n) && json_integer_value(n) < 0) {
      char *f = v_path(path, nums[i]);
      v_invalid(v, f, n, "must be greater than or equal to 0");
      free(f);
    }
  }
  int handlers = 0;
  const char *hs[] = {"exec", "httpGet", "tcpSocket", "grpc"};
  for (size_t i = 0; i < 4; i++)
    if (json_object_get(p, hs[i])) handlers++;
  if (handlers == 0) v_required(v, path, "must specify a handler type");
  else if (handlers > 1) v_forbidden(v, path, "may not specify more than 1 handler type");
}

/* Kubernetes' validateLocalDescendingPath (reserved: also validateLocalNonReservedPath). */
static void local_path(vctx *v, const char *field, const char *p, bool reserved)
{
  bool dotdot = false;
  for (const char *s = p; *s;) {
    size_t n = strcspn(s, "/");
    if (n == 2 && !strncmp(s, "..", 2)) dotdot = true;
    s += n;
    while (*s == '/') s++;
  }
  if (p[0] == '/') v_invalid_str(v, field, p, "must be a relative path");
  if (dotdot) v_invalid_str(v, field, p, "must not contain '..'");
  else if (reserved && !strncmp(p, "..", 2)) v_invalid_str(v, field, p, "must not start with '..'");
}

static void file_mode(vctx *v, const char *base, const json_t *obj, const char *key)
{
  json_t *m = json_object_get(obj, key);
  if (!json_is_integer(m) || (json_integer_value(m) >= 0 && json_integer_value(m) <= 0777)) return;
  char *f = v_path(base, key);
  v_invalid_int(v, f, json_integer_value(m), "must be a number between 0 and 0777 (octal), both inclusive");
  free(f);
}

/* items of configMap/secret (key, path, mode) or downwardAPI (path, mode) sources. */
static void volume_items(vctx *v, const char *base, const json_t *src, bool keyed)
{
  file_mode(v, base, src, "defaultMode");
  char *ip = v_path(base, "items");
  size_t i;
  json_t *it;
  json_array_foreach(json_object_get(src, "items"), i, it)
  {
    char *e = v_index(ip, i);
    char *f = v_path(e, "path");
    const char *path = json_string_value(json_object_get(it, "path"));
    if (!path || !*path) v_required(v, f, NULL);
    else local_path(v, f, path, true);
    free(f);
    const char *key = json_string_value(json_object_get(it, "key"));
    if (keyed && (!key || !*key)) {
      f = v_path(e, "key");
      v_required(v, f, NULL);
      free(f);
    }
    file_mode(v, e, it, "mode");
    free(e);
  }
  free(ip);
}

static void container(vctx *v, const char *path, const json_t *c, json_t *names,
                      const json_t *volumes, bool ephemeral)
{
  char *f;
  const char *name = json_string_value(json_object_get(c, "name"));
  f = v_path(path, "name");
  if (!name || !*name) v_required(v, f, NULL);
  else {
    const char *why = drv_api_check_dns1123_label(name);
    if (why) v_invalid_str(v, f, name, why);
    else if (json_object_get(names, name)) v_duplicate(v, f, json_object_get(c, "name"));
    json_object_set_new(names, name, json_true());
  }
  free(f);
  const char *image = json_string_value(json_object_get(c, "image"));
  f = v_path(path, "image");
  if (!image || !*image) v_required(v, f, NULL);
  else if (image[0] == ' ' || image[strlen(image) - 1] == ' ')
    v_invalid_str(v, f, image, "must not have leading or trailing whitespace");
  free(f);
  v_optional_one_of(v, path, c, "imagePullPolicy", pull_policies);
  v_optional_one_of(v, path, c, "terminationMessagePolicy", msg_policies);
  char *ports_path = v_path(path, "ports");
  size_t i;
  json_t *p;
  json_t *port_names = json_object();
  json_array_foreach(json_object_get(c, "ports"), i, p)
  {
    char *pp = v_index(ports_path, i);
    if (ephemeral) {
      v_forbidden(v, pp, "cannot be set for an Ephemeral Container");
      free(pp);
      continue;
    }
    f = v_path(pp, "containerPort");
    json_t *cp = json_object_get(p, "containerPort");
    if (!cp) v_required(v, f, NULL);
    else v_port(v, f, cp, false);
    free(f);
    f = v_path(pp, "hostPort");
    v_port(v, f, json_object_get(p, "hostPort"), true);
    free(f);
    const char *proto = json_string_value(json_object_get(p, "protocol"));
    if (proto) {
      f = v_path(pp, "protocol");
      v_one_of(v, f, proto, protocols);
      free(f);
    }
    const char *pn = json_string_value(json_object_get(p, "name"));
    if (pn && *pn) {
      f = v_path(pp, "name");
      const char *why = v_check_port_name(pn);
      if (why) v_invalid_str(v, f, pn, why);
      else if (json_object_get(port_names, pn)) v_duplicate(v, f, json_object_get(p, "name"));
      json_object_set_new(port_names, pn, json_true());
      free(f);
    }
    free(pp);
  }
  json_decref(port_names);
  free(ports_path);
  char *env_path = v_path(path, "env");
  json_t *e;
  json_array_foreach(json_object_get(c, "env"), i, e)
  {
    char *ep = v_index(env_path, i);
    f = v_path(ep, "name");
    const char *en = json_string_value(json_object_get(e, "name"));
    if (!en || !*en) v_required(v, f, NULL);
    else {
      const char *why = v_check_env_name(en);
      if (why) v_invalid_str(v, f, en, why);
    }
    free(f);
    if (json_object_get(e, "value") && json_object_get(e, "valueFrom") &&
        json_string_length(json_object_get(e, "value")) > 0) {
      f = v_path(ep, "valueFrom");
      v_invalid(v, f, NULL, "may not be specified when `value` is not empty");
      free(f);
    }
    free(ep);
  }
  free(env_path);
  f = v_path(path, "resources");
  resources(v, f, json_object_get(c, "resources"));
  free(f);
  char *vm_path = v_path(path, "volumeMounts");
  json_t *mount_paths = json_object();
  json_t *m;
  json_array_foreach(json_object_get(c, "volumeMounts"), i, m)
  {
    char *mp = v_index(vm_path, i);
    const char *vn = json_string_value(json_object_get(m, "name"));
    f = v_path(mp, "name");
    if (!vn || !*vn) v_required(v, f, NULL);
    else {
      bool found = false;
      size_t j;
      json_t *vol;
      json_array_foreach(volumes, j, vol)
      {
        const char *n2 = json_string_value(json_object_get(vol, "name"));
        if (n2 && !strcmp(n2, vn)) found = true;
      }
      if (!found) v_not_found(v, f, json_object_get(m, "name"));
    }
    free(f);
    const char *mpath = json_string_value(json_object_get(m, "mountPath"));
    f = v_path(mp, "mountPath");
    if (!mpath || !*mpath) v_required(v, f, NULL);
    else if (json_object_get(mount_paths, mpath)) v_invalid_str(v, f, mpath, "must be unique");
    else json_object_set_new(mount_paths, mpath, json_true());
    free(f);
    const char *sp = json_string_value(json_object_get(m, "subPath"));
    const char *spe = json_string_value(json_object_get(m, "subPathExpr"));
    if (sp && *sp) {
      f = v_path(mp, "subPath");
      local_path(v, f, sp, false);
      free(f);
    }
    if (spe && *spe) {
      f = v_path(mp, "subPathExpr");
      if (sp && *sp) v_invalid_str(v, f, spe, "subPathExpr and subPath are mutually exclusive");
      local_path(v, f, spe, false);
      free(f);
    }
    free(mp);
  }
  json_decref(mount_paths);
  free(vm_path);
  const char *probes[] = {"livenessProbe", "readinessProbe", "startupProbe"};
  for (size_t k = 0; k < 3; k++) {
    json_t *pr = json_object_get(c, probes[k]);
    if (!pr) continue;
    f = v_path(path, probes[k]);
    if (ephemeral) v_forbidden(v, f, "cannot be set for an Ephemeral Container");
    else probe(v, f, pr);
    free(f);
  }
}

void v_pod_spec(vctx *v, const char *path, const json_t *spec)
{
  char *f;
  if (!json_is_object(spec)) {
    v_required(v, path, NULL);
    return;
  }
  json_t *volumes = json_object_get(spec, "volumes");
  json_t *vol_names = json_object();
  size_t i;
  json_t *vol;
  char *vpath = v_path(path, "volumes");
  json_array_foreach(volumes, i, vol)
  {
    char *vp = v_index(vpath, i);
    /* exactly one volume source */
    static const char *const sources[] = {
        "hostPath", "emptyDir", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "secret",
        "nfs", "iscsi", "glusterfs", "persistentVolumeClaim", "rbd", "flexVolume", "cinder",
        "cephfs", "flocker", "downwardAPI", "fc", "azureFile", "configMap", "vsphereVolume",
        "quobyte", "azureDisk", "photonPersistentDisk", "projected", "portworxVolume", "scaleIO",
        "storageos", "csi", "ephemeral", "image", NULL};
    const char *first = NULL;
    for (size_t k = 0; sources[k]; k++) {
      json_t *src = json_object_get(vol, sources[k]);
      if (!src || json_is_null(src)) continue;
      if (first) {
        f = v_path(vp, sources[k]);
        v_forbidden(v, f, "may not specify more than 1 volume type");
        free(f);
      } else first = sources[k];
    }
    if (!first && json_is_object(vol)) v_required(v, vp, "must specify a volume type");
    if (first && !strcmp(first, "hostPath")) {
      const char *hp = drv_json_get_str(vol, "hostPath.path");
      if (!hp || !*hp) {
        f = drv_asprintf("%s.hostPath.path", vp);
        v_required(v, f, NULL);
        free(f);
      }
      static const char *const hp_types[] = {"", "DirectoryOrCreate", "Directory", "FileOrCreate", "File",
                                             "Socket", "CharDevice", "BlockDevice", NULL};
      const char *t = drv_json_get_str(vol, "hostPath.type");
      if (t) {
        f = drv_asprintf("%s.hostPath.type", vp);
        v_one_of(v, f, t, hp_types);
        free(f);
      }
    }
    if (first && (!strcmp(first, "configMap") || !strcmp(first, "secret") || !strcmp(first, "downwardAPI"))) {
      f = v_path(vp, first);
      volume_items(v, f, json_object_get(vol, first), strcmp(first, "downwardAPI") != 0);
      free(f);
    } else if (first && !strcmp(first, "projected")) {
      f = v_path(vp, "projected");
      file_mode(v, f, json_object_get(vol, "projected"), "defaultMode");
      char *sp = v_path(f, "sources");
      size_t k;
      json_t *src;
      json_array_foreach(drv_json_get(vol, "projected.sources"), k, src)
      {
        char *e = v_index(sp, k);
        const char *kinds[] = {"configMap", "secret", "downwardAPI"};
        for (int q = 0; q < 3; q++) {
          json_t *x = json_object_get(src, kinds[q]);
          if (!json_is_object(x)) continue;
          char *g = v_path(e, kinds[q]);
          volume_items(v, g, x, q < 2);
          free(g);
        }
        json_t *sat = json_object_get(src, "serviceAccountToken");
        if (json_is_object(sat)) { /* as kube validates a projected token */
          char *g = v_path(e, "serviceAccountToken");
          char *pf = v_path(g, "path"), *ef = v_path(g, "expirationSeconds");
          const char *tp = json_string_value(json_object_get(sat, "path"));
          if (!tp || !*tp) v_required(v, pf, NULL);
          else if (tp[0] == '/' || strstr(tp, "..")) v_invalid_str(v, pf, tp, "must be a relative path without '..'");
          json_t *es = json_object_get(sat, "expirationSeconds");
          if (es && !json_is_integer(es)) v_invalid(v, ef, es, "must be an integer");
          else if (es && json_integer_value(es) < 600)
            v_invalid_int(v, ef, json_integer_value(es), "may not specify a duration less than 10 minutes");
          else if (es && json_integer_value(es) > (1LL << 32))
            v_invalid_int(v, ef, json_integer_value(es), "may not specify a duration larger than 2^32 seconds");
          free(pf), free(ef), free(g);
        }
        free(e);
      }
      free(sp);
      free(f);
    }
    f = v_path(vp, "name");
    const char *n = json_string_value(json_object_get(vol, "name"));
    if (!n || !*n) v_required(v, f, NULL);
    else {
      const char *why = drv_api_check_dns1123_label(n);
      if (why) v_invalid_str(v, f, n, why);
      else if (json_object_get(vol_names, n)) v_duplicate(v, f, json_object_get(vol, "name"));
      json_object_set_new(vol_names, n, json_true());
    }
    free(f);
    free(vp);
  }
  free(vpath);
  json_decref(vol_names);
  json_t *names = json_object();
  json_t *containers = json_object_get(spec, "containers");
  char *cpath = v_path(path, "containers");
  if (json_array_size(containers) == 0) v_required(v, cpath, NULL);
  json_t *c;
  json_array_foreach(containers, i, c)
  {
    char *p = v_index(cpath, i);
    if (json_is_object(c)) container(v, p, c, names, volumes, false);
    free(p);
  }
  free(cpath);
  cpath = v_path(path, "initContainers");
  json_array_foreach(json_object_get(spec, "initContainers"), i, c)
  {
    char *p = v_index(cpath, i);
    if (json_is_object(c)) container(v, p, c, names, volumes, false);
    const char *rp = json_string_value(json_object_get(c, "restartPolicy"));
    if (rp && strcmp(rp, "Always")) {
      char *rf = v_path(p, "restartPolicy");
      static const char *const always[] = {"Always", NULL};
      v_unsupported(v, rf, rp, always);
      free(rf);
    }
    free(p);
  }
  free(cpath);
  cpath = v_path(path, "ephemeralContainers");
  json_array_foreach(json_object_get(spec, "ephemeralContainers"), i, c)
  {
    char *p = v_index(cpath, i);
    if (json_is_object(c)) container(v, p, c, names, volumes, true);
    free(p);
  }
  free(cpath);
  json_decref(names);
  v_optional_one_of(v, path, spec, "restartPolicy", restart_policies);
  v_optional_one_of(v, path, spec, "dnsPolicy", dns_policies);
  json_t *tgp = json_object_get(spec, "terminationGracePeriodSeconds");
  if (json_is_integer(tgp) && json_integer_value(tgp) < 0) {
    f = v_path(path, "terminationGracePeriodSeconds");
    v_invalid(v, f, tgp, "must be greater than or equal to 0");
    free(f);
  }
  json_t *ads = json_object_get(spec, "activeDeadlineSeconds");
  if (json_is_integer(ads) && json_integer_value(ads) < 1) {
    f = v_path(path, "activeDeadlineSeconds");
    v_invalid(v, f, ads, "must be between 1 and 2147483647, inclusive");
    free(f);
  }
  f = v_path(path, "nodeSelector");
  v_labels(v, f, json_object_get(spec, "nodeSelector"));
  free(f);
  const char *sa = json_string_value(json_object_get(spec, "serviceAccountName"));
  if (sa && *sa) {
    const char *why = drv_api_check_dns1123_subdomain(sa);
    if (why) {
      f = v_path(path, "serviceAccountName");
      v_invalid_str(v, f, sa, why);
      free(f);
    }
  }
  const char *hn = json_string_value(json_object_get(spec, "hostname"));
  if (hn && *hn && drv_api_check_dns1123_label(hn)) {
    f = v_path(path, "hostname");
    v_invalid_str(v, f, hn, drv_api_check_dns1123_label(hn));
    free(f);
  }
  char *tpath = v_path(path, "tolerations");
  json_t *t;
  json_array_foreach(json_object_get(spec, "tolerations"), i, t)
  {
    char *tp = v_index(tpath, i);
    const char *op = json_string_value(json_object_get(t, "operator"));
    const char *key = json_string_value(json_object_get(t, "key"));
    const char *val = json_string_value(json_object_get(t, "value"));
    const char *eff = json_string_value(json_object_get(t, "effect"));
    if (op) {
      f = v_path(tp, "operator");
      if (v_one_of(v, f, op, toleration_ops) && !strcmp(op, "Exists") && val && *val) {
        char *vf = v_path(tp, "operator");
        v_invalid_str(v, vf, val, "value must be empty when `operator` is 'Exists'");
        free(vf);
      }
      free(f);
    }
    if ((!key || !*key) && op && strcmp(op, "Exists")) {
      f = v_path(tp, "operator");
      v_invalid_str(v, f, op, "operator must be Exists when `key` is empty, which means \"match all values and all keys\"");
      free(f);
    }
    if (key && *key && drv_api_check_label_key(key)) {
      f = v_path(tp, "key");
      v_invalid_str(v, f, key, drv_api_check_label_key(key));
      free(f);
    }
    if (eff && *eff) {
      f = v_path(tp, "effect");
      v_one_of(v, f, eff, taint_effects);
      free(f);
    }
    json_t *ts = json_object_get(t, "tolerationSeconds");
    if (ts && !json_is_null(ts) && (!eff || strcmp(eff, "NoExecute"))) {
      f = v_path(tp, "effect");
      v_invalid_str(v, f, eff ? eff : "", "effect must be 'NoExecute' when `tolerationSeconds` is set");
      free(f);
    }
    free(tp);
  }
  free(tpath);
}
