/* Tests for job/pipeline/stage.c: the chain plumbing, the hash stage and the sinks. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "job/pipeline/stage.h"

static const char empty_sha[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
static const char abc_sha[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
static const char million_a_sha[] =
    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";

/* Hashes p with the given slice size (0 = one write) and checks the digest. */
static void hash_check(const void *p, size_t n, size_t slice, const char *want)
{
	struct stage *h = stage_hash_new(NULL);
	assert_non_null(h);
	const uint8_t *b = p;
	for (size_t off = 0; off < n;) {
		size_t k = slice && slice < n - off ? slice : n - off;
		assert_int_equal(stage_write(h, b + off, k), 0);
		off += k;
	}
	assert_int_equal(stage_finish(h), 0);
	char hex[65];
	stage_hash_hex(h, hex);
	assert_string_equal(hex, want);
	assert_int_equal(stage_hash_size(h), n);
	stage_free_chain(h);
}

static void stage_hash__empty_input_gives_known_digest(void **state)
{
	(void)state;
	hash_check("", 0, 0, empty_sha);
}

static void stage_hash__abc_gives_known_digest(void **state)
{
	(void)state;
	hash_check("abc", 3, 0, abc_sha);
}

static void stage_hash__digest_does_not_depend_on_slicing(void **state)
{
	(void)state;
	hash_check("abc", 3, 1, abc_sha);
	hash_check("abc", 3, 2, abc_sha);
	size_t n = 1000000;
	char *a = malloc(n);
	assert_non_null(a);
	memset(a, 'a', n);
	static const size_t slices[] = {0, 7, 63, 64, 65, 4096, 99999};
	for (size_t i = 0; i < sizeof(slices) / sizeof(slices[0]); i++)
		hash_check(a, n, slices[i], million_a_sha);
	free(a);
}

static void stage_hash__peek_gives_the_digest_so_far_and_goes_on(void **state)
{
	(void)state;
	struct stage *h = stage_hash_new(NULL);
	char hex[65];
	assert_int_equal(stage_hash_peek(h, hex), 0);
	assert_string_equal(hex, empty_sha);
	assert_int_equal(stage_write(h, (const uint8_t *)"abc", 3), 0);
	assert_int_equal(stage_hash_peek(h, hex), 0);
	assert_string_equal(hex, abc_sha);
	assert_int_equal(stage_hash_size(h), 3);
	/* The hash goes on after a peek: a million a's, peeked on the way. */
	stage_free_chain(h);
	h = stage_hash_new(NULL);
	char a[1000];
	memset(a, 'a', sizeof(a));
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(stage_write(h, (const uint8_t *)a, sizeof(a)), 0);
		if (i % 100 == 0)
			assert_int_equal(stage_hash_peek(h, hex), 0);
	}
	assert_int_equal(stage_hash_peek(h, hex), 0);
	assert_string_equal(hex, million_a_sha);
	assert_int_equal(stage_finish(h), 0);
	stage_hash_hex(h, hex);
	assert_string_equal(hex, million_a_sha);
	stage_free_chain(h);
}

