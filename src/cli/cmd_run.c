/* drover run [--rm] [-d] [--name N] [--data-dir D] IMAGE [CMD...]: the quickest way to try
 * drover on one machine. Pulls the image when missing, prepares its root filesystem, turns the
 * image config into an OCI spec and runs it with the runtime library. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "common/fs.h"
#include "common/util.h"
#include "image/image.h"
#include "runtime/runtime.h"

#define DEFAULT_DATA_DIR "/var/lib/drover"

static void usage(FILE *out)
{
  fprintf(out, "usage: drover run [--rm] [-d] [--name NAME] [--data-dir DIR] [--auth-file F]\n"
               "                  [-e NAME=VALUE]... [-w DIR] [-u USER] [--entrypoint CMD] IMAGE [ARG...]\n\n"
               "Runs IMAGE (pulled when missing) as a container on this machine. ARGs replace the\n"
               "image's Cmd; --entrypoint replaces its Entrypoint. -d prints the id and returns.\n");
}

static int fail(const char *what, const drv_err *err)
{
  fprintf(stderr, "drover run: %s%s%s\n", what ? what : "", what ? ": " : "", err->msg);
  return 125;
}

static json_t *strv_json(char **v)
{
  json_t *a = json_array();
  for (; v && *v; v++) json_array_append_new(a, json_string(*v));
  return a;
}

/* The container's spec: drover's default spec with the image's process. */
static json_t *build_spec(const drv_image_process *p, uint32_t uid, uint32_t gid, const char *id)
{
  json_t *spec = drv_rt_spec_default(false);
  json_t *proc = json_object_get(spec, "process");
  json_object_set_new(proc, "terminal", json_false());
  json_object_set_new(proc, "args", strv_json(p->args));
  json_object_set_new(proc, "env", strv_json(p->env));
  json_object_set_new(proc, "cwd", json_string(p->cwd));
  json_object_set_new(proc, "user", json_pack("{s:I,s:I}", "uid", (json_int_t)uid, "gid", (json_int_t)gid));
  json_object_set_new(spec, "root", json_pack("{s:s,s:b}", "path", "rootfs", "readonly", 0));
  char host[64];
  snprintf(host, sizeof host, "%.12s", id);
  json_object_set_new(spec, "hostname", json_string(host));
  return spec;
}

static char *random_id(void)
{
  unsigned char b[8];
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0 || read(fd, b, sizeof b) != (ssize_t)sizeof b) {
    long long t = drv_now_ns();
    memcpy(b, &t, sizeof b);
  }
  if (fd >= 0) close(fd);
  return drv_asprintf("%02x%02x%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]);
}

static void cleanup(const char *rt_root, const char *id, const char *bundle, bool remove_bundle)
{
  drv_err err;
  drv_rt_delete(rt_root, id, true, &err);
  drv_image_rootfs_remove(bundle, &err);
  if (remove_bundle) drv_rm_rf(bundle, &err);
}

/* For -d --rm: a small process of its own session waits for the container to stop, then
 * removes it and its root filesystem. */
