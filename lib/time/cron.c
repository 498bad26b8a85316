/*
 * cron: see cron.h. The parser (fields, lists, ranges, steps, names, aliases, @every) and
 * the search for the next matching wall-clock time, which jumps over whole months, days,
 * hours and minutes that cannot match.
 */
#include "time/cron.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/err.h"
#include "time/tz.h"

struct field {
	const char *name;
	int lo, hi;
	const char *const *names; /* three-letter names for lo.. (NULL: numbers only) */
};

static const char *const month_names[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL",
					  "AUG", "SEP", "OCT", "NOV", "DEC", NULL};
static const char *const day_names[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", NULL};

enum { F_SEC, F_MIN, F_HOUR, F_DOM, F_MON, F_DOW, F_COUNT };

static const struct field fields[F_COUNT] = {
	[F_SEC] = {"second", 0, 59, NULL},       [F_MIN] = {"minute", 0, 59, NULL},
	[F_HOUR] = {"hour", 0, 23, NULL},        [F_DOM] = {"day-of-month", 1, 31, NULL},
	[F_MON] = {"month", 1, 12, month_names}, [F_DOW] = {"day-of-week", 0, 7, day_names},
};

/* ---- messages ------------------------------------------------------------------------- */

/* the token p[0..n) for a message: printable ASCII, at most 40 bytes, "..." when cut */
static const char *snip(char *dst, size_t size, const char *p, size_t n)
{
	char copy[41], shown[41];

	snprintf(copy, sizeof copy, "%.*s", (int)(n < 40 ? n : 40), p);
	err_snippet(shown, sizeof shown, copy, 40);
	snprintf(dst, size, "%s%s", shown, n > 40 ? "..." : "");
	return dst;
}

struct ctx {
	char *err;
	size_t errsize;
	const struct field *f;
};

static int field_fail(struct ctx *x, const char *what, const char *p, size_t n)
{
	char tok[48];

	snprintf(x->err, x->errsize, "cron: %s field: %s \"%s\"", x->f->name, what,
		 snip(tok, sizeof tok, p, n));
	return -1;
}

/* ---- fields --------------------------------------------------------------------------- */

/* A number or (where the field has them) a name: p[0..n) -> *v, checked against lo..hi. */
static int parse_value(struct ctx *x, const char *p, size_t n, int *v)
{
	const struct field *f = x->f;
	char tok[48];
	long val = 0;
	size_t i;

	if (p[0] >= '0' && p[0] <= '9') {
		for (i = 0; i < n; i++) {
			if (p[i] < '0' || p[i] > '9')
				return field_fail(x, "bad value", p, n);
			if (val < 100000)
				val = val * 10 + (p[i] - '0');
		}
		if (val < f->lo || val > f->hi) {
			snprintf(x->err, x->errsize, "cron: %s field: %s is out of range %d-%d",
				 f->name, snip(tok, sizeof tok, p, n), f->lo, f->hi);
			return -1;
		}
		*v = (int)val;
		return 0;
	}
	for (i = 0; f->names && f->names[i]; i++) {
		if (n == 3 && !strncasecmp(p, f->names[i], 3)) {
			*v = f->lo + (int)i;
			return 0;
		}
	}
	return field_fail(x, f->names ? "unknown name" : "bad value", p, n);
}

/* One list item p[0..n): `*`, `N`, `N-M`, each with an optional `/S`. */
static int parse_item(struct ctx *x, const char *p, size_t n, uint64_t *mask)
{
	const struct field *f = x->f;
	const char *slash = memchr(p, '/', n), *dash;
	size_t rn = slash ? (size_t)(slash - p) : n;
	int lo, hi, step = 1;
	char tok[48];

	if (rn == 0)
		return field_fail(x, "missing value in", p, n);
	if (slash) {
		const char *s = slash + 1;
		size_t sn = n - rn - 1;
		long v = 0;
		if (sn == 0 || memchr(s, '/', sn))
			return field_fail(x, "bad step in", p, n);
		for (size_t i = 0; i < sn; i++) {
			if (s[i] < '0' || s[i] > '9')
				return field_fail(x, "bad step in", p, n);
			if (v < 100000)
				v = v * 10 + (s[i] - '0');
		}
		if (v < 1 || v > f->hi) {
			snprintf(x->err, x->errsize, "cron: %s field: step %s is out of range 1-%d",
				 f->name, snip(tok, sizeof tok, s, sn), f->hi);
			return -1;
		}
		step = (int)v;
	}
	if (rn == 1 && p[0] == '*') {
		lo = f->lo;
		hi = f->hi;
	} else if ((dash = memchr(p, '-', rn))) {
		if (dash == p || dash + 1 == p + rn ||
		    memchr(dash + 1, '-', rn - (size_t)(dash - p) - 1))
			return field_fail(x, "bad range", p, rn);
		if (parse_value(x, p, (size_t)(dash - p), &lo) < 0 ||
		    parse_value(x, dash + 1, rn - (size_t)(dash - p) - 1, &hi) < 0)
			return -1;
		if (lo > hi)
			return field_fail(x, "backwards range", p, rn);
	} else {
		if (parse_value(x, p, rn, &lo) < 0)
			return -1;
		hi = slash ? f->hi : lo; /* N/S is N-max/S */
	}
	for (int v = lo; v <= hi; v += step)
		*mask |= (uint64_t)1 << v;
	return 0;
}

/* One field p[0..n): items separated by commas. */
static int parse_field(struct ctx *x, const char *p, size_t n, uint64_t *mask)
{
	const char *item = p, *end = p + n, *comma;
	char what[48];
	size_t len;

	*mask = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    c == '*' || c == ',' || c == '-' || c == '/')
			continue;
		if (c > 0x20 && c < 0x7f)
			snprintf(what, sizeof what, "unexpected character '%c' in", c);
		else
			snprintf(what, sizeof what, "unexpected byte 0x%02X in", c);
		return field_fail(x, what, p, n);
	}
	for (;;) {
		comma = memchr(item, ',', (size_t)(end - item));
		len = comma ? (size_t)(comma - item) : (size_t)(end - item);
		if (len == 0)
			return field_fail(x, "empty list item in", p, n);
		if (parse_item(x, item, len, mask) < 0)
			return -1;
		if (!comma)
			return 0;
		item = comma + 1;
	}
}

