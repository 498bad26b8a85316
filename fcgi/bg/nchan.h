/*
 * nchan: the client of nginx's nchan publisher (the server on a unix socket of
 * nginx/taskq-publisher.conf.in, never reachable from outside): POST a message to a channel,
 * DELETE a channel (which ends the connections of its subscribers). One kept-alive libcurl
 * handle, one request at a time (a lock of its own: publish.c and outpub.c both call it);
 * it knows nothing of tasks or feeds.
 */
#ifndef TASKQ_NCHAN_H
#define TASKQ_NCHAN_H

#include <stdbool.h>
#include <stddef.h>

/* socket: the publisher's unix socket. false when libcurl gives no handle. */
bool nchan_open(const char *socket);
void nchan_close(void);

/* POSTs the len bytes of body (JSON) to channel. Returns the number of subscribers nchan
 * reports (1 when its answer cannot be read), or -1 when nchan did not take the message. */
int nchan_post(const char *channel, const char *body, size_t len);
/* DELETEs channel: its buffered messages go, and every subscriber's connection ends (an
 * EventSource gets the end of its response, a WebSocket a close frame). true when nchan
 * answered (200, or 404 for a channel it does not hold). */
bool nchan_delete(const char *channel);

#endif
