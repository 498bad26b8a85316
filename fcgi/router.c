/* router: (method, path) → handler, with 404 and 405 + Allow. */
#include "router.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Matches path against pattern segment by segment, capturing "*" segments. */
static bool match_path(const char *pattern, const char *path, struct route_match *m)
{
	const char *p = pattern, *s = path;

	m->ncaps = 0;
	while (*p && *s) {
		if (*p == '*') {
			size_t n = strcspn(s, "/");
			if (n == 0 || n >= ROUTER_MAX_SEG || m->ncaps >= ROUTER_MAX_CAPS)
				return false;
			memcpy(m->caps[m->ncaps], s, n);
			m->caps[m->ncaps++][n] = '\0';
			s += n;
			p++;
			continue;
		}
		if (*p != *s)
			return false;
		p++;
		s++;
	}
	return *p == '\0' && *s == '\0';
}

void router_match(const struct route *table, const char *method, const char *path,
		  struct route_match *m)
{
	struct route_match probe;
	bool path_known = false;

	memset(m, 0, sizeof *m);
	m->status = 404;
	for (const struct route *r = table; r->method; r++) {
		if (!match_path(r->pattern, path, &probe))
			continue;
		if (!strcmp(r->method, method)) {
			*m = probe;
			m->route = r;
			m->status = 0;
			return;
		}
		if (!strstr(m->allow, r->method)) {
			size_t used = strlen(m->allow);
			snprintf(m->allow + used, sizeof m->allow - used, "%s%s", used ? ", " : "",
				 r->method);
		}
		path_known = true;
	}
	if (path_known)
		m->status = 405;
}
