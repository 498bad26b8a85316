/*
 * jsontext: the checks of JSON text that jsonb would refuse or change (see jsontext.c).
 */
#ifndef TASKQ_JSONTEXT_H
#define TASKQ_JSONTEXT_H

#include <stddef.h>

#include "base/err.h"

/* Checks len bytes of JSON text (already accepted by json-c's strict tokener): TASKQ_OK, or
 * TASKQ_INVAL with a message naming the key and byte of the first string or number that
 * PostgreSQL would not store as sent. */
enum taskq_rc jsontext_check(const char *text, size_t len, struct taskq_err *err);

#endif
