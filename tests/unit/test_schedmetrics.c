/* Tests for operator/schedmetrics.c: reading a schedule's runs, the values
 * the alerts need (interval, last success, the two newest sizes) and
 * publishing them to the registry, unknown values forgotten. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "common/buf.h"
#include "operator/controller/schedule.h"
#include "operator/cron.h"
#include "operator/metrics.h"
#include "operator/schedmetrics.h"

#define H 3600
#define D 86400
/* 2026-12-01T12:00:00Z, a Tuesday */
#define NOW 1796126400
#define NONE SCHEDMETRICS_NONE

static struct json_object *parse(const char *text)
{
	struct json_object *o = json_tokener_parse(text);
	assert_non_null(o);
	return o;
}

static struct json_object *schedule_obj(void)
{
	return parse("{\"metadata\":{\"name\":\"nightly\",\"creationTimestamp\":"
		     "\"2026-11-01T00:00:00Z\"},\"spec\":{\"schedule\":\"0 2 * * *\"}}");
}

/* A Completed run with a size. */
static struct schedmetrics_run done(const char *name, int64_t at, int64_t size)
{
	return (struct schedmetrics_run){name, "Completed", at, at + 60, size, 0};
}

static void schedmetrics_compute__interval_is_the_gap_now_falls_in(void **state)
{
	(void)state;
	struct json_object *o = schedule_obj();
	struct schedmetrics s;
	schedmetrics_compute(&s, o, NOW - 2 * H, NOW + 22 * H, NULL, 0);
	assert_int_equal(s.interval, D);
	assert_int_equal(s.suspended, 0);
	assert_int_equal(s.created, 1793491200); /* 2026-11-01 */
	json_object_put(o);
}

static void schedmetrics_compute__no_interval_without_both_run_times(void **state)
{
	(void)state;
	struct json_object *o = schedule_obj();
	struct schedmetrics s;
	schedmetrics_compute(&s, o, NONE, NOW + H, NULL, 0);
	assert_true(s.interval == NONE);
	schedmetrics_compute(&s, o, NOW - H, NONE, NULL, 0);
	assert_true(s.interval == NONE);
	/* an invalid spec: neither */
	schedmetrics_compute(&s, o, CTL_NO_TIME, CTL_NO_TIME, NULL, 0);
	assert_true(s.interval == NONE);
	json_object_put(o);
}

/* The interval a weekday schedule reads: 3 days from Friday's run to
 * Monday's, 1 day in the week (the gap now falls in, not the next one, so
 * a Saturday does not see a 1-day interval and call Friday's backup stale). */
static void schedmetrics_compute__weekday_schedule_reads_three_days_over_the_weekend(void **state)
{
	(void)state;
	struct cron c;
	assert_int_equal(cron_parse(&c, "0 2 * * 1-5", "spec.schedule"), 0);
	struct json_object *o = schedule_obj();
	const struct {
		int64_t now, want;
	} cases[] = {
	    {NOW, D},			   /* Tuesday noon */
	    {NOW + 4 * D, 3 * D},	   /* Saturday noon */
	    {NOW + 5 * D, 3 * D},	   /* Sunday noon */
	    {NOW + 6 * D - 11 * H, 3 * D}, /* Monday 01:00: the gap from Friday ends at 02:00 */
	    {NOW + 6 * D - 9 * H, D},	   /* Monday 03:00 */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t due, next;
		assert_int_equal(cron_prev(&due, &c, NULL, cases[i].now), 0);
		assert_int_equal(cron_next(&next, &c, NULL, cases[i].now), 0);
		struct schedmetrics s;
		schedmetrics_compute(&s, o, due, next, NULL, 0);
		assert_int_equal(s.interval, cases[i].want);
	}
	json_object_put(o);
}

