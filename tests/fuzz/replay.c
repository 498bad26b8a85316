/*
 * replay: main() for a fuzz target built without libFuzzer. Runs LLVMFuzzerTestOneInput once
 * on each file it is given (a directory: on each regular file in it, in name order), or,
 * without arguments, on the target's seed corpus $srcdir/tests/fuzz/corpus/NAME ($srcdir as
 * make check exports it; "." without). Each input is passed in a buffer of exactly its size,
 * so that ASan sees a read past its end.
 *
 * make check builds one per target (tests/fuzz/replay_NAME) with the build's compiler and
 * flags: every build checks the seeds, under ASan and UBSan with --enable-asan. It neither
 * mutates nor writes inputs: that is ./dev fuzz's job (libFuzzer, tools/dev/fuzz.sh).
 * Exit status: 0 when every input ran (a finding aborts), 1 when one could not be read or
 * there was no input at all, 2 for a usage error.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Reads path whole into a buffer of its exact size (the caller frees it; at least 1 byte is
 * allocated); NULL on failure, with errno set. */
static uint8_t *slurp(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	uint8_t *buf = NULL;

	if (!f)
		return NULL;
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 0)
		goto out;
	*size = (size_t)st.st_size;
	buf = malloc(*size ? *size : 1);
	if (buf && fread(buf, 1, *size, f) != *size) {
		free(buf);
		buf = NULL;
		errno = EIO;
	}
out:
	fclose(f);
	return buf;
}

/* Runs one file; returns 0, or 1 when it could not be read. */
static int run_file(const char *path)
{
	size_t size = 0;
	uint8_t *data = slurp(path, &size);

	if (!data) {
		fprintf(stderr, "replay_%s: %s: %s\n", fuzz_target, path, strerror(errno));
		return 1;
	}
	printf("%s (%zu bytes)\n", path, size);
	fflush(stdout); /* the last line names the input when a finding aborts */
	LLVMFuzzerTestOneInput(data, size);
	free(data);
	return 0;
}

static int not_hidden(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

/* Runs every file of dir (or dir itself, a file); adds the inputs run to *n. */
static int run_path(const char *dir, size_t *n)
{
	struct dirent **names;
	struct stat st;
	int count, bad = 0;

	if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
		bad = run_file(dir);
		*n += !bad;
		return bad;
	}
	count = scandir(dir, &names, not_hidden, alphasort);
	if (count < 0) {
		fprintf(stderr, "replay_%s: %s: %s\n", fuzz_target, dir, strerror(errno));
		return 1;
	}
	for (int i = 0; i < count; i++) {
		char path[4096];

		if (snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name) >=
		    (int)sizeof path) {
			fprintf(stderr, "replay_%s: %s/%s: path too long\n", fuzz_target, dir,
				names[i]->d_name);
			bad = 1;
		} else if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			bad |= run_file(path);
			*n += 1;
		}
		free(names[i]);
	}
	free(names);
	return bad;
}

int main(int argc, char **argv)
{
	char seeds[4096];
	const char *srcdir = getenv("srcdir");
	size_t n = 0;
	int bad = 0;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("usage: %s [FILE|DIR...]  (default: $srcdir/tests/fuzz/corpus/%s)\n",
		       argv[0], fuzz_target);
		return 0;
	}
	if (argc > 1 && argv[1][0] == '-') {
		fprintf(stderr, "replay_%s: no options but --help (libFuzzer's are ./dev fuzz's)\n",
			fuzz_target);
		return 2;
	}
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			bad |= run_path(argv[i], &n);
	} else {
		snprintf(seeds, sizeof seeds, "%s/tests/fuzz/corpus/%s", srcdir ? srcdir : ".",
			 fuzz_target);
		bad = run_path(seeds, &n);
	}
	printf("replay_%s: %zu inputs, %s\n", fuzz_target, n,
	       bad ? "some unreadable"
	       : n ? "no finding"
		   : "none found");
	return bad || n == 0;
}
