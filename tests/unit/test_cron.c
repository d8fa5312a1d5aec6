/* Tests for operator/cron.c: the parser (good expressions as bit sets, bad
 * ones with their exact messages), names, 7 as Sunday, the OR rule, the
 * macros and what is refused; the daylight-saving days of the issue; and
 * cron_next/cron_prev against a brute-force reference that walks every
 * UTC minute of two years (2027-2028) and one more (2040, where the zone
 * files' footer rules) in six zones, with wall clocks from glibc's
 * localtime_r (single-threaded test: setting TZ is safe here) and its
 * calendar, never from operator/tz.c; then a fuzz loop. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "common/xmalloc.h"
#include "operator/cron.h"
#include "operator/tz.h"

#define BITS(lo, hi) ((((uint64_t)2 << (hi)) - 1) & ~(((uint64_t)1 << (lo)) - 1))
#define BIT(n) ((uint64_t)1 << (n))
#define ALL_MIN BITS(0, 59)
#define ALL_HOUR BITS(0, 23)
#define ALL_MDAY BITS(1, 31)
#define ALL_MON BITS(1, 12)
#define ALL_WDAY BITS(0, 6)

static const char *const ZONES[] = {"UTC",
				    "Europe/Stockholm",
				    "America/New_York",
				    "Australia/Lord_Howe",
				    "Asia/Kathmandu",
				    "Pacific/Chatham",
				    NULL};

static uint64_t rng = 0x2545f4914f6cdd1dULL;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static struct cron parse(const char *expr)
{
	struct cron c;
	if (cron_parse(&c, expr, "spec.schedule"))
		fail_msg("\"%s\": %s", expr, err_msg());
	return c;
}

static struct tz *load(const char *name)
{
	struct tz *z = NULL;
	if (tz_load(&z, name))
		fail_msg("%s: %s", name, err_msg());
	return z;
}

static int64_t utc(int y, int m, int d, int hh, int mm)
{
	return tz_days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60;
}

/* --- parsing --- */

static const struct {
	const char *expr;
	uint64_t minutes, hours, mdays, months, wdays;
	int mday_any, wday_any, every_hour;
} good[] = {
    {"0 2 * * *", BIT(0), BIT(2), ALL_MDAY, ALL_MON, ALL_WDAY, 1, 1, 0},
    {"*/15 * * * *", BIT(0) | BIT(15) | BIT(30) | BIT(45), ALL_HOUR, ALL_MDAY, ALL_MON, ALL_WDAY, 1,
     1, 1},
    {"10-50/10 1-5 * * *", BIT(10) | BIT(20) | BIT(30) | BIT(40) | BIT(50), BITS(1, 5), ALL_MDAY,
     ALL_MON, ALL_WDAY, 1, 1, 0},
    {"5/20 */6 * * *", BIT(5) | BIT(25) | BIT(45), BIT(0) | BIT(6) | BIT(12) | BIT(18), ALL_MDAY,
     ALL_MON, ALL_WDAY, 1, 1, 0},
    {"1,2,3-5,59 0 1,31 * *", BITS(1, 5) | BIT(59), BIT(0), BIT(1) | BIT(31), ALL_MON, ALL_WDAY, 0,
     1, 0},
    {"0 0 * JAN,jul,Dec *", BIT(0), BIT(0), ALL_MDAY, BIT(1) | BIT(7) | BIT(12), ALL_WDAY, 1, 1, 0},
    {"0 0 * feb-APR/2 *", BIT(0), BIT(0), ALL_MDAY, BIT(2) | BIT(4), ALL_WDAY, 1, 1, 0},
    {"0 9 * * mon-fri", BIT(0), BIT(9), ALL_MDAY, ALL_MON, BITS(1, 5), 1, 0, 0},
    {"0 9 * * MON-Fri", BIT(0), BIT(9), ALL_MDAY, ALL_MON, BITS(1, 5), 1, 0, 0},
    {"0 0 * * 7", BIT(0), BIT(0), ALL_MDAY, ALL_MON, BIT(0), 1, 0, 0},
    {"0 0 * * 5-7", BIT(0), BIT(0), ALL_MDAY, ALL_MON, BIT(5) | BIT(6) | BIT(0), 1, 0, 0},
    {"0 0 * * sun,sat", BIT(0), BIT(0), ALL_MDAY, ALL_MON, BIT(0) | BIT(6), 1, 0, 0},
    {"0 0 * * 0-7", BIT(0), BIT(0), ALL_MDAY, ALL_MON, ALL_WDAY, 1, 0, 0},
    {"0 0 1,15 * 5", BIT(0), BIT(0), BIT(1) | BIT(15), ALL_MON, BIT(5), 0, 0, 0},
    /* A step on * restricts: the OR rule applies (as Kubernetes CronJobs). */
    {"0 0 */10 * */1", BIT(0), BIT(0), BIT(1) | BIT(11) | BIT(21) | BIT(31), ALL_MON, ALL_WDAY, 0,
     1, 0},
    {"0 0 *,5 * 1", BIT(0), BIT(0), ALL_MDAY, ALL_MON, BIT(1), 1, 0, 0},
    {"0 0-23 * * *", BIT(0), ALL_HOUR, ALL_MDAY, ALL_MON, ALL_WDAY, 1, 1, 1},
    {"0 0-11,12-23 * * *", BIT(0), ALL_HOUR, ALL_MDAY, ALL_MON, ALL_WDAY, 1, 1, 1},
    {"0 0-22 * * *", BIT(0), BITS(0, 22), ALL_MDAY, ALL_MON, ALL_WDAY, 1, 1, 0},
    {" \t0  2\t* *  *\t ", BIT(0), BIT(2), ALL_MDAY, ALL_MON, ALL_WDAY, 1, 1, 0},
    {"059 023 031 012 007", BIT(59), BIT(23), BIT(31), BIT(12), BIT(0), 0, 0, 0},
    {"0 0 31 2 mon", BIT(0), BIT(0), BIT(31), BIT(2), BIT(1), 0, 0, 0},
    {"0 0 29 2 *", BIT(0), BIT(0), BIT(29), BIT(2), ALL_WDAY, 0, 1, 0},
    {"@yearly", BIT(0), BIT(0), BIT(1), BIT(1), ALL_WDAY, 0, 1, 0},
    {"@annually", BIT(0), BIT(0), BIT(1), BIT(1), ALL_WDAY, 0, 1, 0},
    {"@monthly", BIT(0), BIT(0), BIT(1), ALL_MON, ALL_WDAY, 0, 1, 0},
    {"@weekly", BIT(0), BIT(0), ALL_MDAY, ALL_MON, BIT(0), 1, 0, 0},
    {"@daily", BIT(0), BIT(0), ALL_MDAY, ALL_MON, ALL_WDAY, 1, 1, 0},
    {"@midnight", BIT(0), BIT(0), ALL_MDAY, ALL_MON, ALL_WDAY, 1, 1, 0},
    {"@hourly", BIT(0), ALL_HOUR, ALL_MDAY, ALL_MON, ALL_WDAY, 1, 1, 1},
    {"  @Daily ", BIT(0), BIT(0), ALL_MDAY, ALL_MON, ALL_WDAY, 1, 1, 0},
};

