/* Container logs in the CRI format kubelet and containerd write, one line per output line:
 *   2026-11-24T21:05:56.123456789Z stdout F the text
 * (tag F = full line, P = a piece of a longer line that continues on the next record).
 * Files rotate by size: path → path.1 → … → path.<max_files-1>, the oldest dropped. */
#ifndef DRV_AGENT_CRILOG_H
#define DRV_AGENT_CRILOG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/buf.h"
#include "common/err.h"

/* Longest record body; a longer line is split into P records. */
#define DRV_CRILOG_MAX_LINE 16384

typedef struct drv_crilog drv_crilog;

/* Opens (appending) path. max_size: rotate when the file would pass it (0 = never);
 * max_files: how many files to keep in all, current one included (>= 1). */
int drv_crilog_open(const char *path, size_t max_size, int max_files, drv_crilog **out,
                    drv_err *err);
/* Adds output of one stream ("stdout"/"stderr"), read at ts_ns (wall clock). Complete lines
 * are written at once; an unfinished one waits for its end (or for DRV_CRILOG_MAX_LINE). */
int drv_crilog_write(drv_crilog *l, int stream, const char *data, size_t len, long long ts_ns,
                     drv_err *err);
/* Writes what waits of an unfinished line as a full record (the stream ended). */
int drv_crilog_flush(drv_crilog *l, int stream, long long ts_ns, drv_err *err);
/* Writes what waits of an unfinished line as a P record at once: interactive containers
 * (stdin/tty) show a prompt without a newline to `kubectl attach` and logs alike. */
int drv_crilog_flush_partial(drv_crilog *l, int stream, long long ts_ns, drv_err *err);
void drv_crilog_close(drv_crilog *l);

enum { DRV_CRILOG_STDOUT = 0, DRV_CRILOG_STDERR = 1 };

typedef struct drv_crilog_record {
  long long ts_ns;
  int stream;
  bool partial;
  const char *msg; /* points into the parsed line, without the newline */
  size_t msg_len;
} drv_crilog_record;

/* Parses one line (without its newline). */
int drv_crilog_parse(const char *line, size_t len, drv_crilog_record *out, drv_err *err);
/* RFC 3339 with optional fraction and Z or ±hh:mm; -1 when malformed. */
long long drv_crilog_parse_time(const char *s, size_t len);
/* Formats ts_ns as RFC 3339 UTC with nanoseconds into out (at least 32 bytes). */
void drv_crilog_format_time(long long ts_ns, char *out, size_t size);

typedef struct drv_crilog_read_opts {
  long tail;           /* last N lines, < 0 = all */
  long long since_ns;  /* only records at or after this time, 0 = all */
  bool timestamps;     /* prefix each line with its RFC 3339 time and a space */
  long long limit_bytes; /* stop after this many bytes, 0 = no limit */
} drv_crilog_read_opts;

/* What kubectl logs shows: the records of path's rotated files (oldest first) and path,
 * P pieces joined, as plain text. *end gets the offset reached in path (where follow goes on);
 * may be NULL. A missing file is an empty log. */
int drv_crilog_read(const char *path, int max_files, const drv_crilog_read_opts *opts,
                    drv_buf *out, off_t *end, drv_err *err);
/* Converts the records of raw CRI text (complete lines only) to kubectl's text; returns the
 * bytes consumed (a trailing unfinished line is left for the next call). */
size_t drv_crilog_render(const char *data, size_t len, const drv_crilog_read_opts *opts,
                         drv_buf *out);

#endif
