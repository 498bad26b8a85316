/*
 * command: runs one attempt of a command kind, the executable the worker's configuration
 * names (never the payload), as a child process. It owns the child's whole life: start, I/O,
 * stop, reaping. It must not block its executor longer than one poll slice (the stop checks),
 * nor keep more of what the program prints than the bounded tails below.
 *
 * The contract with the program:
 * - argv = {path}, no shell; its own process group; cwd "/"; stdin, stdout and stderr are
 *   pipes and no other descriptor is open. Environment: PATH=/usr/local/bin:/usr/bin:/bin,
 *   HOME (the worker's, else /), LANG=C.UTF-8, TASKQ_TASK_ID, TASKQ_ATTEMPT, TASKQ_KIND.
 *   Limits: RLIMIT_CORE 0 (no core files), RLIMIT_NOFILE soft 1024 (the hard limit stays, a
 *   program may raise it); memory and CPU are left to the service manager (cgroups).
 * - stdin: the payload as one line of JSON and a newline, then end of file. Unread is fine.
 * - stdout, line by line (a line is cut at 1 MiB; a trailing CR is dropped):
 *   "progress P[ message]" with P an integer 0..100 records progress (no message: the
 *   previous one stays); any other line is output. The result is the last JSON value in the
 *   output: a line continues the value an earlier line left open (pretty-printed JSON), or
 *   else is tried as the start of a new one. A value fills its lines alone (whitespace aside),
 *   is at most 1 MiB and 32 levels deep, is not null, and holds no NaN, Infinity or U+0000
 *   (jsonb refuses them). Without one the result is {"stdout": "<last 4 KiB of output>"}.
 * - stderr: the last 2 KiB are kept for the error message.
 * - exit 0 succeeds; exit N fails the attempt "exit status N: <tail>"; a signal fails it
 *   "killed by signal N (SIGX): <tail>" (tail: stderr's, else the output's, on one line, its
 *   end kept); a program that cannot be executed fails the task for good.
 * - stop (cancel, timeout, shutdown): SIGTERM to the group, SIGKILL 5 s later. Whenever the
 *   program exits, what it left running in its group is SIGKILLed; a process that left the
 *   group (setsid, setpgid) escapes, as it escapes any process-group kill.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kinds.h"
#include "log.h"
#include "xalloc.h"

#define LINE_MAX_BYTES (1 << 20)  /* a longer stdout line is cut */
#define VALUE_MAX_BYTES (1 << 20) /* a JSON value open over more lines is given up */
#define OUT_TAIL 4096
#define ERR_TAIL 2048
#define MSG_MAX 512
#define POLL_MS 50 /* how often the stop conditions are checked */
#define GRACE_S 5.0
#define NOFILE_MAX 1024
#define DRAIN_ROUNDS 16 /* reads after the exit: what the pipes still hold, not a flood */
/* strerrordesc_np and sigabbrev_np: thread-safe, unlike strerror and strsignal */

/* The last cap bytes of a stream; the buffer is compacted once it is full. */
struct tail {
	size_t cap, len;
	char buf[2 * OUT_TAIL];
};

struct run {
	struct kind_ctx *ctx;
	pid_t pid;
	int pidfd, in, out, err; /* ours; -1 once closed */
	char *input;             /* payload + '\n'; owned */
	size_t inlen, inoff;
	char *line; /* the stdout line being read, with room for '\n' and NUL; owned */
	size_t linelen, linecap;
	struct tail outtail, errtail;
	json_tokener *tok;
	bool open; /* tok holds the start of a value that the next lines may complete */
	size_t openbytes;
	json_object *value; /* the last JSON value so far; owned */
	char msg[MSG_MAX];  /* the last progress message */
	bool stopping, killed, exited;
	double kill_at;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void tail_put(struct tail *t, const char *p, size_t n)
{
	if (n > t->cap) {
		p += n - t->cap;
		n = t->cap;
	}
	if (t->len + n > sizeof t->buf) {
		size_t keep = t->cap - n;
		memmove(t->buf, t->buf + t->len - keep, keep);
		t->len = keep;
	}
	memcpy(t->buf + t->len, p, n);
	t->len += n;
}

/* The kept bytes; borrowed until the next tail_put. */
static const char *tail_get(const struct tail *t, size_t *n)
{
	*n = t->len < t->cap ? t->len : t->cap;
	return t->buf + t->len - *n;
}

/* Length of the UTF-8 character at s (n bytes left) if PostgreSQL accepts it, else 0. */
static size_t utf8_char(const unsigned char *s, size_t n)
{
	size_t len = s[0] < 0x80 ? 1 : s[0] < 0xc2 ? 0 : s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : s[0] < 0xf5 ? 4 : 0;

	if (len == 0 || len > n)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
		return 0; /* overlong, surrogate, past U+10FFFF */
	return len;
}

/* Copies program output into out (NUL-terminated) as text PostgreSQL stores: NUL and invalid
 * bytes become '?', a character cut at the start is dropped; with one_line, runs of line
 * breaks become " | " and other control characters spaces. */
static void clean_text(const char *in, size_t n, char *out, size_t outsize, bool one_line)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0, o = 0;

