/* Tests for job/pipeline/tar.c (headers, pax, the streaming reader, name rules) and
 * job/pipeline/files.c (archiving a real folder, extracting it, tar-slip refusal,
 * the atomic swap). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "job/pipeline/files.h"
#include "job/pipeline/stage.h"
#include "job/pipeline/tar.h"

/* --- a recorder of what the reader reports --- */

#define REC_MAX 32

struct rec_entry {
	char path[TAR_PATH_MAX + 1];
	char link[TAR_PATH_MAX + 1];
	enum tar_type type;
	unsigned mode;
	int64_t mtime;
	uint64_t size;
	struct buf data;
	int ended;
};

struct recorder {
	struct rec_entry e[REC_MAX];
	size_t n;
};

static int rec_entry(void *ud, const struct tar_entry *e)
{
	struct recorder *r = ud;
	assert_true(r->n < REC_MAX);
	struct rec_entry *x = &r->e[r->n++];
	snprintf(x->path, sizeof(x->path), "%s", e->path);
	snprintf(x->link, sizeof(x->link), "%s", e->linkpath ? e->linkpath : "");
	x->type = e->type;
	x->mode = e->mode;
	x->mtime = e->mtime;
	x->size = e->size;
	buf_init(&x->data, 1 << 20);
	return 0;
}

static int rec_data(void *ud, const uint8_t *p, size_t n)
{
	struct recorder *r = ud;
	return buf_add(&r->e[r->n - 1].data, p, n);
}

static int rec_end(void *ud, const struct tar_entry *e)
{
	struct recorder *r = ud;
	assert_string_equal(r->e[r->n - 1].path, e->path);
	r->e[r->n - 1].ended = 1;
	return 0;
}

static const struct tar_reader_ops rec_ops = {rec_entry, rec_data, rec_end};

static void rec_dispose(struct recorder *r)
{
	for (size_t i = 0; i < r->n; i++)
		buf_dispose(&r->e[i].data);
	r->n = 0;
}

/* --- building archives in memory --- */

static void add_entry(struct buf *out, const struct tar_entry *e, const char *data)
{
	uint8_t hdr[TAR_HEADER_MAX];
	size_t n;
	static const uint8_t zero[TAR_BLOCK];
	assert_int_equal(tar_header_encode(hdr, &n, e), 0);
	assert_int_equal(n % TAR_BLOCK, 0);
	assert_int_equal(buf_add(out, hdr, n), 0);
	if (e->type == TAR_FILE && e->size) {
		assert_int_equal(buf_add(out, data, (size_t)e->size), 0);
		assert_int_equal(buf_add(out, zero, tar_padding(e->size)), 0);
	}
}

static void add_end(struct buf *out)
{
	static const uint8_t zero[TAR_END_BYTES];
	assert_int_equal(buf_add(out, zero, sizeof(zero)), 0);
}

/* Feeds p in slices of `slice` bytes (0: at once); returns the first error. */
static int feed(struct stage *s, const void *p, size_t n, size_t slice)
{
	const uint8_t *b = p;
	for (size_t off = 0; off < n;) {
		size_t k = slice && slice < n - off ? slice : n - off;
		int rc = stage_write(s, b + off, k);
		if (rc)
			return rc;
		off += k;
	}
	return stage_finish(s);
}

static char *repeat(const char *unit, size_t times)
{
	size_t u = strlen(unit);
	char *s = malloc(u * times + 1);
	for (size_t i = 0; i < times; i++)
		memcpy(s + i * u, unit, u);
	s[u * times] = '\0';
	return s;
}

