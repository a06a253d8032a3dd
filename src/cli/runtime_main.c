/* build/drover-runtime: the OCI runtime alone (the `drover runtime` verb, runc-compatible).
 * A separate small executable because containerd/Docker exec it for every container
 * operation: linking only the runtime layer keeps its start-up (dynamic loading) well under
 * a millisecond, where the full drover binary with every library spends several. */
#include "cli/commands.h"

int main(int argc, char **argv)
{
  argv[0] = (char *)"runtime";
  return drv_cmd_runtime(argc, argv);
}
