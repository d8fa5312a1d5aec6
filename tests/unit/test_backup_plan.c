/* Tests for job/cmd/backup_plan.c: what a backup decides from its options and
 * the pre-flight's facts, before anything is written. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "job/cmd/backup_plan.h"
#include "job/cmd/job.h"

#define MiB ((uint64_t)1 << 20)
#define GiB ((uint64_t)1 << 30)

static char pass[] = "correct horse";

static struct job_opts opts(const char *format, const char *compression)
{
	struct job_opts o;
	memset(&o, 0, sizeof(o));
	o.db = "postgresql://app@db:5432/shop";
	o.storage = "file:///backups";
	o.name = "nightly";
	o.namespace_ = "team-a";
	o.format = format;
	o.compression = compression;
	return o;
}

static void backup_plan__stages_from_the_options(void **state)
{
	(void)state;
	static struct {
		const char *what, *format, *compression;
		int passphrase, files;
		enum compress_algo algo;
		int level, script;
	} const cases[] = {
	    {"custom, zstd default level", "custom", "zstd", 0, 0, COMPRESS_ZSTD, 3, 0},
	    {"custom, zstd:19, encrypted", "custom", "zstd:19", 1, 0, COMPRESS_ZSTD, 19, 0},
	    {"plain needs the script process", "plain", "gzip:9", 0, 0, COMPRESS_GZIP, 9, 1},
	    {"no compression stage", "custom", "none", 1, 1, COMPRESS_NONE, 0, 0},
	    {"files, plain, encrypted", "plain", "zstd:1", 1, 1, COMPRESS_ZSTD, 1, 1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct job_opts o = opts(cases[i].format, cases[i].compression);
		struct backup_plan p;
		o.passphrase = cases[i].passphrase ? pass : NULL;
		o.passlen = cases[i].passphrase ? strlen(pass) : 0;
		o.files = cases[i].files ? "/srv/uploads" : NULL;
		memset(&p, 0xff, sizeof(p));
		int rc = backup_plan(&p, &o);
		if (rc || strcmp(p.format, cases[i].format) != 0 || p.cs.algo != cases[i].algo ||
		    p.cs.level != cases[i].level || p.script != cases[i].script ||
		    p.encrypt != cases[i].passphrase || p.files != cases[i].files ||
		    p.parts.objects != 0 || p.parts.object_limit != 0)
			fail_msg("%s: rc %d algo %d level %d script %d encrypt %d files %d",
				 cases[i].what, rc, (int)p.cs.algo, p.cs.level, p.script, p.encrypt,
				 p.files);
	}
}

/* The first wrong flag in the order the user meets them, named; the plan
 * is left as it was. */
static void backup_plan__rejects_bad_options_in_order(void **state)
{
	(void)state;
	static struct {
		const char *what, *name, *ns, *format, *compression, *db, *want;
	} const cases[] = {
	    {"no name", NULL, "team-a", "custom", "zstd", "postgresql:///shop", "--name"},
	    {"bad name before bad format", "Bad_Name", "team-a", "sql", "zstd", "x", "--name"},
	    {"bad namespace", "nightly", "Team A", "custom", "zstd", "x", "--namespace"},
	    {"bad compression before bad format", "nightly", "team-a", "sql", "lz4", "x",
	     "--compression: unknown compression \"lz4\""},
	    {"bad level", "nightly", "team-a", "custom", "gzip:10", "x",
	     "--compression: gzip level must be a number from"},
	    {"bad format", "nightly", "team-a", "directory", "zstd", "x",
	     "--format \"directory\" is not supported: use custom or plain"},
	    {"no db", "nightly", "team-a", "custom", "zstd", NULL, "--db is required"},
	    {"empty db", "nightly", "team-a", "plain", "none", "", "--db is required"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct job_opts o = opts(cases[i].format, cases[i].compression);
		struct backup_plan p, before;
		o.name = cases[i].name;
		o.namespace_ = cases[i].ns;
		o.db = cases[i].db;
		memset(&p, 0x5a, sizeof(p));
		before = p;
		err_clear();
		int rc = backup_plan(&p, &o);
		if (rc != E_INVALID || !strstr(err_msg(), cases[i].want) ||
		    memcmp(&p, &before, sizeof(p)) != 0)
			fail_msg("%s: rc %d, \"%s\"", cases[i].what, rc, err_msg());
	}
}

static void backup_plan_parts__cuts_the_dump_for_the_backend(void **state)
{
	(void)state;
	static const struct store_limits s3 = {8 * MiB, 2, 10000, 0, "part"};
	static const struct store_limits file = {8 * MiB, 0, 0, 0, "unit"};
	static struct {
		const char *what;
		const struct store_limits *lim;
		uint64_t estimate;
		const char *test_parts;
		uint64_t want_limit;
		uint32_t want_objects;
	} const cases[] = {
	    {"s3: one object", &s3, 1 * GiB, NULL, 80000 * MiB, 1},
	    {"s3: LIFEBOAT_TEST_MAX_PARTS=3", &s3, 100 * MiB, "3", 24 * MiB, 5},
	    {"file: one object", &file, 100 * GiB, NULL, 0, 1},
	    {"file: LIFEBOAT_TEST_MAX_PARTS=2", &file, 100 * MiB, "2", 16 * MiB, 7},
	    {"an unparsable test limit is no limit", &file, 100 * MiB, "lots", 0, 1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct job_opts o = opts("custom", "zstd");
		struct backup_plan p;
		assert_int_equal(backup_plan(&p, &o), 0);
		int rc =
		    backup_plan_parts(&p, cases[i].lim, cases[i].estimate, cases[i].test_parts);
		if (rc || p.parts.object_limit != cases[i].want_limit ||
		    p.parts.objects != cases[i].want_objects || p.cs.algo != COMPRESS_ZSTD)
			fail_msg("%s: rc %d limit %llu objects %u", cases[i].what, rc,
				 (unsigned long long)p.parts.object_limit, p.parts.objects);
	}
}

/* Too large for the backend: the parts plan's error, the plan unchanged. */
static void backup_plan_parts__refuses_a_dump_too_large(void **state)
{
	(void)state;
	static const struct store_limits tiny = {8 * MiB, 2, 1, 8 * MiB, "part"};
	struct job_opts o = opts("custom", "zstd");
	struct backup_plan p;
	assert_int_equal(backup_plan(&p, &o), 0);
	err_clear();
	assert_int_equal(backup_plan_parts(&p, &tiny, 1024 * GiB, NULL), E_INVALID);
	assert_int_equal(p.parts.objects, 0);
	assert_int_equal(p.parts.object_limit, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(backup_plan__stages_from_the_options),
	    cmocka_unit_test(backup_plan__rejects_bad_options_in_order),
	    cmocka_unit_test(backup_plan_parts__cuts_the_dump_for_the_backend),
	    cmocka_unit_test(backup_plan_parts__refuses_a_dump_too_large),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
