/* Tests for job/store/store.c and job/store/store_file.c: the file:// backend in a
 * temporary folder. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/xmalloc.h"
#include "job/pipeline/stage.h"
#include "job/store/store.h"

struct fixture {
	char root[64];
	struct store *st;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	snprintf(f->root, sizeof(f->root), "/tmp/lifeboat-test-store-XXXXXX");
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

/* True when root/rel exists in the file system. */
static int exists(const struct fixture *f, const char *rel)
{
	char *p = xasprintf("%s/%s", f->root, rel);
	struct stat sb;
	int ok = stat(p, &sb) == 0;
	free(p);
	return ok;
}

/* How many temporary "*.partial" files folder root/rel holds. */
static int partials(const struct fixture *f, const char *rel)
{
	char *p = xasprintf("%s/%s", f->root, rel);
	DIR *d = opendir(p);
	int n = 0;
	struct dirent *de;
	while (d && (de = readdir(d))) {
		size_t len = strlen(de->d_name);
		n += len > 8 && strcmp(de->d_name + len - 8, ".partial") == 0;
	}
	if (d)
		closedir(d);
	free(p);
	return n;
}

static void put_text(struct store *st, const char *key, const char *text)
{
	assert_int_equal(store_put(st, key, text, strlen(text)), 0);
}

static char *get_text(struct store *st, const char *key)
{
	struct buf b;
	buf_init(&b, 1 << 20);
	assert_int_equal(store_get(st, key, &b), 0);
	return buf_take(&b);
}

/* --- opening --- */

