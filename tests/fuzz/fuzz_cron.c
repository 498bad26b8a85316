/*
 * fuzz_cron: lib/cron.c and lib/tz.c — cron_parse() against a reference parser, then
 * cron_next() on what parses, in zones of the system's tzdata (which lib/tz.c has Abseil
 * read: zone files are not fuzzed here).
 *
 * Input: byte 0 selects the zone (low 3 bits) and how `after` is read (bit 3: anywhere in
 * int64, else within 1900-2200); bytes 1-8 are `after`; the rest is the expression, cut
 * at a NUL byte (what follows is ignored).
 * The zones: 0 UTC (NULL), 1 Europe/Berlin, 2 Australia/Lord_Howe, 3 America/New_York,
 * 4 Pacific/Chatham, 5 Europe/Dublin (negative DST), 6 Africa/Casablanca (DST paused
 * each Ramadan), 7 America/Santiago.
 *
 * Oracles: cron_parse accepts exactly what the reference accepts, with the same sets and
 * flags; an error is one line of printable ASCII starting "cron: ". cron_next gives -1 or
 * an instant after `after` (and not past CRON_TIME_MAX) whose wall clock matches, or which
 * is a transition (a time in a gap); every instant between `after` and it gives it again;
 * in UTC it is what a second-by-second search (skipping days, hours and minutes that
 * cannot match) finds. A zone's offsets stay within 26 hours and a wall clock maps back
 * to an instant with the same wall clock.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "time/cron.h"
#include "time/tz.h"
#include "fuzz.h"

FUZZ_TARGET(cron);

/* ---- the reference parser ---------------------------------------------------------------- */

struct ref {
	bool set[6][64]; /* second, minute, hour, day of month, month, day of week (0-6) */
	bool dom_star, dow_star;
	int64_t every;
};

static const int lo_of[6] = {0, 0, 0, 1, 1, 0}, hi_of[6] = {59, 59, 23, 31, 12, 7};
static const char *const names_of[6][13] = {
	[4] = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"},
	[5] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"},
};

static bool all_digits(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* a decimal number, saturating at 10^9 */
static long number(const char *s, size_t n)
{
	long v = 0;
	for (size_t i = 0; i < n; i++)
		v = v >= 1000000000 ? v : v * 10 + (s[i] - '0');
	return v;
}

static bool value(int f, const char *s, size_t n, int *out)
{
	long v;

	if (all_digits(s, n)) {
		v = number(s, n);
		if (v < lo_of[f] || v > hi_of[f])
			return false;
		*out = (int)v;
		return true;
	}
	for (int i = 0; n == 3 && names_of[f][i]; i++) {
		if (!strncasecmp(s, names_of[f][i], 3)) {
			*out = lo_of[f] + i;
			return true;
		}
	}
	return false;
}

static bool item(int f, const char *s, size_t n, struct ref *r)
{
	size_t slashes = 0, dashes = 0, slash = n, dash = n;
	int a, b, step = 1;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '/') {
			slashes++;
			slash = i;
		}
	}
	if (slashes > 1)
		return false;
	if (slashes) {
		if (!all_digits(s + slash + 1, n - slash - 1))
			return false;
		long v = number(s + slash + 1, n - slash - 1);
		if (v < 1 || v > hi_of[f])
			return false;
		step = (int)v;
	}
	for (size_t i = 0; i < slash; i++) {
		if (s[i] == '-') {
			dashes++;
			dash = i;
		}
	}
	if (slash == 1 && s[0] == '*') {
		a = lo_of[f];
		b = hi_of[f];
	} else if (dashes == 1) {
		if (!value(f, s, dash, &a) || !value(f, s + dash + 1, slash - dash - 1, &b) ||
		    a > b)
			return false;
	} else if (dashes == 0) {
		if (!value(f, s, slash, &a))
			return false;
		b = slashes ? hi_of[f] : a;
	} else {
		return false;
	}
	for (int v = a; v <= b; v += step)
		r->set[f][f == 5 && v == 7 ? 0 : v] = true;
	return true;
}

static bool field(int f, const char *s, size_t n, struct ref *r)
{
	static const char ok[] = "0123456789abcdefghijklmnopqrstuvwxyz"
				 "ABCDEFGHIJKLMNOPQRSTUVWXYZ*,-/";
	size_t start = 0;

	for (size_t i = 0; i < n; i++)
		if (s[i] == '\0' || !strchr(ok, s[i]))
			return false;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != ',')
			continue;
		if (i == start || !item(f, s + start, i - start, r))
			return false;
		start = i + 1;
	}
	return true;
}

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static bool day_ok(const struct ref *r, int mday, int wday)
{
	bool dom = r->set[3][mday], dow = r->set[5][wday];
	return r->dom_star || r->dow_star ? dom && dow : dom || dow;
}