static void cron_parse__accepts_the_documented_syntax(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct cron c = parse(good[i].expr);
		if (c.minutes != good[i].minutes || c.hours != good[i].hours ||
		    c.mdays != good[i].mdays || c.months != good[i].months ||
		    c.wdays != good[i].wdays || c.mday_any != good[i].mday_any ||
		    c.wday_any != good[i].wday_any || c.every_hour != good[i].every_hour)
			fail_msg("\"%s\": %llx %llx %llx %llx %llx %d %d %d", good[i].expr,
				 (unsigned long long)c.minutes, (unsigned long long)c.hours,
				 (unsigned long long)c.mdays, (unsigned long long)c.months,
				 (unsigned long long)c.wdays, c.mday_any, c.wday_any, c.every_hour);
	}
}

static const struct {
	const char *expr, *error;
} bad[] = {
    {"0 0 32 * *", "spec.schedule: field 3 (day of month): 32 is out of range 1-31"},
    {"0 0 0 * *", "spec.schedule: field 3 (day of month): 0 is out of range 1-31"},
    {"60 * * * *", "spec.schedule: field 1 (minute): 60 is out of range 0-59"},
    {"0 24 * * *", "spec.schedule: field 2 (hour): 24 is out of range 0-23"},
    {"0 0 * 13 *", "spec.schedule: field 4 (month): 13 is out of range 1-12"},
    {"0 0 * 0 *", "spec.schedule: field 4 (month): 0 is out of range 1-12"},
    {"0 0 * * 8", "spec.schedule: field 5 (day of week): 8 is out of range 0-7"},
    {"123456789012 * * * *", "spec.schedule: field 1 (minute): 123456789012 is out of range 0-59"},
    {"0 0 1-32 * *", "spec.schedule: field 3 (day of month): 32 is out of range 1-31"},
    {"0 0 * foo *",
     "spec.schedule: field 4 (month): \"foo\" is not a number or a month name (jan-dec)"},
    {"0 0 * january *",
     "spec.schedule: field 4 (month): \"january\" is not a number or a month name (jan-dec)"},
    {"0 0 * * monday",
     "spec.schedule: field 5 (day of week): \"monday\" is not a number or a day name (sun-sat)"},
    {"0 0 * * jan",
     "spec.schedule: field 5 (day of week): \"jan\" is not a number or a day name (sun-sat)"},
    {"0 0 * mon *",
     "spec.schedule: field 4 (month): \"mon\" is not a number or a month name (jan-dec)"},
    {"mon * * * *", "spec.schedule: field 1 (minute): \"mon\" is not a number"},
    {"x * * * *", "spec.schedule: field 1 (minute): \"x\" is not a number"},
    {"? * * * *", "spec.schedule: field 1 (minute): \"?\" is not a number"},
    {"0 0 L * *", "spec.schedule: field 3 (day of month): \"L\" is not a number"},
    {"1.5 * * * *", "spec.schedule: field 1 (minute): \"1.5\" is not a number"},
    {"-5 * * * *", "spec.schedule: field 1 (minute): \"-5\" is not a range like 1-5"},
    {"5- * * * *", "spec.schedule: field 1 (minute): \"5-\" is not a range like 1-5"},
    {"1-2-3 * * * *", "spec.schedule: field 1 (minute): \"2-3\" is not a number"},
    {"30-10 * * * *",
     "spec.schedule: field 1 (minute): range 30-10 runs backwards; write it as two, e.g. "
     "30-59,0-10"},
    {"0 22-2 * * *",
     "spec.schedule: field 2 (hour): range 22-2 runs backwards; write it as two, e.g. "
     "22-23,0-2"},
    {"0 0 * * fri-mon",
     "spec.schedule: field 5 (day of week): range fri-mon runs backwards; write it as two, e.g. "
     "5-6,0-1"},
    {"*/0 * * * *", "spec.schedule: field 1 (minute): step 0 is out of range 1-59"},
    {"*/60 * * * *", "spec.schedule: field 1 (minute): step 60 is out of range 1-59"},
    {"0 0 * */13 *", "spec.schedule: field 4 (month): step 13 is out of range 1-12"},
    {"*/x * * * *", "spec.schedule: field 1 (minute): step \"x\" is not a number"},
    {"*/ * * * *", "spec.schedule: field 1 (minute): step \"\" is not a number"},
    {"*/5/2 * * * *", "spec.schedule: field 1 (minute): step \"5/2\" is not a number"},
    {"/5 * * * *", "spec.schedule: field 1 (minute): \"\" is not a number"},
    {"1,,2 * * * *", "spec.schedule: field 1 (minute): empty list item in \"1,,2\""},
    {", * * * *", "spec.schedule: field 1 (minute): empty list item in \",\""},
    {"0 1, * * *", "spec.schedule: field 2 (hour): empty list item in \"1,\""},
    {"0 0 * *",
     "spec.schedule: has 4 fields; expected 5: minute hour day-of-month month day-of-week"},
    {"0", "spec.schedule: has 1 fields; expected 5: minute hour day-of-month month day-of-week"},
    {"0 0 2 * * * *",
     "spec.schedule: has 7 fields; expected 5: minute hour day-of-month month day-of-week"},
    {"0 0 2 * * *",
     "spec.schedule: has 6 fields: a seconds field (6-field cron) is not supported; use 5 "
     "fields: minute hour day-of-month month day-of-week"},
    {"", "spec.schedule: is empty: write five fields (minute hour day-of-month month "
	 "day-of-week), e.g. \"0 2 * * *\""},
    {" \t ", "spec.schedule: is empty: write five fields (minute hour day-of-month month "
	     "day-of-week), e.g. \"0 2 * * *\""},
    {"@every 5m", "spec.schedule: @every is not supported: write the interval as five fields, "
		  "e.g. \"*/10 * * * *\" for every 10 minutes"},
    {"@EVERY 1h", "spec.schedule: @every is not supported"},
    {"@reboot", "spec.schedule: @reboot is not supported: a schedule runs at times, e.g. @daily"},
    {"@daily 0", "spec.schedule: @daily takes nothing after it, found \"0\""},
    {"@fortnightly", "spec.schedule: unknown macro \"@fortnightly\": use @yearly, @annually, "
		     "@monthly, @weekly, @daily, @midnight or @hourly, or five fields"},
    {"@", "spec.schedule: unknown macro \"@\""},
    {"0 0 30 2 *", "spec.schedule: never runs: no month in field 4 (month) \"2\" has a day in "
		   "field 3 (day of month) \"30\""},
    {"0 0 30,31 feb *", "spec.schedule: never runs: no month in field 4 (month) \"feb\" has a "
			"day in field 3 (day of month) \"30,31\""},
    {"0 0 31 4,6,9,11 *", "spec.schedule: never runs"},
    {"0 2 * * *\n", "spec.schedule: has a control character"},
    {"0 2 * * *\r", "spec.schedule: has a control character"},
    {"0 0 1234567890123456789012345678901234567890123456789 * *",
     "spec.schedule: field 3 (day of month): 1234567890123456789012345678901234567890 is out of "
     "range 1-31"},
};