static void reader__round_trips_odd_and_long_names_in_any_slicing(void **state)
{
	(void)state;
	char *long_name = repeat("abcdefghij", 30);	 /* 300 bytes, no '/' */
	char *split_name = repeat("dir-0123456789/", 9); /* 135 bytes: prefix + name */
	char *deep = repeat("d/", 1000);		 /* 2000 bytes */
	deep[strlen(deep) - 1] = 'f';
	char *long_target = repeat("../target/", 30);
	char *split_full = malloc(strlen(split_name) + 8);
	snprintf(split_full, strlen(split_name) + 8, "%sleaf", split_name);
	const struct tar_entry entries[] = {
	    {"plain.txt", TAR_FILE, 0644, 1700000000, 5, NULL, 1000, 1000},
	    {"with space and\nnewline", TAR_FILE, 0600, 1700000001, 3, NULL, 0, 0},
	    {"-leading-dash", TAR_FILE, 0755, 1, 0, NULL, 0, 0},
	    {"UTF-8 \xc3\xa9t\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x9a\xa3", TAR_FILE, 0644, 2, 1, NULL, 0,
	     0},
	    {"not-utf8-\xff\xfe", TAR_FILE, 0644, 3, 0, NULL, 0, 0},
	    {long_name, TAR_FILE, 0644, 4, 2, NULL, 0, 0},
	    {split_full, TAR_FILE, 0644, 5, 0, NULL, 0, 0},
	    {deep, TAR_FILE, 0644, 6, 0, NULL, 0, 0},
	    {"link", TAR_SYMLINK, 0777, 7, 0, "plain.txt", 0, 0},
	    {"long-link", TAR_SYMLINK, 0777, 8, 0, long_target, 0, 0},
	    {"abs-link", TAR_SYMLINK, 0777, 9, 0, "/etc/passwd", 0, 0},
	    {"empty dir", TAR_DIR, 0750, 10, 0, NULL, 0, 0},
	    {"old", TAR_FILE, 0644, -86400, 0, NULL, 0, 0},
	    {"big-ids", TAR_FILE, 01644, 11, 0, NULL, 4000000000ULL, 4000000001ULL},
	    {".", TAR_DIR, 0755, 12, 0, NULL, 0, 0},
	};
	const char *data[] = {"hello", "a\nb", "", "x", "", "zz", "", "",
			      "",      "",     "", "",	"", "",	  ""};
	size_t n = sizeof(entries) / sizeof(entries[0]);
	struct buf tar;
	buf_init(&tar, 1 << 20);
	for (size_t i = 0; i < n; i++)
		add_entry(&tar, &entries[i], data[i]);
	add_end(&tar);
	static const size_t slices[] = {0, 1, 7, 511, 512, 513, 4096};
	for (size_t s = 0; s < sizeof(slices) / sizeof(slices[0]); s++) {
		struct recorder r = {.n = 0};
		struct stage *rd = tar_reader_new(&rec_ops, &r);
		assert_int_equal(feed(rd, tar.ptr, tar.len, slices[s]), 0);
		assert_int_equal(tar_reader_count(rd), n - 1); /* "." is not counted */
		assert_int_equal(r.n, n);
		for (size_t i = 0; i < n; i++) {
			assert_string_equal(r.e[i].path, entries[i].path);
			assert_int_equal(r.e[i].type, entries[i].type);
			assert_int_equal(r.e[i].mode, entries[i].mode);
			assert_int_equal(r.e[i].mtime, entries[i].mtime);
			assert_int_equal(r.e[i].size, entries[i].size);
			assert_int_equal(r.e[i].data.len, strlen(data[i]));
			if (r.e[i].data.len)
				assert_memory_equal(r.e[i].data.ptr, data[i], r.e[i].data.len);
			if (entries[i].type == TAR_SYMLINK)
				assert_string_equal(r.e[i].link, entries[i].linkpath);
			assert_true(r.e[i].ended);
		}
		rec_dispose(&r);
		stage_free_chain(rd);
	}
	buf_dispose(&tar);
	free(long_name);
	free(split_name);
	free(split_full);
	free(deep);
	free(long_target);
}