/* ---- expressions ---------------------------------------------------------------------- */

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

/* 5 or 6 fields: the masks and the star flags into *c */
static int parse_fields(const char *s, struct cron *c, char *err, size_t errsize)
{
	const char *tok[F_COUNT + 1];
	size_t len[F_COUNT + 1];
	uint64_t mask[F_COUNT];
	struct ctx x = {err, errsize, NULL};
	int n = 0, first;

	while (*s) {
		while (blank(*s))
			s++;
		if (!*s)
			break;
		if (n <= F_COUNT)
			tok[n] = s;
		while (*s && !blank(*s))
			s++;
		if (n <= F_COUNT)
			len[n] = (size_t)(s - tok[n]);
		n++;
	}
	if (n != 5 && n != 6) {
		snprintf(err, errsize, "cron: expected 5 or 6 fields, got %d", n);
		return -1;
	}
	first = n == 6 ? F_SEC : F_MIN;
	mask[F_SEC] = 1; /* five fields: at second 0 */
	for (int i = first; i < F_COUNT; i++) {
		x.f = &fields[i];
		if (parse_field(&x, tok[i - first], len[i - first], &mask[i]) < 0)
			return -1;
	}
	c->sec = mask[F_SEC];
	c->min = mask[F_MIN];
	c->hour = (uint32_t)mask[F_HOUR];
	c->dom = (uint32_t)mask[F_DOM];
	c->month = (uint16_t)mask[F_MON];
	c->dow = (uint8_t)((mask[F_DOW] | mask[F_DOW] >> 7) & 0x7f); /* 7 is Sunday too */
	if (tok[F_DOM - first][0] == '*')
		c->flags |= CRON_DOM_STAR;
	if (tok[F_DOW - first][0] == '*')
		c->flags |= CRON_DOW_STAR;
	return 0;
}

