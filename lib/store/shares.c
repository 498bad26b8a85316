/* store/shares: the statements behind owners' weights and queues' priority aging (see
 * store/shares.h); the checks are the SQL functions' (sql/functions/owners.sql, aging.sql). */
#include "store/shares.h"

#include <stdio.h>

#include "store/exec.h"

static struct db_stmt s_weight_put =
	DB_STMT("weight_put", "SELECT taskq.set_owner_weight($1, $2::float8)", 2);
static struct db_stmt s_weight_list =
	DB_STMT("weight_list", "SELECT owner, weight FROM taskq.owner_weights ORDER BY owner", 0);
static struct db_stmt s_aging_put =
	DB_STMT("aging_put", "SELECT taskq.set_queue_aging($1, $2::float8)", 2);

/* A statement of two parameters, a name and a number, run for its effect. */
static enum taskq_rc put(struct db *db, struct db_stmt *st, const char *name, double v,
			 struct taskq_err *err)
{
	char num[40];
	const char *p[2] = {name, num};

	snprintf(num, sizeof num, "%.6f", v);
	return store_exec(db, st, p, err);
}

enum taskq_rc store_weight_put(struct db *db, const char *owner, double weight,
			       struct taskq_err *err)
{
	return put(db, &s_weight_put, owner, weight, err);
}

static void decode_weight(const struct row *r, void *elem)
{
	struct owner_weight *w = elem;

	row_copy(r, 0, w->owner, sizeof w->owner);
	w->weight = row_double(r, 1, 1);
}

enum taskq_rc store_weight_list(struct db *db, struct owner_weight **out, int *n,
				struct taskq_err *err)
{
	return store_exec_rows(db, &s_weight_list, NULL, sizeof **out, decode_weight, out, n, err);
}

enum taskq_rc store_aging_put(struct db *db, const char *queue, double seconds,
			      struct taskq_err *err)
{
	return put(db, &s_aging_put, queue, seconds, err);
}
