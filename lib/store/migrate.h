/*
 * store/migrate: applying the schema steps of sql/schema/ once each, recorded in
 * taskq.schema_version, and the function files of sql/functions/ at every migrate. Reading
 * the files and choosing the order is the CLI's (cli/migrate.c).
 */
#ifndef TASKQ_STORE_MIGRATE_H
#define TASKQ_STORE_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "store/db.h"

/* Applies one migration file if its version is not yet recorded; *applied says whether it
 * ran. Serialised across concurrent migrators by an advisory lock. */
enum taskq_rc store_migrate(struct db *db, int version, const char *name, const char *sql,
			    bool *applied, struct taskq_err *err);

/* Runs the n scripts sqls (the function files, in their order) in one transaction, under the
 * migrators' advisory lock: all of them or, when one fails, none. On failure *failed is the
 * index of the script that failed (n when it was the transaction itself) and err says why. */
enum taskq_rc store_migrate_functions(struct db *db, const char *const *sqls, size_t n,
				      size_t *failed, struct taskq_err *err);

#endif
