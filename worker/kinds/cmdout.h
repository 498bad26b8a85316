/*
 * cmdout: what a command kind's program prints, turned into what its task records;
 * kind-private code of worker/kinds/command.c. Pure code: it takes bytes and never touches a
 * process, a descriptor or a kind_ctx (command.c does that and feeds it). It owns the stdout
 * and stderr half of the command kind's contract (stated in command.c's header): splitting
 * stdout into lines (cut at CMDOUT_LINE_MAX, a trailing CR dropped), "progress P[ message]"
 * lines, "output TEXT" lines (streamed output), the result (the last complete JSON value jsonb takes, else {"stdout": <tail>}), the
 * bounded tails of stdout and stderr, and cleaning what it hands out into text PostgreSQL
 * stores (valid UTF-8, no NUL). It keeps no more than the two tails, the line being read and
 * the value being read, whatever the program prints. It also reads the lines of the wait
 * protocol: "checkpoint JSON" (handed to a callback as it is read) and "wait NAME
 * [TIMEOUT_S [fail|run]]" (the last one kept); neither is output.
 */
#ifndef TASKQ_CMDOUT_H
#define TASKQ_CMDOUT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#define CMDOUT_LINE_MAX (1 << 20)  /* a longer stdout line is cut; the rest of it is lost */
#define CMDOUT_VALUE_MAX (1 << 20) /* a JSON value still open past this many bytes is given up */
#define CMDOUT_OUT_TAIL 4096       /* the end of stdout (progress lines aside) that is kept */
#define CMDOUT_ERR_TAIL 2048       /* the end of stderr that is kept */

struct cmdout;

/*
 * A reader of one program run. progress(arg, pct, msg) is called for each progress line, in
 * order, from inside cmdout_stdout or cmdout_end: pct is 0..100, msg the latest non-empty
 * message so far cleaned to one line, or NULL when there has been none; msg is borrowed for the
 * call. output(arg, text, len) is called for each "output TEXT" line with the chunk it
 * streams (TEXT decoded when it is one JSON string, else TEXT and a '\n'; raw bytes, borrowed
 * for the call). Either may be NULL. Returns NULL when out of memory (the JSON tokener); the caller
 * frees the reader with cmdout_free.
 */
struct cmdout *cmdout_new(void (*progress)(void *arg, int pct, const char *msg),
			  void (*output)(void *arg, const char *text, size_t len), void *arg);
/* Frees the reader and what it holds; cmdout_free(NULL) is a no-op. */
void cmdout_free(struct cmdout *co);

/* For each "checkpoint JSON" line, in order, from inside cmdout_stdout or cmdout_end:
 * fn(arg, json), json the value as compact text, borrowed for the call (arg: cmdout_new's).
 * A line whose JSON is not one storable value is a protocol error (cmdout_protocol_error). */
void cmdout_on_checkpoint(struct cmdout *co, void (*fn)(void *arg, const char *json));
/* The last "wait NAME [TIMEOUT_S [fail|run]]" line: true with its signal name (borrowed
 * from co), its timeout (0: none) and whether it runs on timeout; false when none. */
bool cmdout_wait(const struct cmdout *co, const char **name, double *timeout_s, bool *run);
/* The first malformed wait or checkpoint line, said in a message (borrowed), or NULL. */
const char *cmdout_protocol_error(const struct cmdout *co);

/* Takes the next n bytes of stdout (borrowed), split anywhere: lines are reassembled. */
void cmdout_stdout(struct cmdout *co, const char *p, size_t n);
/* Takes the next n bytes of stderr (borrowed); only its tail is kept. */
void cmdout_stderr(struct cmdout *co, const char *p, size_t n);
/* stdout has ended: a last line without its newline counts as a line. Call it once all of
 * stdout is in, before cmdout_result; calling it again does nothing. */
void cmdout_end(struct cmdout *co);

/*
 * The result of a successful run, a new object the caller owns: the last JSON value, or
 * {"stdout": "<the stdout tail as clean UTF-8>"} when there was none. The value is moved out,
 * so call it once (a second call gives the fallback).
 */
json_object *cmdout_result(struct cmdout *co);

/*
 * Writes "<what>: <tail>" into err (errsize bytes, NUL-terminated), for a failed run. The tail
 * is stderr's, else stdout's, trimmed, on one line (line breaks become " | "), clean UTF-8; when
 * it does not fit, its end is kept after "…" (the last lines say most, e.g. a traceback's).
 * Without any output it is "<what>" alone.
 */
void cmdout_fail_message(const struct cmdout *co, const char *what, char *err, size_t errsize);

#endif
