/* Fuzz target: TZif data (RFC 8536, with the POSIX TZ rule of its footer)
 * into tz_parse (operator/tz.c), and what parses into the wall-clock
 * mappings and the cron search. Properties: the error is E_INVALID; every
 * offset lies inside TZ_MIN_UTOFF..TZ_MAX_UTOFF; an instant lies inside
 * the span tz_offset_span gives it, whose offset holds at both its ends;
 * tz_local_high is never below tz_local; tz_instants lists ascending
 * instants at which the wall clock reads exactly what was asked, none
 * before tz_first_local, which reads at least that; and cron runs in the
 * zone come after (cron_next) or at or before (cron_prev) the instant. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "operator/cron.h"
#include "operator/tz.h"
#include "tests/fuzz/fuzz.h"

static struct cron daily, hourly;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	if (cron_parse(&daily, "30 2 * * *", "daily") ||
	    cron_parse(&hourly, "15 * * * *", "hourly"))
		abort();
	return 0;
}

static void check_at(const struct tz *z, int64_t t)
{
	int64_t from, until, inst[4];
	int32_t off = tz_offset_span(z, t, &from, &until);
	FUZZ_CHECK(off > TZ_MIN_UTOFF && off < TZ_MAX_UTOFF, "offset %d at %lld", off,
		   (long long)t);
	FUZZ_CHECK(off == tz_offset(z, t), "tz_offset and tz_offset_span differ at %lld",
		   (long long)t);
	FUZZ_CHECK(from <= t && t < until, "%lld outside its span [%lld, %lld)", (long long)t,
		   (long long)from, (long long)until);
	if (from != INT64_MIN)
		FUZZ_CHECK(tz_offset(z, from) == off, "the span's start %lld has another offset",
			   (long long)from);
	if (until != INT64_MAX)
		FUZZ_CHECK(tz_offset(z, until - 1) == off, "the span's end %lld has another offset",
			   (long long)until);
	int64_t local = tz_local(z, t);
	FUZZ_CHECK(local == t + off, "tz_local");
	FUZZ_CHECK(tz_local_high(z, t) >= local, "tz_local_high below tz_local at %lld",
		   (long long)t);
	size_t n = tz_instants(inst, 4, z, local);
	FUZZ_CHECK(n >= 1, "the wall clock at %lld reads %lld, which tz_instants never finds",
		   (long long)t, (long long)local);
	int64_t first = tz_first_local(z, local);
	FUZZ_CHECK(tz_local(z, first) >= local, "tz_first_local(%lld) reads earlier",
		   (long long)local);
	for (size_t i = 0; i < n && i < 4; i++) {
		FUZZ_CHECK(tz_local(z, inst[i]) == local, "tz_instants gave %lld for %lld",
			   (long long)inst[i], (long long)local);
		FUZZ_CHECK(i == 0 || inst[i] > inst[i - 1], "tz_instants out of order");
		FUZZ_CHECK(inst[i] >= first, "%lld reads %lld before tz_first_local's %lld",
			   (long long)inst[i], (long long)local, (long long)first);
	}
	const struct cron *crons[] = {&daily, &hourly};
	for (size_t i = 0; i < 2; i++) {
		int64_t r;
		int rc = cron_next(&r, crons[i], z, t);
		FUZZ_CHECK(rc == E_NOTFOUND || (rc == 0 && r > t), "cron_next at %lld: %d, %lld",
			   (long long)t, rc, (long long)r);
		rc = cron_prev(&r, crons[i], z, t);
		FUZZ_CHECK(rc == E_NOTFOUND || (rc == 0 && r <= t), "cron_prev at %lld: %d, %lld",
			   (long long)t, rc, (long long)r);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* 1900, 1970, 2026-03-29T01:00Z and the second before, 2026-10-25,
	 * 2100, 2500. */
	static const int64_t fixed[] = {
	    -2208988800LL, 0, 1774746000, 1774745999, 1792890000, 4102444800LL, 16725225600LL};
	struct tz *z = NULL;
	int rc = tz_parse(&z, data, size);
	if (fuzz_debug())
		fprintf(stderr, "tz_parse: %d %s\n", rc, rc ? err_msg() : "");
	FUZZ_CHECK(rc == 0 || rc == E_INVALID, "tz_parse returned %d", rc);
	if (rc)
		return 0;
	FUZZ_CHECK(z && tz_name(z), "no zone");
	struct fuzz_rng r = {fuzz_hash(data, size)};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		check_at(z, fixed[i]);
	for (int i = 0; i < 4; i++) /* 1900 to 2100 */
		check_at(z, -2208988800LL + (int64_t)(fuzz_next(&r) % 6311433600ULL));
	tz_free(z);
	return 0;
}
