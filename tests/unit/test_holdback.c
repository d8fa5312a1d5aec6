/* Tests for job/pipeline/holdback.c: the stage that withholds the script's tail. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "job/pipeline/holdback.h"

/* Deterministic bytes so every offset is distinguishable. */
static uint8_t *pattern(size_t n)
{
	uint8_t *p = malloc(n ? n : 1);
	assert_non_null(p);
	uint32_t x = 2463534242u;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
	return p;
}

/* Writes n bytes in slices of `slice` (0: random sizes from 1 to 9000). */
static void write_sliced(struct stage *s, const uint8_t *p, size_t n, size_t slice)
{
	for (size_t off = 0; off < n;) {
		size_t k = slice ? slice : 1 + (size_t)(rand() % 9000);
		if (k > n - off)
			k = n - off;
		assert_int_equal(stage_write(s, p + off, k), 0);
		off += k;
	}
}

static void holdback__passes_all_but_the_tail_for_any_slicing(void **state)
{
	(void)state;
	static const size_t sizes[] = {0,
				       1,
				       100,
				       HOLDBACK_BYTES - 1,
				       HOLDBACK_BYTES,
				       HOLDBACK_BYTES + 1,
				       2 * HOLDBACK_BYTES,
				       50000};
	static const size_t slices[] = {0,
					1,
					2,
					1000,
					HOLDBACK_BYTES - 1,
					HOLDBACK_BYTES,
					HOLDBACK_BYTES + 1,
					3 * HOLDBACK_BYTES + 5,
					100000};
	srand(1);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (size_t j = 0; j < sizeof(slices) / sizeof(slices[0]); j++) {
			size_t n = sizes[i];
			uint8_t *p = pattern(n);
			struct buf out;
			buf_init(&out, 1 << 20);
			struct stage *h = holdback_new(stage_buf_new(&out));
			write_sliced(h, p, n, slices[j]);
			size_t passed = n > HOLDBACK_BYTES ? n - HOLDBACK_BYTES : 0;
			assert_int_equal(out.len, passed);
			assert_memory_equal(out.ptr ? out.ptr : "", p, passed);
			/* Finish does not release the tail. */
			assert_int_equal(stage_finish(h), 0);
			assert_int_equal(out.len, passed);
			assert_int_equal(holdback_release(h), 0);
			assert_int_equal(out.len, n);
			if (n)
				assert_memory_equal(out.ptr, p, n);
			/* A second release has nothing left to write. */
			assert_int_equal(holdback_release(h), 0);
			assert_int_equal(out.len, n);
			stage_free_chain(h);
			buf_dispose(&out);
			free(p);
		}
	}
}

static void holdback__reports_errors_of_next_stage(void **state)
{
	(void)state;
	struct buf out;
	buf_init(&out, 10);
	struct stage *h = holdback_new(stage_buf_new(&out));
	uint8_t *p = pattern(HOLDBACK_BYTES + 11);
	assert_int_equal(stage_write(h, p, HOLDBACK_BYTES + 11), E_TOOBIG);
	stage_free_chain(h);
	buf_dispose(&out);
	free(p);
}

/* Runs holdback_check_commit over about `pad` bytes of whole filler lines,
 * then text. */
static int check_text(size_t pad, const char *text)
{
	struct stage *h = holdback_new(stage_null_new());
	for (size_t i = 0; i < pad; i += 10)
		assert_int_equal(stage_write(h, (const uint8_t *)"SELECT 1;\n", 10), 0);
	assert_int_equal(stage_write(h, (const uint8_t *)text, strlen(text)), 0);
	err_clear();
	int rc = holdback_check_commit(h);
	stage_free_chain(h);
	return rc;
}

static const char pg_dump_end[] = "COMMIT;\n"
				  "\n"
				  "--\n"
				  "-- PostgreSQL database dump complete\n"
				  "--\n"
				  "\n"
				  "\\unrestrict abc123\n"
				  "\n";

