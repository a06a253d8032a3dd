/* build/drover-agent: the node agent alone (the `drover agent` verb, which re-executes this
 * when it lies next to the drover binary). A separate executable because the agent is
 * long-lived on every node and its resident memory counts: linked with the agent's layers
 * only, it maps none of the libraries of the API server, store and controllers. Also the
 * pod sandbox (`drover agent sandbox DIR`), which the agent spawns from /proc/self/exe. */
#include <malloc.h>
#include <string.h>

#include "cli/commands.h"

int main(int argc, char **argv)
{
  /* One malloc arena: the agent's few threads hardly contend (the per-thread caches take the
   * small allocations), and separate arenas each kept their own free space (~0.3 MB with
   * 100 pods). */
  mallopt(M_ARENA_MAX, 1);
  if (argc >= 2 && !strcmp(argv[1], "agent")) {
    argv++;
    argc--;
  }
  argv[0] = (char *)"agent";
  return drv_cmd_agent(argc, argv);
}