static void cron_parse__refuses_with_the_field_and_the_value(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cron c = {.minutes = 42};
		int rc = cron_parse(&c, bad[i].expr, "spec.schedule");
		if (rc != E_INVALID)
			fail_msg("\"%s\": accepted", bad[i].expr);
		if (strncmp(err_msg(), bad[i].error, strlen(bad[i].error)))
			fail_msg("\"%s\": %s\nexpected %s", bad[i].expr, err_msg(), bad[i].error);
		assert_int_equal(c.minutes, 42); /* untouched on error */
	}
	/* Without a path the messages say "schedule". */
	struct cron c;
	assert_int_equal(cron_parse(&c, "0 0 32 * *", NULL), E_INVALID);
	assert_string_equal(err_msg(), "schedule: field 3 (day of month): 32 is out of range 1-31");
	char big[2000];
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(cron_parse(&c, big, "spec.schedule"), E_INVALID);
	assert_string_equal(err_msg(), "spec.schedule: longer than 1024 characters");
}

static void cron_next_all(int64_t *out, size_t n, const char *expr, const struct tz *z,
			  int64_t after)
{
	struct cron c = parse(expr);
	for (size_t i = 0; i < n; i++) {
		if (cron_next(&out[i], &c, z, after))
			fail_msg("%s: %s", expr, err_msg());
		after = out[i];
	}
}

