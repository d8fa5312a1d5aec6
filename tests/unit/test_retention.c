/* Tests for operator/retention.c: which of a schedule's backups to keep. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "operator/api/schedule.h"
#include "operator/retention.h"

#define H 3600
#define D 86400
/* 2026-12-01T12:00:00Z, a Tuesday */
#define NOW 1796126400

enum { OK = RETENTION_STATE_SUCCEEDED, BAD = RETENTION_STATE_FAILED, RUN = RETENTION_STATE_ACTIVE };

struct it {
	const char *name;
	int64_t ago; /* seconds before NOW (negative: in the future) */
	int state;
	int referenced;
	const char *want; /* retention_describe of its reasons */
};

struct tcase {
	const char *name;
	struct api_retention policy;
	int32_t offset;
	struct it items[16];
};

#define POLICY(...)                                                                                \
	{                                                                                          \
		.set = 1, __VA_ARGS__                                                              \
	}

static const struct tcase cases[] = {
    {"no retention: everything kept",
     {.set = 0},
     0,
     {{"a", 3 * D, OK, 0, "no retention"},
      {"b", 2 * D, BAD, 0, "no retention"},
      {"c", 1 * D, OK, 0, "newest, no retention"}}},
    {"keepLast 2 over failed ones in between (failed kept without keepFailed)",
     POLICY(.keep_last = 2, .has_keep_last = 1),
     0,
     {{"r1", 5 * D, OK, 0, "delete"},
      {"r2", 4 * D, OK, 0, "delete"},
      {"r3", 3 * D, BAD, 0, "failed"},
      {"r4", 2 * D, OK, 0, "last"},
      {"r5", 1 * D, BAD, 0, "failed"},
      {"r6", 1 * H, OK, 0, "newest, last"}}},
    {"ties: equal times order by name, the larger newer (whatever the input order)",
     POLICY(.keep_last = 1, .has_keep_last = 1),
     0,
     {{"b-2", 1 * D, OK, 0, "newest, last"}, {"b-1", 1 * D, OK, 0, "delete"}}},
    {"ties, the other input order",
     POLICY(.keep_last = 1, .has_keep_last = 1),
     0,
     {{"b-1", 1 * D, OK, 0, "delete"}, {"b-2", 1 * D, OK, 0, "newest, last"}}},
    {"maxAge 7d: younger kept, a future time (clock skew) too, exactly 7d goes",
     POLICY(.max_age = (char *)"7d", .max_age_seconds = 7 * D),
     0,
     {{"old", 8 * D, OK, 0, "delete"},
      {"edge", 7 * D, OK, 0, "delete"},
      {"young", 6 * D, OK, 0, "age"},
      {"skewed", -5 * 60, OK, 0, "newest, age"}}},
    {"a policy that would delete everything keeps the newest successful one",
     POLICY(.keep_last = 1, .has_keep_last = 1, .max_age = (char *)"1h", .max_age_seconds = H,
	    .keep_failed = 0, .has_keep_failed = 1),
     0,
     {{"a", 30 * D, OK, 0, "delete"},
      {"b", 20 * D, OK, 0, "newest, last"},
      {"c", 10 * D, BAD, 0, "delete"}}},
    {"only failed backups: none is newest successful; keepFailed 1 keeps one",
     POLICY(.keep_last = 3, .has_keep_last = 1, .keep_failed = 1, .has_keep_failed = 1),
     0,
     {{"f1", 3 * D, BAD, 0, "delete"}, {"f2", 2 * D, BAD, 0, "failed"}}},
    {"running and referenced backups are never deleted",
     POLICY(.keep_last = 1, .has_keep_last = 1, .keep_failed = 0, .has_keep_failed = 1),
     0,
     {{"ref", 40 * D, OK, 1, "referenced"},
      {"reffailed", 39 * D, BAD, 1, "referenced"},
      {"running", 1 * H, RUN, 0, "active"},
      {"old", 30 * D, OK, 0, "delete"},
      {"new", 2 * H, OK, 0, "newest, last"}}},
    /* NOW is 12:00Z. Days in UTC: d0 = 12-01, d1 = 11-30, ... */
    {"keepDaily 3: the newest of each of the last 3 days that have one (a gap day skipped)",
     POLICY(.keep_daily = 3, .has_keep_daily = 1),
     0,
     {{"d0-late", 1 * H, OK, 0, "newest, daily"},
      {"d0-early", 10 * H, OK, 0, "delete"},
      {"d1", 1 * D, OK, 0, "daily"},
      {"d1-failed", 1 * D - 60, BAD, 0, "failed"},
      {"d3", 3 * D, OK, 0, "daily"},
      {"d4", 4 * D, OK, 0, "delete"}}},
    {"keepDaily in the schedule's zone: +02:00 moves 23:30Z into the next day",
     POLICY(.keep_daily = 1, .has_keep_daily = 1),
     2 * H,
     /* 12-01 11:00Z and 11-30 23:30Z are both 12-01 local (13:00, 01:30) */
     {{"local-1300", 1 * H, OK, 0, "newest, daily"},
      {"local-0130", 12 * H + 30 * 60, OK, 0, "delete"}}},
    {"keepDaily in UTC: the same two are two days",
     POLICY(.keep_daily = 2, .has_keep_daily = 1),
     0,
     {{"utc-1100", 1 * H, OK, 0, "newest, daily"}, {"utc-2330", 12 * H + 30 * 60, OK, 0, "daily"}}},
    /* 2026-12-01 is a Tuesday of ISO week 49; 11-29 (Sunday) is week 48. */
    {"keepWeekly 2: ISO weeks start on Monday",
     POLICY(.keep_weekly = 2, .has_keep_weekly = 1),
     0,
     {{"tue-w49", 0, OK, 0, "newest, weekly"},
      {"mon-w49", 1 * D, OK, 0, "delete"},
      {"sun-w48", 2 * D, OK, 0, "weekly"},
      {"sat-w48", 3 * D, OK, 0, "delete"},
      {"sun-w47", 9 * D, OK, 0, "delete"}}},
    {"keepMonthly 2 with keepLast 1: a backup can have several reasons",
     POLICY(.keep_monthly = 2, .has_keep_monthly = 1, .keep_last = 1, .has_keep_last = 1),
     0,
     {{"dec", 0, OK, 0, "newest, last, monthly"},
      {"nov-30", 1 * D, OK, 0, "monthly"},
      {"nov-01", 30 * D, OK, 0, "delete"},
      {"oct", 40 * D, OK, 0, "delete"}}},
};

