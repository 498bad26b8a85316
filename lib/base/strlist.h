/*
 * strlist: a growable list of heap strings the list owns (a copy added, or a string handed
 * over), a lookup by equality, and a free. Nothing more: no sorting, no removal, no order
 * other than that of addition; callers that need more own it.
 */
#ifndef TASKQ_STRLIST_H
#define TASKQ_STRLIST_H

#include <stdbool.h>
#include <stddef.h>

struct strlist {
	char **v;
	size_t n;
};

/* Adds a heap copy of s; returns the copy (owned by the list). */
const char *strlist_add(struct strlist *l, const char *s);
/* Adds s itself, a heap string the list now owns and frees; returns s. */
const char *strlist_add_owned(struct strlist *l, char *s);
/* Whether some string of l equals s. */
bool strlist_has(const struct strlist *l, const char *s);
/* Frees every string and the array; l is left empty and reusable. */
void strlist_free(struct strlist *l);

#endif
