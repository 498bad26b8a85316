/*
 * filters: the checks of the values of a task search's filters that GET /api/tasks took
 * later (fcgi/params.c names them, fcgi/search.c reads them). Pure code, no request.
 */
#ifndef TASKQ_FILTERS_H
#define TASKQ_FILTERS_H

#include <stdbool.h>

#define FILTER_HEX_MAX 32 /* hex digits of a task id */

bool search_id_prefix_valid(const char *s); /* 1-32 hex digits, '-' anywhere */
bool search_time_valid(const char *s);      /* RFC 3339: 2026-12-08T01:00:00Z, ±hh:mm */
bool search_payload_valid(const char *s);   /* a JSON object */
bool search_worker_valid(const char *s);    /* 1-128 printable ASCII characters */
bool search_waiting_valid(const char *s);   /* delayed, blocked, retrying */

#endif
