/* Tests for job/pipeline/parts_plan.c: the pre-flight plan of parts and objects. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "job/pipeline/parts_plan.h"

#define MiB ((uint64_t)1 << 20)
#define GiB ((uint64_t)1 << 30)
#define TiB ((uint64_t)1 << 40)

static const struct store_limits s3 = {8 * MiB, 2, 10000, 5 * TiB, "part"};
static const struct store_limits azure = {8 * MiB, 2, 50000, 0, "block"};
static const struct store_limits gcs = {16 * MiB, 1, 0, 5 * TiB, "chunk"};
static const struct store_limits file = {8 * MiB, 0, 0, 0, "unit"};
static const struct store_limits s3_big_parts = {5 * GiB, 2, 10000, 5 * TiB, "part"};

static void parts_plan__table(void **state)
{
	(void)state;
	static struct {
		const char *what;
		const struct store_limits *lim;
		uint64_t estimate;
		uint32_t test_parts;
		uint64_t want_limit;
		uint32_t want_objects;
		uint64_t want_memory;
	} const cases[] = {
	    {"s3, small", &s3, 1 * GiB, 0, 80000 * MiB, 1, 24 * MiB},
	    {"s3, exactly one object", &s3, 80000 * MiB, 0, 80000 * MiB, 1, 24 * MiB},
	    {"s3, one byte more", &s3, 80000 * MiB + 1, 0, 80000 * MiB, 2, 24 * MiB},
	    {"s3, 1 TB: memory the same", &s3, 1000 * GiB, 0, 80000 * MiB, 13, 24 * MiB},
	    {"s3, 5 GiB parts hit the 5 TiB object limit", &s3_big_parts, 12 * TiB, 0, 5 * TiB, 3,
	     15 * GiB},
	    {"azure, 50,000 blocks", &azure, 1000 * GiB, 0, 400000 * MiB, 3, 24 * MiB},
	    {"gcs: only the 5 TiB object limit", &gcs, 11 * TiB, 0, 5 * TiB, 3, 32 * MiB},
	    {"file: one object of any size", &file, 100 * TiB, 0, 0, 1, 0},
	    {"file, test limit: 8 MiB units", &file, 100 * MiB, 2, 16 * MiB, 7, 0},
	    {"s3, test limit lowers the parts", &s3, 100 * MiB, 3, 24 * MiB, 5, 24 * MiB},
	    {"s3, test limit above the real one is ignored", &s3, 1 * GiB, 20000, 80000 * MiB, 1,
	     24 * MiB},
	    {"an empty database is one object", &s3, 0, 0, 80000 * MiB, 1, 24 * MiB},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct parts_plan p;
		int rc = parts_plan(&p, cases[i].lim, cases[i].estimate, cases[i].test_parts);
		if (rc || p.object_limit != cases[i].want_limit ||
		    p.objects != cases[i].want_objects || p.memory != cases[i].want_memory ||
		    p.part_size != cases[i].lim->part_size)
			fail_msg("%s: rc %d limit %llu objects %u memory %llu", cases[i].what, rc,
				 (unsigned long long)p.object_limit, p.objects,
				 (unsigned long long)p.memory);
	}
}

static void parts_plan__too_many_objects_names_partsize(void **state)
{
	(void)state;
	struct parts_plan p;
	const struct store_limits tiny = {5 * MiB, 2, 10000, 5 * TiB, "part"};
	/* 5 MiB x 10,000 = 48.8 GiB per object: 1000 objects hold 47.7 TiB. */
	assert_int_equal(parts_plan(&p, &tiny, 48 * TiB, 0), E_INVALID);
	assert_non_null(strstr(err_msg(), "raise partSize"));
	assert_non_null(strstr(err_msg(), "10000 parts"));
	assert_int_equal(parts_plan(&p, &tiny, 47 * TiB, 0), 0);
	assert_int_equal(p.objects, 986);
}

/* The files archive is one object: it must fit, at pre-flight, with room
 * for what compression and OpenPGP may add to the tar stream. */
static void parts_plan_fits_one__files_archive_or_refusal_naming_partsize(void **state)
{
	(void)state;
	struct parts_plan p;
	assert_int_equal(parts_plan(&p, &s3, 1 * GiB, 0), 0);
	assert_int_equal(parts_plan_fits_one(&p, &s3, 10 * GiB, "--files"), 0);
	/* 78.1 GiB an object: 100 GiB of tar is refused, naming a part size
	 * that fits it. */
	assert_int_equal(parts_plan_fits_one(&p, &s3, 100 * GiB, "--files"), E_INVALID);
	assert_non_null(strstr(err_msg(), "--files: "));
	assert_non_null(
	    strstr(err_msg(), "more than one object takes (78.1 GiB: 10000 parts of 8 MiB)"));
	assert_non_null(strstr(err_msg(), "raise partSize in the storage URL to at least 11 MiB"));
	/* Just under the limit, but not with the overhead allowed for. */
	assert_int_equal(parts_plan_fits_one(&p, &s3, 10000 * 8 * MiB - 1, "--files"), E_INVALID);
	/* No object limit (file://): anything fits. */
	assert_int_equal(parts_plan(&p, &file, 1 * GiB, 0), 0);
	assert_int_equal(parts_plan_fits_one(&p, &file, 10 * TiB, "--files"), 0);
	/* A test's small parts limit on file:// (LIFEBOAT_TEST_MAX_PARTS=1). */
	assert_int_equal(parts_plan(&p, &file, 1 * GiB, 1), 0);
	assert_int_equal(parts_plan_fits_one(&p, &file, 20 * MiB, "--files"), E_INVALID);
	assert_non_null(strstr(err_msg(), "(8 MiB: 1 unit of 8 MiB)"));
	/* GCS's 5 TiB an object, whatever the chunk: no part size helps. */
	assert_int_equal(parts_plan(&p, &gcs, 1 * GiB, 0), 0);
	assert_int_equal(parts_plan_fits_one(&p, &gcs, 6 * TiB, "--files"), E_INVALID);
	assert_non_null(strstr(err_msg(), "the largest object this storage takes"));
}

static void parts_plan_describe__says_what_was_planned(void **state)
{
	(void)state;
	struct parts_plan p;
	char s[256];
	assert_int_equal(parts_plan(&p, &s3, 100 * GiB, 0), 0);
	parts_plan_describe(s, sizeof(s), &p, &s3);
	assert_string_equal(s,
			    "parts of 8 MiB, 2 in flight (24 MiB of buffers), objects of at most "
			    "78.1 GiB: 2 objects expected");
	assert_int_equal(parts_plan(&p, &file, 100 * GiB, 0), 0);
	parts_plan_describe(s, sizeof(s), &p, &file);
	assert_string_equal(s, "written as it comes (no part buffers), one object of any size");
	assert_int_equal(parts_plan(&p, &gcs, 1 * GiB, 0), 0);
	parts_plan_describe(s, sizeof(s), &p, &gcs);
	assert_string_equal(s, "chunks of 16 MiB, 1 in flight (32 MiB of buffers), objects of at "
			       "most 5 TiB: 1 object expected");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parts_plan__table),
	    cmocka_unit_test(parts_plan__too_many_objects_names_partsize),
	    cmocka_unit_test(parts_plan_fits_one__files_archive_or_refusal_naming_partsize),
	    cmocka_unit_test(parts_plan_describe__says_what_was_planned),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
