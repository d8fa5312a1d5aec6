/* Tests for job/pipeline/compress.c: the "algo[:level]" parser and the zstd and gzip
 * stages, compressing and decompressing with any input slicing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zstd.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/xmalloc.h"
#include "job/pipeline/compress.h"

#define BIG (64u << 20)

/* --- the parser --- */

static void compress_parse__accepts_algorithms_and_levels(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		enum compress_algo algo;
		int level;
	} ok[] = {
	    {"zstd", COMPRESS_ZSTD, 3},	    {"zstd:1", COMPRESS_ZSTD, 1},
	    {"zstd:19", COMPRESS_ZSTD, 19}, {"gzip", COMPRESS_GZIP, 6},
	    {"gzip:1", COMPRESS_GZIP, 1},   {"gzip:9", COMPRESS_GZIP, 9},
	    {"none", COMPRESS_NONE, 0},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct compress_spec s = {COMPRESS_NONE, -1, 0, 0, 0};
		if (compress_parse(&s, ok[i].text, "--compression") != 0)
			fail_msg("rejected \"%s\": %s", ok[i].text, err_msg());
		assert_int_equal(s.algo, ok[i].algo);
		assert_int_equal(s.level, ok[i].level);
		assert_false(s.adaptive);
	}
}

static void compress_parse__auto_and_its_bounds(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int lo, hi;
	} ok[] = {
	    {"zstd:auto", COMPRESS_AUTO_LO, COMPRESS_AUTO_HI},
	    {"zstd:auto:1-6", 1, 6},
	    {"zstd:auto:3-3", 3, 3},
	    {"zstd:auto:2-19", 2, 19},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct compress_spec s;
		if (compress_parse(&s, ok[i].text, "--compression") != 0)
			fail_msg("rejected \"%s\": %s", ok[i].text, err_msg());
		assert_int_equal(s.algo, COMPRESS_ZSTD);
		assert_true(s.adaptive);
		assert_int_equal(s.lo, ok[i].lo);
		assert_int_equal(s.hi, ok[i].hi);
		assert_int_equal(s.level, ok[i].lo);
	}
	static const char *const bad[] = {"zstd:auto:",	    "zstd:auto:6-1",  "zstd:auto:0-3",
					  "zstd:auto:1-20", "zstd:auto:3",    "zstd:auto:1-",
					  "zstd:autox",	    "zstd:auto:1-6x", "gzip:auto",
					  "none:auto",	    "zstd:AUTO"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct compress_spec s = {COMPRESS_GZIP, 42, 0, 0, 0};
		if (compress_parse(&s, bad[i], "spec.compression") != E_INVALID)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_non_null(strstr(err_msg(), "spec.compression"));
		assert_int_equal(s.level, 42);
	}
	assert_int_equal(
	    compress_parse(&(struct compress_spec){0}, "zstd:auto:6-1", "--compression"),
	    E_INVALID);
	assert_non_null(strstr(err_msg(), "LOW <= HIGH"));
}

static void compress_workers__from_the_usable_cpus(void **state)
{
	(void)state;
	struct compress_spec fixed = {COMPRESS_ZSTD, 3, 0, 0, 0};
	struct compress_spec adaptive = {COMPRESS_ZSTD, 1, 1, 1, 6};
	assert_int_equal(compress_workers(&fixed, 1), 0);
	assert_int_equal(compress_workers(&fixed, 2), 2);
	assert_int_equal(compress_workers(&fixed, 3), 3);
	assert_int_equal(compress_workers(&fixed, 64), COMPRESS_MAX_WORKERS);
	/* zstd:auto changes level between jobs: it needs a worker. */
	assert_int_equal(compress_workers(&adaptive, 1), 1);
	assert_int_equal(compress_workers(&adaptive, 2), 2);
}

static void compress_parse__rejects_others_naming_the_field(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "",
	    "zstd:",
	    "zstd:0",
	    "zstd:20",
	    "zstd:x",
	    "zstd:-1",
	    "zstd: 3",
	    "zstd:3 ",
	    "gzip:0",
	    "gzip:10",
	    "none:1",
	    "none:",
	    "lz4",
	    "ZSTD",
	    "zstd:3:4",
	    ":3",
	    "zst",
	    "zstdd",
	    "gzip:+5",
	    "zstd:99999999999999999999",
	    "averyveryverylongname:1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct compress_spec s = {COMPRESS_GZIP, 42, 0, 0, 0};
		err_clear();
		if (compress_parse(&s, bad[i], "spec.compression") != E_INVALID)
			fail_msg("accepted \"%s\"", bad[i]);
		if (!strstr(err_msg(), "spec.compression"))
			fail_msg("\"%s\": message does not name the field: %s", bad[i], err_msg());
		/* The output is set only on success. */
		assert_int_equal(s.algo, COMPRESS_GZIP);
		assert_int_equal(s.level, 42);
	}
}

