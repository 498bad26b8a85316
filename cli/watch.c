/*
 * watch: follows one task until it ends (taskq watch, taskq submit --wait). On a terminal it
 * redraws one progress-bar line in place; otherwise it prints one line per visible change.
 * It ends with the result (pretty JSON) or the error, and exits with the task's outcome.
 *
 * It does not busy-poll: the connection LISTENs on taskq_task, whose payloads are the
 * comma-separated ids of changed tasks, and the task is read again only when its id is
 * announced, or every WATCH_POLL_MS as a safety net (a notification lost to a reconnect).
 * Changes that come faster than one read coalesce into one line. A database outage while
 * watching is waited out; SIGINT and SIGTERM end the line and the program.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "store/tasks.h"
#include "base/xalloc.h"

#define WATCH_POLL_MS 2000
#define WATCH_CHANNEL "taskq_task"

static volatile sig_atomic_t g_stop_signal, g_winch;

struct watch {
	struct task cur; /* the task as last read */
	bool tty, changed, bar_open, db_down;
	long long last_read_ms;
	/* what was last shown, so that writes that change nothing visible (lease renewals)
	 * print nothing */
	int shown_state, shown_progress, shown_attempts, shown_position, shown_eta;
	bool shown_cancel;
	char *shown_msg;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_signal(int sig)
{
	if (sig == SIGWINCH)
		g_winch = 1;
	else
		g_stop_signal = sig;
}

/* The signals stay blocked except inside ppoll(2), so that one arriving just before the wait
 * still interrupts it; *unblocked receives the mask to wait with. */
static void catch_signals(bool tty, sigset_t *unblocked)
{
	struct sigaction sa;
	sigset_t set;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (tty)
		sigaddset(&set, SIGWINCH);
	sigprocmask(SIG_BLOCK, &set, unblocked);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (tty)
		sigaction(SIGWINCH, &sa, NULL);
}

/* Dies of the signal that stopped the watch, as a shell expects of an interrupted command. */
static void die_of(int sig, const sigset_t *unblocked)
{
	signal(sig, SIG_DFL);
	sigprocmask(SIG_SETMASK, unblocked, NULL);
	raise(sig);
}

/* True when the comma-separated list of ids holds id. */
static bool ids_contain(const char *csv, const char *id)
{
	const char *p = csv;

	while (p && *p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		if (len == TASK_ID_LEN && !strncasecmp(p, id, TASK_ID_LEN))
			return true;
		p = comma ? comma + 1 : NULL;
	}
	return false;
}

static void on_notify(const char *channel, const char *payload, void *ctx)
{
	struct watch *w = ctx;

	if (!strcmp(channel, WATCH_CHANNEL) && ids_contain(payload, w->cur.id))
		w->changed = true;
}

