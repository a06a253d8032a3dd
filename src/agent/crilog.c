#include "agent/crilog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/util.h"

static const char *const stream_names[] = {"stdout", "stderr"};

struct drv_crilog {
  char *path;
  int fd;
  size_t size;
  size_t max_size;
  int max_files;
  drv_buf pending[2];
};

int drv_crilog_open(const char *path, size_t max_size, int max_files, drv_crilog **out,
                    drv_err *err)
{
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return drv_error(err, errno, "open log `%s`", path);
  struct stat st;
  if (fstat(fd, &st) < 0) {
    int e = errno;
    close(fd);
    return drv_error(err, e, "stat log `%s`", path);
  }
  drv_crilog *l = drv_calloc(1, sizeof *l);
  l->path = drv_strdup(path);
  l->fd = fd;
  l->size = (size_t)st.st_size;
  l->max_size = max_size;
  l->max_files = max_files < 1 ? 1 : max_files;
  *out = l;
  return 0;
}

void drv_crilog_close(drv_crilog *l)
{
  if (!l) return;
  if (l->fd >= 0) close(l->fd);
  drv_buf_free(&l->pending[0]);
  drv_buf_free(&l->pending[1]);
  free(l->path);
  free(l);
}

static int rotate(drv_crilog *l, drv_err *err)
{
  close(l->fd);
  l->fd = -1;
  if (l->max_files == 1) {
    if (truncate(l->path, 0) < 0 && errno != ENOENT)
      return drv_error(err, errno, "truncate log `%s`", l->path);
  } else {
    for (int i = l->max_files - 1; i >= 1; i--) {
      _cleanup_free_ char *to = drv_asprintf("%s.%d", l->path, i);
      _cleanup_free_ char *from = i == 1 ? drv_strdup(l->path) : drv_asprintf("%s.%d", l->path, i - 1);
      if (rename(from, to) < 0 && errno != ENOENT)
        return drv_error(err, errno, "rotate log `%s` to `%s`", from, to);
    }
  }
  l->fd = open(l->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (l->fd < 0) return drv_error(err, errno, "reopen log `%s`", l->path);
  l->size = 0;
  return 0;
}

void drv_crilog_format_time(long long ts_ns, char *out, size_t size)
{
  time_t secs = (time_t)(ts_ns / 1000000000LL);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char date[32];
  strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, size, "%s.%09lldZ", date, ts_ns % 1000000000LL);
}

static int write_record(drv_crilog *l, int stream, bool partial, const char *msg, size_t len,
                        long long ts_ns, drv_err *err)
{
  char ts[40];
  drv_crilog_format_time(ts_ns, ts, sizeof ts);
  _cleanup_buf_ drv_buf rec = DRV_BUF_INIT;
  drv_buf_printf(&rec, "%s %s %c ", ts, stream_names[stream], partial ? 'P' : 'F');
  drv_buf_append(&rec, msg, len);
  drv_buf_putc(&rec, '\n');
  if (l->max_size && l->size > 0 && l->size + rec.len > l->max_size && rotate(l, err) < 0)
    return -1;
  if (drv_write_all(l->fd, rec.data, rec.len) < 0)
    return drv_error(err, errno, "write log `%s`", l->path);
  l->size += rec.len;
  return 0;
}

int drv_crilog_write(drv_crilog *l, int stream, const char *data, size_t len, long long ts_ns,
                     drv_err *err)
{
  if (stream != DRV_CRILOG_STDOUT && stream != DRV_CRILOG_STDERR)
    return drv_error(err, EINVAL, "log `%s`: bad stream %d", l->path, stream);
  drv_buf *p = &l->pending[stream];
  while (len > 0) {
    const char *nl = memchr(data, '\n', len);
    size_t take = nl ? (size_t)(nl - data) : len;
    if (p->len + take >= DRV_CRILOG_MAX_LINE) {
      /* Too long for one record: the piece so far goes out as P. */
      size_t room = DRV_CRILOG_MAX_LINE - p->len;
      drv_buf_append(p, data, room);
      if (write_record(l, stream, true, p->data, p->len, ts_ns, err) < 0) return -1;
      drv_buf_reset(p);
      data += room;
      len -= room;
      continue;
    }
    if (!nl) {
      drv_buf_append(p, data, len);
      return 0;
    }
    drv_buf_append(p, data, take);
    if (write_record(l, stream, false, p->data ? p->data : "", p->len, ts_ns, err) < 0) return -1;
    drv_buf_reset(p);
    data += take + 1;
    len -= take + 1;
  }
  return 0;
}

int drv_crilog_flush(drv_crilog *l, int stream, long long ts_ns, drv_err *err)
{
  drv_buf *p = &l->pending[stream];
  if (p->len == 0) return 0;
  int r = write_record(l, stream, false, p->data, p->len, ts_ns, err);
  drv_buf_reset(p);
  return r;
}

int drv_crilog_flush_partial(drv_crilog *l, int stream, long long ts_ns, drv_err *err)
{
  drv_buf *p = &l->pending[stream];
  if (p->len == 0) return 0;
  int r = write_record(l, stream, true, p->data, p->len, ts_ns, err);
  drv_buf_reset(p);
  return r;
}

