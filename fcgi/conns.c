/* conns: the dispatcher, the request threads and the kept connections (see conns.h). */
#include "conns.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/xalloc.h"

enum conn_state {
	CONN_IDLE,  /* in the epoll set, armed: nginx may send the next request */
	CONN_READY, /* something to read: waits for a request thread */
	CONN_BUSY,  /* a request thread (or a parked long-poll's owner) has it */
};

struct conn {
	FCGX_Request fr; /* first: conns_finish gets &c->fr */
	enum conn_state state;
	struct conn *next_ready;
	struct conn *prev, *next; /* every connection */
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t ready_cv;
	struct conn *ready_head, *ready_tail;
	struct conn *all;
	bool stopping;
	int epfd, stopfd, listen_fd;
	pthread_t dispatcher;
	pthread_t *threads;
	long nthreads;
	void *const *ctx;
	conns_handler handler;
} g = {.lock = PTHREAD_MUTEX_INITIALIZER,
       .ready_cv = PTHREAD_COND_INITIALIZER,
       .epfd = -1,
       .stopfd = -1};

/* Markers of the two non-connection members of the epoll set. */
static char g_listen_tag, g_stop_tag;

/* Under g.lock. */
static void unlink_conn(struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		g.all = c->next;
	if (c->next)
		c->next->prev = c->prev;
}

/* Closes c's connection (if libfcgi has not: without libfcgi's lingering read, as nothing
 * is left to read on it) and frees it. Under g.lock. */
static void drop(struct conn *c)
{
	if (c->fr.ipcFd >= 0) {
		close(c->fr.ipcFd);
		c->fr.ipcFd = -1;
	}
	FCGX_Free(&c->fr, 0);
	unlink_conn(c);
	free(c);
}

/* Arms c in the epoll set for its next request. Under g.lock. */
static void arm(struct conn *c, int op)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.ptr = c};

	c->state = CONN_IDLE;
	if (epoll_ctl(g.epfd, op, c->fr.ipcFd, &ev) < 0) {
		log_warn("event=conn_watch_failed errno=%d", errno);
		drop(c);
	}
}

static void accept_new(void)
{
	for (int i = 0; i < 64; i++) {
		struct conn *c;
		int fd = accept4(g.listen_fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				const struct timespec pause = {0, 10 * 1000000L};
				log_warn("event=accept_failed errno=%d", errno);
				nanosleep(&pause,
					  NULL); /* the listener stays readable: no spinning */
			}
			return; /* EAGAIN: none left (another process may have taken it) */
		}
		{
			int one =
				1; /* a TCP listener (--listen host:port): answers leave at once */
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		}
		c = xcalloc(1, sizeof *c);
		FCGX_InitRequest(&c->fr, -1, 0); /* no listener: libfcgi never accepts for us */
		c->fr.ipcFd = fd;
		pthread_mutex_lock(&g.lock);
		c->next = g.all;
		if (g.all)
			g.all->prev = c;
		g.all = c;
		arm(c, EPOLL_CTL_ADD);
		pthread_mutex_unlock(&g.lock);
	}
}

static void push_ready(struct conn *c)
{
	pthread_mutex_lock(&g.lock);
	c->state = CONN_READY;
	c->next_ready = NULL;
	if (g.ready_tail)
		g.ready_tail->next_ready = c;
	else
		g.ready_head = c;
	g.ready_tail = c;
	pthread_cond_signal(&g.ready_cv);
	pthread_mutex_unlock(&g.lock);
}

/* The next connection with a request to read; NULL once stopping and none is left. */
static struct conn *pop_ready(void)
{
	struct conn *c;

	pthread_mutex_lock(&g.lock);
	while (!g.ready_head && !g.stopping)
		pthread_cond_wait(&g.ready_cv, &g.lock);
	if ((c = g.ready_head) != NULL) {
		g.ready_head = c->next_ready;
		if (!g.ready_head)
			g.ready_tail = NULL;
		c->state = CONN_BUSY;
	}
	pthread_mutex_unlock(&g.lock);
	return c;
}

