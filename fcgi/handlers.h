/* handlers: one function per route; each is parse → validate → store → respond. */
#ifndef TASKQ_HANDLERS_H
#define TASKQ_HANDLERS_H

#include "base/err.h"
#include "model/task.h"
#include "req.h"

/* Reads task id for r into t (the caller cleans it up): TASKQ_NOTFOUND also for another
 * owner's task, so that ids do not reveal that a task exists (fcgi/h_tasks.c). */
enum taskq_rc visible_task(struct req *r, const char *id, struct task *t, struct taskq_err *err);

void h_healthz(struct req *r);
void h_task_submit(struct req *r);
void h_task_submit_batch(struct req *r);
void h_task_get(struct req *r);
void h_task_cancel(struct req *r);
void h_task_retry(struct req *r);
void h_task_hold(struct req *r);
void h_task_release(struct req *r);
void h_task_view_token(struct req *r);
void h_task_list(struct req *r);
void h_task_history(struct req *r);
void h_task_output(struct req *r);
void h_queues(struct req *r);
void h_queue_pause(struct req *r);
void h_queue_resume(struct req *r);
void h_rate_list(struct req *r);
void h_rate_put(struct req *r);
void h_rate_delete(struct req *r);
void h_schedule_create(struct req *r);
void h_schedule_list(struct req *r);
void h_schedule_get(struct req *r);
void h_schedule_put(struct req *r);
void h_schedule_delete(struct req *r);
void h_authorize_task(struct req *r);
void h_authorize_out(struct req *r);
void h_authorize_stream(struct req *r);
void h_authorize_owner_stream(struct req *r);
void h_me(struct req *r);
void h_metrics(struct req *r);
void h_task_signal(struct req *r);
void h_task_signal_token(struct req *r);
void h_signal_link(struct req *r);

/* Shared by the /api/tasks/{id}… handlers (fcgi/h_tasks.c). The {id} of the route, checked;
 * answers 400 and returns NULL when it is not a UUID. */
const char *path_id(struct req *r);
/* For verbs that change a task: may r act on it (checked first; owners never change); when
 * not, it has answered (404). */
bool may_act(struct req *r, const char *id);
/* the console's (h_console.c, h_bulk.c) */
void h_workers(struct req *r);
void h_queue_series(struct req *r);
void h_breakers(struct req *r);
void h_breaker_reset(struct req *r);
void h_schedule_run(struct req *r);
void h_task_bulk(struct req *r);
void h_owner_list(struct req *r);
void h_owner_weight_put(struct req *r);

#endif
