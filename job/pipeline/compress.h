/* Compression stages (zstd, gzip, none) behind one table, and the parser of
 * the user's "algo[:level]" text. */
#ifndef LIFEBOAT_COMPRESS_H
#define LIFEBOAT_COMPRESS_H

#include <stdint.h>

#include "job/pipeline/stage.h"

enum compress_algo { COMPRESS_NONE, COMPRESS_ZSTD, COMPRESS_GZIP };

/* zstd:auto's bounds when the user gives none. Level 1 is both the fastest
 * with entropy coding and, on text that barely repeats (hashes, UUIDs),
 * the smallest; 6 is where the controller stops climbing (memory and speed:
 * docs/performance.md). */
#define COMPRESS_AUTO_LO 1
#define COMPRESS_AUTO_HI 6
/* zstd workers at most, whatever the cores. */
#define COMPRESS_MAX_WORKERS 4

struct compress_spec {
	enum compress_algo algo;
	int level;    /* fixed; with adaptive, the starting one (lo) */
	int adaptive; /* zstd:auto: the level follows the pipe, within lo..hi */
	int lo, hi;
};

/* What a compress stage did: the level that compressed the most input, and
 * the input compressed at each level used (ascending). */
struct compress_use {
	enum compress_algo algo;
	int level, adaptive, lo, hi;
	struct {
		int level;
		uint64_t bytes;
	} levels[20];
	size_t nlevels;
};

/* Parses "zstd", "zstd:3", "zstd:auto", "zstd:auto:1-6", "gzip:9", "none".
 * On error names `field` and leaves *out as it was. */
int compress_parse(struct compress_spec *out, const char *text, const char *field);
/* Looks up an algorithm by its manifest name ("zstd", "gzip", "none"). */
int compress_algo_from_name(enum compress_algo *out, const char *name);
const char *compress_name(enum compress_algo algo);
/* Object name suffix: ".zst", ".gz" or "". */
const char *compress_suffix(enum compress_algo algo);
/* zstd workers for a job with `cores` CPUs: one each from 2 cores up, at
 * most COMPRESS_MAX_WORKERS; none on one core, except for zstd:auto (1). */
int compress_workers(const struct compress_spec *spec, int cores);
/* After finish: what stage s (from compress_new with spec, or NULL for
 * none) did. */
int compress_used(const struct stage *s, const struct compress_spec *spec,
		  struct compress_use *out);
/* zstd:auto's measurement window (default ZADAPT_WINDOW_S and _BYTES):
 * shorter in tests. Does nothing to other stages. */
void compress_tune_window(struct stage *s, double seconds, uint64_t bytes);
/* Compressing stage; workers > 1 enables zstd's threads. NULL for none
 * means the caller needs no stage: it returns next itself. */
struct stage *compress_new(const struct compress_spec *spec, int workers, struct stage *next);
/* Decompressing stage; reports truncated or corrupt input as E_INTEGRITY.
 * For COMPRESS_NONE returns next itself. */
struct stage *decompress_new(enum compress_algo algo, struct stage *next);

#endif