static void cron_next__names_seven_and_the_or_rule(void **state)
{
	(void)state;
	int64_t a[6], b[6];
	/* 2025-06-01 is a Sunday: 0, 7 and sun are the same day. */
	int64_t june1 = utc(2025, 6, 1, 0, 0);
	cron_next_all(a, 3, "0 0 * * 0", NULL, june1);
	assert_int_equal(a[0], utc(2025, 6, 8, 0, 0));
	assert_int_equal(a[2], utc(2025, 6, 22, 0, 0));
	cron_next_all(b, 3, "0 0 * * 7", NULL, june1);
	assert_memory_equal(a, b, sizeof(a[0]) * 3);
	cron_next_all(b, 3, "0 0 * * SUN", NULL, june1);
	assert_memory_equal(a, b, sizeof(a[0]) * 3);
	cron_next_all(b, 3, "@weekly", NULL, june1);
	assert_memory_equal(a, b, sizeof(a[0]) * 3);
	/* Both day fields restricted: the 13th or a Friday. */
	cron_next_all(a, 6, "0 0 13 * fri", NULL, utc(2025, 6, 5, 0, 0));
	static const int days[] = {6, 13, 20, 27, 34, 41}; /* June 6 .. July 11 */
	for (int i = 0; i < 6; i++)
		assert_int_equal(a[i], utc(2025, 6, 1, 0, 0) + (days[i] - 1) * 86400LL);
	cron_next_all(a, 3, "0 0 13 * fri", NULL, utc(2025, 7, 11, 0, 0));
	assert_int_equal(a[0], utc(2025, 7, 13, 0, 0)); /* a Sunday */
	assert_int_equal(a[1], utc(2025, 7, 18, 0, 0));
	/* One restricted: that one alone. */
	cron_next_all(a, 2, "0 0 13 * *", NULL, utc(2025, 6, 5, 0, 0));
	assert_int_equal(a[0], utc(2025, 6, 13, 0, 0));
	assert_int_equal(a[1], utc(2025, 7, 13, 0, 0));
	cron_next_all(a, 2, "0 0 * * fri", NULL, utc(2025, 6, 7, 0, 0));
	assert_int_equal(a[0], utc(2025, 6, 13, 0, 0));
	assert_int_equal(a[1], utc(2025, 6, 20, 0, 0));
	/* A stepped day of month is restricted: odd days or Mondays. */
	cron_next_all(a, 3, "0 0 */2 * mon", NULL, utc(2025, 6, 1, 0, 0));
	assert_int_equal(a[0], utc(2025, 6, 2, 0, 0)); /* Monday */
	assert_int_equal(a[1], utc(2025, 6, 3, 0, 0));
	assert_int_equal(a[2], utc(2025, 6, 5, 0, 0));
	/* Feb 29 skips 2100. */
	cron_next_all(a, 2, "0 0 29 2 *", NULL, utc(2096, 3, 1, 0, 0));
	assert_int_equal(a[0], utc(2104, 2, 29, 0, 0));
	assert_int_equal(a[1], utc(2108, 2, 29, 0, 0));
	cron_next_all(a, 2, "0 0 31 * *", NULL, utc(2025, 1, 31, 0, 0));
	assert_int_equal(a[0], utc(2025, 3, 31, 0, 0));
	assert_int_equal(a[1], utc(2025, 5, 31, 0, 0));
	/* Kathmandu: +05:45 all year. */
	struct tz *z = load("Asia/Kathmandu");
	cron_next_all(a, 1, "0 9 * * *", z, utc(2025, 6, 1, 0, 0));
	assert_int_equal(a[0], utc(2025, 6, 1, 3, 15));
	tz_free(z);
}

static void cron_next__refuses_instants_outside_years_1_to_9999(void **state)
{
	(void)state;
	struct cron c = parse("* * * * *"), y = parse("0 0 1 1 *");
	int64_t t = 7;
	assert_int_equal(cron_next(&t, &c, NULL, CRON_MAX_TIME + 1), E_INVALID);
	assert_int_equal(cron_prev(&t, &c, NULL, CRON_MIN_TIME - 1), E_INVALID);
	assert_non_null(strstr(err_msg(), "outside the years 1 to 9999"));
	assert_int_equal(cron_next(&t, &c, NULL, CRON_MAX_TIME - 30), E_NOTFOUND);
	assert_int_equal(cron_next(&t, &y, NULL, utc(9999, 6, 1, 0, 0)), E_NOTFOUND);
	assert_int_equal(cron_prev(&t, &y, NULL, CRON_MIN_TIME + 60), 0);
	assert_int_equal(t, CRON_MIN_TIME);
	assert_int_equal(cron_prev(&t, &c, NULL, CRON_MIN_TIME), 0);
	assert_int_equal(t, CRON_MIN_TIME);
	struct cron d = parse("0 0 31 12 *");
	t = 7;
	assert_int_equal(cron_prev(&t, &d, NULL, utc(1, 6, 1, 0, 0)), E_NOTFOUND);
	assert_int_equal(t, 7);
	assert_int_equal(cron_next(&t, &c, NULL, CRON_MAX_TIME - 90), 0);
	assert_int_equal(t, CRON_MAX_TIME - 59);
}

/* --- daylight saving --- */

/* The runs during the local day y-m-d. */
static size_t runs_on_day(int64_t *out, size_t max, const char *expr, const char *zone, int y,
			  int m, int d)
{
	struct tz *z = load(zone);
	struct cron c = parse(expr);
	int64_t day = tz_days_from_civil(y, m, d) * 86400;
	int64_t start = tz_first_local(z, day), end = tz_first_local(z, day + 86400), t = start - 1;
	size_t n = 0;
	for (;;) {
		assert_int_equal(cron_next(&t, &c, z, t), 0);
		if (t >= end)
			break;
		if (n < max)
			out[n] = t;
		n++;
	}
	tz_free(z);
	return n;
}

