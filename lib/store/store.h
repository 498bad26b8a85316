/*
 * store: the ONLY C caller of SQL. Each function is one verb of the queue and runs one
 * prepared statement (mostly a call of a taskq.* SQL function from sql/), turning its result
 * into struct task records. Tasks filled in here are owned by the caller (task_cleanup).
 */
#ifndef TASKQ_STORE_H
#define TASKQ_STORE_H

#include <stdbool.h>

#include "base/err.h"
#include "model/task.h"
#include "store/db.h"
#include "time/schedule.h"

/* Opens (lazily: nothing is sent until first use) a connection with taskq's statements. */
struct db *store_open(const char *conninfo, const char *app_name);
/* The same, LISTENing for task changes (channel taskq_task: comma-separated ids) and for
 * subscriptions other processes authorised (channel taskq_watch). */
struct db *store_open_watcher(const char *conninfo, const char *app_name);
/* Tries to take the session advisory lock that makes this process the one publisher for key
 * (one per nginx: host and publisher socket); *got says whether it holds it. */
enum taskq_rc store_publish_lock(struct db *db, const char *key, bool *got, struct taskq_err *err);
/* Records the successes of a batch: ids and attempts as PostgreSQL array literals, results
 * as one JSON array in the same order. *recorded receives the ids recorded (the others were
 * no longer this worker's); the caller frees each and the array. */
enum taskq_rc store_complete_many(struct db *db, const char *worker, const char *ids,
				  const char *attempts, const char *results, char ***recorded, int *n,
				  struct taskq_err *err);
/* Up to limit running tasks. */
enum taskq_rc store_running(struct db *db, int limit, struct task_list *out, struct taskq_err *err);
/* Tells the other processes (channel taskq_watch) about a subscription. */
enum taskq_rc store_watch_note(struct db *db, const char *note, struct taskq_err *err);
/* The same, LISTENing for worker wake-ups (channel taskq_wake) and changes of the circuit
 * breakers (taskq_breakers) on every (re)connect. */
struct db *store_open_listener(const char *conninfo, const char *app_name);

enum taskq_rc store_ping(struct db *db, struct taskq_err *err);
/* How many worker daemons sent a heartbeat in the last minute. */
enum taskq_rc store_live_workers(struct db *db, int *n, struct taskq_err *err);

/* Inserts a task. *created is false when an unfinished task with the same owner and
 * dedupe_key existed; *out is then that task. */
/* One task of a batch as inserted (or, for a dedupe key already held, the live holder). */
struct batch_row {
	char id[40];
	bool created;
	char queue[72];
	int priority;
	char *run_at; /* RFC 3339 */
};

/* Inserts the tasks of tasks_json (a JSON array, see sql/010_batch.sql and 011_chains.sql)
 * for owner in one statement, all or none; *rows receives *n rows in the array's order
 * (store_batch_free). parent_owner: when not NULL, every parent named must be that owner's. */
enum taskq_rc store_submit_many(struct db *db, const char *owner, const char *tasks_json,
				const char *parent_owner, struct batch_row **rows, int *n,
				struct taskq_err *err);
void store_batch_free(struct batch_row *rows, int n);

/* Schedules (sql/012_schedules.sql). put: create (replace false: TASKQ_CONFLICT when the name
 * is taken) or create-or-replace (an owner's own only, or any for an admin: else
 * TASKQ_NOTFOUND); *created says which. */
enum taskq_rc store_schedule_put(struct db *db, const struct schedule_new *n, const char *owner,
				 bool replace, bool admin, struct schedule *out, bool *created,
				 struct taskq_err *err);
enum taskq_rc store_schedule_get(struct db *db, const char *name, struct schedule *out,
				 struct taskq_err *err);
/* owner NULL: all. */
enum taskq_rc store_schedule_list(struct db *db, const char *owner, struct schedule **out, int *n,
				  struct taskq_err *err);
/* owner NULL: any owner's. TASKQ_NOTFOUND when there was none to delete. */
enum taskq_rc store_schedule_delete(struct db *db, const char *name, const char *owner,
				    struct taskq_err *err);

/* A schedule whose fire time has come (or new: next_fire -1), for the worker's scheduler. */
struct due_schedule {
	char name[72];
	char *cron;
	char tz[72];
	int backfill;
	long long next_fire; /* Unix seconds, -1: none yet */
};
/* The due schedules (up to 200) and PostgreSQL's clock (*now, Unix seconds). */
enum taskq_rc store_schedules_due(struct db *db, struct due_schedule **out, int *n,
				  long long *now, struct taskq_err *err);
