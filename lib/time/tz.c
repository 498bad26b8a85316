/*
 * tz: see tz.h. Zones from TZif files (RFC 8536) and POSIX TZ strings; the offset in
 * effect at an instant, and the mapping between instants and wall-clock times. The civil
 * calendar arithmetic is Howard Hinnant's days_from_civil / civil_from_days.
 */
#include "time/tz.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/xalloc.h"
#include "time/wallclock.h"

/* instants beyond this (about 2.2 million years) are clamped: every sum stays in range */
#define TZ_CLAMP ((int64_t)1 << 46)
/* a UTC offset beyond +-26 hours is not one */
#define TZ_OFF_LIMIT (26 * 3600)

/* a POSIX TZ rule date: Jn (kind 'J', a = n), n ('N', a = n) or Mm.w.d ('M', a.b.c),
 * and the local time of day of the change (seconds, -167h..167h) */
struct tz_when {
	char kind;
	int a, b, c;
	int32_t secs;
};

/* a POSIX TZ string: offsets east of Greenwich (the string has them west) */
struct tz_rule {
	int32_t std_off, dst_off;
	bool has_dst;
	struct tz_when start, end;
};

struct tz {
	char name[TZ_NAME_MAX + 1];
	size_t ntrans;
	int64_t *trans; /* transition instants, strictly increasing */
	int32_t *trans_off; /* the offset from trans[i] on */
	int32_t first_off; /* before the first transition: time type 0 */
	bool has_rule; /* the footer, for instants after the last transition */
	struct tz_rule rule;
};

