/* Tests for job/pipeline/split.c: one stream as a sequence of size-limited objects,
 * on the file:// backend in a temporary folder. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/xmalloc.h"
#include "job/pipeline/split.h"
#include "job/pipeline/stage.h"
#include "job/store/store.h"

struct fixture {
	char root[64];
	struct store *st;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	snprintf(f->root, sizeof(f->root), "/tmp/lifeboat-test-split-XXXXXX");
	*state = f;
	if (!mkdtemp(f->root))
		return -1;
	char *url = xasprintf("file://%s", f->root);
	int rc = store_open(&f->st, url);
	free(url);
	return rc;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	store_free(f->st);
	int rc = nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return rc;
}

/* Entries in root/ns/n, the folder the tests write. */
static int entries(const struct fixture *f)
{
	char *p = xasprintf("%s/ns/n", f->root);
	DIR *d = opendir(p);
	int n = 0;
	struct dirent *de;
	while (d && (de = readdir(d)))
		n += de->d_name[0] != '.';
	if (d)
		closedir(d);
	free(p);
	return n;
}

/* Writes len bytes of a pattern in uneven chunks through a split stage. */
static struct stage *write_stream(struct fixture *f, uint64_t limit, size_t len, uint8_t **data)
{
	struct stage *s = NULL;
	assert_int_equal(split_new(&s, f->st, "ns/n/", "db-0a1b2c3d.dump", limit), 0);
	uint8_t *p = xmalloc(len ? len : 1);
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 31 + i / 977);
	for (size_t off = 0, step = 1; off < len; off += step, step = step * 3 % 7001 + 1)
		assert_int_equal(stage_write(s, p + off, off + step > len ? len - off : step), 0);
	*data = p;
	return s;
}

static void split__cuts_at_the_limit_and_the_parts_concatenate(void **state)
{
	struct fixture *f = *state;
	uint8_t *data;
	struct stage *s = write_stream(f, 16384, 50000, &data);
	assert_int_equal(stage_finish(s), 0);
	assert_int_equal(split_count(s), 4);
	static const char *const leaves[] = {"db-0a1b2c3d.dump", "db-0a1b2c3d.dump.0002",
					     "db-0a1b2c3d.dump.0003", "db-0a1b2c3d.dump.0004"};
	static const uint64_t sizes[] = {16384, 16384, 16384, 50000 - 3 * 16384};
	struct buf all;
	buf_init(&all, 1 << 20);
	for (size_t i = 0; i < 4; i++) {
		const struct split_object *o = split_get(s, i);
		assert_string_equal(o->leaf, leaves[i]);
		assert_int_equal(o->size, sizes[i]);
		char *key = xasprintf("ns/n/%s", o->leaf);
		struct buf b;
		buf_init(&b, 1 << 20);
		assert_int_equal(store_get(f->st, key, &b), 0);
		assert_int_equal(b.len, sizes[i]);
		struct stage *h = stage_hash_new(NULL);
		assert_int_equal(stage_write(h, (const uint8_t *)b.ptr, b.len), 0);
		assert_int_equal(stage_finish(h), 0);
		char hex[65];
		stage_hash_hex(h, hex);
		assert_string_equal(hex, o->sha256);
		stage_free_chain(h);
		buf_add(&all, b.ptr, b.len);
		buf_dispose(&b);
		free(key);
	}
	assert_int_equal(all.len, 50000);
	assert_memory_equal(all.ptr, data, 50000);
	/* The stream's hash is the concatenation's. */
	struct stage *h = stage_hash_new(NULL);
	assert_int_equal(stage_write(h, data, 50000), 0);
	assert_int_equal(stage_finish(h), 0);
	char want[65], got[65];
	stage_hash_hex(h, want);
	stage_free_chain(h);
	split_stream_hex(s, got);
	assert_string_equal(got, want);
	assert_int_equal(split_stream_size(s), 50000);
	assert_string_not_equal(got, split_get(s, 0)->sha256);
	buf_dispose(&all);
	split_keep(s);
	stage_free_chain(s);
	assert_int_equal(entries(f), 4); /* kept: a manifest names them */
	free(data);
}

static void split__without_keep_removes_every_object_it_wrote(void **state)
{
	struct fixture *f = *state;
	uint8_t *data;
	struct stage *s = write_stream(f, 10000, 35000, &data);
	assert_int_equal(stage_finish(s), 0);
	assert_int_equal(split_count(s), 4);
	assert_int_equal(entries(f), 4);
	stage_free_chain(s); /* the manifest could not be created */
	assert_int_equal(entries(f), 0);
	free(data);
}

static void split__unfinished_leaves_nothing(void **state)
{
	struct fixture *f = *state;
	uint8_t *data;
	struct stage *s = write_stream(f, 10000, 25000, &data);
	/* Two objects finished, the third being written: all go. */
	stage_free_chain(s);
	assert_int_equal(entries(f), 0);
	free(data);
}

static void split__a_stream_of_exactly_the_limit_is_one_object(void **state)
{
	struct fixture *f = *state;
	uint8_t *data;
	struct stage *s = write_stream(f, 20000, 20000, &data);
	assert_int_equal(stage_finish(s), 0);
	assert_int_equal(split_count(s), 1);
	assert_int_equal(split_get(s, 0)->size, 20000);
	split_keep(s);
	stage_free_chain(s);
	free(data);
}

static void split__no_limit_and_an_empty_stream_are_one_object(void **state)
{
	struct fixture *f = *state;
	uint8_t *data;
	struct stage *s = write_stream(f, 0, 100000, &data);
	assert_int_equal(stage_finish(s), 0);
	assert_int_equal(split_count(s), 1);
	assert_int_equal(split_get(s, 0)->size, 100000);
	/* One object: its digest is the stream's, and the content's. */
	char stream[65];
	split_stream_hex(s, stream);
	assert_string_equal(split_get(s, 0)->sha256, stream);
	struct stage *h = stage_hash_new(NULL);
	assert_int_equal(stage_write(h, data, 100000), 0);
	assert_int_equal(stage_finish(h), 0);
	char want[65];
	stage_hash_hex(h, want);
	stage_free_chain(h);
	assert_string_equal(stream, want);
	stage_free_chain(s);
	free(data);
	s = write_stream(f, 4096, 0, &data);
	assert_int_equal(stage_finish(s), 0);
	assert_int_equal(split_count(s), 1);
	assert_int_equal(split_get(s, 0)->size, 0);
	/* SHA-256 of nothing. */
	assert_string_equal(split_get(s, 0)->sha256,
			    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	split_stream_hex(s, stream);
	assert_string_equal(stream, split_get(s, 0)->sha256);
	stage_free_chain(s);
	free(data);
}

static void split_leaf__numbers_from_the_second(void **state)
{
	(void)state;
	char *l = split_leaf("db-1.dump.zst.pgp", 0);
	assert_string_equal(l, "db-1.dump.zst.pgp");
	free(l);
	l = split_leaf("db-1.dump.zst.pgp", 1);
	assert_string_equal(l, "db-1.dump.zst.pgp.0002");
	free(l);
	l = split_leaf("db-1.dump.zst.pgp", 999);
	assert_string_equal(l, "db-1.dump.zst.pgp.1000");
	free(l);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(split__cuts_at_the_limit_and_the_parts_concatenate),
	    T(split__without_keep_removes_every_object_it_wrote),
	    T(split__unfinished_leaves_nothing),
	    T(split__a_stream_of_exactly_the_limit_is_one_object),
	    T(split__no_limit_and_an_empty_stream_are_one_object),
	    cmocka_unit_test(split_leaf__numbers_from_the_second),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
