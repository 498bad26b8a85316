/* hex: hexadecimal digits, for the few places that read them (query strings, keys, UUIDs). */
#ifndef TASKQ_HEX_H
#define TASKQ_HEX_H

#include <stdbool.h>
#include <stddef.h>

/* 0-15 for a hexadecimal digit of either case, -1 for anything else. */
static inline int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The byte of the two digits at s, or -1. */
static inline int hex_byte(const char *s)
{
	int h = hex_digit(s[0]), l = h < 0 ? -1 : hex_digit(s[1]);

	return l < 0 ? -1 : h << 4 | l;
}

/* Decodes exactly 2n digits of s into out[n]; false when s is not that. */
static inline bool hex_decode(const char *s, unsigned char *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int b = hex_byte(s + 2 * i);
		if (b < 0)
			return false;
		out[i] = (unsigned char)b;
	}
	return s[2 * n] == '\0';
}

#endif