static void store_open__rejects_bad_urls(void **state)
{
	(void)state;
	static const struct {
		const char *url, *says;
	} cases[] = {
	    {"sftp://host/dir", "scheme \"sftp\" is not supported"},
	    {"ftp://host/dir", "scheme \"ftp\" is not supported"},
	    {"FILE:///tmp", "scheme \"FILE\" is not supported"},
	    {"://x", "scheme \"\" is not supported"},
	    {"/backups", "has no scheme"},
	    {"", "has no scheme"},
	    {"file:/backups", "has no scheme"},
	    {"file://backups", "absolute path"},
	    {"file://./backups", "absolute path"},
	    {"file://", "absolute path"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct store *st = NULL;
		err_clear();
		if (store_open(&st, cases[i].url) != E_INVALID)
			fail_msg("accepted \"%s\"", cases[i].url);
		assert_null(st);
		if (!strstr(err_msg(), cases[i].says))
			fail_msg("\"%s\": message lacks \"%s\": %s", cases[i].url, cases[i].says,
				 err_msg());
	}
}

static void store_open__missing_root_is_a_store_error(void **state)
{
	struct fixture *f = *state;
	char *url = xasprintf("file://%s/nope", f->root);
	struct store *st = NULL;
	assert_int_equal(store_open(&st, url), E_STORE);
	assert_null(st);
	assert_non_null(strstr(err_msg(), "/nope does not exist"));
	assert_non_null(strstr(err_msg(), "create it or mount the volume"));
	free(url);
}

static void store_open__root_that_is_a_file_is_a_store_error(void **state)
{
	struct fixture *f = *state;
	put_text(f->st, "plainfile", "x");
	char *url = xasprintf("file://%s/plainfile", f->root);
	struct store *st = NULL;
	/* A stale errno from earlier calls must not change the message. */
	errno = ENOENT;
	assert_int_equal(store_open(&st, url), E_STORE);
	assert_null(st);
	assert_non_null(strstr(err_msg(), "is not a readable folder"));
	free(url);
}

static void store_open__trims_trailing_slashes_for_display(void **state)
{
	struct fixture *f = *state;
	char *url = xasprintf("file://%s///", f->root);
	struct store *st = NULL;
	assert_int_equal(store_open(&st, url), 0);
	char *want = xasprintf("file://%s", f->root);
	assert_string_equal(st->display, want);
	char *loc = store_location(st, "ns/n/manifest.json");
	char *want_loc = xasprintf("file://%s/ns/n/manifest.json", f->root);
	assert_string_equal(loc, want_loc);
	put_text(st, "k", "v");
	char *v = get_text(f->st, "k");
	assert_string_equal(v, "v");
	free(v);
	free(loc);
	free(want_loc);
	free(want);
	free(url);
	store_free(st);
}

static void store_free__accepts_null(void **state)
{
	(void)state;
	store_free(NULL);
}

/* --- writers --- */

static void store_writer__object_is_invisible_until_finish(void **state)
{
	struct fixture *f = *state;
	struct stage *w = NULL;
	uint64_t size = 0;
	assert_int_equal(store_writer(f->st, "ns/n/db.dump", &w), 0);
	assert_int_equal(stage_write(w, (const uint8_t *)"partial ", 8), 0);
	assert_int_equal(stage_write(w, (const uint8_t *)"content", 7), 0);
	assert_int_equal(partials(f, "ns/n"), 1);
	assert_false(exists(f, "ns/n/db.dump"));
	assert_int_equal(store_stat(f->st, "ns/n/db.dump", &size), E_NOTFOUND);

	assert_int_equal(stage_finish(w), 0);
	assert_int_equal(partials(f, "ns/n"), 0);
	assert_int_equal(store_stat(f->st, "ns/n/db.dump", &size), 0);
	assert_int_equal(size, 15);
	stage_free_chain(w);
	/* Freeing a finished writer keeps the object. */
	char *v = get_text(f->st, "ns/n/db.dump");
	assert_string_equal(v, "partial content");
	free(v);
}

static void store_writer__freeing_unfinished_writer_removes_partial(void **state)
{
	struct fixture *f = *state;
	put_text(f->st, "ns/n/db.dump", "old complete object");
	struct stage *w = NULL;
	assert_int_equal(store_writer(f->st, "ns/n/db.dump", &w), 0);
	assert_int_equal(stage_write(w, (const uint8_t *)"new", 3), 0);
	assert_int_equal(partials(f, "ns/n"), 1);
	stage_free_chain(w);
	assert_int_equal(partials(f, "ns/n"), 0);
	/* The object that was there is untouched by the aborted overwrite. */
	char *v = get_text(f->st, "ns/n/db.dump");
	assert_string_equal(v, "old complete object");
	free(v);

	assert_int_equal(store_writer(f->st, "ns/m/db.dump", &w), 0);
	stage_free_chain(w);
	assert_int_equal(partials(f, "ns/m"), 0);
	assert_false(exists(f, "ns/m/db.dump"));
}

static void store_create__of_concurrent_writers_exactly_one_succeeds(void **state)
{
	struct fixture *f = *state;
	struct stage *a = NULL, *b = NULL, *c = NULL;
	/* Three writers of one name open at once: each has its own temporary
	 * file, so none writes into another's. */
	assert_int_equal(store_create(f->st, "ns/n/manifest.json", &a), 0);
	assert_int_equal(store_create(f->st, "ns/n/manifest.json", &b), 0);
	assert_int_equal(store_create(f->st, "ns/n/manifest.json", &c), 0);
	assert_int_equal(partials(f, "ns/n"), 3);
	assert_int_equal(stage_write(a, (const uint8_t *)"from a", 6), 0);
	assert_int_equal(stage_write(b, (const uint8_t *)"from b", 6), 0);
	assert_int_equal(stage_write(c, (const uint8_t *)"from c", 6), 0);
	assert_int_equal(stage_finish(b), 0);
	assert_int_equal(stage_finish(a), E_EXISTS);
	assert_non_null(strstr(err_msg(), "another writer created it first"));
	assert_int_equal(stage_finish(c), E_EXISTS);
	stage_free_chain(a);
	stage_free_chain(b);
	stage_free_chain(c);
	char *v = get_text(f->st, "ns/n/manifest.json");
	assert_string_equal(v, "from b");
	free(v);
	assert_int_equal(partials(f, "ns/n"), 0);
}

static void store_create__never_replaces_an_existing_object(void **state)
{
	struct fixture *f = *state;
	put_text(f->st, "ns/n/db.dump", "the stored backup");
	struct stage *w = NULL;
	assert_int_equal(store_create(f->st, "ns/n/db.dump", &w), 0);
	assert_int_equal(stage_write(w, (const uint8_t *)"other", 5), 0);
	assert_int_equal(stage_finish(w), E_EXISTS);
	stage_free_chain(w);
	char *v = get_text(f->st, "ns/n/db.dump");
	assert_string_equal(v, "the stored backup");
	free(v);
	/* A plain writer still replaces (verified.json is rewritten). */
	put_text(f->st, "ns/n/db.dump", "replaced");
	v = get_text(f->st, "ns/n/db.dump");
	assert_string_equal(v, "replaced");
	free(v);
}

static void store_put_new__identical_bytes_are_this_puts_own(void **state)
{
	struct fixture *f = *state;
	const char *m = "{\"manifest\": 1}";
	assert_int_equal(store_put_new(f->st, "ns/n/manifest.json", m, strlen(m)), 0);
	/* The same bytes again: a retried request that met its own object. */
	assert_int_equal(store_put_new(f->st, "ns/n/manifest.json", m, strlen(m)), 0);
	/* Other bytes: another writer's object, left alone. */
	const char *other = "{\"manifest\": 2}";
	assert_int_equal(store_put_new(f->st, "ns/n/manifest.json", other, strlen(other)),
			 E_EXISTS);
	char *v = get_text(f->st, "ns/n/manifest.json");
	assert_string_equal(v, m);
	free(v);
}

static void store_writer__removes_temporary_files_of_dead_writers_only(void **state)
{
	struct fixture *f = *state;
	/* Dead writers' files: nobody holds their lock. */
	put_text(f->st, "ns/n/keep", "an object");
	static const char *const dead[] = {"ns/n/db-0badf00d.dump.zst.pgp.Ab12Cd.partial",
					   "ns/n/db.dump.zst.pgp.partial"};
	for (size_t i = 0; i < 2; i++) {
		char *p = xasprintf("%s/%s", f->root, dead[i]);
		FILE *fp = fopen(p, "w");
		assert_non_null(fp);
		fputs("half a dump", fp);
		fclose(fp);
		free(p);
	}
	assert_int_equal(partials(f, "ns/n"), 2);
	struct stage *live = NULL, *w = NULL;
	assert_int_equal(store_writer(f->st, "ns/n/db-11111111.dump", &live), 0);
	assert_int_equal(partials(f, "ns/n"), 1); /* the dead ones gone, live's own there */
	assert_int_equal(stage_write(live, (const uint8_t *)"live", 4), 0);
	/* A second writer in the folder leaves the live one's file alone. */
	assert_int_equal(store_writer(f->st, "ns/n/db-22222222.dump", &w), 0);
	assert_int_equal(partials(f, "ns/n"), 2);
	assert_int_equal(stage_finish(live), 0);
	assert_int_equal(stage_finish(w), 0);
	stage_free_chain(live);
	stage_free_chain(w);
	char *v = get_text(f->st, "ns/n/db-11111111.dump");
	assert_string_equal(v, "live");
	free(v);
	assert_int_equal(partials(f, "ns/n"), 0);
	assert_true(exists(f, "ns/n/keep"));
}

static void store_writer__a_planted_symlink_is_never_followed(void **state)
{
	struct fixture *f = *state;
	char *victim = xasprintf("%s/victim", f->root);
	char *link_at = xasprintf("%s/ns/n/db.dump.partial", f->root);
	put_text(f->st, "victim", "must stay");
	put_text(f->st, "ns/n/other", "x");
	assert_int_equal(symlink(victim, link_at), 0);
	struct stage *w = NULL;
	assert_int_equal(store_writer(f->st, "ns/n/db.dump", &w), 0);
	assert_int_equal(stage_write(w, (const uint8_t *)"dump", 4), 0);
	assert_int_equal(stage_finish(w), 0);
	stage_free_chain(w);
	char *v = get_text(f->st, "victim");
	assert_string_equal(v, "must stay");
	free(v);
	v = get_text(f->st, "ns/n/db.dump");
	assert_string_equal(v, "dump");
	free(v);
	struct stat sb;
	assert_int_equal(lstat(link_at, &sb), 0);
	assert_true(S_ISLNK(sb.st_mode));
	free(victim);
	free(link_at);
}

static void store_writer__fails_when_a_folder_is_a_file(void **state)
{
	struct fixture *f = *state;
	put_text(f->st, "ns", "not a folder");
	struct stage *w = NULL;
	err_clear();
	assert_int_equal(store_writer(f->st, "ns/n/manifest.json", &w), E_STORE);
	assert_null(w);
	assert_non_null(strstr(err_msg(), "cannot create folder"));
	assert_non_null(strstr(err_msg(), f->root));
}

/* --- whole objects --- */

static void store_put_get__round_trip_any_size(void **state)
{
	struct fixture *f = *state;
	static const size_t sizes[] = {0, 1, 4096, 256 * 1024, 256 * 1024 + 1, 700001};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		uint8_t *p = xmalloc(n + 1);
		for (size_t j = 0; j < n; j++)
			p[j] = (uint8_t)(j * 31 + i);
		assert_int_equal(store_put(f->st, "ns/n/blob", p, n), 0);
		uint64_t size = 99;
		assert_int_equal(store_stat(f->st, "ns/n/blob", &size), 0);
		assert_int_equal(size, n);
		struct buf b;
		buf_init(&b, 1 << 20);
		assert_int_equal(store_get(f->st, "ns/n/blob", &b), 0);
		assert_int_equal(b.len, n);
		if (n)
			assert_memory_equal(b.ptr, p, n);
		buf_dispose(&b);
		free(p);
	}
	/* put replaces. */
	put_text(f->st, "ns/n/blob", "short");
	char *v = get_text(f->st, "ns/n/blob");
	assert_string_equal(v, "short");
	free(v);
}

