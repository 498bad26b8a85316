/*
 * routes: taskq-fcgi's route table as a list, R(method, pattern, handler, flags) per route,
 * so that fcgi/main.c builds the table with the real handlers and tests/fuzz/fuzz_router.c
 * the very same table with stand-ins. Patterns: "*" captures one segment (router.h).
 */
#ifndef TASKQ_ROUTES_H
#define TASKQ_ROUTES_H

#define TASKQ_ROUTES(R)                                                     \
	R("POST", "/api/tasks", h_task_submit, 0)                           \
	R("POST", "/api/tasks/batch", h_task_submit_batch, 0)               \
	R("GET", "/api/tasks", h_task_list, 0)                              \
	R("GET", "/api/tasks/*", h_task_get, ROUTE_VIEW)                    \
	R("DELETE", "/api/tasks/*", h_task_cancel, ROUTE_VIEW_CANCEL)       \
	R("POST", "/api/tasks/*/retry", h_task_retry, 0)                    \
	R("POST", "/api/tasks/*/view_token", h_task_view_token, 0)          \
	R("GET", "/api/tasks/*/history", h_task_history, ROUTE_VIEW)        \
	R("GET", "/api/queues", h_queues, 0)                                \
	R("GET", "/api/rate_limits", h_rate_list, ROUTE_ADMIN)              \
	R("PUT", "/api/rate_limits/*/*", h_rate_put, ROUTE_ADMIN)           \
	R("DELETE", "/api/rate_limits/*/*", h_rate_delete, ROUTE_ADMIN)     \
	R("POST", "/api/schedules", h_schedule_create, 0)                   \
	R("GET", "/api/schedules", h_schedule_list, 0)                      \
	R("GET", "/api/schedules/*", h_schedule_get, 0)                     \
	R("PUT", "/api/schedules/*", h_schedule_put, 0)                     \
	R("DELETE", "/api/schedules/*", h_schedule_delete, 0)               \
	R("GET", "/api/me", h_me, ROUTE_VIEW)                               \
	R("GET", "/_taskq/authorize/task/*", h_authorize_task, ROUTE_VIEW)  \
	R("GET", "/_taskq/authorize/stream", h_authorize_stream, 0)         \
	R("GET", "/_taskq/authorize/stream/*", h_authorize_owner_stream, 0) \
	R("GET", "/healthz", h_healthz, ROUTE_PUBLIC)                       \
	R("GET", "/metrics", h_metrics, ROUTE_ADMIN | ROUTE_LOOPBACK)

#endif
