#include "common/log.h"

#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int log_fd = 2;
static bool log_json;
static drv_log_level log_level = DRV_LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *const level_names[] = {"error", "warning", "info", "debug"};

int drv_log_init(const char *path, bool json, drv_log_level level)
{
  log_json = json;
  log_level = level;
  if (path && *path) {
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) return -1;
    if (log_fd > 2) close(log_fd);
    log_fd = fd;
  }
  return 0;
}

void drv_log_set_level(drv_log_level level)
{
  log_level = level;
}

drv_log_level drv_log_get_level(void)
{
  return log_level;
}

int drv_log_level_parse(const char *name, drv_log_level *out)
{
  static const char *const alias[] = {"error", "warn", "info", "debug"};
  for (int i = 0; i <= DRV_LOG_DEBUG; i++) {
    if (strcmp(name, alias[i]) == 0 || strcmp(name, level_names[i]) == 0) {
      *out = (drv_log_level)i;
      return 0;
    }
  }
  return -1;
}

void drv_log(drv_log_level level, const char *fmt, ...)
{
  if (level > log_level) return;
  char msg[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);

  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char when[64];
  snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000);

  char *line = NULL;
  if (log_json) {
    json_t *o = json_pack("{s:s, s:s, s:s}", "level", level_names[level], "msg", msg, "time", when);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (s && asprintf(&line, "%s\n", s) < 0) line = NULL;
    free(s);
  } else if (asprintf(&line, "%s %s drover: %s\n", when, level_names[level], msg) < 0) {
    line = NULL;
  }
  if (!line) return;
  pthread_mutex_lock(&log_lock);
  ssize_t r = write(log_fd, line, strlen(line));
  (void)r;
  pthread_mutex_unlock(&log_lock);
  free(line);
}
