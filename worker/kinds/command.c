/*
 * command: runs one attempt of a command kind, the executable the worker's configuration
 * names (never the payload), as a child process. It owns the child's whole life: start, I/O,
 * stop, reaping; worker/kinds/cmdout.c (its kind-private reader) makes sense of what the program prints. It must not block its
 * executor longer than one poll slice (the stop checks).
 *
 * The contract with the program:
 * - argv = {path}, no shell; its own process group; cwd "/"; stdin, stdout and stderr are
 *   pipes and no other descriptor is open. Environment: PATH=/usr/local/bin:/usr/bin:/bin,
 *   HOME (the worker's, else /), LANG=C.UTF-8, TASKQ_TASK_ID, TASKQ_ATTEMPT, TASKQ_KIND; for a
 *   task with parents TASKQ_PARENTS, a JSON array of {id, kind, state, result}, one per
 *   parent in the order it named them (past the kernel's 128 KiB limit on one variable:
 *   TASKQ_PARENTS_FILE instead, a file of the worker's TMPDIR (else /tmp) holding it, mode
 *   0600, removed when the program is done). TASKQ_SIGNALS: the signals the task received
 *   so far, a JSON object {name: payload}; TASKQ_CHECKPOINT: the last checkpoint it stored
 *   (each absent while there is none); each, when too large, as a _FILE variable likewise.
 *   Limits: RLIMIT_CORE 0 (no core files), RLIMIT_NOFILE soft 1024 (the hard limit stays, a
 *   program may raise it); memory and CPU are left to the service manager (cgroups).
 * - stdin: the payload as one line of JSON and a newline, then end of file. Unread is fine.
 * - stdout, line by line (a line is cut at 1 MiB; a trailing CR is dropped):
 *   "progress P[ message]" with P an integer 0..100 records progress (no message: the
 *   previous one stays); "checkpoint JSON" stores that value at once, before the next line
 *   is read (the next run gets it as TASKQ_CHECKPOINT); "wait NAME [TIMEOUT_S [fail|run]]"
 *   makes an exit 0 a wait for signal NAME (the task turns waiting, its attempt not
 *   counted, and runs again when the signal comes, or fails at the timeout, or runs
 *   without it with "run"); a malformed wait or checkpoint line fails the task for good;
 *   "output TEXT" appends a chunk to the task's streamed output (TEXT that is one JSON
 *   string, "output \"tok\"", is that string decoded, without a line break added; any
 *   other TEXT is the line with its '\n'; "output" alone is a line break). Any other line
 *   is output. The result is the last JSON value in the
 *   output: a line continues the value an earlier line left open (pretty-printed JSON), or
 *   else is tried as the start of a new one. A value fills its lines alone (whitespace aside),
 *   is at most 1 MiB and 32 levels deep, is not null, and holds no NaN, Infinity or U+0000
 *   (jsonb refuses them). Without one the result is {"stdout": "<last 4 KiB of output>"}.
 * - stderr: the last 2 KiB are kept for the error message.
 * - exit 0 succeeds; exit N fails the attempt "exit status N: <tail>"; a signal fails it
 *   "killed by signal N (SIGX): <tail>" (tail: stderr's, else the output's, on one line, its
 *   end kept); a program that cannot be executed fails the task for good.
 * - the program is SIGKILLed when the worker dies (PR_SET_PDEATHSIG), so that it never runs
 *   beside the run that the lease rescue starts elsewhere.
 * - stop (cancel, timeout, shutdown): SIGTERM to the group, SIGKILL 5 s later. Whenever the
 *   program exits, what it left running in its group is SIGKILLed; a process that left the
 *   group (setsid, setpgid) escapes, as it escapes any process-group kill.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "base/clock.h"
#include "cmdout.h"
#include "base/log.h"
#include "base/xalloc.h"

#define POLL_MS 50 /* how often the stop conditions are checked */
#define GRACE_S 5.0
#define NOFILE_MAX 1024
#define DRAIN_ROUNDS 16 /* reads after the exit: what the pipes still hold, not a flood */
#define ENV_STRING_MAX (32 * 4096) /* MAX_ARG_STRLEN: one "NAME=value" string, its NUL included */
#define ENV_JSON_N 3               /* the JSON variables: parents, signals, checkpoint */
/* strerrordesc_np and sigabbrev_np: thread-safe, unlike strerror and strsignal */

