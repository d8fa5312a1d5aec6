/* Tests for job/pipeline/parts.c: numbered parts through a fake upload, the first
 * error, and what an abort or a signal leaves unsent. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/xmalloc.h"
#include "job/pipeline/interrupt.h"
#include "job/pipeline/parts.h"
#include "job/pipeline/stage.h"

#define MAX_PARTS 64

/* The fake backend: records what it is given; while the gate is closed,
 * every upload waits in it. */
struct fake {
	size_t part_size;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	int gate_closed;
	int started, finished;
	int started_parts[MAX_PARTS];
	size_t len[MAX_PARTS + 1]; /* by part number */
	int bad_data;
	int fail_part; /* this part's upload fails */
};

/* Byte i of the stream. */
static uint8_t pattern(size_t i)
{
	return (uint8_t)(i % 251);
}

static int fake_upload(void *ctx, int worker, int part_no, const uint8_t *data, size_t len,
		       char id[PARTS_ID_MAX])
{
	struct fake *f = ctx;
	(void)worker;
	pthread_mutex_lock(&f->lock);
	if (f->started < MAX_PARTS)
		f->started_parts[f->started] = part_no;
	f->started++;
	pthread_cond_broadcast(&f->changed);
	while (f->gate_closed)
		pthread_cond_wait(&f->changed, &f->lock);
	pthread_mutex_unlock(&f->lock);
	/* Every part has the one size: part n starts at (n-1) * size. */
	size_t at = (size_t)(part_no - 1) * f->part_size;
	int bad = 0;
	for (size_t i = 0; i < len; i++)
		bad |= data[i] != pattern(at + i);
	if (part_no == f->fail_part)
		return err_set(E_STORE, "the fake store refused part %d", part_no);
	snprintf(id, PARTS_ID_MAX, "etag-%d", part_no);
	pthread_mutex_lock(&f->lock);
	f->bad_data |= bad;
	if (part_no <= MAX_PARTS)
		f->len[part_no] = len;
	f->finished++;
	pthread_cond_broadcast(&f->changed);
	pthread_mutex_unlock(&f->lock);
	return 0;
}

static const struct parts_backend fake_backend = {fake_upload};

static struct fake *fake_new(size_t part_size)
{
	struct fake *f = xcalloc(1, sizeof(*f));
	f->part_size = part_size;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->changed, NULL);
	return f;
}

static void fake_free(struct fake *f)
{
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->changed);
	free(f);
}

static void gate(struct fake *f, int closed)
{
	pthread_mutex_lock(&f->lock);
	f->gate_closed = closed;
	pthread_cond_broadcast(&f->changed);
	pthread_mutex_unlock(&f->lock);
}

/* Waits (up to 5 s) until at least n uploads have started. */
static void wait_started(struct fake *f, int n)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&f->lock);
	while (f->started < n && pthread_cond_timedwait(&f->changed, &f->lock, &until) == 0)
		;
	int started = f->started;
	pthread_mutex_unlock(&f->lock);
	assert_true(started >= n);
}

static int started(struct fake *f)
{
	pthread_mutex_lock(&f->lock);
	int n = f->started;
	pthread_mutex_unlock(&f->lock);
	return n;
}

