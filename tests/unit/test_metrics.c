/* Tests for operator/metrics.c: the exposition text (golden), escaping,
 * histogram buckets, ordering, cardinality bounds, forgetting, the process
 * metrics from a fake /proc, the operator's table, and threads. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "operator/metrics.h"

static const char *const L_NS_RESULT[] = {"namespace", "result", NULL};
static const char *const L_PATH[] = {"path", NULL};
static const double BUCKETS[] = {0.5, 1, 2.5};

enum { F_TOTAL, F_GAUGE, F_HIST, F_PLAIN, F_COUNT };
static const struct metrics_family_def DEFS[F_COUNT] = {
    [F_TOTAL] = {"t_requests_total", "Requests by result.", METRICS_COUNTER, L_NS_RESULT, NULL, 0},
    [F_GAUGE] = {"t_temperature_celsius", "A gauge with a \\ and a\nnewline in its help.",
		 METRICS_GAUGE, L_PATH, NULL, 0},
    [F_HIST] = {"t_latency_seconds", "Latency.", METRICS_HISTOGRAM, L_PATH, BUCKETS, 3},
    [F_PLAIN] = {"t_up", "No labels.", METRICS_GAUGE, NULL, NULL, 0},
};

static struct metrics *small(size_t max_series)
{
	struct metrics *m = NULL;
	struct metrics_options o = {.max_series = max_series, .no_process = 1};
	assert_int_equal(metrics_new(&m, DEFS, F_COUNT, &o), 0);
	return m;
}

static char *render(struct metrics *m)
{
	struct buf b;
	buf_init(&b, 1 << 24);
	assert_int_equal(metrics_render(m, &b), 0);
	return buf_take(&b); /* "" when empty */
}

#define V(...) ((const char *const[]){__VA_ARGS__})

static const char DROPPED[] =
    "# HELP lifeboat_metrics_series_dropped_total Metric series not created because their family "
    "was full.\n"
    "# TYPE lifeboat_metrics_series_dropped_total counter\n";

static void metrics_render__golden_text_of_every_type(void **state)
{
	(void)state;
	struct metrics *m = small(0);
	assert_int_equal(metrics_add(m, F_TOTAL, V("prod", "succeeded"), 2), 0);
	assert_int_equal(metrics_inc(m, F_TOTAL, V("dev", "failed")), 0);
	assert_int_equal(metrics_inc(m, F_TOTAL, V("prod", "succeeded")), 0);
	assert_int_equal(metrics_set(m, F_GAUGE, V("a\"b\\c\nd"), -1.5), 0);
	assert_int_equal(metrics_observe(m, F_HIST, V("/x"), 0.5), 0); /* on a bound: that bucket */
	assert_int_equal(metrics_observe(m, F_HIST, V("/x"), 0.75), 0);
	assert_int_equal(metrics_observe(m, F_HIST, V("/x"), 100), 0);
	assert_int_equal(metrics_set(m, F_PLAIN, NULL, 1), 0);
	char *s = render(m);
	struct buf want;
	buf_init(&want, 1 << 16);
	buf_adds(&want,
		 "# HELP t_requests_total Requests by result.\n"
		 "# TYPE t_requests_total counter\n"
		 "t_requests_total{namespace=\"dev\",result=\"failed\"} 1\n"
		 "t_requests_total{namespace=\"prod\",result=\"succeeded\"} 3\n"
		 "# HELP t_temperature_celsius A gauge with a \\\\ and a\\nnewline in its help.\n"
		 "# TYPE t_temperature_celsius gauge\n"
		 "t_temperature_celsius{path=\"a\\\"b\\\\c\\nd\"} -1.5\n"
		 "# HELP t_latency_seconds Latency.\n"
		 "# TYPE t_latency_seconds histogram\n"
		 "t_latency_seconds_bucket{path=\"/x\",le=\"0.5\"} 1\n"
		 "t_latency_seconds_bucket{path=\"/x\",le=\"1\"} 2\n"
		 "t_latency_seconds_bucket{path=\"/x\",le=\"2.5\"} 2\n"
		 "t_latency_seconds_bucket{path=\"/x\",le=\"+Inf\"} 3\n"
		 "t_latency_seconds_sum{path=\"/x\"} 101.25\n"
		 "t_latency_seconds_count{path=\"/x\"} 3\n"
		 "# HELP t_up No labels.\n"
		 "# TYPE t_up gauge\n"
		 "t_up 1\n");
	buf_adds(&want, DROPPED);
	buf_adds(&want, "lifeboat_metrics_series_dropped_total 0\n");
	assert_string_equal(s, buf_str(&want));
	buf_dispose(&want);
	free(s);
	metrics_free(m);
}

