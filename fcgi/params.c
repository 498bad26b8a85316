/* params: the query parameters of each route (see params.h). Declarations only: the rule is
 * fcgi/query.c's, the values are the handlers'. */
#include "params.h"

#include "cred/token.h"
#include "model/task.h"

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
		   "one of queued, running, succeeded, failed, cancelled, waiting"),
	QUERY_TEXT("queue", task_name_valid, NAME_RULE),
	QUERY_TEXT("kind", task_name_valid, NAME_RULE),
	QUERY_TEXT("before", task_id_valid, "a task id (a UUID)"),
	QUERY_TEXT("owner", token_owner_valid,
		   "1-64 characters of letters, digits, '_', '.', '@', ':' or '-'"),
	QUERY_INT("limit", 1, PARAM_LIST_MAX),
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

const struct query_param params_task_stream[] = {
	QUERY_TEXT("view_token", any_text, "a token"),
	QUERY_TEXT("last_event_id", any_text, "a message id"),
	QUERY_END,
};

const struct query_param params_feed[] = {
	QUERY_TEXT("last_event_id", any_text, "a message id"),
	QUERY_END,
};
