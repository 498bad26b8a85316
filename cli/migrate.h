/*
 * migrate: `taskq migrate`: applies the numbered schema steps of DIR/schema not yet recorded,
 * then every function file of DIR/functions, in the order of DIR/functions/order.txt.
 */
#ifndef TASKQ_MIGRATE_H
#define TASKQ_MIGRATE_H

#include "store/db.h"

/* Applies the schema steps (NNN_name.sql) of dir/schema not yet recorded, each in its own
 * transaction, then the files dir/functions/order.txt lists, all in one transaction; prints a
 * line per step applied and one per part. Returns the exit code: CLI_OK, or after a message
 * on stderr CLI_TEMPFAIL (the database is unreachable) or CLI_ERROR (any other failure). */
int migrate_run(struct db *db, const char *dir);

#endif
