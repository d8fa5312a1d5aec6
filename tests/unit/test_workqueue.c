/* Tests for operator/kube/workqueue.c: de-duplication, ordering, delays,
 * backoff, shutdown and behaviour under concurrent producers and consumers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/xmalloc.h"
#include "operator/kube/workqueue.h"

static int64_t fake_now(void *ud)
{
	return *(int64_t *)ud;
}

static int64_t fake_now_atomic(void *ud)
{
	return atomic_load((_Atomic int64_t *)ud);
}

static int64_t real_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Gets a key without waiting and checks it is the expected one. */
static void expect_key(struct workqueue *q, const char *want)
{
	char *key = NULL;
	int rc = workqueue_get(q, &key, 0);
	if (rc != WORKQUEUE_OK)
		fail_msg("expected key \"%s\", got status %d", want, rc);
	assert_string_equal(key, want);
	free(key);
}

static void expect_empty(struct workqueue *q)
{
	char *key = NULL;
	int rc = workqueue_get(q, &key, 0);
	if (rc == WORKQUEUE_OK) {
		fail_msg("expected no key, got \"%s\"", key);
		free(key);
	}
	assert_int_equal(rc, WORKQUEUE_TIMEOUT);
	assert_null(key);
}

static void workqueue_add__deduplicates_a_waiting_key(void **state)
{
	(void)state;
	struct workqueue *q = workqueue_new(NULL, NULL);
	workqueue_add(q, "ns/a");
	workqueue_add(q, "ns/a");
	workqueue_add(q, "ns/a");
	assert_int_equal(workqueue_len(q), 1);
	expect_key(q, "ns/a");
	expect_empty(q);
	workqueue_done(q, "ns/a");
	expect_empty(q);
	workqueue_free(q);
}

static void workqueue_get__hands_out_distinct_keys_in_fifo_order(void **state)
{
	(void)state;
	struct workqueue *q = workqueue_new(NULL, NULL);
	char key[32];
	/* Enough keys to grow the hash table and the ring several times. */
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "ns/k%d", i);
		workqueue_add(q, key);
	}
	workqueue_add(q, "ns/k0");
	assert_int_equal(workqueue_len(q), 1000);
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "ns/k%d", i);
		expect_key(q, key);
		/* Interleave with new adds so the ring wraps around. */
		if (i < 500) {
			char more[32];
			snprintf(more, sizeof(more), "other/k%d", i);
			workqueue_add(q, more);
		}
		workqueue_done(q, key);
	}
	for (int i = 0; i < 500; i++) {
		snprintf(key, sizeof(key), "other/k%d", i);
		expect_key(q, key);
		workqueue_done(q, key);
	}
	expect_empty(q);
	workqueue_free(q);
}

static void workqueue_done__requeues_a_key_added_while_processing_once(void **state)
{
	(void)state;
	struct workqueue *q = workqueue_new(NULL, NULL);
	workqueue_add(q, "ns/a");
	workqueue_add(q, "ns/b");
	expect_key(q, "ns/a");
	workqueue_add(q, "ns/a");
	workqueue_add(q, "ns/a");
	/* Not handed to a second worker while the first still holds it. */
	assert_int_equal(workqueue_len(q), 1);
	expect_key(q, "ns/b");
	expect_empty(q);
	workqueue_done(q, "ns/a");
	assert_int_equal(workqueue_len(q), 1);
	expect_key(q, "ns/a");
	workqueue_done(q, "ns/a");
	workqueue_done(q, "ns/b");
	expect_empty(q);
	/* done for an unknown or idle key is harmless. */
	workqueue_done(q, "ns/zzz");
	workqueue_done(q, "ns/a");
	expect_empty(q);
	workqueue_free(q);
}