static void metrics_render__families_without_series_are_left_out(void **state)
{
	(void)state;
	struct metrics *m = small(0);
	char *s = render(m);
	/* Only the label-less family (0) and the drop counter. */
	assert_non_null(strstr(s, "t_up 0\n"));
	assert_null(strstr(s, "t_requests_total"));
	assert_null(strstr(s, "t_latency_seconds"));
	free(s);
	metrics_free(m);
}

static void metrics_render__series_sorted_by_label_values_whatever_the_insert_order(void **state)
{
	(void)state;
	struct metrics *a = small(0), *b = small(0);
	char ns[16];
	for (int i = 0; i < 200; i++) {
		snprintf(ns, sizeof(ns), "ns%03d", (i * 37) % 200);
		metrics_inc(a, F_TOTAL, V(ns, i % 2 ? "x" : "y"));
	}
	for (int i = 199; i >= 0; i--) {
		snprintf(ns, sizeof(ns), "ns%03d", (i * 37) % 200);
		metrics_inc(b, F_TOTAL, V(ns, i % 2 ? "x" : "y"));
	}
	char *sa = render(a), *sb = render(b);
	assert_string_equal(sa, sb);
	const char *prev = NULL;
	for (char *p = strstr(sa, "t_requests_total{"); p; p = strstr(p + 1, "t_requests_total{")) {
		if (prev)
			assert_true(strncmp(prev, p, 40) < 0);
		prev = p;
	}
	free(sa);
	free(sb);
	metrics_free(a);
	metrics_free(b);
}

static void metrics_render__invalid_utf8_in_labels_becomes_one_replacement_series(void **state)
{
	(void)state;
	struct metrics *m = small(0);
	metrics_inc(m, F_TOTAL, V("bad\xff", "r"));
	metrics_inc(m, F_TOTAL, V("bad\xfe", "r")); /* the same series once sanitised */
	double v = 0;
	assert_int_equal(metrics_get(m, F_TOTAL, V("bad\xef\xbf\xbd", "r"), &v), 0);
	assert_true(v == 2);
	char *s = render(m);
	assert_non_null(strstr(s, "namespace=\"bad\xef\xbf\xbd\""));
	free(s);
	metrics_free(m);
}

static void metrics_update__wrong_type_negative_and_nan_are_refused(void **state)
{
	(void)state;
	struct metrics *m = small(0);
	assert_int_equal(metrics_add(m, F_TOTAL, V("a", "b"), -1), E_INVALID);
	assert_int_equal(metrics_add(m, F_TOTAL, V("a", "b"), NAN), E_INVALID);
	assert_int_equal(metrics_add(m, F_TOTAL, V("a", "b"), INFINITY), E_INVALID);
	assert_int_equal(metrics_set(m, F_TOTAL, V("a", "b"), 1), E_INVALID);
	assert_non_null(strstr(err_msg(), "t_requests_total"));
	assert_int_equal(metrics_observe(m, F_GAUGE, V("a"), 1), E_INVALID);
	assert_int_equal(metrics_observe(m, F_HIST, V("a"), NAN), E_INVALID);
	assert_int_equal(metrics_add(m, F_COUNT, NULL, 1), E_INVALID);
	assert_int_equal(metrics_get(m, F_COUNT, NULL, &(double){0}), E_INVALID);
	assert_int_equal(metrics_series(m), 1); /* only t_up */
	/* Gauges take anything. */
	assert_int_equal(metrics_set(m, F_GAUGE, V("n"), NAN), 0);
	assert_int_equal(metrics_set(m, F_GAUGE, V("i"), -INFINITY), 0);
	char *s = render(m);
	assert_non_null(strstr(s, "t_temperature_celsius{path=\"n\"} NaN\n"));
	assert_non_null(strstr(s, "t_temperature_celsius{path=\"i\"} -Inf\n"));
	free(s);
	metrics_free(m);
}