	while (i < n && i < 3 && (s[i] & 0xc0) == 0x80)
		i++;
	while (i < n && o + 4 < outsize) {
		size_t len = s[i] ? utf8_char(s + i, n - i) : 0;

		if (one_line && (s[i] == '\n' || s[i] == '\r')) {
			while (i < n && (s[i] == '\n' || s[i] == '\r'))
				i++;
			memcpy(out + o, " | ", 3);
			o += 3;
		} else if (len == 0 || (one_line && s[i] < 0x20)) {
			out[o++] = len ? ' ' : '?';
			i++;
		} else {
			memcpy(out + o, s + i, len);
			o += len;
			i += len;
		}
	}
	out[o] = '\0';
}

/* Whether jsonb takes v: no NaN or infinite number, no U+0000 in a string. */
static bool storable(json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_double:
		return isfinite(json_object_get_double(v));
	case json_type_string:
		return !memchr(json_object_get_string(v), '\0', (size_t)json_object_get_string_len(v));
	case json_type_array:
		for (size_t i = 0; i < json_object_array_length(v); i++)
			if (!storable(json_object_array_get_idx(v, i)))
				return false;
		return true;
	case json_type_object: {
		json_object_object_foreach(v, key, val) {
			(void)key;
			if (!storable(val))
				return false;
		}
		return true;
	}
	default:
		return true;
	}
}

/* Feeds one output line (with its '\n') to the JSON reader; the rule is in the header. The
 * tokener is strict: trailing bytes after a value are an error, not a second value. */
static void json_line(struct run *r, const char *s, size_t n)
{
	for (bool fresh = !r->open;; fresh = true) {
		const char *c = s + strspn(s, " \t\r\n");
		json_object *v;
		enum json_tokener_error e;

		if (fresh) {
			/* plain text skips the tokener, which allocates a locale on every call */
			if (!*c || !strchr("{[\"-0123456789tfn", *c)) {
				r->open = false;
				return;
			}
			json_tokener_reset(r->tok);
			r->openbytes = 0;
		}
		r->openbytes += n;
		v = json_tokener_parse_ex(r->tok, s, (int)n);
		e = json_tokener_get_error(r->tok);
		r->open = e == json_tokener_continue && r->openbytes <= VALUE_MAX_BYTES;
		if (r->open)
			return;
		if (v && e == json_tokener_success && storable(v)) {
			json_object_put(r->value);
			r->value = v;
			return;
		}
		json_object_put(v);
		if (fresh)
			return;
	}
}

/* Asks the program's group to stop: SIGTERM now, SIGKILL when the grace is over. */
static void stop(struct run *r)
{
	r->stopping = true;
	r->kill_at = now_s() + GRACE_S;
	kill(-r->pid, SIGTERM);
}

/* "progress P[ message]", P an integer 0..100: true with *pct and *msg (into line, or NULL). */
static bool progress_line(const char *line, int *pct, const char **msg)
{
	char *end;
	long p;

	if (strncmp(line, "progress ", 9) || line[9] < '0' || line[9] > '9')
		return false;
	errno = 0;
	p = strtol(line + 9, &end, 10);
	if (errno || p > 100 || (*end && *end != ' '))
		return false;
	*pct = (int)p;
	*msg = *end ? end + 1 : NULL;
	return true;
}

/* Handles the complete stdout line in r->line (without its '\n'). */
static void out_line(struct run *r)
{
	const char *msg;
	int pct;

	if (r->linelen > 0 && r->line[r->linelen - 1] == '\r')
		r->linelen--;
	r->line[r->linelen] = '\0';
	if (progress_line(r->line, &pct, &msg)) {
		if (msg && *msg)
			clean_text(msg, strlen(msg), r->msg, sizeof r->msg, true);
		/* kind_progress is throttled; a flood of progress lines costs no statements */
		if (!r->stopping && !kind_progress(r->ctx, pct, r->msg[0] ? r->msg : NULL) &&
		    !r->exited)
			stop(r);
	} else {
		r->line[r->linelen++] = '\n';
		r->line[r->linelen] = '\0';
		tail_put(&r->outtail, r->line, r->linelen);
		json_line(r, r->line, r->linelen);
	}
	r->linelen = 0;
}

