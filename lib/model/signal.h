/*
 * signal: the checks of what a client says about signals (sql/functions/signals.sql): signal
 * names, a submit's wait_for, a signal's payload size. Pure code, no database; the SQL
 * functions check the same again for SQL callers.
 */
#ifndef TASKQ_SIGNAL_H
#define TASKQ_SIGNAL_H

#include <json-c/json.h>
#include <stdbool.h>

#include "base/err.h"

#define SIGNAL_NAME_MAX 64
#define SIGNAL_PAYLOAD_MAX (64 * 1024) /* bytes of a signal's JSON payload */
#define SIGNAL_WAIT_MAX_S 31536000     /* a year: the longest wait_for.timeout_s */
#define SIGNAL_NAME_RULE "1-64 characters of a-z, 0-9, _ . -"

/* True for a signal name: 1 to 64 of [a-z0-9_.-]. */
bool signal_name_valid(const char *s);
/* Checks a submit's wait_for: {"signal", "timeout_s"?: number, "on_timeout"?: "fail"|"run"}
 * or null. TASKQ_INVAL with a message naming the field otherwise. */
enum taskq_rc signal_check_wait_for(json_object *v, struct taskq_err *err);

#endif
