/*
 * xalloc: allocation that never returns NULL. Out of memory is not a condition taskq
 * recovers from; these wrappers log one line and abort (tmux's xmalloc).
 */
#ifndef TASKQ_XALLOC_H
#define TASKQ_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
/* Returns a heap copy of s (NULL for NULL); the caller frees it. */
char *xstrdup(const char *s);
/* Returns a heap copy of the first n bytes of s plus a NUL; the caller frees it. */
char *xstrndup(const char *s, size_t n);
/* Appends one zeroed element to a growing array: arr is the address of the caller's typed
 * pointer (a struct x **, size being sizeof **arr) holding *n elements in room for *cap; the
 * room doubles when full (first elements the first time). Returns the new element's index;
 * *n counts it. */
int xpush(void *arr, int *n, int *cap, size_t size, int first);

#endif
