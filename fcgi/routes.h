/*
 * routes: taskq-fcgi's route table as a list, R(method, pattern, handler, flags, params) per
 * route, so that fcgi/main.c builds the table with the real handlers and tests/fuzz/
 * fuzz_router.c the very same table with stand-ins. Patterns: "*" captures one segment
 * (router.h). params: the query parameters the route takes (fcgi/params.h; NULL: none), the
 * only ones it accepts: any other answers 400 (fcgi/query.h, query_check).
 */
#ifndef TASKQ_ROUTES_H
#define TASKQ_ROUTES_H

#define TASKQ_ROUTES(R)                                                                        \
	R("POST", "/api/tasks", h_task_submit, 0, NULL)                                        \
	R("POST", "/api/tasks/batch", h_task_submit_batch, 0, NULL)                            \
	R("GET", "/api/tasks", h_task_list, 0, params_task_list)                               \
	R("GET", "/api/tasks/*", h_task_get, ROUTE_VIEW, params_task_get)                      \
	R("DELETE", "/api/tasks/*", h_task_cancel, ROUTE_VIEW_CANCEL, NULL)                    \
	R("POST", "/api/tasks/*/retry", h_task_retry, 0, NULL)                                 \
	R("POST", "/api/tasks/*/view_token", h_task_view_token, 0, NULL)                       \
	R("GET", "/api/tasks/*/history", h_task_history, ROUTE_VIEW, params_view)              \
	R("GET", "/api/tasks/*/output", h_task_output, ROUTE_VIEW, params_task_output)         \
	R("GET", "/api/queues", h_queues, 0, NULL)                                             \
	R("GET", "/api/rate_limits", h_rate_list, ROUTE_ADMIN, NULL)                           \
	R("PUT", "/api/rate_limits/*/*", h_rate_put, ROUTE_ADMIN, NULL)                        \
	R("DELETE", "/api/rate_limits/*/*", h_rate_delete, ROUTE_ADMIN, NULL)                  \
	R("POST", "/api/schedules", h_schedule_create, 0, NULL)                                \
	R("GET", "/api/schedules", h_schedule_list, 0, NULL)                                   \
	R("GET", "/api/schedules/*", h_schedule_get, 0, NULL)                                  \
	R("PUT", "/api/schedules/*", h_schedule_put, 0, NULL)                                  \
	R("DELETE", "/api/schedules/*", h_schedule_delete, 0, NULL)                            \
	R("GET", "/api/me", h_me, ROUTE_VIEW, params_view)                                     \
	R("GET", "/_taskq/authorize/task/*", h_authorize_task, ROUTE_VIEW, params_task_stream) \
	R("GET", "/_taskq/authorize/out/*", h_authorize_out, ROUTE_VIEW, params_task_stream)   \
	R("GET", "/_taskq/authorize/stream", h_authorize_stream, 0, params_feed)               \
	R("GET", "/_taskq/authorize/stream/*", h_authorize_owner_stream, 0, params_feed)       \
	R("POST", "/api/tasks/*/signals/*", h_task_signal, ROUTE_VIEW_SIGNAL, NULL)            \
	R("POST", "/api/tasks/*/signal_token", h_task_signal_token, 0, NULL)                   \
	R("POST", "/api/signals/*", h_signal_link, ROUTE_PUBLIC, NULL)                         \
	R("GET", "/healthz", h_healthz, ROUTE_PUBLIC, NULL)                                    \
	R("POST", "/api/tasks/bulk", h_task_bulk, 0, NULL)                                     \
	R("GET", "/api/workers", h_workers, ROUTE_ADMIN, NULL)                                 \
	R("GET", "/api/queues/*/series", h_queue_series, ROUTE_ADMIN, params_series)           \
	R("GET", "/api/breakers", h_breakers, ROUTE_ADMIN, NULL)                               \
	R("POST", "/api/breakers/*/reset", h_breaker_reset, ROUTE_ADMIN, NULL)                 \
	R("POST", "/api/schedules/*/run", h_schedule_run, ROUTE_ADMIN, NULL)                   \
	R("GET", "/metrics", h_metrics, ROUTE_ADMIN | ROUTE_LOOPBACK, NULL)                    \
	R("GET", "/api/owners", h_owner_list, ROUTE_ADMIN, NULL)                               \
	R("PUT", "/api/owners/*/weight", h_owner_weight_put, ROUTE_ADMIN, NULL)                \
	R("POST", "/api/tasks/*/hold", h_task_hold, 0, NULL)                                   \
	R("POST", "/api/tasks/*/release", h_task_release, 0, NULL)                             \
	R("POST", "/api/queues/*/pause", h_queue_pause, ROUTE_ADMIN, NULL)                     \
	R("POST", "/api/queues/*/resume", h_queue_resume, ROUTE_ADMIN, NULL)

#endif
