/* Fuzz target: schedule expressions into cron_parse (operator/cron.c), and
 * what parses into cron_next and cron_prev in UTC and in zones with
 * daylight saving time (Europe/Stockholm; Australia/Lord_Howe, whose clock
 * moves by 30 minutes), from instants around their transitions and drawn
 * from the input. Properties: the error is E_INVALID; the next run comes
 * strictly after the instant and is itself a run (cron_prev of it gives
 * it back), no run lies between the instant and it, and likewise for the
 * previous run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "operator/cron.h"
#include "operator/tz.h"
#include "tests/fuzz/fuzz.h"

#define MAX_EXPR 1100

static struct tz *zones[3]; /* NULL (UTC) and the two loaded */
static size_t nzones = 1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const names[] = {"Europe/Stockholm", "Australia/Lord_Howe"};
	(void)argc;
	(void)argv;
	fuzz_quiet();
	for (size_t i = 0; i < 2; i++)
		if (tz_load(&zones[nzones], names[i]) == 0)
			nzones++;
	return 0;
}

static void check_at(const struct cron *c, const struct tz *z, int64_t t)
{
	int64_t n, p, x;
	int rc = cron_next(&n, c, z, t);
	FUZZ_CHECK(rc == 0 || rc == E_NOTFOUND, "cron_next at %lld: %d", (long long)t, rc);
	if (rc == 0) {
		FUZZ_CHECK(n > t, "in %s, the next run after %lld is %lld", tz_name(z),
			   (long long)t, (long long)n);
		if (n <= CRON_MAX_TIME) {
			rc = cron_prev(&x, c, z, n);
			FUZZ_CHECK(rc == 0 && x == n,
				   "in %s, %lld is the next run after %lld but not a run (%d, "
				   "%lld)",
				   tz_name(z), (long long)n, (long long)t, rc, (long long)x);
			rc = cron_prev(&x, c, z, n - 1);
			FUZZ_CHECK(rc == E_NOTFOUND || (rc == 0 && x <= t),
				   "in %s, %lld runs between %lld and its next run %lld",
				   tz_name(z), (long long)x, (long long)t, (long long)n);
		}
	}
	rc = cron_prev(&p, c, z, t);
	FUZZ_CHECK(rc == 0 || rc == E_NOTFOUND, "cron_prev at %lld: %d", (long long)t, rc);
	if (rc == 0) {
		FUZZ_CHECK(p <= t, "in %s, the last run at or before %lld is %lld", tz_name(z),
			   (long long)t, (long long)p);
		if (p > CRON_MIN_TIME) {
			rc = cron_next(&x, c, z, p - 1);
			FUZZ_CHECK(rc == 0 && x == p,
				   "in %s, %lld is the last run at or before %lld but not a run "
				   "(%d, %lld)",
				   tz_name(z), (long long)p, (long long)t, rc, (long long)x);
			rc = cron_next(&x, c, z, p);
			FUZZ_CHECK(rc == E_NOTFOUND || (rc == 0 && x > t),
				   "in %s, %lld runs between the last run %lld and %lld",
				   tz_name(z), (long long)x, (long long)p, (long long)t);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* 2026-03-29T00:30Z (Stockholm springs forward at 01:00Z), 2026-10-25
	 * 00:10Z (falls back at 01:00Z), 2026-04-04T15:10Z (Lord Howe falls
	 * back at 15:00Z), 2000-02-29, year 1 and year 9999. */
	static const int64_t fixed[] = {1774744200, 1792887000,	   1775315400,
					951782400,  CRON_MIN_TIME, CRON_MAX_TIME - 86400};
	struct cron c;
	char *expr;
	int rc;

	if (size > MAX_EXPR)
		return 0;
	expr = fuzz_strndup(data, size);
	rc = cron_parse(&c, expr, "spec.schedule");
	if (fuzz_debug())
		fprintf(stderr, "cron_parse(\"%s\"): %d %s\n", expr, rc, rc ? err_msg() : "");
	FUZZ_CHECK(rc == 0 || rc == E_INVALID, "cron_parse returned %d", rc);
	FUZZ_CHECK(rc == 0 || strncmp(err_msg(), "spec.schedule: ", 15) == 0,
		   "the message does not name the field: %s", err_msg());
	if (rc == 0) {
		struct fuzz_rng r = {fuzz_hash(data, size)};
		for (size_t zi = 0; zi < nzones; zi++) {
			for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
				check_at(&c, zones[zi], fixed[i]);
			/* 1900 to 2100. */
			check_at(&c, zones[zi],
				 -2208988800LL + (int64_t)(fuzz_next(&r) % 6311433600ULL));
		}
	}
	free(expr);
	return 0;
}
