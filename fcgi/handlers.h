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
void h_task_hold(struct req *r);
void h_task_release(struct req *r);
void h_task_view_token(struct req *r);
void h_task_list(struct req *r);
void h_task_history(struct req *r);
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
void h_authorize_stream(struct req *r);
void h_authorize_owner_stream(struct req *r);
void h_me(struct req *r);
void h_metrics(struct req *r);

#endif