/* Pages of path in the page cache. */
static size_t resident_pages(const char *path, size_t len)
{
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	assert_true(m != MAP_FAILED);
	size_t page = (size_t)sysconf(_SC_PAGESIZE), n = (len + page - 1) / page, in = 0;
	unsigned char *vec = xmalloc(n);
	assert_int_equal(mincore(m, len, vec), 0);
	for (size_t i = 0; i < n; i++)
		in += vec[i] & 1;
	free(vec);
	munmap(m, len);
	close(fd);
	return in;
}

/* 72 MiB streamed in uneven writes: stored byte for byte, and written back
 * and dropped from the page cache on the way (a window of two 8 MiB ranges
 * stays), except on tmpfs, which is the page cache. */
static void store_writer__streams_through_a_bounded_page_cache_window(void **state)
{
	struct fixture *f = *state;
	const size_t total = 72u << 20;
	struct stage *w = NULL;
	assert_int_equal(store_writer(f->st, "ns/n/big", &w), 0);
	struct stage *h = stage_hash_new(w);
	uint8_t *chunk = xmalloc(300001);
	for (size_t at = 0, k; at < total; at += k) {
		k = total - at < 300001 ? total - at : 300001 - (at % 7);
		for (size_t i = 0; i < k; i++)
			chunk[i] = (uint8_t)((at + i) * 2654435761u >> 13);
		assert_int_equal(stage_write(h, chunk, k), 0);
	}
	free(chunk);
	assert_int_equal(stage_finish(h), 0);
	char wrote[65], got[65];
	stage_hash_hex(h, wrote);
	stage_free_chain(h);
	struct stage *r = stage_hash_new(NULL);
	assert_int_equal(store_read(f->st, "ns/n/big", r), 0);
	assert_int_equal(stage_hash_end(r), 0);
	assert_int_equal(stage_hash_size(r), total);
	stage_hash_hex(r, got);
	stage_free_chain(r);
	assert_string_equal(got, wrote);

	struct statfs fs;
	assert_int_equal(statfs(f->root, &fs), 0);
	if (fs.f_type == 0x01021994 /* TMPFS_MAGIC */) {
		fprintf(stderr, "  (%s is tmpfs: the page cache check does not apply)\n", f->root);
		return;
	}
	/* Reading it back above went through the page cache too: drop that,
	 * write again, and look before anything reads it. */
	assert_int_equal(store_remove(f->st, "ns/n/big"), 0);
	assert_int_equal(store_writer(f->st, "ns/n/big", &w), 0);
	chunk = xcalloc(1, 1 << 20);
	for (size_t at = 0; at < total; at += 1 << 20)
		assert_int_equal(stage_write(w, chunk, 1 << 20), 0);
	free(chunk);
	assert_int_equal(stage_finish(w), 0);
	stage_free_chain(w);
	char *path = xasprintf("%s/ns/n/big", f->root);
	size_t in = resident_pages(path, total), page = (size_t)sysconf(_SC_PAGESIZE);
	free(path);
	if (in * page > (24u << 20))
		fail_msg("%zu KiB of the 72 MiB object are still in the page cache",
			 in * page / 1024);
}

