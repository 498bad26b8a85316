/* handlers: one function per route; each is parse → validate → store → respond. */
#ifndef TASKQ_HANDLERS_H
#define TASKQ_HANDLERS_H

#include "req.h"

void h_healthz(struct req *r);
void h_task_submit(struct req *r);
void h_task_submit_batch(struct req *r);
void h_task_get(struct req *r);
void h_task_cancel(struct req *r);
void h_task_retry(struct req *r);
void h_task_view_token(struct req *r);
void h_task_list(struct req *r);
void h_task_history(struct req *r);
void h_queues(struct req *r);
void h_rate_list(struct req *r);
void h_rate_put(struct req *r);
void h_rate_delete(struct req *r);
void h_schedule_create(struct req *r);
void h_schedule_list(struct req *r);
void h_schedule_get(struct req *r);
void h_schedule_put(struct req *r);
void h_schedule_delete(struct req *r);
void h_authorize_task(struct req *r);
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

#endif
