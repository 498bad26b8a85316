/*
 * verbs: the one-shot commands on one task: submit (then maybe follow it), status, cancel and
 * retry, signal. A submit's options are checked by the HTTP API's own rules (taskbody.h); the queue's
 * rules live in sql/.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "taskbody.h"
#include "store/live.h"
#include "store/tasks.h"
#include "store/submit.h"
#include "store/chains.h"
#include "store/signals.h"
#include "model/signal.h"
#include "cred/token.h"
#include "model/taskjson.h"

int cmd_submit(struct db *db, const struct cli_opts *o, const char *kind, const char *payload_arg)
{
	struct task_new n;
	struct task t = {0};
	struct taskq_err err;
	json_object *body;
	char *payload = NULL;
	bool created;
	int rc;

	if (o->owner && !token_owner_valid(o->owner))
		return cli_data_error("an owner is 1-64 of A-Z a-z 0-9 _ . @ : -");
	/* the options as the body of POST /api/tasks, checked by the API's rules */
	if (!(body = taskbody_submit(o, kind, payload_arg, &rc)))
		return rc;
	if (taskjson_parse_submit(body, &n, &payload, &err)) {
		rc = taskbody_refused(&err);
		goto out;
	}
	if ((rc = cli_check_kind(db, n.kind)))
		goto out;
	if (o->owner)
		n.owner = o->owner;
	/* with --owner, as that owner: its own tasks only may be parents */
	if (n.after || n.wait_for || n.debounce_ms >= 0 || n.supersede
		    ? store_submit_after(db, &n, o->owner, &t, &created, &err)
		    : store_submit(db, &n, &t, &created, &err)) {
		rc = cli_fail(&err);
		goto out;
	}
	if (created)
		store_wake(db, &err); /* best effort: the workers' poll picks the task up anyway */
	else if (n.debounce_ms >= 0 && t.state == TASK_QUEUED)
		fprintf(stderr,
			"taskq: debounced: the queued task %s starts later, with this payload\n",
			t.id);
	else
		fprintf(stderr,
			"taskq: the live task %s holds this dedupe key: not submitted again\n",
			t.id);
	puts(t.id);
	fflush(stdout);
	rc = o->wait ? cmd_watch(db, t.id) : CLI_OK;
out:
	task_cleanup(&t);
	free(payload);
	json_object_put(body);
	return rc;
}

int cmd_status(struct db *db, const char *id)
{
	struct task t = {0};
	struct taskq_err err;
	int rc;
	json_object *o;

	if ((rc = cli_check_id(id)))
		return rc;
	if (store_get(db, id, &t, &err))
		return cli_fail(&err);
	o = taskjson_encode(&t);
	if (t.state == TASK_QUEUED && cli_queue_unserved(db, t.queue))
		taskjson_note_unserved(o, &t);
	cli_print_json(stdout, o);
	task_cleanup(&t);
	return CLI_OK;
}

int cmd_cancel(struct db *db, const char *id)
{
	struct task t = {0};
	struct taskq_err err;
	enum cancel_outcome oc;
	int rc;

	if ((rc = cli_check_id(id)))
		return rc;
	if (store_cancel(db, id, &t, &oc, &err))
		return cli_fail(&err);
	task_cleanup(&t);
	switch (oc) {
	case CANCEL_DONE:
		puts("cancelled");
		return CLI_OK;
	case CANCEL_REQUESTED:
		puts("cancel requested");
		return CLI_OK;
	default:
		puts("already finished");
		return CLI_WRONG_STATE;
	}
}

int cmd_retry(struct db *db, const char *id)
{
	struct task t = {0};
	struct taskq_err err;
	int rc;

	if ((rc = cli_check_id(id)))
		return rc;
	if (store_retry(db, id, &t, &err)) {
		task_cleanup(&t);
		return cli_fail(&err);
	}
	task_cleanup(&t);
	store_wake(db, &err);
	puts("queued");
	return CLI_OK;
}

int cmd_signal(struct db *db, const char *id, const char *name, const char *payload)
{
	struct task t = {0};
	struct taskq_err err;
	enum signal_outcome oc;
	json_object *v = NULL;
	int rc;

	if ((rc = cli_check_id(id)))
		return rc;
	if (!signal_name_valid(name))
		return cli_data_error("signal names are " SIGNAL_NAME_RULE);
	if (payload && taskjson_parse(payload, strlen(payload), &v, &err) != TASKQ_OK)
		return cli_data_error("the payload: %s", err.msg);
	json_object_put(v);
	if (payload && strlen(payload) > SIGNAL_PAYLOAD_MAX)
		return cli_data_error("a signal's payload is at most 65536 bytes");
	if (store_signal(db, id, name, payload, &t, &oc, &err))
		return cli_fail(&err);
	if (oc == SIGNAL_FINAL) {
		printf("task already %s\n", task_state_name(t.state));
		rc = CLI_WRONG_STATE;
	} else {
		puts(oc == SIGNAL_RESUMED ? "resumed" : "stored");
		if (oc == SIGNAL_RESUMED)
			store_wake(db, &err);
	}
	task_cleanup(&t);
	return rc;
}
