/*
 * Unit tests: time zone files — POSIX TZ footers against glibc's localtime_r (TZ set in this
 * single-threaded test program only), slim, version 1 and hand-made files (written to a
 * scratch $TZDIR: tz_load is the only way in), refused names and files. The system's zones
 * are t_tz_zones.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "time/cron.h"
#include "time/tz.h"
#include "timecheck.h"
#include "units.h"

/* ---- TZif files ------------------------------------------------------------------------ */

struct tzif {
	char version; /* '\0' (1), '2', '3' */
	size_t ntrans, ntypes, nleap;
	const int64_t *trans;
	const unsigned char *idx;
	const int32_t *offs;
	const char *footer; /* version 2+ */
	int32_t v1_off;     /* version 2+: the 32-bit block is one type of this offset alone */
	const char *abbr;   /* every type's abbreviation; NULL: "ABC" */
};

static size_t put(unsigned char *b, size_t n, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--)
		b[n++] = i < 8 ? (unsigned char)(v >> (8 * i)) : 0;
	return n;
}

static size_t header(unsigned char *b, size_t n, char version, size_t ntrans, size_t ntypes,
		     size_t nleap, size_t nchars)
{
	memcpy(b + n, "TZif", 4);
	b[n + 4] = (unsigned char)version;
	memset(b + n + 5, 0, 15);
	n += 20;
	n = put(b, n, 0, 4); /* isut */
	n = put(b, n, 0, 4); /* isstd */
	n = put(b, n, nleap, 4);
	n = put(b, n, ntrans, 4);
	n = put(b, n, ntypes, 4);
	return put(b, n, nchars, 4);
}

static size_t block(unsigned char *b, size_t n, int timesize, const struct tzif *z)
{
	for (size_t i = 0; i < z->ntrans; i++)
		n = put(b, n, (uint64_t)z->trans[i], timesize);
	for (size_t i = 0; i < z->ntrans; i++)
		b[n++] = z->idx[i];
	for (size_t i = 0; i < z->ntypes; i++) {
		n = put(b, n, (uint32_t)z->offs[i], 4);
		b[n++] = 0;
		b[n++] = 0;
	}
	memcpy(b + n, z->abbr ? z->abbr : "ABC", strlen(z->abbr ? z->abbr : "ABC") + 1);
	n += strlen(z->abbr ? z->abbr : "ABC") + 1;
	for (size_t i = 0; i < z->nleap; i++)
		n = put(b, n, 0, timesize + 4);
	return n;
}

/* a TZif file of z in b; its length */
static size_t build(unsigned char *b, const struct tzif *z)
{
	struct tzif v1 = {.ntypes = 1, .offs = &z->v1_off};
	size_t n, nchars = strlen(z->abbr ? z->abbr : "ABC") + 1;

	if (z->version == '\0') {
		n = header(b, 0, z->version, z->ntrans, z->ntypes, z->nleap, nchars);
		return block(b, n, 4, z);
	}
	n = header(b, 0, z->version, 0, 1, 0, 4);
	n = block(b, n, 4, &v1);
	n = header(b, n, z->version, z->ntrans, z->ntypes, z->nleap, nchars);
	n = block(b, n, 8, z);
	return (size_t)(n + (size_t)snprintf((char *)b + n, 256, "\n%s\n", z->footer));
}

static const int64_t berlin96[] = {828234000, 846378000}; /* 1996-03-31, 1996-10-27 01:00Z */
static const unsigned char cet_cest[] = {1, 0};
static const int32_t cet_offs[] = {3600, 7200};
static const char eu_rule[] = "CET-1CEST,M3.5.0,M10.5.0/3";

/* A scratch TZDIR: zone files written there are read by tz_load as the system's are.
 * Abseil keeps every file it read by path: each file gets a name of its own. */
static char scratch_dir[32];
static char *scratch_old;

static void scratch_open(void)
{
	snprintf(scratch_dir, sizeof scratch_dir, "/tmp/t_tz.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(scratch_dir));
	scratch_old = getenv("TZDIR") ? strdup(getenv("TZDIR")) : NULL;
	setenv("TZDIR", scratch_dir, 1);
}

static void scratch_close(void)
{
	ck_assert_int_eq(rmdir(scratch_dir), 0);
	if (scratch_old)
		setenv("TZDIR", scratch_old, 1);
	else
		unsetenv("TZDIR");
	free(scratch_old);
}

/* writes data to the scratch TZDIR as `name`, loads it and removes the file */
static struct tz *scratch_zone(const char *name, const void *data, size_t len, char *err,
			       size_t errsize)
{
	char path[512];
	struct tz *z;
	FILE *f;

	const char *slash = strchr(name, '/');

	if (slash) { /* one directory level, e.g. Test/V1 */
		snprintf(path, sizeof path, "%s/%.*s", scratch_dir, (int)(slash - name), name);
		ck_assert_int_eq(mkdir(path, 0755), 0);
	}
	snprintf(path, sizeof path, "%s/%s", scratch_dir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "wb"));
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	z = tz_load(name, err, errsize);
	ck_assert_int_eq(unlink(path), 0);
	if (slash) {
		snprintf(path, sizeof path, "%s/%.*s", scratch_dir, (int)(slash - name), name);
		ck_assert_int_eq(rmdir(path), 0);
	}
	return z;
}

