/*
 * httpstream: the http kind's streamed body turned into output chunks; kind-private code of
 * worker/kinds/http.c, pure: it takes the body's bytes as libcurl hands them over and calls
 * emit for each chunk, and never touches a transfer or a kind_ctx.
 *  - text/event-stream (Server-Sent Events, the way LLM APIs stream tokens): one chunk per
 *    event, its data (several "data:" lines joined with '\n', as EventSource does); events
 *    without data, comments and the event/id/retry fields are skipped, and so is an event
 *    whose data is "[DONE]" (OpenAI's end marker: the events after it still count). Lines end
 *    with LF, CRLF or CR. An event's data past HTTPSTREAM_EVENT_MAX bytes is cut there. An
 *    event the body ends in without its blank line still counts.
 *  - any other content type: each piece as it arrives (libcurl hands over at most 16 KiB at a
 *    time), cut at a UTF-8 character boundary: the bytes of a character split between two
 *    pieces wait for the next one.
 */
#ifndef TASKQ_HTTPSTREAM_H
#define TASKQ_HTTPSTREAM_H

#include <stdbool.h>
#include <stddef.h>

#define HTTPSTREAM_EVENT_MAX (1 << 20)

struct httpstream;

/* emit(arg, text, len): one chunk, borrowed for the call. The caller frees the relay with
 * httpstream_free. */
struct httpstream *httpstream_new(void (*emit)(void *arg, const char *text, size_t len), void *arg);
void httpstream_free(struct httpstream *s);
/* The next len bytes of the body; content_type (the response's, NULL when it has none) is
 * read at the first call only. */
void httpstream_data(struct httpstream *s, const char *content_type, const char *data, size_t len);
/* The body has ended: what is still held goes out. */
void httpstream_end(struct httpstream *s);

#endif