static void encode__uses_plain_ustar_when_it_fits_and_pax_otherwise(void **state)
{
	(void)state;
	uint8_t hdr[TAR_HEADER_MAX];
	size_t n;
	struct tar_entry e = {"short/name.txt", TAR_FILE, 0644, 1700000000, 10, NULL, 0, 0};
	assert_int_equal(tar_header_encode(hdr, &n, &e), 0);
	assert_int_equal(n, TAR_BLOCK);
	assert_string_equal((char *)hdr, "short/name.txt");
	assert_memory_equal(hdr + 257,
			    "ustar\0"
			    "00",
			    8);
	assert_int_equal(hdr[156], '0');
	/* A directory gets its trailing slash. */
	e = (struct tar_entry){"a dir", TAR_DIR, 0755, 1, 0, NULL, 0, 0};
	assert_int_equal(tar_header_encode(hdr, &n, &e), 0);
	assert_int_equal(n, TAR_BLOCK);
	assert_string_equal((char *)hdr, "a dir/");
	assert_int_equal(hdr[156], '5');
	/* A newline, a long name, a big file: a pax header first. */
	e = (struct tar_entry){"new\nline", TAR_FILE, 0644, 1, 0, NULL, 0, 0};
	assert_int_equal(tar_header_encode(hdr, &n, &e), 0);
	assert_int_equal(n, 3 * TAR_BLOCK);
	assert_int_equal(hdr[156], 'x');
	assert_non_null(memmem(hdr + TAR_BLOCK, TAR_BLOCK, "path=new\nline\n", 14));
	e = (struct tar_entry){"huge", TAR_FILE, 0644, 1, 9000000000ULL, NULL, 0, 0};
	assert_int_equal(tar_header_encode(hdr, &n, &e), 0);
	assert_non_null(memmem(hdr + TAR_BLOCK, TAR_BLOCK, "size=9000000000\n", 16));
	/* Too long, or empty: refused. */
	char *too_long = repeat("x", TAR_PATH_MAX + 1);
	e = (struct tar_entry){too_long, TAR_FILE, 0644, 1, 0, NULL, 0, 0};
	assert_int_equal(tar_header_encode(hdr, &n, &e), E_INVALID);
	e = (struct tar_entry){"", TAR_FILE, 0644, 1, 0, NULL, 0, 0};
	assert_int_equal(tar_header_encode(hdr, &n, &e), E_INVALID);
	e = (struct tar_entry){"l", TAR_SYMLINK, 0777, 1, 0, "", 0, 0};
	assert_int_equal(tar_header_encode(hdr, &n, &e), E_INVALID);
	free(too_long);
}

static void check_path__refuses_tar_slip_names(void **state)
{
	(void)state;
	static const char *const good[] = {".", "a", "a/b", "-x", "a b", "..a", "a..", "a/.b", "é"};
	static const char *const bad[] = {"",	  "/etc/passwd", "..",	"../x",	 "a/../../x",
					  "a/..", "a//b",	 "./a", "a/./b", "/"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(tar_check_path(good[i]), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear();
		assert_int_equal(tar_check_path(bad[i]), E_INTEGRITY);
	}
	assert_int_equal(tar_check_path("../../etc/cron.d/x"), E_INTEGRITY);
	assert_non_null(strstr(err_msg(), "\"../../etc/cron.d/x\""));
	assert_non_null(strstr(err_msg(), "tar-slip"));
	assert_int_equal(tar_check_path("/abs"), E_INTEGRITY);
	assert_non_null(strstr(err_msg(), "absolute"));
}

static void quote__escapes_control_characters_and_cuts_long_text(void **state)
{
	(void)state;
	char q[64];
	tar_quote(q, sizeof(q), "a\nb\t\"c\"\x01");
	assert_string_equal(q, "\"a\\nb\\t\\\"c\\\"\\x01\"");
	char *l = repeat("y", 200);
	tar_quote(q, sizeof(q), l);
	assert_true(strlen(q) < sizeof(q));
	assert_non_null(strstr(q, "...\""));
	free(l);
}

/* Builds a one-entry archive and returns what reading it gives. */
static int read_one(const struct tar_entry *e, const char *data)
{
	struct buf tar;
	buf_init(&tar, 1 << 16);
	add_entry(&tar, e, data);
	add_end(&tar);
	struct recorder r = {.n = 0};
	struct stage *rd = tar_reader_new(&rec_ops, &r);
	int rc = feed(rd, tar.ptr, tar.len, 0);
	rec_dispose(&r);
	stage_free_chain(rd);
	buf_dispose(&tar);
	return rc;
}

static void reader__refuses_escaping_names(void **state)
{
	(void)state;
	static const char *const names[] = {"../escape", "/etc/evil", "a/../../b", "ok/../.."};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct tar_entry e = {names[i], TAR_FILE, 0644, 1, 1, NULL, 0, 0};
		err_clear();
		assert_int_equal(read_one(&e, "x"), E_INTEGRITY);
		assert_non_null(strstr(err_msg(), "tar-slip"));
	}
}

