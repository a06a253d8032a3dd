/* drover: one binary, subcommands per layer. Invoked as `drover-runtime` (argv[0]) it is the
 * runc-compatible OCI runtime directly, so containerd/Docker can use it. */
#include <libgen.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

const drv_command drv_commands[] = {
    {"version", drv_cmd_version, "print drover's version"},
    {"up", drv_cmd_up, "run everything on this machine: API server, control loops, local agent"},
    {"server", drv_cmd_server, "run the Kubernetes-compatible API server (embedded store)"},
    {"token", drv_cmd_token, "print, create, list or revoke API bearer tokens"},
    {"scheduler", drv_cmd_scheduler, "run the scheduler alone against a Kubernetes-API server"},
    {"controllers", drv_cmd_controllers, "run the controllers alone against a Kubernetes-API server"},
    {"run", drv_cmd_run, "run an image as a container on this machine (pulls it when missing)"},
    {"image", drv_cmd_image, "pull, list, inspect, import and remove container images"},
    {"agent", drv_cmd_agent, "run the node agent: register this machine and run the pods bound to it"},
    {"runtime", drv_cmd_runtime, "OCI container runtime (runc-compatible; also as drover-runtime)"},
    {NULL, NULL, NULL},
};

static void usage(FILE *out)
{
  fprintf(out, "usage: drover COMMAND [ARGS...]\n\ncommands:\n");
  for (const drv_command *c = drv_commands; c->name; c++)
    fprintf(out, "  %-12s %s\n", c->name, c->summary);
  fprintf(out, "\nThe cluster CLI is kubectl: export KUBECONFIG=<data-dir>/kubeconfig\n");
}

static const drv_command *find(const char *name)
{
  for (const drv_command *c = drv_commands; c->name; c++)
    if (strcmp(c->name, name) == 0) return c;
  return NULL;
}

int main(int argc, char **argv)
{
  char self[4096];
  snprintf(self, sizeof self, "%s", argv[0]);
  const char *base = basename(self);
  if (strcmp(base, "drover-runtime") == 0 || strcmp(base, "runc") == 0) {
    const drv_command *rt = find("runtime");
    if (!rt) {
      fprintf(stderr, "drover: this build has no runtime command\n");
      return 1;
    }
    argv[0] = (char *)"runtime";
    return rt->run(argc, argv);
  }
  if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const drv_command *c = find(argv[1]);
  if (!c) {
    fprintf(stderr, "drover: unknown command `%s` (see `drover help`)\n", argv[1]);
    return 2;
  }
  return c->run(argc - 1, argv + 1);
}