/* Appends to the current line what fits under LINE_MAX_BYTES; the rest of the line is lost. */
static void line_append(struct run *r, const char *p, size_t n)
{
	if (n > LINE_MAX_BYTES - r->linelen)
		n = LINE_MAX_BYTES - r->linelen;
	if (r->linelen + n + 2 > r->linecap) {
		while (r->linelen + n + 2 > r->linecap)
			r->linecap = r->linecap ? r->linecap * 2 : 256;
		if (r->linecap > LINE_MAX_BYTES + 2)
			r->linecap = LINE_MAX_BYTES + 2;
		r->line = xrealloc(r->line, r->linecap);
	}
	memcpy(r->line + r->linelen, p, n);
	r->linelen += n;
}

static void out_feed(struct run *r, const char *p, size_t n)
{
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t take = nl ? (size_t)(nl - p) : n;

		line_append(r, p, take);
		if (nl) {
			out_line(r);
			take++;
		}
		p += take;
		n -= take;
	}
}

/* Writes what the stdin pipe takes; closes it when all is written or the program is gone.
 * SIGPIPE is blocked around the write and a pending one dropped: EPIPE is enough, whatever
 * the process's disposition of SIGPIPE. */
static void write_input(struct run *r)
{
	static const struct timespec zero = {0, 0};
	sigset_t pipe, old;
	ssize_t n;
	int e;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, &old);
	n = write(r->in, r->input + r->inoff, r->inlen - r->inoff);
	e = errno;
	if (n < 0 && e == EPIPE)
		sigtimedwait(&pipe, NULL, &zero);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (n > 0)
		r->inoff += (size_t)n;
	if (r->inoff == r->inlen || (n < 0 && e != EAGAIN && e != EINTR)) {
		close(r->in);
		r->in = -1;
	}
}

/* Reads into buf: the byte count, 0 when *fd is done (end of file or an error; it is closed),
 * -1 when nothing is there now. */
static ssize_t read_some(int *fd, char *buf, size_t size)
{
	ssize_t n = read(*fd, buf, size);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return -1;
	if (n <= 0) {
		close(*fd);
		*fd = -1;
		return 0;
	}
	return n;
}

/* One round of I/O: waits up to timeout_ms for a pipe (or, with a pidfd, the exit), then moves
 * one chunk each way. True when it read something. */
static bool pump(struct run *r, int timeout_ms)
{
	struct pollfd pf[4] = {{.fd = r->in, .events = POLLOUT}, {.fd = r->out, .events = POLLIN},
			       {.fd = r->err, .events = POLLIN}, {.fd = r->pidfd, .events = POLLIN}};
	char buf[65536];
	ssize_t n;
	bool got = false;

	if (poll(pf, timeout_ms ? 4 : 3, timeout_ms) <= 0)
		return false;
	if (pf[0].revents)
		write_input(r);
	if (pf[1].revents && (n = read_some(&r->out, buf, sizeof buf)) > 0) {
		out_feed(r, buf, (size_t)n);
		got = true;
	}
	if (pf[2].revents && (n = read_some(&r->err, buf, sizeof buf)) > 0) {
		tail_put(&r->errtail, buf, (size_t)n);
		got = true;
	}
	return got;
}

/* True once the child has exited. WNOWAIT leaves it a zombie, so its pid, which is also its
 * group's id, cannot be reused before the group kill that follows. */