struct run {
	struct kind_ctx *ctx;
	pid_t pid;
	int pidfd, in, out, err; /* ours; -1 once closed */
	char *input;             /* payload + '\n'; owned */
	size_t inlen, inoff;
	struct cmdout *co; /* stdout and stderr; owned */
	/* TASKQ_PARENTS, TASKQ_SIGNALS, TASKQ_CHECKPOINT: "NAME=…" or "NAME_FILE=…", owned
	 * (NULL: none), and the file to remove afterwards ("" when none) */
	char *env[ENV_JSON_N];
	char env_file[ENV_JSON_N][4096];
	bool stopping, killed, exited;
	double kill_at;
	char cp_error[256]; /* a checkpoint that could not be stored ("": none) */
};

/* Asks the program's group to stop: SIGTERM now, SIGKILL when the grace is over. */
static void stop(struct run *r)
{
	r->stopping = true;
	r->kill_at = clock_mono_s() + GRACE_S;
	kill(-r->pid, SIGTERM);
}

/* cmdout's progress callback: records a progress line; a "stop now" answer stops the
 * program, unless it is stopping or has exited already. kind_progress is throttled, so a
 * flood of progress lines costs no statements. */
static void on_progress(void *arg, int pct, const char *msg)
{
	struct run *r = arg;

	if (!r->stopping && !kind_progress(r->ctx, pct, msg) && !r->exited)
		stop(r);
}

/* cmdout's checkpoint callback: stores it before the next line is read (a statement on the
 * executor's connection), also while the program stops (its last step may end in the
 * grace); one that cannot be stored stops the program, whose attempt fails. */
static void on_checkpoint(void *arg, const char *json)
{
	struct run *r = arg;

	if (r->cp_error[0])
		return;
	if (!kind_checkpoint(r->ctx, json, r->cp_error, sizeof r->cp_error) && !r->exited &&
	    !r->stopping)
		stop(r);
}