/* ---- civil calendar ------------------------------------------------------------------ */

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int64_t tz_days_from_civil(int64_t year, int mon, int mday)
{
	int64_t y, era, yoe, doy, doe, m;

	y = year + floor_div((int64_t)mon - 1, 12);
	m = (int64_t)mon - 1 - floor_div((int64_t)mon - 1, 12) * 12 + 1;
	y -= m <= 2;
	era = floor_div(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468 + ((int64_t)mday - 1);
}

void tz_civil_from_days(int64_t days, int *year, int *mon, int *mday)
{
	int64_t z = days + 719468, era, doe, yoe, y, doy, mp, m;

	era = floor_div(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	m = mp < 10 ? mp + 3 : mp - 9;
	*mday = (int)(doy - (153 * mp + 2) / 5 + 1);
	*mon = (int)m;
	*year = (int)(y + (m <= 2));
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int tz_days_in_month(int year, int mon)
{
	static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (mon < 1 || mon > 12)
		return 0;
	return dim[mon - 1] + (mon == 2 && is_leap(year));
}

int tz_weekday(int64_t days)
{
	return (int)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday */
}

int64_t tz_timegm(const struct cron_time *t)
{
	return tz_days_from_civil(t->year, t->mon, t->mday) * 86400 + (int64_t)t->hour * 3600 +
	       (int64_t)t->min * 60 + t->sec;
}

void tz_gmtime(int64_t secs, struct cron_time *t)
{
	int64_t days = floor_div(secs, 86400), rem = secs - days * 86400;

	tz_civil_from_days(days, &t->year, &t->mon, &t->mday);
	t->hour = (int)(rem / 3600);
	t->min = (int)(rem / 60 % 60);
	t->sec = (int)(rem % 60);
	t->wday = tz_weekday(days);
}

/* ---- the POSIX TZ rule in effect ------------------------------------------------------ */

/* the local day (days since the epoch) a rule date falls on in year y */
static int64_t rule_day(const struct tz_when *w, int64_t y)
{
	int64_t jan1 = tz_days_from_civil(y, 1, 1), first;
	int d, dim;

	switch (w->kind) {
	case 'J': /* 1-365, February 29 never counted */
		return jan1 + w->a - 1 + (is_leap(y) && w->a >= 60);
	case 'N': /* 0-365, February 29 counted */
		return jan1 + w->a;
	default: /* 'M': month a, week b (5: the last), weekday c */
		first = tz_days_from_civil(y, w->a, 1);
		d = 1 + (w->c - tz_weekday(first) + 7) % 7 + (w->b - 1) * 7;
		dim = tz_days_in_month((int)y, w->a);
		while (d > dim)
			d -= 7;
		return first + d - 1;
	}
}

/* the UTC instant DST starts (start) or ends in year y */
static int64_t rule_trans(const struct tz_rule *r, int64_t y, bool start)
{
	const struct tz_when *w = start ? &r->start : &r->end;

	return rule_day(w, y) * 86400 + w->secs - (start ? r->std_off : r->dst_off);
}

static int rule_offset(const struct tz_rule *r, int64_t utc)
{
	int64_t y, t, best = INT64_MIN;
	int year, mon, mday, off = r->std_off;

	if (!r->has_dst)
		return r->std_off;
	tz_civil_from_days(floor_div(utc + r->std_off, 86400), &year, &mon, &mday);
	/* the latest of the six transitions of the years around it, DST starts winning ties
	 * (a zone on DST all year ends it at the instant it starts it again) */
	for (y = (int64_t)year - 1; y <= (int64_t)year + 1; y++) {
		t = rule_trans(r, y, false);
		if (t <= utc && t > best) {
			best = t;
			off = r->std_off;
		}
		t = rule_trans(r, y, true);
		if (t <= utc && t >= best) {
			best = t;
			off = r->dst_off;
		}
	}
	return off;
}

/* ---- POSIX TZ strings ----------------------------------------------------------------- */

struct pz {
	const char *p, *end;
};

static bool pz_at(const struct pz *s, char c)
{
	return s->p < s->end && *s->p == c;
}

static bool pz_digit(const struct pz *s)
{
	return s->p < s->end && *s->p >= '0' && *s->p <= '9';
}

/* ASCII only, whatever the locale */
static bool alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* a decimal number lo..hi of at most three digits */
static bool pz_num(struct pz *s, int lo, int hi, int *out)
{
	int v = 0, n = 0;

	while (pz_digit(s) && n < 3) {
		v = v * 10 + (*s->p++ - '0');
		n++;
	}
	if (n == 0 || pz_digit(s) || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* a zone abbreviation: three or more letters, or <...> of letters, digits, '+' and '-' */
static bool pz_name(struct pz *s)
{
	const char *q = s->p, *start;

	if (pz_at(s, '<')) {
		start = ++q;
		while (q < s->end &&
		       (alpha(*q) || (*q >= '0' && *q <= '9') || *q == '+' || *q == '-'))
			q++;
		if (q == start || q >= s->end || *q != '>')
			return false;
		s->p = q + 1;
		return true;
	}
	while (q < s->end && alpha(*q))
		q++;
	if (q - s->p < 3)
		return false;
	s->p = q;
	return true;
}

/* [+-]hh[:mm[:ss]] with hh <= maxh, in seconds */
static bool pz_hms(struct pz *s, int maxh, int32_t *out)
{
	int sign = 1, h, m = 0, sec = 0;

	if (pz_at(s, '+') || pz_at(s, '-'))
		sign = *s->p++ == '-' ? -1 : 1;
	if (!pz_num(s, 0, maxh, &h))
		return false;
	if (pz_at(s, ':')) {
		s->p++;
		if (!pz_num(s, 0, 59, &m))
			return false;
		if (pz_at(s, ':')) {
			s->p++;
			if (!pz_num(s, 0, 59, &sec))
				return false;
		}
	}
	*out = sign * (h * 3600 + m * 60 + sec);
	return true;
}

/* Jn, n or Mm.w.d, then an optional /time (default 02:00:00) */
static bool pz_when(struct pz *s, struct tz_when *w)
{
	memset(w, 0, sizeof *w);
	if (pz_at(s, 'J')) {
		s->p++;
		w->kind = 'J';
		if (!pz_num(s, 1, 365, &w->a))
			return false;
	} else if (pz_at(s, 'M')) {
		s->p++;
		w->kind = 'M';
		if (!pz_num(s, 1, 12, &w->a) || !pz_at(s, '.'))
			return false;
		s->p++;
		if (!pz_num(s, 1, 5, &w->b) || !pz_at(s, '.'))
			return false;
		s->p++;
		if (!pz_num(s, 0, 6, &w->c))
			return false;
	} else {
		w->kind = 'N';
		if (!pz_num(s, 0, 365, &w->a))
			return false;
	}
	w->secs = 2 * 3600;
	if (pz_at(s, '/')) {
		s->p++;
		return pz_hms(s, 167, &w->secs);
	}
	return true;
}

/* Whether the rule's starts and ends alternate (each period ends before the next begins; a
 * zone on DST all year may end it at the very instant it starts it again), for every year
 * 1900-2200: times past 24 h (POSIX allows 167) could otherwise make a year's period reach
 * into the next one's, where no offset is well defined. */
static bool rule_alternates(const struct tz_rule *r)
{
	for (int64_t y = 1900; y <= 2200; y++) {
		int64_t s0 = rule_trans(r, y, true), e0 = rule_trans(r, y, false);
		int64_t s1 = rule_trans(r, y + 1, true), e1 = rule_trans(r, y + 1, false);

		if (s0 <= e0 ? e0 > s1 : s0 > e1)
			return false;
	}
	return true;
}

static const char *pz_parse(struct pz *s, struct tz_rule *r)
{
	int32_t off;

	if (!pz_name(s))
		return "bad standard time name";
	if (!pz_hms(s, 24, &off))
		return "bad UTC offset";
	r->std_off = r->dst_off = -off;
	if (s->p == s->end)
		return NULL;
	if (!pz_name(s))
		return "bad daylight saving time name";
	r->has_dst = true;
	r->dst_off = r->std_off + 3600;
	if (!pz_at(s, ',') && s->p < s->end) {
		if (!pz_hms(s, 24, &off))
			return "bad daylight saving time offset";
		r->dst_off = -off;
	}
	if (!pz_at(s, ','))
		return "no rule for daylight saving time";
	s->p++;
	if (!pz_when(s, &r->start))
		return "bad start of daylight saving time";
	if (!pz_at(s, ','))
		return "no end of daylight saving time";
	s->p++;
	if (!pz_when(s, &r->end))
		return "bad end of daylight saving time";
	if (s->p != s->end)
		return "junk after the rule";
	return rule_alternates(r) ? NULL : "daylight saving time would start again before it ends";
}

/* Parses the POSIX TZ string spec[0..len) into *r; -1 with a message (no prefix). */
static int rule_parse(const char *spec, size_t len, struct tz_rule *r, char *err,
		      size_t errsize)
{
	struct pz s = {spec, spec + len};
	char shown[72], copy[72];
	const char *what;

	memset(r, 0, sizeof *r);
	what = len > 255 ? "longer than 255 bytes" : pz_parse(&s, r);
	if (!what)
		return 0;
	snprintf(copy, sizeof copy, "%.*s", (int)(len < 64 ? len : 64), spec);
	snprintf(err, errsize, "bad TZ string \"%s\"%s: %s",
		 err_snippet(shown, sizeof shown, copy, 64), len > 64 ? "..." : "", what);
	return -1;
}

/* ---- lookups -------------------------------------------------------------------------- */

static int64_t clamp(int64_t t)
{
	return t < -TZ_CLAMP ? -TZ_CLAMP : t > TZ_CLAMP ? TZ_CLAMP : t;
}

int tz_offset_at(const struct tz *tz, int64_t utc)
{
	size_t lo, hi, n;

	if (!tz)
		return 0;
	utc = clamp(utc);
	n = tz->ntrans;
	if (n == 0)
		return tz->has_rule ? rule_offset(&tz->rule, utc) : tz->first_off;
	if (utc < tz->trans[0])
		return tz->first_off;
	if (utc > tz->trans[n - 1] && tz->has_rule)
		return rule_offset(&tz->rule, utc);
	/* the last transition at or before utc */
	lo = 0;
	hi = n;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (tz->trans[mid] <= utc)
			lo = mid;
		else
			hi = mid;
	}
	return tz->trans_off[lo];
}

void tz_to_local(const struct tz *tz, int64_t utc, struct cron_time *wall, int *utcoff_s)
{
	int off;

	utc = clamp(utc);
	off = tz_offset_at(tz, utc);
	tz_gmtime(utc + off, wall);
	if (utcoff_s)
		*utcoff_s = off;
}

/* the first instant after t at which the rule's offset may change */
static int64_t rule_next(const struct tz_rule *r, int64_t t)
{
	int64_t best = INT64_MAX, c;
	int year, mon, mday;

	if (!r->has_dst)
		return INT64_MAX;
	tz_civil_from_days(floor_div(t + r->std_off, 86400), &year, &mon, &mday);
	for (int64_t y = (int64_t)year - 1; y <= (int64_t)year + 2; y++) {
		c = rule_trans(r, y, true);
		if (c > t && c < best)
			best = c;
		c = rule_trans(r, y, false);
		if (c > t && c < best)
			best = c;
	}
	return best;
}

/* the first instant after t at which the offset may change; INT64_MAX if none */
static int64_t next_change(const struct tz *tz, int64_t t)
{
	size_t lo = 0, hi, n = tz ? tz->ntrans : 0;

	if (!tz)
		return INT64_MAX;
	if (n && t < tz->trans[n - 1]) {
		/* the first transition after t */
		hi = n - 1;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (tz->trans[mid] > t)
				hi = mid;
			else
				lo = mid + 1;
		}
		return tz->trans[lo];
	}
	if (!tz->has_rule)
		return INT64_MAX;
	if (n && t <= tz->trans[n - 1])
		return tz->trans[n - 1] + 1; /* where the rule takes over from the table */
	return rule_next(&tz->rule, t);
}

/*
 * The instants whose wall clock is `local` lie within TZ_OFF_LIMIT of it. Walk the spans
 * of constant offset there: the first span holding local - offset gives the earliest
 * reading (the earlier one in a fold); if none does, local is in a gap and the answer is
 * the first span whose wall clock starts past it, at its start.
 */
int64_t tz_from_local(const struct tz *tz, const struct cron_time *wall)
{
	int64_t local = clamp(tz_timegm(wall)), lo = local - TZ_OFF_LIMIT;
	int64_t hi = local + TZ_OFF_LIMIT, start = lo, end, gap = INT64_MIN;
	int off = tz_offset_at(tz, lo);

	for (int span = 0; span < 64; span++) {
		end = next_change(tz, start);
		if (local - off >= start && local - off < end)
			return local - off;
		if (gap == INT64_MIN && start > lo && start + off > local)
			gap = start;
		if (end > hi)
			break;
		start = end;
		off = tz_offset_at(tz, start);
	}
	/* a gap, or (only a zone changing more than 64 times in two days) the last reading */
	return gap != INT64_MIN ? gap : local - off;
}

/* ---- building zones ------------------------------------------------------------------- */

static struct tz *tz_new(const char *name, size_t ntrans)
{
	struct tz *tz = xcalloc(1, sizeof *tz);

	snprintf(tz->name, sizeof tz->name, "%s", name);
	tz->ntrans = ntrans;
	if (ntrans) {
		tz->trans = xcalloc(ntrans, sizeof *tz->trans);
		tz->trans_off = xcalloc(ntrans, sizeof *tz->trans_off);
	}
	return tz;
}

void tz_free(struct tz *tz)
{
	if (!tz)
		return;
	free(tz->trans);
	free(tz->trans_off);
	free(tz);
}

const char *tz_name(const struct tz *tz)
{
	return tz ? tz->name : "UTC";
}

struct tz *tz_from_posix(const char *spec, char *err, size_t errsize)
{
	struct tz_rule r;
	struct tz *tz;
	char msg[160];

	if (rule_parse(spec, strlen(spec), &r, msg, sizeof msg) < 0) {
		snprintf(err, errsize, "tz: %s", msg);
		return NULL;
	}
	tz = tz_new(spec, 0);
	tz->has_rule = true;
	tz->rule = r;
	tz->first_off = r.std_off;
	return tz;
}

/* ---- TZif ----------------------------------------------------------------------------- */

#define TZIF_HEADER 44

struct tzif_counts {
	uint32_t isut, isstd, leap, time, type, chars;
};

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* the header at p (len bytes left); the size of the data block that follows, 0 if bad */
static size_t tzif_header(const unsigned char *p, size_t len, size_t timesize,
			  struct tzif_counts *c)
{
	if (len < TZIF_HEADER || memcmp(p, "TZif", 4) != 0)
		return 0;
	c->isut = be32(p + 20);
	c->isstd = be32(p + 24);
	c->leap = be32(p + 28);
	c->time = be32(p + 32);
	c->type = be32(p + 36);
	c->chars = be32(p + 40);
	/* bounded by the file size limit long before any product could overflow */
	if (c->isut > TZ_FILE_MAX || c->isstd > TZ_FILE_MAX || c->leap > TZ_FILE_MAX ||
	    c->time > TZ_FILE_MAX || c->type > 256 || c->chars > TZ_FILE_MAX)
		return 0;
	return (size_t)c->time * (timesize + 1) + (size_t)c->type * 6 + c->chars +
	       (size_t)c->leap * (timesize + 4) + c->isstd + c->isut;
}

static int fail(char *err, size_t errsize, const char *name, const char *what)
{
	snprintf(err, errsize, "tz: \"%s\": %s", name, what);
	return -1;
}

/* the data block at p: transitions and types into tz */
static int tzif_data(struct tz *tz, const unsigned char *p, const struct tzif_counts *c,
		     size_t timesize, char *err, size_t errsize)
{
	const unsigned char *idx = p + (size_t)c->time * timesize, *types = idx + c->time;
	int32_t off;

	if (c->type == 0)
		return fail(err, errsize, tz->name, "no local time types");
	if (c->leap)
		return fail(err, errsize, tz->name, "leap-second zones (right/) are not supported");
	if ((c->isstd && c->isstd != c->type) || (c->isut && c->isut != c->type))
		return fail(err, errsize, tz->name, "malformed TZif counts");
	for (uint32_t i = 0; i < c->type; i++) {
		off = (int32_t)be32(types + 6 * (size_t)i);
		if (off <= -TZ_OFF_LIMIT || off >= TZ_OFF_LIMIT || types[6 * i + 4] > 1)
			return fail(err, errsize, tz->name, "bad local time type");
	}
	tz->first_off = (int32_t)be32(types);
	for (uint32_t i = 0; i < c->time; i++) {
		const unsigned char *t = p + (size_t)i * timesize;
		tz->trans[i] = timesize == 8 ? be64(t) : (int64_t)(int32_t)be32(t);
		if (idx[i] >= c->type || (i && tz->trans[i] <= tz->trans[i - 1]))
			return fail(err, errsize, tz->name, "bad transition");
		tz->trans_off[i] = (int32_t)be32(types + 6 * (size_t)idx[i]);
	}
	return 0;
}

/* the footer after the v2+ data: "\nTZ string\n" */
static int tzif_footer(struct tz *tz, const unsigned char *p, size_t len, char *err,
		       size_t errsize)
{
	const unsigned char *nl;
	char msg[160];

	if (len < 2 || p[0] != '\n' || !(nl = memchr(p + 1, '\n', len - 1)))
		return fail(err, errsize, tz->name, "missing TZ string footer");
	if (nl == p + 1)
		return 0; /* an empty footer: no rule */
	if (rule_parse((const char *)p + 1, (size_t)(nl - p - 1), &tz->rule, msg,
			  sizeof msg) < 0)
		return fail(err, errsize, tz->name, msg);
	tz->has_rule = true;
	return 0;
}

struct tz *tz_parse_tzif(const char *name, const void *data, size_t len, char *err,
			 size_t errsize)
{
	const unsigned char *p = data;
	struct tzif_counts c;
	size_t block, timesize = 4, off = TZIF_HEADER;
	struct tz *tz;
	bool v2;

	if (len < TZIF_HEADER || memcmp(p, "TZif", 4) != 0) {
		fail(err, errsize, name, "not a TZif file");
		return NULL;
	}
	v2 = p[4] >= '2';
	block = tzif_header(p, len, 4, &c);
	if (v2 && block && block <= len - off) {
		/* skip the 32-bit data: the 64-bit header and data follow */
		off += block;
		block = tzif_header(p + off, len - off, 8, &c);
		timesize = 8;
		off += TZIF_HEADER;
	}
	if (!block || off > len || block > len - off) {
		fail(err, errsize, name, "truncated or malformed TZif data");
		return NULL;
	}
	tz = tz_new(name, c.time);
	if (tzif_data(tz, p + off, &c, timesize, err, errsize) < 0 ||
	    (v2 && tzif_footer(tz, p + off + block, len - off - block, err, errsize) < 0)) {
		tz_free(tz);
		return NULL;
	}
	return tz;
}

/* ---- loading -------------------------------------------------------------------------- */

static bool name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > TZ_NAME_MAX || name[0] == '/' || strstr(name, ".."))
		return false;
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+-/") ==
	       n;
}

/* reads the whole regular file at path, at most TZ_FILE_MAX bytes; 0, or -1 with errno */
static int read_file(const char *path, unsigned char **buf, size_t *len)
{
	struct stat st;
	ssize_t r;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), saved;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0)
		saved = errno;
	else if (!S_ISREG(st.st_mode))
		saved = EISDIR;
	else if (st.st_size > TZ_FILE_MAX)
		saved = EFBIG;
	else
		saved = 0;
	if (saved) {
		close(fd);
		errno = saved;
		return -1;
	}
	*buf = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		r = read(fd, *buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	*len = got;
	return 0;
}

