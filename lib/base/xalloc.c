/* xalloc: allocation wrappers that abort on exhaustion, and the growing array they serve. */
#include "base/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void oom(size_t n)
{
	char line[96];
	int len = snprintf(line, sizeof line, "level=fatal msg=\"out of memory\" bytes=%zu\n", n);
	if (len > 0 && write(STDERR_FILENO, line, (size_t)len) < 0)
		abort();
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom(n);
	return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
	if (!p)
		oom(nmemb * size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		oom(n);
	return q;
}

char *xstrdup(const char *s)
{
	return s ? xstrndup(s, strlen(s)) : NULL;
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

int xpush(void *arr, int *n, int *cap, size_t size, int first)
{
	char *v;

	memcpy(&v, arr, sizeof v);
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : first;
		v = xrealloc(v, (size_t)*cap * size);
		memcpy(arr, &v, sizeof v);
	}
	memset(v + (size_t)*n * size, 0, size);
	return (*n)++;
}