/* the duration of `@every`: e.g. 90s, 5m, 2h, 1h30m (units h, m, s in that order) */
static int parse_every(const char *s, size_t n, struct cron *c, char *err, size_t errsize)
{
	static const char units[] = "hms";
	static const int64_t secs[] = {3600, 60, 1};
	int64_t total = 0, v;
	size_t i = 0, u = 0, digits;
	char tok[48];

	if (n == 0) {
		snprintf(err, errsize, "cron: @every needs a duration, e.g. 90s, 5m or 1h30m");
		return -1;
	}
	while (i < n) {
		for (v = 0, digits = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++)
			if (v <= CRON_EVERY_MAX)
				v = v * 10 + (s[i] - '0');
		if (digits == 0 || i == n)
			goto bad;
		while (u < 3 && i < n && s[i] != units[u])
			u++;
		if (u == 3)
			goto bad;
		total += v * secs[u++];
		if (total > CRON_EVERY_MAX) {
			snprintf(err, errsize, "cron: @every duration \"%s\" is longer than %lldh",
				 snip(tok, sizeof tok, s, n), (long long)(CRON_EVERY_MAX / 3600));
			return -1;
		}
		i++;
	}
	if (total < 1) {
		snprintf(err, errsize, "cron: @every duration \"%s\" is shorter than 1s",
			 snip(tok, sizeof tok, s, n));
		return -1;
	}
	c->every = total;
	return 0;
bad:
	snprintf(err, errsize, "cron: bad @every duration \"%s\" (e.g. 90s, 5m, 1h30m)",
		 snip(tok, sizeof tok, s, n));
	return -1;
}