static void metrics_update__a_full_family_drops_new_series_and_counts_them(void **state)
{
	(void)state;
	struct metrics *m = small(3);
	assert_int_equal(metrics_inc(m, F_TOTAL, V("a", "1")), 0);
	assert_int_equal(metrics_inc(m, F_TOTAL, V("b", "1")), 0);
	assert_int_equal(metrics_inc(m, F_TOTAL, V("c", "1")), 0);
	assert_int_equal(metrics_inc(m, F_TOTAL, V("d", "1")), E_TOOBIG);
	assert_int_equal(metrics_inc(m, F_TOTAL, V("e", "1")), E_TOOBIG);
	/* Existing series still move; other families have their own bound. */
	assert_int_equal(metrics_inc(m, F_TOTAL, V("a", "1")), 0);
	assert_int_equal(metrics_set(m, F_GAUGE, V("x"), 1), 0);
	char *s = render(m);
	assert_null(strstr(s, "namespace=\"d\""));
	assert_non_null(strstr(s, "t_requests_total{namespace=\"a\",result=\"1\"} 2\n"));
	assert_non_null(strstr(s, "lifeboat_metrics_series_dropped_total 2\n"));
	free(s);
	/* Forgetting makes room. */
	assert_int_equal(metrics_forget(m, F_TOTAL, V("b", "1")), 0);
	assert_int_equal(metrics_inc(m, F_TOTAL, V("d", "1")), 0);
	metrics_free(m);
}

static void metrics_forget__drops_one_series_and_reports_unknown_ones(void **state)
{
	(void)state;
	struct metrics *m = small(0);
	metrics_set(m, F_GAUGE, V("keep"), 1);
	metrics_set(m, F_GAUGE, V("drop"), 2);
	assert_int_equal(metrics_forget(m, F_GAUGE, V("drop")), 0);
	assert_int_equal(metrics_forget(m, F_GAUGE, V("drop")), E_NOTFOUND);
	assert_int_equal(metrics_forget(m, F_COUNT, NULL), E_INVALID);
	double v;
	assert_int_equal(metrics_get(m, F_GAUGE, V("drop"), &v), E_NOTFOUND);
	assert_int_equal(metrics_get(m, F_GAUGE, V("keep"), &v), 0);
	/* The series of a family without labels stays. */
	assert_int_equal(metrics_forget(m, F_PLAIN, NULL), 0);
	assert_int_equal(metrics_get(m, F_PLAIN, NULL, &v), 0);
	metrics_free(m);
}

static void metrics_forget_family__drops_every_series_of_one_family(void **state)
{
	(void)state;
	struct metrics *m = small(0);
	metrics_set(m, F_GAUGE, V("a"), 1);
	metrics_set(m, F_GAUGE, V("b"), 2);
	metrics_inc(m, F_TOTAL, V("ns", "ok"));
	assert_int_equal(metrics_forget_family(m, F_GAUGE), 2);
	assert_int_equal(metrics_forget_family(m, F_GAUGE), 0);
	double v;
	assert_int_equal(metrics_get(m, F_GAUGE, V("a"), &v), E_NOTFOUND);
	assert_int_equal(metrics_get(m, F_TOTAL, V("ns", "ok"), &v), 0);
	/* The series of a family without labels stays; a bad index is nothing. */
	assert_int_equal(metrics_forget_family(m, F_PLAIN), 0);
	assert_int_equal(metrics_get(m, F_PLAIN, NULL, &v), 0);
	assert_int_equal(metrics_forget_family(m, F_COUNT), 0);
	/* and the family fills again */
	assert_int_equal(metrics_set(m, F_GAUGE, V("c"), 3), 0);
	assert_int_equal(metrics_get(m, F_GAUGE, V("c"), &v), 0);
	metrics_free(m);
}