/* The POSIX TZ string `spec` as a zone: a slim file whose one transition, in 1900, is to
 * the standard time of spec (its offset and name as glibc reads them), and whose footer is
 * spec, as zic writes one (RFC 8536: the footer agrees with the last transition). */
static struct tz *posix_zone(const char *name, const char *spec, char *err, size_t errsize)
{
	static unsigned char buf[4096];
	static const int64_t y1900[] = {-2208988800LL};
	static const unsigned char idx0[] = {0};
	char abbr[16];
	int32_t std_off;
	struct tzif z = {'2', 1, 1, 0, y1900, idx0, &std_off, spec, 0, abbr};

	glibc_tz(spec);
	std_off = (int32_t)-timezone;
	snprintf(abbr, sizeof abbr, "%s", tzname[0]);
	glibc_tz(NULL);
	return scratch_zone(name, buf, build(buf, &z), err, errsize);
}

static const char *const posix_specs[] = {
	"CET-1CEST,M3.5.0,M10.5.0/3",
	"<+0330>-3:30",
	"XST5XDT,M3.2.0,M11.1.0",
	"IST-1GMT0,M10.5.0,M3.5.0/1",
	"<-03>3<-02>,M3.5.0/-2,M10.5.0/-1",
	"AAA3BBB,J60/2,J300/2",
	"AAA3BBB,59,299",
	"AAA-3BBB-4:30:15,J2/0:30,J365/20",
	"NZST-12NZDT,M9.5.0,M4.1.0/3",
	"<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
	"<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45",
	"<-04>4<-03>,M9.1.6/24,M4.1.6/24",
	"XST5XDT,M3.5.6/50,M10.1.1/-30",
	"XST+5",
	"<+14>-14",
	"<-12>12",
};

START_TEST(posix_strings_match_glibc)
{
	const char *spec = posix_specs[_i];
	char err[256], name[16];
	struct tz *z;

	scratch_open();
	snprintf(name, sizeof name, "P%d", _i);
	z = posix_zone(name, spec, err, sizeof err);
	scratch_close();
	ck_assert_msg(z != NULL, "%s: %s", spec, err);
	glibc_tz(spec);
	sweep(z, spec, iso("1970-01-01T00:00:00Z"), iso("2110-01-01T00:00:00Z"), 3 * 86400 + 3607);
	glibc_tz(NULL);
	tz_free(z);
}
END_TEST

/* footers Abseil refuses (tz.c says no more than that). Not here: "" (an empty footer,
 * no rule, is valid in a file), "CET-1CEST,M3.5.0" (no end of DST) and "CET-0001" (four
 * digits of hour), which Abseil 20220623 accepts; zic never writes either. */
static const char *const bad_specs[] = {
	"C",
	"CET",
	"CET-25",
	"CET-1:60",
	"CET-1x",
	"CET-1CEST",
	"CET-1CEST,M13.1.0,M10.5.0",
	"CET-1CEST,M3.6.0,M10.5.0",
	"CET-1CEST,M3.5.7,M10.5.0",
	"CET-1CEST,J0,J365",
	"CET-1CEST,1,366",
	"CET-1CEST,M3.5.0/168,M10.5.0",
	"CET-1CEST,M3.5.0,M10.5.0/3x",
	"<>1",
	"<A1",
	"CET-1 ",
};

START_TEST(bad_posix_strings)
{
	char err[256] = "";

	scratch_open();
	ck_assert_msg(posix_zone("Bad", bad_specs[_i], err, sizeof err) == NULL, "accepted %s",
		      bad_specs[_i]);
	scratch_close();
	ck_assert_str_eq(err, "tz: \"Bad\": not a TZif file, or a malformed one");
}
END_TEST

/* rules whose changes cross New Year in UTC (where glibc looks at one year only), DST all
 * year (the v3 extension), 24:00 and negative times */