static void *dispatch(void *arg)
{
	struct epoll_event ev[64];

	(void)arg;
	for (;;) {
		int n = epoll_wait(g.epfd, ev, 64, -1);

		if (n < 0 && errno != EINTR) {
			log_error("event=epoll_failed errno=%d", errno);
			return NULL;
		}
		for (int i = 0; i < n; i++) {
			if (ev[i].data.ptr == &g_stop_tag)
				return NULL;
			if (ev[i].data.ptr == &g_listen_tag)
				accept_new();
			else
				push_ready(ev[i].data.ptr);
		}
	}
}

static void *serve(void *arg)
{
	void *ctx = arg;
	struct conn *c;

	while ((c = pop_ready()) != NULL) {
		/* reads the request (or finds the connection closed: libfcgi closes it). It first
		 * ends the previous request, closing the connection unless that one asked to keep
		 * it: a new connection must look kept too. */
		c->fr.keepConnection = 1;
		if (FCGX_Accept_r(&c->fr) < 0) {
			pthread_mutex_lock(&g.lock);
			drop(c);
			pthread_mutex_unlock(&g.lock);
			continue;
		}
		if (!g.handler(&c->fr, ctx))
			conns_finish(&c->fr);
	}
	return NULL;
}

void conns_finish(FCGX_Request *fr)
{
	struct conn *c = (struct conn *)fr;

	/* what the handler left unread of the body (a 413 reads none) would be taken for the
	 * next request on this connection */
	if (fr->keepConnection && fr->in) {
		char buf[4096];
		while (FCGX_GetStr(buf, sizeof buf, fr->in) > 0)
			;
	}
	FCGX_Finish_r(fr); /* closes unless nginx asked to keep it and all went well */
	pthread_mutex_lock(&g.lock);
	if (fr->ipcFd < 0 || g.stopping)
		drop(c);
	else
		arm(c, EPOLL_CTL_MOD);
	pthread_mutex_unlock(&g.lock);
}

/* Adds fd to the epoll set, reported with tag. */
static bool watch_fd(int fd, void *tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = tag};

	return epoll_ctl(g.epfd, EPOLL_CTL_ADD, fd, &ev) == 0;
}

bool conns_start(int listen_fd, long nthreads, void *const *ctx, conns_handler handler)
{
	int fl = fcntl(listen_fd, F_GETFL);

	g.listen_fd = listen_fd;
	g.handler = handler;
	g.ctx = ctx;
	/* the dispatcher accepts only what is there; a process sharing the socket (a handover)
	 * may take a connection between its wake-up and its accept */
	if (fl < 0 || fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    (g.epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (g.stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0 ||
	    !watch_fd(listen_fd, &g_listen_tag) || !watch_fd(g.stopfd, &g_stop_tag)) {
		log_error("event=conns_failed errno=%d", errno);
		return false;
	}
	g.threads = xcalloc((size_t)nthreads, sizeof *g.threads);
	for (; g.nthreads < nthreads; g.nthreads++)
		if (pthread_create(&g.threads[g.nthreads], NULL, serve, ctx[g.nthreads]) != 0) {
			log_error("event=thread_failed");
			return false;
		}
	if (pthread_create(&g.dispatcher, NULL, dispatch, NULL) != 0) {
		log_error("event=thread_failed");
		return false;
	}
	return true;
}

void conns_stop(void)
{
	uint64_t one = 1;
	struct conn *c, *next;

	if (write(g.stopfd, &one, sizeof one) < 0)
		log_warn("event=eventfd_write_failed errno=%d", errno);
	pthread_join(g.dispatcher, NULL);
	pthread_mutex_lock(&g.lock);
	g.stopping = true; /* the threads answer what is ready, then end */
	pthread_cond_broadcast(&g.ready_cv);
	pthread_mutex_unlock(&g.lock);
	for (long i = 0; i < g.nthreads; i++)
		pthread_join(g.threads[i], NULL);
	pthread_mutex_lock(&g.lock);
	for (c = g.all; c; c = next) {
		next = c->next;
		if (c->state == CONN_IDLE)
			drop(c);
	}
	pthread_mutex_unlock(&g.lock);
	close(g.epfd);
	close(g.stopfd);
	free(g.threads);
}
