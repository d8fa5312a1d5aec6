/* Tests for job/store/objstore.c's writer: which dialect calls a stream makes (one
 * PUT, or a session with parts and a commit), and the clean-up of a failed
 * or unfinished one. The dialect is a fake that records its calls. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/http.h"
#include "common/xmalloc.h"
#include "job/store/objstore.h"
#include "job/pipeline/parts.h"
#include "job/pipeline/stage.h"

#define PART 8

struct fake {
	pthread_mutex_t lock;
	struct buf log; /* "begin;part1:8;..." */
	int fail_begin, fail_part, fail_whole, fail_complete;
	int freed;
};

static void note(struct fake *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct fake *f, const char *fmt, ...)
{
	char line[64];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&f->lock);
	buf_addf(&f->log, "%s;", line);
	pthread_mutex_unlock(&f->lock);
}

static int f_whole(void *ctx, struct http_client *h, const uint8_t *p, size_t n)
{
	struct fake *f = ctx;
	assert_non_null(h);
	(void)p;
	note(f, "whole:%zu", n);
	return f->fail_whole ? err_set(E_STORE, "whole refused") : 0;
}

static int f_begin(void *ctx, struct http_client *h)
{
	struct fake *f = ctx;
	assert_non_null(h);
	note(f, "begin");
	return f->fail_begin ? err_set(E_STORE, "begin refused") : 0;
}

static int f_part(void *ctx, struct http_client *h, int part_no, const uint8_t *data, size_t len,
		  char id[PARTS_ID_MAX])
{
	struct fake *f = ctx;
	assert_non_null(h);
	(void)data;
	note(f, "part%d:%zu", part_no, len);
	snprintf(id, PARTS_ID_MAX, "id%d", part_no);
	return part_no == f->fail_part ? err_set(E_STORE, "part %d refused", part_no) : 0;
}

static void f_last(void *ctx, uint64_t total)
{
	note(ctx, "last:%llu", (unsigned long long)total);
}

static int f_complete(void *ctx, struct http_client *h, const struct parts *parts)
{
	struct fake *f = ctx;
	assert_non_null(h);
	note(f, "complete:%d:%s", parts_count(parts),
	     parts_count(parts) ? parts_id(parts, parts_count(parts)) : "-");
	return f->fail_complete ? err_set(E_STORE, "complete refused") : 0;
}

static void f_abort(void *ctx, struct http_client *h, const struct parts *parts)
{
	assert_non_null(h);
	note(ctx, "abort:%llu", (unsigned long long)parts_bytes(parts));
}

static void f_free(void *ctx)
{
	((struct fake *)ctx)->freed++;
}

/* S3's shape: one PUT when small, else a session begun at the first full
 * part. */
static const struct objstore_writer_ops multipart = {
    .name = "fake-multipart",
    .put_whole = f_whole,
    .begin = f_begin,
    .put_part = f_part,
    .complete = f_complete,
    .abort = f_abort,
    .free = f_free,
    .stored = "stored",
    .unit = "part",
};

/* Azure's: no session to begin. */
static const struct objstore_writer_ops blocks = {
    .name = "fake-blocks",
    .put_whole = f_whole,
    .put_part = f_part,
    .complete = f_complete,
    .abort = f_abort,
    .free = f_free,
    .stored = "committed",
    .unit = "block",
};

/* GCS's: always a session, begun at the first write, the size told before
 * the last part. */
static const struct objstore_writer_ops session = {
    .name = "fake-session",
    .begin = f_begin,
    .begin_early = 1,
    .put_part = f_part,
    .last = f_last,
    .complete = f_complete,
    .abort = f_abort,
    .free = f_free,
    .stored = "stored",
    .unit = "chunk",
};

static void fake_init(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->lock, NULL);
	buf_init(&f->log, 4096);
}

static void fake_dispose(struct fake *f)
{
	buf_dispose(&f->log);
	pthread_mutex_destroy(&f->lock);
}

/* Writes n bytes in writes of `step`, then finishes; returns finish's code
 * (or the first write error) and frees the writer. */
static int run(const struct objstore_writer_ops *ops, struct fake *f, size_t n, size_t step,
	       int finish)
{
	uint8_t data[64] = {0};
	struct stage *s = objstore_writer_new(ops, f, "fake://b/k", PART, 1);
	assert_string_equal(s->ops->name, ops->name);
	int rc = 0;
	for (size_t at = 0; !rc && at < n; at += step)
		rc = stage_write(s, data, at + step <= n ? step : n - at);
	if (!rc && finish)
		rc = stage_finish(s);
	stage_free_chain(s);
	assert_int_equal(f->freed, 1);
	return rc;
}

static void writer__small_object_is_one_put(void **state)
{
	(void)state;
	struct fake f;
	fake_init(&f);
	assert_int_equal(run(&multipart, &f, 5, 2, 1), 0);
	assert_string_equal(buf_str(&f.log), "whole:5;");
	fake_dispose(&f);
}

static void writer__large_object_is_a_session_of_parts(void **state)
{
	(void)state;
	struct fake f;
	fake_init(&f);
	assert_int_equal(run(&multipart, &f, 20, 4, 1), 0);
	assert_string_equal(buf_str(&f.log), "begin;part1:8;part2:8;part3:4;complete:3:id3;");
	fake_dispose(&f);
}

static void writer__exactly_one_part_begins_a_session(void **state)
{
	(void)state;
	struct fake f;
	fake_init(&f);
	assert_int_equal(run(&multipart, &f, PART, PART, 1), 0);
	assert_string_equal(buf_str(&f.log), "begin;part1:8;complete:1:id1;");
	fake_dispose(&f);
}