START_TEST(rule_edges)
{
	static const struct {
		const char *spec, *at;
		int off;
	} cases[] = {
		/* 2033's DST starts 2033-01-01 00:30 at +3, 2032-12-31 21:30Z */
		{"AAA-3BBB-4:30:15,J1/0:30,J365/23:59:59", "2032-12-31T21:29:59Z", 10800},
		{"AAA-3BBB-4:30:15,J1/0:30,J365/23:59:59", "2032-12-31T21:30:00Z", 16215},
		{"AAA-3BBB-4:30:15,J1/0:30,J365/23:59:59", "2032-12-31T23:59:59Z", 16215},
		{"AAA-3BBB-4:30:15,J1/0:30,J365/23:59:59", "2033-12-31T19:29:43Z", 16215},
		{"AAA-3BBB-4:30:15,J1/0:30,J365/23:59:59", "2033-12-31T19:29:44Z", 10800},
		{"XST5XDT4,0/0,J365/25", "2024-01-01T00:00:00Z", -14400},
		{"XST5XDT4,0/0,J365/25", "2024-07-01T00:00:00Z", -14400},
		{"XST5XDT4,0/0,J365/25", "2024-12-31T23:59:59Z", -14400},
		{"XST5XDT4,0/0,J365/25", "2025-01-01T04:00:00Z", -14400},
		{"<-04>4<-03>,M9.1.6/24,M4.1.6/24", "2024-09-08T03:59:59Z", -14400},
		{"<-04>4<-03>,M9.1.6/24,M4.1.6/24", "2024-09-08T04:00:00Z", -10800},
		{"<-03>3<-02>,M3.5.0/-2,M10.5.0/-1", "2024-10-27T00:59:59Z", -7200},
		{"<-03>3<-02>,M3.5.0/-2,M10.5.0/-1", "2024-10-27T01:00:00Z", -10800},
		{"AAA3BBB,J60,J61", "2024-03-01T04:59:59Z", -10800},
		{"AAA3BBB,J60,J61", "2024-03-01T05:00:00Z", -7200},
		{"AAA3BBB,59,60", "2024-02-29T05:00:00Z", -7200},
		{"AAA3BBB,59,60", "2023-03-01T05:00:00Z", -7200},
	};
	char err[256], name[16];

	scratch_open();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct tz *z;
		snprintf(name, sizeof name, "E%zu", i);
		z = posix_zone(name, cases[i].spec, err, sizeof err);
		ck_assert_msg(z != NULL, "%s: %s", cases[i].spec, err);
		ck_assert_msg(tz_offset_at(z, iso(cases[i].at)) == cases[i].off, "%s at %s: %d",
			      cases[i].spec, cases[i].at, tz_offset_at(z, iso(cases[i].at)));
		tz_free(z);
	}
	scratch_close();
}
END_TEST

/* ---- files ---------------------------------------------------------------------------- */

/* slim files: one transition or two, the rest from the footer; the same as Berlin's fat
 * file from 1996 on. (No transition at all with a DST footer, valid in RFC 8536, Abseil
 * 20220623 reads as time type 0 for ever; zic writes no such file and tzdata has none:
 * every_tzdata_zone_matches_glibc would see one.) */
START_TEST(slim_files)
{
	static unsigned char buf[4096];
	static const int64_t y1900[] = {-2208988800LL};
	static const unsigned char idx0[] = {0};
	const struct tzif slim1 = {'2', 1, 1, 0, y1900, idx0, cet_offs, eu_rule, 0, NULL};
	const struct tzif slim2 = {'2', 2, 2, 0, berlin96, cet_cest, cet_offs, eu_rule, 0, NULL};
	const struct tzif *files[] = {&slim1, &slim2};
	struct tz *fat = zone("Europe/Berlin");
	char err[256];

	for (size_t f = 0; f < 2; f++) {
		size_t len = build(buf, files[f]);
		struct tz *z;
		scratch_open(); /* a directory each: the same name twice */
		z = scratch_zone("Slim/Berlin", buf, len, err, sizeof err);
		scratch_close();
		ck_assert_msg(z != NULL, "%s", err);
		ck_assert_str_eq(tz_name(z), "Slim/Berlin");
		for (int64_t t = iso("1996-03-31T01:00:00Z"), end = iso("2200-01-01T00:00:00Z");
		     t < end; t += 86400 + 599)
			require(tz_offset_at(z, t) == tz_offset_at(fat, t), "%s at %lld",
				tz_name(z), (long long)t);
		ck_assert_int_eq(tz_offset_at(z, iso("2024-03-31T00:59:59Z")), 3600);
		ck_assert_int_eq(tz_offset_at(z, iso("2024-03-31T01:00:00Z")), 7200);
		tz_free(z);
	}
	tz_free(fat);
}
END_TEST

