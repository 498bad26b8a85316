/*
 * output: the streamed output of the running kinds, batched. A kind's chunk of text lands in
 * its executor's slot (appended to what the slot holds) and returns at once; one thread with
 * its own connection writes every slot's pending chunks in one statement
 * (taskq.output_many), at most once per OUTPUT_FLUSH_S, so a stream of small chunks costs a
 * commit per flush, not one per chunk, and reaches a browser within milliseconds. Writes are
 * fenced by the attempt; a task's output is capped (the cap is reported by a marker chunk,
 * sql/functions/output.sql). The connection commits without waiting for the disk and
 * NOTIFYs taskq_output itself (one NOTIFY per flush): output is a live view, its last few
 * milliseconds may be lost in a crash of PostgreSQL. It must not record outcomes or touch
 * progress or the pool's ring.
 */
#ifndef TASKQ_OUTPUT_H
#define TASKQ_OUTPUT_H

#include <stddef.h>

#include "store/worker.h"

/* the most time between two flushes while chunks keep coming */
#define OUTPUT_FLUSH_S 0.002

struct output;

/* nslots: one per executor; worker borrowed for the flusher's lifetime; cap: the octets of
 * output a task keeps. */
struct output *output_start(const char *conninfo, const char *worker, int nslots, long cap);
/* Writes what is still pending, then stops the thread and closes its connection. */
void output_stop(struct output *o);

/* Appends len bytes of text (copied; invalid UTF-8 becomes U+FFFD, NUL bytes are dropped) to
 * h's output in slot; written within OUTPUT_FLUSH_S. Past the cap it is dropped (and the cap
 * reported once). */
void output_post(struct output *o, int slot, const struct holder *h, const char *text, size_t len);
/* Returns once slot's pending output (if any) is written: the outcome recorded after it
 * never lands before the last chunk. */
void output_settle(struct output *o, int slot);

#endif
