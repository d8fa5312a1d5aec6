/* Tests for common/buf.c: growth, the cap, taking the bytes, and the secret
 * mode that wipes every block it leaves behind. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"

static int all_zero(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

static void buf_add__grows_and_stays_nul_terminated(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 1 << 20);
	assert_string_equal(buf_str(&b), "");
	for (int i = 0; i < 1000; i++)
		assert_int_equal(buf_add(&b, "abc", 3), 0);
	assert_int_equal(b.len, 3000);
	assert_int_equal(strlen(buf_str(&b)), 3000);
	assert_memory_equal(b.ptr + 2997, "abc", 4);
	assert_int_equal(buf_addf(&b, "%d-%s", 42, "x"), 0);
	assert_string_equal(b.ptr + 3000, "42-x");
	buf_dispose(&b);
	assert_null(b.ptr);
	assert_int_equal(b.len, 0);
}

static void buf_add__past_the_cap_is_too_big_and_changes_nothing(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 4);
	assert_int_equal(buf_adds(&b, "abcd"), 0);
	assert_int_equal(buf_add(&b, "e", 1), E_TOOBIG);
	assert_string_equal(buf_str(&b), "abcd");
	assert_int_equal(buf_addf(&b, "%s", "long enough to pass the cap"), E_TOOBIG);
	assert_string_equal(buf_str(&b), "abcd");
	buf_dispose(&b);
}

static void buf_take__hands_out_the_string_and_empties_the_buffer(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 64);
	char *empty = buf_take(&b);
	assert_string_equal(empty, "");
	free(empty);
	buf_adds(&b, "kept");
	char *s = buf_take(&b);
	assert_string_equal(s, "kept");
	assert_null(b.ptr);
	assert_int_equal(b.max, 64);
	free(s);
}

/* The copy-and-wipe a secret buffer grows with, alone: the old block (still
 * ours here, so it may be read) holds nothing afterwards. */
static void buf_move_wipe__copies_then_wipes_the_whole_source(void **state)
{
	(void)state;
	char *src = malloc(64), *dst = malloc(128);
	assert_non_null(src);
	assert_non_null(dst);
	memset(src, 'S', 64);
	memcpy(src, "secret\0", 7);
	memset(dst, 0, 128);
	buf_move_wipe(dst, src, 7, 64);
	assert_memory_equal(dst, "secret\0", 7);
	assert_true(all_zero(src, 64));
	free(src);
	free(dst);
}

static void buf_init_secret__grows_like_a_buffer_and_keeps_its_mode(void **state)
{
	(void)state;
	struct buf b;
	buf_init_secret(&b, 1 << 16);
	assert_true(b.secret);
	for (int i = 0; i < 500; i++)
		assert_int_equal(buf_add(&b, "pass", 4), 0);
	assert_int_equal(b.len, 2000);
	assert_memory_equal(b.ptr + 1996, "pass", 5);
	assert_int_equal(buf_addf(&b, "%s", "-word"), 0);
	assert_string_equal(b.ptr + 2000, "-word");
	assert_int_equal(buf_add(&b, "x", (1 << 16)), E_TOOBIG);
	char *s = buf_take(&b);
	assert_int_equal(strlen(s), 2005);
	free(s);
	/* Emptied, still secret. */
	assert_true(b.secret);
	assert_int_equal(b.max, 1 << 16);
	buf_adds(&b, "again");
	buf_dispose(&b);
	assert_true(b.secret);
	assert_null(b.ptr);
}

/* buf_reset keeps the block: in secret mode it must not keep the bytes. */
static void buf_reset__wipes_a_secret_buffer(void **state)
{
	(void)state;
	struct buf b;
	buf_init_secret(&b, 4096);
	buf_adds(&b, "correct horse battery staple");
	size_t cap = b.cap;
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, cap);
	assert_true(all_zero(b.ptr, b.cap));
	buf_dispose(&b);
	/* An ordinary buffer only truncates. */
	buf_init(&b, 4096);
	buf_adds(&b, "plain");
	buf_reset(&b);
	assert_string_equal(buf_str(&b), "");
	assert_memory_equal(b.ptr + 1, "lain", 4);
	buf_dispose(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(buf_add__grows_and_stays_nul_terminated),
	    cmocka_unit_test(buf_add__past_the_cap_is_too_big_and_changes_nothing),
	    cmocka_unit_test(buf_take__hands_out_the_string_and_empties_the_buffer),
	    cmocka_unit_test(buf_move_wipe__copies_then_wipes_the_whole_source),
	    cmocka_unit_test(buf_init_secret__grows_like_a_buffer_and_keeps_its_mode),
	    cmocka_unit_test(buf_reset__wipes_a_secret_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