static void compress_parse__level_error_gives_the_range(void **state)
{
	(void)state;
	struct compress_spec s;
	assert_int_equal(compress_parse(&s, "zstd:20", "--compression"), E_INVALID);
	assert_non_null(strstr(err_msg(), "from 1 to 19"));
	assert_int_equal(compress_parse(&s, "gzip:10", "--compression"), E_INVALID);
	assert_non_null(strstr(err_msg(), "from 1 to 9"));
}

static void compress_algo_from_name__knows_manifest_names(void **state)
{
	(void)state;
	static const enum compress_algo algos[] = {COMPRESS_NONE, COMPRESS_ZSTD, COMPRESS_GZIP};
	static const char *const suffixes[] = {"", ".zst", ".gz"};
	for (size_t i = 0; i < 3; i++) {
		enum compress_algo a;
		assert_int_equal(compress_algo_from_name(&a, compress_name(algos[i])), 0);
		assert_int_equal(a, algos[i]);
		assert_string_equal(compress_suffix(algos[i]), suffixes[i]);
	}
	static const char *const bad[] = {"", "lz4", "Zstd", "zstd:3", "gz", "bzip2"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum compress_algo a = COMPRESS_GZIP;
		assert_int_equal(compress_algo_from_name(&a, bad[i]), E_INVALID);
		assert_int_equal(a, COMPRESS_GZIP);
	}
}

/* --- the stages --- */

/* Half compressible text, half noise, so both kinds of blocks appear. */
static uint8_t *sample(size_t n, uint32_t seed)
{
	uint8_t *p = xmalloc(n ? n : 1);
	uint32_t x = seed | 1;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] =
		    (i / 4096) % 2 ? (uint8_t)x : (uint8_t)("INSERT INTO t VALUES (42);\n"[i % 27]);
	}
	return p;
}

/* Writes p through s in random slices of 1 to max_slice bytes. */
static int write_random(struct stage *s, const uint8_t *p, size_t n, size_t max_slice)
{
	for (size_t off = 0; off < n;) {
		size_t k = 1 + (size_t)rand() % max_slice;
		if (k > n - off)
			k = n - off;
		int rc = stage_write(s, p + off, k);
		if (rc)
			return rc;
		off += k;
	}
	return 0;
}

static void compress_all(struct buf *out, const struct compress_spec *spec, int workers,
			 const uint8_t *p, size_t n, size_t max_slice)
{
	struct stage *sink = stage_buf_new(out);
	struct stage *c = compress_new(spec, workers, sink);
	assert_non_null(c);
	assert_int_equal(write_random(c, p, n, max_slice), 0);
	assert_int_equal(stage_finish(c), 0);
	stage_free_chain(c);
}

/* Decompresses p into out; returns the first error of write or finish. */
static int decompress_all(struct buf *out, enum compress_algo algo, const uint8_t *p, size_t n,
			  size_t max_slice)
{
	struct stage *sink = stage_buf_new(out);
	struct stage *d = decompress_new(algo, sink);
	int rc = write_random(d, p, n, max_slice);
	if (!rc)
		rc = stage_finish(d);
	stage_free_chain(d);
	return rc;
}

static void round_trip(const struct compress_spec *spec, int workers)
{
	static const size_t sizes[] = {0, 1, 1000, 128 * 1024, 300000, 3 * 1024 * 1024 + 17};
	static const size_t slices[] = {1, 100, 70000, 1 << 20};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		size_t max_slice = slices[i % 4];
		/* One-byte slices over megabytes only make the test slow. */
		if (max_slice == 1 && n > 100000)
			max_slice = 7;
		uint8_t *p = sample(n, (uint32_t)i + 1);
		struct buf z, back;
		buf_init(&z, BIG);
		buf_init(&back, BIG);
		compress_all(&z, spec, workers, p, n, max_slice);
		assert_true(z.len > 0);
		int rc =
		    decompress_all(&back, spec->algo, (const uint8_t *)z.ptr, z.len, max_slice);
		if (rc)
			fail_msg("%s:%d workers %d size %zu: %s", compress_name(spec->algo),
				 spec->level, workers, n, err_msg());
		assert_int_equal(back.len, n);
		if (n)
			assert_memory_equal(back.ptr, p, n);
		buf_dispose(&z);
		buf_dispose(&back);
		free(p);
	}
}