void store_due_free(struct due_schedule *v, int n);
/* Fires schedule name for instant at (once: task_id is "" when it had been fired). */
enum taskq_rc store_schedule_fire(struct db *db, const char *name, long long at, const char *worker,
				  char task_id[40], struct taskq_err *err);
/* Sets the next fire instant, or (error non-NULL) disables the schedule with the reason. */
enum taskq_rc store_schedule_advance(struct db *db, const char *name, long long next,
				     const char *error, struct taskq_err *err);

/* A limit on task starts (sql/013_rate_limits.sql); recent: starts in the current window. */
struct rate_limit {
	char scope[8];
	char name[208];
	int max_starts;
	double per_s;
	long long recent;
};
/* Sets (creates or changes: *created says which) the limit of scope ("queue" or "key") name. */
enum taskq_rc store_rate_put(struct db *db, const char *scope, const char *name, int max_starts,
			     double per_s, bool *created, struct taskq_err *err);
enum taskq_rc store_rate_list(struct db *db, struct rate_limit **out, int *n,
			      struct taskq_err *err);
/* TASKQ_NOTFOUND when there was no such limit. */
enum taskq_rc store_rate_delete(struct db *db, const char *scope, const char *name,
				struct taskq_err *err);

/* One submit of a group (fcgi/combine.c): n in; the caller makes id (a UUIDv7, task_new_id);
 * out receives the task. */
struct group_item {
	const struct task_new *n;
	char id[40];
	struct task *out;
};

/* Inserts the group's tasks (none with a dedupe_key) in one statement, all or none. */
enum taskq_rc store_submit_group(struct db *db, struct group_item *items, int n,
				 struct taskq_err *err);

enum taskq_rc store_submit(struct db *db, const struct task_new *n, struct task *out,
			   bool *created, struct taskq_err *err);

/* ---- chains (lib/store_chains.c) ---- */

/* Inserts task n, which names parents (n->after: ids only), as store_submit does; a parent
 * that does not exist, or is not parent_owner's when that is not NULL, is TASKQ_INVAL ("no
 * such parent task …"). *out is the task as inserted: blocked, ready, or cancelled at once
 * when a parent failed. */
enum taskq_rc store_submit_after(struct db *db, const struct task_new *n, const char *parent_owner,
				 struct task *out, bool *created, struct taskq_err *err);
/* The parents of task id with their kind, state and result, as the JSON array text that a
 * command kind gets in TASKQ_PARENTS; the caller frees *json. */
enum taskq_rc store_parents_json(struct db *db, const char *id, char **json, struct taskq_err *err);
enum taskq_rc store_get(struct db *db, const char *id, struct task *out, struct taskq_err *err);

enum cancel_outcome { CANCEL_DONE, CANCEL_REQUESTED, CANCEL_FINISHED };
/* TASKQ_NOTFOUND for an unknown id; else *oc says what happened and *out is the task. */
enum taskq_rc store_cancel(struct db *db, const char *id, struct task *out,
			   enum cancel_outcome *oc, struct taskq_err *err);
/* Failed or cancelled → queued; TASKQ_CONFLICT (with *out filled) from any other state. */
enum taskq_rc store_retry(struct db *db, const char *id, struct task *out,
			  struct taskq_err *err);
enum taskq_rc store_list(struct db *db, const struct task_filter *f, struct task_list *out,
			 struct taskq_err *err);

/* Sends one wake-up NOTIFY to the workers (its own transaction). */
enum taskq_rc store_wake(struct db *db, struct taskq_err *err);

/* The names of the registered task kinds; the caller frees each and the array. */
enum taskq_rc store_kinds(struct db *db, char ***names, int *n, struct taskq_err *err);
enum taskq_rc store_register_kind(struct db *db, const char *name, struct taskq_err *err);

/* Who holds a claimed task: the worker and the attempt its claim started. Every worker verb
 * is fenced by both, so a run whose lease expired (even one its own worker re-claimed)
 * records nothing. Strings borrowed. */
struct holder {
	const char *id, *worker;
	int attempt;
};

enum taskq_rc store_claim(struct db *db, const char *worker, const char *queue, int k,
			  int lease_s, struct task_list *out, struct taskq_err *err);
/* Seconds until the next queued task of the comma-separated queues is due (<0: none). */
enum taskq_rc store_next_due(struct db *db, const char *queues_csv, double *secs,
			     struct taskq_err *err);
/* *cancel: 1 cancel requested, 0 carry on, -1 the task is no longer this holder's. */
enum taskq_rc store_progress(struct db *db, const struct holder *h, int pct, const char *msg,
			     int lease_s, int *cancel, struct taskq_err *err);