static void cron_next__dst_days_of_the_issue(void **state)
{
	(void)state;
	int64_t r[128];
	/* Stockholm, spring 2025-03-30 (02:00 -> 03:00 at 01:00Z). */
	assert_int_equal(runs_on_day(r, 128, "0 * * * *", "Europe/Stockholm", 2025, 3, 30), 23);
	assert_int_equal(r[1], utc(2025, 3, 30, 0, 0)); /* 01:00 CET */
	assert_int_equal(r[2], utc(2025, 3, 30, 1, 0)); /* 03:00 CEST */
	assert_int_equal(runs_on_day(r, 128, "30 2 * * *", "Europe/Stockholm", 2025, 3, 30), 1);
	assert_int_equal(r[0], 1743296400); /* the first instant after the gap: 03:00 CEST */
	assert_int_equal(runs_on_day(r, 128, "*/15 2 * * *", "Europe/Stockholm", 2025, 3, 30), 1);
	assert_int_equal(r[0], 1743296400);
	assert_int_equal(runs_on_day(r, 128, "*/15 * * * *", "Europe/Stockholm", 2025, 3, 30), 92);
	/* Not touching the gap: never shifted. */
	assert_int_equal(runs_on_day(r, 128, "30 3 * * *", "Europe/Stockholm", 2025, 3, 30), 1);
	assert_int_equal(r[0], utc(2025, 3, 30, 1, 30));
	assert_int_equal(runs_on_day(r, 128, "30 1 * * *", "Europe/Stockholm", 2025, 3, 30), 1);
	assert_int_equal(r[0], utc(2025, 3, 30, 0, 30));
	/* Stockholm, autumn 2025-10-26 (03:00 -> 02:00 at 01:00Z). */
	assert_int_equal(runs_on_day(r, 128, "0 * * * *", "Europe/Stockholm", 2025, 10, 26), 25);
	assert_int_equal(r[2], utc(2025, 10, 26, 0, 0)); /* 02:00 CEST */
	assert_int_equal(r[3], utc(2025, 10, 26, 1, 0)); /* 02:00 CET */
	assert_int_equal(runs_on_day(r, 128, "30 2 * * *", "Europe/Stockholm", 2025, 10, 26), 1);
	assert_int_equal(r[0], 1761438600); /* 02:30 CEST, the first occurrence */
	assert_int_equal(runs_on_day(r, 128, "*/15 2 * * *", "Europe/Stockholm", 2025, 10, 26), 4);
	assert_int_equal(r[3], utc(2025, 10, 26, 0, 45));
	assert_int_equal(runs_on_day(r, 128, "0 3 * * *", "Europe/Stockholm", 2025, 10, 26), 1);
	assert_int_equal(r[0], utc(2025, 10, 26, 2, 0));
	/* New York: 2025-03-09 02:00 -> 03:00, 2025-11-02 02:00 -> 01:00. */
	assert_int_equal(runs_on_day(r, 128, "0 * * * *", "America/New_York", 2025, 3, 9), 23);
	assert_int_equal(runs_on_day(r, 128, "30 2 * * *", "America/New_York", 2025, 3, 9), 1);
	assert_int_equal(r[0], 1741503600); /* 03:00 EDT */
	assert_int_equal(runs_on_day(r, 128, "0 * * * *", "America/New_York", 2025, 11, 2), 25);
	assert_int_equal(runs_on_day(r, 128, "30 1 * * *", "America/New_York", 2025, 11, 2), 1);
	assert_int_equal(r[0], 1762061400); /* 01:30 EDT */
	/* Lord Howe, 30 minutes: 2025-10-05 02:00 -> 02:30, 2025-04-06 02:00
	 * -> 01:30. */
	assert_int_equal(runs_on_day(r, 128, "0 * * * *", "Australia/Lord_Howe", 2025, 10, 5), 23);
	assert_int_equal(runs_on_day(r, 128, "15 2 * * *", "Australia/Lord_Howe", 2025, 10, 5), 1);
	assert_int_equal(r[0], 1759591800); /* 02:30 +11 */
	assert_int_equal(runs_on_day(r, 128, "30 2 * * *", "Australia/Lord_Howe", 2025, 10, 5), 1);
	assert_int_equal(r[0], 1759591800); /* exists: not shifted */
	assert_int_equal(runs_on_day(r, 128, "*/15 * * * *", "Australia/Lord_Howe", 2025, 10, 5),
			 94);
	assert_int_equal(runs_on_day(r, 128, "30 * * * *", "Australia/Lord_Howe", 2025, 10, 5), 24);
	assert_int_equal(runs_on_day(r, 128, "45 1 * * *", "Australia/Lord_Howe", 2025, 10, 5), 1);
	assert_int_equal(r[0], utc(2025, 10, 4, 15, 15)); /* 01:45 +10:30 */
	assert_int_equal(runs_on_day(r, 128, "0 * * * *", "Australia/Lord_Howe", 2025, 4, 6), 24);
	assert_int_equal(runs_on_day(r, 128, "30 * * * *", "Australia/Lord_Howe", 2025, 4, 6), 25);
	assert_int_equal(runs_on_day(r, 128, "*/15 * * * *", "Australia/Lord_Howe", 2025, 4, 6),
			 98);
	assert_int_equal(runs_on_day(r, 128, "45 1 * * *", "Australia/Lord_Howe", 2025, 4, 6), 1);
	assert_int_equal(r[0], 1743864300); /* 01:45 +11, the first occurrence */
	/* Chatham, 45 minutes: 2025-09-28 02:45 -> 03:45, 2025-04-06 03:45 ->
	 * 02:45. */
	assert_int_equal(runs_on_day(r, 128, "0 * * * *", "Pacific/Chatham", 2025, 9, 28), 23);
	assert_int_equal(runs_on_day(r, 128, "0 3 * * *", "Pacific/Chatham", 2025, 9, 28), 1);
	assert_int_equal(r[0], 1758981600); /* 03:45 +1345 */
	assert_int_equal(runs_on_day(r, 128, "0 * * * *", "Pacific/Chatham", 2025, 4, 6), 25);
	assert_int_equal(runs_on_day(r, 128, "0 3 * * *", "Pacific/Chatham", 2025, 4, 6), 1);
	assert_int_equal(r[0], 1743858900); /* 03:00 +1345 */
	/* And cron_prev agrees from inside the repeated hour. */
	struct tz *z = load("Europe/Stockholm");
	struct cron c = parse("30 2 * * *"), h = parse("0 * * * *");
	int64_t t;
	assert_int_equal(cron_prev(&t, &c, z, utc(2025, 10, 26, 1, 45)), 0); /* 02:45 CET */
	assert_int_equal(t, 1761438600);
	assert_int_equal(cron_next(&t, &c, z, utc(2025, 10, 26, 0, 40)), 0); /* 02:40 CEST */
	assert_int_equal(t, utc(2025, 10, 27, 1, 30));
	assert_int_equal(cron_prev(&t, &h, z, utc(2025, 10, 26, 1, 45)), 0);
	assert_int_equal(t, utc(2025, 10, 26, 1, 0));
	assert_int_equal(cron_next(&t, &h, z, utc(2025, 10, 26, 0, 40)), 0);
	assert_int_equal(t, utc(2025, 10, 26, 1, 0));
	tz_free(z);
}