static void metrics_forget_matching__drops_a_resources_series_in_every_family(void **state)
{
	(void)state;
	struct metrics *m = NULL;
	assert_int_equal(metrics_new(&m, metrics_operator_families, METRICS_OPERATOR_FAMILIES,
				     &(struct metrics_options){.no_process = 1}),
			 0);
	metrics_set(m, METRICS_BACKUP_LAST_SUCCESS, V("prod", "nightly-1", "nightly"), 1e9);
	metrics_set(m, METRICS_BACKUP_SIZE, V("prod", "nightly-1", "nightly"), 1024);
	metrics_set(m, METRICS_BACKUP_SIZE, V("prod", "nightly-2", "nightly"), 2048);
	metrics_set(m, METRICS_BACKUP_SIZE, V("dev", "nightly-1", "nightly"), 4096);
	metrics_inc(m, METRICS_BACKUPS_TOTAL, V("prod", "succeeded"));
	metrics_observe(m, METRICS_BACKUP_DURATION, V("prod", "nightly"), 12);
	size_t before = metrics_series(m);
	/* backups_total and duration have no "name": untouched. */
	assert_int_equal(
	    metrics_forget_matching(m, V("namespace", "prod", "name", "nightly-1", NULL)), 2);
	assert_int_equal(metrics_series(m), before - 2);
	double v;
	assert_int_equal(metrics_get(m, METRICS_BACKUP_SIZE, V("prod", "nightly-2", "nightly"), &v),
			 0);
	assert_int_equal(metrics_get(m, METRICS_BACKUP_SIZE, V("dev", "nightly-1", "nightly"), &v),
			 0);
	assert_int_equal(metrics_get(m, METRICS_BACKUPS_TOTAL, V("prod", "succeeded"), &v), 0);
	/* A whole schedule: every family with a "schedule" label. */
	assert_int_equal(metrics_forget_matching(m, V("schedule", "nightly", NULL)), 3);
	assert_int_equal(metrics_forget_matching(m, V("nolabel", "x", NULL)), 0);
	assert_int_equal(metrics_forget_matching(m, NULL), 0);
	metrics_free(m);
}

static void metrics_new__refuses_bad_tables(void **state)
{
	(void)state;
	static const char *const le[] = {"le", NULL};
	static const char *const dunder[] = {"__x", NULL};
	static const char *const twice[] = {"a", "a", NULL};
	static const char *const digit[] = {"1a", NULL};
	static const double down[] = {2, 1};
	static const double inf[] = {1, INFINITY};
	static const struct {
		struct metrics_family_def def;
		const char *why;
	} cases[] = {
	    {{"bad-name", "h", METRICS_GAUGE, NULL, NULL, 0}, "not a metric name"},
	    {{"", "h", METRICS_GAUGE, NULL, NULL, 0}, "not a metric name"},
	    {{"9lives", "h", METRICS_GAUGE, NULL, NULL, 0}, "not a metric name"},
	    {{"ok", NULL, METRICS_GAUGE, NULL, NULL, 0}, "no help"},
	    {{"ok", "h", (enum metrics_type)7, NULL, NULL, 0}, "unknown type"},
	    {{"ok", "h", METRICS_HISTOGRAM, le, BUCKETS, 3}, "\"le\""},
	    {{"ok", "h", METRICS_GAUGE, dunder, NULL, 0}, "not a label name"},
	    {{"ok", "h", METRICS_GAUGE, digit, NULL, 0}, "not a label name"},
	    {{"ok", "h", METRICS_GAUGE, twice, NULL, 0}, "twice"},
	    {{"ok", "h", METRICS_HISTOGRAM, NULL, NULL, 0}, "needs buckets"},
	    {{"ok", "h", METRICS_HISTOGRAM, NULL, down, 2}, "ascending"},
	    {{"ok", "h", METRICS_HISTOGRAM, NULL, inf, 2}, "finite"},
	    {{"ok", "h", METRICS_COUNTER, NULL, BUCKETS, 3}, "only histograms"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct metrics *m = (struct metrics *)&cases; /* must stay untouched */
		assert_int_equal(metrics_new(&m, &cases[i].def, 1, NULL), E_INVALID);
		if (!strstr(err_msg(), cases[i].why))
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err_msg(), cases[i].why);
		assert_ptr_equal(m, (struct metrics *)&cases);
	}
	struct metrics_family_def dup[2] = {{"a", "h", METRICS_GAUGE, NULL, NULL, 0},
					    {"a", "h", METRICS_GAUGE, NULL, NULL, 0}};
	struct metrics *m = NULL;
	assert_int_equal(metrics_new(&m, dup, 2, NULL), E_INVALID);
	assert_non_null(strstr(err_msg(), "registered twice"));
	assert_null(m);
}