enum taskq_rc store_complete(struct db *db, const struct holder *h, const char *result_json,
			     bool *recorded, struct taskq_err *err);
/* *state_out (may be NULL) receives the state the task moved to (queued or failed), or -1
 * when it was no longer this holder's. retry_in_s > 0 delays a retry at least that long. */
enum taskq_rc store_fail(struct db *db, const struct holder *h, const char *error, bool retryable,
			 double retry_in_s, int *state_out, struct taskq_err *err);
enum taskq_rc store_ack_cancel(struct db *db, const struct holder *h, struct taskq_err *err);
enum taskq_rc store_release(struct db *db, const struct holder *h, struct taskq_err *err);
/* Re-queues (or fails) tasks whose lease expired; *moved receives the count. */
enum taskq_rc store_rescue(struct db *db, int *moved, struct taskq_err *err);

/* What a worker tells the fleet table about itself (strings borrowed). */
struct worker_info {
	const char *id, *host, *version, *queues;
	int pid, concurrency;
};

/* Upserts the worker's row in taskq.workers (with its counters, metrics_json: a JSON object
 * or NULL) and renews the leases of the tasks it still runs, given as PostgreSQL array
 * literals of ids ("{id,id}") and of their attempts ("{1,2}"); calls on_cancel(id, ctx)
 * for each whose cancellation was requested (id borrowed for the call). */
enum taskq_rc store_heartbeat(struct db *db, const struct worker_info *w, int lease_s,
			      const char *held_array, const char *held_attempts, const char *metrics_json,
			      void (*on_cancel)(const char *id, void *ctx), void *ctx,
			      struct taskq_err *err);
/* Removes the worker's row (clean exit). */
enum taskq_rc store_worker_exit(struct db *db, const char *worker, struct taskq_err *err);
/* Deletes up to batch finished tasks older than older_than_h hours, and their events. */
enum taskq_rc store_prune(struct db *db, int older_than_h, int batch, int *deleted,
			  struct taskq_err *err);

/* Takes up to k completion callbacks that are due, leased for lease_s seconds. */
enum taskq_rc store_claim_callbacks(struct db *db, int k, int lease_s, struct task_list *out,
				    struct taskq_err *err);
/* Records one delivery: delivered, or retried later, or failed after too many tries. */
enum taskq_rc store_callback_done(struct db *db, const char *id, bool ok, const char *error,
				  struct taskq_err *err);

/* Per-queue counts (GET /api/queues) of all tasks, or of one owner's; the caller frees with
 * queue_stats_free. */
enum taskq_rc store_queues(struct db *db, const char *owner, struct queue_stat **out, int *n,
			   struct taskq_err *err);
/* A task's history, oldest first (at most 1000 rows); free with task_events_free. */
enum taskq_rc store_history(struct db *db, const char *id, struct task_event **out, int *n,
			    struct taskq_err *err);
/* The tasks among ids (a PostgreSQL array literal "{id,id}") that exist. */
enum taskq_rc store_get_many(struct db *db, const char *ids_array, struct task_list *out,
			     struct taskq_err *err);

/* Applies one migration file if its version is not yet recorded; *applied says whether it
 * ran. Serialised across concurrent migrators by an advisory lock. */
enum taskq_rc store_migrate(struct db *db, int version, const char *name, const char *sql,
			    bool *applied, struct taskq_err *err);

/* ---- bearer tokens (lib/store_auth.c) ---- */

/* The owner (copied into owner, 65 bytes) and role of the live token with this SHA-256
 * (64 hex digits); *found false for an unknown, expired or revoked one. *expires_in_s is
 * the time it has left (< 0: no expiry). */
enum taskq_rc store_token_lookup(struct db *db, const char *hash_hex, bool *found, char *owner,
				 bool *admin, double *expires_in_s, struct taskq_err *err);
/* Stores a new token's hash; expires_s <= 0 means never. *id receives its id. */
enum taskq_rc store_token_create(struct db *db, const char *hash_hex, const char *prefix,
				 const char *owner, bool admin, double expires_s, const char *note,
				 long long *id, struct taskq_err *err);
/* One row of taskq.token_list (no hash). Strings owned (store_tokens_free). */
struct token_row {
	long long id;
	char *prefix, *owner, *note, *created_at, *expires_at, *status;
	bool admin;
};
enum taskq_rc store_token_list(struct db *db, struct token_row **out, int *n,
			       struct taskq_err *err);
