/* queues: parsing the worker's --queues list. Pure code, unit-tested. */
#include "queues.h"

#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "model/task.h"
#include "base/xalloc.h"

int queues_parse(const char *spec, char **names, int *limits, int max)
{
	int n = 0;

	for (const char *q = spec; *q;) {
		size_t len = strcspn(q, ","), nlen = strcspn(q, "=,");
		char name[80];
		long lim = 0;

		if (nlen == 0 || nlen >= sizeof name || n >= max)
			goto bad;
		memcpy(name, q, nlen);
		name[nlen] = '\0';
		if (!task_name_valid(name))
			goto bad;
		if (nlen < len) {
			char num[16];
			size_t dl = len - nlen - 1;
			if (dl == 0 || dl >= sizeof num)
				goto bad;
			memcpy(num, q + nlen + 1, dl);
			num[dl] = '\0';
			if (config_parse_long(num, 1, 100000, &lim) != TASKQ_OK)
				goto bad;
		}
		names[n] = xstrdup(name);
		limits[n++] = (int)lim;
		q += len + (q[len] == ',');
	}
	return n > 0 ? n : -1;
bad:
	for (int i = 0; i < n; i++)
		free(names[i]);
	return -1;
}