static void workqueue_add_after__is_due_only_when_the_clock_passes(void **state)
{
	(void)state;
	int64_t now = 1000;
	struct workqueue *q = workqueue_new(fake_now, &now);
	workqueue_add_after(q, "ns/late", 300);
	workqueue_add_after(q, "ns/early", 100);
	workqueue_add_after(q, "ns/mid", 200);
	workqueue_add_after(q, "ns/mid2", 200);
	workqueue_add_after(q, "ns/now", 0);
	workqueue_add_after(q, "ns/negative", -5);
	assert_int_equal(workqueue_len(q), 2);
	expect_key(q, "ns/now");
	expect_key(q, "ns/negative");
	expect_empty(q);
	now = 1099;
	expect_empty(q);
	now = 1100;
	expect_key(q, "ns/early");
	expect_empty(q);
	now = 1250;
	/* Equal due times keep insertion order. */
	expect_key(q, "ns/mid");
	expect_key(q, "ns/mid2");
	expect_empty(q);
	now = 5000;
	assert_int_equal(workqueue_len(q), 1);
	expect_key(q, "ns/late");
	expect_empty(q);
	workqueue_free(q);
}

static void workqueue_add_after__earlier_due_time_wins(void **state)
{
	(void)state;
	int64_t now = 0;
	struct workqueue *q = workqueue_new(fake_now, &now);
	workqueue_add_after(q, "ns/a", 500);
	workqueue_add_after(q, "ns/a", 100);
	workqueue_add_after(q, "ns/a", 1000);
	now = 99;
	expect_empty(q);
	now = 100;
	expect_key(q, "ns/a");
	workqueue_done(q, "ns/a");
	now = 10000;
	/* The later requests were merged into the first: nothing more is due. */
	expect_empty(q);
	/* A delayed key that is also queued now is handed out once now... */
	workqueue_add_after(q, "ns/b", 50);
	workqueue_add(q, "ns/b");
	workqueue_add(q, "ns/b");
	expect_key(q, "ns/b");
	workqueue_done(q, "ns/b");
	expect_empty(q);
	/* ...and once more when the delay ends. */
	now = 10050;
	expect_key(q, "ns/b");
	workqueue_done(q, "ns/b");
	expect_empty(q);
	workqueue_free(q);
}

static void workqueue_add_after__many_keys_come_out_in_due_order(void **state)
{
	(void)state;
	int64_t now = 0;
	struct workqueue *q = workqueue_new(fake_now, &now);
	char key[32];
	/* Add in a scrambled order; due time of key i is i * 10. */
	for (int i = 0; i < 997; i++) {
		int k = (i * 389) % 997;
		snprintf(key, sizeof(key), "ns/k%d", k);
		workqueue_add_after(q, key, 10 + (int64_t)k * 10);
	}
	for (int k = 0; k < 997; k++) {
		now = 10 + (int64_t)k * 10;
		snprintf(key, sizeof(key), "ns/k%d", k);
		expect_key(q, key);
		expect_empty(q);
		workqueue_done(q, key);
	}
	workqueue_free(q);
}

static void workqueue_add_rate_limited__backoff_doubles_caps_and_forget_resets(void **state)
{
	(void)state;
	int64_t now = 0;
	struct workqueue *q = workqueue_new(fake_now, &now);
	static const int64_t want_default[] = {5, 10, 20, 40, 80, 160, 320, 640, 1280};
	for (size_t i = 0; i < sizeof(want_default) / sizeof(want_default[0]); i++) {
		assert_int_equal(workqueue_failures(q, "ns/a"), (int)i);
		workqueue_add_rate_limited(q, "ns/a");
		now += want_default[i] - 1;
		expect_empty(q);
		now += 1;
		expect_key(q, "ns/a");
		workqueue_done(q, "ns/a");
	}
	/* Failures count even while a requeue is pending; the earliest wins. */
	for (int i = 0; i < 40; i++)
		workqueue_add_rate_limited(q, "ns/cap");
	assert_int_equal(workqueue_failures(q, "ns/cap"), 40);
	now += 5;
	expect_key(q, "ns/cap");
	workqueue_done(q, "ns/cap");
	expect_empty(q);
	/* Default cap: 300 s. */
	workqueue_add_rate_limited(q, "ns/cap");
	now += 299999;
	expect_empty(q);
	now += 1;
	expect_key(q, "ns/cap");
	workqueue_done(q, "ns/cap");

	workqueue_set_backoff(q, 100, 350);
	workqueue_forget(q, "ns/a");
	assert_int_equal(workqueue_failures(q, "ns/a"), 0);
	static const int64_t want_custom[] = {100, 200, 350, 350, 350};
	for (size_t i = 0; i < sizeof(want_custom) / sizeof(want_custom[0]); i++) {
		workqueue_add_rate_limited(q, "ns/a");
		now += want_custom[i] - 1;
		expect_empty(q);
		now += 1;
		expect_key(q, "ns/a");
		workqueue_done(q, "ns/a");
	}
	assert_int_equal(workqueue_failures(q, "ns/a"), 5);
	workqueue_forget(q, "ns/a");
	workqueue_forget(q, "ns/never-seen");
	assert_int_equal(workqueue_failures(q, "ns/a"), 0);
	assert_int_equal(workqueue_failures(q, "ns/never-seen"), 0);
	workqueue_add_rate_limited(q, "ns/a");
	now += 100;
	expect_key(q, "ns/a");
	workqueue_done(q, "ns/a");
	workqueue_free(q);
}

