/*
 * query: walking an application/x-www-form-urlencoded query string. Pure code, unit-tested.
 */
#ifndef TASKQ_QUERY_H
#define TASKQ_QUERY_H

#define QUERY_MAX_VALUE 256

/*
 * Calls fn(key, value, ctx) for each key=value pair of query (NULL or "" is empty), with
 * key and value percent-decoded ('+' is a space). A non-zero return from fn stops the walk
 * and is returned. A key or value longer than QUERY_MAX_VALUE bytes, a bad escape, or one
 * that decodes to a NUL byte returns -1 before fn sees it.
 */
int query_each(const char *query, int (*fn)(const char *key, const char *val, void *ctx),
	       void *ctx);

#endif
