#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

int drv_cmd_version(int argc, char **argv)
{
  if (argc > 1 && strcmp(argv[1], "--short") != 0) {
    fprintf(stderr, "drover version: unexpected argument `%s`\n", argv[1]);
    return 2;
  }
  printf("drover %s\n", DROVER_VERSION);
  return 0;
}