static void metrics_format_value__prometheus_number_forms(void **state)
{
	(void)state;
	static const struct {
		double v;
		const char *want;
	} cases[] = {
	    {0, "0"},
	    {1, "1"},
	    {-3, "-3"},
	    {1714566896, "1714566896"},
	    {0.1, "0.1"},
	    {0.005, "0.005"},
	    {2.5, "2.5"},
	    {1e21, "1e+21"},
	    {1.0 / 3, "0.3333333333333333"},
	    {123456.789, "123456.789"},
	    {NAN, "NaN"},
	    {INFINITY, "+Inf"},
	    {-INFINITY, "-Inf"},
	};
	char out[64];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		metrics_format_value(out, sizeof(out), cases[i].v);
		assert_string_equal(out, cases[i].want);
	}
	/* Round trip of awkward values. */
	double odd[] = {0.1 + 0.2, 1e-300, 5e-324, 1.7976931348623157e308, 9007199254740993.0};
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		metrics_format_value(out, sizeof(out), odd[i]);
		assert_true(strtod(out, NULL) == odd[i]);
	}
}

static void metrics_parse_proc_stat__reads_fields_after_an_odd_command_name(void **state)
{
	(void)state;
	const char *text =
	    "4242 (we ird) (name) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 130 0 0 20 0 "
	    "7 0 123456 987654321 2048 18446744073709551615 1 1 0 0 0 0 0 0 0\n";
	struct metrics_proc_stat ps;
	assert_int_equal(metrics_parse_proc_stat(text, &ps), 0);
	assert_int_equal(ps.utime_ticks, 250);
	assert_int_equal(ps.stime_ticks, 130);
	assert_int_equal(ps.start_ticks, 123456);
	assert_int_equal(ps.vsize_bytes, 987654321);
	assert_int_equal(ps.rss_pages, 2048);
	static const char *const bad[] = {
	    "",
	    "no parens at all",
	    "1 (x) S 1 2 3",
	    "1 (x) S 1 2 3 4 5 6 7 8 9 10 zz 12 13 14 15 16 17 18 19 20 21",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(metrics_parse_proc_stat(bad[i], &ps), E_INVALID);
	assert_int_equal(metrics_parse_proc_stat(NULL, &ps), E_INVALID);
}

static void metrics_parse_btime__finds_the_line_or_says_so(void **state)
{
	(void)state;
	int64_t bt = 0;
	assert_int_equal(
	    metrics_parse_btime("cpu 1 2 3\nintr 5\nbtime 1714500000\nprocesses 9\n", &bt), 0);
	assert_int_equal(bt, 1714500000);
	assert_int_equal(metrics_parse_btime("cpu 1\n", &bt), E_INVALID);
	assert_int_equal(metrics_parse_btime("btime x\n", &bt), E_INVALID);
	assert_int_equal(metrics_parse_btime("", &bt), E_INVALID);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void metrics_render__process_metrics_from_a_fake_proc(void **state)
{
	(void)state;
	char root[] = "/tmp/lifeboat-proc.XXXXXX", p[256];
	assert_non_null(mkdtemp(root));
	snprintf(p, sizeof(p), "%s/self", root);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/self/fd", root);
	mkdir(p, 0700);
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/self/fd/%d", root, i);
		write_file(p, "");
	}
	long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	char stat[512];
	/* 3 s of user + 1 s of system time, started 10 s after boot. */
	snprintf(stat, sizeof(stat),
		 "7 (lifeboat-operator) S 1 7 7 0 -1 0 0 0 0 0 %ld %ld 0 0 20 0 4 0 %ld 50000000 "
		 "100 0\n",
		 3 * tck, 1 * tck, 10 * tck);
	snprintf(p, sizeof(p), "%s/self/stat", root);
	write_file(p, stat);
	snprintf(p, sizeof(p), "%s/stat", root);
	write_file(p, "cpu 0\nbtime 1700000000\n");
	struct metrics *m = NULL;
	assert_int_equal(
	    metrics_new(&m, DEFS, F_COUNT, &(struct metrics_options){.proc_root = root}), 0);
	char *s = render(m);
	assert_non_null(
	    strstr(s, "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 4\n"));
	assert_non_null(strstr(s, "process_open_fds 3\n"));
	char want[128];
	snprintf(want, sizeof(want), "process_resident_memory_bytes %ld\n", 100 * page);
	assert_non_null(strstr(s, want));
	assert_non_null(strstr(s, "process_start_time_seconds 1700000010\n"));
	assert_non_null(strstr(s, "process_virtual_memory_bytes 50000000\n"));
	assert_non_null(strstr(s, "process_max_fds "));
	free(s);
	metrics_free(m);
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/self/fd/%d", root, i);
		unlink(p);
	}
	snprintf(p, sizeof(p), "%s/self/fd", root);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/self/stat", root);
	unlink(p);
	snprintf(p, sizeof(p), "%s/self", root);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/stat", root);
	unlink(p);
	rmdir(root);
}