static void retention_select__tables(void **state)
{
	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const struct tcase *t = &cases[c];
		struct retention_item items[16];
		unsigned reasons[16];
		size_t n = 0, want_deleted = 0;
		for (; n < 16 && t->items[n].name; n++) {
			items[n] = (struct retention_item){t->items[n].name, NOW - t->items[n].ago,
							   t->offset, t->items[n].state,
							   t->items[n].referenced};
			want_deleted += strcmp(t->items[n].want, "delete") == 0;
		}
		size_t deleted = retention_select(items, n, &t->policy, NOW, reasons);
		for (size_t i = 0; i < n; i++) {
			char got[128];
			retention_describe(reasons[i], got, sizeof(got));
			if (strcmp(got, t->items[i].want) != 0)
				fail_msg("%s: %s is \"%s\", want \"%s\"", t->name, t->items[i].name,
					 got, t->items[i].want);
		}
		if (deleted != want_deleted)
			fail_msg("%s: %zu deleted, want %zu", t->name, deleted, want_deleted);
	}
}

static void retention_select__empty_and_null_policy(void **state)
{
	(void)state;
	unsigned r[1];
	assert_int_equal(retention_select(NULL, 0, NULL, NOW, r), 0);
	struct retention_item one = {"x", NOW, 0, RETENTION_STATE_FAILED, 0};
	assert_int_equal(retention_select(&one, 1, NULL, NOW, r), 0);
	assert_int_equal(r[0], RETENTION_NO_POLICY);
}

static void retention_civil__matches_gmtime(void **state)
{
	(void)state;
	srand(42);
	for (int i = 0; i < 20000; i++) {
		/* 1901 .. 2100, and offsets from -12h to +14h */
		int64_t t = -2147483648LL + (int64_t)((double)rand() / RAND_MAX * 6250000000.0);
		int32_t off = (int32_t)(rand() % (26 * 4 + 1) - 48) * 900;
		time_t lt = (time_t)(t + off);
		struct tm tm;
		assert_non_null(gmtime_r(&lt, &tm));
		int y, m, d;
		retention_civil(t, off, &y, &m, &d);
		if (y != tm.tm_year + 1900 || m != tm.tm_mon + 1 || d != tm.tm_mday)
			fail_msg("%lld at %d: %d-%d-%d, gmtime says %d-%d-%d", (long long)t, off, y,
				 m, d, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	}
}

static void retention_iso_week__known_dates_and_strftime(void **state)
{
	(void)state;
	static const struct {
		int y, m, d, iy, w;
	} known[] = {
	    {2021, 1, 3, 2020, 53},   {2021, 1, 4, 2021, 1},	{2024, 12, 30, 2025, 1},
	    {2026, 12, 31, 2026, 53}, {2027, 1, 1, 2026, 53},	{2027, 1, 4, 2027, 1},
	    {2026, 12, 1, 2026, 49},  {2026, 11, 29, 2026, 48}, {2008, 12, 29, 2009, 1},
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		int iy, w;
		retention_iso_week(known[i].y, known[i].m, known[i].d, &iy, &w);
		assert_int_equal(iy, known[i].iy);
		assert_int_equal(w, known[i].w);
	}
	/* Every day of 1990-2040 against strftime's %G-%V. */
	for (int64_t day = 7305; day < 7305 + 50 * 366; day++) {
		time_t t = (time_t)(day * 86400);
		struct tm tm;
		gmtime_r(&t, &tm);
		char want[16], got[16];
		strftime(want, sizeof(want), "%G-%V", &tm);
		int iy, w;
		retention_iso_week(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, &iy, &w);
		snprintf(got, sizeof(got), "%d-%02d", iy, w);
		if (strcmp(got, want) != 0)
			fail_msg("%04d-%02d-%02d: %s, strftime says %s", tm.tm_year + 1900,
				 tm.tm_mon + 1, tm.tm_mday, got, want);
	}
}

static void retention_describe__small_buffers(void **state)
{
	(void)state;
	char out[8];
	retention_describe(RETENTION_NEWEST | RETENTION_MONTHLY | RETENTION_REFERENCED, out,
			   sizeof(out));
	assert_true(strlen(out) < sizeof(out));
	char big[128];
	retention_describe(0, big, sizeof(big));
	assert_string_equal(big, "delete");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(retention_select__tables),
	    cmocka_unit_test(retention_select__empty_and_null_policy),
	    cmocka_unit_test(retention_civil__matches_gmtime),
	    cmocka_unit_test(retention_iso_week__known_dates_and_strftime),
	    cmocka_unit_test(retention_describe__small_buffers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
