/* task: state names, id and name checks, the words of an unserved queue, freeing task records. */
#include "model/task.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const state_names[] = {"queued", "running", "succeeded", "failed", "cancelled"};

void task_cleanup(struct task *t)
{
	if (!t)
		return;
	free(t->kind);
	free(t->queue);
	free(t->owner);
	free(t->message);
	free(t->payload);
	free(t->result);
	free(t->error);
	free(t->created_at);
	free(t->run_at);
	free(t->started_at);
	free(t->finished_at);
	free(t->updated_at);
	free(t->dedupe_key);
	free(t->concurrency_key);
	free(t->callback_url);
	free(t->callback_state);
	free(t->parents);
	free(t->after_policy);
	memset(t, 0, sizeof *t);
}

void queue_stats_free(struct queue_stat *q, int n)
{
	for (int i = 0; i < n; i++)
		free(q[i].queue);
	free(q);
}

void task_events_free(struct task_event *e, int n)
{
	for (int i = 0; i < n; i++) {
		free(e[i].at);
		free(e[i].event);
		free(e[i].worker_id);
		free(e[i].detail);
	}
	free(e);
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
}

const char *task_state_name(enum task_state s)
{
	return (unsigned)s < 5 ? state_names[s] : "unknown";
}

int task_state_parse(const char *s)
{
	for (int i = 0; i < 5; i++)
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
