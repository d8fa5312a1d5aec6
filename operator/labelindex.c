/* Objects by namespace and label value (labelindex.h). */
#include "operator/labelindex.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "common/xmalloc.h"

struct labelindex {
	const char *label;
	pthread_mutex_t lock;
	struct lh_table *groups; /* "ns/value" (owned) -> lh_table of names (owned) -> NULL */
	struct lh_table *where;	 /* "ns/name" (owned) -> its group key (owned) */
};

static void key_free(struct lh_entry *e)
{
	free((void *)(uintptr_t)lh_entry_k(e));
}

static void kv_free(struct lh_entry *e)
{
	free((void *)(uintptr_t)lh_entry_k(e));
	free((void *)(uintptr_t)lh_entry_v(e));
}

static void group_free(struct lh_entry *e)
{
	free((void *)(uintptr_t)lh_entry_k(e));
	lh_table_free((struct lh_table *)(uintptr_t)lh_entry_v(e));
}

struct labelindex *labelindex_new(const char *label)
{
	struct labelindex *x = xcalloc(1, sizeof(*x));
	x->label = label;
	pthread_mutex_init(&x->lock, NULL);
	x->groups = lh_kchar_table_new(64, group_free);
	x->where = lh_kchar_table_new(256, kv_free);
	return x;
}

void labelindex_free(struct labelindex *x)
{
	if (!x)
		return;
	lh_table_free(x->groups);
	lh_table_free(x->where);
	pthread_mutex_destroy(&x->lock);
	free(x);
}

static const char *str_at(struct json_object *o, const char *a, const char *b)
{
	struct json_object *v = NULL;
	if (!json_object_object_get_ex(o, a, &v) ||
	    (b &&
	     (!json_object_is_type(v, json_type_object) || !json_object_object_get_ex(v, b, &v))) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* Removes object key ok from its group (lock held). */
static void unfile(struct labelindex *x, const char *ok)
{
	void *g = NULL, *grp = NULL;
	if (!lh_table_lookup_ex(x->where, ok, &g))
		return;
	const char *name = strchr(ok, '/') + 1;
	if (lh_table_lookup_ex(x->groups, g, &grp)) {
		lh_table_delete(grp, name);
		if (lh_table_length(grp) == 0)
			lh_table_delete(x->groups, g);
	}
	lh_table_delete(x->where, ok);
}

void labelindex_observe(struct labelindex *x, struct json_object *obj)
{
	struct json_object *meta = NULL;
	if (!json_object_object_get_ex(obj, "metadata", &meta))
		return;
	const char *ns = str_at(meta, "namespace", NULL), *name = str_at(meta, "name", NULL);
	if (!ns || !name)
		return;
	const char *value = str_at(meta, "labels", x->label);
	char *ok = xasprintf("%s/%s", ns, name);
	char *gk = value ? xasprintf("%s/%s", ns, value) : NULL;
	pthread_mutex_lock(&x->lock);
	void *cur = NULL;
	if (lh_table_lookup_ex(x->where, ok, &cur) && gk && strcmp(cur, gk) == 0) {
		pthread_mutex_unlock(&x->lock); /* filed there already */
		free(ok);
		free(gk);
		return;
	}
	unfile(x, ok);
	if (gk) {
		void *grp = NULL;
		if (!lh_table_lookup_ex(x->groups, gk, &grp)) {
			grp = lh_kchar_table_new(16, key_free);
			lh_table_insert(x->groups, xstrdup(gk), grp);
		}
		lh_table_insert(grp, xstrdup(name), NULL);
		lh_table_insert(x->where, ok, gk); /* the table owns both */
		ok = NULL;
		gk = NULL;
	}
	pthread_mutex_unlock(&x->lock);
	free(ok);
	free(gk);
}

void labelindex_forget(struct labelindex *x, struct json_object *obj)
{
	struct json_object *meta = NULL;
	if (!json_object_object_get_ex(obj, "metadata", &meta))
		return;
	const char *ns = str_at(meta, "namespace", NULL), *name = str_at(meta, "name", NULL);
	if (!ns || !name)
		return;
	char *ok = xasprintf("%s/%s", ns, name);
	pthread_mutex_lock(&x->lock);
	unfile(x, ok);
	pthread_mutex_unlock(&x->lock);
	free(ok);
}

size_t labelindex_get(struct labelindex *x, const char *ns, const char *value, char ***names)
{
	char *gk = xasprintf("%s/%s", ns, value);
	size_t n = 0;
	*names = NULL;
	void *grp = NULL;
	pthread_mutex_lock(&x->lock);
	if (lh_table_lookup_ex(x->groups, gk, &grp)) {
		struct lh_entry *e;
		*names = xcalloc((size_t)lh_table_length(grp), sizeof(**names));
		lh_foreach((struct lh_table *)grp, e)(*names)[n++] =
		    xstrdup((const char *)lh_entry_k(e));
	}
	pthread_mutex_unlock(&x->lock);
	free(gk);
	return n;
}

void labelindex_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}
