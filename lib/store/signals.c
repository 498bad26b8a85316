/*
 * store/signals: the statements of signals, signal links, waits and checkpoints (see
 * store/signals.h). The semantics live in sql/functions/signals.sql; this file calls its
 * functions and maps their outcomes.
 */
#include "store/signals.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/exec.h"
#include "store/tasks.h"

static struct db_stmt s_signal = DB_STMT(
	"signal", "SELECT x.outcome, (x.t).* FROM taskq.signal($1::uuid, $2, $3::jsonb) x", 3);
/* NULL (no link made) for an unknown task: the same 404 as the other task routes' */
static struct db_stmt s_signal_token =
	DB_STMT("signal_token",
		"SELECT CASE WHEN EXISTS (SELECT 1 FROM taskq.tasks WHERE id = $1::uuid)"
		" THEN taskq.signal_token($1::uuid, $2, make_interval(secs => $3::float8)) END",
		3);
static struct db_stmt s_signal_by_token =
	DB_STMT("signal_by_token",
		"SELECT x.outcome, (x.t).* FROM taskq.signal_by_token($1, $2::jsonb) x", 2);
static struct db_stmt s_wait =
	DB_STMT("wait", "SELECT taskq.wait($1::uuid, $2, $3::int, $4, $5::float8, $6)", 6);
static struct db_stmt s_checkpoint =
	DB_STMT("checkpoint", "SELECT taskq.checkpoint($1::uuid, $2, $3::int, $4::jsonb)", 4);
static struct db_stmt s_wait_timeouts = DB_STMT("wait_timeouts", "SELECT taskq.wait_timeouts()", 0);

static enum signal_outcome outcome_of(const char *name)
{
	return !strcmp(name, "resumed")  ? SIGNAL_RESUMED
	       : !strcmp(name, "stored") ? SIGNAL_STORED
	       : !strcmp(name, "final")  ? SIGNAL_FINAL
	       : !strcmp(name, "used")   ? SIGNAL_USED
					 : SIGNAL_INVALID;
}

enum taskq_rc store_signal(struct db *db, const char *id, const char *name, const char *payload,
			   struct task *out, enum signal_outcome *oc, struct taskq_err *err)
{
	const char *p[3] = {id, name, payload};
	char o[STORE_OUTCOME_MAX];
	enum taskq_rc rc = store_exec_outcome(db, &s_signal, p, o, out, err);

	if (rc == TASKQ_OK)
		*oc = outcome_of(o);
	return rc;
}

enum taskq_rc store_signal_token(struct db *db, const char *id, const char *name, long ttl_s,
				 char **token, struct taskq_err *err)
{
	char ttl[24];
	const char *p[3] = {id, name, ttl};
	enum taskq_rc rc;

	snprintf(ttl, sizeof ttl, "%ld", ttl_s);
	rc = store_exec_value(db, &s_signal_token, p, token, err);
	if (rc == TASKQ_OK && !*token)
		return taskq_fail(err, TASKQ_NOTFOUND, STORE_NO_TASK);
	return rc;
}

enum taskq_rc store_signal_by_token(struct db *db, const char *token, const char *payload,
				    struct task *out, enum signal_outcome *oc,
				    struct taskq_err *err)
{
	const char *p[2] = {token, payload};
	char o[STORE_OUTCOME_MAX] = "";
	enum taskq_rc rc = store_exec_outcome(db, &s_signal_by_token, p, o, out, err);

	/* the link's task was deleted (pruned) since: as good as no link */
	if (rc == TASKQ_NOTFOUND) {
		*oc = SIGNAL_INVALID;
		return TASKQ_OK;
	}
	if (rc == TASKQ_OK)
		*oc = outcome_of(o);
	return rc;
}

/* The holder's three parameters, in p[0..3) (as the text of its attempt in as). */
static void holder_params(const struct holder *h, const char **p, char as[16])
{
	snprintf(as, 16, "%d", h->attempt);
	p[0] = h->id;
	p[1] = h->worker;
	p[2] = as;
}

enum taskq_rc store_wait(struct db *db, const struct holder *h, const char *name, double timeout_s,
			 bool on_timeout_run, int *state_out, struct taskq_err *err)
{
	char as[16], ts[32];
	const char *p[6];
	char *v = NULL;
	enum taskq_rc rc;

	holder_params(h, p, as);
	snprintf(ts, sizeof ts, "%.3f", timeout_s);
	p[3] = name;
	p[4] = timeout_s > 0 ? ts : NULL;
	p[5] = on_timeout_run ? "run" : "fail";
	rc = store_exec_value(db, &s_wait, p, &v, err);
	*state_out = v ? task_state_parse(v) : -1;
	free(v);
	return rc;
}

enum taskq_rc store_checkpoint(struct db *db, const struct holder *h, const char *checkpoint,
			       bool *held, struct taskq_err *err)
{
	char as[16];
	const char *p[4];

	holder_params(h, p, as);
	p[3] = checkpoint;
	return store_exec_bool(db, &s_checkpoint, p, held, err);
}

enum taskq_rc store_wait_timeouts(struct db *db, int *moved, struct taskq_err *err)
{
	long long n = 0;
	enum taskq_rc rc = store_exec_ll(db, &s_wait_timeouts, NULL, 0, &n, err);

	*moved = (int)n;
	return rc;
}
