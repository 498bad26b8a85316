/* store/migrate: the numbered schema steps, each once and in its own transaction, and the
 * function files, all of them in one transaction at every migrate; both under the same
 * advisory lock, so that concurrent migrates take turns (see store/migrate.h). */
#include "store/migrate.h"

#include <stdio.h>
#include <stdlib.h>

#include "store/exec.h"

/* pg_advisory_xact_lock's key for every migrator, schema steps and function files alike */
#define MIGRATE_LOCK "SELECT pg_advisory_xact_lock(7415238512)"

static struct db_stmt s_migrated =
	DB_STMT("migrated", "SELECT 1 FROM taskq.schema_version WHERE version = $1::int", 1);
static struct db_stmt s_record_migration =
	DB_STMT("record_migration",
		"INSERT INTO taskq.schema_version (version, name) VALUES ($1::int, $2)", 2);

enum taskq_rc store_migrate(struct db *db, int version, const char *name, const char *sql,
			    bool *applied, struct taskq_err *err)
{
	static const char boot[] = "BEGIN;" MIGRATE_LOCK ";"
				   "CREATE SCHEMA IF NOT EXISTS taskq;"
				   "CREATE TABLE IF NOT EXISTS taskq.schema_version ("
				   " version integer PRIMARY KEY, name text NOT NULL,"
				   " applied_at timestamptz NOT NULL DEFAULT now())";
	char vs[16];
	const char *p[2] = {vs, name};
	bool done;
	enum taskq_rc rc;

	*applied = false;
	snprintf(vs, sizeof vs, "%d", version);
	if ((rc = db_exec_script(db, boot, err)))
		return rc;
	if ((rc = store_exec_row(db, &s_migrated, p, NULL, NULL, &done, err)))
		goto fail;
	if (done)
		return db_exec_script(db, "COMMIT", err);
	if ((rc = db_exec_script(db, sql, err)))
		goto fail;
	if ((rc = store_exec(db, &s_record_migration, p, err)))
		goto fail;
	if ((rc = db_exec_script(db, "COMMIT", err)))
		return rc;
	*applied = true;
	return TASKQ_OK;
fail:
	db_exec_script(db, "ROLLBACK", NULL);
	return rc;
}

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