/* does some day of 2000-2028 match? (2000-01-01 was a Saturday) */
static bool fires(const struct ref *r)
{
	static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int wday = 6;

	for (int y = 2000; y <= 2028; y++)
		for (int m = 1; m <= 12; m++)
			for (int d = 1; d <= dim[m - 1] + (m == 2 && leap(y)); d++) {
				if (r->set[4][m] && day_ok(r, d, wday))
					return true;
				wday = (wday + 1) % 7;
			}
	return false;
}

static bool ref_fields(const char *s, struct ref *r)
{
	const char *tok[7];
	size_t len[7];
	int n = 0, first;

	memset(r, 0, sizeof *r);
	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		if (n == 7)
			return false;
		tok[n] = s;
		while (*s && *s != ' ' && *s != '\t')
			s++;
		len[n] = (size_t)(s - tok[n]);
		n++;
	}
	if (n != 5 && n != 6)
		return false;
	first = 6 - n;
	if (first)
		r->set[0][0] = true;
	for (int f = first; f < 6; f++)
		if (!field(f, tok[f - first], len[f - first], r))
			return false;
	r->dom_star = tok[3 - first][0] == '*';
	r->dow_star = tok[5 - first][0] == '*';
	return fires(r);
}

static bool ref_every(const char *s, size_t n, struct ref *r)
{
	static const char units[] = "hms";
	static const long mult[] = {3600, 60, 1};
	long total = 0;
	size_t i = 0;
	int u = 0;

	if (n == 0)
		return false;
	while (i < n) {
		size_t d = i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == d || i == n)
			return false;
		while (u < 3 && units[u] != s[i])
			u++;
		if (u == 3)
			return false;
		total += number(s + d, i - d) * mult[u++];
		if (total > CRON_EVERY_MAX)
			return false;
		i++;
	}
	r->every = total;
	return total >= 1;
}

