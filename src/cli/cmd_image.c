/* drover image pull|ls|rm|inspect|import|prune: a thin CLI over the image library. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "common/util.h"
#include "image/image.h"
#include "image/import.h"

#define DEFAULT_DATA_DIR "/var/lib/drover"

static void usage(FILE *out)
{
  fprintf(out,
          "usage: drover image COMMAND [--data-dir DIR] ...\n\n"
          "  pull [--auth-file F] [--ca-file F] [--insecure] [-q] REF\n"
          "  ls [-q]                      list local images\n"
          "  rm REF|ID...                 remove references (and the content no image needs)\n"
          "  inspect REF|ID               print an image's details as JSON\n"
          "  import [--name REF] PATH     load a `docker save` or OCI archive, or an OCI layout dir\n"
          "  prune                        remove blobs and layers no image references\n"
          "  mount [--repeat N] REF DIR   make DIR/rootfs: the image's root filesystem (overlay, or a\n"
          "                               copy); --repeat times N prepare/remove cycles instead\n"
          "  unmount DIR                  remove what mount made under DIR\n\n"
          "--data-dir defaults to " DEFAULT_DATA_DIR "; images live in DIR/images.\n");
}

static int fail(const char *verb, const drv_err *err)
{
  fprintf(stderr, "drover image %s: %s\n", verb, err->msg);
  return 1;
}

static void human(double b, char *out, size_t n)
{
  const char *u[] = {"B", "kB", "MB", "GB", "TB"};
  int i = 0;
  while (b >= 1000 && i < 4) {
    b /= 1000;
    i++;
  }
  snprintf(out, n, i ? "%.1f %s" : "%.0f %s", b, u[i]);
}

struct progress {
  long long start, last;
};

static void on_progress(const drv_image_progress *p, void *ctx)
{
  struct progress *pr = ctx;
  long long now = drv_now_ms();
  if (!p->finished && now - pr->last < 100) return;
  pr->last = now;
  char done[32], total[32], speed[32];
  human((double)p->bytes_done, done, sizeof done);
  human((double)p->bytes_total, total, sizeof total);
  double secs = (double)(now - pr->start) / 1000.0;
  human(secs > 0 ? (double)p->bytes_done / secs : 0, speed, sizeof speed);
  fprintf(stderr, "\r\033[Klayers %zu/%zu  %s / %s  %s/s", p->layers_done, p->layers_total, done,
          total, speed);
  if (p->finished) fputc('\n', stderr);
  fflush(stderr);
}

enum { OPT_DATA_DIR = 1000, OPT_AUTH, OPT_CA, OPT_INSECURE, OPT_NAME, OPT_REPEAT };

static const struct option long_opts[] = {
    {"data-dir", required_argument, NULL, OPT_DATA_DIR},
    {"auth-file", required_argument, NULL, OPT_AUTH},
    {"ca-file", required_argument, NULL, OPT_CA},
    {"insecure", no_argument, NULL, OPT_INSECURE},
    {"name", required_argument, NULL, OPT_NAME},
    {"repeat", required_argument, NULL, OPT_REPEAT},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

struct args {
  const char *data_dir, *auth_file, *ca_file, *name;
  bool insecure, quiet;
  int repeat;
};

static int parse(int argc, char **argv, struct args *a)
{
  *a = (struct args){.data_dir = DEFAULT_DATA_DIR};
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "+qh", long_opts, NULL)) != -1) {
    switch (c) {
    case OPT_DATA_DIR: a->data_dir = optarg; break;
    case OPT_AUTH: a->auth_file = optarg; break;
    case OPT_CA: a->ca_file = optarg; break;
    case OPT_INSECURE: a->insecure = true; break;
    case OPT_NAME: a->name = optarg; break;
    case OPT_REPEAT: a->repeat = atoi(optarg); break;
    case 'q': a->quiet = true; break;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return 2;
    }
  }
  return -1;
}

static json_t *strv_json(char **v)
{
  if (!v) return json_null();
  json_t *a = json_array();
  for (; *v; v++) json_array_append_new(a, json_string(*v));
  return a;
}

static json_t *image_json(const drv_image *img)
{
  json_t *layers = json_array();
  for (size_t i = 0; i < img->n_layers; i++)
    json_array_append_new(layers, json_pack("{s:s,s:s}", "diffID", img->diff_ids[i], "dir", img->layer_dirs[i]));
  const drv_image_config *c = &img->config;
  json_t *cfg = json_pack("{s:o,s:o,s:o,s:s?,s:s?,s:o,s:s?,s:s?,s:s?}", "Entrypoint",
                          strv_json(c->entrypoint), "Cmd", strv_json(c->cmd), "Env", strv_json(c->env),
                          "WorkingDir", c->working_dir, "User", c->user, "ExposedPorts",
                          strv_json(c->exposed_ports), "StopSignal", c->stop_signal, "os", c->os,
                          "architecture", c->architecture);
  return json_pack("{s:s,s:s,s:s,s:s?,s:I,s:I,s:o,s:o}", "ref", img->ref, "id", img->id,
                   "manifestDigest", img->manifest_digest, "repoDigest", img->repo_digest, "size",
                   (json_int_t)img->size, "created", (json_int_t)img->created, "layers", layers,
                   "config", cfg);
}

static int cmd_pull(drv_image_store *s, struct args *a, int argc, char **argv)
{
  if (argc - optind != 1) {
    fprintf(stderr, "drover image pull: want exactly one image reference\n");
    return 2;
  }
  struct progress pr = {.start = drv_now_ms()};
  /* `drover image pull` asks the registry, as `docker pull` does; present blobs are kept. */
  drv_image_pull_opts o = {.policy = DRV_IMAGE_PULL_ALWAYS, .auth_file = a->auth_file,
                           .ca_file = a->ca_file, .insecure = a->insecure};
  if (!a->quiet && isatty(STDERR_FILENO)) {
    o.progress = on_progress;
    o.progress_ctx = &pr;
  }
  drv_image *img;
  drv_err err;
  if (drv_image_pull(s, argv[optind], &o, &img, &err) < 0) {
    if (o.progress) fputc('\n', stderr);
    return fail("pull", &err);
  }
  printf("%s %s\n", img->ref, img->id);
  drv_image_free(img);
  return 0;
}

