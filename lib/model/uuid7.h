/*
 * uuid7: task ids made in C, as taskq.uuid_v7() makes them in SQL (RFC 9562 version 7: 48 bits
 * of Unix milliseconds, then 74 random bits from OpenSSL's generator), for inserts that must
 * know each row's id before PostgreSQL answers (fcgi/bg/combine.c).
 */
#ifndef TASKQ_UUID7_H
#define TASKQ_UUID7_H

#include <stdbool.h>

/* Writes the canonical text (36 characters and a NUL); false when no random bytes came. */
bool uuid7_make(char out[37]);

#endif
