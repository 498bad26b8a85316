/* migrate: applies the numbered files of a sql/ directory in order, each once. */
#ifndef TASKQ_MIGRATE_H
#define TASKQ_MIGRATE_H

#include "store/db.h"

/* Applies every NNN_name.sql of dir not yet recorded; prints a line per file.
 * Returns 0 on success, 1 on failure (with a message on stderr). */
int migrate_run(struct db *db, const char *dir);

#endif