static int cmd_ls(drv_image_store *s, struct args *a)
{
  drv_image **imgs;
  size_t n;
  drv_err err;
  if (drv_image_list(s, &imgs, &n, &err) < 0) return fail("ls", &err);
  if (!a->quiet) printf("%-60s %-12s %10s  %s\n", "REFERENCE", "IMAGE ID", "SIZE", "CREATED");
  for (size_t i = 0; i < n; i++) {
    if (a->quiet) {
      printf("%s\n", imgs[i]->ref);
      continue;
    }
    char size[32], created[32] = "";
    human((double)imgs[i]->size, size, sizeof size);
    if (imgs[i]->created) {
      time_t t = (time_t)imgs[i]->created;
      struct tm tm;
      strftime(created, sizeof created, "%Y-%m-%d %H:%M", gmtime_r(&t, &tm));
    }
    printf("%-60s %-12.12s %10s  %s\n", imgs[i]->ref, imgs[i]->id + 7, size, created);
  }
  drv_image_list_free(imgs, n);
  return 0;
}

static int cmd_rm(drv_image_store *s, int argc, char **argv)
{
  if (optind >= argc) {
    fprintf(stderr, "drover image rm: want at least one image\n");
    return 2;
  }
  int rc = 0;
  drv_err err;
  for (int i = optind; i < argc; i++) {
    char **gone = NULL;
    if (drv_image_remove(s, argv[i], &gone, &err) < 0) rc = fail("rm", &err);
    for (char **g = gone; g && *g; g++) printf("Untagged: %s\n", *g);
    drv_strv_free(gone);
  }
  drv_image_prune_stats st;
  if (drv_image_prune(s, &st, &err) < 0) rc = fail("rm", &err);
  return rc;
}

static int cmd_inspect(drv_image_store *s, int argc, char **argv)
{
  if (argc - optind != 1) {
    fprintf(stderr, "drover image inspect: want exactly one image\n");
    return 2;
  }
  drv_image *img;
  drv_err err;
  if (drv_image_lookup(s, argv[optind], &img, &err) < 0) return fail("inspect", &err);
  json_t *j = image_json(img);
  char *txt = json_dumps(j, JSON_INDENT(2));
  printf("%s\n", txt);
  free(txt);
  json_decref(j);
  drv_image_free(img);
  return 0;
}

static int cmd_import(drv_image_store *s, struct args *a, int argc, char **argv)
{
  if (argc - optind != 1) {
    fprintf(stderr, "drover image import: want exactly one archive or directory\n");
    return 2;
  }
  char **refs = NULL;
  drv_err err;
  if (drv_image_import(s, argv[optind], a->name, &refs, &err) < 0) return fail("import", &err);
  for (char **r = refs; r && *r; r++) {
    drv_image *img;
    if (drv_image_lookup(s, *r, &img, &err) == 0) {
      printf("%s %s\n", img->ref, img->id);
      drv_image_free(img);
    }
  }
  drv_strv_free(refs);
  return 0;
}

