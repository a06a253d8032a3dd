/* SPDY/3.1 framing for `kubectl port-forward` (the protocol Kubernetes' streaming API still
 * speaks): frame parse and encode, header blocks (zlib with the spec's preset dictionary, one
 * compression context per direction for the whole session) and the flow-control arithmetic.
 * No I/O here: portfwd.c runs the session. */
#ifndef DRV_AGENT_SPDY_H
#define DRV_AGENT_SPDY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <zlib.h>

#include "common/buf.h"
#include "common/err.h"

enum {
  DRV_SPDY_SYN_STREAM = 1,
  DRV_SPDY_SYN_REPLY = 2,
  DRV_SPDY_RST_STREAM = 3,
  DRV_SPDY_SETTINGS = 4,
  DRV_SPDY_PING = 6,
  DRV_SPDY_GOAWAY = 7,
  DRV_SPDY_HEADERS = 8,
  DRV_SPDY_WINDOW_UPDATE = 9,
};
#define DRV_SPDY_FLAG_FIN 0x01
#define DRV_SPDY_SETTINGS_INITIAL_WINDOW 7
/* RST_STREAM status codes used here */
#define DRV_SPDY_PROTOCOL_ERROR 1
#define DRV_SPDY_REFUSED_STREAM 3
#define DRV_SPDY_CANCEL 5
#define DRV_SPDY_FLOW_CONTROL_ERROR 7
/* SPDY/3.1: both windows (each stream's and the session's) start at 64 KiB */
#define DRV_SPDY_INITIAL_WINDOW 65536
#define DRV_SPDY_HEADER 8
/* the largest frame payload accepted (the length field allows 16 MiB) */
#define DRV_SPDY_MAX_PAYLOAD (1u << 20)
/* the largest decompressed header block accepted */
#define DRV_SPDY_MAX_HEADERS (64u * 1024)

typedef struct drv_spdy_frame {
  bool control;
  uint16_t type;        /* control frames */
  uint8_t flags;
  uint32_t stream_id;   /* data frames and the control frames that name a stream */
  const uint8_t *data;  /* data frames: the bytes; control frames: the payload */
  size_t len;
  uint32_t assoc_id;    /* SYN_STREAM */
  const uint8_t *hblock; /* SYN_STREAM, SYN_REPLY, HEADERS: the compressed header block */
  size_t hlen;
  uint32_t value;       /* RST_STREAM/GOAWAY status, PING id, WINDOW_UPDATE delta,
                           GOAWAY: last good stream id in stream_id */
} drv_spdy_frame;

/* One frame from buf: > 0 bytes taken, 0 = incomplete, < 0 malformed (err says what). The
 * frame points into buf. */
ssize_t drv_spdy_parse(const uint8_t *buf, size_t len, drv_spdy_frame *f, drv_err *err);
/* A SETTINGS frame's value for id: 0 found, -1 absent. */
int drv_spdy_settings_get(const drv_spdy_frame *f, uint32_t id, uint32_t *value);

typedef struct drv_spdy_hdr {
  char *name, *value; /* value: several values are separated by NUL in SPDY; kept as sent */
  size_t vlen;
} drv_spdy_hdr;

typedef struct drv_spdy_zctx {
  z_stream def, inf;
  bool def_ok, inf_ok;
} drv_spdy_zctx;

/* The SPDY/3 preset dictionary (1423 bytes). */
const uint8_t *drv_spdy_dictionary(size_t *len);
int drv_spdy_zinit(drv_spdy_zctx *z, drv_err *err);
void drv_spdy_zfree(drv_spdy_zctx *z);
/* Compressed header block of the n headers appended to out. */
int drv_spdy_headers_encode(drv_spdy_zctx *z, const drv_spdy_hdr *h, size_t n, drv_buf *out, drv_err *err);
/* Header block → *out (n entries, free with drv_spdy_headers_free). */
int drv_spdy_headers_decode(drv_spdy_zctx *z, const uint8_t *block, size_t len, drv_spdy_hdr **out,
                            size_t *n, drv_err *err);
void drv_spdy_headers_free(drv_spdy_hdr *h, size_t n);
/* The value of header name (names are lower case in SPDY/3), NULL when absent. */
const char *drv_spdy_header(const drv_spdy_hdr *h, size_t n, const char *name);

/* Frame encoders (append to out). */
void drv_spdy_put_data(drv_buf *out, uint32_t sid, uint8_t flags, const void *data, size_t len);
void drv_spdy_put_control(drv_buf *out, uint16_t type, uint8_t flags, const void *payload, size_t len);
int drv_spdy_put_syn_reply(drv_buf *out, drv_spdy_zctx *z, uint32_t sid, uint8_t flags,
                           const drv_spdy_hdr *h, size_t n, drv_err *err);
int drv_spdy_put_syn_stream(drv_buf *out, drv_spdy_zctx *z, uint32_t sid, uint8_t flags,
                            const drv_spdy_hdr *h, size_t n, drv_err *err);
void drv_spdy_put_rst(drv_buf *out, uint32_t sid, uint32_t status);
void drv_spdy_put_window_update(drv_buf *out, uint32_t sid, uint32_t delta);
void drv_spdy_put_ping(drv_buf *out, uint32_t id);
void drv_spdy_put_goaway(drv_buf *out, uint32_t last_good, uint32_t status);
void drv_spdy_put_settings(drv_buf *out, uint32_t id, uint32_t value);

/* Receive side: n bytes were consumed (handed on); returns the WINDOW_UPDATE delta to send now
 * (0 = not yet: updates go out once half a window was consumed, not per frame). */
uint32_t drv_spdy_recv_consumed(uint32_t *unacked, size_t n);
/* Send side: how many of want bytes the stream's and the session's windows allow now. */
size_t drv_spdy_send_allowed(int64_t stream_window, int64_t session_window, size_t want);
/* A WINDOW_UPDATE applied to window: -1 when it would pass 2^31-1 (a flow-control error). */
int drv_spdy_window_add(int64_t *window, uint32_t delta);

#endif
