/* `drover up`: everything on one machine — the API server with the embedded store, the control
 * loops and a local node agent — with DIR/kubeconfig written for kubectl.
 *
 * Components beside the server start in order from `components` below and stop in reverse.
 * Each gets the server's URL and kubeconfig path. The control loops (scheduler, controllers)
 * and the local agent join this table as their libraries provide start functions. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api/client.h"
#include "cli/commands.h"
#include "cli/server_flags.h"
#include "common/log.h"
#include "common/util.h"
#include "agent/agent.h"
#include "server/auth.h"
#include "controllers/cidrset.h"
#include "controllers/controllers.h"
#include "scheduler/scheduler.h"

typedef struct up_env {
  drv_server *server;
  drv_api_client *client;     /* in-process client shared by the control loops */
  const char *url;
  const char *kubeconfig;
  const char *data_dir;
  const drv_cli_up_flags *flags;
} up_env;

typedef struct up_component {
  const char *name;
  /* Starts the component; *handle is passed to stop. */
  int (*start)(const up_env *env, void **handle, drv_err *err);
  void (*stop)(void *handle);
} up_component;

static int start_scheduler(const up_env *env, void **handle, drv_err *err)
{
  drv_scheduler_opts o = {.tolerance = -1};
  return drv_scheduler_start(env->client, &o, (drv_scheduler **)handle, err);
}

static void stop_scheduler(void *h)
{
  drv_scheduler_stop(h);
}

static int start_controllers(const up_env *env, void **handle, drv_err *err)
{
  drv_controllers_opts o = env->flags->ctl;
  _cleanup_free_ char *ca = drv_asprintf("%s/ca.crt", env->data_dir); /* kube-root-ca.crt's */
  o.root_ca_file = ca;
  return drv_controllers_start(env->client, &o, (drv_controllers **)handle, err);
}

static void stop_controllers(void *h)
{
  drv_controllers_stop(h);
}

/* The local node agent talks to the server over HTTPS like any other node's, as the node
 * identity system:node:NAME in group system:nodes (RBAC's system:node role), not as admin. */
static int start_agent(const up_env *env, void **handle, drv_err *err)
{
  if (env->flags->no_agent) return 0;
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  _cleanup_free_ char *user = drv_asprintf("system:node:%s", env->flags->node_name ? env->flags->node_name : host);
  for (char *c = user; *c; c++)
    if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');
  static const char *const nodes[] = {"system:nodes", NULL};
  _cleanup_free_ char *token = drv_token_find(env->data_dir, user);
  if (!token && drv_token_create(env->data_dir, user, nodes, &token, err) < 0) return -1;
  _cleanup_free_ char *ca = drv_asprintf("%s/ca.crt", env->data_dir);
  drv_agent_opts o = {.server = env->url, .token = token, .ca_file = ca, .data_dir = env->data_dir,
                      .listen = env->flags->agent_listen, .node_name = env->flags->node_name,
                      .bridge = env->flags->bridge, .eviction_hard = env->flags->eviction_hard,
                      /* the controllers started above assign its pod CIDR */
                      .pod_cidr_wait_ms = env->flags->ctl.no_allocate_node_cidrs ? -1 : 10000};
  return drv_agent_start(&o, (drv_agent **)handle, err);
}

static void stop_agent(void *h)
{
  if (h) drv_agent_stop(h);
}

static const up_component components[] = {
    {"scheduler", start_scheduler, stop_scheduler},
    {"controllers", start_controllers, stop_controllers},
    {"local agent", start_agent, stop_agent},
    {NULL, NULL, NULL},
};

int drv_cmd_up(int argc, char **argv)
{
  drv_server_opts o;
  drv_cli_up_flags flags;
  int rc = drv_cli_server_flags("up", argc, argv, &o, &flags);
  if (rc) return rc > 0 ? 0 : 2;
  drv_err err = {0};
  /* Every flag is checked before the server starts and writes the data dir. The controllers
   * call the service range --service-cidr; here it is named as the user typed it. */
  drv_controllers_opts ctl = flags.ctl;
  ctl.service_cidr = NULL;
  uint32_t base;
  int prefix;
  drv_agent_opts ao = {.node_name = flags.node_name, .bridge = flags.bridge,
                       .eviction_hard = flags.eviction_hard, .listen = flags.agent_listen};
  if ((flags.ctl.service_cidr && drv_cidr_parse(flags.ctl.service_cidr, 8, 30, &base, &prefix, &err) < 0 &&
       drv_err_prefix(&err, "--service-cluster-ip-range") < 0) ||
      drv_controllers_opts_check(&ctl, &err) < 0 || (!flags.no_agent && drv_agent_opts_check(&ao, &err) < 0)) {
    fprintf(stderr, "drover up: %s\n", err.msg);
    return 2;
  }
  drv_cli_block_signals();
  drv_server *s;
  if (drv_server_start(&o, &s, &err) < 0) {
    fprintf(stderr, "drover up: %s\n", err.msg);
    return 1;
  }
  _cleanup_free_ char *url = drv_server_url(s);
  up_env env = {s, drv_server_client(s), url, drv_server_kubeconfig(s), o.data_dir, &flags};
  size_t n = 0;
  void *handles[16] = {0};
  for (; components[n].name; n++) {
    if (components[n].start(&env, &handles[n], &err) < 0) {
      fprintf(stderr, "drover up: start %s: %s\n", components[n].name, err.msg);
      while (n-- > 0) components[n].stop(handles[n]);
      drv_api_client_free(env.client);
      drv_server_stop(s);
      return 1;
    }
  }
  printf("drover is up.\n  API: %s\n\nexport KUBECONFIG=%s\n", url, drv_server_kubeconfig(s));
  fflush(stdout);
  drv_cli_wait_signal();
  drv_log_info("up: stopping");
  while (n-- > 0) components[n].stop(handles[n]);
  drv_api_client_free(env.client);
  drv_server_stop(s);
  return 0;
}