static int cmp_ll(const void *a, const void *b)
{
  long long x = *(const long long *)a, y = *(const long long *)b;
  return x < y ? -1 : x > y;
}

static int cmd_mount(drv_image_store *s, struct args *a, int argc, char **argv)
{
  if (argc - optind != 2) {
    fprintf(stderr, "drover image mount: want an image and a directory\n");
    return 2;
  }
  drv_image *img;
  drv_err err;
  if (drv_image_lookup(s, argv[optind], &img, &err) < 0) return fail("mount", &err);
  const char *dir = argv[optind + 1];
  int rc = 0;
  if (a->repeat <= 0) {
    char *rootfs;
    if (drv_image_rootfs_prepare(s, img, dir, &rootfs, &err) < 0) rc = fail("mount", &err);
    else printf("%s\n", rootfs);
    if (rc == 0) free(rootfs);
    drv_image_free(img);
    return rc;
  }
  /* Timing mode: N containers' root filesystems prepared one after the other, then removed. */
  long long *ns = drv_calloc((size_t)a->repeat, sizeof *ns);
  for (int i = 0; i < a->repeat && rc == 0; i++) {
    char *cdir = drv_asprintf("%s/c%d", dir, i), *rootfs;
    long long t0 = drv_now_ns();
    if (drv_image_rootfs_prepare(s, img, cdir, &rootfs, &err) < 0) {
      rc = fail("mount", &err);
    } else {
      ns[i] = drv_now_ns() - t0;
      free(rootfs);
    }
    free(cdir);
  }
  for (int i = 0; i < a->repeat; i++) {
    char *cdir = drv_asprintf("%s/c%d", dir, i);
    if (drv_image_rootfs_remove(cdir, &err) < 0) rc = fail("mount", &err);
    rmdir(cdir);
    free(cdir);
  }
  if (rc == 0) {
    qsort(ns, (size_t)a->repeat, sizeof *ns, cmp_ll);
    printf("rootfs prepare: n=%d median %.3f ms min %.3f ms max %.3f ms\n", a->repeat,
           ns[a->repeat / 2] / 1e6, ns[0] / 1e6, ns[a->repeat - 1] / 1e6);
  }
  free(ns);
  drv_image_free(img);
  return rc;
}

static int cmd_unmount(int argc, char **argv)
{
  if (argc - optind != 1) {
    fprintf(stderr, "drover image unmount: want a directory\n");
    return 2;
  }
  drv_err err;
  if (drv_image_rootfs_remove(argv[optind], &err) < 0) return fail("unmount", &err);
  return 0;
}

static int cmd_prune(drv_image_store *s)
{
  drv_image_prune_stats st;
  drv_err err;
  if (drv_image_prune(s, &st, &err) < 0) return fail("prune", &err);
  char b[32];
  human((double)st.bytes_removed, b, sizeof b);
  printf("removed %zu blobs (%s) and %zu layer directories\n", st.blobs_removed, b, st.layers_removed);
  return 0;
}

int drv_cmd_image(int argc, char **argv)
{
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const char *verb = argv[1];
  static const char *verbs[] = {"pull", "ls", "list", "rm", "inspect", "import", "prune", "mount", "unmount"};
  bool known = false;
  for (size_t i = 0; i < DRV_ARRAY_LEN(verbs); i++) known |= !strcmp(verb, verbs[i]);
  if (!known) {
    fprintf(stderr, "drover image: unknown command `%s` (see `drover image --help`)\n", verb);
    return 2;
  }
  struct args a;
  int prc = parse(argc - 1, argv + 1, &a);
  if (prc >= 0) return prc;
  argc -= 1;
  argv += 1;
  drv_image_store *s;
  drv_err err;
  if (drv_image_store_open(a.data_dir, &s, &err) < 0) return fail(verb, &err);
  int rc;
  if (!strcmp(verb, "pull")) rc = cmd_pull(s, &a, argc, argv);
  else if (!strcmp(verb, "ls") || !strcmp(verb, "list")) rc = cmd_ls(s, &a);
  else if (!strcmp(verb, "rm")) rc = cmd_rm(s, argc, argv);
  else if (!strcmp(verb, "inspect")) rc = cmd_inspect(s, argc, argv);
  else if (!strcmp(verb, "import")) rc = cmd_import(s, &a, argc, argv);
  else if (!strcmp(verb, "mount")) rc = cmd_mount(s, &a, argc, argv);
  else if (!strcmp(verb, "unmount")) rc = cmd_unmount(argc, argv);
  else rc = cmd_prune(s);
  drv_image_store_close(s);
  return rc;
}
