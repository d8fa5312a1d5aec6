/* Tests for common/clock.c: the monotonic milliseconds, their conversion to
 * a timed wait's deadline, and a condition that times out on that clock. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>

#include "common/clock.h"

static void clock_mono_timespec__splits_milliseconds(void **state)
{
	(void)state;
	struct timespec ts = clock_mono_timespec(12345);
	assert_int_equal(ts.tv_sec, 12);
	assert_int_equal(ts.tv_nsec, 345000000L);
	ts = clock_mono_timespec(7);
	assert_int_equal(ts.tv_sec, 0);
	assert_int_equal(ts.tv_nsec, 7000000L);
	/* Before the clock's start: the start (a wait that is already due). */
	ts = clock_mono_timespec(-5);
	assert_int_equal(ts.tv_sec, 0);
	assert_int_equal(ts.tv_nsec, 0);
}

/* The wait ends by timing out, and not before its monotonic deadline. */
static void clock_cond_init__timed_waits_use_the_monotonic_clock(void **state)
{
	(void)state;
	int64_t t0 = clock_mono_ms();
	assert_true(t0 >= 0);
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cond;
	clock_cond_init(&cond);
	int64_t until = t0 + 30;
	struct timespec ts = clock_mono_timespec(until);
	int rc = 0;
	pthread_mutex_lock(&lock);
	while (rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&cond, &lock, &ts);
	pthread_mutex_unlock(&lock);
	assert_true(clock_mono_ms() >= until);
	pthread_cond_destroy(&cond);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(clock_mono_timespec__splits_milliseconds),
	    cmocka_unit_test(clock_cond_init__timed_waits_use_the_monotonic_clock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
