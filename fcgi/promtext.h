/*
 * promtext: a writer of the Prometheus text exposition format, version 0.0.4. Pure code (a
 * growing buffer; no FastCGI, no database), so it is unit-tested directly.
 *
 * It keeps the format's rules so that callers cannot break them: every family starts with
 * its # HELP and # TYPE lines and appears once (a second pt_family of a name is refused and
 * its samples dropped); samples go to the family opened last; metric and label names are
 * checked; label values are escaped (\\ \" \n) and invalid UTF-8 becomes U+FFFD; HELP text
 * is escaped (\\ \n); values are written exactly (integers as integers, other numbers in
 * their shortest form that reads back the same, NaN, +Inf, -Inf). Histograms are written
 * from per-bucket counts, cumulatively, with +Inf equal to _count by construction.
 */
#ifndef TASKQ_PROMTEXT_H
#define TASKQ_PROMTEXT_H

#include <stdbool.h>
#include <stddef.h>

#define PT_MAX_FAMILIES 64

struct ptext {
	char *buf;
	size_t len, cap;
	const char *family; /* the family samples go to; NULL: none open (samples are dropped) */
	char *seen[PT_MAX_FAMILIES];
	int nseen;
	int errors; /* refused names and families (a bug in the caller; tests check it is 0) */
};

void pt_init(struct ptext *t);
void pt_free(struct ptext *t);

/* Opens a family: type is counter, gauge, histogram, summary or untyped. false (and
 * t->errors++) for a bad name or type or a family already written. */
bool pt_family(struct ptext *t, const char *name, const char *type, const char *help);

/* Label sets are arrays of name, value pairs ending in NULL: {"queue", q, "state", s, NULL}
 * (NULL or {NULL} for none). suffix is appended to the family name ("" or "_sum" …). */
void pt_sample(struct ptext *t, const char *suffix, const char *const *labels, double v);
void pt_sample_u64(struct ptext *t, const char *suffix, const char *const *labels,
		   unsigned long long v);

/* A histogram's samples: _bucket{…,le} for each of the nb bounds (ascending) and +Inf,
 * cumulative from per-bucket counts (nb + 1 of them, the last above every bound), _sum and
 * _count (= the total of counts). */
void pt_histogram(struct ptext *t, const char *const *labels, const double *le, int nb,
		  const unsigned long long *counts, double sum);

/* Appends text another writer produced (families disjoint from this one's). */
void pt_append(struct ptext *t, const char *text, size_t len);

/* Helpers, exposed for the unit tests. */
bool pt_valid_metric_name(const char *s);
bool pt_valid_label_name(const char *s);
/* Formats v as the format wants it into out (at least 32 bytes). */
void pt_format_value(char *out, size_t size, double v);

#endif