static void spawn_reaper(const char *rt_root, const char *id, const char *bundle)
{
  pid_t pid = fork();
  if (pid != 0) {
    if (pid > 0) waitpid(pid, NULL, 0);
    return;
  }
  setsid();
  if (fork() != 0) _exit(0);
  int null = open("/dev/null", O_RDWR);
  if (null >= 0) {
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
  }
  for (;;) {
    drv_rt_state st = {0};
    drv_err err;
    if (drv_rt_state_get(rt_root, id, &st, &err) < 0) break;
    bool stopped = st.status == DRV_RT_STOPPED;
    drv_rt_state_clear(&st);
    if (stopped) break;
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  cleanup(rt_root, id, bundle, true);
  _exit(0);
}

/* Foreground runs: SIGINT/SIGTERM/SIGHUP/SIGQUIT sent to drover go to the container's init.
 * A handler calling kill(2) (async-signal-safe); no thread, since the runtime clones. */
static volatile pid_t forward_pid;

static void forward_signal(int sig)
{
  if (forward_pid > 0) kill(forward_pid, sig);
}

static int run_foreground(const drv_rt_create_opts *co, int *exit_code, drv_err *err)
{
  pid_t pid;
  if (drv_rt_create(co, &pid, err) < 0) return -1;
  static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
  struct sigaction sa = {.sa_handler = forward_signal}, old[DRV_ARRAY_LEN(sigs)];
  sigemptyset(&sa.sa_mask);
  forward_pid = pid;
  for (size_t i = 0; i < DRV_ARRAY_LEN(sigs); i++) sigaction(sigs[i], &sa, &old[i]);
  int rc = drv_rt_start(co->root, co->id, err);
  if (rc == 0) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  forward_pid = 0;
  for (size_t i = 0; i < DRV_ARRAY_LEN(sigs); i++) sigaction(sigs[i], &old[i], NULL);
  drv_err derr;
  drv_rt_delete(co->root, co->id, true, &derr);
  return rc;
}

enum { OPT_RM = 1000, OPT_NAME, OPT_DATA_DIR, OPT_AUTH, OPT_ENTRYPOINT };

int drv_cmd_run(int argc, char **argv)
{
  static const struct option opts[] = {
      {"rm", no_argument, NULL, OPT_RM},
      {"detach", no_argument, NULL, 'd'},
      {"name", required_argument, NULL, OPT_NAME},
      {"data-dir", required_argument, NULL, OPT_DATA_DIR},
      {"auth-file", required_argument, NULL, OPT_AUTH},
      {"entrypoint", required_argument, NULL, OPT_ENTRYPOINT},
      {"env", required_argument, NULL, 'e'},
      {"workdir", required_argument, NULL, 'w'},
      {"user", required_argument, NULL, 'u'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  bool rm = false, detach = false;
  const char *name = NULL, *data_dir = DEFAULT_DATA_DIR, *auth = NULL, *entrypoint = NULL;
  const char *workdir = NULL, *user = NULL;
  _cleanup_strv_ char **env = drv_calloc(1, sizeof(char *));
  size_t nenv = 0;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "+de:w:u:h", opts, NULL)) != -1) {
    switch (c) {
    case OPT_RM: rm = true; break;
    case 'd': detach = true; break;
    case OPT_NAME: name = optarg; break;
    case OPT_DATA_DIR: data_dir = optarg; break;
    case OPT_AUTH: auth = optarg; break;
    case OPT_ENTRYPOINT: entrypoint = optarg; break;
    case 'w': workdir = optarg; break;
    case 'u': user = optarg; break;
    case 'e':
      if (!strchr(optarg, '=')) {
        fprintf(stderr, "drover run: -e `%s`: want NAME=VALUE\n", optarg);
        return 125;
      }
      env = drv_realloc(env, (nenv + 2) * sizeof(char *));
      env[nenv++] = drv_strdup(optarg);
      env[nenv] = NULL;
      break;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return 125;
    }
  }
  if (optind >= argc) {
    usage(stderr);
    return 125;
  }
  const char *ref = argv[optind];
  char **cmd = optind + 1 < argc ? argv + optind + 1 : NULL;

  drv_err err;
  drv_image_store *s;
  if (drv_image_store_open(data_dir, &s, &err) < 0) return fail(NULL, &err);
  drv_image *img = NULL;
  drv_image_pull_opts po = {.policy = DRV_IMAGE_PULL_IF_NOT_PRESENT, .auth_file = auth};
  int rc = 125;
  _cleanup_free_ char *id = name ? drv_strdup(name) : random_id();
  _cleanup_free_ char *bundle = drv_asprintf("%s/containers/%s", data_dir, id);
  _cleanup_free_ char *rt_root = drv_asprintf("%s/runtime", data_dir);
  _cleanup_free_ char *rootfs = NULL, *cfgpath = NULL;
  drv_image_process proc = {0};
  json_t *spec = NULL;
  bool made_bundle = false;
  if (drv_image_pull(s, ref, &po, &img, &err) < 0) {
    rc = fail(NULL, &err);
    goto out;
  }
  if (drv_path_exists(bundle)) {
    fprintf(stderr, "drover run: a container named `%s` exists (%s)\n", id, bundle);
    goto out;
  }
  char *ep[] = {(char *)entrypoint, NULL};
  char *empty[] = {NULL};
  drv_image_overrides ov = {.command = entrypoint ? ep : NULL,
                            .args = cmd ? cmd : (entrypoint ? empty : NULL), .env = env,
                            .working_dir = workdir, .user = user};
  /* docker semantics: --entrypoint without args drops the image's Cmd, ARGs keep Entrypoint */
  if (drv_image_process_from_config(&img->config, &ov, &proc, &err) < 0) {
    rc = fail(img->ref, &err);
    goto out;
  }
  if (drv_mkdir_p(bundle, 0711, &err) < 0) {
    rc = fail(NULL, &err);
    goto out;
  }
  made_bundle = true;
  if (drv_image_rootfs_prepare(s, img, bundle, &rootfs, &err) < 0) {
    rc = fail(NULL, &err);
    goto out;
  }
  uint32_t uid = 0, gid = 0;
  if (drv_image_resolve_user(rootfs, proc.user, &uid, &gid, &err) < 0) {
    rc = fail(img->ref, &err);
    goto out;
  }
  spec = build_spec(&proc, uid, gid, id);
  char *text = json_dumps(spec, JSON_INDENT(2));
  cfgpath = drv_asprintf("%s/config.json", bundle);
  int wrc = drv_write_file_atomic(cfgpath, text, strlen(text), 0644, &err);
  free(text);
  if (wrc < 0) {
    rc = fail(NULL, &err);
    goto out;
  }
  drv_rt_create_opts co;
  drv_rt_create_opts_init(&co);
  co.root = rt_root;
  co.id = id;
  co.bundle = bundle;
  co.spec = spec;
  if (detach) {
    co.detach = true;
    co.monitor = true;
    pid_t pid;
    if (drv_rt_run(&co, false, NULL, &pid, &err) < 0) {
      rc = fail(NULL, &err);
      goto out;
    }
    if (rm) spawn_reaper(rt_root, id, bundle);
    printf("%s\n", id);
    made_bundle = false; /* it belongs to the running container now */
    rc = 0;
    goto out;
  }
  int exit_code = 0;
  if (run_foreground(&co, &exit_code, &err) < 0) {
    rc = fail(NULL, &err);
    goto out;
  }
  rc = exit_code;
  cleanup(rt_root, id, bundle, rm);
  made_bundle = false;
out:
  if (made_bundle) cleanup(rt_root, id, bundle, true);
  json_decref(spec);
  drv_image_process_free(&proc);
  drv_image_free(img);
  drv_image_store_close(s);
  return rc;
}
