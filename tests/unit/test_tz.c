/* Tests for operator/tz.c: the real zone files against glibc's own
 * localtime_r (this test is single-threaded, so setting TZ is safe here
 * and only here), POSIX footer rules against glibc's TZ parser, a "slim"
 * file that relies on its footer, the wall-clock mappings around gaps and
 * repeated hours, names refused, corrupt data refused, and a fuzz loop. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "operator/tz.h"

static const char *const ZONES[] = {"UTC",
				    "Europe/Stockholm",
				    "America/New_York",
				    "Australia/Lord_Howe",
				    "Asia/Kathmandu",
				    "Pacific/Chatham",
				    NULL};

#define Y1900 (-2208988800LL)
#define Y1970 0LL
#define Y2000 946684800LL
#define Y2010 1262304000LL
#define Y2100 4102444800LL

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int64_t rand_between(int64_t lo, int64_t hi)
{
	return lo + (int64_t)(next_rand() % (uint64_t)(hi - lo));
}

static void use_system_zone(const char *tzenv)
{
	assert_int_equal(setenv("TZ", tzenv, 1), 0);
	tzset();
}

static long glibc_offset(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	assert_non_null(localtime_r(&tt, &tm));
	return tm.tm_gmtoff;
}

static struct tz *load(const char *name)
{
	struct tz *z = NULL;
	if (tz_load(&z, name))
		fail_msg("%s: %s", name, err_msg());
	return z;
}

static unsigned char *read_all(size_t *n, const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("%s: cannot open", path);
	unsigned char *buf = malloc(TZ_MAX_FILE);
	assert_non_null(buf);
	*n = fread(buf, 1, TZ_MAX_FILE, f);
	fclose(f);
	return buf;
}

/* --- a TZif writer for constructed and rewritten files --- */

struct tzif {
	int64_t trans[2048];
	uint8_t idx[2048];
	size_t ntrans;
	int32_t offs[64];
	uint8_t isdst[64];
	size_t ntypes;
	char footer[128];
	uint32_t leapcnt; /* written as zero-filled records */
};

static void put32(unsigned char **p, uint32_t v)
{
	(*p)[0] = (unsigned char)(v >> 24);
	(*p)[1] = (unsigned char)(v >> 16);
	(*p)[2] = (unsigned char)(v >> 8);
	(*p)[3] = (unsigned char)v;
	*p += 4;
}

static void put64(unsigned char **p, int64_t v)
{
	put32(p, (uint32_t)((uint64_t)v >> 32));
	put32(p, (uint32_t)v);
}

static void put_header(unsigned char **p, char version, uint32_t timecnt, uint32_t typecnt,
		       uint32_t leapcnt)
{
	memcpy(*p, "TZif", 4);
	(*p)[4] = (unsigned char)version;
	memset(*p + 5, 0, 15);
	*p += 20;
	put32(p, 0);	   /* isutcnt */
	put32(p, 0);	   /* isstdcnt */
	put32(p, leapcnt); /* leapcnt */
	put32(p, timecnt);
	put32(p, typecnt);
	put32(p, 4); /* charcnt: "ZZZ\0" */
}

static void put_body(unsigned char **p, const struct tzif *z, int tsize)
{
	for (size_t i = 0; i < z->ntrans; i++) {
		if (tsize == 8)
			put64(p, z->trans[i]);
		else
			put32(p, (uint32_t)(int32_t)z->trans[i]);
	}
	for (size_t i = 0; i < z->ntrans; i++)
		*(*p)++ = z->idx[i];
	for (size_t i = 0; i < z->ntypes; i++) {
		put32(p, (uint32_t)z->offs[i]);
		*(*p)++ = z->isdst[i];
		*(*p)++ = 0;
	}
	memcpy(*p, "ZZZ", 4);
	*p += 4;
	memset(*p, 0, (size_t)z->leapcnt * (tsize + 4));
	*p += (size_t)z->leapcnt * (tsize + 4);
}

/* version 0: a version 1 file with 32-bit times; else a slim v1 block, the
 * 64-bit body and the footer. Returns the size written into out. */
