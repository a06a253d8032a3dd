#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "runtime/runtime.h"
#include "runtime/spec.h"

/* Parses text; returns the spec (or NULL) and leaves the error in err. */
static drv_rt_spec *parse(const char *text, drv_err *err)
{
  json_error_t je;
  json_t *doc = json_loads(text, 0, &je);
  assert_non_null(doc);
  drv_rt_spec *s = NULL;
  int r = drv_rt_spec_parse(doc, &s, err);
  json_decref(doc);
  if (r < 0) assert_null(s);
  return s;
}

#define BASE "\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"}"
#define PROC "\"process\":{\"args\":[\"/bin/true\"],\"cwd\":\"/\"}"

static void default_spec_parses(void **state)
{
  (void)state;
  json_t *d = drv_rt_spec_default(false);
  drv_rt_spec *s = NULL;
  drv_err err;
  assert_int_equal(drv_rt_spec_parse(d, &s, &err), 0);
  assert_true(s->has_process);
  assert_string_equal(s->process.args[0], "sh");
  assert_true(s->root_readonly);
  assert_int_equal(s->nmounts, 7);
  assert_true(s->new_ns_flags & CLONE_NEWPID);
  assert_true(s->new_ns_flags & CLONE_NEWNS);
  assert_false(s->joins);
  assert_true(s->process.caps[DRV_CAP_BOUNDING] & (1ULL << 5)); /* CAP_KILL */
  assert_true(s->process.no_new_privileges);
  assert_int_equal(s->process.nrlimits, 1);
  drv_rt_spec_free(s);
  json_decref(d);
  d = drv_rt_spec_default(true);
  assert_int_equal(drv_rt_spec_parse(d, &s, &err), 0);
  assert_true(s->new_ns_flags & CLONE_NEWUSER);
  assert_int_equal(s->nuid_maps, 1);
  drv_rt_spec_free(s);
  json_decref(d);
}