static int term_cols(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

/* "12th in line, about 40 s" (or without the time when there is no rate to go by) after a
 * queued task's state words; nothing when it has no place in line (delayed, blocked). */
static void place_words(const struct task *t, char *buf, size_t size)
{
	int n = t->position, tens = n % 100;
	const char *th = tens >= 11 && tens <= 13 ? "th"
			 : n % 10 == 1            ? "st"
			 : n % 10 == 2            ? "nd"
			 : n % 10 == 3            ? "rd"
						  : "th";

	buf[0] = '\0';
	if (t->state != TASK_QUEUED || n < 1)
		return;
	if (t->eta_s >= 0)
		snprintf(buf, size, ", %d%s in line, about %d s", n, th, t->eta_s);
	else
		snprintf(buf, size, ", %d%s in line", n, th);
}

/* "running", "running (attempt 2/3)", "running (cancel requested)", "queued (attempt 1/3
 * failed)", "queued, 12th in line, about 40 s": the state name first, so that lines stay
 * easy to match. */
static void state_words(const struct task *t, char *buf, size_t size)
{
	const char *state = task_state_name(t->state);
	char place[64];

	place_words(t, place, sizeof place);
	if (t->state == TASK_QUEUED && t->attempts > 0)
		snprintf(buf, size, "%s (attempt %d/%d failed)%s", state, t->attempts,
			 t->max_attempts, place);
	else if (t->state == TASK_RUNNING && t->cancel_requested)
		snprintf(buf, size, "%s (cancel requested)", state);
	else if (t->attempts > 1)
		snprintf(buf, size, "%s (attempt %d/%d)", state, t->attempts, t->max_attempts);
	else
		snprintf(buf, size, "%s%s", state, place);
}

/* Ends the bar's line, so that what follows starts on a line of its own. */
static void end_bar(struct watch *w)
{
	if (w->bar_open)
		putchar('\n');
	w->bar_open = false;
}

/* "[#########.....]  45% running  step 4/10", cut to the terminal's width so that it never
 * wraps (a wrapped line cannot be redrawn in place). */
static void draw_bar(struct watch *w)
{
	const struct task *t = &w->cur;
	int cols = term_cols(), width = cols >= 70 ? 30 : cols >= 45 ? 15 : 5;
	int filled = t->progress * width / 100, n;
	char head[160], bar[31], words[112];

	for (int i = 0; i < width; i++)
		bar[i] = i < filled ? '#' : '.';
	bar[width] = '\0';
	state_words(t, words, sizeof words);
	n = snprintf(head, sizeof head, "[%s] %3d%% %s", bar, t->progress, words);
	fputs("\r\033[K", stdout);
	fputs(head, stdout);
	/* the last column stays free: writing there wraps on some terminals */
	if (t->message && *t->message && cols - 1 - n - 2 > 0) {
		fputs("  ", stdout);
		cli_put_text(stdout, t->message, (size_t)(cols - 1 - n - 2), false);
	}
	w->bar_open = true;
}

/* "40% running step 4/10": one line, for logs and pipes. */
static void print_line(const struct task *t)
{
	char words[112];

	state_words(t, words, sizeof words);
	printf("%d%% %s", t->progress, words);
	if (t->message && *t->message) {
		putchar(' ');
		cli_put_text(stdout, t->message, (size_t)-1, false);
	}
	putchar('\n');
}

/* Shows the task when something visible changed since it was last shown (or force). */
static void show(struct watch *w, bool force)
{
	const struct task *t = &w->cur;
	const char *msg = t->message ? t->message : "";

	if (!force && w->shown_msg && w->shown_state == (int)t->state &&
	    w->shown_progress == t->progress && w->shown_attempts == t->attempts &&
	    w->shown_cancel == t->cancel_requested && w->shown_position == t->position &&
	    w->shown_eta == t->eta_s && !strcmp(w->shown_msg, msg))
		return;
	w->shown_position = t->position;
	w->shown_eta = t->eta_s;
	w->shown_state = (int)t->state;
	w->shown_progress = t->progress;
	w->shown_attempts = t->attempts;
	w->shown_cancel = t->cancel_requested;
	free(w->shown_msg);
	w->shown_msg = xstrdup(msg);
	if (w->tty)
		draw_bar(w);
	else
		print_line(t);
	fflush(stdout);
}

/* Prints the outcome and returns the exit code for it. */
static int finish(struct watch *w)
{
	const struct task *t = &w->cur;

	end_bar(w);
	if (t->state == TASK_SUCCEEDED) {
		cli_print_json_text(stdout, t->result);
		return CLI_OK;
	}
	if (t->error) {
		fputs("error: ", stdout);
		cli_put_text(stdout, t->error, (size_t)-1, true);
		putchar('\n');
	}
	return t->state == TASK_CANCELLED ? CLI_CANCELLED : CLI_TASK_FAILED;
}

static enum taskq_rc reread(struct db *db, struct watch *w, struct taskq_err *err)
{
	struct task t = {0};
	enum taskq_rc rc = store_get(db, w->cur.id, &t, err);

	w->last_read_ms = now_ms();
	if (rc)
		return rc;
	task_cleanup(&w->cur);
	w->cur = t;
	return TASKQ_OK;
}

/* Returns when the task's id was announced, the safety poll is due, the connection was
 * lost (a reconnect may have missed announcements), or a signal arrived. */
static void wait_change(struct db *db, struct watch *w, const sigset_t *unblocked)
{
	w->changed = false;
	while (!g_stop_signal) {
		long long left = w->last_read_ms + WATCH_POLL_MS - now_ms();
		struct pollfd p = {.fd = db_connected(db) ? db_socket(db) : -1, .events = POLLIN};
		struct timespec ts;

		/* first what libpq already holds: poll(2) would not wake for it */
		if (p.fd >= 0 && db_each_notify(db, on_notify, w) < 0)
			return;
		if (w->changed || left <= 0)
			return;
		if (g_winch) {
			g_winch = 0;
			show(w, true);
		}
		ts.tv_sec = (time_t)(left / 1000);
		ts.tv_nsec = (long)(left % 1000) * 1000000L;
		if (ppoll(&p, p.fd >= 0 ? 1 : 0, &ts, unblocked) < 0 && errno != EINTR)
			return;
	}
}

int cmd_watch(struct db *db, const char *id)
{
	struct watch w = {.tty = isatty(STDOUT_FILENO)};
	struct taskq_err err;
	enum taskq_rc rc;
	bool redraw = false;
	sigset_t unblocked;
	int code;

	if ((code = cli_check_id(id)))
		return code;
	/* the connection LISTENs from its first statement on, so no change after this read
	 * goes unannounced */
	if (store_get(db, id, &w.cur, &err))
		return cli_fail(&err);
	w.last_read_ms = now_ms();
	catch_signals(w.tty, &unblocked);
	for (;;) {
		show(&w, redraw);
		redraw = false;
		if (task_state_final(w.cur.state)) {
			code = finish(&w);
			break;
		}
		wait_change(db, &w, &unblocked);
		if (g_stop_signal) {
			end_bar(&w);
			fflush(stdout);
			task_cleanup(&w.cur);
			free(w.shown_msg);
			die_of(g_stop_signal, &unblocked);
			return 128 + g_stop_signal;
		}
		rc = reread(db, &w, &err);
		if (rc == TASKQ_DB_DOWN) {
			if (!w.db_down) {
				end_bar(&w);
				fflush(stdout);
				fprintf(stderr, "taskq: %.*s; still watching\n",
					(int)strcspn(err.msg, "\n"), err.msg);
			}
			w.db_down = true;
			continue;
		}
		if (rc) {
			end_bar(&w);
			fflush(stdout);
			code = cli_fail(&err);
			break;
		}
		redraw = w.db_down && w.tty; /* the message ended the bar's line */
		w.db_down = false;
	}
	task_cleanup(&w.cur);
	free(w.shown_msg);
	return code;
}
