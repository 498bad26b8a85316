/*
 * change: what one message on a task's channel carries. A subscriber's first message is the
 * whole task; every later one is a change, which the subscriber merges into what it holds
 * (a field present replaces its value, a field absent is unchanged). A change carries every
 * field of the task JSON except
 *   - "payload", which never changes after the submit, and
 *   - each field whose JSON text is longer than CHANGE_LARGE bytes and is the same as when
 *     the channel's previous message went out (a large result, error or message, the
 *     parents of a wide join),
 * so that the small fields (state, progress, version, times ...) make every change
 * self-sufficient while a large value crosses the stream once. Pure: it reshapes json-c
 * objects and remembers, per channel, digests of the large values; it publishes nothing.
 */
#ifndef TASKQ_CHANGE_H
#define TASKQ_CHANGE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#define CHANGE_LARGE 256 /* bytes of a field's JSON text */
#define CHANGE_DIGESTS 8 /* large fields remembered per channel; more are always sent */

/* What a channel's subscribers hold of the large fields: a digest of each one's key and
 * value. known: a whole message went out, so a change can be merged into it. */
struct change_base {
	uint64_t digest[CHANGE_DIGESTS];
	int n;
	bool known;
};

/* o (the whole task JSON) goes out as it is: remembers its large fields in b. */
void change_whole(json_object *o, struct change_base *b);
/* Turns o (the whole task JSON) into the change from what b remembers, and remembers o's
 * large fields in b. Without b->known (the subscribers may hold nothing to merge into) o
 * stays whole. */
void change_delta(json_object *o, struct change_base *b);

/* Whether the message that nchan's message id last_event_id ("<unix time it was
 * published>:<tag>", as EventSource resends it in Last-Event-ID) names went out two seconds or
 * more after finished_at (RFC 3339 UTC, as tasks carry it): nothing but the final state, or a
 * copy of it, is published that late, so a subscriber resuming from there has it. Clocks of
 * the web host and the database's host are taken to agree within a second. false when either
 * cannot be read. */
bool change_saw_end(const char *last_event_id, const char *finished_at);

#endif