static void schedmetrics_compute__suspended_and_created_from_the_schedule(void **state)
{
	(void)state;
	struct json_object *o =
	    parse("{\"metadata\":{\"name\":\"n\"},\"spec\":{\"suspend\":true}}");
	struct schedmetrics s;
	schedmetrics_compute(&s, o, NONE, NONE, NULL, 0);
	assert_int_equal(s.suspended, 1);
	assert_true(s.created == NONE);
	json_object_put(o);
	/* wrong types read as unknown, never as true */
	o = parse("{\"metadata\":{\"creationTimestamp\":7},\"spec\":{\"suspend\":\"yes\"}}");
	schedmetrics_compute(&s, o, NONE, NONE, NULL, 0);
	assert_int_equal(s.suspended, 0);
	assert_true(s.created == NONE);
	json_object_put(o);
	/* no object at all */
	schedmetrics_compute(&s, NULL, NONE, NONE, NULL, 0);
	assert_int_equal(s.suspended, 0);
	assert_true(s.last_success == NONE && s.last_size == NONE && s.previous_size == NONE);
}

static void schedmetrics_compute__sizes_are_the_two_newest_completed_by_run_time(void **state)
{
	(void)state;
	struct schedmetrics_run runs[] = {
	    done("n-3", NOW - 3 * D, 300), done("n-1", NOW - 1 * D, 100), /* the newest */
	    done("n-4", NOW - 4 * D, 400), done("n-2", NOW - 2 * D, 200), /* the one before */
	};
	struct schedmetrics s;
	schedmetrics_compute(&s, NULL, NONE, NONE, runs, 4);
	assert_int_equal(s.last_size, 100);
	assert_int_equal(s.previous_size, 200);
	assert_int_equal(s.last_success, NOW - D + 60);
}

static void schedmetrics_compute__failed_active_and_deleting_runs_do_not_count(void **state)
{
	(void)state;
	struct schedmetrics_run runs[] = {
	    done("n-5", NOW - 5 * D, 500),
	    {"n-4", "Failed", NOW - 4 * D, NOW - 4 * D + 9, 1, 0},
	    done("n-3", NOW - 3 * D, 300),
	    {"n-2", "Running", NOW - 2 * D, NONE, NONE, 0},
	    {"n-1", "Completed", NOW - D, NOW - D + 60, 100, 1}, /* being deleted */
	    {"n-0", NULL, NOW, NONE, NONE, 0},			 /* no status yet */
	};
	struct schedmetrics s;
	schedmetrics_compute(&s, NULL, NONE, NONE, runs, 6);
	assert_int_equal(s.last_size, 300);
	assert_int_equal(s.previous_size, 500);
	assert_int_equal(s.last_success, NOW - 3 * D + 60);
}

static void schedmetrics_compute__last_success_is_the_latest_completion(void **state)
{
	(void)state;
	/* With concurrencyPolicy Allow an older run can finish last; one
	 * without completionTime counts at its run time. */
	struct schedmetrics_run runs[] = {
	    {"n-2", "Completed", NOW - 2 * D, NOW - 2 * H, 10, 0},
	    {"n-1", "Completed", NOW - D, NOW - D + 60, 20, 0},
	    {"n-0", "Completed", NOW - H, NONE, NONE, 0},
	};
	struct schedmetrics s;
	schedmetrics_compute(&s, NULL, NONE, NONE, runs, 2);
	assert_int_equal(s.last_success, NOW - 2 * H);
	assert_int_equal(s.last_size, 20); /* by run time, not completion */
	assert_int_equal(s.previous_size, 10);
	schedmetrics_compute(&s, NULL, NONE, NONE, runs, 3);
	assert_int_equal(s.last_success, NOW - H);
	assert_int_equal(s.last_size, 20); /* n-0 has no size: skipped */
}

static void schedmetrics_compute__equal_run_times_order_by_name(void **state)
{
	(void)state;
	struct schedmetrics_run runs[] = {
	    done("b", NOW, 2),
	    done("c", NOW, 3),
	    done("a", NOW, 1),
	};
	struct schedmetrics s;
	schedmetrics_compute(&s, NULL, NONE, NONE, runs, 3);
	assert_int_equal(s.last_size, 3);
	assert_int_equal(s.previous_size, 2);
}

static void schedmetrics_compute__one_or_no_completed_run(void **state)
{
	(void)state;
	struct schedmetrics_run one[] = {done("n-1", NOW - D, 0)};
	struct schedmetrics s;
	schedmetrics_compute(&s, NULL, NONE, NONE, one, 1);
	assert_int_equal(s.last_size, 0); /* an empty artifact is a size */
	assert_true(s.previous_size == NONE);
	schedmetrics_compute(&s, NULL, NONE, NONE, one, 0);
	assert_true(s.last_success == NONE && s.last_size == NONE);
}

