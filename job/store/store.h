/* Storage behind one ops table: the URL's scheme picks the backend. Keys are
 * relative to the storage root ("ns/name/manifest.json"). */
#ifndef LIFEBOAT_STORE_H
#define LIFEBOAT_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "job/pipeline/parts_plan.h"
#include "job/pipeline/stage.h"

struct buf;
struct store;

struct store_entry {
	const char *key; /* borrowed for the callback's duration */
	uint64_t size;
};

/* Writer flags. STORE_CREATE: the object must not exist yet; finish fails
 * with E_EXISTS when another writer created it first, so of several
 * concurrent writers of one key exactly one succeeds. Every backend makes it
 * atomic: file:// renames without replacing (RENAME_NOREPLACE), s3:// sends
 * If-None-Match: *, gs:// ifGenerationMatch=0, azure:// If-None-Match: *.
 * A retried request whose first try succeeded is recognised as this
 * writer's own (S3 by ETag, Azure by a per-write metadata value, GCS by the
 * upload session). */
#define STORE_CREATE 1u

/* Return 0 to go on, non-zero to stop listing (returned by store_list). */
typedef int (*store_list_cb)(const struct store_entry *e, void *ud);

struct store_ops {
	const char *scheme; /* "file" */
	int (*open)(struct store **out, const char *url);
	/* A sink stage: finish makes the object visible (atomically where the
	 * backend allows); freeing it unfinished aborts and removes the upload.
	 * flags: STORE_CREATE or 0. */
	int (*writer)(struct store *st, const char *key, unsigned flags, struct stage **out);
	/* Streams the object into sink with stage_write (no finish). */
	int (*read)(struct store *st, const char *key, struct stage *sink);
	int (*stat)(struct store *st, const char *key, uint64_t *size);
	int (*list)(struct store *st, const char *prefix, store_list_cb cb, void *ud);
	int (*remove)(struct store *st, const char *key);
	/* What one object may hold and how it is uploaded (job/pipeline/parts_plan.h). */
	void (*limits)(const struct store *st, struct store_limits *out);
	void (*free)(struct store *st);
};

/* Every backend's struct embeds this first. */
struct store {
	const struct store_ops *ops;
	char *display; /* the URL without credentials, for messages */
};

/* Opens the store for url; E_INVALID names an unknown scheme or bad URL. */
int store_open(struct store **out, const char *url);
void store_free(struct store *st);
int store_writer(struct store *st, const char *key, struct stage **out);
/* store_writer with STORE_CREATE: E_EXISTS at finish when the object exists. */
int store_create(struct store *st, const char *key, struct stage **out);
int store_read(struct store *st, const char *key, struct stage *sink);
/* E_NOTFOUND when the object does not exist. */
int store_stat(struct store *st, const char *key, uint64_t *size);
int store_list(struct store *st, const char *prefix, store_list_cb cb, void *ud);
/* Removing a missing object is not an error. */
int store_remove(struct store *st, const char *key);
void store_get_limits(const struct store *st, struct store_limits *out);
/* Whole small objects (manifests); reads past max give E_TOOBIG. */
int store_put(struct store *st, const char *key, const void *p, size_t n);
/* store_put with STORE_CREATE (manifests): E_EXISTS when the object exists
 * with other bytes; an object already holding exactly p[0..n) (this put's
 * own retried request) is success. */
int store_put_new(struct store *st, const char *key, const void *p, size_t n);
int store_get(struct store *st, const char *key, struct buf *out);
/* "file:///backups/ns/name/manifest.json": for messages and results. */
char *store_location(const struct store *st, const char *key);

extern const struct store_ops store_file_ops;
extern const struct store_ops store_azure_ops;
extern const struct store_ops store_s3_ops; /* s3:// (job/store/store_s3.c) */
/* gs://: the JSON API with a service-account key (job/store/store_gcs.c), or the
 * S3-compatible XML API with an HMAC key (job/store/store_s3.c). */
extern const struct store_ops store_gs_ops, store_gs_hmac_ops;

#endif
