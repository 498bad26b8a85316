/* kindcache: a TTL cache of taskq.kinds. */
#include "kindcache.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "store/tasks.h"

#define KINDCACHE_TTL_S 5.0
#define KINDCACHE_MISS_REFRESH_S 1.0

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static char **g_names;
static int g_n;
static double g_loaded_at = -1e9;

static void free_names(char **names, int n)
{
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static bool do_find(const char *kind)
{
	for (int i = 0; i < g_n; i++)
		if (!strcmp(g_names[i], kind))
			return true;
	return false;
}

/* Caller holds g_lock. */
static enum taskq_rc do_reload(struct db *db, struct taskq_err *err)
{
	char **names;
	int n;
	enum taskq_rc rc = store_kinds(db, &names, &n, err);

	if (rc)
		return rc;
	free_names(g_names, g_n);
	g_names = names;
	g_n = n;
	g_loaded_at = clock_mono_s();
	return TASKQ_OK;
}

enum taskq_rc kindcache_check(struct db *db, const char *kind, struct taskq_err *err)
{
	enum taskq_rc rc = TASKQ_OK;
	double age;
	bool found;

	pthread_mutex_lock(&g_lock);
	age = clock_mono_s() - g_loaded_at;
	if (age > KINDCACHE_TTL_S)
		rc = do_reload(db, err);
	found = rc == TASKQ_OK && do_find(kind);
	if (rc == TASKQ_OK && !found && age > KINDCACHE_MISS_REFRESH_S && age <= KINDCACHE_TTL_S) {
		rc = do_reload(db, err);
		found = rc == TASKQ_OK && do_find(kind);
	}
	pthread_mutex_unlock(&g_lock);
	if (rc)
		return rc;
	if (!found)
		return taskq_fail(err, TASKQ_UNKNOWN_KIND, "unknown task kind '%.64s'", kind);
	return TASKQ_OK;
}

void kindcache_free(void)
{
	pthread_mutex_lock(&g_lock);
	free_names(g_names, g_n);
	g_names = NULL;
	g_n = 0;
	pthread_mutex_unlock(&g_lock);
}