/* Raw header editing for the corruption cases. */
static void fix_checksum(uint8_t *h)
{
	unsigned sum = 0;
	memset(h + 148, ' ', 8);
	for (int i = 0; i < TAR_BLOCK; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
}

static int read_raw(const uint8_t *p, size_t n)
{
	struct stage *rd = tar_reader_new(NULL, NULL);
	int rc = feed(rd, p, n, 100);
	stage_free_chain(rd);
	return rc;
}

static void reader__refuses_corrupt_truncated_and_foreign_archives(void **state)
{
	(void)state;
	struct buf tar;
	buf_init(&tar, 1 << 16);
	struct tar_entry e = {"file", TAR_FILE, 0644, 1, 600, NULL, 0, 0};
	char data[600];
	memset(data, 'd', sizeof(data));
	add_entry(&tar, &e, data);
	add_end(&tar);
	uint8_t *copy = malloc(tar.len);

	/* Intact: fine. */
	assert_int_equal(read_raw((uint8_t *)tar.ptr, tar.len), 0);
	/* A flipped header byte: checksum mismatch. */
	memcpy(copy, tar.ptr, tar.len);
	copy[3] ^= 1;
	err_clear();
	assert_int_equal(read_raw(copy, tar.len), E_INTEGRITY);
	assert_non_null(strstr(err_msg(), "checksum"));
	/* Truncated: in the data, at the end marker, before the second zero block. */
	static const size_t cuts[] = {700, 1536, 1536 + 512};
	for (size_t i = 0; i < 3; i++) {
		err_clear();
		assert_int_equal(read_raw((uint8_t *)tar.ptr, cuts[i]), E_INTEGRITY);
		assert_non_null(strstr(err_msg(), "truncated"));
	}
	/* Garbage after the end marker. */
	memcpy(copy, tar.ptr, tar.len);
	struct buf more;
	buf_init(&more, 1 << 16);
	assert_int_equal(buf_add(&more, tar.ptr, tar.len), 0);
	assert_int_equal(buf_add(&more, "junk", 4), 0);
	err_clear();
	assert_int_equal(read_raw((uint8_t *)more.ptr, more.len), E_INTEGRITY);
	assert_non_null(strstr(err_msg(), "after the end-of-archive"));
	buf_dispose(&more);
	/* Hard links, devices, fifos: refused, naming the kind. */
	static const struct {
		char type;
		const char *word;
	} foreign[] = {{'1', "hard link"},
		       {'3', "character device"},
		       {'4', "block device"},
		       {'6', "fifo"},
		       {'7', "unknown"}};
	for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++) {
		memcpy(copy, tar.ptr, tar.len);
		copy[156] = (uint8_t)foreign[i].type;
		fix_checksum(copy);
		err_clear();
		assert_int_equal(read_raw(copy, tar.len), E_UNSUPPORTED);
		assert_non_null(strstr(err_msg(), foreign[i].word));
		assert_non_null(strstr(err_msg(), "\"file\""));
	}
	/* Not ustar at all. */
	memcpy(copy, tar.ptr, tar.len);
	memcpy(copy + 257, "xxxxx", 5);
	fix_checksum(copy);
	assert_int_equal(read_raw(copy, tar.len), E_INTEGRITY);
	/* A non-octal size. */
	memcpy(copy, tar.ptr, tar.len);
	copy[124] = '9';
	fix_checksum(copy);
	assert_int_equal(read_raw(copy, tar.len), E_INTEGRITY);
	/* A directory carrying data. */
	memcpy(copy, tar.ptr, tar.len);
	copy[156] = '5';
	fix_checksum(copy);
	assert_int_equal(read_raw(copy, tar.len), E_INTEGRITY);
	free(copy);
	buf_dispose(&tar);
}

static void reader__refuses_malformed_pax_headers(void **state)
{
	(void)state;
	struct buf tar;
	buf_init(&tar, 1 << 16);
	struct tar_entry e = {"p\n", TAR_FILE, 0644, 1, 0, NULL, 0, 0};
	add_entry(&tar, &e, "");
	add_end(&tar);
	uint8_t *copy = malloc(tar.len);
	assert_int_equal(read_raw((uint8_t *)tar.ptr, tar.len), 0);
	/* The record's length no longer matches: "11 path=p\n\n" -> "19 ...". */
	memcpy(copy, tar.ptr, tar.len);
	assert_memory_equal(copy + TAR_BLOCK, "11 path=p\n\n", 11);
	copy[TAR_BLOCK + 1] = '9';
	assert_int_equal(read_raw(copy, tar.len), E_INTEGRITY);
	/* No '='. */
	memcpy(copy, tar.ptr, tar.len);
	copy[TAR_BLOCK + 7] = ':';
	assert_int_equal(read_raw(copy, tar.len), E_INTEGRITY);
	/* A pax header larger than lifeboat reads. */
	memcpy(copy, tar.ptr, tar.len);
	snprintf((char *)copy + 124, 12, "%011o", 1u << 20);
	fix_checksum(copy);
	assert_int_equal(read_raw(copy, tar.len), E_TOOBIG);
	/* A pax header followed by the end marker. */
	assert_int_equal(read_raw((uint8_t *)tar.ptr, 2 * TAR_BLOCK), E_INTEGRITY);
	free(copy);
	buf_dispose(&tar);
}