static void zstd__round_trips_any_size_and_slicing(void **state)
{
	(void)state;
	srand(11);
	struct compress_spec s = {COMPRESS_ZSTD, 3, 0, 0, 0};
	round_trip(&s, 0);
	s.level = 1;
	round_trip(&s, 0);
}

/* A next stage that takes its time: the compressor waits on it too. */
struct slow_sink {
	struct stage base;
	struct buf *out;
};

static int slow_write(struct stage *s, const uint8_t *p, size_t n)
{
	struct slow_sink *k = (struct slow_sink *)s;
	struct timespec ts = {0, 2 * 1000 * 1000};
	nanosleep(&ts, NULL);
	return buf_add(k->out, p, n);
}

static int slow_finish(struct stage *s)
{
	(void)s;
	return 0;
}

static void slow_free(struct stage *s)
{
	free(s);
}

static void zstd_auto__climbs_while_it_waits_and_accounts_every_byte(void **state)
{
	(void)state;
	static const struct stage_ops ops = {"slow", slow_write, slow_finish, slow_free};
	struct compress_spec spec;
	assert_int_equal(compress_parse(&spec, "zstd:auto:1-4", "--compression"), 0);
	/* Text that repeats at a distance: higher levels find more of it. */
	size_t n = 6u << 20, off = 0;
	char *text = xmalloc(n);
	for (uint32_t i = 0; off < n; i++) {
		char line[64];
		int k = snprintf(line, sizeof(line), "%u,customer-%u,%s,%u\n", i, i % 5003,
				 i % 7 ? "paid" : "refunded", (i * 2654435761u) % 100000);
		size_t t = (size_t)k < n - off ? (size_t)k : n - off;
		memcpy(text + off, line, t);
		off += t;
	}
	struct buf z, back;
	buf_init(&z, (size_t)1 << 30);
	buf_init(&back, (size_t)1 << 30);
	struct slow_sink *sink = xcalloc(1, sizeof(*sink));
	sink->base.ops = &ops;
	sink->out = &z;
	struct stage *c = compress_new(&spec, 2, &sink->base);
	/* Windows of 20 ms and 256 KiB; the input comes slowly (a writer that
	 * sleeps), so the compressor waits for it. */
	compress_tune_window(c, 0.02, 256 * 1024);
	for (size_t at = 0; at < n; at += 64 * 1024) {
		struct timespec ts = {0, 2 * 1000 * 1000};
		nanosleep(&ts, NULL);
		assert_int_equal(stage_write(c, (const uint8_t *)text + at,
					     n - at < 64 * 1024 ? n - at : 64 * 1024),
				 0);
	}
	assert_int_equal(stage_finish(c), 0);
	struct compress_use use;
	assert_int_equal(compress_used(c, &spec, &use), 0);
	stage_free_chain(c);
	assert_true(use.adaptive);
	assert_int_equal(use.lo, 1);
	assert_int_equal(use.hi, 4);
	uint64_t total = 0;
	for (size_t i = 0; i < use.nlevels; i++) {
		total += use.levels[i].bytes;
		assert_in_range(use.levels[i].level, 1, 4);
		if (i)
			assert_true(use.levels[i].level > use.levels[i - 1].level);
	}
	assert_int_equal(total, n);
	if (use.nlevels < 2)
		fail_msg("the level never rose though the compressor waited (%zu level used)",
			 use.nlevels);
	assert_int_equal(
	    decompress_all(&back, COMPRESS_ZSTD, (const uint8_t *)z.ptr, z.len, 1 << 20), 0);
	assert_int_equal(back.len, n);
	assert_memory_equal(back.ptr, text, n);
	buf_dispose(&z);
	buf_dispose(&back);
	free(text);
}

