/*
 * query: an application/x-www-form-urlencoded query string: walking its pairs, and the one
 * rule every route's parameters follow (query_check; the routes declare theirs in
 * fcgi/params.c). Pure code, unit-tested.
 */
#ifndef TASKQ_QUERY_H
#define TASKQ_QUERY_H

#include <stdbool.h>
#include <stddef.h>

#define QUERY_MAX_VALUE 256

/*
 * Calls fn(key, value, ctx) for each key=value pair of query (NULL or "" is empty), with
 * key and value percent-decoded ('+' is a space). A non-zero return from fn stops the walk
 * and is returned. A key or value longer than QUERY_MAX_VALUE bytes, a bad escape, or one
 * that decodes to a NUL byte returns -1 before fn sees it.
 */
int query_each(const char *query, int (*fn)(const char *key, const char *val, void *ctx),
	       void *ctx);

/* One query parameter a route takes: an integer in min..max (valid == NULL), or a text that
 * valid accepts (what: what such a text is, for the error: "a task state: queued, …"). */
struct query_param {
	const char *name;
	bool (*valid)(const char *value);
	long min, max;
	const char *what;
};
#define QUERY_INT(name, min, max)          \
	{                                  \
		name, NULL, min, max, NULL \
	}
#define QUERY_TEXT(name, valid, what)   \
	{                               \
		name, valid, 0, 0, what \
	}
#define QUERY_END                      \
	{                              \
		NULL, NULL, 0, 0, NULL \
	}

/*
 * The rule of every route: each parameter of query is one that params (ending in QUERY_END;
 * NULL: the route takes none) declares, named once, with a value in its range or that its
 * check accepts. 0 when it holds; else -1 and msg (size bytes) says why, naming the parameter
 * and what it must be ("wait must be an integer 0..30", "unknown query parameter 'x'; this
 * route takes wait, view_token").
 */
int query_check(const char *query, const struct query_param *params, char *msg, size_t size);

/* The value of parameter name in a query that passed query_check, copied into out
 * (QUERY_MAX_VALUE + 1 bytes); false, with out "", when it is absent. */
bool query_get(const char *query, const char *name, char *out);

/* An integer parameter's value in a query that passed query_check, or dflt when absent. */
long query_long(const char *query, const char *name, long dflt);

#endif
