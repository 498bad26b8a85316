/*
 * store_migrate: applying sql/functions/ (the numbered schema steps: store_migrate() in
 * store.h). No file handling here: the caller reads the files.
 */
#ifndef TASKQ_STORE_MIGRATE_H
#define TASKQ_STORE_MIGRATE_H

#include <stddef.h>

#include "db.h"
#include "err.h"

/* Runs the n scripts sqls (the function files, in their order) in one transaction, under the
 * migrators' advisory lock: all of them or, when one fails, none. On failure *failed is the
 * index of the script that failed (n when it was the transaction itself) and err says why. */
enum taskq_rc store_migrate_functions(struct db *db, const char *const *sqls, size_t n,
				      size_t *failed, struct taskq_err *err);

#endif
