/* Compression stages (zstd, gzip, none) behind one table, and the parser of
 * the user's "algo[:level]" text. */
#ifndef LIFEBOAT_COMPRESS_H
#define LIFEBOAT_COMPRESS_H

#include "job/pipeline/stage.h"

enum compress_algo { COMPRESS_NONE, COMPRESS_ZSTD, COMPRESS_GZIP };

struct compress_spec {
	enum compress_algo algo;
	int level;
};

/* Parses "zstd", "zstd:3", "gzip:9", "none". On error names `field`. */
int compress_parse(struct compress_spec *out, const char *text, const char *field);
/* Looks up an algorithm by its manifest name ("zstd", "gzip", "none"). */
int compress_algo_from_name(enum compress_algo *out, const char *name);
const char *compress_name(enum compress_algo algo);
/* Object name suffix: ".zst", ".gz" or "". */
const char *compress_suffix(enum compress_algo algo);
/* Compressing stage; workers > 1 enables zstd's threads. NULL for none
 * means the caller needs no stage: it returns next itself. */
struct stage *compress_new(const struct compress_spec *spec, int workers, struct stage *next);
/* Decompressing stage; reports truncated or corrupt input as E_INTEGRITY.
 * For COMPRESS_NONE returns next itself. */
struct stage *decompress_new(enum compress_algo algo, struct stage *next);

#endif