static void schedmetrics_run_observe__reads_the_backup(void **state)
{
	(void)state;
	struct json_object *b = parse(
	    "{\"metadata\":{\"name\":\"nightly-202612010200\",\"deletionTimestamp\":"
	    "\"2026-12-01T03:00:00Z\"},\"status\":{\"phase\":\"Completed\",\"completionTime\":"
	    "\"2026-12-01T02:01:40Z\",\"artifact\":{\"size\":123456789012}}}");
	struct schedmetrics_run r;
	schedmetrics_run_observe(&r, b, 42);
	assert_string_equal(r.name, "nightly-202612010200");
	assert_string_equal(r.phase, "Completed");
	assert_int_equal(r.scheduled, 42);
	assert_int_equal(r.completed, NOW - 10 * H + 100);
	assert_int_equal(r.size, 123456789012LL);
	assert_int_equal(r.deleting, 1);
	json_object_put(b);
}

static void schedmetrics_run_observe__tolerates_any_shape(void **state)
{
	(void)state;
	static const char *const texts[] = {
	    "{}",
	    "{\"metadata\":3,\"status\":[]}",
	    "{\"status\":{\"phase\":7,\"completionTime\":\"yesterday\",\"artifact\":{\"size\":"
	    "\"9\"}}}",
	    "{\"status\":{\"artifact\":{\"size\":-5}}}",
	    "{\"status\":{\"artifact\":{\"size\":1.5}}}",
	};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct json_object *b = parse(texts[i]);
		struct schedmetrics_run r;
		schedmetrics_run_observe(&r, b, 1);
		assert_null(r.name);
		assert_null(r.phase);
		assert_true(r.completed == NONE);
		assert_true(r.size == NONE);
		assert_int_equal(r.deleting, 0);
		json_object_put(b);
	}
	struct schedmetrics_run r;
	schedmetrics_run_observe(&r, NULL, 1);
	assert_null(r.name);
}

static struct metrics *registry(void)
{
	struct metrics *m = NULL;
	struct metrics_options o = {.no_process = 1};
	assert_int_equal(metrics_new(&m, metrics_operator_families, METRICS_OPERATOR_FAMILIES, &o),
			 0);
	return m;
}

static double get(struct metrics *m, size_t family, const char *ns, const char *sched)
{
	const char *lv[] = {ns, sched};
	double v = -1;
	if (metrics_get(m, family, lv, &v) != 0)
		return -1;
	return v;
}

static void schedmetrics_publish__sets_the_known_and_forgets_the_unknown(void **state)
{
	(void)state;
	struct metrics *m = registry();
	struct schedmetrics s = {D, 0, NOW - 30 * D, NOW - H, 40, 100};
	schedmetrics_publish(m, "app", "nightly", &s);
	assert_true(get(m, METRICS_SCHEDULE_INTERVAL, "app", "nightly") == D);
	assert_true(get(m, METRICS_SCHEDULE_SUSPENDED, "app", "nightly") == 0);
	assert_true(get(m, METRICS_SCHEDULE_CREATED, "app", "nightly") == NOW - 30 * D);
	assert_true(get(m, METRICS_SCHEDULE_LAST_SUCCESS, "app", "nightly") == NOW - H);
	assert_true(get(m, METRICS_SCHEDULE_LAST_SIZE, "app", "nightly") == 40);
	assert_true(get(m, METRICS_SCHEDULE_PREVIOUS_SIZE, "app", "nightly") == 100);
	/* the spec turned invalid and the backups went: only what is known stays */
	struct schedmetrics gone = {NONE, 1, NOW - 30 * D, NONE, NONE, NONE};
	schedmetrics_publish(m, "app", "nightly", &gone);
	assert_true(get(m, METRICS_SCHEDULE_INTERVAL, "app", "nightly") == -1);
	assert_true(get(m, METRICS_SCHEDULE_SUSPENDED, "app", "nightly") == 1);
	assert_true(get(m, METRICS_SCHEDULE_LAST_SUCCESS, "app", "nightly") == -1);
	assert_true(get(m, METRICS_SCHEDULE_LAST_SIZE, "app", "nightly") == -1);
	assert_true(get(m, METRICS_SCHEDULE_PREVIOUS_SIZE, "app", "nightly") == -1);
	/* forgetting what was never there is fine */
	schedmetrics_publish(m, "other", "x", &gone);
	struct buf b;
	buf_init(&b, 1 << 20);
	assert_int_equal(metrics_render(m, &b), 0);
	assert_non_null(strstr(
	    b.ptr, "lifeboat_schedule_suspended{namespace=\"app\",schedule=\"nightly\"} 1\n"));
	assert_non_null(
	    strstr(b.ptr, "# TYPE lifeboat_schedule_created_timestamp_seconds gauge\n"));
	assert_null(strstr(b.ptr, "lifeboat_schedule_interval_seconds"));
	buf_dispose(&b);
	metrics_free(m);
}

