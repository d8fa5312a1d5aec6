/* zstd and gzip streaming stages; fixed buffers, any input slicing. */
#include "job/pipeline/compress.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zlib.h>
#include <zstd.h>

#include "common/err.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "job/pipeline/zadapt.h"

#define OUT_CHUNK (128 * 1024)

/* --- zstd --- */

struct zstd_stage {
	struct stage base;
	ZSTD_CCtx *cctx;
	ZSTD_DCtx *dctx;
	size_t last; /* decompress: last ZSTD_decompressStream hint; 0 = frame done */
	int seen_input;
	/* compress: the level used, or chosen window by window (zstd:auto) */
	int level, adaptive;
	struct zadapt adapt;
	struct zadapt_window win;
	double win_start, win_s;
	uint64_t win_bytes;
	uint64_t in_total;
	uint8_t out[OUT_CHUNK];
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int zstd_c_emit(struct zstd_stage *z, size_t n)
{
	if (!z->adaptive)
		return stage_write(z->base.next, z->out, n);
	double t = now_s();
	int r = stage_write(z->base.next, z->out, n);
	z->win.down += now_s() - t;
	z->win.out += n;
	return r;
}

/* zstd:auto: closes a window that is long enough and applies the level the
 * controller picks to the jobs that follow (libzstd allows that mid-frame
 * with workers). */
static void zstd_c_window(struct zstd_stage *z, double t)
{
	z->win.wall = t - z->win_start;
	if (z->win.wall < z->win_s || z->win.in < z->win_bytes)
		return;
	int before = z->adapt.level;
	int level = zadapt_next(&z->adapt, &z->win);
	if (level != before) {
		if (ZSTD_isError(ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_compressionLevel, level))) {
			z->adapt.level = before;
			z->adaptive = 0; /* keeps the level it has */
			log_warn("zstd:auto: libzstd refused a level change; staying at level %d",
				 before);
		} else
			log_debug("zstd:auto: level %d -> %d (busy %.0f%%, %.1f MB/s in)", before,
				  level, 100 * z->win.busy / z->win.wall,
				  (double)z->win.in / z->win.wall / 1e6);
	}
	memset(&z->win, 0, sizeof(z->win));
	z->win_start = t;
}

static int zstd_c_write(struct stage *s, const uint8_t *p, size_t n)
{
	struct zstd_stage *z = (struct zstd_stage *)s;
	ZSTD_inBuffer in = {p, n, 0};
	double t0 = z->adaptive ? now_s() : 0, down0 = z->win.down;
	z->in_total += n;
	while (in.pos < in.size) {
		ZSTD_outBuffer out = {z->out, sizeof(z->out), 0};
		size_t rc = ZSTD_compressStream2(z->cctx, &out, &in, ZSTD_e_continue);
		if (ZSTD_isError(rc))
			return err_set(E_IO, "zstd compression failed: %s", ZSTD_getErrorName(rc));
		int r = zstd_c_emit(z, out.pos);
		if (r)
			return r;
	}
	if (z->adaptive) {
		double t = now_s();
		z->win.in += n;
		z->win.busy += (t - t0) - (z->win.down - down0);
		zstd_c_window(z, t);
	}
	return 0;
}

static int zstd_c_finish(struct stage *s)
{
	struct zstd_stage *z = (struct zstd_stage *)s;
	size_t rc;
	do {
		ZSTD_inBuffer in = {NULL, 0, 0};
		ZSTD_outBuffer out = {z->out, sizeof(z->out), 0};
		rc = ZSTD_compressStream2(z->cctx, &out, &in, ZSTD_e_end);
		if (ZSTD_isError(rc))
			return err_set(E_IO, "zstd compression failed: %s", ZSTD_getErrorName(rc));
		int r = zstd_c_emit(z, out.pos);
		if (r)
			return r;
	} while (rc != 0);
	return stage_finish_next(s);
}

