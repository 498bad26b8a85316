/*
 * fuzz_config: lib/config.c — config_parse_long(), command lines and configuration files.
 *
 * Input: the first byte selects the mode, the rest is
 *   0: a number (cut at a NUL) and its range: config_parse_long() against a reference;
 *   1: a command line, arguments separated by NUL bytes: config_parse();
 *   2: a configuration file (in a memfd, read through --config=/proc/self/fd/N).
 * Oracles: on success every CFG_INT option is within its range, every CFG_BOOL is 0 or 1,
 * positional arguments keep their order; an error always carries a message.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/config.h"
#include "fuzz.h"

FUZZ_TARGET(config);

/* ---- config_parse_long ------------------------------------------------------------------ */

/* The reference: optional white space, an optional sign, decimal digits, nothing else. */
static void check_long(const char *s, long min, long max)
{
	long v = 12345, want = 0;
	const char *p = s;
	int neg = 0, ok = 1, overflow = 0;
	enum taskq_rc rc = config_parse_long(s, min, max, &v);

	while (isspace((unsigned char)*p))
		p++;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (!isdigit((unsigned char)*p))
		ok = 0;
	for (; isdigit((unsigned char)*p); p++) {
		int d = *p - '0';
		if (neg ? __builtin_mul_overflow(want, 10, &want) ||
				    __builtin_sub_overflow(want, d, &want)
			: __builtin_mul_overflow(want, 10, &want) ||
				    __builtin_add_overflow(want, d, &want))
			overflow = 1;
	}
	if (*p || overflow || want < min || want > max)
		ok = 0;
	CHECK(rc == (ok ? TASKQ_OK : TASKQ_INVAL));
	CHECK(ok ? v == want : v == 12345); /* *out untouched on failure */
}

/* ---- config_parse ----------------------------------------------------------------------- */

static struct {
	const char *config, *name, *empty;
	long n, big, neg, flag;
} g;

static const struct config_opt g_opts[] = {
	{"config", NULL, CFG_STR, NULL, 0, 0, "file", &g.config},
	{"name", "FUZZ_TASKQ_NAME_UNSET", CFG_STR, "default", 0, 0, "a string", &g.name},
	{"empty", NULL, CFG_STR, NULL, 0, 0, "a string without default", &g.empty},
	{"n", NULL, CFG_INT, "8", 1, 256, "small", &g.n},
	{"big", NULL, CFG_INT, "1048576", 1024, 64L << 20, "large", &g.big},
	{"neg", NULL, CFG_INT, "0", -100, 100, "signed", &g.neg},
	{"flag", NULL, CFG_BOOL, "off", 0, 1, "a switch", &g.flag},
};
#define NOPTS (sizeof g_opts / sizeof g_opts[0])

static void check_parse(int argc, char **argv)
{
	char **orig = malloc(sizeof *orig * (size_t)argc);
	struct taskq_err err = {.msg = ""};
	int npos = -1, help = -1;
	enum taskq_rc rc;

	if (!orig)
		abort();
	memcpy(orig, argv, sizeof *orig * (size_t)argc);
	memset(&g, 0, sizeof g);
	rc = config_parse(g_opts, NOPTS, argc, argv, &npos, &help, &err);
	CHECK(rc == TASKQ_OK || rc == TASKQ_INVAL);
	CHECK(help == 0 || help == 1);
	if (rc != TASKQ_OK) {
		CHECK(err.rc == rc && err.msg[0] && memchr(err.msg, '\0', sizeof err.msg));
	} else if (!help) {
		CHECK(npos >= 0 && npos <= argc - 1);
		CHECK(g.n >= 1 && g.n <= 256);
		CHECK(g.big >= 1024 && g.big <= 64L << 20);
		CHECK(g.neg >= -100 && g.neg <= 100);
		CHECK(g.flag == 0 || g.flag == 1);
		CHECK(g.name != NULL);
		/* positional arguments: a subsequence of the original ones, in order */
		for (int i = 1, j = 1; i <= npos; i++, j++) {
			while (j < argc && orig[j] != argv[i])
				j++;
			CHECK(j < argc);
			CHECK(strncmp(argv[i], "--", 2) != 0 || argv[i][2] == '\0');
		}
	}
	config_cleanup();
	free(orig);
}

static void fuzz_argv(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), **argv;
	int argc = 1;

	if (!buf)
		abort();
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (size_t i = 0; i < size; i++)
		argc += buf[i] == '\0';
	argc += 1;
	argv = calloc((size_t)argc + 1, sizeof *argv);
	if (!argv)
		abort();
	argv[0] = "taskq-fuzz";
	argc = 1;
	for (char *p = buf; p <= buf + size; p += strlen(p) + 1) {
		/* no --config here: it would open whatever file the input names */
		if (!strncmp(p, "--config", 8) || !strncmp(p, "--conf", 6))
			argv[argc++] = "--name";
		else
			argv[argc++] = p;
	}
	check_parse(argc, argv);
	free(argv);
	free(buf);
}

static void fuzz_file(const uint8_t *data, size_t size)
{
	static int fd = -1;
	char arg[64];
	char *argv[3] = {"taskq-fuzz", arg, NULL};

	if (fd < 0 && (fd = memfd_create("fuzz_config", 0)) < 0)
		abort();
	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	snprintf(arg, sizeof arg, "--config=/proc/self/fd/%d", fd);
	check_parse(2, argv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 65536)
		return -1;
	switch (data[0] % 3) {
	case 0: {
		static const long ranges[][2] = {
			{0, 1000000},
			{1, 500},
			{0, 1L << 40},
			{1, 100000},
			{1, 999},
			{-100, 100},
			{-__LONG_MAX__ - 1, __LONG_MAX__},
			{1024, 64L << 20},
		};
		char *s = strndup((const char *)data + 1, size - 1);
		if (!s)
			abort();
		check_long(s, ranges[(data[0] / 3) % 8][0], ranges[(data[0] / 3) % 8][1]);
		free(s);
		break;
	}
	case 1:
		fuzz_argv(data + 1, size - 1);
		break;
	default:
		fuzz_file(data + 1, size - 1);
		break;
	}
	return 0;
}