/* --- the brute-force reference --- */

struct minute {
	int64_t local; /* wall-clock minutes since 1970-01-01 00:00 */
	uint8_t min, hour, mday, mon, wday;
};

static int ref_match(const struct cron *c, int min, int hour, int mday, int mon, int wday)
{
	if (!(c->minutes >> min & 1) || !(c->hours >> hour & 1) || !(c->months >> mon & 1))
		return 0;
	int md = c->mdays >> mday & 1, wd = c->wdays >> wday & 1;
	return c->mday_any || c->wday_any ? md && wd : md || wd;
}

/* Each UTC minute from start: its wall clock, from glibc. */
static void ref_minutes(struct minute *out, const char *zone, int64_t start, size_t n)
{
	assert_int_equal(setenv("TZ", zone, 1), 0);
	tzset();
	for (size_t i = 0; i < n; i++) {
		time_t t = (time_t)(start + 60 * (int64_t)i);
		struct tm tm;
		assert_non_null(localtime_r(&t, &tm));
		assert_int_equal(tm.tm_gmtoff % 60, 0);
		out[i].local = (t + tm.tm_gmtoff) / 60;
		out[i].min = (uint8_t)tm.tm_min;
		out[i].hour = (uint8_t)tm.tm_hour;
		out[i].mday = (uint8_t)tm.tm_mday;
		out[i].mon = (uint8_t)(tm.tm_mon + 1);
		out[i].wday = (uint8_t)tm.tm_wday;
	}
}

/* The semantics of cron.h, minute by minute: with every hour allowed, a
 * run in each UTC minute whose wall clock matches; otherwise a run in the
 * UTC minute where the wall clock first reaches (or jumps past) a matching
 * minute it has never read before. */
static size_t ref_runs(int64_t *out, const struct cron *c, const struct minute *m, int64_t start,
		       size_t n)
{
	if (n == 0)
		return 0;
	int every_hour = c->hours == 0xffffff;
	int64_t high = m[0].local - 1;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		int run = 0;
		if (every_hour)
			run = ref_match(c, m[i].min, m[i].hour, m[i].mday, m[i].mon, m[i].wday);
		else if (m[i].local == high + 1)
			run = ref_match(c, m[i].min, m[i].hour, m[i].mday, m[i].mon, m[i].wday);
		else
			for (int64_t l = high + 1; l <= m[i].local && !run; l++) {
				time_t lt = (time_t)(l * 60);
				struct tm tm;
				assert_non_null(gmtime_r(&lt, &tm));
				run = ref_match(c, tm.tm_min, tm.tm_hour, tm.tm_mday, tm.tm_mon + 1,
						tm.tm_wday);
			}
		if (m[i].local > high)
			high = m[i].local;
		if (run)
			out[k++] = start + 60 * (int64_t)i;
	}
	return k;
}

static const char *const EXPRS[] = {
    "30 2 * * *",      "0 * * * *",	      "*/15 * * * *", "0 0 29 2 *",    "0 0 31 * *",
    "0 9 * * mon-fri", "0 0 1,15 * 5",	      "@weekly",      "45 1 * * *",    "0 2 * * *",
    "15,45 2-3 * * *", "* 2 * * *",	      "30 */2 * * *", "59 23 31 12 *", "0 3 * * sun",
    "*/7 1-4 * * *",   "5 0-23 * 3,4,9,10 *", "50 2 * * *",   "0 0 13 * fri",  NULL,
};

/* The first run > s (index into r), by binary search. */
static size_t first_after(const int64_t *r, size_t n, int64_t s)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r[mid] <= s)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct ref {
	const int64_t *r;
	size_t n;
	int64_t start, end; /* the instants the reference looked at */
};

