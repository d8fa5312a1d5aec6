/* What the HTTP object-store backends (s3://, gs:// and azure://:
 * job/store/store_s3.c, job/store/store_gcs.c, job/store/store_azure.c) share: reading a small
 * local file (a credentials file, a key, a CA bundle), one form for a failed
 * request, a streaming GET that resumes a broken transfer with a Range
 * request on the same version of the object, and the stage writer that
 * uploads a stream as one PUT or as parts of a session. A backend supplies
 * only its dialect: the requests, their signing and its error replies. */
#ifndef LIFEBOAT_OBJSTORE_H
#define LIFEBOAT_OBJSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "common/http.h"
#include "job/pipeline/parts.h"
#include "job/pipeline/stage.h"

/* Resumed transfers of one read, at most. */
#define OBJSTORE_READ_RESUMES 5

/* The whole file at path, at most max bytes, NUL-terminated and owned; every
 * copy made on the way (stdio's buffer, the blocks the buffer outgrew) is
 * wiped, since the file may hold a secret: the caller wipes the result.
 * E_INVALID names `what` and path. */
int objstore_read_file(char **out, const char *path, size_t max, const char *what);

/* Wipes and frees a NUL-terminated secret; NULL does nothing. */
void objstore_free_secret(char *s);

/* Whether a reply is a success (2xx). */
int objstore_ok(const struct http_response *r);

/* The error of a failed request, in one form for every object store:
 * "WHERE: WHAT: ..." naming a transport failure (rc: E_UNAVAILABLE or
 * E_TIMEOUT after `attempts`, E_TLS with ca_how saying how to give the CA)
 * or, with rc 0, the reply's HTTP status, the provider's code and message
 * (either may be NULL) and a hint (may be ""). A message ending in '.' loses
 * it before the hint. Returns ecode (rc 0), E_STORE or E_TLS. */
struct objstore_reply {
	long status;
	const char *code;
	char *msg; /* owned by the caller; may be trimmed */
	const char *hint;
	int ecode;
};
int objstore_fail(const char *where, const char *what, int rc, int attempts, const char *ca_how,
		  const struct objstore_reply *r);

/* How a backend sends the GETs of one read. */
struct objstore_get {
	/* One GET: of the whole object when range is NULL, else a resumed one
	 * with "Range: RANGE" ("bytes=FROM-") and, unless if_version is NULL,
	 * the precondition that the object is still that version (If-Match,
	 * ifGenerationMatch). Body bytes of a 2xx reply go to on_data(p, n,
	 * ud); returns as http_do_retry. */
	int (*send)(void *ctx, const char *range, const char *if_version,
		    int (*on_data)(const char *p, size_t n, void *ud), void *ud,
		    struct http_response *resp);
	/* A transport failure or a non-2xx reply as the backend's error (404:
	 * E_NOTFOUND). */
	int (*fail)(void *ctx, const char *where, const char *what, int rc,
		    const struct http_response *resp);
	const char *version_header; /* the reply header naming the version: "ETag" */
	const char *version_name;   /* how messages call it: "ETag", "generation" */
	const char *what;	    /* the operation in messages: "GET", "Get Blob" */
	void *ctx;
};

/* Streams the object into sink with stage_write (no finish). A connection
 * broken after some bytes is resumed from the next byte, on the same
 * version, up to OBJSTORE_READ_RESUMES times; a resumed reply that does not
 * start there, or a version that changed (412), is E_STORE. where names the
 * object in messages. E_NOTFOUND when it does not exist. */
int objstore_read(const struct objstore_get *g, const char *where, struct stage *sink);

/* A create-only write met an object another writer made: E_EXISTS,
 * "WHERE: WHAT: HTTP STATUS[ CODE]: another writer created the NOUN
 * first ...". code may be NULL. */
int objstore_exists(const char *where, const char *what, long status, const char *code,
		    const char *noun);

/* The dialect of an upload (S3 multipart, Azure blocks, a GCS resumable
 * session). The writer (objstore_writer_new) owns the buffering (job/parts),
 * the HTTP clients (one for the calls below but put_part, one per part
 * worker), the order of the calls and the clean-up; the dialect owns the
 * requests and their errors. Every call gets ctx. */
struct objstore_writer_ops {
	const char *name; /* the stage's: "s3-writer" */
	/* The whole object in one request, when it fits one part and no session
	 * was begun; NULL: every object goes through a session. */
	int (*put_whole)(void *ctx, struct http_client *h, const uint8_t *p, size_t n);
	/* Starts the session the parts go to; NULL when parts need none. Called
	 * once: before the first full part goes out (or at the first write with
	 * begin_early), else at finish when there is no put_whole. */
	int (*begin)(void *ctx, struct http_client *h);
	int begin_early;
	/* Uploads part part_no (1-based) on the calling worker's client h and
	 * writes its identifier into id (parts_backend.upload). */
	int (*put_part)(void *ctx, struct http_client *h, int part_no, const uint8_t *data,
			size_t len, char id[PARTS_ID_MAX]);
	/* Before the last part goes: the object's size is total. May be NULL. */
	void (*last)(void *ctx, uint64_t total);
	/* Every part is stored: makes the object visible. */
	int (*complete)(void *ctx, struct http_client *h, const struct parts *parts);
	/* A writer freed unfinished, after the parts under way ended: when a
	 * session was begun (with begin), else when some bytes were written. */
	void (*abort)(void *ctx, struct http_client *h, const struct parts *parts);
	/* Frees ctx, the last call. */
	void (*free)(void *ctx);
	/* The debug line of a finished write: "WHERE: STORED N bytes in K UNIT(s)". */
	const char *stored, *unit;
};

/* A stage that stores what it is written as one object: nothing is visible
 * before finish, a failed or unfinished one is aborted. where (borrowed from
 * ctx) names the object in messages; part_size and in_flight as parts_new.
 * Takes ctx (freed with ops->free, also when this fails). */
struct stage *objstore_writer_new(const struct objstore_writer_ops *ops, void *ctx,
				  const char *where, size_t part_size, int in_flight);

#endif
