/* Tests for job/pipeline/async.c: the worker-thread stage passes bytes on in order,
 * brings its downstream's errors back, and stops at a signal. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/xmalloc.h"
#include "job/pipeline/async.h"
#include "job/pipeline/interrupt.h"
#include "job/pipeline/stage.h"

/* The downstream: keeps what it gets, the thread it ran on, its finish. */
struct sink {
	struct stage base;
	struct buf got;
	atomic_size_t bytes;
	pthread_t writer;
	int other_thread; /* a write ran off the thread that made the chain */
	int fail_after;	  /* fail the write that would pass this many bytes; 0: never */
	int finished;
};

static int sink_write(struct stage *s, const uint8_t *p, size_t n)
{
	struct sink *k = (struct sink *)s;
	if (!pthread_equal(pthread_self(), k->writer))
		k->other_thread = 1;
	if (k->fail_after && atomic_load(&k->bytes) + n > (size_t)k->fail_after)
		return err_set(E_STORE, "the downstream refused byte %d", k->fail_after);
	int rc = buf_add(&k->got, p, n);
	atomic_fetch_add(&k->bytes, n);
	return rc;
}

static int sink_finish(struct stage *s)
{
	((struct sink *)s)->finished++;
	return 0;
}

static void sink_free(struct stage *s)
{
	(void)s; /* owned by the test */
}

static const struct stage_ops sink_ops = {"test-sink", sink_write, sink_finish, sink_free};

static void sink_init(struct sink *k)
{
	memset(k, 0, sizeof(*k));
	k->base.ops = &sink_ops;
	k->writer = pthread_self();
	buf_init(&k->got, 64u << 20);
}

static uint8_t pattern(size_t i)
{
	return (uint8_t)((i * 7) % 253);
}

/* Writes bytes [from, to) of the pattern in slices of `slice`. */
static int write_range(struct stage *s, size_t from, size_t to, size_t slice)
{
	uint8_t *buf = xmalloc(slice);
	int rc = 0;
	while (!rc && from < to) {
		size_t k = to - from < slice ? to - from : slice;
		for (size_t i = 0; i < k; i++)
			buf[i] = pattern(from + i);
		rc = stage_write(s, buf, k);
		from += k;
	}
	free(buf);
	return rc;
}

/* The sink was finished once and holds bytes [0, n) of the pattern. */
static void assert_got_once_in_order(const struct sink *k, size_t n)
{
	assert_int_equal(k->finished, 1);
	assert_int_equal(k->got.len, n);
	for (size_t i = 0; i < n; i++)
		if ((uint8_t)k->got.ptr[i] != pattern(i))
			fail_msg("byte %zu differs", i);
}

static void async__passes_bytes_on_in_order_from_its_thread(void **state)
{
	(void)state;
	struct sink k;
	sink_init(&k);
	struct stage *a = async_new(&k.base);
	size_t n = 3 * ASYNC_SLOT_BYTES + 12345;
	assert_int_equal(write_range(a, 0, n, 70001), 0);
	assert_int_equal(stage_finish(a), 0);
	assert_got_once_in_order(&k, n);
	assert_true(k.other_thread);
	a->ops->free(a);
	buf_dispose(&k.got);
}

/* Bytes placed in async_space, through a hash in front, mixed with copied
 * writes: the same stream arrives, and the hash sees it too. */
static void async__writes_placed_in_its_space_arrive_in_order(void **state)
{
	(void)state;
	struct sink k;
	sink_init(&k);
	struct stage *a = async_new(&k.base);
	struct stage *h = stage_hash_new(a);
	size_t n = 5 * ASYNC_SLOT_BYTES + 777, at = 0, step = 1;
	uint8_t *copy = xmalloc(ASYNC_SLOT_BYTES);
	int turn = 0;
	while (at < n) {
		size_t room = 0;
		uint8_t *p = async_space(a, &room);
		assert_non_null(p);
		assert_true(room > 0 && room <= ASYNC_SLOT_BYTES);
		size_t k2 = step < room ? step : room;
		if (k2 > n - at)
			k2 = n - at;
		uint8_t *from = turn++ % 3 == 2 ? copy : p; /* every third write copies */
		for (size_t i = 0; i < k2; i++)
			from[i] = pattern(at + i);
		assert_int_equal(stage_write(h, from, k2), 0);
		at += k2;
		step = step * 5 % 99991 + 1;
	}
	free(copy);
	assert_int_equal(stage_finish(h), 0);
	assert_got_once_in_order(&k, n);
	struct stage *want = stage_hash_new(NULL);
	assert_int_equal(stage_write(want, (const uint8_t *)k.got.ptr, k.got.len), 0);
	assert_int_equal(stage_finish(want), 0);
	char x[65], y[65];
	stage_hash_hex(want, x);
	stage_hash_hex(h, y);
	assert_string_equal(x, y);
	stage_free_chain(want);
	stage_free_chain(h);
	buf_dispose(&k.got);
}

static void async__brings_the_downstream_error_back_with_its_message(void **state)
{
	(void)state;
	struct sink k;
	sink_init(&k);
	k.fail_after = ASYNC_SLOT_BYTES + 10;
	struct stage *a = async_new(&k.base);
	int rc = write_range(a, 0, 8 * ASYNC_SLOT_BYTES, 65536);
	if (!rc)
		rc = stage_finish(a);
	assert_int_equal(rc, E_STORE);
	assert_non_null(strstr(err_msg(), "the downstream refused byte"));
	assert_int_equal(k.finished, 0);
	a->ops->free(a);
	buf_dispose(&k.got);
}

static void async__free_without_finish_never_finishes_next(void **state)
{
	(void)state;
	struct sink k;
	sink_init(&k);
	struct stage *a = async_new(&k.base);
	assert_int_equal(write_range(a, 0, 2 * ASYNC_SLOT_BYTES + 5, 4096), 0);
	a->ops->free(a);
	assert_int_equal(k.finished, 0);
	assert_true(k.got.len <= 2 * ASYNC_SLOT_BYTES);
	buf_dispose(&k.got);
}

/* Nothing is finished (no object made visible) once SIGTERM came. */
static void async__a_signal_stops_it_before_the_next_finish(void **state)
{
	(void)state;
	struct sink k;
	sink_init(&k);
	struct stage *a = async_new(&k.base);
	assert_int_equal(write_range(a, 0, ASYNC_SLOT_BYTES, ASYNC_SLOT_BYTES), 0);
	for (int i = 0; i < 500 && atomic_load(&k.bytes) < ASYNC_SLOT_BYTES; i++)
		nanosleep(&(struct timespec){0, 10000000}, NULL);
	assert_int_equal(atomic_load(&k.bytes), ASYNC_SLOT_BYTES);
	interrupt_raise(SIGTERM);
	assert_int_equal(stage_finish(a), E_IO);
	assert_non_null(strstr(err_msg(), "interrupted by signal 15"));
	assert_int_equal(k.finished, 0);
	a->ops->free(a);
	interrupt_clear();
	buf_dispose(&k.got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(async__passes_bytes_on_in_order_from_its_thread),
	    cmocka_unit_test(async__writes_placed_in_its_space_arrive_in_order),
	    cmocka_unit_test(async__brings_the_downstream_error_back_with_its_message),
	    cmocka_unit_test(async__free_without_finish_never_finishes_next),
	    cmocka_unit_test(async__a_signal_stops_it_before_the_next_finish),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