static void compress_used__fixed_level_and_none(void **state)
{
	(void)state;
	struct compress_spec spec = {COMPRESS_ZSTD, 5, 0, 0, 0};
	struct buf z;
	buf_init(&z, BIG);
	struct stage *c = compress_new(&spec, 0, stage_buf_new(&z));
	assert_int_equal(stage_write(c, (const uint8_t *)"hello hello hello", 17), 0);
	assert_int_equal(stage_finish(c), 0);
	struct compress_use use;
	compress_used(c, &spec, &use);
	stage_free_chain(c);
	buf_dispose(&z);
	assert_int_equal(use.level, 5);
	assert_false(use.adaptive);
	assert_int_equal(use.nlevels, 1);
	assert_int_equal(use.levels[0].level, 5);
	assert_int_equal(use.levels[0].bytes, 17);
	struct compress_spec none = {COMPRESS_NONE, 0, 0, 0, 0};
	compress_used(NULL, &none, &use);
	assert_int_equal(use.algo, COMPRESS_NONE);
	assert_int_equal(use.nlevels, 0);
}

static void zstd__round_trips_with_workers(void **state)
{
	(void)state;
	srand(12);
	struct compress_spec s = {COMPRESS_ZSTD, 3, 0, 0, 0};
	round_trip(&s, 2);
}

/* Regression: when the call that ends a frame filled the 128 KiB output
 * buffer exactly, one more drain call replaced the "frame done" hint with the
 * next frame's, and finish reported valid data as truncated. */
static void zstd__output_ending_on_the_buffer_size_is_not_truncation(void **state)
{
	(void)state;
	static const size_t sizes[] = {128 * 1024, 256 * 1024, 1024 * 1024};
	struct compress_spec s = {COMPRESS_ZSTD, 3, 0, 0, 0};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint8_t *p = sample(sizes[i], 5);
		struct buf z, back;
		buf_init(&z, BIG);
		buf_init(&back, BIG);
		compress_all(&z, &s, 0, p, sizes[i], 1 << 20);
		if (decompress_all(&back, COMPRESS_ZSTD, (const uint8_t *)z.ptr, z.len, z.len))
			fail_msg("size %zu: %s", sizes[i], err_msg());
		assert_int_equal(back.len, sizes[i]);
		assert_memory_equal(back.ptr, p, sizes[i]);
		buf_dispose(&z);
		buf_dispose(&back);
		free(p);
	}
}

static void gzip__round_trips_any_size_and_slicing(void **state)
{
	(void)state;
	srand(13);
	struct compress_spec s = {COMPRESS_GZIP, 6, 0, 0, 0};
	round_trip(&s, 0);
	s.level = 1;
	round_trip(&s, 2);
}

static void none__adds_no_stage(void **state)
{
	(void)state;
	struct buf out;
	buf_init(&out, 100);
	struct stage *sink = stage_buf_new(&out);
	struct compress_spec s = {COMPRESS_NONE, 0, 0, 0, 0};
	assert_ptr_equal(compress_new(&s, 4, sink), sink);
	assert_ptr_equal(decompress_new(COMPRESS_NONE, sink), sink);
	stage_free_chain(sink);
	buf_dispose(&out);
}

/* A small compressed stream for the negative tests. */
static void small_stream(struct buf *z, enum compress_algo algo, uint8_t **plain, size_t *n)
{
	*n = 9000;
	*plain = sample(*n, 7);
	struct compress_spec s = {algo, algo == COMPRESS_ZSTD ? 3 : 6, 0, 0, 0};
	buf_init(z, BIG);
	compress_all(z, &s, 0, *plain, *n, 5000);
}

static void decompress__truncated_input_fails_at_finish(void **state)
{
	(void)state;
	static const enum compress_algo algos[] = {COMPRESS_ZSTD, COMPRESS_GZIP};
	for (size_t a = 0; a < 2; a++) {
		struct buf z;
		uint8_t *plain;
		size_t n;
		small_stream(&z, algos[a], &plain, &n);
		/* Every proper prefix, cut anywhere: header, blocks or trailer. */
		for (size_t cut = 1; cut < z.len; cut++) {
			struct buf back;
			buf_init(&back, BIG);
			struct stage *d = decompress_new(algos[a], stage_buf_new(&back));
			assert_int_equal(stage_write(d, (const uint8_t *)z.ptr, cut), 0);
			err_clear();
			if (stage_finish(d) != E_INTEGRITY)
				fail_msg("%s cut at %zu of %zu was accepted",
					 compress_name(algos[a]), cut, z.len);
			assert_non_null(strstr(err_msg(), "truncated"));
			stage_free_chain(d);
			buf_dispose(&back);
		}
		buf_dispose(&z);
		free(plain);
	}
}

