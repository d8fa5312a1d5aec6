/* Tests for common/err.c: a message cut to the buffer ends on a character
 * boundary (it reaches JSON results and logs, which must stay valid UTF-8),
 * and a prefix wraps the message it was given. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "common/err.h"
#include "common/text.h"

/* Every byte of s is part of a whole UTF-8 character. */
static int valid_utf8(const char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		size_t k = text_utf8_len((const unsigned char *)s + i, n - i);
		if (k == 0)
			return 0;
		i += k;
	}
	return 1;
}

/* "é" (2 bytes), "€" (3), "😀" (4), at every offset against the cut. */
static void err_set__long_message_cut_on_a_character_boundary(void **state)
{
	(void)state;
	const char *chars[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
	char text[4096];
	for (size_t c = 0; c < 3; c++)
		for (size_t pad = 0; pad < 4; pad++) {
			memset(text, 'a', pad);
			size_t at = pad, clen = strlen(chars[c]);
			while (at + clen < sizeof(text) - 1) {
				memcpy(text + at, chars[c], clen);
				at += clen;
			}
			text[at] = '\0';
			err_set(E_IO, "%s", text);
			assert_int_equal(err_code(), E_IO);
			assert_true(strlen(err_msg()) > 2000);
			assert_true(valid_utf8(err_msg()));
			/* Nothing but the cut tail is lost. */
			assert_memory_equal(err_msg(), text, strlen(err_msg()));
		}
}

static void err_wrap__prefixes_and_cuts_on_a_character_boundary(void **state)
{
	(void)state;
	err_set(E_STORE, "the bucket is gone");
	assert_int_equal(err_wrap("uploading %s", "db.dump"), E_STORE);
	assert_string_equal(err_msg(), "uploading db.dump: the bucket is gone");
	char text[2048];
	for (size_t pad = 0; pad < 3; pad++) {
		memset(text, 'b', pad);
		size_t at = pad;
		while (at + 3 < sizeof(text) - 1) {
			memcpy(text + at, "\xe2\x82\xac", 3);
			at += 3;
		}
		text[at] = '\0';
		err_set(E_IO, "%s", text);
		err_wrap("prefix %zu", pad);
		assert_true(valid_utf8(err_msg()));
		assert_int_equal(strncmp(err_msg(), "prefix ", 7), 0);
	}
	err_clear();
	assert_int_equal(err_code(), 0);
	assert_string_equal(err_msg(), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(err_set__long_message_cut_on_a_character_boundary),
	    cmocka_unit_test(err_wrap__prefixes_and_cuts_on_a_character_boundary),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
