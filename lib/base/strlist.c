/*
 * strlist: a growable list of owned heap strings (see strlist.h). Allocation failures abort
 * through xalloc; this file does no I/O and knows nothing of what the strings mean.
 */
#include "base/strlist.h"

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

const char *strlist_add_owned(struct strlist *l, char *s)
{
	l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
	l->v[l->n++] = s;
	return s;
}

const char *strlist_add(struct strlist *l, const char *s)
{
	return strlist_add_owned(l, xstrdup(s));
}

bool strlist_has(const struct strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], s))
			return true;
	return false;
}

void strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
