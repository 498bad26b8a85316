/* params: the query parameters of each route (see params.h). Declarations only: the rule is
 * fcgi/query.c's, the values are the handlers'. */
#include "params.h"

#include <string.h>

#include "cred/token.h"
#include "model/task.h"
#include "filters.h"

static bool state_valid(const char *s)
{
	return task_state_parse(s) >= 0;
}

/* a token's own check is auth's (fcgi/auth.c): here any value */
static bool any_text(const char *s)
{
	(void)s;
	return true;
}

#define NAME_RULE "1-64 characters of letters, digits, '_', '.', ':' or '-'"

const struct query_param params_task_list[] = {
	QUERY_TEXT("state", state_valid,
		   "one of queued, running, succeeded, failed, cancelled, held, waiting"),
	QUERY_TEXT("queue", task_name_valid, NAME_RULE),
	QUERY_TEXT("kind", task_name_valid, NAME_RULE),
	QUERY_TEXT("before", task_id_valid, "a task id (a UUID)"),
	QUERY_TEXT("owner", token_owner_valid,
		   "1-64 characters of letters, digits, '_', '.', '@', ':' or '-'"),
	QUERY_INT("limit", 1, PARAM_LIST_MAX),
	QUERY_TEXT("id_prefix", search_id_prefix_valid, "1-32 hex digits of a task id"),
	QUERY_TEXT("created_after", search_time_valid,
		   "an RFC 3339 time such as 2026-12-08T01:00:00Z"),
	QUERY_TEXT("created_before", search_time_valid,
		   "an RFC 3339 time such as 2026-12-08T01:00:00Z"),
	QUERY_TEXT("payload", search_payload_valid,
		   "a JSON object (URL-encoded) the payloads contain, at most 256 bytes"),
	QUERY_TEXT("worker", search_worker_valid, "a worker id (1-128 printable characters)"),
	QUERY_TEXT("parent", task_id_valid, "a task id (a UUID)"),
	QUERY_TEXT("waiting", search_waiting_valid, "one of delayed, blocked, retrying"),
	QUERY_END,
};

static bool range_valid(const char *s)
{
	return !strcmp(s, "1h") || !strcmp(s, "1d");
}

const struct query_param params_series[] = {
	QUERY_TEXT("range", range_valid, "1h or 1d"),
	QUERY_END,
};

const struct query_param params_task_get[] = {
	QUERY_INT("wait", 0, PARAM_WAIT_MAX_S),
	QUERY_TEXT("view_token", any_text, "a token"),
	QUERY_END,
};

const struct query_param params_view[] = {
	QUERY_TEXT("view_token", any_text, "a token"),
	QUERY_END,
};

const struct query_param params_task_output[] = {
	QUERY_INT("after", 0, PARAM_SEQ_MAX),
	QUERY_INT("limit", 1, PARAM_OUTPUT_MAX),
	QUERY_TEXT("view_token", any_text, "a token"),
	QUERY_END,
};

const struct query_param params_task_stream[] = {
	QUERY_TEXT("view_token", any_text, "a token"),
	QUERY_TEXT("last_event_id", any_text, "a message id"),
	QUERY_END,
};

const struct query_param params_feed[] = {
	QUERY_TEXT("last_event_id", any_text, "a message id"),
	QUERY_END,
};
