/* kinds: the table of built-in task kinds. */
#include "kinds.h"

#include <string.h>

static const struct kind *const g_kinds[] = {&kind_sleep, &kind_noop, NULL};

const struct kind *const *kinds_all(void)
{
	return g_kinds;
}

const struct kind *kinds_find(const char *name)
{
	for (int i = 0; g_kinds[i]; i++)
		if (!strcmp(g_kinds[i]->name, name))
			return g_kinds[i];
	return NULL;
}