static int zstd_d_write(struct stage *s, const uint8_t *p, size_t n)
{
	struct zstd_stage *z = (struct zstd_stage *)s;
	ZSTD_inBuffer in = {p, n, 0};
	z->seen_input = 1;
	/* Loop until the input is used up and the decoder has nothing left to
	 * flush (a full output buffer may mean more is pending). */
	for (;;) {
		ZSTD_outBuffer out = {z->out, sizeof(z->out), 0};
		size_t rc = ZSTD_decompressStream(z->dctx, &out, &in);
		if (ZSTD_isError(rc))
			return err_set(E_INTEGRITY,
				       "zstd data is corrupt (%s): the backup object is damaged; "
				       "restore another backup",
				       ZSTD_getErrorName(rc));
		z->last = rc;
		int r = stage_write(s->next, z->out, out.pos);
		if (r)
			return r;
		/* rc == 0: the frame is decoded and flushed; calling again would
		 * overwrite last with the next frame's header hint. */
		if (in.pos == in.size && (out.pos < out.size || rc == 0))
			return 0;
	}
}

static int zstd_d_finish(struct stage *s)
{
	struct zstd_stage *z = (struct zstd_stage *)s;
	if (!z->seen_input || z->last != 0)
		return err_set(E_INTEGRITY, "zstd stream is truncated: the backup object is "
					    "incomplete; restore another backup");
	return stage_finish_next(s);
}

static void zstd_free(struct stage *s)
{
	struct zstd_stage *z = (struct zstd_stage *)s;
	ZSTD_freeCCtx(z->cctx);
	ZSTD_freeDCtx(z->dctx);
	free(z);
}

static const struct stage_ops zstd_c_ops = {"zstd-compress", zstd_c_write, zstd_c_finish,
					    zstd_free};

static struct stage *zstd_c_new(const struct compress_spec *spec, int workers, struct stage *next)
{
	struct zstd_stage *z = xcalloc(1, sizeof(*z));
	z->base.ops = &zstd_c_ops;
	z->base.next = next;
	z->cctx = ZSTD_createCCtx();
	if (!z->cctx)
		abort();
	z->level = spec->adaptive ? spec->lo : spec->level;
	ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_compressionLevel, z->level);
	ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_checksumFlag, 1);
	int threaded = 0;
	if (workers > 0) {
		/* 2 MiB jobs bound memory (2 workers: about 28 MiB peak RSS in
		 * all) while keeping both cores busy (measured: docs/performance.md). */
		threaded =
		    !ZSTD_isError(ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_nbWorkers, workers));
		ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_jobSize, 2 << 20);
	}
	zadapt_init(&z->adapt, z->level, spec->adaptive ? spec->hi : z->level);
	/* The level changes between jobs only with workers; without, zstd:auto
	 * keeps its lowest level. The window is fixed at the frame's start: the
	 * one of level 3 (2 MiB), so that a higher level has matches to find. */
	if (spec->adaptive && threaded) {
		z->adaptive = 1;
		ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_windowLog, 21);
		z->win_start = now_s();
	}
	z->win_s = ZADAPT_WINDOW_S;
	z->win_bytes = ZADAPT_WINDOW_BYTES;
	return &z->base;
}

void compress_tune_window(struct stage *s, double seconds, uint64_t bytes)
{
	if (!s || s->ops != &zstd_c_ops)
		return;
	struct zstd_stage *z = (struct zstd_stage *)s;
	z->win_s = seconds;
	z->win_bytes = bytes;
}

