/* One logger per process: text lines for people, or JSON lines (runc's --log-format json,
 * which containerd reads back from the --log file). */
#ifndef DRV_COMMON_LOG_H
#define DRV_COMMON_LOG_H

#include <stdbool.h>

typedef enum { DRV_LOG_ERROR = 0, DRV_LOG_WARN, DRV_LOG_INFO, DRV_LOG_DEBUG } drv_log_level;

/* path NULL → stderr. json: one {"level","msg","time"} object per line. */
int drv_log_init(const char *path, bool json, drv_log_level level);
void drv_log_set_level(drv_log_level level);
drv_log_level drv_log_get_level(void);
/* Parses "error|warn|info|debug"; returns -1 on an unknown name. */
int drv_log_level_parse(const char *name, drv_log_level *out);

void drv_log(drv_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define drv_log_error(...) drv_log(DRV_LOG_ERROR, __VA_ARGS__)
#define drv_log_warn(...) drv_log(DRV_LOG_WARN, __VA_ARGS__)
#define drv_log_info(...) drv_log(DRV_LOG_INFO, __VA_ARGS__)
#define drv_log_debug(...)                                                                         \
  do {                                                                                             \
    if (drv_log_get_level() >= DRV_LOG_DEBUG) drv_log(DRV_LOG_DEBUG, __VA_ARGS__);                \
  } while (0)

#endif
