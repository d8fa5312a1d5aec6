/* manifest.json: the self-describing record of one complete backup. Pure:
 * converts between the struct and JSON text, no I/O. */
#ifndef LIFEBOAT_MANIFEST_H
#define LIFEBOAT_MANIFEST_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/buf.h"

#define MANIFEST_FORMAT_VERSION 1
/* A dump stored as several objects (job/pipeline/split.h) lists them all; 1000
 * objects of a few hundred GiB each is far past any database. */
#define MANIFEST_MAX_OBJECTS 1000
#define MANIFEST_MAX_BYTES (256 * 1024)

struct manifest_object {
	char *key;	 /* relative to the backup folder, e.g. "db.dump.zst.pgp" */
	uint64_t size;	 /* bytes stored */
	char sha256[65]; /* of the stored bytes, lowercase hex */
};

/* The --files folder's archive (docs/job.md): a tar stream through the same
 * compression and encryption as the dump, in its own object. */
struct manifest_files {
	char *key;		   /* "files.tar.zst.pgp"; NULL: the backup has none */
	uint64_t size;		   /* bytes stored */
	char sha256[65];	   /* of the stored bytes */
	uint64_t count;		   /* entries: files, folders and symlinks */
	uint64_t plaintext_size;   /* of the tar stream */
	char plaintext_sha256[65]; /* of the tar stream */
};

#define MANIFEST_MAX_LEVELS 20

struct manifest {
	int format_version;
	char *namespace_;
	char *name;
	char *tool_version;
	time_t created_at;
	time_t completed_at;
	char *format;	       /* "custom" | "plain" */
	char *compression;     /* "zstd" | "gzip" | "none" */
	int compression_level; /* the one that compressed the most plaintext */
	/* zstd:auto ("mode": "auto"): the bounds, and the plaintext compressed
	 * at each level used, ascending; nlevels 0 for older manifests. */
	int compression_auto, compression_lo, compression_hi;
	struct manifest_level {
		int level;
		uint64_t bytes;
	} compression_levels[MANIFEST_MAX_LEVELS];
	size_t compression_nlevels;
	struct manifest_object *objects; /* the dump, in stream order */
	size_t nobjects, objects_cap;
	/* Of the objects' concatenation (the one OpenPGP stream), written as
	 * "stream" when there are several; "" when absent (one object: its
	 * own sha256). Use manifest_stream_sha256. */
	char stream_sha256[65];
	uint64_t plaintext_size;   /* pg_dump output bytes */
	char plaintext_sha256[65]; /* of pg_dump output */
	int encrypted;
	char *cipher; /* "AES256" */
	char *s2k;    /* "iterated-salted-sha256" */
	uint32_t s2k_count;
	char *server_version;	/* "15.18" */
	int server_version_num; /* 150018 */
	char *dump_version;	/* pg_dump's, "15.18" */
	char *database;		/* database name */
	uint64_t database_size; /* pg_database_size at pre-flight */
	int64_t table_count;
	int64_t row_estimate;
	char *schema_version;	     /* optional; NULL when not asked */
	struct manifest_files files; /* optional: "files" */
};

void manifest_init(struct manifest *m);
/* The dump's stored bytes: the sum of its objects' sizes. */
uint64_t manifest_stored_size(const struct manifest *m);
/* The SHA-256 of the stored stream (`cat` of the objects in order). */
const char *manifest_stream_sha256(const struct manifest *m);
/* Zero-safe: accepts an all-zero manifest as well as an initialised one,
 * and leaves it as after manifest_init. */
void manifest_dispose(struct manifest *m);
/* Appends a copy of key. Returns E_TOOBIG past MANIFEST_MAX_OBJECTS. */
int manifest_add_object(struct manifest *m, const char *key, uint64_t size, const char *sha256);
/* Serialises m as pretty JSON into out. */
int manifest_to_json(const struct manifest *m, struct buf *out);
/* Parses text into *out (initialised by the call; dispose after success).
 * Malformed input gives E_INTEGRITY naming the field; nothing leaks. */
int manifest_parse(struct manifest *out, const char *text, size_t len);
/* Helpers shared with results and listings. */
void manifest_time_format(char out[32], time_t t);
int manifest_time_parse(time_t *out, const char *text);

#endif