/* Writes bytes [from, to) of the pattern in slices of `slice`. */
static int write_range(struct parts *p, size_t from, size_t to, size_t slice)
{
	uint8_t buf[4096];
	int rc = 0;
	while (!rc && from < to) {
		size_t k = to - from < slice ? to - from : slice;
		if (k > sizeof(buf))
			k = sizeof(buf);
		for (size_t i = 0; i < k; i++)
			buf[i] = pattern(from + i);
		rc = parts_write(p, buf, k);
		from += k;
	}
	return rc;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void parts__uploads_every_part_once_with_its_bytes(void **state)
{
	(void)state;
	struct fake *f = fake_new(1000);
	struct parts *p = parts_new(&fake_backend, f, 1000, 3);
	assert_int_equal(write_range(p, 0, 10500, 333), 0);
	assert_false(parts_single(p));
	assert_int_equal(parts_finish(p), 0);
	assert_int_equal(parts_count(p), 11);
	assert_int_equal(parts_bytes(p), 10500);
	assert_int_equal(f->finished, 11);
	assert_false(f->bad_data);
	for (int i = 1; i <= 11; i++) {
		char want[32];
		snprintf(want, sizeof(want), "etag-%d", i);
		assert_string_equal(parts_id(p, i), want);
		assert_int_equal(f->len[i], i < 11 ? 1000 : 500);
	}
	assert_null(parts_id(p, 12));
	parts_free(p);
	fake_free(f);
}

static void parts_single__a_short_stream_is_left_to_the_caller(void **state)
{
	(void)state;
	struct fake *f = fake_new(1000);
	struct parts *p = parts_new(&fake_backend, f, 1000, 2);
	assert_int_equal(write_range(p, 0, 10, 10), 0);
	assert_true(parts_single(p));
	size_t len = 0;
	const uint8_t *data = parts_pending(p, &len);
	assert_int_equal(len, 10);
	assert_int_equal(data[9], pattern(9));
	parts_free(p);
	assert_int_equal(f->started, 0);
	fake_free(f);
}

static void parts__the_first_error_is_returned_with_its_message(void **state)
{
	(void)state;
	struct fake *f = fake_new(100);
	f->fail_part = 2;
	struct parts *p = parts_new(&fake_backend, f, 100, 2);
	int rc = write_range(p, 0, 450, 50);
	if (!rc)
		rc = parts_finish(p);
	assert_int_equal(rc, E_STORE);
	assert_string_equal(err_msg(), "the fake store refused part 2");
	assert_int_equal(parts_write(p, (const uint8_t *)"x", 1), E_STORE);
	parts_free(p);
	fake_free(f);
}

struct aborter {
	pthread_t thread;
	struct parts *p;
	atomic_int done;
};

static void *abort_main(void *arg)
{
	struct aborter *a = arg;
	parts_abort(a->p);
	atomic_store(&a->done, 1);
	return NULL;
}

static void parts_abort__returns_once_the_uploads_under_way_end(void **state)
{
	(void)state;
	struct fake *f = fake_new(100);
	gate(f, 1);
	struct parts *p = parts_new(&fake_backend, f, 100, 2);
	assert_int_equal(write_range(p, 0, 200, 100), 0);
	wait_started(f, 2);
	struct aborter a = {.p = p};
	assert_int_equal(pthread_create(&a.thread, NULL, abort_main, &a), 0);
	sleep_ms(200);
	assert_false(atomic_load(&a.done));
	gate(f, 0);
	pthread_join(a.thread, NULL);
	assert_true(atomic_load(&a.done));
	assert_int_equal(f->finished, 2);
	parts_free(p);
	fake_free(f);
}

static void parts_abort__uploads_nothing_more(void **state)
{
	(void)state;
	struct fake *f = fake_new(100);
	gate(f, 1);
	struct parts *p = parts_new(&fake_backend, f, 100, 2);
	/* Two parts under way, half a third one buffered. */
	assert_int_equal(write_range(p, 0, 250, 100), 0);
	wait_started(f, 2);
	struct aborter a = {.p = p};
	assert_int_equal(pthread_create(&a.thread, NULL, abort_main, &a), 0);
	gate(f, 0);
	pthread_join(a.thread, NULL);
	assert_int_equal(write_range(p, 250, 400, 50), E_IO);
	assert_int_equal(parts_finish(p), E_IO);
	sleep_ms(100);
	assert_int_equal(started(f), 2);
	parts_free(p);
	assert_int_equal(f->started, 2);
	fake_free(f);
}

struct writer {
	pthread_t thread;
	struct parts *p;
	size_t to;
	int rc;
	char msg[256];
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	w->rc = write_range(w->p, 0, w->to, 100);
	snprintf(w->msg, sizeof(w->msg), "%s", err_msg());
	return NULL;
}

/* A part handed over when SIGTERM comes is not sent: the grace period is
 * for the clean-up, not for more uploads. */
static void parts__a_signal_stops_the_parts_not_yet_sent(void **state)
{
	(void)state;
	struct fake *f = fake_new(100);
	gate(f, 1);
	struct parts *p = parts_new(&fake_backend, f, 100, 1);
	/* Part 1 under way; the writer waits to hand over part 2. */
	struct writer w = {.p = p, .to = 250};
	assert_int_equal(pthread_create(&w.thread, NULL, writer_main, &w), 0);
	wait_started(f, 1);
	sleep_ms(100);
	interrupt_raise(SIGTERM);
	gate(f, 0);
	pthread_join(w.thread, NULL);
	assert_int_equal(w.rc, E_IO);
	assert_non_null(strstr(w.msg, "interrupted by signal 15"));
	assert_int_equal(parts_finish(p), E_IO);
	sleep_ms(100);
	assert_int_equal(started(f), 1);
	parts_free(p);
	assert_int_equal(f->started, 1);
	interrupt_clear();
	fake_free(f);
}

/* Made after the signal (an audit record written during the clean-up),
 * the upload goes through. */
static void parts__made_after_a_signal_uploads_all(void **state)
{
	(void)state;
	interrupt_raise(SIGTERM);
	struct fake *f = fake_new(100);
	struct parts *p = parts_new(&fake_backend, f, 100, 2);
	assert_int_equal(write_range(p, 0, 250, 100), 0);
	assert_int_equal(parts_finish(p), 0);
	assert_int_equal(f->finished, 3);
	parts_free(p);
	interrupt_clear();
	fake_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parts__uploads_every_part_once_with_its_bytes),
	    cmocka_unit_test(parts_single__a_short_stream_is_left_to_the_caller),
	    cmocka_unit_test(parts__the_first_error_is_returned_with_its_message),
	    cmocka_unit_test(parts_abort__returns_once_the_uploads_under_way_end),
	    cmocka_unit_test(parts_abort__uploads_nothing_more),
	    cmocka_unit_test(parts__a_signal_stops_the_parts_not_yet_sent),
	    cmocka_unit_test(parts__made_after_a_signal_uploads_all),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