static void writer__blocks_need_no_session(void **state)
{
	(void)state;
	struct fake f;
	fake_init(&f);
	assert_int_equal(run(&blocks, &f, 17, 17, 1), 0);
	assert_string_equal(buf_str(&f.log), "part1:8;part2:8;part3:1;complete:3:id3;");
	fake_dispose(&f);
}

static void writer__session_begins_at_the_first_write_and_knows_the_size(void **state)
{
	(void)state;
	struct fake f;
	fake_init(&f);
	assert_int_equal(run(&session, &f, 3, 3, 1), 0);
	assert_string_equal(buf_str(&f.log), "begin;last:3;part1:3;complete:1:id1;");
	fake_dispose(&f);
}

static void writer__empty_session_begins_at_finish(void **state)
{
	(void)state;
	struct fake f;
	fake_init(&f);
	assert_int_equal(run(&session, &f, 0, 1, 1), 0);
	assert_string_equal(buf_str(&f.log), "begin;last:0;complete:0:-;");
	fake_dispose(&f);
}

static void writer__failed_part_aborts_the_session(void **state)
{
	(void)state;
	struct fake f;
	fake_init(&f);
	f.fail_part = 2;
	assert_int_equal(run(&multipart, &f, 20, 20, 1), E_STORE);
	assert_non_null(strstr(err_msg(), "part 2 refused"));
	assert_non_null(strstr(buf_str(&f.log), "abort:20;"));
	assert_null(strstr(buf_str(&f.log), "complete"));
	fake_dispose(&f);
}

static void writer__failed_complete_aborts(void **state)
{
	(void)state;
	struct fake f;
	fake_init(&f);
	f.fail_complete = 1;
	assert_int_equal(run(&multipart, &f, 9, 9, 1), E_STORE);
	assert_string_equal(buf_str(&f.log), "begin;part1:8;part2:1;complete:2:id2;abort:9;");
	fake_dispose(&f);
}

static void writer__failed_begin_has_nothing_to_abort(void **state)
{
	(void)state;
	struct fake f;
	fake_init(&f);
	f.fail_begin = 1;
	assert_int_equal(run(&multipart, &f, 9, 9, 1), E_STORE);
	assert_string_equal(buf_str(&f.log), "begin;");
	fake_dispose(&f);
}

static void writer__failed_whole_put_has_no_session_to_abort(void **state)
{
	(void)state;
	struct fake f;
	fake_init(&f);
	f.fail_whole = 1;
	assert_int_equal(run(&multipart, &f, 3, 3, 1), E_STORE);
	assert_string_equal(buf_str(&f.log), "whole:3;");
	fake_dispose(&f);
}

static void writer__unfinished_blocks_are_abandoned_when_some_were_written(void **state)
{
	(void)state;
	struct fake f;
	fake_init(&f);
	assert_int_equal(run(&blocks, &f, 3, 3, 0), 0);
	assert_string_equal(buf_str(&f.log), "abort:3;");
	fake_dispose(&f);
	fake_init(&f);
	assert_int_equal(run(&blocks, &f, 0, 1, 0), 0);
	assert_string_equal(buf_str(&f.log), "");
	fake_dispose(&f);
}

static void exists__names_the_status_code_and_noun(void **state)
{
	(void)state;
	assert_int_equal(objstore_exists("s3://b/k", "PUT", 412, "PreconditionFailed", "object"),
			 E_EXISTS);
	assert_string_equal(err_msg(),
			    "s3://b/k: PUT: HTTP 412 PreconditionFailed: another writer created "
			    "the object first (two runs of one backup at once?); this run leaves "
			    "it alone");
	assert_int_equal(objstore_exists("azure://c/k", "Put Blob", 409, NULL, "blob"), E_EXISTS);
	assert_string_equal(err_msg(),
			    "azure://c/k: Put Blob: HTTP 409: another writer created the blob "
			    "first (two runs of one backup at once?); this run leaves it alone");
}

static void ok__only_2xx(void **state)
{
	(void)state;
	static const struct {
		long status;
		int ok;
	} cases[] = {{199, 0}, {200, 1}, {201, 1}, {206, 1}, {299, 1},
		     {300, 0}, {308, 0}, {404, 0}, {412, 0}, {500, 0}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct http_response r;
		http_response_init(&r);
		r.status = cases[i].status;
		assert_int_equal(objstore_ok(&r), cases[i].ok);
		http_response_dispose(&r);
	}
}

static void free_secret__takes_null_and_strings(void **state)
{
	(void)state;
	objstore_free_secret(NULL);
	objstore_free_secret(xstrdup("hunter2"));
	objstore_free_secret(xstrdup(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(writer__small_object_is_one_put),
	    cmocka_unit_test(writer__large_object_is_a_session_of_parts),
	    cmocka_unit_test(writer__exactly_one_part_begins_a_session),
	    cmocka_unit_test(writer__blocks_need_no_session),
	    cmocka_unit_test(writer__session_begins_at_the_first_write_and_knows_the_size),
	    cmocka_unit_test(writer__empty_session_begins_at_finish),
	    cmocka_unit_test(writer__failed_part_aborts_the_session),
	    cmocka_unit_test(writer__failed_complete_aborts),
	    cmocka_unit_test(writer__failed_begin_has_nothing_to_abort),
	    cmocka_unit_test(writer__failed_whole_put_has_no_session_to_abort),
	    cmocka_unit_test(writer__unfinished_blocks_are_abandoned_when_some_were_written),
	    cmocka_unit_test(exists__names_the_status_code_and_noun),
	    cmocka_unit_test(ok__only_2xx),
	    cmocka_unit_test(free_secret__takes_null_and_strings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
