/* One `kubectl exec`/`attach` session on the agent's side: Kubernetes' channel protocol over
 * a WebSocket (v5.channel.k8s.io, v4, channel.k8s.io). Each binary message starts with a
 * channel byte — 0 stdin, 1 stdout, 2 stderr, 3 the final Status, 4 resize; v5 adds 255 = the
 * client closed a channel. Stdin goes to a non-blocking fd through a bounded buffer: a process
 * that does not read its stdin stops the socket being read (backpressure), never the output. */
#ifndef DRV_AGENT_WSCHAN_H
#define DRV_AGENT_WSCHAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

/* Stdin bytes held for a process that is slow to read before the socket is left unread. */
#define DRV_WSCHAN_STDIN_MAX (1u << 20)

typedef struct drv_wschan {
  int sock;       /* the upgraded connection (made non-blocking) */
  drv_buf in;     /* received bytes not parsed yet */
  int stdin_fd;   /* where channel 0 goes (made non-blocking); -1 = dropped */
  drv_buf sin;    /* stdin bytes waiting for room */
  size_t sin_off;
  bool stdin_eof; /* the client closed its stdin (v5) and every byte was written */
  bool eof_seen;  /* ... the close arrived (bytes may still wait) */
  int tty_fd;     /* resize messages set this terminal's size; -1 = none */
  bool gone;      /* the client closed the WebSocket or the connection */
} drv_wschan;

/* extra: bytes that came with the upgrade. */
void drv_wschan_init(drv_wschan *w, int sock, const char *extra, size_t n_extra);
void drv_wschan_free(drv_wschan *w);
/* Sends one binary message on channel (< 0: a control frame of that opcode without channel
 * byte, see drv_wschan_close). Waits for room; < 0 when the client is gone. */
int drv_wschan_send(drv_wschan *w, int channel, const void *data, size_t len);
/* poll() events wanted on sock and on stdin_fd now. */
short drv_wschan_sock_events(const drv_wschan *w);
short drv_wschan_stdin_events(const drv_wschan *w);
/* After poll: reads the socket (when sock_rev says so), handles the messages, writes what
 * stdin can take. */
void drv_wschan_step(drv_wschan *w, short sock_rev, short stdin_rev);
/* Ends the session: the Status on channel 3 (a Kubernetes Status object; NULL = Success),
 * a close frame, then reads (and drops) what the client still sends until it closes too (or 3 s
 * pass without progress): closing with unread input would reset the connection and lose the
 * output still on its way. */
void drv_wschan_finish(drv_wschan *w, json_t *status);

/* Status objects the session ends with. New references. */
json_t *drv_wschan_status_exit(int code);
json_t *drv_wschan_status_failure(int code, const char *reason, const char *message);

#endif