static bool child_exited(const struct run *r)
{
	siginfo_t si = {0};

	if (waitid(P_PID, (id_t)r->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
		return errno != EINTR; /* ECHILD: nothing left to wait for */
	return si.si_pid == r->pid;
}

/* Runs the program to its end: I/O, stop checks, the grace; then kills what it left in its
 * group, reads what the pipes still hold and reaps it. Returns the wait status, or -1. */
static int supervise(struct run *r)
{
	int status;

	while (!child_exited(r)) {
		if (!r->stopping && kind_should_stop(r->ctx)) {
			stop(r);
		} else if (r->stopping && !r->killed && now_s() >= r->kill_at) {
			log_task(LOG_INFO, kind_task_id(r->ctx), "event=command_killed pid=%d grace_s=%.0f",
				 (int)r->pid, GRACE_S);
			kill(-r->pid, SIGKILL);
			r->killed = true;
		}
		pump(r, POLL_MS);
	}
	r->exited = true;
	kill(-r->pid, SIGKILL);
	for (int i = 0; i < DRAIN_ROUNDS && pump(r, 0); i++)
		;
	if (r->linelen > 0)
		out_line(r);
	while (waitpid(r->pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return status;
}

/* What the child needs, prepared before fork: in the child of a threaded process only
 * async-signal-safe calls are allowed (no malloc, no locks, no stdio). */
struct child {
	const char *path;
	char *argv[2], *envp[7];
	char home[4096], id[64], attempt[32], kind[96];
	int fd[3];     /* become stdin, stdout, stderr */
	int status_fd; /* reports a failure before exec: {stage, errno} */
	int maxfd;
	struct rlimit core, nofile;
	sigset_t nomask;
};

static void child_prepare(struct child *c, struct kind_ctx *ctx)
{
	const char *home = getenv("HOME");

	c->path = kind_of(ctx)->path;
	c->argv[0] = (char *)c->path;
	c->argv[1] = NULL;
	snprintf(c->home, sizeof c->home, "HOME=%s", home && *home ? home : "/");
	snprintf(c->id, sizeof c->id, "TASKQ_TASK_ID=%s", kind_task_id(ctx));
	snprintf(c->attempt, sizeof c->attempt, "TASKQ_ATTEMPT=%d", kind_attempt(ctx));
	snprintf(c->kind, sizeof c->kind, "TASKQ_KIND=%s", kind_of(ctx)->name);
	memcpy(c->envp, (char *[]){"PATH=/usr/local/bin:/usr/bin:/bin", c->home, "LANG=C.UTF-8",
				   c->id, c->attempt, c->kind, NULL}, sizeof c->envp);
	c->core = (struct rlimit){0, 0};
	getrlimit(RLIMIT_NOFILE, &c->nofile);
	c->maxfd = c->nofile.rlim_cur < 65536 ? (int)c->nofile.rlim_cur : 65536;
	if (c->nofile.rlim_cur > NOFILE_MAX)
		c->nofile.rlim_cur = NOFILE_MAX;
	sigemptyset(&c->nomask);
}

/* In the child: pipes to 0-2, everything else closed at exec, its own group, limits, default
 * signals, exec. Async-signal-safe calls only. Never returns. */
static void child_exec(const struct child *c)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	int stage = 0, fd[3], report[2];

	for (int i = 0; i < 3; i++) /* above 2 first: a pipe end may itself be 0, 1 or 2 */
		if ((fd[i] = fcntl(c->fd[i], F_DUPFD_CLOEXEC, 3)) < 0)
			goto fail;
	for (int i = 0; i < 3; i++)
		if (dup2(fd[i], i) < 0)
			goto fail;
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) /* kernels before 5.11 */
		for (int i = 3; i < c->maxfd; i++)
			if (i != c->status_fd)
				close(i);
	if (setpgid(0, 0) < 0 || setrlimit(RLIMIT_CORE, &c->core) < 0 ||
	    setrlimit(RLIMIT_NOFILE, &c->nofile) < 0 || chdir("/") < 0)
		goto fail;
	/* the worker ignores SIGPIPE and blocks SIGTERM/SIGINT/SIGHUP; both would survive exec */
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	sigprocmask(SIG_SETMASK, &c->nomask, NULL);
	stage = 1;
	execve(c->path, c->argv, c->envp);
fail:
	report[0] = stage;
	report[1] = errno;
	(void)!write(c->status_fd, report, sizeof report);
	_exit(127);
}

/* Starts the program: KIND_OK with r->pid and the pipes set, or a failure written to err. */
static enum kind_result spawn(struct run *r, char *err, size_t errsize)
{
	int p[8] = {-1, -1, -1, -1, -1, -1, -1, -1}; /* stdin, stdout, stderr, status: read, write */
	enum kind_result kr = KIND_FAIL;
	struct child c;
	int report[2];
	ssize_t n;
	pid_t pid;

	for (int i = 0; i < 8; i += 2)
		if (pipe2(p + i, O_CLOEXEC) < 0) {
			snprintf(err, errsize, "cannot create pipes: %s", strerrordesc_np(errno));
			goto out;
		}
	child_prepare(&c, r->ctx);
	c.fd[0] = p[0];
	c.fd[1] = p[3];
	c.fd[2] = p[5];
	c.status_fd = p[7];
	if ((pid = fork()) == 0)
		child_exec(&c);
	if (pid < 0) {
		snprintf(err, errsize, "cannot fork: %s", strerrordesc_np(errno));
		goto out;
	}
	close(p[7]); /* so that the read ends at the exec (EOF) or with the child's report */
	p[7] = -1;
	while ((n = read(p[6], report, sizeof report)) < 0 && errno == EINTR)
		;
	if (n == (ssize_t)sizeof report) {
		waitpid(pid, NULL, 0);
		snprintf(err, errsize, "cannot %s %s: %s", report[0] ? "execute" : "set up a process for",
			 c.path, strerrordesc_np(report[1]));
		kr = KIND_FAIL_HARD;
		goto out;
	}
	r->pid = pid;
	r->pidfd = pidfd_open(pid, 0); /* -1 on old kernels: then the poll timeout sees the exit */
	r->in = p[1];
	r->out = p[2];
	r->err = p[4];
	p[1] = p[2] = p[4] = -1;
	fcntl(r->in, F_SETFL, O_NONBLOCK);
	fcntl(r->out, F_SETFL, O_NONBLOCK);
	fcntl(r->err, F_SETFL, O_NONBLOCK);
	log_task(LOG_DEBUG, kind_task_id(r->ctx), "event=command_started pid=%d path=%s", (int)pid,
		 c.path);
	kr = KIND_OK;
out:
	for (int i = 0; i < 8; i++)
		if (p[i] >= 0)
			close(p[i]);
	return kr;
}

/* err = "<what>: <the stderr tail, else the output tail, on one line>", keeping the end of
 * the tail when it does not fit (the last lines say most, e.g. a traceback's). */
static void fail_message(const struct run *r, const char *what, char *err, size_t errsize)
{
	const struct tail *t = r->errtail.len ? &r->errtail : &r->outtail;
	char text[3 * OUT_TAIL + 1];
	size_t n, room = strlen(what) + 8 < errsize ? errsize - strlen(what) - 8 : 0;
	const char *s = tail_get(t, &n);

	for (; n > 0 && strchr(" \t\r\n", *s); n--)
		s++;
	while (n > 0 && strchr(" \t\r\n", s[n - 1]))
		n--;
	clean_text(s, n, text, sizeof text, true);
	s = text;
	n = strlen(text);
	if (n > room) {
		for (s = text + n - room; (*s & 0xc0) == 0x80; s++)
			;
		snprintf(err, errsize, "%s: …%s", what, s);
	} else {
		snprintf(err, errsize, "%s%s%s", what, n ? ": " : "", text);
	}
}

/* What became of the attempt, from the wait status; *result gets the result on KIND_OK. */
static enum kind_result outcome(struct run *r, int status, json_object **result, char *err,
				size_t errsize)
{
	char what[64], text[OUT_TAIL + 1];
	const char *sig, *s;
	size_t n;

	if (r->stopping)
		return KIND_STOPPED;
	if (status == -1) {
		snprintf(what, sizeof what, "lost track of the process");
	} else if (WIFSIGNALED(status)) {
		sig = sigabbrev_np(WTERMSIG(status));
		snprintf(what, sizeof what, "killed by signal %d (SIG%s)", WTERMSIG(status),
			 sig ? sig : "?");
	} else if (WEXITSTATUS(status) != 0) {
		snprintf(what, sizeof what, "exit status %d", WEXITSTATUS(status));
	} else if (r->value) {
		*result = r->value;
		r->value = NULL;
		return KIND_OK;
	} else {
		s = tail_get(&r->outtail, &n);
		clean_text(s, n, text, sizeof text, false);
		*result = json_object_new_object();
		json_object_object_add(*result, "stdout", json_object_new_string(text));
		return KIND_OK;
	}
	fail_message(r, what, err, errsize);
	return KIND_FAIL;
}

enum kind_result kind_command_run(struct kind_ctx *ctx, json_object *payload,
				  json_object **result, char *err, size_t errsize)
{
	struct run r = {.ctx = ctx, .pid = -1, .pidfd = -1, .in = -1, .out = -1, .err = -1,
			.outtail.cap = OUT_TAIL, .errtail.cap = ERR_TAIL};
	const char *json = payload ? json_object_to_json_string_ext(
					     payload, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
				   : "{}";
	enum kind_result kr = KIND_FAIL;

	r.inlen = strlen(json) + 1;
	r.input = xmalloc(r.inlen);
	memcpy(r.input, json, r.inlen - 1);
	r.input[r.inlen - 1] = '\n';
	if (!(r.tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH))) {
		snprintf(err, errsize, "out of memory");
		goto out;
	}
	json_tokener_set_flags(r.tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	if ((kr = spawn(&r, err, errsize)) != KIND_OK)
		goto out;
	kr = outcome(&r, supervise(&r), result, err, errsize);
out:
	for (int i = 0, fds[] = {r.pidfd, r.in, r.out, r.err}; i < 4; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	json_object_put(r.value);
	if (r.tok)
		json_tokener_free(r.tok);
	free(r.line);
	free(r.input);
	return kr;
}