static void decompress__corrupt_input_is_integrity_error(void **state)
{
	(void)state;
	static const enum compress_algo algos[] = {COMPRESS_ZSTD, COMPRESS_GZIP};
	for (size_t a = 0; a < 2; a++) {
		struct buf z;
		uint8_t *plain;
		size_t n;
		small_stream(&z, algos[a], &plain, &n);
		uint8_t *bad = xmalloc(z.len);
		/* Flip each byte after the frame/member header (whose window size,
		 * mtime and OS fields may change without harm). */
		size_t undetected = 0;
		for (size_t pos = 18; pos < z.len; pos++) {
			memcpy(bad, z.ptr, z.len);
			bad[pos] ^= 0x5a;
			struct buf back;
			buf_init(&back, BIG);
			int rc = decompress_all(&back, algos[a], bad, z.len, 1000);
			if (rc == 0 && back.len == n && memcmp(back.ptr, plain, n) == 0)
				undetected++; /* a flip in padding that changes nothing */
			else if (rc != E_INTEGRITY)
				fail_msg("%s flip at %zu: rc %d (%s)", compress_name(algos[a]), pos,
					 rc, err_msg());
			buf_dispose(&back);
		}
		assert_true(undetected < 4);
		free(bad);
		buf_dispose(&z);
		free(plain);
	}
}

static void decompress__garbage_and_wrong_format_are_integrity_errors(void **state)
{
	(void)state;
	static const enum compress_algo algos[] = {COMPRESS_ZSTD, COMPRESS_GZIP};
	for (size_t a = 0; a < 2; a++) {
		struct buf back;
		buf_init(&back, BIG);
		const char *junk = "this is not compressed data at all";
		assert_int_equal(
		    decompress_all(&back, algos[a], (const uint8_t *)junk, strlen(junk), 5),
		    E_INTEGRITY);
		assert_non_null(strstr(err_msg(), "corrupt"));
		buf_dispose(&back);

		/* The other algorithm's output. */
		struct buf z;
		uint8_t *plain;
		size_t n;
		small_stream(&z, algos[1 - a], &plain, &n);
		buf_init(&back, BIG);
		assert_int_equal(
		    decompress_all(&back, algos[a], (const uint8_t *)z.ptr, z.len, 100),
		    E_INTEGRITY);
		buf_dispose(&back);
		buf_dispose(&z);
		free(plain);
	}
}

static void decompress__trailing_garbage_after_the_stream_fails(void **state)
{
	(void)state;
	static const enum compress_algo algos[] = {COMPRESS_ZSTD, COMPRESS_GZIP};
	for (size_t a = 0; a < 2; a++) {
		struct buf z, back;
		uint8_t *plain;
		size_t n;
		small_stream(&z, algos[a], &plain, &n);
		assert_int_equal(buf_adds(&z, "JUNKJUNKJUNK"), 0);
		buf_init(&back, BIG);
		assert_int_equal(
		    decompress_all(&back, algos[a], (const uint8_t *)z.ptr, z.len, 3000),
		    E_INTEGRITY);
		buf_dispose(&back);
		buf_dispose(&z);
		free(plain);
	}
}

static void decompress__empty_input_is_truncated(void **state)
{
	(void)state;
	static const enum compress_algo algos[] = {COMPRESS_ZSTD, COMPRESS_GZIP};
	for (size_t a = 0; a < 2; a++) {
		struct buf back;
		buf_init(&back, 100);
		struct stage *d = decompress_new(algos[a], stage_buf_new(&back));
		err_clear();
		assert_int_equal(stage_finish(d), E_INTEGRITY);
		assert_non_null(strstr(err_msg(), "truncated"));
		stage_free_chain(d);
		buf_dispose(&back);
	}
}

static void gzip__concatenated_members_decode_as_one(void **state)
{
	(void)state;
	struct compress_spec s = {COMPRESS_GZIP, 6, 0, 0, 0};
	struct buf z, back;
	buf_init(&z, BIG);
	compress_all(&z, &s, 0, (const uint8_t *)"hello ", 6, 6);
	size_t first = z.len;
	compress_all(&z, &s, 0, (const uint8_t *)"gzip ", 5, 5);
	compress_all(&z, &s, 0, (const uint8_t *)"world", 5, 5);
	/* Whole, byte by byte, and split exactly at the member boundary. */
	static const size_t slices[] = {1 << 20, 1};
	for (size_t i = 0; i < 2; i++) {
		buf_init(&back, 100);
		assert_int_equal(
		    decompress_all(&back, COMPRESS_GZIP, (const uint8_t *)z.ptr, z.len, slices[i]),
		    0);
		assert_string_equal(buf_str(&back), "hello gzip world");
		buf_dispose(&back);
	}
	buf_init(&back, 100);
	struct stage *d = decompress_new(COMPRESS_GZIP, stage_buf_new(&back));
	assert_int_equal(stage_write(d, (const uint8_t *)z.ptr, first), 0);
	assert_int_equal(stage_write(d, (const uint8_t *)z.ptr + first, z.len - first), 0);
	assert_int_equal(stage_finish(d), 0);
	assert_string_equal(buf_str(&back), "hello gzip world");
	stage_free_chain(d);
	buf_dispose(&back);

	/* A second member cut short is still truncation. */
	buf_init(&back, 100);
	assert_int_equal(decompress_all(&back, COMPRESS_GZIP, (const uint8_t *)z.ptr, z.len - 3, 7),
			 E_INTEGRITY);
	buf_dispose(&back);
	buf_dispose(&z);
}

