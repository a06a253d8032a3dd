/* drover's own verbs. Each lives in cmd_<verb>.c and gets argv with argv[0] = the verb.
 * They return the process exit code. kubectl is the cluster CLI: nothing here re-implements it. */
#ifndef DRV_CLI_COMMANDS_H
#define DRV_CLI_COMMANDS_H

typedef struct drv_command {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
} drv_command;

int drv_cmd_version(int argc, char **argv);
int drv_cmd_up(int argc, char **argv);
int drv_cmd_server(int argc, char **argv);
int drv_cmd_token(int argc, char **argv);
int drv_cmd_scheduler(int argc, char **argv);
int drv_cmd_controllers(int argc, char **argv);
int drv_cmd_image(int argc, char **argv);
int drv_cmd_run(int argc, char **argv);
int drv_cmd_runtime(int argc, char **argv);
int drv_cmd_agent(int argc, char **argv);

/* The table in main.c, NULL-terminated; `drover help` prints it. */
extern const drv_command drv_commands[];

#endif
