/*
 * dbreach: what the connections of this process know about reaching a database (one entry
 * per conninfo). When a connect failed only after waiting (a cut link, a host that does not
 * answer: libpq waited connect_timeout for each host), the database is taken as unreachable:
 * from then on one connection at a time tries again, and the others fail at once instead of
 * each waiting the same timeouts (taskq-fcgi answers 503 with Retry-After right away rather
 * than after seconds), and idle connections are not trusted (their next statement would hang
 * until TCP gives up). The first connect that succeeds ends it. A connect refused at once (a
 * server restarting on this host) changes nothing: trying again costs nothing.
 */
#ifndef TASKQ_DBREACH_H
#define TASKQ_DBREACH_H

#include <stdbool.h>

/* The entry for conninfo (the same string, the same entry); -1 when the table is full (then
 * every connect simply tries). */
int dbreach_entry(const char *conninfo);
/* Whether a connect may go out now; *probe says whether it is the one probe (pass it on). */
bool dbreach_may_try(int entry, bool *probe);
/* The connect's outcome and how long it took. */
void dbreach_done(int entry, bool probe, bool ok, double seconds);
/* A connection was lost in a statement that had waited `seconds` (a dead link shows as a
 * long wait, then an error): a long one counts as a failed connect that waited. */
void dbreach_lost(int entry, double seconds);
/* Whether the database is taken as unreachable now: a connection that still looks fine
 * (idle, nothing heard) is dropped rather than trusted with a statement that would hang. */
bool dbreach_unreachable(int entry);

#endif
