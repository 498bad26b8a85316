/*
 * submit: admission of new tasks, written once for POST /api/tasks and POST /api/tasks/batch.
 * It owns every rule a task passes before it is stored and what follows its creation:
 * checking its fields (lib/taskjson.c) and that its kind is registered (kindcache), the
 * meaning of `after` (task ids alone, indexes of earlier tasks in a batch), the owner's limits
 * (owner_limits), its place in line among owners (fair), the way it is stored (with parents
 * or a dedupe key: its own statement; otherwise group commit, fcgi/bg/combine.c; a batch: one
 * statement) and, once committed, the owner's count, the fair place and the workers' wake-up
 * (which announces the new tasks to the live feeds).
 * It answers only what the limits refuse (429/503); the handlers turn the rest into responses,
 * with the same codes and bodies as ever. It must not read bodies or write task JSON.
 */
#ifndef TASKQ_SUBMIT_H
#define TASKQ_SUBMIT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "fair.h"
#include "req.h"
#include "store/batch.h"
#include "model/task.h"

/* One task being admitted: its checked fields (borrowing from the JSON it was read from,
 * which must outlive it) and its place in line. */
struct submit_task {
	struct task_new n;
	char *payload; /* owned: the payload's text */
	char fair_at[FAIR_AT_LEN];
};

/*
 * Checks one task object o for r's owner into *s: its fields, its kind, and `after`, which
 * names task ids when the task comes alone (index < 0) and indexes of earlier tasks when it is
 * element index of a batch. TASKQ_OK, or the reason in err (TASKQ_DB_DOWN when the kinds could
 * not be read). Call submit_task_cleanup(s) whatever the answer.
 */
enum taskq_rc submit_check(struct req *r, json_object *o, long index, struct submit_task *s,
			   struct taskq_err *err);
void submit_task_cleanup(struct submit_task *s);

/* The owner's limits for count checked tasks s[0..count), then each one's place in line.
 * false: it has answered (429, or 503 when the owner's tasks could not be counted). */
bool submit_admit(struct req *r, struct submit_task *s, size_t count);

/* Stores one admitted task; *t is it once committed. *created is false when a live task of
 * the owner held its dedupe key (*t is that one). */
enum taskq_rc submit_store(struct req *r, struct submit_task *s, struct task *t, bool *created,
			   struct taskq_err *err);
/* Stores count admitted tasks with one statement; *rows (store_batch_free) in their order.
 * A failure that concerns one element starts its message with "tasks[i]: ". */
enum taskq_rc submit_store_batch(struct req *r, struct submit_task *s, size_t count,
				 struct batch_row **rows, int *nrows, struct taskq_err *err);

/* After the commit: task s was created as t (its place in line is remembered). */
void submit_created(const struct submit_task *s, const struct task *t);
/* After the commit: the created tasks ids[0..created) of r's owner exist now (counted; the
 * workers are woken and the live feeds told: wake_announce). */
void submit_done(struct req *r, const char *const *ids, long created);

#endif