static void zstd__refuses_frames_needing_a_huge_window(void **state)
{
	(void)state;
	/* A frame that declares a 1 GiB window (no content size): the decoder
	 * must not allocate it for an untrusted object. */
	ZSTD_CCtx *cctx = ZSTD_createCCtx();
	assert_non_null(cctx);
	assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, 30)));
	uint8_t out[256];
	ZSTD_outBuffer ob = {out, sizeof(out), 0};
	ZSTD_inBuffer ib = {"abc", 3, 0};
	/* Streamed, so the frame carries no content size to shrink the window. */
	assert_false(ZSTD_isError(ZSTD_compressStream2(cctx, &ob, &ib, ZSTD_e_continue)));
	ZSTD_inBuffer none = {NULL, 0, 0};
	assert_int_equal(ZSTD_compressStream2(cctx, &ob, &none, ZSTD_e_end), 0);
	ZSTD_freeCCtx(cctx);

	struct buf back;
	buf_init(&back, 100);
	err_clear();
	assert_int_equal(decompress_all(&back, COMPRESS_ZSTD, out, ob.pos, 1000), E_INTEGRITY);
	assert_non_null(strstr(err_msg(), "zstd"));
	buf_dispose(&back);
}

static void compress__reports_errors_of_next_stage(void **state)
{
	(void)state;
	static const struct compress_spec specs[] = {{COMPRESS_ZSTD, 1, 0, 0, 0},
						     {COMPRESS_GZIP, 1, 0, 0, 0}};
	for (size_t i = 0; i < 2; i++) {
		struct buf out;
		buf_init(&out, 16);
		struct stage *c = compress_new(&specs[i], 0, stage_buf_new(&out));
		size_t n = 1 << 20;
		uint8_t *p = sample(n, 3);
		int rc = stage_write(c, p, n);
		if (!rc)
			rc = stage_finish(c);
		assert_int_equal(rc, E_TOOBIG);
		stage_free_chain(c);
		buf_dispose(&out);
		free(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(compress_parse__accepts_algorithms_and_levels),
	    cmocka_unit_test(compress_parse__rejects_others_naming_the_field),
	    cmocka_unit_test(compress_parse__level_error_gives_the_range),
	    cmocka_unit_test(compress_parse__auto_and_its_bounds),
	    cmocka_unit_test(compress_workers__from_the_usable_cpus),
	    cmocka_unit_test(zstd_auto__climbs_while_it_waits_and_accounts_every_byte),
	    cmocka_unit_test(compress_used__fixed_level_and_none),
	    cmocka_unit_test(compress_algo_from_name__knows_manifest_names),
	    cmocka_unit_test(zstd__round_trips_any_size_and_slicing),
	    cmocka_unit_test(zstd__round_trips_with_workers),
	    cmocka_unit_test(zstd__output_ending_on_the_buffer_size_is_not_truncation),
	    cmocka_unit_test(gzip__round_trips_any_size_and_slicing),
	    cmocka_unit_test(none__adds_no_stage),
	    cmocka_unit_test(decompress__truncated_input_fails_at_finish),
	    cmocka_unit_test(decompress__corrupt_input_is_integrity_error),
	    cmocka_unit_test(decompress__garbage_and_wrong_format_are_integrity_errors),
	    cmocka_unit_test(decompress__trailing_garbage_after_the_stream_fails),
	    cmocka_unit_test(decompress__empty_input_is_truncated),
	    cmocka_unit_test(gzip__concatenated_members_decode_as_one),
	    cmocka_unit_test(zstd__refuses_frames_needing_a_huge_window),
	    cmocka_unit_test(compress__reports_errors_of_next_stage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