static void holdback_check_commit__accepts_complete_scripts(void **state)
{
	(void)state;
	static const char *const ok[] = {
	    pg_dump_end,
	    "COMMIT;\n",
	    "COMMIT;",
	    "COMMIT;\r\n",
	    "COMMIT;  \n\n\n",
	    "BEGIN;\nCREATE TABLE t (x int);\nCOMMIT;\n",
	    "COMMIT;\n-- trailing comment\n\n",
	    "COMMIT;\n\\unrestrict Zx9aBc\n",
	};
	static const size_t pads[] = {0, 10, HOLDBACK_BYTES, 10 * HOLDBACK_BYTES};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		for (size_t j = 0; j < sizeof(pads) / sizeof(pads[0]); j++) {
			int rc = check_text(pads[j], ok[i]);
			if (rc)
				fail_msg("rejected (pad %zu): \"%s\": %s", pads[j], ok[i],
					 err_msg());
		}
}

static void holdback_check_commit__rejects_incomplete_scripts(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "",
	    "\n\n",
	    "-- only a comment\n",
	    "SELECT 1;\n",
	    "COMMIT;\nSELECT 1;\n",
	    "COMMIT;\nROLLBACK;\n",
	    "xCOMMIT;\n",
	    "SELECT 'COMMIT;\n",
	    "  COMMIT;\n",
	    "COMMIT\n",
	    "commit;\n",
	    "COMMIT; SELECT 1;\n",
	    "COMMIT;;\n",
	    "COMMIT;\n\\unrestrict\n",
	    "COMMIT;\n\\connect other\n",
	    "COMMIT;\n-- dump complete\n\\unrestrict abc\nDROP TABLE t;\n",
	};
	static const size_t pads[] = {0, 10, HOLDBACK_BYTES, 10 * HOLDBACK_BYTES};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		for (size_t j = 0; j < sizeof(pads) / sizeof(pads[0]); j++) {
			int rc = check_text(pads[j], bad[i]);
			if (rc != E_INTEGRITY)
				fail_msg("accepted (pad %zu): \"%s\"", pads[j], bad[i]);
			assert_non_null(strstr(err_msg(), "COMMIT"));
		}
}

/* Fills the window so that the last HOLDBACK_BYTES are `head` then comment
 * lines: nothing before `head` is visible to the check. */
static int check_full_window(const char *before, const char *head)
{
	struct buf text;
	buf_init(&text, 1 << 20);
	assert_int_equal(buf_adds(&text, before), 0);
	assert_int_equal(buf_adds(&text, head), 0);
	while (text.len < strlen(before) + HOLDBACK_BYTES - 4)
		assert_int_equal(buf_adds(&text, "--\n"), 0);
	while (text.len < strlen(before) + HOLDBACK_BYTES)
		assert_int_equal(buf_adds(&text, "\n"), 0);
	int rc = check_text(0, buf_str(&text));
	buf_dispose(&text);
	return rc;
}

static void holdback_check_commit__rejects_commit_outside_the_window(void **state)
{
	(void)state;
	/* COMMIT fell out of the window: only comment lines are held. */
	assert_int_equal(check_full_window("COMMIT;\n", "--\n"), E_INTEGRITY);
	/* The window starts at "COMMIT;": the line's real start is not seen
	 * ("xCOMMIT;"), so the check cannot trust it. */
	assert_int_equal(check_full_window("x", "COMMIT;\n"), E_INTEGRITY);
	/* Also when nothing came before: a full window cannot tell the two apart
	 * and fails safe. */
	assert_int_equal(check_full_window("", "COMMIT;\n"), E_INTEGRITY);
	/* With the newline before it held, the line is known to be COMMIT;. */
	assert_int_equal(check_full_window("SELECT 1;", "\nCOMMIT;\n"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(holdback__passes_all_but_the_tail_for_any_slicing),
	    cmocka_unit_test(holdback__reports_errors_of_next_stage),
	    cmocka_unit_test(holdback_check_commit__accepts_complete_scripts),
	    cmocka_unit_test(holdback_check_commit__rejects_incomplete_scripts),
	    cmocka_unit_test(holdback_check_commit__rejects_commit_outside_the_window),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