static void errors_name_the_field(void **state)
{
  (void)state;
  static const struct {
    const char *text, *want;
  } cases[] = {
      {"{\"root\":{\"path\":\"r\"}}", "ociVersion"},
      {"{\"ociVersion\":\"2.0.0\",\"root\":{\"path\":\"r\"}}", "ociVersion: unsupported"},
      {"{\"ociVersion\":\"1.0.0\"}", "root: required"},
      {"{" BASE ",\"process\":{\"args\":[]}}", "process.args"},
      {"{" BASE ",\"process\":{\"args\":[\"x\"],\"cwd\":\"rel\"}}", "process.cwd"},
      {"{" BASE ",\"process\":{\"args\":[\"x\"],\"env\":[\"NOEQUALS\"]}}", "process.env[0]"},
      {"{" BASE ",\"process\":{\"args\":[\"x\"],\"user\":{\"uid\":-1}}}", "process.user.uid"},
      {"{" BASE ",\"process\":{\"args\":[\"x\"],\"capabilities\":{\"effective\":[\"CAP_X\"]}}}",
       "process.capabilities.effective[0]: unknown capability `CAP_X`"},
      {"{" BASE ",\"process\":{\"args\":[\"x\"],\"rlimits\":[{\"type\":\"RLIMIT_FOO\",\"soft\":1,\"hard\":1}]}}",
       "process.rlimits[0].type"},
      {"{" BASE ",\"process\":{\"args\":[\"x\"],\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":2,\"hard\":1}]}}",
       "process.rlimits[0]: soft limit"},
      {"{" BASE ",\"process\":{\"args\":[\"x\"],\"oomScoreAdj\":5000}}", "process.oomScoreAdj"},
      {"{" BASE ",\"mounts\":[{\"type\":\"tmpfs\"}]}", "mounts[0].destination"},
      {"{" BASE ",\"mounts\":[{\"destination\":\"rel\",\"type\":\"tmpfs\"}]}", "mounts[0].destination"},
      {"{" BASE ",\"mounts\":[{\"destination\":\"/a\",\"options\":[\"bind\"]}]}", "mounts[0].source"},
      {"{" BASE ",\"linux\":{\"namespaces\":[{\"type\":\"foo\"}]}}",
       "linux.namespaces[0].type: unknown namespace type `foo`"},
      {"{" BASE ",\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"pid\"}]}}",
       "linux.namespaces[1].type: namespace `pid` listed twice"},
      {"{" BASE ",\"linux\":{\"namespaces\":[{\"type\":\"net\"}]}}", "linux.namespaces[0].type"},
      {"{" BASE ",\"linux\":{\"namespaces\":[{\"type\":\"user\"}]}}", "linux.uidMappings"},
      {"{" BASE ",\"linux\":{\"uidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}]}}",
       "linux.uidMappings"},
      {"{" BASE ",\"linux\":{\"namespaces\":[{\"type\":\"user\"}],\"uidMappings\":[{\"containerID\":0,\"hostID\":1}],"
       "\"gidMappings\":[]}}", "linux.uidMappings[0].size"},
      {"{" BASE ",\"linux\":{\"devices\":[{\"path\":\"/dev/x\",\"type\":\"z\",\"major\":1,\"minor\":1}]}}",
       "linux.devices[0].type"},
      {"{" BASE ",\"linux\":{\"sysctl\":{\"net.x\":1}}}", "linux.sysctl.net.x"},
      {"{" BASE ",\"linux\":{\"rootfsPropagation\":\"sideways\"}}", "linux.rootfsPropagation"},
      {"{" BASE ",\"linux\":{\"maskedPaths\":[\"rel\"]}}", "linux.maskedPaths[0]"},
      {"{" BASE ",\"hooks\":{\"prestart\":[{\"path\":\"rel\"}]}}", "hooks.prestart[0].path"},
      {"{" BASE ",\"hooks\":{\"poststop\":[{\"path\":\"/x\",\"timeout\":0}]}}", "hooks.poststop[0].timeout"},
      {"{" BASE ",\"hostname\":\"h\"}", "hostname"},
      {"{" BASE ",\"annotations\":{\"a\":1}}", "annotations.a"},
      {"{" BASE ",\"linux\":{\"personality\":{\"domain\":\"BSD\"}}}", "linux.personality.domain"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    drv_err err;
    drv_err_clear(&err);
    drv_rt_spec *s = parse(cases[i].text, &err);
    if (s || !strstr(err.msg, cases[i].want))
      fail_msg("case %zu: want error with `%s`, got `%s`", i, cases[i].want, s ? "(ok)" : err.msg);
  }
}

static void mounts_options_and_namespaces(void **state)
{
  (void)state;
  drv_err err;
  drv_rt_spec *s = parse(
      "{" BASE "," PROC ",\"hostname\":\"h\","
      "\"mounts\":[{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"/src\","
      "\"options\":[\"rbind\",\"ro\",\"nosuid\",\"rslave\",\"rnoexec\"]},"
      "{\"destination\":\"/t\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"size=1m\",\"mode=755\",\"noexec\",\"rw\"]}],"
      "\"linux\":{\"namespaces\":[{\"type\":\"uts\"},{\"type\":\"network\",\"path\":\"/proc/1/ns/net\"}],"
      "\"sysctl\":{\"net.ipv4.ip_forward\":\"1\"}}}",
      &err);
  if (!s) fail_msg("%s", err.msg);
  assert_true(s->mounts[0].bind);
  assert_true(s->mounts[0].flags & MS_REC);
  assert_true(s->mounts[0].flags & MS_RDONLY);
  assert_true(s->mounts[0].flags & MS_NOSUID);
  assert_int_equal(s->mounts[0].propagation, MS_SLAVE | MS_REC);
  assert_true(s->mounts[0].rec_set != 0);
  assert_null(s->mounts[0].data);
  assert_string_equal(s->mounts[1].data, "size=1m,mode=755");
  assert_true(s->mounts[1].flags & MS_NOEXEC);
  assert_false(s->mounts[1].flags & MS_RDONLY);
  assert_true(s->joins);
  assert_int_equal(s->new_ns_flags, CLONE_NEWUTS);
  assert_string_equal(s->ns[1].path, "/proc/1/ns/net");
  assert_int_equal(s->nsysctl, 1);
  assert_string_equal(s->sysctl_keys[0], "net.ipv4.ip_forward");
  drv_rt_spec_free(s);
}

static void process_for_exec(void **state)
{
  (void)state;
  json_t *p = json_loads("{\"args\":[\"sh\"],\"env\":[\"A=1\"],\"user\":{\"uid\":5,\"gid\":6,"
                         "\"additionalGids\":[7,8],\"umask\":18},\"terminal\":true,"
                         "\"consoleSize\":{\"height\":24,\"width\":80}}",
                         0, NULL);
  drv_rt_process proc;
  drv_err err;
  assert_int_equal(drv_rt_process_parse(p, "process", true, &proc, &err), 0);
  assert_int_equal(proc.uid, 5);
  assert_int_equal(proc.gid, 6);
  assert_int_equal(proc.ngroups, 2);
  assert_int_equal(proc.groups[1], 8);
  assert_true(proc.has_umask);
  assert_int_equal(proc.umask, 022);
  assert_true(proc.terminal);
  assert_int_equal(proc.console_width, 80);
  assert_string_equal(proc.cwd, "/");
  drv_rt_process_clear(&proc);
  json_decref(p);
}

static void ids_are_checked(void **state)
{
  (void)state;
  drv_err err;
  assert_int_equal(drv_rt_check_id("abc-1.2_x+y", &err), 0);
  assert_int_equal(drv_rt_check_id("", &err), -1);
  assert_int_equal(drv_rt_check_id("..", &err), -1);
  assert_int_equal(drv_rt_check_id("a/b", &err), -1);
  assert_non_null(strstr(err.msg, "invalid character"));
  assert_int_equal(drv_rt_ns_type("network"), CLONE_NEWNET);
  assert_int_equal(drv_rt_ns_type("nope"), 0);
  assert_int_equal(drv_rt_cap_from_name("CAP_SYS_ADMIN"), 21);
  assert_int_equal(drv_rt_cap_from_name("CAP_NOPE"), -1);
}

static void features_and_status(void **state)
{
  (void)state;
  json_t *f = drv_rt_features();
  assert_non_null(json_object_get(f, "hooks"));
  assert_true(json_array_size(json_object_get(f, "mountOptions")) > 20);
  json_decref(f);
  assert_string_equal(drv_rt_status_name(DRV_RT_PAUSED), "paused");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(default_spec_parses),   cmocka_unit_test(errors_name_the_field),
      cmocka_unit_test(mounts_options_and_namespaces), cmocka_unit_test(process_for_exec),
      cmocka_unit_test(ids_are_checked),       cmocka_unit_test(features_and_status),
  };
  return cmocka_run_group_tests_name("runtime_spec", tests, NULL, NULL);
}