/* cmdout's output callback: an "output TEXT" line's chunk goes to the task's output. */
static void on_output(void *arg, const char *text, size_t len)
{
	struct run *r = arg;

	kind_output(r->ctx, text, len);
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
	struct pollfd pf[4] = {{.fd = r->in, .events = POLLOUT},
			       {.fd = r->out, .events = POLLIN},
			       {.fd = r->err, .events = POLLIN},
			       {.fd = r->pidfd, .events = POLLIN}};
	char buf[65536];
	ssize_t n;
	bool got = false;

	if (poll(pf, timeout_ms ? 4 : 3, timeout_ms) <= 0)
		return false;
	if (pf[0].revents)
		write_input(r);
	if (pf[1].revents && (n = read_some(&r->out, buf, sizeof buf)) > 0) {
		cmdout_stdout(r->co, buf, (size_t)n);
		got = true;
	}
	if (pf[2].revents && (n = read_some(&r->err, buf, sizeof buf)) > 0) {
		cmdout_stderr(r->co, buf, (size_t)n);
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
		} else if (r->stopping && !r->killed && clock_mono_s() >= r->kill_at) {
			log_task(LOG_INFO, kind_task_id(r->ctx),
				 "event=command_killed pid=%d grace_s=%.0f", (int)r->pid, GRACE_S);
			kill(-r->pid, SIGKILL);
			r->killed = true;
		}
		pump(r, POLL_MS);
	}
	r->exited = true;
	kill(-r->pid, SIGKILL);
	for (int i = 0; i < DRAIN_ROUNDS && pump(r, 0); i++)
		;
	cmdout_end(r->co);
	while (waitpid(r->pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return status;
}

/* JSON text for the program's environment (see the contract above) as variable name: into
 * r->env[k] "NAME=json", or for a large one a file (r->env_file[k]) and "NAME_FILE=path".
 * Takes json (freed here; NULL: no variable). false with err set when it cannot be written. */
static bool env_json(struct run *r, int k, const char *name, char *json, char *err, size_t errsize)
{
	const char *tmp = getenv("TMPDIR");
	size_t len, nlen = strlen(name);
	int fd;
	bool ok;

	if (!json)
		return true;
	len = strlen(json);
	if (nlen + len + 2 <= ENV_STRING_MAX) {
		r->env[k] = xmalloc(nlen + len + 2);
		snprintf(r->env[k], nlen + len + 2, "%s=%s", name, json);
		free(json);
		return true;
	}
	snprintf(r->env_file[k], sizeof r->env_file[k], "%s/taskq-env-XXXXXX",
		 tmp && *tmp == '/' ? tmp : "/tmp");
	fd = mkostemp(r->env_file[k], O_CLOEXEC);
	ok = fd >= 0;
	for (size_t at = 0; ok && at < len;) {
		ssize_t n = write(fd, json + at, len - at);
		ok = n > 0 || (n < 0 && errno == EINTR);
		at += n > 0 ? (size_t)n : 0;
	}
	if (ok && close(fd) < 0)
		ok = false;
	else if (!ok && fd >= 0)
		close(fd);
	if (!ok)
		snprintf(err, errsize, "cannot write %s to %s: %s", name, r->env_file[k],
			 strerrordesc_np(errno));
	free(json);
	if (!ok) {
		if (fd >= 0)
			unlink(r->env_file[k]);
		r->env_file[k][0] = '\0';
		return false;
	}
	len = nlen + strlen(r->env_file[k]) + 7;
	r->env[k] = xmalloc(len);
	snprintf(r->env[k], len, "%s_FILE=%s", name, r->env_file[k]);
	return true;
}

/* The program's JSON variables: its parents' results, the signals it received and its last
 * checkpoint (those with a value). false with err set when they cannot be had. */
static bool env_prepare(struct run *r, char *err, size_t errsize)
{
	char *parents;
	const char *signals = kind_signals(r->ctx), *cp = kind_last_checkpoint(r->ctx);

	if (!kind_parents(r->ctx, &parents, err, errsize))
		return false;
	return env_json(r, 0, "TASKQ_PARENTS", parents, err, errsize) &&
	       env_json(r, 1, "TASKQ_SIGNALS",
			signals && strcmp(signals, "{}") ? xstrdup(signals) : NULL, err, errsize) &&
	       env_json(r, 2, "TASKQ_CHECKPOINT", cp ? xstrdup(cp) : NULL, err, errsize);
}

/* What the child needs, prepared before fork: in the child of a threaded process only
 * async-signal-safe calls are allowed (no malloc, no locks, no stdio). */
struct child {
	const char *path;
	char *argv[2], *envp[6 + ENV_JSON_N + 1];
	char home[4096], id[64], attempt[32], kind[96];
	int fd[3];     /* become stdin, stdout, stderr */
	int status_fd; /* reports a failure before exec: {stage, errno} */
	int maxfd;
	pid_t parent; /* the worker: the child stops when it is gone */
	struct rlimit core, nofile;
	sigset_t nomask;
};

static void child_prepare(struct child *c, struct kind_ctx *ctx, char *const *env)
{
	const char *home = getenv("HOME");
	int n = 6;

	c->path = kind_of(ctx)->path;
	c->argv[0] = (char *)c->path;
	c->argv[1] = NULL;
	snprintf(c->home, sizeof c->home, "HOME=%s", home && *home ? home : "/");
	snprintf(c->id, sizeof c->id, "TASKQ_TASK_ID=%s", kind_task_id(ctx));
	snprintf(c->attempt, sizeof c->attempt, "TASKQ_ATTEMPT=%d", kind_attempt(ctx));
	snprintf(c->kind, sizeof c->kind, "TASKQ_KIND=%s", kind_of(ctx)->name);
	memcpy(c->envp,
	       (char *[]){"PATH=/usr/local/bin:/usr/bin:/bin", c->home, "LANG=C.UTF-8", c->id,
			  c->attempt, c->kind},
	       6 * sizeof *c->envp);
	for (int k = 0; k < ENV_JSON_N; k++)
		if (env[k])
			c->envp[n++] = env[k];
	c->envp[n] = NULL;
	c->core = (struct rlimit){0, 0};
	getrlimit(RLIMIT_NOFILE, &c->nofile);
	c->maxfd = c->nofile.rlim_cur < 65536 ? (int)c->nofile.rlim_cur : 65536;
	if (c->nofile.rlim_cur > NOFILE_MAX)
		c->nofile.rlim_cur = NOFILE_MAX;
	sigemptyset(&c->nomask);
	c->parent = getpid();
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
	/* dies with the worker (its executor thread): a program left running by a worker that
	 * was killed would go on beside the run that the rescue starts elsewhere */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != c->parent)
		goto fail;
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
	int p[8] = {-1, -1, -1, -1,
		    -1, -1, -1, -1}; /* stdin, stdout, stderr, status: read, write */
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
	child_prepare(&c, r->ctx, r->env);
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
		snprintf(err, errsize, "cannot %s %s: %s",
			 report[0] ? "execute" : "set up a process for", c.path,
			 strerrordesc_np(report[1]));
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

/* What became of the attempt, from the wait status; *result gets the result on KIND_OK. */
static enum kind_result outcome(struct run *r, int status, json_object **result, char *err,
				size_t errsize)
{
	char what[64];
	const char *sig;

	const char *name, *bad = cmdout_protocol_error(r->co);
	double wait_s;
	bool run;

	if (r->cp_error[0] && !kind_should_stop(r->ctx)) {
		snprintf(err, errsize, "%s", r->cp_error);
		return KIND_FAIL;
	}
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
	} else if (bad) {
		snprintf(err, errsize, "%s", bad);
		return KIND_FAIL_HARD;
	} else if (cmdout_wait(r->co, &name, &wait_s, &run)) {
		kind_wait(r->ctx, name, wait_s, run);
		return KIND_WAIT;
	} else {
		*result = cmdout_result(r->co);
		return KIND_OK;
	}
	cmdout_fail_message(r->co, what, err, errsize);
	return KIND_FAIL;
}

