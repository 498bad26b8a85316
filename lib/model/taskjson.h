/*
 * taskjson: the ONLY mapping between tasks and JSON (json-c). Encodes struct task as the
 * task JSON of the HTTP contract, and parses + validates request bodies strictly: depth
 * limit, no trailing bytes, valid UTF-8, no U+0000, no key twice in an object, no unknown
 * fields, typed and ranged fields.
 */
#ifndef TASKQ_TASKJSON_H
#define TASKQ_TASKJSON_H

#include <json-c/json.h>
#include <stddef.h>

#include "base/err.h"
#include "model/task.h"

#define TASKJSON_MAX_DEPTH 32
#define TASKJSON_MAX_INDEX 1000000 /* an index in after: below this (batches are smaller) */

/* Returns a new object (the caller puts it) holding the task JSON; its "warning" is null. */
json_object *taskjson_encode(const struct task *t);
/* Sets the "warning" of t's JSON o when t is queued: no live worker serves its queue (the
 * caller knows that; see fcgi/served.c). */
void taskjson_note_unserved(json_object *o, const struct task *t);
/* PostgreSQL's text of a uuid[] ("{id,id}") as JSON array text (["id","id"]), for a task's
 * parents; the caller frees it. */
char *taskjson_ids_from_pg(const char *pg_array);
/* Returns a new array of the tasks' JSON, each made by encode (taskjson_encode, or a
 * caller's encoder built on it). */
json_object *taskjson_encode_list(const struct task_list *l,
				  json_object *(*encode)(const struct task *t));

/* {"queues":[{"queue","counts":{state:n},"oldest_queued_s","finished_last_minute","delayed",
 * "blocked","workers","warning"}]}: warning when tasks are queued and no live worker serves
 * the queue, else null. */
json_object *taskjson_encode_queues(const struct queue_stat *q, int n);
/* Adds "throttled":[{"host","until","seconds_left","reason","waiting","message"}] to o (the
 * object of taskjson_encode_queues): the upstream hosts that asked the workers to wait. */
void taskjson_add_throttles(json_object *o, const struct throttle_stat *t, int n);
/* {"events":[{"at","event","attempt","worker_id","detail"}]} */
json_object *taskjson_encode_events(const struct task_event *e, int n);

/* Parses len bytes of JSON text strictly (RFC 8259; UTF-8 as PostgreSQL takes it; each key
 * once per object, at any depth). On success *out is the parsed value (the caller puts it).
 * TASKQ_BAD_JSON (with a message naming the position, and a repeated key) otherwise;
 * TASKQ_INVAL for a U+0000 escape or a number that would not be kept as sent (an integer
 * beyond 64 bits; else over 256 characters, an exponent beyond +-999, or past a double's
 * range). */
enum taskq_rc taskjson_parse(const char *text, size_t len, json_object **out,
			     struct taskq_err *err);

/*
 * Validates a submit body (an object from taskjson_parse) into *n. Strings in *n (and its
 * after array) borrow from body, and n->payload points into *payload_text, which the caller
 * frees — both must outlive *n. Kind existence is not checked here (the caller knows the
 * registered kinds), nor whether the parents exist or an index names an earlier task of its
 * batch (taskq.submit_many does); a single submit refuses indexes (n->after_index).
 */
enum taskq_rc taskjson_parse_submit(json_object *body, struct task_new *n, char **payload_text,
				    struct taskq_err *err);

/* For the i-th task of a batch: the position in n->after of the first index that does not
 * name an earlier task (i or more), or -1 when there is none. */
long taskjson_after_forward(const struct task_new *n, size_t i);

/* One element of the array taskq.submit_many() takes (sql/functions/submit.sql), from a checked *n
 * (its payload text goes in as it is); a new object. */
json_object *taskjson_batch_element(const struct task_new *n);

#endif
