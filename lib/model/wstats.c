/* wstats: a worker's counters ↔ JSON (see wstats.h). */
#include "model/wstats.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

static const char *const g_outcome_name[WS_NOUTCOMES] = {
	[WS_SUCCEEDED] = "succeeded", [WS_FAILED] = "failed",     [WS_RETRIED] = "retried",
	[WS_CANCELLED] = "cancelled", [WS_RELEASED] = "released", [WS_LOST] = "lost",
};

static const char *const g_db_name[WSDB_N] = {
	[WSDB_LOST] = "lost",
	[WSDB_RECONNECTS] = "reconnects",
	[WSDB_CONNECT_FAILED] = "connect_failed",
	[WSDB_STATEMENT_ERRORS] = "statement_errors",
};

void wstats_init(struct wstats *s)
{
	memset(s, 0, sizeof *s);
}

void wstats_cleanup(struct wstats *s)
{
	for (size_t i = 0; i < s->nkinds; i++)
		free(s->kinds[i].name);
	free(s->kinds);
	wstats_init(s);
}

void wstats_add_kind(struct wstats *s, const char *name, unsigned long long count, double sum_s)
{
	s->kinds = xrealloc(s->kinds, (s->nkinds + 1) * sizeof *s->kinds);
	s->kinds[s->nkinds++] = (struct wstats_kind){xstrdup(name), count, sum_s};
}

const char *wstats_outcome_name(enum wstats_outcome o)
{
	return (unsigned)o < WS_NOUTCOMES ? g_outcome_name[o] : NULL;
}

const char *wstats_db_name(enum wstats_db d)
{
	return (unsigned)d < WSDB_N ? g_db_name[d] : NULL;
}

/* ---- encoding ------------------------------------------------------------------------ */

static json_object *u64(unsigned long long v)
{
	return json_object_new_uint64(v);
}

/* A bound as an integer when it is one (the worker's are: 1, 2, 4 …), else a number. */
static json_object *bound(double v)
{
	if (v >= -1e15 && v <= 1e15 && v == (double)(long long)v)
		return json_object_new_int64((long long)v);
	return json_object_new_double(v);
}

/* o.key: an object of the n counters v by their names, those whose bit of has is set (the
 * bit of v[i] is first << i); nothing when none is. */
static void add_counts(json_object *o, const char *key, unsigned has, unsigned first,
		       const char *const *names, const unsigned long long *v, int n)
{
	json_object *c;

	if (!(has & ((first << n) - first)))
		return;
	c = json_object_new_object();
	for (int i = 0; i < n; i++)
		if (has & (first << i))
			json_object_object_add(c, names[i], u64(v[i]));
	json_object_object_add(o, key, c);
}

char *wstats_encode(const struct wstats *s)
{
	json_object *o = json_object_new_object(), *kinds = json_object_new_object();
	char *text;

	if (s->has & WSTATS_CLAIMED)
		json_object_object_add(o, "claimed", u64(s->claimed));
	if (s->has & WSTATS_RESCUED)
		json_object_object_add(o, "rescued", u64(s->rescued));
	add_counts(o, "outcomes", s->has, WSTATS_OUTCOME(0), g_outcome_name, s->outcome,
		   WS_NOUTCOMES);
	if (s->has & WSTATS_BATCH) {
		json_object *cb = json_object_new_object(),
			    *le = json_object_new_array_ext(s->nbounds);
		json_object *buckets = json_object_new_array_ext(s->nbounds + 1);
		for (int i = 0; i <= s->nbounds; i++) {
			json_object_array_add(buckets, u64(s->buckets[i]));
			if (i < s->nbounds)
				json_object_array_add(le, bound(s->le[i]));
		}
		json_object_object_add(cb, "le", le);
		json_object_object_add(cb, "buckets", buckets);
		json_object_object_add(cb, "sum", u64(s->batch_sum));
		json_object_object_add(cb, "count", u64(s->batch_count));
		json_object_object_add(o, "claim_batch", cb);
	}
	for (size_t i = 0; i < s->nkinds; i++) {
		json_object *k = json_object_new_object();
		json_object_object_add(k, "count", u64(s->kinds[i].count));
		json_object_object_add(k, "sum_s", json_object_new_double(s->kinds[i].sum_s));
		json_object_object_add(kinds, s->kinds[i].name, k);
	}
	json_object_object_add(o, "kinds", kinds);
	add_counts(o, "db", s->has, WSTATS_DB(0), g_db_name, s->db, WSDB_N);
	text = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return text;
}

