/*
 * api: the whole contract between a task kind and the worker that runs it. A file of
 * worker/kinds/ includes this header, its own kind-private helpers (beside it in worker/kinds/)
 * and lib/ headers, nothing else of the worker (tests/layout/rooms.py checks it): a kind never
 * sees the pool, the claimer, the executors' connections or the store. It must not grow into
 * an umbrella header: what it declares is what a kind may call, and the few names the kinds
 * table (worker/kinds.c) needs from the kind files.
 *
 * A kind gets its payload as the run function's argument (borrowed), returns its outcome,
 * hands a result over through *result and writes a failure's reason into err; while it runs
 * it may call the kind_* functions below with the ctx it was given. The implementation is
 * worker/kindapi.c.
 */
#ifndef TASKQ_KINDS_API_H
#define TASKQ_KINDS_API_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

struct kind_ctx; /* owned by the executor: one per running task */

enum kind_result {
	KIND_OK,        /* *result holds the result (or NULL for {}) */
	KIND_FAIL,      /* a failed attempt: retried while attempts remain */
	KIND_FAIL_HARD, /* failed for good (a bad payload): not retried */
	KIND_STOPPED,   /* it stopped because kind_should_stop() said so */
	KIND_DEFERRED,  /* kind_breaker_admit() or kind_breaker_throttle() put the task back in
			 * the queue: nothing to record */
	KIND_WAIT,      /* the task waits for the signal kind_wait() named (its attempt does not
			 * count); the executor records it */
};

struct kind {
	const char *name;
	int default_timeout_s; /* when the task sets none; 0: no limit */
	/* Runs one attempt. payload is borrowed. On KIND_OK *result may receive a new object
	 * (the executor puts it). On failure the kind writes a one-line reason into err. */
	enum kind_result (*run)(struct kind_ctx *ctx, json_object *payload, json_object **result,
				char *err, size_t errsize);
	const char *path; /* command kinds: the executable the worker's configuration names */
};

/* ---- what the kind files define (the kinds table, worker/kinds.c, lists them) ----------- */

extern const struct kind kind_sleep, kind_noop, kind_http;

/* Runs a command kind (worker/kinds/command.c); kind_of(ctx)->path is the program. */
enum kind_result kind_command_run(struct kind_ctx *ctx, json_object *payload, json_object **result,
				  char *err, size_t errsize);

/* ---- what a kind may call while it runs ------------------------------------------------- */

/* The id of the running task (borrowed for the attempt). */
const char *kind_task_id(const struct kind_ctx *ctx);
/* The running task's attempt number (1 for the first). */
int kind_attempt(const struct kind_ctx *ctx);
/* The kind being run (its name and path). */
const struct kind *kind_of(const struct kind_ctx *ctx);
/* Seconds left before the attempt's timeout; a large number when it has none. */
double kind_time_left(const struct kind_ctx *ctx);
/* Asks that a failed attempt be retried no sooner than this many seconds from now (an
 * upstream's Retry-After); the usual back-off applies when it is longer. */
void kind_retry_after(struct kind_ctx *ctx, double seconds);
/* Records progress (0..100) and a message; throttled to a few writes a second except for
 * 100. Returns false when the kind must stop now (cancelled, timed out, shutting down, or
 * the task is no longer this worker's). */
bool kind_progress(struct kind_ctx *ctx, int pct, const char *msg);
/* Appends len bytes of text to the task's streamed output (GET /api/tasks/{id}/output, the
 * output stream), apart from its progress: a chunk, written within milliseconds with the
 * other executors' chunks. Invalid UTF-8 becomes U+FFFD and NUL bytes are dropped; past the
 * worker's --output-max a task's output is cut (and the cut reported). text is copied. */
void kind_output(struct kind_ctx *ctx, const char *text, size_t len);
/* True when the kind must stop now. */
bool kind_should_stop(struct kind_ctx *ctx);
/* Sleeps ms milliseconds unless told to stop; returns false when it must stop. */
bool kind_sleep_ms(struct kind_ctx *ctx, long ms);
/* The running task's parents with their kind, state and result, as JSON array text (the
 * caller frees *json), or NULL when it names none (then no query is made). false, with a
 * reason in err, when the database could not say. */
bool kind_parents(struct kind_ctx *ctx, char **json, char *err, size_t errsize);

/* Signals and checkpoints (sql/functions/signals.sql). The signals the task received so
 * far, a JSON object text ({name: payload}), and its last checkpoint's JSON text, or NULL
 * when it has none; both borrowed for the attempt. */
const char *kind_signals(const struct kind_ctx *ctx);
const char *kind_last_checkpoint(const struct kind_ctx *ctx);
/* Stores a checkpoint (JSON text) for the task now, before it returns: the next run gets it
 * (kind_last_checkpoint). Fenced by the attempt, so also safe while the kind stops. false,
 * with a reason in err, when it could not be stored; the kind must then stop
 * (kind_should_stop() says true when the task is no longer this worker's). */
bool kind_checkpoint(struct kind_ctx *ctx, const char *json, char *err, size_t errsize);
/* Asks that the task wait for signal name (a valid signal name, model/signal.h) once this
 * attempt returns KIND_WAIT: at most timeout_s seconds (<= 0: no limit), then it fails, or
 * runs without the signal when on_timeout_run. A signal it holds already (kind_signals) ends
 * the wait at once. */
void kind_wait(struct kind_ctx *ctx, const char *name, double timeout_s, bool on_timeout_run);

/* Circuit breakers (worker/breakers.c), for kinds that call upstream hosts. The key of the
 * breaker that guards url: its host in lower case, with ":port" when the port is not the
 * scheme's default; out needs KIND_HOST_KEY_MAX + 1 bytes. false for a URL without a host. */
#define KIND_HOST_KEY_MAX 300
bool kind_breaker_key(const char *url, char *out, size_t size);
/* Before the call: may this attempt call host (a key from kind_breaker_key)? false when the
 * host's breaker put the task back in the queue without spending its attempt (or the task is
 * no longer this worker's): the kind returns KIND_DEFERRED at once; msg says why. probe_s:
 * how long the call may take at most. After the call: what host did, ok (it answered) or a
 * failure with a short reason ("HTTP 503", "timed out"). */
bool kind_breaker_admit(struct kind_ctx *ctx, const char *host, double probe_s, char *msg,
			size_t msgsize);
void kind_breaker_report(struct kind_ctx *ctx, const char *host, bool ok, const char *reason);
/* After the call, when host asked to wait wait_s seconds (reason: "429 Retry-After: 3"):
 * every worker holds host's tasks until then (at most the worker's --http-retry-after-max).
 * hold_task: this attempt's task goes back to the queue until then too, its attempt not
 * counted; msg then says why and until when. */
enum kind_throttle {
	KIND_THROTTLE_HELD,     /* recorded; the attempt's outcome stands (hold_task false) */
	KIND_THROTTLE_DEFERRED, /* the task is back in the queue: the kind returns KIND_DEFERRED */
	KIND_THROTTLE_LOST,     /* the task is no longer this worker's: KIND_STOPPED */
	KIND_THROTTLE_FAILED,   /* PostgreSQL could not be told: handle the answer as usual */
};
enum kind_throttle kind_breaker_throttle(struct kind_ctx *ctx, const char *host, double wait_s,
					 const char *reason, bool hold_task, char *msg,
					 size_t msgsize);

#endif