int compress_used(const struct stage *s, const struct compress_spec *spec, struct compress_use *out)
{
	memset(out, 0, sizeof(*out));
	out->algo = spec->algo;
	out->adaptive = spec->adaptive;
	out->lo = spec->adaptive ? spec->lo : spec->level;
	out->hi = spec->adaptive ? spec->hi : spec->level;
	if (!s || s->ops != &zstd_c_ops) {
		out->level = spec->level;
		return 0;
	}
	const struct zstd_stage *z = (const struct zstd_stage *)s;
	struct zadapt a = z->adapt;
	uint64_t accounted = 0;
	for (int l = 0; l <= ZADAPT_MAX_LEVEL; l++)
		accounted += a.bytes[l];
	zadapt_account(&a, z->in_total - accounted);
	uint64_t most = 0;
	for (int l = 1; l <= ZADAPT_MAX_LEVEL; l++) {
		if (!a.bytes[l])
			continue;
		out->levels[out->nlevels].level = l;
		out->levels[out->nlevels].bytes = a.bytes[l];
		out->nlevels++;
		if (a.bytes[l] > most) {
			most = a.bytes[l];
			out->level = l;
		}
	}
	if (!out->nlevels)
		out->level = z->level;
	return 0;
}

static struct stage *zstd_d_new(struct stage *next)
{
	static const struct stage_ops ops = {"zstd-decompress", zstd_d_write, zstd_d_finish,
					     zstd_free};
	struct zstd_stage *z = xcalloc(1, sizeof(*z));
	z->base.ops = &ops;
	z->base.next = next;
	z->dctx = ZSTD_createDCtx();
	if (!z->dctx)
		abort();
	/* Bound the decoder window: 128 MiB is what zstd --long would need. */
	ZSTD_DCtx_setParameter(z->dctx, ZSTD_d_windowLogMax, 27);
	return &z->base;
}

/* --- gzip --- */

struct gzip_stage {
	struct stage base;
	z_stream zs;
	int inflating;
	int member_done; /* inflate: the last member ended cleanly */
	int seen_input;
	uint8_t out[OUT_CHUNK];
};

static int gzip_c_write(struct stage *s, const uint8_t *p, size_t n)
{
	struct gzip_stage *g = (struct gzip_stage *)s;
	while (n > 0) {
		uInt take = n > (1u << 30) ? (1u << 30) : (uInt)n;
		g->zs.next_in = (Bytef *)(uintptr_t)p;
		g->zs.avail_in = take;
		do {
			g->zs.next_out = g->out;
			g->zs.avail_out = sizeof(g->out);
			if (deflate(&g->zs, Z_NO_FLUSH) == Z_STREAM_ERROR)
				return err_set(E_IO, "gzip compression failed");
			int r = stage_write(s->next, g->out, sizeof(g->out) - g->zs.avail_out);
			if (r)
				return r;
		} while (g->zs.avail_in > 0 || g->zs.avail_out == 0);
		p += take;
		n -= take;
	}
	return 0;
}

static int gzip_c_finish(struct stage *s)
{
	struct gzip_stage *g = (struct gzip_stage *)s;
	int zr;
	g->zs.next_in = NULL;
	g->zs.avail_in = 0;
	do {
		g->zs.next_out = g->out;
		g->zs.avail_out = sizeof(g->out);
		zr = deflate(&g->zs, Z_FINISH);
		if (zr == Z_STREAM_ERROR)
			return err_set(E_IO, "gzip compression failed");
		int r = stage_write(s->next, g->out, sizeof(g->out) - g->zs.avail_out);
		if (r)
			return r;
	} while (zr != Z_STREAM_END);
	return stage_finish_next(s);
}

