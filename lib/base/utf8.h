/*
 * utf8: the one check of a UTF-8 character as PostgreSQL stores text (no overlong forms, no
 * surrogates, nothing past U+10FFFF), for the code that cleans bytes before they become JSON
 * or a text column. Pure code over bytes: no allocation, no repair policy (the callers own it).
 */
#ifndef TASKQ_UTF8_H
#define TASKQ_UTF8_H

#include <stddef.h>

/* Length (1 to 4) of the valid UTF-8 character at s (n > 0 bytes left), or 0 when the bytes
 * there are not one (or it is cut short by n). */
size_t utf8_char_len(const unsigned char *s, size_t n);

#endif