static void workqueue_set_backoff__clamps_nonsense_values(void **state)
{
	(void)state;
	int64_t now = 0;
	struct workqueue *q = workqueue_new(fake_now, &now);
	workqueue_set_backoff(q, -7, -100);
	workqueue_add_rate_limited(q, "ns/a");
	now = 1;
	expect_key(q, "ns/a");
	workqueue_done(q, "ns/a");
	workqueue_add_rate_limited(q, "ns/a");
	now = 2;
	expect_key(q, "ns/a");
	workqueue_done(q, "ns/a");
	/* Huge values are capped at about 31 years instead of overflowing. */
	const int64_t cap = (int64_t)1000 * 1000 * 1000 * 1000;
	workqueue_set_backoff(q, INT64_MAX, INT64_MAX);
	workqueue_add_after(q, "ns/b", INT64_MAX);
	workqueue_add_rate_limited(q, "ns/c");
	workqueue_add_rate_limited(q, "ns/c");
	now = 2 + cap - 1;
	expect_empty(q);
	now = 2 + cap;
	expect_key(q, "ns/b");
	expect_key(q, "ns/c");
	expect_empty(q);
	workqueue_free(q);
}

struct getter {
	struct workqueue *q;
	int64_t timeout_ms;
	int rc;
	char *key;
};

static void *getter_main(void *arg)
{
	struct getter *g = arg;
	g->rc = workqueue_get(g->q, &g->key, g->timeout_ms);
	return NULL;
}

static void workqueue_shutdown__wakes_blocked_getters(void **state)
{
	(void)state;
	struct workqueue *q = workqueue_new(NULL, NULL);
	struct getter g[3] = {{q, -1, -1, NULL}, {q, -1, -1, NULL}, {q, 60000, -1, NULL}};
	pthread_t t[3];
	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&t[i], NULL, getter_main, &g[i]), 0);
	usleep(50 * 1000);
	int64_t start = real_ms();
	workqueue_shutdown(q);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(g[i].rc, WORKQUEUE_SHUTDOWN);
		assert_null(g[i].key);
	}
	assert_true(real_ms() - start < 5000);
	/* Later adds are dropped and later gets return at once. */
	workqueue_add(q, "ns/a");
	workqueue_add_after(q, "ns/b", 1);
	workqueue_add_rate_limited(q, "ns/c");
	char *key = NULL;
	assert_int_equal(workqueue_get(q, &key, -1), WORKQUEUE_SHUTDOWN);
	assert_null(key);
	assert_int_equal(workqueue_len(q), 0);
	workqueue_free(q);
	workqueue_free(NULL);
}

static void workqueue_get__blocked_getter_wakes_for_add_and_delay(void **state)
{
	(void)state;
	struct workqueue *q = workqueue_new(NULL, NULL);
	struct getter g = {q, -1, -1, NULL};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, getter_main, &g), 0);
	usleep(20 * 1000);
	workqueue_add(q, "ns/a");
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(g.rc, WORKQUEUE_OK);
	assert_string_equal(g.key, "ns/a");
	free(g.key);
	workqueue_done(q, "ns/a");

	/* A getter blocked forever sees a delayed key when it becomes due. */
	g = (struct getter){q, -1, -1, NULL};
	assert_int_equal(pthread_create(&t, NULL, getter_main, &g), 0);
	usleep(20 * 1000);
	int64_t start = real_ms();
	workqueue_add_after(q, "ns/b", 80);
	assert_int_equal(pthread_join(t, NULL), 0);
	int64_t took = real_ms() - start;
	assert_int_equal(g.rc, WORKQUEUE_OK);
	assert_string_equal(g.key, "ns/b");
	free(g.key);
	assert_true(took >= 79);
	assert_true(took < 5000);
	workqueue_free(q);
}

