/* bgthread: a worker's background thread and its connection (see bgthread.h). */
#include "bgthread.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "store/live.h"

void bg_start(struct bgthread *b, const char *conninfo, const char *app, unsigned session,
	      void *(*fn)(void *), void *arg)
{
	int rc;

	atomic_init(&b->stopping, false);
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->work, NULL);
	pthread_cond_init(&b->done, NULL);
	b->db = store_open(conninfo, app);
	db_session(b->db, session);
	if ((rc = pthread_create(&b->thread, NULL, fn, arg)) != 0) {
		log_error("event=thread_start_failed thread=%s msg=\"%s\"", app,
			  strerrordesc_np(rc));
		abort();
	}
}

void bg_stop(struct bgthread *b)
{
	pthread_mutex_lock(&b->lock);
	atomic_store(&b->stopping, true);
	pthread_cond_broadcast(&b->work);
	pthread_mutex_unlock(&b->lock);
	pthread_join(b->thread, NULL);
	db_free(b->db);
	pthread_cond_destroy(&b->done);
	pthread_cond_destroy(&b->work);
	pthread_mutex_destroy(&b->lock);
}
