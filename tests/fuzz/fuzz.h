/*
 * fuzz.h: what every fuzz target in tests/fuzz shares — the entry point that libFuzzer (./dev
 * fuzz) or the plain replay driver (tests/fuzz/replay.c, make check) calls, the target's name,
 * and the way an oracle reports a finding: one line "fuzz_NAME: ..." on stderr, then abort(),
 * which tools/dev/fuzz.sh recognises and libFuzzer turns into a reproducer.
 *
 * A target defines FUZZ_TARGET(name) once and LLVMFuzzerTestOneInput(); it must not define
 * main() (the driver does) nor keep state between inputs that changes what an input does.
 */
#ifndef TASKQ_FUZZ_H
#define TASKQ_FUZZ_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Runs one input (size bytes at data, which the caller owns); returns 0, or -1 for an input
 * the target does not take (libFuzzer then keeps it out of the corpus). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The target's name ("submit"): its seed corpus is tests/fuzz/corpus/NAME. */
extern const char fuzz_target[];
#define FUZZ_TARGET(name) const char fuzz_target[] = #name

/* A finding: "fuzz_NAME: MESSAGE" on stderr, then abort(). */
__attribute__((noreturn, format(printf, 1, 2))) static inline void fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz_%s: ", fuzz_target);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/* An oracle: a finding, with the condition and its line, when cond does not hold. */
#define CHECK(cond) ((cond) ? (void)0 : fuzz_fail("check failed: %s (line %d)", #cond, __LINE__))

#endif
