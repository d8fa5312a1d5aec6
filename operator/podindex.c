/* The newest pod of each Job (podindex.h). */
#include "operator/podindex.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "common/xmalloc.h"

struct podindex {
	pthread_mutex_t lock;
	struct lh_table *jobs; /* "ns/job" (owned) -> struct pick (owned) */
};

struct pick {
	char *pod;
	char *created; /* RFC 3339, compares as text; "" when absent */
};

static void pick_free(struct lh_entry *e)
{
	struct pick *p = (struct pick *)(uintptr_t)lh_entry_v(e);
	free((void *)(uintptr_t)lh_entry_k(e));
	if (p) {
		free(p->pod);
		free(p->created);
		free(p);
	}
}

struct podindex *podindex_new(void)
{
	struct podindex *x = xcalloc(1, sizeof(*x));
	pthread_mutex_init(&x->lock, NULL);
	x->jobs = lh_kchar_table_new(256, pick_free);
	return x;
}

void podindex_free(struct podindex *x)
{
	if (!x)
		return;
	lh_table_free(x->jobs);
	pthread_mutex_destroy(&x->lock);
	free(x);
}

static const char *meta_str(struct json_object *pod, const char *key)
{
	struct json_object *m = NULL, *v = NULL;
	if (!json_object_object_get_ex(pod, "metadata", &m) ||
	    !json_object_object_get_ex(m, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* "ns/job" of pod, or NULL. */
static char *job_key(struct json_object *pod)
{
	struct json_object *m = NULL, *labels = NULL, *jn = NULL;
	const char *ns = meta_str(pod, "namespace");
	if (!ns || !json_object_object_get_ex(pod, "metadata", &m) ||
	    !json_object_object_get_ex(m, "labels", &labels) ||
	    !json_object_object_get_ex(labels, "job-name", &jn) ||
	    !json_object_is_type(jn, json_type_string))
		return NULL;
	return xasprintf("%s/%s", ns, json_object_get_string(jn));
}

/* Whether (created, name) is newer than p's. */
static int newer(const char *created, const char *name, const struct pick *p)
{
	int c = strcmp(created, p->created);
	return c > 0 || (c == 0 && strcmp(name, p->pod) > 0);
}

void podindex_observe(struct podindex *x, struct json_object *pod)
{
	char *key = job_key(pod);
	const char *name = meta_str(pod, "name");
	if (!key || !name) {
		free(key);
		return;
	}
	const char *created = meta_str(pod, "creationTimestamp");
	if (!created)
		created = "";
	void *v = NULL;
	pthread_mutex_lock(&x->lock);
	if (lh_table_lookup_ex(x->jobs, key, &v)) {
		struct pick *p = v;
		if (strcmp(p->pod, name) != 0 && newer(created, name, p)) {
			free(p->pod);
			free(p->created);
			p->pod = xstrdup(name);
			p->created = xstrdup(created);
		}
		free(key);
	} else {
		struct pick *p = xcalloc(1, sizeof(*p));
		p->pod = xstrdup(name);
		p->created = xstrdup(created);
		lh_table_insert(x->jobs, key, p); /* the table owns key */
	}
	pthread_mutex_unlock(&x->lock);
}

int podindex_forget(struct podindex *x, struct json_object *pod)
{
	char *key = job_key(pod);
	const char *name = meta_str(pod, "name");
	int was = 0;
	if (!key || !name) {
		free(key);
		return 0;
	}
	void *v = NULL;
	pthread_mutex_lock(&x->lock);
	if (lh_table_lookup_ex(x->jobs, key, &v) && strcmp(((struct pick *)v)->pod, name) == 0) {
		lh_table_delete(x->jobs, key);
		was = 1;
	}
	pthread_mutex_unlock(&x->lock);
	free(key);
	return was;
}

char *podindex_get(struct podindex *x, const char *ns, const char *job)
{
	char *key = xasprintf("%s/%s", ns, job), *out = NULL;
	void *v = NULL;
	pthread_mutex_lock(&x->lock);
	if (lh_table_lookup_ex(x->jobs, key, &v))
		out = xstrdup(((struct pick *)v)->pod);
	pthread_mutex_unlock(&x->lock);
	free(key);
	return out;
}

unsigned long podindex_len(struct podindex *x)
{
	pthread_mutex_lock(&x->lock);
	unsigned long n = (unsigned long)lh_table_length(x->jobs);
	pthread_mutex_unlock(&x->lock);
	return n;
}