/* --- files.c on a real folder --- */

static char *tmpdir(const char *tag)
{
	char *p = malloc(256);
	snprintf(p, 256, "/tmp/lifeboat-test-tar-%s-XXXXXX", tag);
	assert_non_null(mkdtemp(p));
	return p;
}

static void write_file(const char *dir, const char *name, const char *text, mode_t mode)
{
	char path[8192];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
}

static void sub(char *out, size_t n, const char *dir, const char *name)
{
	snprintf(out, n, "%s/%s", dir, name);
}

__attribute__((format(printf, 1, 2))) static void run_cmd(const char *fmt, ...)
{
	char cmd[20000];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(cmd));
	assert_int_equal(system(cmd), 0);
}

/* A folder with odd names, a long path, symlinks, an empty dir, a fifo. */
static void make_tree(const char *d)
{
	char p[8192];
	write_file(d, "plain.txt", "hello\n", 0644);
	write_file(d, "with space", "s", 0600);
	write_file(d, "new\nline", "n", 0644);
	write_file(d, "-dash", "d", 0755);
	write_file(d, "\xc3\xa9t\xc3\xa9.txt", "utf8", 0644);
	sub(p, sizeof(p), d, "empty");
	assert_int_equal(mkdir(p, 0750), 0);
	sub(p, sizeof(p), d, "nested");
	assert_int_equal(mkdir(p, 0755), 0);
	char *deep = repeat("0123456789abcdef/", 12);
	deep[strlen(deep) - 1] = '\0';
	sub(p, sizeof(p), d, "nested");
	run_cmd("cd '%s' && mkdir -p '%s'", p, deep);
	char leaf[8192];
	snprintf(leaf, sizeof(leaf), "nested/%s/leaf file", deep);
	write_file(d, leaf, "deep", 0644);
	free(deep);
	sub(p, sizeof(p), d, "link-rel");
	assert_int_equal(symlink("plain.txt", p), 0);
	sub(p, sizeof(p), d, "link-out");
	assert_int_equal(symlink("/etc/hostname", p), 0);
	sub(p, sizeof(p), d, "link-dir");
	assert_int_equal(symlink("nested", p), 0);
	sub(p, sizeof(p), d, "dangling");
	assert_int_equal(symlink("does/not/exist", p), 0);
	sub(p, sizeof(p), d, "readonly");
	assert_int_equal(mkdir(p, 0755), 0);
	write_file(d, "readonly/inside", "ro", 0444);
	assert_int_equal(chmod(p, 0555), 0);
	sub(p, sizeof(p), d, "fifo");
	assert_int_equal(mkfifo(p, 0644), 0);
}

/* Archives src into an in-memory buffer. */
static void archive_to(struct buf *out, const char *src, uint64_t *count)
{
	struct stage *sink = stage_buf_new(out);
	assert_int_equal(files_archive(count, src, sink), 0);
	assert_int_equal(stage_finish(sink), 0);
	stage_free_chain(sink);
}

static int extract(const struct buf *tar, const char *dir, size_t slice, int commit)
{
	struct files_restore *fr = NULL;
	int rc = files_restore_new(&fr, dir);
	if (rc)
		return rc;
	struct stage *s = files_restore_sink(fr);
	rc = feed(s, tar->ptr, tar->len, slice);
	stage_free_chain(s);
	if (!rc && commit)
		rc = files_restore_commit(fr);
	files_restore_free(fr);
	return rc;
}

/* No sibling folders left beside dir. */
static void no_siblings_left(const char *parent)
{
	DIR *d = opendir(parent);
	assert_non_null(d);
	struct dirent *de;
	while ((de = readdir(d)))
		if (strstr(de->d_name, ".lifeboat-"))
			fail_msg("left behind: %s/%s", parent, de->d_name);
	closedir(d);
}