static void schedmetrics_publish__a_deleted_schedule_leaves_with_its_series(void **state)
{
	(void)state;
	struct metrics *m = registry();
	struct schedmetrics s = {D, 0, NOW - 30 * D, NOW - H, 40, 100};
	schedmetrics_publish(m, "app", "nightly", &s);
	schedmetrics_publish(m, "app", "hourly", &s);
	/* what the schedule worker does when the schedule is gone */
	size_t n = metrics_forget_matching(
	    m, (const char *[]){"namespace", "app", "schedule", "nightly", NULL});
	assert_int_equal(n, 6);
	assert_true(get(m, METRICS_SCHEDULE_LAST_SIZE, "app", "nightly") == -1);
	assert_true(get(m, METRICS_SCHEDULE_LAST_SIZE, "app", "hourly") == 40);
	metrics_free(m);
}

static void schedmetrics_forget_all__drops_only_the_schedule_gauges(void **state)
{
	(void)state;
	struct metrics *m = registry();
	struct schedmetrics s = {D, 0, NOW - 30 * D, NOW - H, 40, 100};
	schedmetrics_publish(m, "a", "x", &s);
	schedmetrics_publish(m, "b", "y", &s);
	const char *lv[] = {"a", "x"};
	assert_int_equal(metrics_add(m, METRICS_SCHEDULE_MISSED_RUNS, lv, 2), 0);
	size_t before = metrics_series(m);
	schedmetrics_forget_all(m);
	assert_int_equal(metrics_series(m), before - 12);
	double v = 0;
	assert_int_equal(metrics_get(m, METRICS_SCHEDULE_MISSED_RUNS, lv, &v), 0);
	assert_true(v == 2);
	assert_true(get(m, METRICS_SCHEDULE_INTERVAL, "b", "y") == -1);
	metrics_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(schedmetrics_compute__interval_is_the_gap_now_falls_in),
	    cmocka_unit_test(schedmetrics_compute__no_interval_without_both_run_times),
	    cmocka_unit_test(
		schedmetrics_compute__weekday_schedule_reads_three_days_over_the_weekend),
	    cmocka_unit_test(schedmetrics_compute__suspended_and_created_from_the_schedule),
	    cmocka_unit_test(schedmetrics_compute__sizes_are_the_two_newest_completed_by_run_time),
	    cmocka_unit_test(schedmetrics_compute__failed_active_and_deleting_runs_do_not_count),
	    cmocka_unit_test(schedmetrics_compute__last_success_is_the_latest_completion),
	    cmocka_unit_test(schedmetrics_compute__equal_run_times_order_by_name),
	    cmocka_unit_test(schedmetrics_compute__one_or_no_completed_run),
	    cmocka_unit_test(schedmetrics_run_observe__reads_the_backup),
	    cmocka_unit_test(schedmetrics_run_observe__tolerates_any_shape),
	    cmocka_unit_test(schedmetrics_publish__sets_the_known_and_forgets_the_unknown),
	    cmocka_unit_test(schedmetrics_publish__a_deleted_schedule_leaves_with_its_series),
	    cmocka_unit_test(schedmetrics_forget_all__drops_only_the_schedule_gauges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
