/*
 * store/migrate: applying the migration files of sql/ once each, recorded in
 * taskq.schema_version. Reading the files and choosing the order is the CLI's (cli/migrate.c).
 */
#ifndef TASKQ_STORE_MIGRATE_H
#define TASKQ_STORE_MIGRATE_H

#include <stdbool.h>

#include "base/err.h"
#include "store/db.h"

/* Applies one migration file if its version is not yet recorded; *applied says whether it
 * ran. Serialised across concurrent migrators by an advisory lock. */
enum taskq_rc store_migrate(struct db *db, int version, const char *name, const char *sql,
			    bool *applied, struct taskq_err *err);

#endif