static const struct {
	const char *name, *expr;
} aliases[] = {
	{"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
	{"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
	{"@hourly", "0 * * * *"},
};

static int parse_alias(const char *s, struct cron *c, char *err, size_t errsize)
{
	size_t n = strcspn(s, " \t"), an;
	const char *arg = s + n;
	char tok[48];

	while (blank(*arg))
		arg++;
	an = strlen(arg);
	while (an && blank(arg[an - 1]))
		an--;
	if (n == 6 && !strncasecmp(s, "@every", 6)) {
		if (memchr(arg, ' ', an) || memchr(arg, '\t', an)) {
			snprintf(err, errsize, "cron: @every takes one duration, not \"%s\"",
				 snip(tok, sizeof tok, arg, an));
			return -1;
		}
		return parse_every(arg, an, c, err, errsize);
	}
	for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++) {
		if (strlen(aliases[i].name) != n || strncasecmp(s, aliases[i].name, n))
			continue;
		if (an) {
			snprintf(err, errsize, "cron: unexpected \"%s\" after %s",
				 snip(tok, sizeof tok, arg, an), aliases[i].name);
			return -1;
		}
		return parse_fields(aliases[i].expr, c, err, errsize);
	}
	snprintf(err, errsize, "cron: unknown alias \"%s\"", snip(tok, sizeof tok, s, n));
	return -1;
}

int cron_parse(const char *expr, struct cron *out, char *err, size_t errsize)
{
	struct cron c = {0};
	struct cron_time t = {.year = 2000, .mon = 1, .mday = 1};

	if (!expr) {
		snprintf(err, errsize, "cron: no expression");
		return -1;
	}
	if (strnlen(expr, CRON_EXPR_MAX + 1) > CRON_EXPR_MAX) {
		snprintf(err, errsize, "cron: expression longer than %d bytes", CRON_EXPR_MAX);
		return -1;
	}
	while (blank(*expr))
		expr++;
	if (!*expr) {
		snprintf(err, errsize, "cron: empty expression");
		return -1;
	}
	if (*expr == '@' ? parse_alias(expr, &c, err, errsize) < 0
			 : parse_fields(expr, &c, err, errsize) < 0)
		return -1;
	/* a day of month that none of the months has (30 FEB, 31 APR) never comes; any
	 * possible date comes within CRON_SEARCH_YEARS (29 February within 8) */
	if (!c.every && cron_next_wall(&c, &t, t.year + CRON_SEARCH_YEARS) < 0) {
		snprintf(err, errsize,
			 "cron: the expression never fires (no selected month has "
			 "the selected day of month)");
		return -1;
	}
	*out = c;
	return 0;
}

/* ---- the next fire time --------------------------------------------------------------- */

/* the lowest set bit of mask at or above `from`, -1 if none */
static int next_bit(uint64_t mask, int from)
{
	if (from < 0)
		from = 0;
	if (from > 63)
		return -1;
	mask >>= from;
	return mask ? from + __builtin_ctzll(mask) : -1;
}

static bool day_matches(const struct cron *c, int y, int m, int d)
{
	bool dom = c->dom >> d & 1;
	bool dow = c->dow >> tz_weekday(tz_days_from_civil(y, m, d)) & 1;

	if (c->flags & (CRON_DOM_STAR | CRON_DOW_STAR))
		return dom && dow;
	return dom || dow; /* both restricted: either (Vixie cron) */
}

/* the first matching day of month y-m at or after d, -1 if none */
static int next_day(const struct cron *c, int y, int m, int d)
{
	int dim = tz_days_in_month(y, m);

	for (; d <= dim; d++)
		if (day_matches(c, y, m, d))
			return d;
	return -1;
}

int cron_next_wall(const struct cron *c, struct cron_time *t, int last_year)
{
	int y = t->year, mo = t->mon, d = t->mday, h = t->hour, mi = t->min, s = t->sec + 1;
	int v;

	if (c->every || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 ||
	    mi > 59 || s < 1 || s > 60)
		return -1;
	/* each step either settles a field (and zeroes the ones below) or carries into the
	 * field above, so it takes a few steps per matching day and one per other month */
	for (;;) {
		if (y > last_year)
			return -1;
		if ((v = next_bit(c->month, mo)) < 0) {
			y++, mo = 1, d = 1, h = mi = s = 0;
			continue;
		}
		if (v != mo)
			mo = v, d = 1, h = mi = s = 0;
		if ((v = next_day(c, y, mo, d)) < 0) {
			mo++, d = 1, h = mi = s = 0;
			continue;
		}
		if (v != d)
			d = v, h = mi = s = 0;
		if ((v = next_bit(c->hour, h)) < 0) {
			d++, h = mi = s = 0;
			continue;
		}
		if (v != h)
			h = v, mi = s = 0;
		if ((v = next_bit(c->min, mi)) < 0) {
			h++, mi = s = 0;
			continue;
		}
		if (v != mi)
			mi = v, s = 0;
		if ((v = next_bit(c->sec, s)) < 0) {
			mi++, s = 0;
			continue;
		}
		*t = (struct cron_time){
			.year = y, .mon = mo, .mday = d, .hour = h, .min = mi, .sec = v};
		return 0;
	}
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int64_t cron_next(const struct cron *c, const struct tz *tz, int64_t after)
{
	struct cron_time w;
	int64_t u;
	int last;

	if (after < CRON_TIME_MIN || after >= CRON_TIME_MAX)
		return -1;
	if (c->every > 0) {
		u = (floor_div(after, c->every) + 1) * c->every;
		return u <= CRON_TIME_MAX ? u : -1;
	}
	tz_to_local(tz, after, &w, NULL);
	last = w.year + CRON_SEARCH_YEARS > 9999 ? 9999 : w.year + CRON_SEARCH_YEARS;
	/* wall-clock times in order; a time in a fold maps to its earlier instant, which
	 * may lie before `after` (then the next one), and every time in a gap to the gap's
	 * end (the first one of them after `after` fires, the others do not) */
	for (;;) {
		if (cron_next_wall(c, &w, last) < 0)
			return -1;
		u = tz_from_local(tz, &w);
		if (u > after)
			return u <= CRON_TIME_MAX ? u : -1;
	}
}
