/*
 * record: a record type (a task, a schedule) described once, as a table of its fields — the
 * name it has as a column and as a JSON key, its C type and its place in the struct — so that
 * decoding a row (lib/store/exec.c, row_record), encoding the JSON and freeing the record all
 * follow the same list, and a new column is one line in one table.
 */
#ifndef TASKQ_RECORD_H
#define TASKQ_RECORD_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum field_type {
	FIELD_CHARS,   /* char[dflt] in place ("" for NULL) */
	FIELD_STR,     /* char *, owned; NULL for SQL NULL and JSON null */
	FIELD_JSON,    /* char *, owned JSON text, encoded as JSON rather than as a string */
	FIELD_TIME,    /* char *, owned RFC 3339 UTC text, from a timestamptz */
	FIELD_IDS,     /* char *, owned JSON array text of task ids, from a uuid[] */
	FIELD_INT,     /* int; dflt for SQL NULL */
	FIELD_INT_OPT, /* int; -1 for none (SQL NULL, JSON null) */
	FIELD_LL,      /* long long; dflt for SQL NULL */
	FIELD_DOUBLE,  /* double; dflt for SQL NULL */
	FIELD_BOOL,    /* bool: true only for true */
	FIELD_ENUM,    /* an enum of dflt values, by their names (names[value]); -1 for another */
};

struct field {
	const char *name; /* the column and the JSON key */
	enum field_type type;
	size_t off; /* offsetof in the record */
	int dflt;   /* FIELD_INT and FIELD_LL: the value of SQL NULL; FIELD_CHARS: the array's
		      * size; FIELD_ENUM: how many values */
	const char *const *names; /* FIELD_ENUM: the values' names */
	bool hidden;              /* decoded and freed, not in the JSON */
};

struct record_type {
	const struct field *f;
	size_t n;
};

/* Field table entries: FIELD(struct task, FIELD_STR, kind); with the value of SQL NULL,
 * FIELD_DFLT(struct schedule, FIELD_INT, max_attempts, 3); not in the JSON, FIELD_HIDDEN; a
 * char array, FIELD_CHARS_OF; an enum by its names, FIELD_ENUM_OF. */
#define FIELD_ENTRY(rec, type, member, dflt, names, hidden)                       \
	{                                                                         \
#member, (type), offsetof(rec, member), (dflt), (names), (hidden) \
	}
#define FIELD_DFLT(rec, type, member, dflt) FIELD_ENTRY(rec, type, member, dflt, NULL, false)
#define FIELD(rec, type, member) FIELD_ENTRY(rec, type, member, 0, NULL, false)
#define FIELD_HIDDEN(rec, type, member) FIELD_ENTRY(rec, type, member, 0, NULL, true)
#define FIELD_CHARS_OF(rec, member) \
	FIELD_ENTRY(rec, FIELD_CHARS, member, (int)sizeof(((rec *)0)->member), NULL, false)
#define FIELD_ENUM_OF(rec, member, names, n) FIELD_ENTRY(rec, FIELD_ENUM, member, n, names, false)
#define RECORD_TYPE(fields)                                    \
	{                                                      \
		(fields), sizeof(fields) / sizeof((fields)[0]) \
	}

/* The address of field f in record rec. */
static inline void *record_at(const void *rec, const struct field *f)
{
	return (char *)(uintptr_t)rec + f->off;
}

/* The value of FIELD_ENUM field f called name, or -1. */
int record_enum(const struct field *f, const char *name);
/* Frees the record's owned fields (the caller zeroes it, or not, as it needs). */
void record_cleanup(const struct record_type *t, void *rec);
/* Frees n records of type t in the array v (each size bytes), then v. */
void records_free(const struct record_type *t, void *v, int n, size_t size);
/* An array of n records of type t as a JSON array of objects (record_to_json each). */
json_object *records_to_json(const struct record_type *t, const void *v, int n, size_t size);
/* Adds text, JSON from PostgreSQL (a jsonb's output, so valid JSON), to o under key as it is:
 * parsing it again would round numbers past 64 bits or a double's precision, which jsonb keeps
 * exactly. NULL adds JSON null. */
void json_add_raw(json_object *o, const char *key, const char *text);
/* Adds the record's fields (those not hidden) to o, in the table's order. */
void record_to_json(const struct record_type *t, const void *rec, json_object *o);

#endif
