/* Tests for job/pipeline/inject.c: SQL inserted right after a script's BEGIN line. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/xmalloc.h"
#include "job/pipeline/inject.h"

/* Runs text through an inject stage in writes of `step` bytes; returns the
 * first error (0) and leaves the output in out. */
static int run(const char *text, size_t len, size_t step, struct buf *out)
{
	buf_init(out, 1 << 22);
	struct stage *s = inject_new("SET x = 1;\n", stage_buf_new(out));
	int rc = 0;
	for (size_t off = 0; !rc && off < len; off += step)
		rc = stage_write(s, (const uint8_t *)text + off,
				 off + step > len ? len - off : step);
	if (!rc)
		rc = stage_finish(s);
	stage_free_chain(s);
	return rc;
}

static void inject__goes_after_the_first_begin_line_in_any_chunking(void **state)
{
	(void)state;
	const char *in = "-- a preamble\nSET a;\nBEGIN;\nCREATE TABLE t();\nBEGIN;\nCOMMIT;\n";
	const char *want =
	    "-- a preamble\nSET a;\nBEGIN;\nSET x = 1;\nCREATE TABLE t();\nBEGIN;\nCOMMIT;\n";
	static const size_t steps[] = {1, 2, 3, 7, 13, 1000};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct buf out;
		assert_int_equal(run(in, strlen(in), steps[i], &out), 0);
		assert_int_equal(out.len, strlen(want));
		assert_memory_equal(out.ptr, want, out.len);
		buf_dispose(&out);
	}
}

static void inject__begin_must_be_a_whole_line(void **state)
{
	(void)state;
	const char *in = "SELECT 'BEGIN;\n';\nXBEGIN;\nBEGIN;\nCOMMIT;\n";
	struct buf out;
	assert_int_equal(run(in, strlen(in), 5, &out), 0);
	assert_string_equal(buf_str(&out),
			    "SELECT 'BEGIN;\n';\nXBEGIN;\nBEGIN;\nSET x = 1;\nCOMMIT;\n");
	buf_dispose(&out);
	/* At the very start of the script. */
	assert_int_equal(run("BEGIN;\nCOMMIT;\n", 15, 4, &out), 0);
	assert_string_equal(buf_str(&out), "BEGIN;\nSET x = 1;\nCOMMIT;\n");
	buf_dispose(&out);
}

static void inject__no_begin_is_an_integrity_error_and_passes_nothing(void **state)
{
	(void)state;
	struct buf out;
	const char *in = "CREATE TABLE t();\nCOMMIT;\n";
	assert_int_equal(run(in, strlen(in), 4, &out), E_INTEGRITY);
	assert_non_null(strstr(err_msg(), "no BEGIN; line"));
	assert_int_equal(out.len, 0);
	buf_dispose(&out);
	/* "BEGIN;" at the end without its newline is not a line yet. */
	assert_int_equal(run("BEGIN;", 6, 1, &out), E_INTEGRITY);
	buf_dispose(&out);
}

static void inject__gives_up_after_the_scan_limit(void **state)
{
	(void)state;
	size_t len = INJECT_SCAN_MAX + 100;
	char *in = xmalloc(len + 8);
	memset(in, 'x', len);
	memcpy(in + len, "\nBEGIN;\n", 8);
	struct buf out;
	/* Refused at the write that passes the limit, before finish. */
	buf_init(&out, 1 << 22);
	struct stage *s = inject_new("SET x = 1;\n", stage_buf_new(&out));
	assert_int_equal(stage_write(s, (const uint8_t *)in, len + 8), E_INTEGRITY);
	assert_non_null(strstr(err_msg(), "65536"));
	assert_int_equal(out.len, 0);
	stage_free_chain(s);
	buf_dispose(&out);
	/* Just inside the limit it is found. */
	memset(in, 'x', INJECT_SCAN_MAX - 8);
	memcpy(in + INJECT_SCAN_MAX - 8, "\nBEGIN;\n", 8);
	assert_int_equal(run(in, INJECT_SCAN_MAX, 4096, &out), 0);
	assert_int_equal(out.len, INJECT_SCAN_MAX + strlen("SET x = 1;\n"));
	buf_dispose(&out);
	free(in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(inject__goes_after_the_first_begin_line_in_any_chunking),
	    cmocka_unit_test(inject__begin_must_be_a_whole_line),
	    cmocka_unit_test(inject__no_begin_is_an_integrity_error_and_passes_nothing),
	    cmocka_unit_test(inject__gives_up_after_the_scan_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