static void store_get__larger_than_the_buffer_is_toobig(void **state)
{
	struct fixture *f = *state;
	put_text(f->st, "k", "0123456789");
	struct buf b;
	buf_init(&b, 9);
	assert_int_equal(store_get(f->st, "k", &b), E_TOOBIG);
	buf_dispose(&b);
}

static void store_get__missing_key_is_notfound(void **state)
{
	struct fixture *f = *state;
	struct buf b;
	buf_init(&b, 100);
	err_clear();
	assert_int_equal(store_get(f->st, "ns/n/manifest.json", &b), E_NOTFOUND);
	assert_non_null(strstr(err_msg(), "ns/n/manifest.json does not exist"));
	assert_int_equal(b.len, 0);
	buf_dispose(&b);
	uint64_t size = 7;
	assert_int_equal(store_stat(f->st, "ns/n/manifest.json", &size), E_NOTFOUND);
	assert_int_equal(size, 7);
}

/* --- listing --- */

struct listing {
	char keys[16][128];
	uint64_t sizes[16];
	size_t n;
	size_t stop_after; /* 0: never */
};

static int collect(const struct store_entry *e, void *ud)
{
	struct listing *l = ud;
	assert_true(l->n < 16);
	snprintf(l->keys[l->n], sizeof(l->keys[0]), "%s", e->key);
	l->sizes[l->n++] = e->size;
	return l->stop_after && l->n == l->stop_after ? 42 : 0;
}