/* ---- decoding ------------------------------------------------------------------------ */

static json_object *jget(json_object *o, const char *key)
{
	json_object *v = NULL;
	return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

/* A non-negative integer: member key of o, or o itself when key is NULL. */
static bool ju64(json_object *o, const char *key, unsigned long long *v)
{
	json_object *x = key ? jget(o, key) : o;

	if (!x || !json_object_is_type(x, json_type_int) || json_object_get_int64(x) < 0)
		return false;
	*v = (unsigned long long)json_object_get_uint64(x);
	return true;
}

/* A non-negative number member. */
static bool jnum(json_object *o, const char *key, double *v)
{
	json_object *x = jget(o, key);

	if (!x ||
	    !(json_object_is_type(x, json_type_int) || json_object_is_type(x, json_type_double)))
		return false;
	*v = json_object_get_double(x);
	return *v >= 0;
}

/* claim_batch: all of it or nothing (then the batch members stay zero). */
static void decode_batch(json_object *cb, struct wstats *s)
{
	json_object *le = jget(cb, "le"), *bk = jget(cb, "buckets");
	unsigned long long count = 0;
	int nb;

	if (!le || !bk || !json_object_is_type(le, json_type_array) ||
	    !json_object_is_type(bk, json_type_array) || !ju64(cb, "sum", &s->batch_sum))
		goto bad;
	nb = (int)json_object_array_length(le);
	if (nb > WSTATS_MAX_BOUNDS || (int)json_object_array_length(bk) != nb + 1)
		goto bad;
	for (int i = 0; i <= nb; i++) {
		json_object *b;

		if (!ju64(json_object_array_get_idx(bk, (size_t)i), NULL, &s->buckets[i]))
			goto bad;
		count += s->buckets[i];
		if (i == nb)
			break;
		b = json_object_array_get_idx(le, (size_t)i);
		if (!json_object_is_type(b, json_type_int) &&
		    !json_object_is_type(b, json_type_double))
			goto bad;
		s->le[i] = json_object_get_double(b);
		if (i > 0 && s->le[i] <= s->le[i - 1])
			goto bad;
	}
	s->nbounds = nb;
	if (!ju64(cb, "count", &s->batch_count))
		s->batch_count = count; /* redundant with the buckets: a writer may leave it out */
	s->has |= WSTATS_BATCH;
	return;
bad:
	memset(s->le, 0, sizeof s->le);
	memset(s->buckets, 0, sizeof s->buckets);
	s->batch_sum = 0;
}

static void decode_kinds(json_object *kinds, struct wstats *s)
{
	if (!kinds || !json_object_is_type(kinds, json_type_object))
		return;
	json_object_object_foreach(kinds, name, k) {
		unsigned long long count;
		double sum;

		if (ju64(k, "count", &count) && jnum(k, "sum_s", &sum))
			wstats_add_kind(s, name, count, sum);
	}
}

enum taskq_rc wstats_decode(const char *text, struct wstats *out, struct taskq_err *err)
{
	json_object *j = text ? json_tokener_parse(text) : NULL, *o, *d;

	wstats_init(out);
	if (!j || !json_object_is_type(j, json_type_object)) {
		json_object_put(j);
		return taskq_fail(err, TASKQ_INVAL, "worker metrics: not a JSON object");
	}
	if (ju64(j, "claimed", &out->claimed))
		out->has |= WSTATS_CLAIMED;
	if (ju64(j, "rescued", &out->rescued))
		out->has |= WSTATS_RESCUED;
	o = jget(j, "outcomes");
	for (int i = 0; o && i < WS_NOUTCOMES; i++)
		if (ju64(o, g_outcome_name[i], &out->outcome[i]))
			out->has |= WSTATS_OUTCOME(i);
	if ((o = jget(j, "claim_batch")))
		decode_batch(o, out);
	decode_kinds(jget(j, "kinds"), out);
	d = jget(j, "db");
	for (int i = 0; d && i < WSDB_N; i++)
		if (ju64(d, g_db_name[i], &out->db[i]))
			out->has |= WSTATS_DB(i);
	json_object_put(j);
	return TASKQ_OK;
}
