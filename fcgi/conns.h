/*
 * conns: taskq-fcgi's FastCGI connections and its request threads. nginx keeps connections
 * open between requests (fastcgi_keep_conn on, an upstream with keepalive), which saves a
 * connect, an accept and a close per request on both sides. libfcgi reads the next request of
 * a kept connection inside FCGX_Accept_r, so a thread that waited there would be lost to every
 * other connection for as long as nginx leaves that one idle (the collapse DESIGN.md
 * measured). Here no request thread ever waits on a connection: one dispatcher thread watches
 * the listening socket and every idle connection (epoll), accepts new ones, and hands a
 * connection to a request thread only once it has something to read. taskq-fcgi never closes
 * an idle connection (nginx does, and hears of it at once), so a request nginx sends on a kept
 * connection is never met by a close; only a stop closes them. Must not know the routes: the
 * request threads call the handler they are given.
 */
#ifndef TASKQ_CONNS_H
#define TASKQ_CONNS_H

#include <fcgiapp.h>
#include <stdbool.h>

/* Serves one request read from fr on a request thread (ctx: that thread's own, from the
 * array given to conns_start). Returns true when it kept fr (a parked long-poll), whose
 * owner later calls conns_finish. */
typedef bool (*conns_handler)(FCGX_Request *fr, void *ctx);

/* Starts the dispatcher on listen_fd and nthreads request threads, thread i with ctx[i].
 * false: a thread or the epoll set could not be made (logged). */
bool conns_start(int listen_fd, long nthreads, void *const *ctx, conns_handler handler);
/* Stops taking requests, waits for the request threads to finish theirs and closes every
 * idle connection. Requests parked elsewhere stay theirs until conns_finish. */
void conns_stop(void);
/* Ends the answer to a request kept by its handler and gives its connection back (or closes
 * it, when nginx asked for that or taskq-fcgi is stopping). Any thread. */
void conns_finish(FCGX_Request *fr);

#endif