struct tz *tz_load(const char *name, char *err, size_t errsize)
{
	const char *dir = getenv("TZDIR");
	char path[4096];
	unsigned char *buf = NULL;
	size_t len = 0;
	struct tz *tz;
	int n;

	if (!name_ok(name)) {
		char shown[TZ_NAME_MAX + 1];
		snprintf(err, errsize, "tz: bad time zone name \"%s\"%s",
			 err_snippet(shown, sizeof shown, name, TZ_NAME_MAX),
			 strlen(name) > TZ_NAME_MAX ? " (too long)" : "");
		return NULL;
	}
	if (!strcmp(name, "UTC") || !strcmp(name, "Etc/UTC"))
		return tz_new(name, 0);
	if (!dir || !*dir)
		dir = "/usr/share/zoneinfo";
	n = snprintf(path, sizeof path, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof path) {
		snprintf(err, errsize, "tz: \"%s\": path too long", name);
		return NULL;
	}
	if (read_file(path, &buf, &len) < 0) {
		if (errno == ENOENT || errno == ENOTDIR || errno == EISDIR)
			snprintf(err, errsize, "tz: unknown time zone \"%s\"", name);
		else
			snprintf(err, errsize, "tz: \"%s\": %s", name, strerrordesc_np(errno));
		return NULL;
	}
	tz = tz_parse_tzif(name, buf, len, err, errsize);
	free(buf);
	return tz;
}