static int has_key(const struct listing *l, const char *key, uint64_t size)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->keys[i], key) == 0)
			return l->sizes[i] == size;
	return 0;
}

static void store_list__walks_the_prefix_folder(void **state)
{
	struct fixture *f = *state;
	put_text(f->st, "a/x/manifest.json", "12345");
	put_text(f->st, "a/y/db.dump", "1");
	put_text(f->st, "b/z/manifest.json", "");

	struct listing l = {.n = 0};
	assert_int_equal(store_list(f->st, "", collect, &l), 0);
	assert_int_equal(l.n, 3);
	assert_true(has_key(&l, "a/x/manifest.json", 5));
	assert_true(has_key(&l, "a/y/db.dump", 1));
	assert_true(has_key(&l, "b/z/manifest.json", 0));

	memset(&l, 0, sizeof(l));
	assert_int_equal(store_list(f->st, "a/", collect, &l), 0);
	assert_int_equal(l.n, 2);
	assert_true(has_key(&l, "a/x/manifest.json", 5));
	assert_true(has_key(&l, "a/y/db.dump", 1));

	memset(&l, 0, sizeof(l));
	assert_int_equal(store_list(f->st, NULL, collect, &l), 0);
	assert_int_equal(l.n, 3);

	/* A prefix with no folder lists nothing, without error. */
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_list(f->st, "nope/", collect, &l), 0);
	assert_int_equal(l.n, 0);
}