enum kind_result kind_command_run(struct kind_ctx *ctx, json_object *payload, json_object **result,
				  char *err, size_t errsize)
{
	struct run r = {.ctx = ctx, .pid = -1, .pidfd = -1, .in = -1, .out = -1, .err = -1};
	const char *json =
		payload ? json_object_to_json_string_ext(
				  payload, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
			: "{}";
	enum kind_result kr = KIND_FAIL;

	r.inlen = strlen(json) + 1;
	r.input = xmalloc(r.inlen);
	memcpy(r.input, json, r.inlen - 1);
	r.input[r.inlen - 1] = '\n';
	if (!(r.co = cmdout_new(on_progress, on_output, &r))) {
		snprintf(err, errsize, "out of memory");
		goto out;
	}
	cmdout_on_checkpoint(r.co, on_checkpoint);
	if (!env_prepare(&r, err, errsize))
		goto out;
	if ((kr = spawn(&r, err, errsize)) != KIND_OK)
		goto out;
	kr = outcome(&r, supervise(&r), result, err, errsize);
out:
	for (int i = 0, fds[] = {r.pidfd, r.in, r.out, r.err}; i < 4; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	for (int k = 0; k < ENV_JSON_N; k++) {
		if (r.env_file[k][0])
			unlink(r.env_file[k]);
		free(r.env[k]);
	}
	cmdout_free(r.co);
	free(r.input);
	return kr;
}
