/* task: the task record's field table, state names, id and name checks, the words of an
 * unserved queue, freeing task records. */
#include "model/task.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/record.h"

static const char *const state_names[TASK_STATES] = {"queued",    "running", "succeeded", "failed",
						     "cancelled", "held",    "waiting"};

#define T(type, member) FIELD(struct task, type, member)
static const struct field task_fields[] = {
	FIELD_CHARS_OF(struct task, id),
	T(FIELD_STR, kind),
	T(FIELD_STR, queue),
	T(FIELD_STR, owner),
	FIELD_ENUM_OF(struct task, state, state_names, TASK_STATES),
	T(FIELD_INT, progress),
	T(FIELD_STR, message),
	T(FIELD_JSON, payload),
	T(FIELD_JSON, result),
	T(FIELD_STR, error),
	T(FIELD_INT, attempts),
	T(FIELD_INT, max_attempts),
	T(FIELD_INT, priority),
	T(FIELD_BOOL, cancel_requested),
	T(FIELD_TIME, created_at),
	T(FIELD_TIME, run_at),
	T(FIELD_TIME, started_at),
	T(FIELD_TIME, finished_at),
	T(FIELD_TIME, updated_at),
	T(FIELD_LL, version),
	FIELD_DFLT(struct task, FIELD_INT_OPT, timeout_s, -1),
	T(FIELD_STR, dedupe_key),
	T(FIELD_STR, concurrency_key),
	T(FIELD_STR, callback_url),
	T(FIELD_STR, callback_state),
	T(FIELD_IDS, parents),
	T(FIELD_STR, after_policy),
	FIELD_HIDDEN(struct task, FIELD_INT, pending_parents),
	T(FIELD_JSON, signals),
	T(FIELD_JSON, waiting_for),
	T(FIELD_JSON, checkpoint),
	FIELD_DFLT(struct task, FIELD_INT_OPT, position, -1),
	FIELD_DFLT(struct task, FIELD_INT_OPT, eta_s, -1),
	T(FIELD_STR, ordering),
	FIELD_DFLT(struct task, FIELD_INT_OPT, start_by_s, -1),
};
#undef T
_Static_assert(sizeof(enum task_state) == sizeof(int), "FIELD_ENUM reads an int");
const struct record_type task_record = RECORD_TYPE(task_fields);

void task_cleanup(struct task *t)
{
	if (!t)
		return;
	record_cleanup(&task_record, t);
	memset(t, 0, sizeof *t);
}

void queue_stats_free(struct queue_stat *q, int n)
{
	for (int i = 0; i < n; i++)
		free(q[i].queue);
	free(q);
}

static const struct field throttle_fields[] = {
	FIELD(struct throttle_stat, FIELD_STR, host),
	FIELD(struct throttle_stat, FIELD_TIME, until),
	FIELD(struct throttle_stat, FIELD_DOUBLE, seconds_left),
	FIELD(struct throttle_stat, FIELD_STR, reason),
	FIELD(struct throttle_stat, FIELD_LL, waiting),
	FIELD(struct throttle_stat, FIELD_STR, message),
};
const struct record_type throttle_record = RECORD_TYPE(throttle_fields);

static const struct field event_fields[] = {
	FIELD(struct task_event, FIELD_TIME, at),
	FIELD(struct task_event, FIELD_STR, event),
	FIELD_DFLT(struct task_event, FIELD_INT_OPT, attempt, -1),
	FIELD(struct task_event, FIELD_STR, worker_id),
	FIELD(struct task_event, FIELD_STR, detail),
};
const struct record_type task_event_record = RECORD_TYPE(event_fields);

void throttle_stats_free(struct throttle_stat *t, int n)
{
	records_free(&throttle_record, t, n, sizeof *t);
}

void task_events_free(struct task_event *e, int n)
{
	records_free(&task_event_record, e, n, sizeof *e);
}

void task_list_cleanup(struct task_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		task_cleanup(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void task_new_init(struct task_new *n)
{
	memset(n, 0, sizeof *n);
	n->payload = "{}";
	n->queue = "default";
	n->max_attempts = 3;
	n->timeout_s = -1;
	n->owner = "anonymous";
	n->debounce_ms = n->max_delay_ms = n->start_by_s = -1;
}

const char *task_state_name(enum task_state s)
{
	return (unsigned)s < TASK_STATES ? state_names[s] : "unknown";
}

int task_state_parse(const char *s)
{
	for (int i = 0; i < TASK_STATES; i++)
		if (s && strcmp(s, state_names[i]) == 0)
			return i;
	return -1;
}

bool task_state_final(enum task_state s)
{
	return s == TASK_SUCCEEDED || s == TASK_FAILED || s == TASK_CANCELLED;
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool task_id_valid(const char *s)
{
	if (!s)
		return false;
	for (int i = 0; i < TASK_ID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !is_hex(s[i]))
			return false;
	}
	return s[TASK_ID_LEN] == '\0';
}

bool task_name_valid(const char *s)
{
	size_t n = 0;
	if (!s)
		return false;
	for (; s[n]; n++) {
		char c = s[n];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == ':' || c == '-'))
			return false;
		if (n >= 64)
			return false;
	}
	return n >= 1;
}

bool task_blocked(const struct task *t)
{
	return t->state == TASK_QUEUED && t->pending_parents > 0;
}

void task_unserved_warning(const char *queue, char *buf, size_t size)
{
	snprintf(buf, size,
		 "no live worker serves queue %s: its tasks wait until a taskq-worker with %s in "
		 "its --queues runs",
		 queue, queue);
}