static int gzip_d_write(struct stage *s, const uint8_t *p, size_t n)
{
	struct gzip_stage *g = (struct gzip_stage *)s;
	g->seen_input = 1;
	while (n > 0) {
		uInt take = n > (1u << 30) ? (1u << 30) : (uInt)n;
		g->zs.next_in = (Bytef *)(uintptr_t)p;
		g->zs.avail_in = take;
		while (g->zs.avail_in > 0) {
			if (g->member_done) {
				/* Another gzip member follows (gzip allows concatenation). */
				inflateReset(&g->zs);
				g->member_done = 0;
			}
			g->zs.next_out = g->out;
			g->zs.avail_out = sizeof(g->out);
			int zr = inflate(&g->zs, Z_NO_FLUSH);
			if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR)
				return err_set(E_INTEGRITY,
					       "gzip data is corrupt (%s): the backup object is "
					       "damaged; restore another backup",
					       g->zs.msg ? g->zs.msg : "inflate error");
			if (zr == Z_STREAM_END)
				g->member_done = 1;
			int r = stage_write(s->next, g->out, sizeof(g->out) - g->zs.avail_out);
			if (r)
				return r;
			if (zr == Z_BUF_ERROR && g->zs.avail_in > 0 && g->zs.avail_out > 0)
				return err_set(E_INTEGRITY,
					       "gzip data is corrupt: the backup object is "
					       "damaged; restore another backup");
		}
		p += take;
		n -= take;
	}
	return 0;
}

static int gzip_d_finish(struct stage *s)
{
	struct gzip_stage *g = (struct gzip_stage *)s;
	if (!g->seen_input || !g->member_done)
		return err_set(E_INTEGRITY, "gzip stream is truncated: the backup object is "
					    "incomplete; restore another backup");
	return stage_finish_next(s);
}

static void gzip_free(struct stage *s)
{
	struct gzip_stage *g = (struct gzip_stage *)s;
	if (g->inflating)
		inflateEnd(&g->zs);
	else
		deflateEnd(&g->zs);
	free(g);
}