/* version 1 (32-bit data, no footer), version 3, the 64-bit block preferred, through
 * tz_load and $TZDIR */
START_TEST(file_versions)
{
	static unsigned char buf[4096];
	static const int64_t early[] = {-5000000000LL, 828234000, 846378000}; /* 1811, 1996 */
	static const unsigned char early_idx[] = {0, 1, 0};
	static const int32_t early_offs[] = {3600, 7200, 1800};
	const struct tzif v1 = {'\0', 2, 2, 0, berlin96, cet_cest, cet_offs, NULL, 0, NULL};
	static const int64_t y1900[] = {-2208988800LL};
	static const unsigned char idx0[] = {0};
	static const int32_t minus3 = -10800;
	const struct tzif v3 = {
		'3', 1, 1, 0, y1900, idx0, &minus3, "<-03>3<-02>,M3.5.0/-2,M10.5.0/-1", 0, "-03"};
	const struct tzif v2 = {'2', 3, 3, 0, early, early_idx, early_offs, "", 5 * 3600, NULL};
	char err[256];
	struct tz *z, *p;

	scratch_open();

	/* version 1: the table, then its last type for ever */
	z = scratch_zone("Test/V1", buf, build(buf, &v1), err, sizeof err);
	ck_assert_msg(z != NULL, "%s", err);
	ck_assert_int_eq(tz_offset_at(z, iso("1990-07-01T00:00:00Z")), 3600);
	ck_assert_int_eq(tz_offset_at(z, iso("1996-07-01T00:00:00Z")), 7200);
	ck_assert_int_eq(tz_offset_at(z, iso("2024-07-01T00:00:00Z")), 3600);
	tz_free(z);

	/* version 3: a footer with negative transition times, the same as its POSIX string in
	 * a version 2 file */
	z = scratch_zone("Test/V3", buf, build(buf, &v3), err, sizeof err);
	ck_assert_msg(z != NULL, "%s", err);
	ck_assert_ptr_nonnull(p = posix_zone("V3rule", v3.footer, err, sizeof err));
	for (int64_t t = iso("2000-01-01T00:00:00Z"), end = iso("2100-01-01T00:00:00Z"); t < end;
	     t += 3607 * 7)
		require(tz_offset_at(z, t) == tz_offset_at(p, t), "at %lld", (long long)t);
	ck_assert_int_eq(tz_offset_at(z, iso("2024-03-31T00:59:59Z")), -10800);
	ck_assert_int_eq(tz_offset_at(z, iso("2024-03-31T01:00:00Z")), -7200);
	tz_free(z);
	tz_free(p);

	/* version 2: the 64-bit data (1811 is beyond 32 bits), not the 32-bit block's +5h;
	 * an empty footer: the last type after the last transition */
	z = scratch_zone("Test/V2", buf, build(buf, &v2), err, sizeof err);
	ck_assert_msg(z != NULL, "%s", err);
	ck_assert_int_eq(tz_offset_at(z, iso("1800-01-01T00:00:00Z")), 3600);
	ck_assert_int_eq(tz_offset_at(z, iso("1900-01-01T00:00:00Z")), 3600);
	ck_assert_int_eq(tz_offset_at(z, iso("1996-07-01T00:00:00Z")), 7200);
	ck_assert_int_eq(tz_offset_at(z, iso("2300-07-01T00:00:00Z")), 3600);
	tz_free(z);

	/* UTC needs no file, even where TZDIR has none */
	z = zone("UTC");
	ck_assert_int_eq(tz_offset_at(z, 0), 0);
	tz_free(z);
	ck_assert_ptr_null(tz_load("Europe/Berlin", err, sizeof err));
	ck_assert_str_eq(err, "tz: unknown time zone \"Europe/Berlin\"");

	scratch_close();
}
END_TEST

static const struct {
	const char *name, *msg;
} bad_names[] = {
	{"", "tz: bad time zone name \"\""},
	{"../etc/passwd", "tz: bad time zone name \"../etc/passwd\""},
	{"Europe/../../etc/passwd", "tz: bad time zone name \"Europe/../../etc/passwd\""},
	{"/etc/localtime", "tz: bad time zone name \"/etc/localtime\""},
	{"Europe/Ber lin", "tz: bad time zone name \"Europe/Ber lin\""},
	{"zone1970.tab", "tz: bad time zone name \"zone1970.tab\""},
	{"Europe/Berlin\n", "tz: bad time zone name \"Europe/Berlin?\""},
	{"Europe/Berlin;rm", "tz: bad time zone name \"Europe/Berlin;rm\""},
	{"A234567890123456789012345678901234567890123456789012345678901234X",
	 "tz: bad time zone name "
	 "\"A234567890123456789012345678901234567890123456789012345678901234\" (too long)"},
	{"Mars/Olympus_Mons", "tz: unknown time zone \"Mars/Olympus_Mons\""},
	{"Europe", "tz: unknown time zone \"Europe\""},
	{"Europe/Berlin/x", "tz: unknown time zone \"Europe/Berlin/x\""},
	{"right/UTC", "tz: \"right/UTC\": leap-second zones (right/) are not supported"},
};

