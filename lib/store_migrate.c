/*
 * store_migrate: the transaction that applies the function files of sql/functions/ (every
 * migrate, all of them, in one transaction), under the advisory lock that also serialises the
 * numbered schema steps (store_migrate() in store.c, same key), so that concurrent migrates
 * take turns. Knows nothing of files: cli/migrate.c reads them.
 */
#include "store_migrate.h"

/* pg_advisory_xact_lock's key for every migrator: the same as store_migrate()'s. */
#define MIGRATE_LOCK "SELECT pg_advisory_xact_lock(7415238512)"

enum taskq_rc store_migrate_functions(struct db *db, const char *const *sqls, size_t n,
				      size_t *failed, struct taskq_err *err)
{
	enum taskq_rc rc;

	*failed = n;
	if ((rc = db_exec_script(db, "BEGIN", err)))
		return rc;
	if ((rc = db_exec_script(db, MIGRATE_LOCK, err)))
		goto fail;
	for (size_t i = 0; i < n; i++) {
		if ((rc = db_exec_script(db, sqls[i], err))) {
			*failed = i;
			goto fail;
		}
	}
	return db_exec_script(db, "COMMIT", err);
fail:
	db_exec_script(db, "ROLLBACK", NULL);
	return rc;
}