static int digits(const char *s, int n)
{
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

long long drv_crilog_parse_time(const char *s, size_t len)
{
  /* 2006-01-02T15:04:05[.frac](Z|±hh:mm) */
  if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' ||
      s[16] != ':')
    return -1;
  struct tm tm = {0};
  int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
  int h = digits(s + 11, 2), mi = digits(s + 14, 2), se = digits(s + 17, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
      se < 0 || se > 60)
    return -1;
  tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d;
  tm.tm_hour = h, tm.tm_min = mi, tm.tm_sec = se;
  size_t i = 19;
  long long frac = 0;
  if (i < len && s[i] == '.') {
    i++;
    int nd = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
      if (nd < 9) frac = frac * 10 + (s[i] - '0'), nd++;
      i++;
    }
    if (nd == 0) return -1;
    while (nd++ < 9) frac *= 10;
  }
  long long off = 0;
  if (i < len && s[i] == 'Z') i++;
  else if (i + 6 <= len && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
    int oh = digits(s + i + 1, 2), om = digits(s + i + 4, 2);
    if (oh < 0 || om < 0) return -1;
    off = (oh * 3600LL + om * 60LL) * (s[i] == '+' ? 1 : -1);
    i += 6;
  } else
    return -1;
  if (i != len) return -1;
  return ((long long)timegm(&tm) - off) * 1000000000LL + frac;
}

int drv_crilog_parse(const char *line, size_t len, drv_crilog_record *out, drv_err *err)
{
  const char *sp1 = memchr(line, ' ', len);
  if (!sp1) return drv_error(err, EINVAL, "CRI log line: no timestamp");
  out->ts_ns = drv_crilog_parse_time(line, (size_t)(sp1 - line));
  if (out->ts_ns < 0)
    return drv_error(err, EINVAL, "CRI log line: bad timestamp `%.*s`", (int)(sp1 - line), line);
  const char *rest = sp1 + 1;
  size_t left = len - (size_t)(rest - line);
  if (left >= 7 && !memcmp(rest, "stdout ", 7)) out->stream = DRV_CRILOG_STDOUT;
  else if (left >= 7 && !memcmp(rest, "stderr ", 7)) out->stream = DRV_CRILOG_STDERR;
  else return drv_error(err, EINVAL, "CRI log line: stream must be stdout or stderr");
  rest += 7, left -= 7;
  if (left < 1 || (rest[0] != 'F' && rest[0] != 'P') || (left > 1 && rest[1] != ' '))
    return drv_error(err, EINVAL, "CRI log line: tag must be F or P");
  out->partial = rest[0] == 'P';
  out->msg = left > 1 ? rest + 2 : rest + 1;
  out->msg_len = left > 1 ? left - 2 : 0;
  return 0;
}

size_t drv_crilog_render(const char *data, size_t len, const drv_crilog_read_opts *opts,
                         drv_buf *out)
{
  size_t pos = 0;
  bool continuing = false; /* the previous record was a P piece */
  bool keep = true;
  size_t line_start_pos = 0, line_start_out = out->len;
  while (pos < len) {
    const char *nl = memchr(data + pos, '\n', len - pos);
    if (!nl) break;
    size_t n = (size_t)(nl - (data + pos));
    drv_crilog_record r;
    drv_err e;
    if (drv_crilog_parse(data + pos, n, &r, &e) == 0) {
      if (!continuing) {
        line_start_pos = pos;
        line_start_out = out->len;
        keep = !opts || !opts->since_ns || r.ts_ns >= opts->since_ns;
        if (keep && opts && opts->timestamps) {
          char ts[40];
          drv_crilog_format_time(r.ts_ns, ts, sizeof ts);
          drv_buf_printf(out, "%s ", ts);
        }
      }
      if (keep) drv_buf_append(out, r.msg, r.msg_len);
      continuing = r.partial;
      if (!continuing && keep) drv_buf_putc(out, '\n');
    }
    pos += n + 1;
  }
  if (continuing) {
    /* An unfinished logical line: take it back, it is completed by a later call. */
    out->len = line_start_out;
    if (out->data) out->data[out->len] = '\0';
    return line_start_pos;
  }
  return pos;
}

/* Keeps only the last n lines of b (from offset start). */
static void keep_tail(drv_buf *b, size_t start, long n)
{
  /* Nothing rendered (an empty or missing log): b->data may still be NULL. */
  if (n < 0 || b->len == start) return;
  size_t i = b->len;
  long seen = 0;
  while (i > start) {
    if (b->data[i - 1] == '\n' && i != b->len && ++seen == n) break;
    i--;
  }
  if (n == 0) i = b->len;
  memmove(b->data + start, b->data + i, b->len - i);
  b->len = start + (b->len - i);
  b->data[b->len] = '\0';
}

int drv_crilog_read(const char *path, int max_files, const drv_crilog_read_opts *opts,
                    drv_buf *out, off_t *end, drv_err *err)
{
  _cleanup_buf_ drv_buf raw = DRV_BUF_INIT;
  if (end) *end = 0;
  for (int i = max_files - 1; i >= 0; i--) {
    _cleanup_free_ char *p = i == 0 ? drv_strdup(path) : drv_asprintf("%s.%d", path, i);
    char *data = NULL;
    size_t len = 0;
    drv_err e;
    if (drv_read_file(p, 0, &data, &len, &e) < 0) {
      if (e.errnum == ENOENT) continue;
      return drv_error(err, e.errnum, "read log `%s`", p);
    }
    /* Only complete lines: a writer may be in the middle of one. */
    size_t complete = len;
    while (complete > 0 && data[complete - 1] != '\n') complete--;
    drv_buf_append(&raw, data, complete);
    if (i == 0 && end) *end = (off_t)complete;
    free(data);
  }
  size_t start = out->len;
  drv_crilog_render(raw.data ? raw.data : "", raw.len, opts, out);
  if (opts) keep_tail(out, start, opts->tail);
  if (opts && opts->limit_bytes > 0 && out->len - start > (size_t)opts->limit_bytes) {
    out->len = start + (size_t)opts->limit_bytes;
    out->data[out->len] = '\0';
  }
  return 0;
}