static void store_list__stops_when_the_callback_says_so(void **state)
{
	struct fixture *f = *state;
	put_text(f->st, "a/1", "x");
	put_text(f->st, "a/2", "x");
	put_text(f->st, "b/3", "x");
	struct listing l = {.n = 0, .stop_after = 1};
	assert_int_equal(store_list(f->st, "", collect, &l), 42);
	assert_int_equal(l.n, 1);
}

/* --- removing --- */

static void store_remove__prunes_empty_folders_but_never_the_root(void **state)
{
	struct fixture *f = *state;
	put_text(f->st, "ns/a/manifest.json", "x");
	put_text(f->st, "ns/b/manifest.json", "x");
	put_text(f->st, "top", "x");

	assert_int_equal(store_remove(f->st, "ns/a/manifest.json"), 0);
	assert_false(exists(f, "ns/a/manifest.json"));
	assert_false(exists(f, "ns/a"));
	assert_true(exists(f, "ns/b/manifest.json"));

	assert_int_equal(store_remove(f->st, "ns/b/manifest.json"), 0);
	assert_false(exists(f, "ns/b"));
	assert_false(exists(f, "ns"));
	assert_true(exists(f, "top"));

	assert_int_equal(store_remove(f->st, "top"), 0);
	assert_false(exists(f, "top"));
	struct stat sb;
	assert_int_equal(stat(f->root, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));

	/* Objects in nested folders, then the root is left empty but present. */
	put_text(f->st, "x/y/z/deep", "x");
	assert_int_equal(store_remove(f->st, "x/y/z/deep"), 0);
	assert_false(exists(f, "x"));
	assert_int_equal(stat(f->root, &sb), 0);
}

static void store_remove__missing_object_is_not_an_error(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(store_remove(f->st, "ns/n/manifest.json"), 0);
	assert_int_equal(store_remove(f->st, "top"), 0);
	struct stat sb;
	assert_int_equal(stat(f->root, &sb), 0);
}

static void store_remove__keeps_folders_that_still_hold_something(void **state)
{
	struct fixture *f = *state;
	put_text(f->st, "ns/n/manifest.json", "x");
	put_text(f->st, "ns/n/db.dump", "x");
	assert_int_equal(store_remove(f->st, "ns/n/manifest.json"), 0);
	assert_true(exists(f, "ns/n/db.dump"));
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(store_open__rejects_bad_urls),
	    T(store_open__missing_root_is_a_store_error),
	    T(store_open__root_that_is_a_file_is_a_store_error),
	    T(store_open__trims_trailing_slashes_for_display),
	    cmocka_unit_test(store_free__accepts_null),
	    T(store_writer__object_is_invisible_until_finish),
	    T(store_writer__freeing_unfinished_writer_removes_partial),
	    T(store_create__of_concurrent_writers_exactly_one_succeeds),
	    T(store_create__never_replaces_an_existing_object),
	    T(store_put_new__identical_bytes_are_this_puts_own),
	    T(store_writer__a_planted_symlink_is_never_followed),
	    T(store_writer__removes_temporary_files_of_dead_writers_only),
	    T(store_writer__fails_when_a_folder_is_a_file),
	    T(store_put_get__round_trip_any_size),
	    T(store_writer__streams_through_a_bounded_page_cache_window),
	    T(store_get__larger_than_the_buffer_is_toobig),
	    T(store_get__missing_key_is_notfound),
	    T(store_list__walks_the_prefix_folder),
	    T(store_list__stops_when_the_callback_says_so),
	    T(store_remove__prunes_empty_folders_but_never_the_root),
	    T(store_remove__missing_object_is_not_an_error),
	    T(store_remove__keeps_folders_that_still_hold_something),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