static void metrics_render__real_proc_gives_plausible_values(void **state)
{
	(void)state;
	struct metrics *m = NULL;
	assert_int_equal(metrics_new(&m, DEFS, F_COUNT, NULL), 0);
	char *s = render(m);
	char *p = strstr(s, "\nprocess_resident_memory_bytes ");
	assert_non_null(p);
	assert_true(strtod(p + strlen("\nprocess_resident_memory_bytes "), NULL) > 1024 * 1024);
	p = strstr(s, "\nprocess_start_time_seconds ");
	assert_non_null(p);
	double start = strtod(p + strlen("\nprocess_start_time_seconds "), NULL);
	double now = (double)time(NULL);
	assert_true(start > now - 3600 && start <= now + 1);
	p = strstr(s, "\nprocess_open_fds ");
	assert_non_null(p);
	assert_true(strtol(p + strlen("\nprocess_open_fds "), NULL, 10) >= 3);
	free(s);
	metrics_free(m);
}

static void collect(struct metrics *m, void *ud)
{
	int *calls = ud;
	(*calls)++;
	metrics_set(m, F_GAUGE, V("queue"), *calls * 10);
}

static void metrics_set_collector__runs_before_each_render(void **state)
{
	(void)state;
	struct metrics *m = small(0);
	int calls = 0;
	metrics_set_collector(m, collect, &calls);
	char *s = render(m);
	assert_non_null(strstr(s, "t_temperature_celsius{path=\"queue\"} 10\n"));
	free(s);
	s = render(m);
	assert_non_null(strstr(s, "t_temperature_celsius{path=\"queue\"} 20\n"));
	free(s);
	metrics_set_collector(m, NULL, NULL);
	s = render(m);
	assert_int_equal(calls, 2);
	free(s);
	metrics_free(m);
}

static void metrics_render__a_cap_too_small_leaves_the_buffer_as_it_was(void **state)
{
	(void)state;
	struct metrics *m = small(0);
	metrics_inc(m, F_TOTAL, V("prod", "ok"));
	struct buf b;
	buf_init(&b, 100);
	buf_adds(&b, "head\n");
	assert_int_equal(metrics_render(m, &b), E_TOOBIG);
	assert_string_equal(buf_str(&b), "head\n");
	buf_dispose(&b);
	metrics_free(m);
}

static void metrics_operator_families__table_is_valid_and_renders(void **state)
{
	(void)state;
	struct metrics *m = NULL;
	assert_int_equal(metrics_new(&m, metrics_operator_families, METRICS_OPERATOR_FAMILIES,
				     &(struct metrics_options){.no_process = 1}),
			 0);
	assert_int_equal(metrics_set(m, METRICS_BACKUP_LAST_SUCCESS, V("ns", "b", ""), 1714566896),
			 0);
	assert_int_equal(metrics_observe(m, METRICS_BACKUP_DURATION, V("ns", ""), 42), 0);
	assert_int_equal(metrics_set(m, METRICS_BACKUP_SIZE, V("ns", "b", ""), 123456789), 0);
	assert_int_equal(metrics_inc(m, METRICS_BACKUPS_TOTAL, V("ns", "succeeded")), 0);
	assert_int_equal(metrics_inc(m, METRICS_RESTORES_TOTAL, V("ns", "failed")), 0);
	assert_int_equal(metrics_inc(m, METRICS_SCHEDULE_MISSED_RUNS, V("ns", "nightly")), 0);
	for (size_t f = METRICS_SCHEDULE_INTERVAL; f <= METRICS_SCHEDULE_PREVIOUS_SIZE; f++)
		assert_int_equal(metrics_set(m, f, V("ns", "nightly"), 86400), 0);
	assert_int_equal(metrics_inc(m, METRICS_RECONCILE_TOTAL, V("DatabaseBackup", "success")),
			 0);
	assert_int_equal(metrics_inc(m, METRICS_RECONCILE_ERRORS, V("DatabaseBackup")), 0);
	assert_int_equal(metrics_set(m, METRICS_WORKQUEUE_DEPTH, V("DatabaseBackup"), 3), 0);
	assert_int_equal(metrics_set(m, METRICS_LEADER, V("lifeboat-system/lifeboat-operator"), 1),
			 0);
	assert_int_equal(metrics_inc(m, METRICS_KUBE_REQUESTS, V("create", "jobs", "201")), 0);
	assert_int_equal(metrics_inc(m, METRICS_WEBHOOK_REQUESTS, V("patched")), 0);
	char *s = render(m);
	for (size_t i = 0; i < METRICS_OPERATOR_FAMILIES; i++) {
		char want[160];
		snprintf(want, sizeof(want), "# TYPE %s ", metrics_operator_families[i].name);
		if (!strstr(s, want))
			fail_msg("no %s in\n%s", want, s);
	}
	assert_non_null(strstr(s, "lifeboat_backup_duration_seconds_bucket{namespace=\"ns\","
				  "schedule=\"\",le=\"60\"} 1\n"));
	assert_non_null(strstr(s, "lifeboat_backup_duration_seconds_bucket{namespace=\"ns\","
				  "schedule=\"\",le=\"30\"} 0\n"));
	free(s);
	metrics_free(m);
}

