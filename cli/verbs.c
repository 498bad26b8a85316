/*
 * verbs: the one-shot commands on one task: submit (then maybe follow it), status, cancel and
 * retry. Input is checked here as the HTTP API checks it; the queue's rules live in sql/.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "store/live.h"
#include "store/tasks.h"
#include "store/submit.h"
#include "store/chains.h"
#include "cred/token.h"
#include "model/taskjson.h"

/* --after ID[,ID...] (and --after-policy) into n: CLI_OK, or the exit code after saying what
 * is wrong. *after receives the array n->after borrows; the caller puts it. */
static int parse_after(const struct cli_opts *o, struct task_new *n, json_object **after)
{
	const char *p = o->after;

	*after = NULL;
	if (!p)
		return o->after_policy ? cli_usage_error("--after-policy needs --after") : CLI_OK;
	if (o->after_policy && strcmp(o->after_policy, "success") &&
	    strcmp(o->after_policy, "always"))
		return cli_usage_error("--after-policy is success or always");
	*after = json_object_new_array();
	for (;;) {
		size_t len = strcspn(p, ",");
		char id[TASK_ID_LEN + 1];

		if (len != TASK_ID_LEN)
			return cli_usage_error("--after takes task ids separated by commas");
		memcpy(id, p, len);
		id[len] = '\0';
		if (!task_id_valid(id))
			return cli_usage_error("--after takes task ids separated by commas");
		if (json_object_array_length(*after) >= TASK_AFTER_MAX)
			return cli_usage_error("--after names at most %d tasks", TASK_AFTER_MAX);
		json_object_array_add(*after, json_object_new_string(id));
		if (!p[len])
			break;
		p += len + 1;
	}
	n->after = *after;
	n->after_always = o->after_policy && !strcmp(o->after_policy, "always");
	return CLI_OK;
}

int cmd_submit(struct db *db, const struct cli_opts *o, const char *kind, const char *payload_arg)
{
	struct task_new n;
	struct task t = {0};
	struct taskq_err err;
	json_object *payload = NULL, *after = NULL;
	bool created;
	int rc;

	task_new_init(&n);
	n.kind = kind;
	n.queue = o->queue ? o->queue : "default";
	if (o->owner && !token_owner_valid(o->owner))
		return cli_usage_error("an owner is 1-64 of A-Z a-z 0-9 _ . @ : -");
	if (o->owner)
		n.owner = o->owner;
	n.priority = (int)o->priority;
	n.delay_s = (double)o->delay;
	n.max_attempts = (int)o->max_attempts;
	if (!task_name_valid(kind))
		return cli_usage_error("bad kind name '%s'", kind);
	if (!task_name_valid(n.queue))
		return cli_usage_error("bad queue name '%s'", n.queue);
	if (payload_arg) {
		if (taskjson_parse(payload_arg, strlen(payload_arg), &payload, &err))
			return cli_fail(&err);
		if (!json_object_is_type(payload, json_type_object)) {
			json_object_put(payload);
			return cli_usage_error("the payload must be a JSON object");
		}
		n.payload = json_object_to_json_string_ext(payload, JSON_C_TO_STRING_PLAIN);
	}
	if ((rc = parse_after(o, &n, &after)) || (rc = cli_check_kind(db, kind)))
		goto out;
	/* with --owner, as that owner: its own tasks only may be parents */
	if (n.after ? store_submit_after(db, &n, o->owner, &t, &created, &err)
		    : store_submit(db, &n, &t, &created, &err)) {
		rc = cli_fail(&err);
		goto out;
	}
	store_wake(db, &err); /* best effort: the workers' poll picks the task up anyway */
	puts(t.id);
	fflush(stdout);
	rc = o->wait ? cmd_watch(db, t.id) : CLI_OK;
out:
	task_cleanup(&t);
	json_object_put(payload);
	json_object_put(after);
	return rc;
}

int cmd_status(struct db *db, const char *id)
{
	struct task t = {0};
	struct taskq_err err;
	json_object *o;

	if (!cli_need_id(id))
		return CLI_USAGE;
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

	if (!cli_need_id(id))
		return CLI_USAGE;
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
	enum taskq_rc rc;

	if (!cli_need_id(id))
		return CLI_USAGE;
	rc = store_retry(db, id, &t, &err);
	task_cleanup(&t);
	if (rc)
		return cli_fail(&err);
	store_wake(db, &err);
	puts("queued");
	return CLI_OK;
}