static size_t tzif_write(unsigned char *out, const struct tzif *z, char version)
{
	unsigned char *p = out;
	if (version == 0) {
		/* 32-bit times: only the transitions they can hold. */
		static struct tzif v1;
		v1 = *z;
		v1.ntrans = 0;
		for (size_t i = 0; i < z->ntrans; i++)
			if (z->trans[i] >= INT32_MIN && z->trans[i] <= INT32_MAX) {
				v1.trans[v1.ntrans] = z->trans[i];
				v1.idx[v1.ntrans++] = z->idx[i];
			}
		put_header(&p, 0, (uint32_t)v1.ntrans, (uint32_t)v1.ntypes, v1.leapcnt);
		put_body(&p, &v1, 4);
		return (size_t)(p - out);
	}
	struct tzif empty = {.ntypes = 1};
	put_header(&p, version, 0, 1, 0);
	put_body(&p, &empty, 4);
	put_header(&p, version, (uint32_t)z->ntrans, (uint32_t)z->ntypes, z->leapcnt);
	put_body(&p, z, 8);
	size_t fl = strlen(z->footer);
	*p++ = '\n';
	memcpy(p, z->footer, fl);
	p += fl;
	*p++ = '\n';
	return (size_t)(p - out);
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads the 64-bit body of a real v2+ file into *z (no validation: the
 * files are the system's). */
static void tzif_read(struct tzif *z, const unsigned char *d, size_t n)
{
	memset(z, 0, sizeof(*z));
	assert_true(n > 44 && d[4] >= '2');
	uint32_t c[6];
	for (int i = 0; i < 6; i++)
		c[i] = get32(d + 20 + 4 * i);
	size_t skip = 44 + c[3] * 5 + c[4] * 6 + c[5] + c[2] * 8 + c[1] + c[0];
	const unsigned char *h = d + skip;
	for (int i = 0; i < 6; i++)
		c[i] = get32(h + 20 + 4 * i);
	assert_int_equal(c[2], 0);
	assert_true(c[3] <= 2048 && c[4] <= 64);
	const unsigned char *p = h + 44;
	z->ntrans = c[3];
	for (size_t i = 0; i < z->ntrans; i++)
		z->trans[i] = (int64_t)((uint64_t)get32(p + 8 * i) << 32 | get32(p + 8 * i + 4));
	p += 8 * (size_t)c[3];
	memcpy(z->idx, p, c[3]);
	p += c[3];
	z->ntypes = c[4];
	for (size_t i = 0; i < z->ntypes; i++) {
		z->offs[i] = (int32_t)get32(p + 6 * i);
		z->isdst[i] = p[6 * i + 4];
	}
	p += 6 * (size_t)c[4] + c[5] + c[1] + c[0];
	assert_true(*p == '\n');
	const unsigned char *nl = memchr(p + 1, '\n', (size_t)(d + n - p - 1));
	assert_non_null(nl);
	assert_true((size_t)(nl - p - 1) < sizeof(z->footer));
	memcpy(z->footer, p + 1, (size_t)(nl - p - 1));
	assert_true(n >= skip);
}

/* --- loading --- */

static void tz_load__reads_the_listed_zones_and_builds_in_utc(void **state)
{
	(void)state;
	for (size_t i = 0; ZONES[i]; i++) {
		struct tz *z = load(ZONES[i]);
		assert_string_equal(tz_name(z), ZONES[i]);
		tz_free(z);
	}
	/* No file needed for UTC: an empty folder still has it. */
	char dir[] = "/tmp/tz-test-XXXXXX";
	assert_non_null(mkdtemp(dir));
	assert_int_equal(setenv("ZONEINFO", dir, 1), 0);
	struct tz *z = load("Etc/UTC");
	assert_int_equal(tz_offset(z, 1700000000), 0);
	tz_free(z);
	z = NULL;
	assert_int_equal(tz_load(&z, "Europe/Stockholm"), E_NOTFOUND);
	char want[512];
	snprintf(want, sizeof(want), "unknown time zone \"Europe/Stockholm\" (not in %s)", dir);
	assert_string_equal(err_msg(), want);
	/* $ZONEINFO is where zones come from. */
	size_t n;
	unsigned char *data = read_all(&n, "/usr/share/zoneinfo/Asia/Kathmandu");
	char path[300];
	snprintf(path, sizeof(path), "%s/Test", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/Test/Kathmandu", dir);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, n, f), n);
	fclose(f);
	z = load("Test/Kathmandu");
	assert_int_equal(tz_offset(z, 1700000000), 5 * 3600 + 45 * 60);
	assert_string_equal(tz_name(z), "Test/Kathmandu");
	tz_free(z);
	z = NULL;
	/* A corrupt file names the zone and the file. */
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, n / 2, f), n / 2);
	fclose(f);
	assert_int_equal(tz_load(&z, "Test/Kathmandu"), E_INVALID);
	snprintf(want, sizeof(want), "time zone \"Test/Kathmandu\": %s: TZif data truncated", path);
	if (strncmp(err_msg(), want, strlen(want)))
		fail_msg("%s", err_msg());
	/* A folder is not a zone. */
	assert_int_equal(tz_load(&z, "Test"), E_NOTFOUND);
	assert_non_null(strstr(err_msg(), "unknown time zone \"Test\""));
	assert_null(z);
	unlink(path);
	snprintf(path, sizeof(path), "%s/Test", dir);
	rmdir(path);
	rmdir(dir);
	unsetenv("ZONEINFO");
	free(data);
	tz_free(NULL);
	assert_string_equal(tz_name(NULL), "UTC");
}

static void tz_load__refuses_names_that_are_not_zones(void **state)
{
	(void)state;
	static const char *const bad[] = {"",
					  "/etc/passwd",
					  "../etc/passwd",
					  "Europe/../../etc/passwd",
					  "Europe/./Stockholm",
					  "Europe//Stockholm",
					  "Europe/",
					  "Europe/Stock holm",
					  "zone.tab",
					  "tzdata.zi",
					  "localtime",
					  "posixrules",
					  "Europe/Stockholm\n",
					  "Europe\\Stockholm",
					  NULL};
	for (size_t i = 0; bad[i]; i++) {
		struct tz *z = NULL;
		int rc = tz_load(&z, bad[i]);
		if (rc != E_INVALID)
			fail_msg("\"%s\": %d %s", bad[i], rc, err_msg());
		assert_null(z);
		char want[300];
		snprintf(want, sizeof(want), "\"%s\" is not a time zone name", bad[i]);
		if (strncmp(err_msg(), want, strlen(want)))
			fail_msg("%s", err_msg());
	}
	struct tz *z = NULL;
	assert_int_equal(tz_load(&z, "Nowhere/Atlantis"), E_NOTFOUND);
	assert_string_equal(err_msg(),
			    "unknown time zone \"Nowhere/Atlantis\" (not in /usr/share/zoneinfo)");
	assert_int_equal(tz_load(&z, "Europe/Stockholm/x"), E_NOTFOUND);
	/* Case matters, as in the tz database. */
	assert_int_equal(tz_load(&z, "europe/stockholm"), E_NOTFOUND);
	assert_null(z);
}

/* --- offsets against glibc --- */

/* Every span from 1900 to 2100 (both ends of each, so every transition is
 * looked at from both sides) and random instants, in each zone. */
static void tz_offset__matches_localtime_r_1900_to_2100(void **state)
{
	(void)state;
	for (size_t i = 0; ZONES[i]; i++) {
		struct tz *z = load(ZONES[i]);
		use_system_zone(ZONES[i]);
		size_t spans = 0;
		for (int64_t t = Y1900; t < Y2100; spans++) {
			int64_t from, until;
			int32_t off = tz_offset_span(z, t, &from, &until);
			assert_true(from <= t && t < until);
			if (off != glibc_offset(t))
				fail_msg("%s at %lld: %d, glibc %ld", ZONES[i], (long long)t, off,
					 glibc_offset(t));
			if (until == INT64_MAX)
				break;
			if (glibc_offset(until - 1) != off || tz_offset(z, until - 1) != off)
				fail_msg("%s: span end %lld", ZONES[i], (long long)until);
			assert_int_equal(tz_offset(z, until), glibc_offset(until));
			t = until;
		}
		/* The DST zones change twice a year from the 1970s at the latest. */
		if (strcmp(ZONES[i], "UTC") && strcmp(ZONES[i], "Asia/Kathmandu"))
			assert_true(spans > 2 * 100);
		for (int k = 0; k < 5000; k++) {
			int64_t t = rand_between(Y1900, Y2100);
			if (tz_offset(z, t) != glibc_offset(t))
				fail_msg("%s at %lld: %d, glibc %ld", ZONES[i], (long long)t,
					 tz_offset(z, t), glibc_offset(t));
			assert_int_equal(tz_local(z, t), t + glibc_offset(t));
		}
		tz_free(z);
	}
	unsetenv("TZ");
	tzset();
}

static struct tz *footer_only(const char *footer)
{
	static unsigned char buf[4096];
	struct tzif w = {.ntypes = 1};
	snprintf(w.footer, sizeof(w.footer), "%s", footer);
	size_t n = tzif_write(buf, &w, '3');
	struct tz *z = NULL;
	if (tz_parse(&z, buf, n))
		fail_msg("\"%s\": %s", footer, err_msg());
	return z;
}

/* With no transitions the footer decides everything: glibc parses the same
 * string as a TZ value. None of these changes near New Year, where glibc
 * looks only at the UTC year. */
static void tz_parse__footer_rules_match_glibc(void **state)
{
	(void)state;
	static const char *const rules[] = {
	    "AAA5BBB,M3.2.0,M11.1.0",
	    "CET-1CEST,M3.5.0,M10.5.0/3",
	    "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
	    "<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45",
	    "<-02>2<-01>,M3.5.0/-1,M10.5.0/0",
	    "IST-2IDT,M3.4.4/26,M10.5.0",
	    "AAA3BBB,J60/2,J300/2",
	    "AAA-1BBB,59/2,300/2",
	    "AAA-1BBB,0/5,364/2",
	    "<+0545>-5:45",
	    "AAA-3:30:15",
	    "AAA+4BBB+2:30,M4.1.0/167,M9.5.0/-167",
	    "<-03>3<-02>,M3.5.0/-2,M10.5.0/-1",
	    "AAA-10BBB-11,M10.5.6/23:59:59,M3.5.6/1:00:01",
	    NULL,
	};
	for (size_t i = 0; rules[i]; i++) {
		struct tz *z = footer_only(rules[i]);
		use_system_zone(rules[i]);
		for (int k = 0; k < 4000; k++) {
			int64_t t = rand_between(Y1970 + 86400 * 30, Y2100 - 86400 * 30);
			if (tz_offset(z, t) != glibc_offset(t))
				fail_msg("\"%s\" at %lld: %d, glibc %ld", rules[i], (long long)t,
					 tz_offset(z, t), glibc_offset(t));
		}
		/* Each transition, from both sides. */
		int64_t from, until;
		for (int64_t t = Y2000; t < Y2000 + 20 * 31556952LL; t = until) {
			tz_offset_span(z, t, &from, &until);
			if (until == INT64_MAX)
				break;
			assert_int_equal(tz_offset(z, until - 1), glibc_offset(until - 1));
			assert_int_equal(tz_offset(z, until), glibc_offset(until));
		}
		tz_free(z);
	}
	unsetenv("TZ");
	tzset();
}

static void tz_parse__daylight_time_all_year(void **state)
{
	(void)state;
	/* RFC 8536 3.3.1's example: EDT all year, New Year included. */
	struct tz *z = footer_only("EST5EDT,0/0,J365/25");
	for (int y = 1980; y < 2080; y++) {
		int64_t jan1 = tz_days_from_civil(y, 1, 1) * 86400;
		assert_int_equal(tz_offset(z, jan1 + 3 * 3600), -4 * 3600);
		assert_int_equal(tz_offset(z, jan1 + 5 * 3600), -4 * 3600);
		assert_int_equal(tz_offset(z, jan1 + 180 * 86400), -4 * 3600);
	}
	tz_free(z);
	/* No daylight time: one span forever. */
	z = footer_only("<+0545>-5:45");
	int64_t from, until;
	assert_int_equal(tz_offset_span(z, 0, &from, &until), 20700);
	assert_true(from == INT64_MIN && until == INT64_MAX);
	tz_free(z);
}

/* Debian may ship "slim" files with transitions only to about now; the
 * footer carries the rest. Keep a real file's transitions before 2010 (when
 * every zone here had its present rules) and compare 2010-2100 with the
 * full file and with glibc. */
static void tz_parse__slim_file_relies_on_its_footer(void **state)
{
	(void)state;
	static unsigned char out[TZ_MAX_FILE];
	static struct tzif w;
	for (size_t i = 1; ZONES[i]; i++) {
		char path[256];
		snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", ZONES[i]);
		size_t n;
		unsigned char *data = read_all(&n, path);
		tzif_read(&w, data, n);
		size_t keep = 0;
		while (keep < w.ntrans && w.trans[keep] < Y2010)
			keep++;
		w.ntrans = keep;
		size_t m = tzif_write(out, &w, '2');
		struct tz *slim = NULL, *fat = NULL;
		assert_int_equal(tz_parse(&slim, out, m), 0);
		assert_int_equal(tz_parse(&fat, data, n), 0);
		use_system_zone(ZONES[i]);
		for (int k = 0; k < 3000; k++) {
			int64_t t = rand_between(Y2010, Y2100);
			if (tz_offset(slim, t) != tz_offset(fat, t) ||
			    tz_offset(slim, t) != glibc_offset(t))
				fail_msg("%s at %lld: slim %d, full %d, glibc %ld", ZONES[i],
					 (long long)t, tz_offset(slim, t), tz_offset(fat, t),
					 glibc_offset(t));
		}
		int64_t from, until;
		for (int64_t t = Y2010; t < Y2100; t = until) {
			int32_t off = tz_offset_span(slim, t, &from, &until);
			assert_int_equal(off, glibc_offset(t));
			if (until == INT64_MAX)
				break;
			assert_int_equal(tz_offset(slim, until - 1), glibc_offset(until - 1));
		}
		/* The same as a version 1 file: 32-bit times, no footer, the last
		 * type forever. */
		m = tzif_write(out, &w, 0);
		struct tz *v1 = NULL;
		assert_int_equal(tz_parse(&v1, out, m), 0);
		assert_int_equal(tz_offset(v1, Y2010 - 86400 * 100),
				 tz_offset(fat, Y2010 - 86400 * 100));
		assert_int_equal(tz_offset(v1, Y2100), tz_offset(v1, Y2010 - 1));
		tz_free(v1);
		tz_free(slim);
		tz_free(fat);
		free(data);
	}
	unsetenv("TZ");
	tzset();
}

/* --- wall clock --- */

static void tz_first_local__gap_and_repeated_hour(void **state)
{
	(void)state;
	struct tz *z = load("Europe/Stockholm");
	int64_t at[4];
	/* 2025-03-30 02:30 does not exist: the clock jumps 02:00 -> 03:00 at
	 * 01:00Z. */
	int64_t gap = tz_days_from_civil(2025, 3, 30) * 86400 + 2 * 3600 + 1800;
	assert_int_equal(tz_instants(at, 4, z, gap), 0);
	assert_int_equal(tz_first_local(z, gap), 1743296400);	     /* 01:00Z */
	assert_int_equal(tz_first_local(z, gap - 3600), 1743294600); /* 01:30 CET = 00:30Z */
	/* 2025-10-26 02:30 happens twice: 00:30Z (CEST) and 01:30Z (CET). */
	int64_t rep = tz_days_from_civil(2025, 10, 26) * 86400 + 2 * 3600 + 1800;
	assert_int_equal(tz_instants(at, 4, z, rep), 2);
	assert_int_equal(at[0], 1761438600);
	assert_int_equal(at[1], 1761442200);
	assert_int_equal(tz_instants(at, 1, z, rep), 2); /* counts past max */
	assert_int_equal(tz_first_local(z, rep), 1761438600);
	/* During the second pass the clock has already read 02:59:59. */
	assert_int_equal(tz_local_high(z, 1761441000), rep + 1799);	   /* 02:10 CET */
	assert_int_equal(tz_local_high(z, 1761444000), 1761444000 + 3600); /* 03:00 CET */
	assert_int_equal(tz_local_high(z, 1761438600), rep);
	tz_free(z);
	/* Lord Howe: a 30-minute shift. 2025-10-05 02:00-02:30 does not exist,
	 * 2025-04-06 01:30-02:00 happens twice. */
	z = load("Australia/Lord_Howe");
	int64_t lh = tz_days_from_civil(2025, 10, 5) * 86400 + 2 * 3600 + 15 * 60;
	assert_int_equal(tz_instants(at, 4, z, lh), 0);
	assert_int_equal(tz_first_local(z, lh), 1759591800); /* 2025-10-04T15:30Z */
	lh = tz_days_from_civil(2025, 4, 6) * 86400 + 3600 + 45 * 60;
	assert_int_equal(tz_instants(at, 4, z, lh), 2);
	assert_int_equal(at[0], 1743864300); /* 14:45Z at +11 */
	assert_int_equal(at[1], 1743866100); /* 15:15Z at +10:30 */
	tz_free(z);
	/* UTC (NULL): the identity. */
	assert_int_equal(tz_first_local(NULL, 12345), 12345);
	assert_int_equal(tz_local_high(NULL, 12345), 12345);
	assert_int_equal(tz_instants(at, 4, NULL, 12345), 1);
	assert_int_equal(at[0], 12345);
}

/* tz_first_local, tz_instants and tz_local_high agree with a second-by-
 * second look at tz_local 3 hours either side of every transition of
 * 2020-2030 (and 2040-2045, where the footer rules). */
#define WIN (3 * 3600)
static void check_around(const struct tz *z, int64_t tr)
{
	static int64_t loc[2 * WIN], high[2 * WIN];
	int64_t ws = tr - WIN, base = tz_local(z, ws);
	for (int64_t i = 0; i < 2 * WIN; i++) {
		loc[i] = tz_local(z, ws + i);
		high[i] = i && high[i - 1] > loc[i] ? high[i - 1] : loc[i];
	}
	int64_t l0 = tz_local(z, tr) - 3600, l1 = tz_local(z, tr - 1) + 3600;
	if (l1 < tz_local(z, tr) + 3600)
		l1 = tz_local(z, tr) + 3600;
	for (int64_t l = l0; l <= l1; l += (l - l0) % 600 == 0 ? 1 : 59) {
		int64_t first = INT64_MAX, want[4], at[4];
		size_t n = 0;
		for (int64_t i = 0; i < 2 * WIN; i++) {
			if (first == INT64_MAX && loc[i] >= l)
				first = ws + i;
			if (loc[i] == l && n < 4)
				want[n++] = ws + i;
		}
		assert_true(l > base);
		if (tz_first_local(z, l) != first)
			fail_msg("%s: first %lld: %lld, want %lld", tz_name(z), (long long)l,
				 (long long)tz_first_local(z, l), (long long)first);
		assert_int_equal(tz_instants(at, 4, z, l), n);
		for (size_t k = 0; k < n; k++)
			assert_int_equal(at[k], want[k]);
	}
	for (int64_t i = WIN - 3600; i < WIN + 3600; i += 7)
		assert_int_equal(tz_local_high(z, ws + i), high[i]);
}

static void tz_first_local__agrees_with_tz_local_near_every_transition(void **state)
{
	(void)state;
	static const int years[][2] = {{2020, 2030}, {2040, 2045}};
	for (size_t i = 1; ZONES[i]; i++) {
		struct tz *z = load(ZONES[i]);
		size_t seen = 0;
		for (size_t y = 0; y < 2; y++) {
			int64_t from, until, end = tz_days_from_civil(years[y][1], 1, 1) * 86400;
			for (int64_t t = tz_days_from_civil(years[y][0], 1, 1) * 86400; t < end;
			     t = until) {
				tz_offset_span(z, t, &from, &until);
				if (until == INT64_MAX || until >= end)
					break;
				check_around(z, until);
				seen++;
			}
		}
		if (strcmp(ZONES[i], "Asia/Kathmandu"))
			assert_true(seen >= 2 * 15);
		tz_free(z);
	}
}

/* --- corrupt data --- */

static int parse_fails_with(const unsigned char *d, size_t n, const char *msg)
{
	struct tz *z = NULL;
	int rc = tz_parse(&z, d, n);
	if (rc == 0) {
		tz_free(z);
		return 0;
	}
	assert_null(z);
	return rc == E_INVALID && (!msg || strstr(err_msg(), msg));
}

static void tz_parse__refuses_corrupt_data(void **state)
{
	(void)state;
	size_t n;
	unsigned char *data = read_all(&n, "/usr/share/zoneinfo/Europe/Stockholm");
	static unsigned char buf[TZ_MAX_FILE];
	/* Every truncation, the footer's last newline included. */
	for (size_t k = 0; k < n; k++)
		if (!parse_fails_with(data, k, NULL))
			fail_msg("truncated to %zu bytes: accepted", k);
	assert_true(parse_fails_with(data, 10, "where a header needs 44"));
	memcpy(buf, data, n);
	buf[0] = 'X';
	assert_true(parse_fails_with(buf, n, "no TZif magic"));
	memcpy(buf, data, n);
	buf[4] = '1';
	assert_true(parse_fails_with(buf, n, "version byte 0x31"));
	/* Extra bytes after the footer. */
	memcpy(buf, data, n);
	buf[n] = 'x';
	assert_true(parse_fails_with(buf, n + 1, "footer"));

	struct tzif w;
	tzif_read(&w, data, n);
	static struct tzif bad;
	bad = w;
	bad.trans[10] = bad.trans[9];
	assert_true(parse_fails_with(buf, tzif_write(buf, &bad, '2'),
				     "transition 10 is not after transition 9"));
	bad = w;
	bad.idx[3] = (uint8_t)w.ntypes;
	assert_true(parse_fails_with(buf, tzif_write(buf, &bad, '2'), "transition 3 names local"));
	bad = w;
	bad.offs[1] = 26 * 3600;
	assert_true(parse_fails_with(buf, tzif_write(buf, &bad, '2'), "local time type 1"));
	bad = w;
	bad.isdst[0] = 2;
	assert_true(parse_fails_with(buf, tzif_write(buf, &bad, '2'), "local time type 0"));
	bad = w;
	bad.ntypes = 0;
	bad.ntrans = 0;
	assert_true(parse_fails_with(buf, tzif_write(buf, &bad, '2'), "0 local time types"));
	bad = w;
	bad.leapcnt = 2;
	assert_true(parse_fails_with(buf, tzif_write(buf, &bad, '2'), "2 leap seconds"));
	assert_true(parse_fails_with(buf, tzif_write(buf, &bad, 0), "2 leap seconds"));
	static const char *const footers[] = {
	    "CET",			 /* no offset */
	    "CE1",			 /* a two-letter name */
	    "CET-1CEST",		 /* daylight time without a rule */
	    "CET-1CEST,M3.5.0",		 /* no end */
	    "CET-1CEST,M13.5.0,M10.5.0", /* month 13 */
	    "CET-1CEST,M3.6.0,M10.5.0",	 /* week 6 */
	    "CET-1CEST,M3.5.7,M10.5.0",	 /* weekday 7 */
	    "CET-1CEST,J0,J365",	 /* J starts at 1 */
	    "CET-1CEST,366,0",		 /* n ends at 365 */
	    "CET-1CEST,M3.5.0/168,M10.5.0",
	    "CET-25",
	    "CET-1:60",
	    "<CE>-1",
	    "<CET-1",
	    "CET-1 ",
	    "CET-1CEST,M3.5.0,M10.5.0/3x",
	    NULL,
	};
	for (size_t i = 0; footers[i]; i++) {
		bad = w;
		snprintf(bad.footer, sizeof(bad.footer), "%s", footers[i]);
		char want[200];
		snprintf(want, sizeof(want), "footer \"%s\" is not a POSIX TZ rule", footers[i]);
		if (!parse_fails_with(buf, tzif_write(buf, &bad, '3'), want))
			fail_msg("footer \"%s\": %s", footers[i], err_msg());
	}
	/* The good ones parse: v1, v2, v3, v4, an empty footer. */
	static const char versions[] = {0, '2', '3', '4'};
	for (size_t v = 0; v < sizeof(versions); v++) {
		struct tz *z = NULL;
		size_t m = tzif_write(buf, &w, versions[v]);
		assert_int_equal(tz_parse(&z, buf, m), 0);
		tz_free(z);
	}
	bad = w;
	bad.footer[0] = '\0';
	struct tz *z = NULL;
	assert_int_equal(tz_parse(&z, buf, tzif_write(buf, &bad, '2')), 0);
	/* Without a footer the last transition's type holds forever. */
	assert_int_equal(tz_offset(z, Y2100 * 2), w.offs[w.idx[w.ntrans - 1]]);
	tz_free(z);
	free(data);
}

static void tz_parse__survives_random_bytes(void **state)
{
	(void)state;
	static unsigned char buf[TZ_MAX_FILE];
	unsigned char *files[8];
	size_t sizes[8], nfiles = 0;
	for (size_t i = 1; ZONES[i]; i++) {
		char path[256];
		snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", ZONES[i]);
		files[nfiles] = read_all(&sizes[nfiles], path);
		nfiles++;
	}
	const char *env = getenv("FUZZ_ITERATIONS");
	long iterations = env ? atol(env) : 100000, accepted = 0;
	for (long it = 0; it < iterations; it++) {
		size_t f = next_rand() % nfiles, n = sizes[f];
		memcpy(buf, files[f], n);
		int edits = 1 + (int)(next_rand() % 4);
		for (int e = 0; e < edits; e++) {
			switch (next_rand() % 4) {
			case 0: /* flip a byte */
				buf[next_rand() % n] ^= (unsigned char)(1 + next_rand() % 255);
				break;
			case 1: /* a count or a time: a byte in the headers' region */
				buf[20 + next_rand() % 24] = (unsigned char)next_rand();
				break;
			case 2: /* truncate */
				n = next_rand() % (n + 1);
				break;
			default: /* random bytes after the magic */
				for (size_t k = 5; k < n && k < 64; k++)
					buf[k] = (unsigned char)next_rand();
				break;
			}
			if (n == 0)
				break;
		}
		struct tz *z = NULL;
		if (tz_parse(&z, buf, n))
			continue;
		accepted++;
		for (int k = 0; k < 20; k++) {
			int64_t t = (int64_t)next_rand();
			int32_t off = tz_offset(z, t);
			assert_true(off >= TZ_MIN_UTOFF && off <= TZ_MAX_UTOFF);
			int64_t at[4], l = rand_between(Y1900, Y2100);
			(void)tz_instants(at, 4, z, l);
			assert_true(tz_first_local(z, l) >= l - 26 * 3600);
			assert_true(tz_local_high(z, t >> 8) >= tz_local(z, t >> 8));
		}
		tz_free(z);
	}
	/* Flipping abbreviation bytes and the like keeps some files valid. */
	assert_true(accepted > 0);
	for (size_t i = 0; i < nfiles; i++) {
		free(files[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(tz_load__reads_the_listed_zones_and_builds_in_utc),
	    cmocka_unit_test(tz_load__refuses_names_that_are_not_zones),
	    cmocka_unit_test(tz_offset__matches_localtime_r_1900_to_2100),
	    cmocka_unit_test(tz_parse__footer_rules_match_glibc),
	    cmocka_unit_test(tz_parse__daylight_time_all_year),
	    cmocka_unit_test(tz_parse__slim_file_relies_on_its_footer),
	    cmocka_unit_test(tz_first_local__gap_and_repeated_hour),
	    cmocka_unit_test(tz_first_local__agrees_with_tz_local_near_every_transition),
	    cmocka_unit_test(tz_parse__refuses_corrupt_data),
	    cmocka_unit_test(tz_parse__survives_random_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