#define THREADS 8
#define ADDS 20000

static struct metrics *shared;

static void *adder(void *arg)
{
	char ns[16];
	snprintf(ns, sizeof(ns), "n%d", (int)(intptr_t)arg % 3);
	for (int i = 0; i < ADDS; i++) {
		metrics_inc(shared, F_TOTAL, V(ns, "r"));
		metrics_observe(shared, F_HIST, V("p"), (double)(i % 4));
		if (i % 1000 == 0) {
			struct buf b;
			buf_init(&b, 1 << 20);
			assert_int_equal(metrics_render(shared, &b), 0);
			buf_dispose(&b);
		}
	}
	return NULL;
}

static void metrics__concurrent_updates_and_renders_lose_nothing(void **state)
{
	(void)state;
	shared = small(0);
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, adder, (void *)(intptr_t)i), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	double total = 0, v;
	for (int i = 0; i < 3; i++) {
		char ns[16];
		snprintf(ns, sizeof(ns), "n%d", i);
		assert_int_equal(metrics_get(shared, F_TOTAL, V(ns, "r"), &v), 0);
		total += v;
	}
	assert_true(total == (double)THREADS * ADDS);
	assert_int_equal(metrics_get(shared, F_HIST, V("p"), &v), 0);
	assert_true(v == (double)THREADS * ADDS);
	char *s = render(shared);
	char want[128];
	/* 0,1,2,3 each a quarter: le=0.5 has the zeros, le=1 adds ones, le=2.5 adds twos. */
	snprintf(want, sizeof(want), "t_latency_seconds_bucket{path=\"p\",le=\"1\"} %d\n",
		 THREADS * ADDS / 2);
	assert_non_null(strstr(s, want));
	free(s);
	metrics_free(shared);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(metrics_render__golden_text_of_every_type),
	    cmocka_unit_test(metrics_render__families_without_series_are_left_out),
	    cmocka_unit_test(
		metrics_render__series_sorted_by_label_values_whatever_the_insert_order),
	    cmocka_unit_test(metrics_render__invalid_utf8_in_labels_becomes_one_replacement_series),
	    cmocka_unit_test(metrics_update__wrong_type_negative_and_nan_are_refused),
	    cmocka_unit_test(metrics_update__a_full_family_drops_new_series_and_counts_them),
	    cmocka_unit_test(metrics_forget__drops_one_series_and_reports_unknown_ones),
	    cmocka_unit_test(metrics_forget_family__drops_every_series_of_one_family),
	    cmocka_unit_test(metrics_forget_matching__drops_a_resources_series_in_every_family),
	    cmocka_unit_test(metrics_new__refuses_bad_tables),
	    cmocka_unit_test(metrics_format_value__prometheus_number_forms),
	    cmocka_unit_test(metrics_parse_proc_stat__reads_fields_after_an_odd_command_name),
	    cmocka_unit_test(metrics_parse_btime__finds_the_line_or_says_so),
	    cmocka_unit_test(metrics_render__process_metrics_from_a_fake_proc),
	    cmocka_unit_test(metrics_render__real_proc_gives_plausible_values),
	    cmocka_unit_test(metrics_set_collector__runs_before_each_render),
	    cmocka_unit_test(metrics_render__a_cap_too_small_leaves_the_buffer_as_it_was),
	    cmocka_unit_test(metrics_operator_families__table_is_valid_and_renders),
	    cmocka_unit_test(metrics__concurrent_updates_and_renders_lose_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
