/* Tests for operator/labelindex.c: objects by namespace and label value. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "operator/labelindex.h"

static struct json_object *obj(const char *ns, const char *name, const char *schedule)
{
	struct json_object *o = json_object_new_object(), *m = json_object_new_object();
	json_object_object_add(o, "metadata", m);
	json_object_object_add(m, "namespace", json_object_new_string(ns));
	json_object_object_add(m, "name", json_object_new_string(name));
	if (schedule) {
		struct json_object *l = json_object_new_object();
		json_object_object_add(l, "lifeboat.dev/schedule",
				       json_object_new_string(schedule));
		json_object_object_add(m, "labels", l);
	}
	return o;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names under ns/value, sorted and joined with ",". */
static char *names(struct labelindex *x, const char *ns, const char *value)
{
	char **v = NULL;
	size_t n = labelindex_get(x, ns, value, &v);
	if (n)
		qsort(v, n, sizeof(*v), cmp);
	char *out = calloc(1, 512);
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(out, ",");
		strcat(out, v[i]);
	}
	labelindex_names_free(v, n);
	return out;
}

static void expect(struct labelindex *x, const char *ns, const char *value, const char *want)
{
	char *got = names(x, ns, value);
	assert_string_equal(got, want);
	free(got);
}

static void labelindex__files_moves_and_forgets(void **state)
{
	(void)state;
	struct labelindex *x = labelindex_new("lifeboat.dev/schedule");
	struct json_object *a = obj("app", "nightly-1", "nightly"),
			   *b = obj("app", "nightly-2", "nightly"),
			   *c = obj("other", "nightly-1", "nightly"),
			   *loose = obj("app", "by-hand", NULL);
	labelindex_observe(x, a);
	labelindex_observe(x, b);
	labelindex_observe(x, b); /* again: no second copy */
	labelindex_observe(x, c);
	labelindex_observe(x, loose);
	expect(x, "app", "nightly", "nightly-1,nightly-2");
	expect(x, "other", "nightly", "nightly-1");
	expect(x, "app", "weekly", "");
	/* The label changes: the object moves. */
	struct json_object *b2 = obj("app", "nightly-2", "weekly");
	labelindex_observe(x, b2);
	expect(x, "app", "nightly", "nightly-1");
	expect(x, "app", "weekly", "nightly-2");
	/* The label goes: the object leaves. */
	struct json_object *b3 = obj("app", "nightly-2", NULL);
	labelindex_observe(x, b3);
	expect(x, "app", "weekly", "");
	labelindex_forget(x, a);
	labelindex_forget(x, a);
	labelindex_forget(x, loose);
	expect(x, "app", "nightly", "");
	expect(x, "other", "nightly", "nightly-1");
	struct json_object *junk = json_tokener_parse("{\"metadata\":[]}");
	labelindex_observe(x, junk);
	labelindex_forget(x, junk);
	json_object_put(junk);
	json_object_put(a);
	json_object_put(b);
	json_object_put(b2);
	json_object_put(b3);
	json_object_put(c);
	json_object_put(loose);
	labelindex_free(x);
	labelindex_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(labelindex__files_moves_and_forgets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