static bool ref_parse(const char *s, struct ref *r)
{
	static const char *const alias[][2] = {
		{"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
		{"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
		{"@hourly", "0 * * * *"},
	};
	size_t n, an;
	const char *arg;

	memset(r, 0, sizeof *r);
	if (strlen(s) > CRON_EXPR_MAX)
		return false;
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s != '@')
		return ref_fields(s, r);
	n = strcspn(s, " \t");
	arg = s + n;
	while (*arg == ' ' || *arg == '\t')
		arg++;
	an = strlen(arg);
	while (an && (arg[an - 1] == ' ' || arg[an - 1] == '\t'))
		an--;
	if (n == 6 && !strncasecmp(s, "@every", 6))
		return !memchr(arg, ' ', an) && !memchr(arg, '\t', an) && ref_every(arg, an, r);
	for (size_t i = 0; i < sizeof alias / sizeof alias[0]; i++)
		if (strlen(alias[i][0]) == n && !strncasecmp(s, alias[i][0], n))
			return an == 0 && ref_fields(alias[i][1], r);
	return false;
}

static void check_same(const struct cron *c, const struct ref *r)
{
	const uint64_t masks[6] = {c->sec, c->min, c->hour, c->dom, c->month, c->dow};

	CHECK(c->every == r->every);
	if (c->every)
		return;
	for (int f = 0; f < 6; f++)
		for (int v = 0; v < 64; v++)
			CHECK(((masks[f] >> v) & 1) == (f == 5 && v == 7 ? 0 : r->set[f][v]));
	CHECK(!!(c->flags & CRON_DOM_STAR) == r->dom_star);
	CHECK(!!(c->flags & CRON_DOW_STAR) == r->dow_star);
}

/* ---- next ----------------------------------------------------------------------------- */

static bool wall_ok(const struct ref *r, const struct cron_time *w)
{
	return r->set[0][w->sec] && r->set[1][w->min] && r->set[2][w->hour] && r->set[4][w->mon] &&
	       day_ok(r, w->mday, w->wday);
}

/* in UTC: the first matching second after `after`, skipping what cannot match; -1 if none
 * within 400 days */
static int64_t linear_next(const struct ref *r, int64_t after)
{
	struct cron_time w;

	for (int64_t t = after + 1; t < after + 400 * 86400 && t <= CRON_TIME_MAX;) {
		tz_gmtime(t, &w);
		if (!r->set[4][w.mon] || !day_ok(r, w.mday, w.wday))
			t += 86400 - (w.hour * 3600 + w.min * 60 + w.sec);
		else if (!r->set[2][w.hour])
			t += 3600 - (w.min * 60 + w.sec);
		else if (!r->set[1][w.min])
			t += 60 - w.sec;
		else if (!r->set[0][w.sec])
			t++;
		else
			return t;
	}
	return -1;
}

static void check_next(const struct cron *c, const struct ref *r, const struct tz *z, int64_t after,
		       bool utc)
{
	int64_t got = cron_next(c, z, after), mid, want;
	struct cron_time w;

	if (after < CRON_TIME_MIN || after >= CRON_TIME_MAX) {
		CHECK(got == -1);
		return;
	}
	if (got == -1) {
		if (c->every)
			CHECK((after / c->every + 1) * c->every > CRON_TIME_MAX);
		else if (utc)
			CHECK(linear_next(r, after) == -1);
		return;
	}
	CHECK(got > after && got <= CRON_TIME_MAX);
	if (c->every) {
		CHECK(got % c->every == 0 && got - after <= c->every);
		return;
	}
	tz_to_local(z, got, &w, NULL);
	CHECK(wall_ok(r, &w) || tz_offset_at(z, got - 1) != tz_offset_at(z, got));
	if (utc) {
		want = linear_next(r, after);
		CHECK(want == got || (want == -1 && got >= after + 400 * 86400));
	}
	/* nothing fires in between */
	mid = after + (got - after) / 2;
	CHECK(cron_next(c, z, mid) == got);
	CHECK(cron_next(c, z, got - 1) == got);
}

/* ---- zones ------------------------------------------------------------------------------ */

/* the offset at t is sane, and its wall clock maps back to t or (a fold) to an earlier
 * instant with the same wall clock */
static void check_zone(const struct tz *z, int64_t t)
{
	struct cron_time w, w2;
	int off;
	int64_t back;

	if (t < CRON_TIME_MIN || t > CRON_TIME_MAX)
		return;
	tz_to_local(z, t, &w, &off);
	CHECK(off > -26 * 3600 && off < 26 * 3600);
	back = tz_from_local(z, &w);
	tz_to_local(z, back, &w2, NULL);
	CHECK(back <= t);
	CHECK(w.year == w2.year && w.mon == w2.mon && w.mday == w2.mday && w.hour == w2.hour &&
	      w.min == w2.min && w.sec == w2.sec);
}

static const struct tz *system_zone(int i)
{
	static const char *const names[8] = {NULL,
					     "Europe/Berlin",
					     "Australia/Lord_Howe",
					     "America/New_York",
					     "Pacific/Chatham",
					     "Europe/Dublin",
					     "Africa/Casablanca",
					     "America/Santiago"};
	static struct tz *zones[8];
	static bool loaded;
	char err[256];

	if (!loaded) {
		for (int k = 0; k < 8; k++)
			if (names[k])
				zones[k] = tz_load(names[k], err, sizeof err);
		loaded = true;
	}
	return zones[i];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char expr[CRON_EXPR_MAX + 64], err[256];
	const struct tz *z;
	struct cron c, c2;
	struct ref r;
	uint64_t raw = 0;
	int64_t after;
	size_t n;
	int zi, rc;
	bool ok;

	if (size < 9 || size > 16384)
		return -1;
	zi = data[0] & 7;
	for (int i = 8; i >= 1; i--)
		raw = raw << 8 | data[i];
	if (data[0] & 8)
		after = (int64_t)raw;
	else /* 1900-01-01 .. 2200-01-01 */
		after = -2208988800LL + (int64_t)(raw % 9467280000ULL);
	data += 9;
	size -= 9;
	n = strnlen((const char *)data, size);
	if (n >= sizeof expr)
		n = sizeof expr - 1; /* still over CRON_EXPR_MAX */
	memcpy(expr, data, n);
	expr[n] = '\0';

	/* parsing */
	memset(&c, 0xa5, sizeof c);
	rc = cron_parse(expr, &c, err, sizeof err);
	ok = ref_parse(expr, &r);
	if (rc != 0) {
		CHECK(rc == -1 && !ok);
		CHECK(!strncmp(err, "cron: ", 6) && strlen(err) < sizeof err);
		for (const char *p = err; *p; p++)
			CHECK(*p >= 0x20 && *p < 0x7f);
	} else {
		CHECK(ok);
		check_same(&c, &r);
		CHECK(cron_parse(expr, &c2, err, sizeof err) == 0 && !memcmp(&c, &c2, sizeof c));
	}

	/* the zone, and the next fire instant */
	z = system_zone(zi);
	check_zone(z, after);
	if (rc == 0)
		check_next(&c, &r, z, after, z == NULL);
	return 0;
}