static void workqueue_get__timeout_returns_within_bounds(void **state)
{
	(void)state;
	struct workqueue *q = workqueue_new(NULL, NULL);
	char *key = NULL;
	int64_t start = real_ms();
	assert_int_equal(workqueue_get(q, &key, 0), WORKQUEUE_TIMEOUT);
	assert_true(real_ms() - start < 1000);
	start = real_ms();
	assert_int_equal(workqueue_get(q, &key, 120), WORKQUEUE_TIMEOUT);
	int64_t took = real_ms() - start;
	assert_null(key);
	if (took < 119 || took > 3000)
		fail_msg("timeout of 120 ms took %lld ms", (long long)took);
	/* A delayed key due after the timeout does not end the wait early. */
	workqueue_add_after(q, "ns/a", 10000);
	start = real_ms();
	assert_int_equal(workqueue_get(q, &key, 60), WORKQUEUE_TIMEOUT);
	took = real_ms() - start;
	if (took < 59 || took > 3000)
		fail_msg("timeout of 60 ms took %lld ms", (long long)took);
	/* A delayed key due before the timeout ends it with the key. */
	workqueue_add_after(q, "ns/b", 40);
	start = real_ms();
	assert_int_equal(workqueue_get(q, &key, 5000), WORKQUEUE_OK);
	took = real_ms() - start;
	assert_string_equal(key, "ns/b");
	free(key);
	if (took < 39 || took > 3000)
		fail_msg("delay of 40 ms took %lld ms", (long long)took);
	workqueue_free(q);
}

static void workqueue_get__injected_clock_is_polled_while_waiting(void **state)
{
	(void)state;
	_Atomic int64_t now = 0;
	struct workqueue *q = workqueue_new(fake_now_atomic, (void *)&now);
	workqueue_add_after(q, "ns/a", 1000);
	struct getter g = {q, 10000, -1, NULL};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, getter_main, &g), 0);
	usleep(30 * 1000);
	atomic_store(&now, 1000);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(g.rc, WORKQUEUE_OK);
	assert_string_equal(g.key, "ns/a");
	free(g.key);
	workqueue_free(q);
}

/* The stress test: producers add keys, consumers process them. */
#define STRESS_KEYS 500
#define STRESS_PRODUCERS 4
#define STRESS_ADDS 10000
#define STRESS_CONSUMERS 2

struct stress {
	struct workqueue *q;
	atomic_uint_fast64_t clock;
	atomic_uint_fast64_t added[STRESS_KEYS];     /* stamp of the last add */
	atomic_uint_fast64_t processed[STRESS_KEYS]; /* stamp of the last get */
	atomic_int busy[STRESS_KEYS];
	atomic_int concurrent; /* times a key was handed out while busy */
	atomic_long gets;
	atomic_int bad_keys;
	int seed_base;
};

struct stress_producer {
	struct stress *s;
	unsigned seed;
};

static void atomic_max(atomic_uint_fast64_t *v, uint64_t x)
{
	uint_fast64_t cur = atomic_load(v);
	while (cur < x && !atomic_compare_exchange_weak(v, &cur, x))
		;
}

static void *stress_producer_main(void *arg)
{
	struct stress_producer *p = arg;
	char key[32];
	for (int i = 0; i < STRESS_ADDS; i++) {
		int k = (int)(rand_r(&p->seed) % STRESS_KEYS);
		snprintf(key, sizeof(key), "ns%d/name-%d", k % 7, k);
		/* Stamp before adding: processing that starts after the add sees a
		 * larger stamp. */
		atomic_max(&p->s->added[k], atomic_fetch_add(&p->s->clock, 1) + 1);
		workqueue_add(p->s->q, key);
		if (i % 1000 == 0)
			sched_yield();
	}
	return NULL;
}

