/* record: freeing and encoding a record by its field table (see record.h). */
#include "model/record.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/printbuf.h>

#include "base/xalloc.h"

static int raw_text(json_object *jso, struct printbuf *pb, int level, int flags)
{
	const char *text = json_object_get_userdata(jso);

	(void)level;
	(void)flags;
	return printbuf_memappend(pb, text, (int)strlen(text));
}

static void free_text(json_object *jso, void *userdata)
{
	(void)jso;
	free(userdata);
}

void json_add_raw(json_object *o, const char *key, const char *text)
{
	json_object *v = NULL;

	if (text) {
		v = json_object_new_object();
		json_object_set_serializer(v, raw_text, xstrdup(text), free_text);
	}
	json_object_object_add(o, key, v);
}

static bool owned(enum field_type type)
{
	return type == FIELD_STR || type == FIELD_JSON || type == FIELD_TIME || type == FIELD_IDS;
}

void record_cleanup(const struct record_type *t, void *rec)
{
	for (size_t i = 0; i < t->n; i++)
		if (owned(t->f[i].type))
			free(*(char **)record_at(rec, &t->f[i]));
}

void records_free(const struct record_type *t, void *v, int n, size_t size)
{
	for (int i = 0; i < n; i++)
		record_cleanup(t, (char *)v + (size_t)i * size);
	free(v);
}

static json_object *field_json(const struct field *f, const void *rec)
{
	const void *p = record_at(rec, f);
	const char *s = owned(f->type) ? *(char *const *)p : NULL;

	switch (f->type) {
	case FIELD_CHARS:
		return json_object_new_string(p);
	case FIELD_STR:
	case FIELD_TIME:
		return s ? json_object_new_string(s) : NULL;
	case FIELD_INT:
		return json_object_new_int(*(const int *)p);
	case FIELD_INT_OPT:
		return *(const int *)p >= 0 ? json_object_new_int(*(const int *)p) : NULL;
	case FIELD_LL:
		return json_object_new_int64(*(const long long *)p);
	case FIELD_DOUBLE:
		return json_object_new_double(*(const double *)p);
	case FIELD_BOOL:
		return json_object_new_boolean(*(const bool *)p);
	case FIELD_ENUM: {
		int v = *(const int *)p;

		return v >= 0 && v < f->dflt ? json_object_new_string(f->names[v]) : NULL;
	}
	case FIELD_JSON:
	case FIELD_IDS:
		break;
	}
	return NULL;
}

int record_enum(const struct field *f, const char *name)
{
	for (int v = 0; v < f->dflt; v++)
		if (!strcmp(f->names[v], name))
			return v;
	return -1;
}

void record_to_json(const struct record_type *t, const void *rec, json_object *o)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct field *f = &t->f[i];

		if (f->hidden)
			continue;
		if (f->type == FIELD_JSON || f->type == FIELD_IDS)
			json_add_raw(o, f->name, *(char *const *)record_at(rec, f));
		else
			json_object_object_add(o, f->name, field_json(f, rec));
	}
}

json_object *records_to_json(const struct record_type *t, const void *v, int n, size_t size)
{
	json_object *arr = json_object_new_array_ext(n);

	for (int i = 0; i < n; i++) {
		json_object *o = json_object_new_object();

		record_to_json(t, (const char *)v + (size_t)i * size, o);
		json_object_array_add(arr, o);
	}
	return arr;
}
