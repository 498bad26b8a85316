/* fresh: the current versions taskq-fcgi knows of (see fresh.h). */
#include "fresh.h"

#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "auth.h"
#include "resp.h"
#include "base/clock.h"

#define SLOTS 8192 /* a power of two */
#define STRIPES 64

struct slot {
	char id[TASK_ID_LEN + 1]; /* lower case; "" when empty */
	char owner[65];           /* "" for none */
	long long version;
	double expires;  /* clock_mono_s() */
	uint64_t heard;  /* the tick of the last change heard of a task mapping here */
	uint64_t filled; /* the tick its record was made at (forget_all: older ones are void) */
};

static struct slot g_slots[SLOTS];
static pthread_mutex_t g_locks[STRIPES];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static atomic_uint_fast64_t g_tick = 1; /* moves on with every change heard */
static atomic_uint_fast64_t g_void_before = 0;
static atomic_bool g_listening;
static atomic_ullong g_hits;

static void init_locks(void)
{
	for (int i = 0; i < STRIPES; i++)
		pthread_mutex_init(&g_locks[i], NULL);
}

/* The slot of id (36 characters, any case), with its lower-case form in key. */
static unsigned slot_of(const char *id, char key[TASK_ID_LEN + 1])
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < TASK_ID_LEN; i++) {
		key[i] = (char)tolower((unsigned char)id[i]);
		h = (h ^ (unsigned char)key[i]) * 16777619u;
	}
	key[TASK_ID_LEN] = '\0';
	return h & (SLOTS - 1);
}

static pthread_mutex_t *lock_of(unsigned i)
{
	pthread_once(&g_once, init_locks);
	return &g_locks[i % STRIPES];
}

uint64_t fresh_begin(void)
{
	return atomic_load(&g_tick);
}

void fresh_put(const struct task *t, uint64_t since)
{
	char key[TASK_ID_LEN + 1];
	unsigned i;
	struct slot *s;
	pthread_mutex_t *m;

	if (t->state == TASK_QUEUED || !atomic_load(&g_listening) || strlen(t->id) != TASK_ID_LEN ||
	    (t->owner && strlen(t->owner) >= sizeof g_slots[0].owner) ||
	    since < atomic_load(&g_void_before))
		return;
	i = slot_of(t->id, key);
	s = &g_slots[i];
	m = lock_of(i);
	pthread_mutex_lock(m);
	if (s->heard <= since) { /* nothing mapping here was heard of since the read began */
		size_t olen =
			t->owner ? strlen(t->owner) : 0; /* < sizeof s->owner: checked above */
		memcpy(s->id, key, sizeof key);
		memcpy(s->owner, t->owner ? t->owner : "", olen);
		s->owner[olen] = '\0';
		s->version = t->version;
		s->expires = clock_mono_s() + FRESH_TTL_S;
		s->filled = since;
	}
	pthread_mutex_unlock(m);
}

bool fresh_not_modified(const struct req *r, const char *id, const char *inm, long long *version)
{
	char key[TASK_ID_LEN + 1], owner[65];
	unsigned i;
	struct slot *s;
	pthread_mutex_t *m;
	bool known;

	if (!inm || !atomic_load(&g_listening) || strlen(id) != TASK_ID_LEN)
		return false;
	i = slot_of(id, key);
	s = &g_slots[i];
	m = lock_of(i);
	pthread_mutex_lock(m);
	known = !strcmp(s->id, key) && s->filled >= atomic_load(&g_void_before) &&
		clock_mono_s() < s->expires;
	if (known) {
		*version = s->version;
		memcpy(owner, s->owner, sizeof owner);
	}
	pthread_mutex_unlock(m);
	if (!known || !etag_names(inm, *version) ||
	    !auth_sees_owner(r, key, owner[0] ? owner : NULL))
		return false;
	atomic_fetch_add_explicit(&g_hits, 1, memory_order_relaxed);
	return true;
}

void fresh_changed(const char *payload)
{
	char key[TASK_ID_LEN + 1];
	uint64_t tick = atomic_fetch_add(&g_tick, 1) + 1;

	for (const char *p = payload; *p;) {
		size_t n = strcspn(p, ",");
		if (n == TASK_ID_LEN) {
			unsigned i = slot_of(p, key);
			pthread_mutex_t *m = lock_of(i);
			pthread_mutex_lock(m);
			g_slots[i].heard = tick;
			g_slots[i].id[0] = '\0';
			pthread_mutex_unlock(m);
		}
		p += n + (p[n] == ',');
	}
}

void fresh_forget_all(void)
{
	/* records made before, and reads begun before, this tick are void */
	atomic_store(&g_void_before, atomic_fetch_add(&g_tick, 1) + 1);
}

void fresh_set_listening(bool on)
{
	if (on && !atomic_load(&g_listening))
		fresh_forget_all(); /* what changed while nobody listened was not heard */
	atomic_store(&g_listening, on);
}

void fresh_write_metrics(struct ptext *t)
{
	pt_family(t, "taskq_http_not_modified_total", "counter",
		  "GET /api/tasks/{id} answered 304 from the versions taskq-fcgi knows to be "
		  "current, without a query (source=\"memory\").");
	pt_sample_u64(t, "", (const char *const[]){"source", "memory", NULL},
		      atomic_load_explicit(&g_hits, memory_order_relaxed));
}