static void files__archive_then_extract_gives_the_same_tree(void **state)
{
	(void)state;
	char *src = tmpdir("src"), *parent = tmpdir("dst");
	char dst[512], p[8192];
	make_tree(src);
	struct buf tar;
	buf_init(&tar, 1 << 24);
	uint64_t count = 0;
	archive_to(&tar, src, &count);
	/* plain, space, newline, dash, utf8, empty, nested, 12 levels + leaf,
	 * four links, readonly + inside; the fifo is skipped. */
	assert_int_equal(count, 5 + 2 + 12 + 1 + 4 + 2);
	snprintf(dst, sizeof(dst), "%s/restored", parent);
	assert_int_equal(extract(&tar, dst, 777, 1), 0);
	no_siblings_left(parent);
	/* diff -r --no-dereference compares contents, symlink targets and types. */
	run_cmd("diff -r --no-dereference '%s' '%s' | grep -v '^Only in .*: fifo$' | "
		"{ ! grep .; }",
		src, dst);
	struct stat a, b;
	sub(p, sizeof(p), dst, "link-out");
	assert_int_equal(lstat(p, &b), 0);
	assert_true(S_ISLNK(b.st_mode));
	sub(p, sizeof(p), dst, "link-dir");
	assert_int_equal(lstat(p, &b), 0);
	assert_true(S_ISLNK(b.st_mode));
	/* Modes and mtimes of files, folders and the folder itself. */
	static const char *const names[] = {"plain.txt", "with space",	    "-dash", "empty",
					    "readonly",	 "readonly/inside", "."};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char q[8192];
		sub(p, sizeof(p), src, names[i]);
		sub(q, sizeof(q), dst, names[i]);
		assert_int_equal(lstat(p, &a), 0);
		assert_int_equal(lstat(q, &b), 0);
		assert_int_equal(a.st_mode & 07777, b.st_mode & 07777);
		assert_int_equal(a.st_mtim.tv_sec, b.st_mtim.tv_sec);
	}
	sub(p, sizeof(p), dst, "fifo");
	assert_int_equal(lstat(p, &b), -1);
	run_cmd("chmod -R u+w '%s' '%s'", src, parent);
	run_cmd("rm -rf '%s' '%s'", src, parent);
	buf_dispose(&tar);
	free(src);
	free(parent);
}

static void files__commit_replaces_an_existing_folder_and_failure_keeps_it(void **state)
{
	(void)state;
	char *src = tmpdir("src2"), *parent = tmpdir("dst2");
	char dst[512], p[8192];
	write_file(src, "new-file", "new", 0644);
	snprintf(dst, sizeof(dst), "%s/uploads", parent);
	assert_int_equal(mkdir(dst, 0755), 0);
	write_file(dst, "old-file", "old", 0644);
	struct buf tar;
	buf_init(&tar, 1 << 20);
	uint64_t count = 0;
	archive_to(&tar, src, &count);
	assert_int_equal(count, 1);

	/* Extracted but not committed (a later check failed): untouched. */
	assert_int_equal(extract(&tar, dst, 0, 0), 0);
	no_siblings_left(parent);
	sub(p, sizeof(p), dst, "old-file");
	assert_int_equal(access(p, F_OK), 0);
	/* A truncated stream: fails, untouched, nothing left behind. */
	struct buf cut = tar;
	cut.len -= TAR_BLOCK + 10;
	assert_int_equal(extract(&cut, dst, 0, 1), E_INTEGRITY);
	no_siblings_left(parent);
	assert_int_equal(access(p, F_OK), 0);
	/* Committed: swapped in, the old tree gone. */
	assert_int_equal(extract(&tar, dst, 0, 1), 0);
	no_siblings_left(parent);
	assert_int_equal(access(p, F_OK), -1);
	sub(p, sizeof(p), dst, "new-file");
	assert_int_equal(access(p, F_OK), 0);
	/* A file in the way, a missing parent, "/": refused before anything. */
	sub(p, sizeof(p), dst, "new-file");
	assert_int_equal(extract(&tar, p, 0, 1), E_INVALID);
	assert_int_equal(extract(&tar, "/nonexistent-lifeboat/x", 0, 1), E_INVALID);
	assert_int_equal(extract(&tar, "/", 0, 1), E_INVALID);
	run_cmd("rm -rf '%s' '%s'", src, parent);
	buf_dispose(&tar);
	free(src);
	free(parent);
}