START_TEST(refused_names)
{
	char err[256] = "", *old;

	if (!strcmp(bad_names[_i].name, "right/UTC") &&
	    access("/usr/share/zoneinfo/right/UTC", R_OK) != 0)
		return; /* tzdata without the right/ zones */
	old = getenv("TZDIR") ? strdup(getenv("TZDIR")) : NULL;
	unsetenv("TZDIR");
	ck_assert_ptr_null(tz_load(bad_names[_i].name, err, sizeof err));
	if (old)
		setenv("TZDIR", old, 1);
	free(old);
	ck_assert_str_eq(err, bad_names[_i].msg);
}
END_TEST

/* malformed files are refused with a message, never read beyond their end */
START_TEST(malformed_files)
{
	static unsigned char buf[4096];
	static const int64_t down[] = {846378000, 828234000};
	static const unsigned char bad_idx[] = {1, 2};
	static const int32_t huge[] = {3600, 26 * 3600};
	const struct tzif good = {'2', 2, 2, 0, berlin96, cet_cest, cet_offs, eu_rule, 0, NULL};
	struct tzif z;
	char err[256], name[32], want[128];
	size_t len;
	struct {
		const char *what;
		struct tzif z;
	} bad[7];
	int nbad = 0;

	scratch_open();
	len = build(buf, &good);
	/* every truncation */
	for (size_t cut = 0; cut < len; cut++) {
		struct tz *t;
		snprintf(name, sizeof name, "T%zu", cut);
		t = scratch_zone(name, buf, cut, err, sizeof err);
		snprintf(want, sizeof want, "tz: \"%s\": not a TZif file, or a malformed one",
			 name);
		require(t == NULL, "accepted %zu of %zu bytes", cut, len);
		ck_assert_str_eq(err, want);
	}
	buf[0] = 'X';
	ck_assert_ptr_null(scratch_zone("X", buf, len, err, sizeof err));
	ck_assert_str_eq(err, "tz: \"X\": not a TZif file, or a malformed one");

	z = good;
	z.trans = down;
	bad[nbad].what = "transitions out of order";
	bad[nbad++].z = z;
	z = good;
	z.idx = bad_idx;
	bad[nbad].what = "a type that is not there";
	bad[nbad++].z = z;
	z = good;
	z.offs = huge;
	bad[nbad].what = "an offset of 26 hours";
	bad[nbad++].z = z;
	z = good;
	z.nleap = 1;
	bad[nbad].what = "a leap second";
	bad[nbad++].z = z;
	z = good;
	z.ntypes = 0;
	z.ntrans = 0;
	bad[nbad].what = "no types";
	bad[nbad++].z = z;
	z = good;
	z.footer = "CET-1CEST";
	bad[nbad].what = "a footer without its rule";
	bad[nbad++].z = z;
	for (int i = 0; i < nbad; i++) {
		snprintf(name, sizeof name, "B%d", i);
		len = build(buf, &bad[i].z);
		ck_assert_msg(scratch_zone(name, buf, len, err, sizeof err) == NULL, "accepted %s",
			      bad[i].what);
		snprintf(want, sizeof want, "tz: \"%s\": not a TZif file, or a malformed one",
			 name);
		ck_assert_str_eq(err, want);
	}
	scratch_close();
}
END_TEST

Suite *suite_tz(void)
{
	Suite *s = suite_create("tz");
	TCase *tc = tcase_create("tz");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, posix_strings_match_glibc, 0,
			    (int)(sizeof posix_specs / sizeof posix_specs[0]));
	tcase_add_test(tc, rule_edges);
	tcase_add_loop_test(tc, bad_posix_strings, 0,
			    (int)(sizeof bad_specs / sizeof bad_specs[0]));
	tcase_add_test(tc, slim_files);
	tcase_add_test(tc, file_versions);
	tcase_add_loop_test(tc, refused_names, 0, (int)(sizeof bad_names / sizeof bad_names[0]));
	tcase_add_test(tc, malformed_files);
	suite_add_tcase(s, tc);
	return s;
}