static void stage_hash__passes_bytes_on_and_finishes_next(void **state)
{
	(void)state;
	struct buf out;
	buf_init(&out, 1 << 20);
	struct stage *sink = stage_buf_new(&out);
	struct stage *h = stage_hash_new(sink);
	assert_int_equal(stage_write(h, (const uint8_t *)"hello ", 6), 0);
	assert_int_equal(stage_write(h, (const uint8_t *)"", 0), 0);
	assert_int_equal(stage_write(h, (const uint8_t *)"world", 5), 0);
	assert_int_equal(stage_finish(h), 0);
	assert_string_equal(buf_str(&out), "hello world");
	assert_int_equal(stage_hash_size(h), 11);
	char hex[65];
	stage_hash_hex(h, hex);
	assert_string_equal(hex,
			    "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
	stage_free_chain(h);
	buf_dispose(&out);
}

static void stage_hash__reports_errors_of_next_stage(void **state)
{
	(void)state;
	struct buf out;
	buf_init(&out, 4);
	struct stage *h = stage_hash_new(stage_buf_new(&out));
	assert_int_equal(stage_write(h, (const uint8_t *)"abcd", 4), 0);
	assert_int_equal(stage_write(h, (const uint8_t *)"e", 1), E_TOOBIG);
	stage_free_chain(h);
	buf_dispose(&out);
}

static void stage_buf__appends_until_its_cap(void **state)
{
	(void)state;
	struct buf out;
	buf_init(&out, 10);
	struct stage *s = stage_buf_new(&out);
	assert_int_equal(stage_write(s, (const uint8_t *)"0123456789", 10), 0);
	assert_int_equal(stage_write(s, (const uint8_t *)"x", 1), E_TOOBIG);
	assert_int_equal(out.len, 10);
	assert_int_equal(stage_finish(s), 0);
	assert_string_equal(buf_str(&out), "0123456789");
	stage_free_chain(s);
	buf_dispose(&out);
}

static void stage_null__discards_everything(void **state)
{
	(void)state;
	struct stage *s = stage_null_new();
	uint8_t big[70000];
	memset(big, 7, sizeof(big));
	assert_int_equal(stage_write(s, big, sizeof(big)), 0);
	assert_int_equal(stage_write(s, big, 0), 0);
	assert_int_equal(stage_finish(s), 0);
	stage_free_chain(s);
}

static void stage_free_chain__accepts_null(void **state)
{
	(void)state;
	stage_free_chain(NULL);
}

static void stage_fd__writes_to_a_pipe(void **state)
{
	(void)state;
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	struct stage *s = stage_fd_new(fds[1], "the test pipe");
	assert_int_equal(stage_write(s, (const uint8_t *)"through ", 8), 0);
	assert_int_equal(stage_write(s, (const uint8_t *)"the pipe", 8), 0);
	assert_int_equal(stage_finish(s), 0);
	stage_free_chain(s);
	/* The stage does not close the descriptor: the caller does. */
	assert_int_not_equal(fcntl(fds[1], F_GETFD), -1);
	assert_int_equal(close(fds[1]), 0);
	char got[32] = {0};
	ssize_t n = read(fds[0], got, sizeof(got) - 1);
	assert_int_equal(n, 16);
	assert_string_equal(got, "through the pipe");
	close(fds[0]);
}

static void stage_fd__discards_after_the_reader_closed(void **state)
{
	(void)state;
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	close(fds[0]);
	struct stage *s = stage_fd_new(fds[1], "the test pipe");
	/* More than a pipe buffer, twice: the first EPIPE switches to discarding. */
	size_t n = 256 * 1024;
	uint8_t *p = calloc(1, n);
	assert_non_null(p);
	assert_int_equal(stage_write(s, p, n), 0);
	assert_int_equal(stage_write(s, p, n), 0);
	assert_int_equal(stage_finish(s), 0);
	stage_free_chain(s);
	free(p);
	close(fds[1]);
}

static void stage_fd__reports_other_errors_naming_the_peer(void **state)
{
	(void)state;
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	/* Writing to the read end fails with EBADF. */
	struct stage *s = stage_fd_new(fds[0], "pg_restore's stdin");
	err_clear();
	assert_int_equal(stage_write(s, (const uint8_t *)"x", 1), E_IO);
	assert_non_null(strstr(err_msg(), "pg_restore's stdin"));
	stage_free_chain(s);
	close(fds[0]);
	close(fds[1]);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(stage_hash__empty_input_gives_known_digest),
	    cmocka_unit_test(stage_hash__abc_gives_known_digest),
	    cmocka_unit_test(stage_hash__digest_does_not_depend_on_slicing),
	    cmocka_unit_test(stage_hash__peek_gives_the_digest_so_far_and_goes_on),
	    cmocka_unit_test(stage_hash__passes_bytes_on_and_finishes_next),
	    cmocka_unit_test(stage_hash__reports_errors_of_next_stage),
	    cmocka_unit_test(stage_buf__appends_until_its_cap),
	    cmocka_unit_test(stage_null__discards_everything),
	    cmocka_unit_test(stage_free_chain__accepts_null),
	    cmocka_unit_test(stage_fd__writes_to_a_pipe),
	    cmocka_unit_test(stage_fd__discards_after_the_reader_closed),
	    cmocka_unit_test(stage_fd__reports_other_errors_naming_the_peer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