static void files__refuses_writing_through_a_symlink(void **state)
{
	(void)state;
	char *parent = tmpdir("slip"), *outside = tmpdir("outside");
	char dst[512], p[8192];
	snprintf(dst, sizeof(dst), "%s/uploads", parent);
	assert_int_equal(mkdir(dst, 0755), 0);
	write_file(dst, "keep", "keep", 0644);
	/* "evil" -> outside, then "evil/pwned": the second must not land. */
	struct buf tar;
	buf_init(&tar, 1 << 16);
	struct tar_entry link = {"evil", TAR_SYMLINK, 0777, 1, 0, outside, 0, 0};
	struct tar_entry file = {"evil/pwned", TAR_FILE, 0644, 1, 4, NULL, 0, 0};
	add_entry(&tar, &link, "");
	add_entry(&tar, &file, "boom");
	add_end(&tar);
	err_clear();
	assert_int_equal(extract(&tar, dst, 0, 1), E_INTEGRITY);
	assert_non_null(strstr(err_msg(), "\"evil/pwned\""));
	assert_non_null(strstr(err_msg(), "symlink"));
	sub(p, sizeof(p), outside, "pwned");
	assert_int_equal(access(p, F_OK), -1);
	sub(p, sizeof(p), dst, "keep");
	assert_int_equal(access(p, F_OK), 0);
	no_siblings_left(parent);
	/* The same through a relative link to "..". */
	buf_reset(&tar);
	struct tar_entry up = {"up", TAR_SYMLINK, 0777, 1, 0, "..", 0, 0};
	struct tar_entry file2 = {"up/pwned", TAR_FILE, 0644, 1, 4, NULL, 0, 0};
	add_entry(&tar, &up, "");
	add_entry(&tar, &file2, "boom");
	add_end(&tar);
	assert_int_equal(extract(&tar, dst, 0, 1), E_INTEGRITY);
	sub(p, sizeof(p), parent, "pwned");
	assert_int_equal(access(p, F_OK), -1);
	/* A name given twice. */
	buf_reset(&tar);
	struct tar_entry twice = {"twice", TAR_FILE, 0644, 1, 0, NULL, 0, 0};
	add_entry(&tar, &twice, "");
	add_entry(&tar, &twice, "");
	add_end(&tar);
	err_clear();
	assert_int_equal(extract(&tar, dst, 0, 1), E_INTEGRITY);
	assert_non_null(strstr(err_msg(), "twice"));
	no_siblings_left(parent);
	run_cmd("rm -rf '%s' '%s'", parent, outside);
	buf_dispose(&tar);
	free(parent);
	free(outside);
}

static void files__check_source_wants_an_existing_folder(void **state)
{
	(void)state;
	assert_int_equal(files_check_source("/nonexistent-lifeboat"), E_INVALID);
	assert_non_null(strstr(err_msg(), "/nonexistent-lifeboat"));
	assert_int_equal(files_check_source("/etc/hostname"), E_INVALID);
	assert_non_null(strstr(err_msg(), "not a directory"));
	assert_int_equal(files_check_source(""), E_INVALID);
	assert_int_equal(files_check_source("/tmp"), 0);
}

int main(void)
{
	umask(022);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(reader__round_trips_odd_and_long_names_in_any_slicing),
	    cmocka_unit_test(encode__uses_plain_ustar_when_it_fits_and_pax_otherwise),
	    cmocka_unit_test(check_path__refuses_tar_slip_names),
	    cmocka_unit_test(quote__escapes_control_characters_and_cuts_long_text),
	    cmocka_unit_test(reader__refuses_escaping_names),
	    cmocka_unit_test(reader__refuses_corrupt_truncated_and_foreign_archives),
	    cmocka_unit_test(reader__refuses_malformed_pax_headers),
	    cmocka_unit_test(files__archive_then_extract_gives_the_same_tree),
	    cmocka_unit_test(files__commit_replaces_an_existing_folder_and_failure_keeps_it),
	    cmocka_unit_test(files__refuses_writing_through_a_symlink),
	    cmocka_unit_test(files__check_source_wants_an_existing_folder),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