void store_tokens_free(struct token_row *t, int n);
/* Revokes the token with this id, or the one live token with this prefix; *n revoked. */
enum taskq_rc store_token_revoke(struct db *db, const char *which, int *n, struct taskq_err *err);
/* How many of the owner's tasks are queued or running. */
/* The view-token signing keys (taskq.view_keys), newest first: up to max of them into ids[]
 * and secrets[] (VIEW_KEY_LEN bytes each); *n how many. */
enum taskq_rc store_view_keys(struct db *db, int max, int *ids, unsigned char (*secrets)[32],
			      int *n, struct taskq_err *err);
enum taskq_rc store_owner_unfinished(struct db *db, const char *owner, long long *n,
				     struct taskq_err *err);

/* ---- /metrics (taskq-fcgi) ---- */

/* One row of taskq.metrics_queues: a queue and state. */
struct metrics_queue {
	char *queue, *state;
	long long count, finished_last_minute;
	double oldest_ready_s; /* on the queued row: the longest wait of a ready task, else 0 */
};
/* One row of taskq.counter_totals: tasks that ever reached a final state. */
struct metrics_counter {
	char *queue, *state;
	long long n;
};
/* A worker seen in the last minute, with its counters as its heartbeat wrote them. */
struct metrics_worker {
	char *id, *metrics; /* metrics: JSON text or NULL */
	int running, concurrency;
	double last_seen_s;
};
/* A host whose circuit breaker tripped at least once (a row of taskq.breakers). */
struct metrics_breaker {
	char *host, *state;
	long long failures, trips, probes, deferred;
};
struct metrics_db {
	struct metrics_queue *q;
	struct metrics_counter *c;
	struct metrics_worker *w;
	struct metrics_breaker *b;
	int nq, nc, nw, nb;
};
/* The queue, counter, fleet and breaker figures of /metrics (four statements); free with
 * store_metrics_free (also after a failure, which leaves *out empty). */
enum taskq_rc store_metrics(struct db *db, struct metrics_db *out, struct taskq_err *err);
void store_metrics_free(struct metrics_db *m);

/* ---- circuit breakers of the http kind's upstream hosts (lib/store_breakers.c) ---- */

#define BREAKER_HOST_MAX 300

enum breaker_state { BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN };

/* A host whose breaker is not closed or counts failures (a row of taskq.breakers). */
struct breaker_row {
	char host[BREAKER_HOST_MAX + 1];
	enum breaker_state state;
	int failures;
};
/* The rows of hosts that are not healthy (at most 1000); the caller frees *out. */
enum taskq_rc store_breakers_active(struct db *db, struct breaker_row **out, int *n,
				    struct taskq_err *err);

enum breaker_verdict { BREAKER_RUN, BREAKER_PROBE, BREAKER_DEFERRED, BREAKER_LOST };
struct breaker_admission {
	enum breaker_verdict verdict;
	enum breaker_state state;
	int failures;
	char message[320]; /* BREAKER_DEFERRED: the task's new message */
};
/* Asks taskq.breaker_admit whether h's task may call host now. The answer may be that it is
 * the probe, or that the task went back to the queue without spending its attempt (deferred,
 * fenced by h like store_fail), or that h no longer holds it. probe_s: how long a probe may
 * take before another task may probe instead. */
enum taskq_rc store_breaker_admit(struct db *db, const struct holder *h, const char *host,
				  double probe_s, struct breaker_admission *out, struct taskq_err *err);

/* The defaults of a worker's flags (per-host rows of taskq.breaker_settings win). */
struct breaker_defaults {
	int failures; /* 0: no breakers */
	double cooldown_s, max_cooldown_s;
};
struct breaker_report {
	char transition[16]; /* "opened", "reopened", "closed" or "" */
	enum breaker_state state;
	int failures;
	double cooldown_s;
};
/* Records what host did for h's attempt: ok, or a failure with a short reason. */
enum taskq_rc store_breaker_report(struct db *db, const struct holder *h, const char *host,
				   bool ok, const char *reason, const struct breaker_defaults *d,
				   struct breaker_report *out, struct taskq_err *err);
/* "closed", "open", "half_open" → the state; -1 for anything else. */
int breaker_state_parse(const char *s);

/* ---- the fleet for the CLI (taskq stats) ---- */

/* One live worker daemon, a row of taskq.workers. Strings owned (store_workers_free). */
struct worker_row {
	char *id, *host, *version, *queues;
	int pid, concurrency, running;
	double last_seen_s; /* seconds since its last heartbeat */
};
/* The workers that sent a heartbeat in the last minute (as store_live_workers counts them),
 * by host and pid; the caller frees *out with store_workers_free. */
enum taskq_rc store_workers(struct db *db, struct worker_row **out, int *n, struct taskq_err *err);
void store_workers_free(struct worker_row *w, int n);

#endif
