/* dbreach: one probe at a time towards a database that stopped answering (see dbreach.h). */
#include "store/dbreach.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/xalloc.h"

/* a failed connect that took this long waited on the network rather than being refused */
#define SLOW_CONNECT_S 1.0
#define ENTRIES 8

static struct {
	pthread_mutex_t lock;
	int n;
	struct {
		char *conninfo;
		bool unreachable, probing;
	} e[ENTRIES];
} g = {.lock = PTHREAD_MUTEX_INITIALIZER};

int dbreach_entry(const char *conninfo)
{
	int i, found = -1;

	pthread_mutex_lock(&g.lock);
	for (i = 0; i < g.n && found < 0; i++)
		if (!strcmp(g.e[i].conninfo, conninfo))
			found = i;
	if (found < 0 && g.n < ENTRIES) {
		found = g.n++;
		g.e[found].conninfo = xstrdup(conninfo);
	}
	pthread_mutex_unlock(&g.lock);
	return found;
}

bool dbreach_may_try(int entry, bool *probe)
{
	bool ok = true;

	*probe = false;
	if (entry < 0)
		return true;
	pthread_mutex_lock(&g.lock);
	if (g.e[entry].unreachable) {
		ok = !g.e[entry].probing;
		g.e[entry].probing = *probe = ok;
	}
	pthread_mutex_unlock(&g.lock);
	return ok;
}

static void mark(int entry, const char *why, double seconds)
{
	if (g.e[entry].unreachable)
		return;
	g.e[entry].unreachable = true;
	log_warn("event=db_unreachable after=%s seconds=%.1f msg=\"one connection at a time tries "
		 "again; the others fail at once\"",
		 why, seconds);
}

void dbreach_lost(int entry, double seconds)
{
	if (entry < 0 || seconds < SLOW_CONNECT_S)
		return;
	pthread_mutex_lock(&g.lock);
	mark(entry, "statement", seconds);
	pthread_mutex_unlock(&g.lock);
}

bool dbreach_unreachable(int entry)
{
	bool down;

	if (entry < 0)
		return false;
	pthread_mutex_lock(&g.lock);
	down = g.e[entry].unreachable;
	pthread_mutex_unlock(&g.lock);
	return down;
}

void dbreach_done(int entry, bool probe, bool ok, double seconds)
{
	if (entry < 0)
		return;
	pthread_mutex_lock(&g.lock);
	if (probe)
		g.e[entry].probing = false;
	if (ok && g.e[entry].unreachable) {
		g.e[entry].unreachable = false;
		log_info("event=db_reachable");
	} else if (!ok && seconds >= SLOW_CONNECT_S) {
		mark(entry, "connect", seconds);
	}
	pthread_mutex_unlock(&g.lock);
}