static void *stress_consumer_main(void *arg)
{
	struct stress *s = arg;
	for (;;) {
		char *key = NULL;
		int rc = workqueue_get(s->q, &key, -1);
		if (rc == WORKQUEUE_SHUTDOWN)
			break;
		if (rc != WORKQUEUE_OK)
			continue;
		const char *dash = strrchr(key, '-');
		int k = dash ? atoi(dash + 1) : -1;
		if (k < 0 || k >= STRESS_KEYS) {
			atomic_fetch_add(&s->bad_keys, 1);
			free(key);
			continue;
		}
		if (atomic_exchange(&s->busy[k], 1) != 0)
			atomic_fetch_add(&s->concurrent, 1);
		atomic_max(&s->processed[k], atomic_fetch_add(&s->clock, 1) + 1);
		atomic_fetch_add(&s->gets, 1);
		if (atomic_load(&s->gets) % 64 == 0)
			sched_yield();
		atomic_store(&s->busy[k], 0);
		workqueue_done(s->q, key);
		free(key);
	}
	return NULL;
}

static void
workqueue__stress_every_key_processed_after_its_last_add_never_concurrently(void **state)
{
	(void)state;
	struct stress *s = xcalloc(1, sizeof(*s));
	s->q = workqueue_new(NULL, NULL);
	pthread_t prod[STRESS_PRODUCERS], cons[STRESS_CONSUMERS];
	struct stress_producer ps[STRESS_PRODUCERS];
	for (int i = 0; i < STRESS_CONSUMERS; i++)
		assert_int_equal(pthread_create(&cons[i], NULL, stress_consumer_main, s), 0);
	for (int i = 0; i < STRESS_PRODUCERS; i++) {
		ps[i] = (struct stress_producer){s, (unsigned)(i * 7919 + 1)};
		assert_int_equal(pthread_create(&prod[i], NULL, stress_producer_main, &ps[i]), 0);
	}
	for (int i = 0; i < STRESS_PRODUCERS; i++)
		assert_int_equal(pthread_join(prod[i], NULL), 0);
	/* Wait (bounded) until every key has been processed after its last add. */
	int64_t give_up = real_ms() + 60000;
	int pending = STRESS_KEYS;
	while (real_ms() < give_up) {
		pending = 0;
		for (int k = 0; k < STRESS_KEYS; k++)
			if (atomic_load(&s->processed[k]) <= atomic_load(&s->added[k]))
				pending++;
		if (!pending)
			break;
		usleep(2000);
	}
	workqueue_shutdown(s->q);
	for (int i = 0; i < STRESS_CONSUMERS; i++)
		assert_int_equal(pthread_join(cons[i], NULL), 0);
	if (pending)
		fail_msg("%d keys were not processed after their last add", pending);
	assert_int_equal(atomic_load(&s->concurrent), 0);
	assert_int_equal(atomic_load(&s->bad_keys), 0);
	long gets = atomic_load(&s->gets);
	assert_true(gets >= STRESS_KEYS);
	assert_true(gets <= (long)STRESS_PRODUCERS * STRESS_ADDS);
	workqueue_free(s->q);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(workqueue_add__deduplicates_a_waiting_key),
	    cmocka_unit_test(workqueue_get__hands_out_distinct_keys_in_fifo_order),
	    cmocka_unit_test(workqueue_done__requeues_a_key_added_while_processing_once),
	    cmocka_unit_test(workqueue_add_after__is_due_only_when_the_clock_passes),
	    cmocka_unit_test(workqueue_add_after__earlier_due_time_wins),
	    cmocka_unit_test(workqueue_add_after__many_keys_come_out_in_due_order),
	    cmocka_unit_test(workqueue_add_rate_limited__backoff_doubles_caps_and_forget_resets),
	    cmocka_unit_test(workqueue_set_backoff__clamps_nonsense_values),
	    cmocka_unit_test(workqueue_shutdown__wakes_blocked_getters),
	    cmocka_unit_test(workqueue_get__blocked_getter_wakes_for_add_and_delay),
	    cmocka_unit_test(workqueue_get__timeout_returns_within_bounds),
	    cmocka_unit_test(workqueue_get__injected_clock_is_polled_while_waiting),
	    cmocka_unit_test(
		workqueue__stress_every_key_processed_after_its_last_add_never_concurrently),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
