/* Tests for operator/podindex.c: each Job's newest pod. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "operator/podindex.h"

static struct json_object *pod(const char *ns, const char *name, const char *job,
			       const char *created)
{
	struct json_object *o = json_object_new_object(), *m = json_object_new_object();
	json_object_object_add(o, "metadata", m);
	json_object_object_add(m, "namespace", json_object_new_string(ns));
	json_object_object_add(m, "name", json_object_new_string(name));
	if (created)
		json_object_object_add(m, "creationTimestamp", json_object_new_string(created));
	if (job) {
		struct json_object *l = json_object_new_object();
		json_object_object_add(l, "job-name", json_object_new_string(job));
		json_object_object_add(m, "labels", l);
	}
	return o;
}

static void expect(struct podindex *x, const char *ns, const char *job, const char *want)
{
	char *got = podindex_get(x, ns, job);
	if (!want)
		assert_null(got);
	else
		assert_string_equal(got, want);
	free(got);
}

static void observe(struct podindex *x, struct json_object *p)
{
	podindex_observe(x, p);
}

static void podindex__keeps_the_newest_pod_per_job(void **state)
{
	(void)state;
	struct podindex *x = podindex_new();
	struct json_object *a = pod("app", "b1-backup-aaaa", "b1-backup", "2026-12-01T10:00:00Z");
	struct json_object *b = pod("app", "b1-backup-bbbb", "b1-backup", "2026-12-01T10:05:00Z");
	struct json_object *other =
	    pod("other", "b1-backup-cccc", "b1-backup", "2026-12-01T11:00:00Z");
	struct json_object *loose = pod("app", "not-a-job-pod", NULL, "2026-12-01T12:00:00Z");
	observe(x, a);
	expect(x, "app", "b1-backup", "b1-backup-aaaa");
	observe(x, b);
	expect(x, "app", "b1-backup", "b1-backup-bbbb");
	/* An update of the older pod does not take the entry back. */
	observe(x, a);
	expect(x, "app", "b1-backup", "b1-backup-bbbb");
	/* Namespaces apart; pods without job-name ignored. */
	observe(x, other);
	observe(x, loose);
	expect(x, "other", "b1-backup", "b1-backup-cccc");
	expect(x, "app", "not-a-job-pod", NULL);
	assert_int_equal(podindex_len(x), 2);
	/* Deleting a pod that is not the entry changes nothing. */
	assert_int_equal(podindex_forget(x, a), 0);
	expect(x, "app", "b1-backup", "b1-backup-bbbb");
	/* Deleting the entry's pod: gone, the caller re-offers the rest. */
	assert_int_equal(podindex_forget(x, b), 1);
	expect(x, "app", "b1-backup", NULL);
	observe(x, a);
	expect(x, "app", "b1-backup", "b1-backup-aaaa");
	assert_int_equal(podindex_forget(x, loose), 0);
	json_object_put(a);
	json_object_put(b);
	json_object_put(other);
	json_object_put(loose);
	podindex_free(x);
	podindex_free(NULL);
}

static void podindex__ties_and_missing_timestamps(void **state)
{
	(void)state;
	struct podindex *x = podindex_new();
	/* Same second: the larger name wins, in either order of arrival. */
	struct json_object *p1 = pod("ns", "j-aaaa", "j", "2026-12-01T10:00:00Z");
	struct json_object *p2 = pod("ns", "j-zzzz", "j", "2026-12-01T10:00:00Z");
	observe(x, p2);
	observe(x, p1);
	expect(x, "ns", "j", "j-zzzz");
	/* A pod without creationTimestamp is older than any with one. */
	struct json_object *p3 = pod("ns", "k-1", "k", NULL);
	struct json_object *p4 = pod("ns", "k-0", "k", "2026-12-01T09:00:00Z");
	observe(x, p3);
	expect(x, "ns", "k", "k-1");
	observe(x, p4);
	expect(x, "ns", "k", "k-0");
	/* Garbage is ignored. */
	struct json_object *junk = json_tokener_parse("{\"metadata\":7}");
	observe(x, junk);
	assert_int_equal(podindex_forget(x, junk), 0);
	assert_int_equal(podindex_len(x), 2);
	json_object_put(junk);
	json_object_put(p1);
	json_object_put(p2);
	json_object_put(p3);
	json_object_put(p4);
	podindex_free(x);
}

struct hammer {
	struct podindex *x;
	int id;
};

static void *hammer(void *ud)
{
	struct hammer *h = ud;
	for (int i = 0; i < 2000; i++) {
		char name[64], job[32], ts[32];
		snprintf(job, sizeof(job), "job-%d", i % 50);
		snprintf(name, sizeof(name), "%s-%d-%d", job, h->id, i);
		snprintf(ts, sizeof(ts), "2026-12-01T10:%02d:%02dZ", (i / 60) % 60, i % 60);
		struct json_object *p = pod("ns", name, job, ts);
		podindex_observe(h->x, p);
		if (i % 3 == 0)
			(void)podindex_forget(h->x, p);
		char *got = podindex_get(h->x, "ns", job);
		free(got);
		json_object_put(p);
	}
	return NULL;
}

/* Four threads at once (the informer's handler and the workers): no
 * crash, no leak (ASan), and the index stays bounded by the Jobs. */
static void podindex__is_thread_safe(void **state)
{
	(void)state;
	struct podindex *x = podindex_new();
	pthread_t t[4];
	struct hammer h[4];
	for (int i = 0; i < 4; i++) {
		h[i] = (struct hammer){x, i};
		assert_int_equal(pthread_create(&t[i], NULL, hammer, &h[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	assert_true(podindex_len(x) <= 50);
	podindex_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(podindex__keeps_the_newest_pod_per_job),
	    cmocka_unit_test(podindex__ties_and_missing_timestamps),
	    cmocka_unit_test(podindex__is_thread_safe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