static void compare_at(const struct cron *c, const struct tz *z, const struct ref *f, int64_t s,
		       const char *what)
{
	size_t i = first_after(f->r, f->n, s);
	int64_t t = 0;
	int rc = cron_next(&t, c, z, s);
	if (rc || (i < f->n ? t != f->r[i] : t < f->end))
		fail_msg("%s: cron_next(%lld) = %lld, reference %lld", what, (long long)s,
			 (long long)t, i < f->n ? (long long)f->r[i] : (long long)f->end);
	rc = cron_prev(&t, c, z, s);
	if (rc || (i > 0 ? t != f->r[i - 1] : t >= f->start))
		fail_msg("%s: cron_prev(%lld) = %lld, reference %lld", what, (long long)s,
			 (long long)t, i > 0 ? (long long)f->r[i - 1] : (long long)f->start);
}

/* Runs in [w0, w1) from cron_next chained, and cron_prev and cron_next at
 * runs, beside them, at random instants and every 5 minutes around each
 * transition, all against the reference. The reference starts 9 days
 * early (so that a weekly run before w0 is known) and ends 9 days late. */
static void check_window(const char *zone, int64_t w0, int64_t w1)
{
	const int64_t margin = 9 * 86400;
	size_t nmin = (size_t)((w1 - w0 + 2 * margin) / 60);
	struct minute *m = xmalloc(nmin * sizeof(*m));
	int64_t *r = xmalloc(nmin * sizeof(*r));
	ref_minutes(m, zone, w0 - margin, nmin);
	struct tz *z = load(zone);
	for (size_t e = 0; EXPRS[e]; e++) {
		struct cron c = parse(EXPRS[e]);
		char what[128];
		snprintf(what, sizeof(what), "%s in %s", EXPRS[e], zone);
		struct ref f = {r, ref_runs(r, &c, m, w0 - margin, nmin), w0 - margin,
				w0 - margin + 60 * (int64_t)nmin};
		size_t i = first_after(r, f.n, w0 - 1);
		int64_t t = w0 - 1;
		for (; i < f.n && r[i] < w1; i++)
			if (cron_next(&t, &c, z, t) || t != r[i])
				fail_msg("%s: run %zu: cron_next = %lld, reference %lld", what, i,
					 (long long)t, (long long)r[i]);
		assert_int_equal(cron_next(&t, &c, z, t), 0);
		if (i < f.n ? t != r[i] : t < f.end)
			fail_msg("%s: the run after the window: %lld", what, (long long)t);
		/* Around runs: every run when few, else a stride and random ones. */
		size_t lo = first_after(r, f.n, w0), hi = first_after(r, f.n, w1);
		size_t stride = (hi - lo) / 1500 + 1;
		for (size_t k = lo; k < hi; k += stride + next_rand() % stride) {
			compare_at(&c, z, &f, r[k], what);
			compare_at(&c, z, &f, r[k] - 1, what);
			compare_at(&c, z, &f, r[k] + 1 + (int64_t)(next_rand() % 59), what);
		}
		for (int k = 0; k < 1500; k++)
			compare_at(&c, z, &f, w0 + (int64_t)(next_rand() % (uint64_t)(w1 - w0)),
				   what);
		int64_t from, until;
		for (int64_t s = w0; s < w1; s = until) {
			tz_offset_span(z, s, &from, &until);
			if (until >= w1)
				break;
			for (int64_t x = until - 3 * 3600; x < until + 3 * 3600; x += 300)
				compare_at(&c, z, &f, x, what);
		}
	}
	tz_free(z);
	free(m);
	free(r);
}

static void cron_next__matches_the_reference_2027_to_2028(void **state)
{
	(void)state;
	for (size_t i = 0; ZONES[i]; i++)
		check_window(ZONES[i], utc(2027, 1, 1, 0, 0), utc(2029, 1, 1, 0, 0));
	unsetenv("TZ");
	tzset();
}

static void cron_next__matches_the_reference_in_2040_by_the_footer_rules(void **state)
{
	(void)state;
	for (size_t i = 0; ZONES[i]; i++)
		check_window(ZONES[i], utc(2040, 1, 1, 0, 0), utc(2041, 1, 1, 0, 0));
	unsetenv("TZ");
	tzset();
}

/* --- fuzz --- */

/* Garbage from cron-like pieces. */
static void random_pieces(char *out, size_t cap)
{
	static const char *const pieces[] = {
	    "*",   "0",	  "1",	 "5",  "7",  "12",  "15", "23",	    "29",     "30",
	    "31",  "59",  "60",	 "99", "-",  "/",   ",",  "*/",	    "mon",    "FRI",
	    "jan", "dec", "sun", "x",  "?",  " ",   "\t", "@daily", "@every", "@",
	    "L",   "W",	  "#",	 "00", "-1", "1-5", "/0", ",,",	    "*/15",   "10-50/10"};
	size_t n = 0;
	int fields = 4 + (int)(next_rand() % 3);
	for (int f = 0; f < fields; f++) {
		int parts = 1 + (int)(next_rand() % 4);
		for (int p = 0; p < parts; p++) {
			const char *s = pieces[next_rand() % (sizeof(pieces) / sizeof(pieces[0]))];
			size_t l = strlen(s);
			if (n + l + 2 >= cap)
				break;
			memcpy(out + n, s, l);
			n += l;
		}
		out[n++] = ' ';
	}
	out[n] = '\0';
}

/* Mostly valid: each field a list of items in (and now and then just out
 * of) its range. */
