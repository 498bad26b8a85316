/*
 * kinds: the table of task kinds this worker runs: the built-in ones and the command kinds of
 * the configuration, one generation per (re)load. The kinds themselves live in worker/kinds/
 * and see only worker/kinds/api.h; a new kind is one file there and one row in worker/kinds.c.
 * This table must not run kinds (the executors do, worker/executor.c).
 */
#ifndef TASKQ_KINDS_H
#define TASKQ_KINDS_H

#include "base/err.h"
#include "kinds/api.h"

/* Builds a kinds table: the built-in kinds, plus one command kind per "name=/abs/path" of
 * commands (comma-separated; NULL or "" for none), and makes it the current one (at start and
 * on SIGHUP; tasks running with the previous table keep it until they finish). TASKQ_INVAL
 * (and the current table unchanged) for a bad list, a relative path, or a name that clashes
 * with a built-in kind. */
enum taskq_rc kinds_init(const char *commands, struct taskq_err *err);
void kinds_cleanup(void);

struct kind_table;
/* The current table (the built-in kinds before kinds_init), with a reference that keeps its
 * kinds valid until kinds_release(). */
struct kind_table *kinds_acquire(void);
void kinds_release(struct kind_table *t);
/* The kind with this name in t, or NULL. */
const struct kind *kinds_lookup(const struct kind_table *t, const char *name);
/* t's kinds, NULL-terminated. */
const struct kind *const *kinds_list(const struct kind_table *t);

#endif