static struct stage *gzip_c_new(const struct compress_spec *spec, int workers, struct stage *next)
{
	int level = spec->level;
	static const struct stage_ops ops = {"gzip-compress", gzip_c_write, gzip_c_finish,
					     gzip_free};
	(void)workers;
	struct gzip_stage *g = xcalloc(1, sizeof(*g));
	g->base.ops = &ops;
	g->base.next = next;
	if (deflateInit2(&g->zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		abort();
	return &g->base;
}

static struct stage *gzip_d_new(struct stage *next)
{
	static const struct stage_ops ops = {"gzip-decompress", gzip_d_write, gzip_d_finish,
					     gzip_free};
	struct gzip_stage *g = xcalloc(1, sizeof(*g));
	g->base.ops = &ops;
	g->base.next = next;
	g->inflating = 1;
	if (inflateInit2(&g->zs, 15 + 16) != Z_OK)
		abort();
	return &g->base;
}

/* --- the table --- */

static const struct compress_impl {
	enum compress_algo algo;
	const char *name;
	const char *suffix;
	int min_level, max_level, default_level;
	struct stage *(*compress)(const struct compress_spec *spec, int workers,
				  struct stage *next);
	struct stage *(*decompress)(struct stage *next);
} impls[] = {
    {COMPRESS_NONE, "none", "", 0, 0, 0, NULL, NULL},
    {COMPRESS_ZSTD, "zstd", ".zst", 1, 19, 3, zstd_c_new, zstd_d_new},
    {COMPRESS_GZIP, "gzip", ".gz", 1, 9, 6, gzip_c_new, gzip_d_new},
};

static const struct compress_impl *impl_of(enum compress_algo algo)
{
	for (size_t i = 0; i < sizeof(impls) / sizeof(impls[0]); i++)
		if (impls[i].algo == algo)
			return &impls[i];
	return &impls[0];
}

int compress_algo_from_name(enum compress_algo *out, const char *name)
{
	for (size_t i = 0; i < sizeof(impls) / sizeof(impls[0]); i++)
		if (strcmp(impls[i].name, name) == 0) {
			*out = impls[i].algo;
			return 0;
		}
	return err_set(E_INVALID, "unknown compression \"%s\": use zstd, gzip or none", name);
}

/* A level from min to max: digits only, ending at stop (or at the end). */
static int parse_level(int *out, const char *p, int min, int max, const char **stop)
{
	char *end = NULL;
	if (!isdigit((unsigned char)p[0]))
		return -1;
	long v = strtol(p, &end, 10);
	if ((stop ? *end != '-' : *end != '\0') || v < min || v > max)
		return -1;
	if (stop)
		*stop = end;
	*out = (int)v;
	return 0;
}

static int parse_bounds(struct compress_spec *out, const char *p)
{
	const char *dash;
	int lo, hi;
	if (parse_level(&lo, p, 1, ZADAPT_MAX_LEVEL, &dash) ||
	    parse_level(&hi, dash + 1, 1, ZADAPT_MAX_LEVEL, NULL) || lo > hi)
		return -1;
	out->lo = lo;
	out->hi = hi;
	return 0;
}

int compress_parse(struct compress_spec *out, const char *text, const char *field)
{
	char name[16];
	const char *colon = strchr(text, ':');
	size_t nlen = colon ? (size_t)(colon - text) : strlen(text);
	if (nlen == 0 || nlen >= sizeof(name))
		return err_set(E_INVALID,
			       "%s: \"%s\" is not a compression: use zstd[:LEVEL], "
			       "gzip[:LEVEL] or none",
			       field, text);
	memcpy(name, text, nlen);
	name[nlen] = '\0';
	enum compress_algo algo;
	if (compress_algo_from_name(&algo, name) < 0)
		return err_set(E_INVALID,
			       "%s: unknown compression \"%s\": use zstd[:LEVEL], "
			       "gzip[:LEVEL] or none",
			       field, name);
	const struct compress_impl *im = impl_of(algo);
	struct compress_spec c;
	memset(&c, 0, sizeof(c));
	c.algo = algo;
	c.level = im->default_level;
	if (!colon) {
		*out = c;
		return 0;
	}
	if (algo == COMPRESS_NONE)
		return err_set(E_INVALID, "%s: \"none\" takes no level", field);
	const char *lv = colon + 1;
	if (algo == COMPRESS_ZSTD && strncmp(lv, "auto", 4) == 0 && (!lv[4] || lv[4] == ':')) {
		c.adaptive = 1;
		c.lo = COMPRESS_AUTO_LO;
		c.hi = COMPRESS_AUTO_HI;
		if (lv[4] == ':' && parse_bounds(&c, lv + 5))
			return err_set(E_INVALID,
				       "%s: \"%s\": zstd:auto takes bounds LOW-HIGH, two levels "
				       "from %d to %d with LOW <= HIGH (e.g. zstd:auto:1-6)",
				       field, text, im->min_level, im->max_level);
		c.level = c.lo;
		*out = c;
		return 0;
	}
	int level;
	if (parse_level(&level, lv, im->min_level, im->max_level, NULL))
		return err_set(E_INVALID,
			       "%s: %s level must be %sa number from %d to %d, got \"%s\"", field,
			       im->name, algo == COMPRESS_ZSTD ? "auto, auto:LOW-HIGH or " : "",
			       im->min_level, im->max_level, lv);
	c.level = level;
	*out = c;
	return 0;
}

const char *compress_name(enum compress_algo algo)
{
	return impl_of(algo)->name;
}

const char *compress_suffix(enum compress_algo algo)
{
	return impl_of(algo)->suffix;
}

int compress_workers(const struct compress_spec *spec, int cores)
{
	int w = cores >= 2 ? cores : 0;
	if (w > COMPRESS_MAX_WORKERS)
		w = COMPRESS_MAX_WORKERS;
	/* zstd:auto changes the level between jobs, which needs a worker. */
	if (spec->adaptive && w < 1)
		w = 1;
	return w;
}

struct stage *compress_new(const struct compress_spec *spec, int workers, struct stage *next)
{
	const struct compress_impl *im = impl_of(spec->algo);
	return im->compress ? im->compress(spec, workers, next) : next;
}

struct stage *decompress_new(enum compress_algo algo, struct stage *next)
{
	const struct compress_impl *im = impl_of(algo);
	return im->decompress ? im->decompress(next) : next;
}