static void random_expr(char *out, size_t cap)
{
	static const int lo[] = {0, 0, 1, 1, 0}, hi[] = {59, 23, 31, 12, 7};
	static const char *const mon[] = {"jan", "FEB", "Mar", "jun", "oct", "dec"};
	static const char *const dow[] = {"sun", "MON", "fri", "Sat"};
	size_t n = 0;
	for (int f = 0; f < 5; f++) {
		int items = 1 + (int)(next_rand() % 3);
		for (int k = 0; k < items && n + 40 < cap; k++) {
			int span = hi[f] - lo[f] + 1,
			    a = lo[f] + (int)(next_rand() % (uint64_t)span);
			int b = a + (int)(next_rand() % (uint64_t)(hi[f] - a + 1));
			if (next_rand() % 50 == 0)
				b = hi[f] + 1;
			int w;
			switch (next_rand() % 6) {
			case 0:
				w = snprintf(out + n, cap - n, "*");
				break;
			case 1:
				w = snprintf(out + n, cap - n, "*/%d", 1 + (int)(next_rand() % 20));
				break;
			case 2:
				w = snprintf(out + n, cap - n, "%d-%d/%d", a, b,
					     1 + (int)(next_rand() % 9));
				break;
			case 3:
				w = f == 3 ? snprintf(out + n, cap - n, "%s", mon[next_rand() % 6])
				    : f == 4
					? snprintf(out + n, cap - n, "%s", dow[next_rand() % 4])
					: snprintf(out + n, cap - n, "%d-%d", a, b);
				break;
			default:
				w = snprintf(out + n, cap - n, "%d", a);
				break;
			}
			assert_true(w > 0);
			n += (size_t)w;
			if (k + 1 < items)
				out[n++] = ',';
		}
		out[n++] = ' ';
	}
	out[n] = '\0';
}

/* The invariants between cron_next and cron_prev at s: the next run is
 * after s and a run; the previous one is at or before s, and the run after
 * it is the run after s (no run lies between). Past the year 9999 there
 * may be none. */
static void check_search(const struct cron *c, const struct tz *z, int64_t s, const char *expr)
{
	int64_t next = 0, prev = 0, t = 0;
	int rn = cron_next(&next, c, z, s), rp = cron_prev(&prev, c, z, s);
	if ((rn && rn != E_NOTFOUND) || (rp && rp != E_NOTFOUND))
		fail_msg("\"%s\" at %lld: %s", expr, (long long)s, err_msg());
	if (rn == 0) {
		assert_true(next > s);
		if (next <= CRON_MAX_TIME && (cron_prev(&t, c, z, next) || t != next))
			fail_msg("\"%s\" at %lld: next %lld is no run", expr, (long long)s,
				 (long long)next);
	}
	if (rp == 0) {
		assert_true(prev <= s);
		int r = cron_next(&t, c, z, prev);
		if (r != rn || (r == 0 && t != next))
			fail_msg("\"%s\" at %lld: prev %lld, next %lld, next after prev %lld", expr,
				 (long long)s, (long long)prev, (long long)next, (long long)t);
	}
}

static void cron_parse__survives_random_expressions_and_bytes(void **state)
{
	(void)state;
	struct tz *zones[8] = {0};
	size_t nz = 0;
	for (size_t i = 0; ZONES[i]; i++)
		zones[nz++] = load(ZONES[i]);
	const char *env = getenv("FUZZ_ITERATIONS");
	long iterations = env ? atol(env) : 600000, parsed = 0;
	char expr[256];
	for (long it = 0; it < iterations; it++) {
		if (it % 8 == 7) { /* raw bytes */
			size_t n = next_rand() % 40;
			for (size_t k = 0; k < n; k++)
				expr[k] = (char)(1 + next_rand() % 255);
			expr[n] = '\0';
		} else if (it % 8 >= 5)
			random_pieces(expr, sizeof(expr));
		else
			random_expr(expr, sizeof(expr));
		struct cron c;
		if (cron_parse(&c, expr, "spec.schedule")) {
			assert_int_equal(err_code(), E_INVALID);
			assert_true(!strncmp(err_msg(), "spec.schedule: ", 15));
			continue;
		}
		parsed++;
		const struct tz *z = zones[next_rand() % nz];
		/* Mostly near now; sometimes anywhere in the years 1-9999. */
		int64_t s =
		    next_rand() % 4
			? utc(1900, 1, 1, 0, 0) + (int64_t)(next_rand() % (250ULL * 31556952))
			: CRON_MIN_TIME +
			      (int64_t)(next_rand() % (uint64_t)(CRON_MAX_TIME - CRON_MIN_TIME));
		check_search(&c, z, s, expr);
	}
	/* The generator reaches valid expressions too. */
	assert_true(parsed > iterations / 4);
	for (size_t i = 0; i < nz; i++)
		tz_free(zones[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(cron_parse__accepts_the_documented_syntax),
	    cmocka_unit_test(cron_parse__refuses_with_the_field_and_the_value),
	    cmocka_unit_test(cron_next__names_seven_and_the_or_rule),
	    cmocka_unit_test(cron_next__refuses_instants_outside_years_1_to_9999),
	    cmocka_unit_test(cron_next__dst_days_of_the_issue),
	    cmocka_unit_test(cron_next__matches_the_reference_2027_to_2028),
	    cmocka_unit_test(cron_next__matches_the_reference_in_2040_by_the_footer_rules),
	    cmocka_unit_test(cron_parse__survives_random_expressions_and_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
