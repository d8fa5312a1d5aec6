/* The zstd:auto controller: down while the compressor blocks the pipe, up
 * while it waits, back when a level up does not make the output smaller. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "job/pipeline/zadapt.h"

/* A window of 1 s with 100 MB in, `ratio` of it out, the compressor busy
 * for `busy` of it. */
static struct zadapt_window window(double busy, double ratio)
{
	struct zadapt_window w = {100000000, (uint64_t)(100000000 * ratio), 1.0, busy, 0};
	return w;
}

static void zadapt__starts_at_the_low_bound(void **state)
{
	(void)state;
	struct zadapt a;
	zadapt_init(&a, 2, 5);
	assert_int_equal(a.level, 2);
}

static void zadapt__climbs_while_waiting_up_to_the_high_bound(void **state)
{
	(void)state;
	struct zadapt a;
	zadapt_init(&a, 1, 4);
	/* Each level up makes the output 10% smaller: each pays. */
	double ratio = 0.5;
	for (int i = 0; i < 10; i++) {
		struct zadapt_window w = window(0.1, ratio);
		zadapt_next(&a, &w);
		ratio *= 0.9;
	}
	assert_int_equal(a.level, 4);
}

static void zadapt__steps_down_while_busy_never_below_the_low_bound(void **state)
{
	(void)state;
	struct zadapt a;
	zadapt_init(&a, 2, 6);
	a.level = 5;
	struct zadapt_window w = window(0.9, 0.5);
	assert_int_equal(zadapt_next(&a, &w), 4);
	for (int i = 0; i < 10; i++)
		zadapt_next(&a, &w);
	assert_int_equal(a.level, 2);
}

static void zadapt__waits_after_a_step_down_before_climbing(void **state)
{
	(void)state;
	struct zadapt a;
	zadapt_init(&a, 1, 6);
	a.level = 3;
	struct zadapt_window busy = window(0.9, 0.5), idle = window(0.05, 0.5);
	assert_int_equal(zadapt_next(&a, &busy), 2);
	/* Held for a few windows: no oscillation at every window. */
	assert_int_equal(zadapt_next(&a, &idle), 2);
	assert_int_equal(zadapt_next(&a, &idle), 2);
	int level = 2;
	for (int i = 0; i < 6 && level == 2; i++)
		level = zadapt_next(&a, &idle);
	assert_int_equal(level, 3);
}

static void zadapt__a_level_up_that_does_not_pay_is_taken_back(void **state)
{
	(void)state;
	struct zadapt a;
	zadapt_init(&a, 1, 6);
	/* Level 1 gives 0.47 (hashes: literals only); level 2 gives 0.48. */
	struct zadapt_window l1 = window(0.1, 0.47), l2 = window(0.1, 0.48);
	assert_int_equal(zadapt_next(&a, &l1), 2);
	assert_int_equal(zadapt_next(&a, &l2), 1);
	/* It stays there for a while; then probes once more. */
	int ups = 0;
	for (int i = 0; i < 30; i++) {
		int before = a.level;
		zadapt_next(&a, before == 1 ? &l1 : &l2);
		ups += a.level > before;
	}
	assert_in_range(ups, 1, 4);
	assert_int_equal(a.level == 1 || a.level == 2, 1);
}

static void zadapt__neither_busy_nor_waiting_keeps_the_level(void **state)
{
	(void)state;
	struct zadapt a;
	zadapt_init(&a, 1, 6);
	a.level = 3;
	/* Busy 50%: not enough to step down, nor waiting enough to climb. */
	struct zadapt_window w = window(0.5, 0.4);
	for (int i = 0; i < 5; i++)
		assert_int_equal(zadapt_next(&a, &w), 3);
}

static void zadapt__accounts_every_byte_to_its_level(void **state)
{
	(void)state;
	struct zadapt a;
	zadapt_init(&a, 1, 2);
	struct zadapt_window w = window(0.1, 0.5);
	zadapt_next(&a, &w);   /* 100 MB at 1, then up */
	w.out = 40000000;      /* level 2 pays */
	zadapt_next(&a, &w);   /* 100 MB at 2 */
	zadapt_account(&a, 7); /* the short last window */
	assert_int_equal(a.bytes[1], 100000000);
	assert_int_equal(a.bytes[2], 100000007);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(zadapt__starts_at_the_low_bound),
	    cmocka_unit_test(zadapt__climbs_while_waiting_up_to_the_high_bound),
	    cmocka_unit_test(zadapt__steps_down_while_busy_never_below_the_low_bound),
	    cmocka_unit_test(zadapt__waits_after_a_step_down_before_climbing),
	    cmocka_unit_test(zadapt__a_level_up_that_does_not_pay_is_taken_back),
	    cmocka_unit_test(zadapt__neither_busy_nor_waiting_keeps_the_level),
	    cmocka_unit_test(zadapt__accounts_every_byte_to_its_level),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
