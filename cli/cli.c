/* cli: the exit-code mapping and the output helpers the commands share (see cli.h). */
#include "cli.h"

#include <stdarg.h>
#include <string.h>

#include "store/metrics.h"
#include "store/tasks.h"
#include "model/task.h"
#include "model/taskjson.h"

int cli_fail(const struct taskq_err *err)
{
	fprintf(stderr, "taskq: %s\n", err->msg);
	switch (err->rc) {
	case TASKQ_NOTFOUND:
		return CLI_NOTFOUND;
	case TASKQ_CONFLICT:
		return CLI_WRONG_STATE;
	case TASKQ_INVAL:
	case TASKQ_BAD_JSON:
	case TASKQ_UNKNOWN_KIND:
	case TASKQ_BAD_ID:
	case TASKQ_TOO_BIG:
		return CLI_DATAERR;
	case TASKQ_DB_DOWN:
	case TASKQ_OVER_CAP:
		return CLI_TEMPFAIL;
	default:
		return CLI_ERROR;
	}
}

int cli_error(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("taskq: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

int cli_check_id(const char *id)
{
	char shown[41];

	if (!id)
		return cli_usage_error("a task id (UUID) is required");
	if (!task_id_valid(id))
		return cli_data_error("'%s' is not a task id (a UUID)",
				      err_snippet(shown, sizeof shown, id, 40));
	return CLI_OK;
}

void cli_print_json(FILE *out, json_object *o)
{
	fprintf(out, "%s\n",
		json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							  JSON_C_TO_STRING_SPACED |
							  JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

void cli_print_json_text(FILE *out, const char *text)
{
	json_object *o = NULL;

	if (!text) {
		fputs("null\n", out);
		return;
	}
	/* what the parser refuses (a bare null, a result nested deeper than its limit) is still
	 * worth showing, as stored */
	if (taskjson_parse(text, strlen(text), &o, NULL) != TASKQ_OK) {
		fprintf(out, "%s\n", text);
		return;
	}
	cli_print_json(out, o);
}

size_t cli_put_text(FILE *out, const char *s, size_t max, bool multiline)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t chars = 0;

	for (; *p; p++) {
		unsigned char c = *p;

		if ((c & 0xC0) != 0x80) { /* not a continuation byte: a new character */
			if (chars == max)
				break;
			chars++;
		}
		if (c < 0x20 || c == 0x7F) {
			if (!multiline || (c != '\n' && c != '\t'))
				c = ' ';
		} else if (c == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F) {
			/* a C1 control (U+0080..U+009F): some terminals obey those too */
			p++;
			c = ' ';
		}
		fputc(c, out);
	}
	return chars;
}

int cli_check_owner(struct db *db, const char *owner, const char *id)
{
	struct task t = {0};
	struct taskq_err err;
	bool mine;
	int rc;

	if ((rc = cli_check_id(id)))
		return rc;
	if (store_get(db, id, &t, &err))
		return cli_fail(&err);
	mine = t.owner && !strcmp(t.owner, owner);
	task_cleanup(&t);
	if (!mine) {
		fprintf(stderr, "taskq: %s\n", STORE_NO_TASK); /* as for an unknown id */
		return CLI_NOTFOUND;
	}
	return CLI_OK;
}

bool cli_queue_unserved(struct db *db, const char *queue)
{
	struct taskq_err err;
	struct served_queue *s;
	bool found = false;
	int n;

	if (store_served_queues(db, &s, &n, &err))
		return false;
	for (int i = 0; i < n && !found; i++)
		found = !strcmp(s[i].queue, queue);
	store_served_free(s, n);
	return !found;
}

int cli_check_kind(struct db *db, const char *kind)
{
	struct taskq_err err;
	char **kinds;
	int nk, known = 0;

	if (store_kinds(db, &kinds, &nk, &err))
		return cli_fail(&err);
	for (int i = 0; i < nk; i++) {
		known |= !strcmp(kinds[i], kind);
		free(kinds[i]);
	}
	free(kinds);
	return known ? CLI_OK : cli_data_error("unknown task kind '%.64s'", kind);
}
