/*
 * task: the task record as C sees it, its states, and the submit request. Pure data and
 * helpers: no database, no JSON handling here (lib/store/ fills tasks, lib/model/taskjson.c
 * encodes them and fills submits, whose parents stay a json-c array it validated).
 */
#ifndef TASKQ_TASK_H
#define TASKQ_TASK_H

#include <stdbool.h>
#include <stddef.h>

#define TASK_ID_LEN 36
#define TASK_AFTER_MAX 100 /* parents a task may name */

struct json_object;

enum task_state {
	TASK_QUEUED,
	TASK_RUNNING,
	TASK_SUCCEEDED,
	TASK_FAILED,
	TASK_CANCELLED,
	TASK_HELD,
	TASK_WAITING, /* for a signal: not claimable, holds no worker (sql/functions/signals.sql) */
};
#define TASK_STATES 7 /* how many values enum task_state has */

/* One task row. Every pointer is owned by the task (task_cleanup frees them); NULL stands for
 * SQL NULL. payload and result hold JSON text; times hold RFC 3339 UTC text. */
struct task {
	char id[TASK_ID_LEN + 1];
	char *kind, *queue, *owner;
	enum task_state state;
	int progress;
	char *message, *payload, *result, *error;
	int attempts, max_attempts, priority;
	int timeout_s; /* -1: none */
	bool cancel_requested;
	char *created_at, *run_at, *started_at, *finished_at, *updated_at;
	long long version;
	char *dedupe_key, *concurrency_key;
	char *callback_url, *callback_state;
	char *parents;       /* JSON array text of the parents' ids, or NULL: none */
	char *after_policy;  /* "success" or "always" (with parents), or NULL */
	int pending_parents; /* parents not finished yet: > 0 while queued means blocked */
	/* JSON text: the signals received so far ({name: payload}; NULL: none), what it waits for
	 * ({"signal","until","on_timeout"} or NULL), the last checkpoint of its program */
	char *signals, *waiting_for, *checkpoint;
	int position;   /* a ready queued task's place in line (1: next); -1: none */
	int eta_s;      /* seconds until it starts, as expected; -1: unknown */
	char *ordering; /* "strict" (started in submit order within its key), or NULL */
	int start_by_s; /* -1: none (flow control: expires unless started by then) */
};

/* The task record's fields, in the order of the task JSON (model/record.h): row_task decodes
 * by it, taskjson_encode encodes by it, task_cleanup frees by it. */
struct record_type;
extern const struct record_type task_record;
/* Those of a throttled upstream host and of a history event, likewise. */
extern const struct record_type throttle_record, task_event_record;

/* A list of tasks; task_list_cleanup frees the tasks and the array. */
struct task_list {
	struct task *v;
	size_t n;
};

/* A validated submit. Strings are borrowed from whatever the caller parsed (see
 * taskjson_parse_submit); payload is JSON text. */
struct task_new {
	const char *kind;
	const char *payload;
	const char *queue;
	int priority;
	double delay_s;
	int max_attempts;
	int timeout_s; /* -1: none */
	const char *dedupe_key, *concurrency_key;
	const char *callback_url;
	const char *owner;
	bool fair;              /* place it in line fairly among owners (see lib/store/submit.c) */
	const char *fair_after; /* the owner's previous task's run_at in this line, or NULL */
	/* The parents it waits for: a JSON array (borrowed, like the strings) of 1 to
	 * TASK_AFTER_MAX task ids and, in a batch, indexes of earlier elements; NULL: none. */
	struct json_object *after;
	bool after_index;  /* after holds an index (only a batch may) */
	bool after_always; /* after_policy "always": runs even if a parent failed or was cancelled */
	/* {"signal", "timeout_s"?, "on_timeout"?}: it waits for that signal before its first run
	 * (borrowed, checked by taskjson_parse_submit); NULL: none */
	struct json_object *wait_for;
	bool strict; /* ordering "strict": its key starts it in submit order */
	/* Flow control (docs/flow-control.md); -1: none. debounce_ms and supersede need a
	 * dedupe_key, max_delay_ms needs debounce_ms. */
	int debounce_ms, max_delay_ms, start_by_s;
	bool supersede; /* on_conflict "supersede": the live holder of the key is cancelled */
};

/* Filters of GET /api/tasks; NULL / 0 means "any". id_lo, id_hi: the ids an id prefix spans;
 * created_from, created_to: RFC 3339 times; payload: a JSON fragment the payload contains;
 * worker: a worker's running tasks; parent: a task's children; waiting: "delayed", "blocked" or
 * "retrying" queued tasks. */
struct task_filter {
	const char *state, *queue, *kind, *before, *owner;
	int limit;
	const char *id_lo, *id_hi, *created_from, *created_to, *payload, *worker, *parent, *waiting;
};

/* One row of GET /api/queues. */
struct queue_stat {
	char *queue;
	long long count[TASK_STATES]; /* by enum task_state */
	double oldest_queued_s; /* the longest wait of a runnable task; < 0: none is runnable */
	long long finished_last_minute;
	long long delayed, blocked; /* of the queued: run_at ahead; waiting for parents */
	long long workers;          /* live workers serving the queue */
	double aging_s;             /* priority aging: seconds per step; < 0: none */
	bool paused;                /* taskq.pause_queue: no task of it starts */
};

/* An upstream host of the http kind that asked the workers to wait (a row of
 * taskq.upstream_throttles, GET /api/queues' "throttled"). Strings owned. */
struct throttle_stat {
	char *host, *until, *reason, *message; /* until: RFC 3339 UTC */
	double seconds_left;
	long long waiting; /* queued tasks that wait for the host (an owner's: its own) */
};

/* One event of a task's history (taskq.task_history: the stored events of taskq.task_events
 * and those the task's row implies). Strings owned; NULL for SQL NULL. */
struct task_event {
	char *at, *event, *worker_id, *detail;
	int attempt; /* -1: none */
};

void task_cleanup(struct task *t);
void queue_stats_free(struct queue_stat *q, int n);
void throttle_stats_free(struct throttle_stat *t, int n);
void task_events_free(struct task_event *e, int n);
void task_list_cleanup(struct task_list *l);
void task_new_init(struct task_new *n);

const char *task_state_name(enum task_state s);
/* Returns the state for its name, or -1. */
int task_state_parse(const char *s);
bool task_state_final(enum task_state s);

/* True for a canonical UUID text (8-4-4-4-12 hex digits, any case). */
bool task_id_valid(const char *s);
/* True for a kind or queue name: 1–64 chars of [A-Za-z0-9_.:-]. */
bool task_name_valid(const char *s);
/* True when t waits for parents that have not finished. */
bool task_blocked(const struct task *t);
/* What a queued task, or a queue with queued tasks, says when no live worker serves its
 * queue: the text, into buf (cut to size). */
void task_unserved_warning(const char *queue, char *buf, size_t size);

#endif
